"""Hosted zones: every committed change batch raises the SOA serial (store/serials.py)."""
from zonefront.api.service import Context, Route53Service
from zonefront.config import load_config
from zonefront.store.sqlite import Store
from zonefront.store.zones import ZoneCache
from zonefront.xfr.history import diff


def change(svc, zid, *changes):
    svc.ChangeResourceRecordSets({"HostedZoneId": zid, "ChangeBatch": {"Changes": [
        {"Action": a, "ResourceRecordSet": rrs} for a, rrs in changes]}}, Context("http://x"))


def a(name, ip, ttl=60):
    return {"Name": name, "Type": "A", "TTL": ttl, "ResourceRecords": [{"Value": ip}]}


def test_serial_rises_with_every_batch_and_history_sees_it(tmp_path):
    store = Store(str(tmp_path))
    cache = ZoneCache()
    svc = Route53Service(store, load_config(None, {"data_dir": str(tmp_path), "auth": False}),
                         on_records=cache.note)
    try:
        zid = svc.CreateHostedZone({"Name": "ser.example", "CallerReference": "r1"},
                                   Context("http://x"))["HostedZone"]["Id"]
        z1 = cache.zones(store)[0]
        assert z1.serial == 1
        change(svc, zid, ("CREATE", a("www.ser.example", "192.0.2.1")))
        z2 = cache.zones(store)[0]
        assert z2.serial == 2 and cache.patches == 1
        change(svc, zid, ("UPSERT", a("www.ser.example", "192.0.2.2")),
               ("CREATE", a("ftp.ser.example", "192.0.2.3")))
        z3 = cache.zones(store)[0]
        assert z3.serial == 3
        removed, added = diff(z2, z3)
        assert len(removed) == 1 and len(added) == 2
        # the operator sets a date-style serial: it is kept, and the next batch goes past it
        soa = [r for r in store.rrsets_at(zid.split("/")[-1], store.get_zone(
            zid.split("/")[-1]).name_key) if r.rtype == "SOA"][0].rrset
        v = soa["ResourceRecords"][0]["Value"].split()
        v[2] = "2024010101"
        change(svc, zid, ("UPSERT", dict(soa, ResourceRecords=[{"Value": " ".join(v)}])))
        assert cache.zones(store)[0].serial == 2024010101
        change(svc, zid, ("DELETE", a("ftp.ser.example", "192.0.2.3")))
        assert cache.zones(store)[0].serial == 2024010102
        # what ListResourceRecordSets shows matches what DNS serves
        soa = [r for r in store.list_rrsets(zid.split("/")[-1]) if r.rtype == "SOA"][0]
        assert " 2024010102 " in soa.rrset["ResourceRecords"][0]["Value"]
    finally:
        store.close()
