"""zone import / export: BIND files into the store and back out; a broken
file is refused with its line and reason and changes nothing."""
from __future__ import annotations

import pytest

from zonefront import zonefile
from zonefront.api.service import Context, Route53Service
from zonefront.config import Config
from zonefront.store.sqlite import Store
from zonefront.api.zoneio import ZoneIOError, export_zone, import_zone

GOOD = """$ORIGIN imp.example.
$TTL 3600
@   IN SOA ns1.imp.example. admin.imp.example. 2024010101 7200 900 1209600 300
@   IN NS  ns1.imp.example.
@   IN NS  ns2.imp.example.
ns1 IN A   192.0.2.1
ns2 IN A   192.0.2.2
www 300 IN A 192.0.2.80
www IN AAAA 2001:db8::80
@   IN MX  10 mail
mail IN CNAME www
txt IN TXT "hello world" "second"
*.wild IN TXT "wild"
"""


def rrsets(data_dir, zone_id):
    s = Store(data_dir)
    try:
        return {(r.rrset["Name"], r.rtype): r.rrset for r in s.list_rrsets(zone_id)}
    finally:
        s.close()


def test_import_creates_zone_and_export_round_trips(tmp_path):
    f = tmp_path / "imp.zone"
    f.write_text(GOOD)
    data = str(tmp_path / "data")
    res = import_zone(data, "imp.example", str(f))
    assert res["name"] == "imp.example." and res["rrsets"] == 10
    got = rrsets(data, res["zone_id"])
    assert got[("www.imp.example.", "A")]["TTL"] == 300
    assert got[("mail.imp.example.", "CNAME")]["ResourceRecords"] == [
        {"Value": "www.imp.example."}]
    assert got[("imp.example.", "SOA")]["ResourceRecords"][0]["Value"].startswith(
        "ns1.imp.example. admin.imp.example. 2024010101")
    assert ("\\052.wild.imp.example.", "TXT") in got
    text = export_zone(data, "imp.example")
    again = zonefile.parse_zone_text(text, "imp.example.")
    orig = zonefile.parse_zone_text(GOOD, "imp.example.")
    assert again.rrsets == orig.rrsets
    # re-import by id replaces (not merges)
    f.write_text(GOOD.replace("www IN AAAA 2001:db8::80\n", ""))
    res2 = import_zone(data, res["zone_id"], str(f))
    assert res2["zone_id"] == res["zone_id"] and res2["rrsets"] == 9


def test_broken_file_refused_with_line_nothing_imported(tmp_path):
    data = str(tmp_path / "data")
    good = tmp_path / "good.zone"
    good.write_text(GOOD)
    res = import_zone(data, "imp.example", str(good))
    before = rrsets(data, res["zone_id"])
    bad = tmp_path / "bad.zone"
    lines = GOOD.splitlines()
    lines.insert(8, "broken IN A 999.1.1.1")
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(zonefile.ZoneFileError) as e:
        import_zone(data, "imp.example", str(bad))
    assert e.value.line == 9 and e.value.reason
    assert rrsets(data, res["zone_id"]) == before
    # and for a zone that does not exist yet, no zone is created
    with pytest.raises(zonefile.ZoneFileError):
        import_zone(data, "fresh.example", str(bad))
    s = Store(data)
    assert s.zones_by_name("fresh.example.") == []
    s.close()


def test_types_route53_cannot_store_are_refused(tmp_path):
    f = tmp_path / "z.zone"
    f.write_text(GOOD + "hinfo IN HINFO \"PC\" \"Linux\"\n")
    with pytest.raises(ZoneIOError, match="HINFO"):
        import_zone(str(tmp_path / "data"), "imp.example", str(f))


def test_import_keeps_zone_ns_when_file_has_none(tmp_path):
    data = str(tmp_path / "data")
    s = Store(data)
    svc = Route53Service(s, Config(data_dir=data))
    out = svc.CreateHostedZone({"Name": "keep.example", "CallerReference": "k"},
                               Context("http://x"))
    s.close()
    f = tmp_path / "k.zone"
    f.write_text("keep.example. 60 IN SOA a.keep.example. b.keep.example. 7 1 1 1 1\n"
                 "www.keep.example. 60 IN A 192.0.2.1\n")
    import_zone(data, "keep.example", str(f))
    got = rrsets(data, out["HostedZone"]["Id"].split("/")[-1])
    assert set(got) == {("keep.example.", "NS"), ("keep.example.", "SOA"),
                        ("www.keep.example.", "A")}
    assert got[("keep.example.", "SOA")]["ResourceRecords"][0]["Value"].startswith("a.keep")
    assert "ns1.zonefront.local." in export_zone(data, "keep.example")


def test_export_unknown_zone(tmp_path):
    with pytest.raises(ZoneIOError):
        export_zone(str(tmp_path / "data"), "nope.example")
