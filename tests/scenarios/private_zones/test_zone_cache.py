"""store/zones.py: every model.Zone handed to publish carries `private` and
`vpcs`, through whole builds, incremental patches and association changes
(which leave a zone's version alone)."""
from __future__ import annotations

import time

from zonefront import model
from zonefront.aws import names
from zonefront.store import vpcstore
from zonefront.store.sqlite import RRsetRow, Store, ZoneRow
from zonefront.store.zones import ZoneCache


def add_zone(store, zid, name, private, vpcs):
    with store.transaction():
        store.insert_zone(ZoneRow(zid, name, names.sort_key(names.name_from_text(name)),
                                  f"ref-{zid}", None, private, vpcs, None, ["ns1.example."],
                                  0, time.time(), 0))


def put_a(store, zid, owner, addr):
    with store.transaction():
        store.put_rrset(zid, RRsetRow(names.sort_key(names.name_from_text(owner)), "A", "",
                                      {"Name": owner, "Type": "A", "TTL": 60,
                                       "ResourceRecords": [{"Value": addr}]},
                                      [bytes(int(x) for x in addr.split("."))]))
        store.bump_zone(zid)
        return store.zone_version(zid)


def test_private_and_vpcs_on_every_path(tmp_path):
    store = Store(str(tmp_path))
    try:
        add_zone(store, "ZPRIV", "in.example.", True,
                 [{"VPCRegion": "us-east-1", "VPCId": "vpc-a"}])
        add_zone(store, "ZPUB", "in.example.", False, [])
        cache = ZoneCache()
        first = {z.source: z for z in cache.zones(store)}
        assert cache.rebuilds == 2
        assert first["/hostedzone/ZPRIV"].private is True
        assert first["/hostedzone/ZPRIV"].vpcs == [("us-east-1", "vpc-a")]
        assert first["/hostedzone/ZPUB"].private is False
        assert first["/hostedzone/ZPUB"].vpcs == []

        # an association change: a new Zone object; the one handed out is untouched
        with store.transaction():
            vpcstore.set_zone_vpcs(store, "ZPRIV", [
                {"VPCRegion": "us-east-1", "VPCId": "vpc-a"},
                {"VPCRegion": "eu-west-1", "VPCId": "vpc-b"}])
        second = {z.source: z for z in cache.zones(store)}
        priv = second["/hostedzone/ZPRIV"]
        assert priv is not first["/hostedzone/ZPRIV"]
        assert priv.vpcs == [("us-east-1", "vpc-a"), ("eu-west-1", "vpc-b")]
        assert first["/hostedzone/ZPRIV"].vpcs == [("us-east-1", "vpc-a")]
        assert second["/hostedzone/ZPUB"] is first["/hostedzone/ZPUB"]
        assert cache.rebuilds == 2 and cache.patches == 0

        # a record change noted by the API: an incremental patch keeps private/vpcs
        ver = put_a(store, "ZPRIV", "www.in.example.", "10.0.0.1")
        cache.note("ZPRIV", ver, {names.name_from_text("www.in.example.")})
        third = {z.source: z for z in cache.zones(store)}
        assert cache.patches == 1
        priv = third["/hostedzone/ZPRIV"]
        assert priv.private and priv.vpcs == [("us-east-1", "vpc-a"), ("eu-west-1", "vpc-b")]
        assert priv.get(names.name_from_text("www.in.example."), model.TYPE_A) is not None

        # a record change and an association change at once, patched
        ver = put_a(store, "ZPRIV", "db.in.example.", "10.0.0.2")
        with store.transaction():
            vpcstore.set_zone_vpcs(store, "ZPRIV", [{"VPCRegion": "eu-west-1",
                                                     "VPCId": "vpc-b"}])
        cache.note("ZPRIV", ver, {names.name_from_text("db.in.example.")})
        fourth = {z.source: z for z in cache.zones(store)}
        assert cache.patches == 2
        assert fourth["/hostedzone/ZPRIV"].vpcs == [("eu-west-1", "vpc-b")]

        # another process wrote (no note): a whole rebuild, still private
        put_a(store, "ZPRIV", "mail.in.example.", "10.0.0.3")
        fifth = {z.source: z for z in cache.zones(store)}
        assert cache.rebuilds == 3
        assert fifth["/hostedzone/ZPRIV"].private
        assert fifth["/hostedzone/ZPRIV"].vpcs == [("eu-west-1", "vpc-b")]
    finally:
        store.close()


def test_take_changed_names_the_owners_each_zone_touched(tmp_path):
    """What the publisher passes on as `changed`: per origin the owners the
    patches re-read (and the apex, whose SOA serial moved), None for a zone
    built whole, gone, or moved between views; nothing for the rest."""
    store = Store(str(tmp_path))
    try:
        add_zone(store, "ZA", "a.example.", False, [])
        add_zone(store, "ZB", "b.example.", False, [])
        add_zone(store, "ZP", "p.example.", True, [{"VPCRegion": "us-east-1", "VPCId": "vpc-a"}])
        cache = ZoneCache()
        cache.zones(store)
        a, b, p = (names.name_from_text(t) for t in ("a.example.", "b.example.", "p.example."))
        assert cache.take_changed() == {a: None, b: None, p: None}  # first load: whole
        cache.zones(store)
        assert cache.take_changed() == {}

        www, db = names.name_from_text("www.a.example."), names.name_from_text("db.a.example.")
        cache.note("ZA", put_a(store, "ZA", "www.a.example.", "10.0.0.1"), {www})
        cache.zones(store)
        cache.note("ZA", put_a(store, "ZA", "db.a.example.", "10.0.0.2"), {db})
        cache.zones(store)  # two publishes' worth, taken at once: the union
        assert cache.take_changed() == {a: {a, www, db}}

        put_a(store, "ZB", "www.b.example.", "10.0.0.3")  # another process: no note
        with store.transaction():
            vpcstore.set_zone_vpcs(store, "ZP", [{"VPCRegion": "eu-west-1", "VPCId": "vpc-b"}])
        cache.zones(store)
        assert cache.take_changed() == {b: None, p: None}

        with store.transaction():
            store.delete_zone("ZB")
        cache.zones(store)
        assert cache.take_changed() == {b: None}
    finally:
        store.close()


def test_whole_build_reads_pages_and_misses_no_row(tmp_path, monkeypatch):
    """build_zone reads a zone's rows a page at a time (a page ends on a row
    the next starts at): every page size gives the zone one big read gives,
    weighted record sets of one name and type included."""
    from zonefront.store import zones as zones_mod

    store = Store(str(tmp_path))
    try:
        add_zone(store, "ZBIG", "big.example.", False, [])
        for i in range(23):
            put_a(store, "ZBIG", f"h{i % 9}-{i}.big.example.", f"192.0.2.{i}")
        with store.transaction():
            for sid in ("a", "b", "c"):  # one name and type, three set ids
                store.put_rrset("ZBIG", RRsetRow(
                    names.sort_key(names.name_from_text("w.big.example.")), "A", sid,
                    {"Name": "w.big.example.", "Type": "A", "TTL": 60, "SetIdentifier": sid,
                     "Weight": 1, "ResourceRecords": [{"Value": "198.51.100.1"}]},
                    [bytes([198, 51, 100, 1])]))
        row = store.get_zone("ZBIG")
        whole = zones_mod.build_zone(store, row)
        assert len(whole.rrsets) == 23 and len(whole.routed) == 3
        calls = []
        real = store.list_rrsets
        monkeypatch.setattr(store, "list_rrsets",
                            lambda *a: calls.append(a) or real(*a))
        for page in (1, 2, 3, 5, 26, 27, 1000):
            monkeypatch.setattr(zones_mod, "BUILD_PAGE", page)
            calls.clear()
            z = zones_mod.build_zone(store, row)
            assert dict(z.rrsets.items()) == dict(whole.rrsets.items()), page
            assert z.routed == whole.routed, page
            assert len(calls) >= 26 // page, page  # paged, not one read
    finally:
        store.close()
