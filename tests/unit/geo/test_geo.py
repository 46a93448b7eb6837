"""geo.py: the flattened GeoIP arrays against maxminddb's own Reader.get(),
AWS regions, great-circle distance and the latency table."""
from __future__ import annotations

import ipaddress
import math
import random
import struct

import maxminddb
import pytest
from make_test_mmdb import NETWORKS

from zonefront import cidr, geo


def _check_sorted_disjoint(data: bytes, v6: bool, exact: bool = True) -> None:
    t = cidr.RangeTable(data, v6)
    prev_end = -1
    for i in range(len(t)):
        s, e, _loc, p = t.row(i)
        assert prev_end < s <= e
        bits = 128 if v6 else 32
        assert not exact or e - s + 1 == 1 << (bits - p), "a range is exactly its network"
        prev_end = e


def _expected(rec):
    if rec is None:
        return None
    c = (rec.get("continent") or {}).get("code", "")
    k = (rec.get("country") or {}).get("iso_code", "")
    s = (rec.get("subdivisions") or [{}])[0].get("iso_code", "")
    loc = rec.get("location") or {}
    return c, k, s, loc.get("latitude"), loc.get("longitude")


def _same(g: geo.GeoLoc | None, rec, prefix) -> bool:
    exp = _expected(rec)
    if exp is None:
        return g is None
    if g is None or (g.continent, g.country, g.subdivision) != exp[:3] or g.prefix != prefix:
        return False
    if exp[3] is None:
        return math.isnan(g.lat) and math.isnan(g.lon)
    return abs(g.lat - exp[3]) < 1e-4 and abs(g.lon - exp[4]) < 1e-4


def _random_addresses(rnd: random.Random, n: int):
    """Mostly inside the test networks (so nesting is exercised), some anywhere."""
    nets = [ipaddress.ip_network(x[0]) for x in NETWORKS]
    for _ in range(n):
        if rnd.random() < 0.8:
            net = rnd.choice(nets)
            yield net.network_address + rnd.randrange(net.num_addresses)
        elif rnd.random() < 0.5:
            yield ipaddress.IPv4Address(rnd.getrandbits(32))
        else:
            yield ipaddress.IPv6Address(rnd.getrandbits(128))


def test_pack_code():
    assert geo.pack_code("US") == 0x5553
    assert geo.pack_code("ENG") == 0x454E47
    assert geo.pack_code("") == 0
    assert geo.unpack_code(geo.pack_code("WA")) == "WA"
    assert geo.unpack_code(0) == ""
    # big-endian with leading zero bytes: the same value as u16 or u32
    assert struct.pack(">I", geo.pack_code("US"))[2:] == b"US"
    with pytest.raises(ValueError):
        geo.pack_code("TOOLONG")


def test_arrays_are_sorted_disjoint_and_complete(city_mmdb):
    db = geo.GeoDB.from_mmdb(city_mmdb)
    arr = db.arrays()
    assert set(arr) == {"geo4", "geo6", "geolocs"}
    assert len(arr["geo4"]) % 16 == 0 and len(arr["geo6"]) % 40 == 0
    assert len(arr["geolocs"]) % 16 == 0
    _check_sorted_disjoint(arr["geo4"], False)
    _check_sorted_disjoint(arr["geo6"], True)
    # identical locations are stored once
    locs = [arr["geolocs"][i:i + 16] for i in range(0, len(arr["geolocs"]), 16)]
    assert len(locs) == len(set(locs)) == len({n[1:] for n in NETWORKS})
    with maxminddb.open_database(city_mmdb) as r:
        assert len(db) == sum(1 for _ in r)


def test_fast_walk_equals_the_readers_iterator(city_mmdb, synthetic_mmdb):
    for path in (city_mmdb, synthetic_mmdb):
        assert geo.GeoDB.from_mmdb(path).arrays() == geo.GeoDB.from_mmdb_iter(path).arrays()


@pytest.mark.parametrize("which", ["city", "synthetic"])
def test_lookup_matches_reader_get(which, city_mmdb, synthetic_mmdb):
    path = city_mmdb if which == "city" else synthetic_mmdb
    db = geo.GeoDB.from_mmdb(path)
    rnd = random.Random(5)
    with maxminddb.open_database(path) as r:
        if which == "city":
            addrs = list(_random_addresses(rnd, 5000))
        else:
            addrs = [ipaddress.IPv4Address(rnd.getrandbits(32)) for _ in range(2500)] + \
                [ipaddress.IPv6Address((0x2000 << 112) | rnd.getrandbits(125))
                 for _ in range(2500)]
        for a in addrs:
            rec, prefix = r.get_with_prefix_len(a)
            assert _same(db.lookup(a), rec, prefix), (a, db.lookup(a), rec, prefix)


def test_known_places(city_mmdb):
    db = geo.GeoDB.from_mmdb(city_mmdb)
    g = db.lookup("8.8.8.8")
    assert (g.continent, g.country, g.subdivision, g.prefix) == ("NA", "US", "CA", 25)
    assert abs(g.lat - 37.39) < 1e-4
    assert db.lookup("8.8.8.200").subdivision == "WA"
    assert db.lookup("8.9.0.1").subdivision == ""  # the /8 around the nested /24
    assert db.lookup("193.99.144.80").country == "DE"
    assert db.lookup("1.0.16.1").country == "JP"
    assert db.lookup("81.2.69.160").subdivision == "SCT"
    g = db.lookup("185.0.3.4")  # continent only, no location
    assert (g.continent, g.country) == ("EU", "") and math.isnan(g.lat)
    assert db.lookup("2001:db8:1:2::9").subdivision == "BY"
    assert db.lookup("2001:db8:1:3::9").subdivision == "BE"
    assert db.lookup("2001:db8:ffff::1").country == "FR"
    # an IPv4-mapped client is looked up as IPv4
    assert db.lookup("::ffff:8.8.8.8") == db.lookup("8.8.8.8")
    assert db.lookup("9.9.9.9") is None and db.lookup("::1") is None


def test_mapped_networks_go_to_geo4(tmp_path):
    import make_test_mmdb as m

    nets = [("10.0.0.0/8", "EU", "DE", None, 50.0, 8.0),
            ("::ffff:10.1.0.0/112", "EU", "FR", None, 48.0, 2.0),  # inside 10/8: wins
            ("::ffff:11.0.0.0/104", "AS", "JP", None, 35.0, 139.0),
            ("2001:db8::/32", "EU", "NL", None, 52.0, 4.0)]
    path = str(tmp_path / "mapped.mmdb")
    m.write(path, nets)
    db = geo.GeoDB.from_mmdb(path)
    _check_sorted_disjoint(db.geo4, False, exact=False)
    assert db.lookup("10.1.2.3").country == "FR" and db.lookup("10.1.2.3").prefix == 16
    assert db.lookup("10.2.0.1").country == "DE"
    assert db.lookup("11.2.3.4").country == "JP" and db.lookup("11.2.3.4").prefix == 8
    t6 = cidr.RangeTable(db.geo6, True)
    assert all(not (t6.row(i)[0] >> 32 == 0xFFFF) for i in range(len(t6)))
    assert db.arrays() == geo.GeoDB.from_mmdb_iter(path).arrays()


def test_regions():
    assert len(geo.REGIONS) >= 30
    assert geo.REGION_NAMES == sorted(geo.REGIONS)
    assert geo.region_index(geo.REGION_NAMES[0]) == 0
    arr = geo.regions_array()
    assert len(arr) == 8 * len(geo.REGIONS)
    i = geo.region_index("eu-west-1")
    lat, lon = struct.unpack_from("<ff", arr, 8 * i)
    assert abs(lat - 53.35) < 1e-4 and abs(lon + 6.26) < 1e-4
    for name in ("us-east-1", "ap-southeast-2", "sa-east-1", "af-south-1"):
        assert name in geo.REGIONS
    # every region a latency record may name has coordinates
    from zonefront.aws._route53_model import SHAPES
    assert set(SHAPES["ResourceRecordSetRegion"]["enum"]) <= set(geo.REGIONS)


def test_great_circle():
    assert geo.great_circle_km(0, 0, 0, 0) == 0
    # Dublin - Sydney ~17,200 km; one degree of longitude on the equator ~111.2 km
    d = geo.great_circle_km(*geo.REGIONS["eu-west-1"], *geo.REGIONS["ap-southeast-2"])
    assert 17000 < d < 17400
    assert abs(geo.great_circle_km(0, 0, 0, 1) - 111.2) < 0.1
    assert abs(geo.great_circle_km(90, 0, -90, 0) - math.pi * geo.EARTH_RADIUS_KM) < 1e-6


LAT_CFG = {
    "networks": {"198.51.100.0/24": {"us-east-1": 12.5, "eu-west-1": 81},
                 "198.51.100.128/25": {"eu-west-1": 5},
                 "2001:db8:77::/48": {"ap-southeast-2": 3}},
    "continents": {"EU": {"eu-central-1": 20}, "NA": {"us-east-2": 30}},
    "countries": {"US": {"us-east-1": 40}, "NA": {"af-south-1": 9}},
    "subdivisions": {"US-WA": {"us-west-2": 10}},
}


def test_latency_table_arrays_and_lookup():
    t = geo.LatencyTable.from_config(LAT_CFG)
    arr = t.arrays()
    assert set(arr) == {"lat4", "lat6", "latrows", "latareas"}
    n = len(geo.REGIONS)
    assert len(arr["latrows"]) == 4 * n * len(t.rows)
    row, prefix = t.row_for("198.51.100.200", None)
    assert prefix == 25
    vals = struct.unpack_from(f"<{n}f", arr["latrows"], 4 * n * row)
    assert vals[geo.region_index("eu-west-1")] == 5.0
    assert math.isnan(vals[geo.region_index("us-east-1")])
    assert t.lookup_rtts("198.51.100.7", None) == {"us-east-1": 12.5, "eu-west-1": 81.0}
    assert t.lookup_rtts("198.51.100.200", None) == {"eu-west-1": 5.0}
    assert t.lookup_rtts("2001:db8:77::1", None) == {"ap-southeast-2": 3.0}

    def at(c, k, s):
        return geo.GeoLoc(c, k, s, 0.0, 0.0, 20)
    assert t.lookup_rtts("192.0.2.1", at("NA", "US", "WA")) == {"us-west-2": 10.0}
    assert t.lookup_rtts("192.0.2.1", at("NA", "US", "OR")) == {"us-east-1": 40.0}
    assert t.lookup_rtts("192.0.2.1", at("NA", "CA", "")) == {"us-east-2": 30.0}
    assert t.lookup_rtts("192.0.2.1", at("AF", "NA", "")) == {"af-south-1": 9.0}
    assert t.lookup_rtts("192.0.2.1", at("AS", "JP", "")) is None
    assert t.lookup_rtts("192.0.2.1", None) is None
    # the network beats the area
    assert t.lookup_rtts("198.51.100.7", at("NA", "US", "WA")) == {"us-east-1": 12.5,
                                                                   "eu-west-1": 81.0}
    # latareas mirrors area_rows, sorted, continent and country kept apart
    areas = [struct.unpack_from("<HHII", arr["latareas"], i)
             for i in range(0, len(arr["latareas"]), 12)]
    assert areas == sorted(areas)
    assert {(c, k, s): r for c, k, s, r in areas} == t.area_rows
    na = geo.pack_code("NA")
    assert (na, 0, 0) in t.area_rows and (0, na, 0) in t.area_rows
    assert (0, geo.pack_code("US"), geo.pack_code("WA")) in t.area_rows


@pytest.mark.parametrize("cfg, words", [
    ({"networks": {"10.0.0.1/8": {"us-east-1": 1}}}, "10.0.0.1/8"),
    ({"networks": {"10.0.0.0/8": {"mars-1": 1}}}, "mars-1"),
    ({"networks": {"10.0.0.0/8": {"us-east-1": -1}}}, "us-east-1"),
    ({"networks": {"10.0.0.0/8": {}}}, "10.0.0.0/8"),
    ({"continents": {"XX": {"us-east-1": 1}}}, "XX"),
    ({"countries": {"usa": {"us-east-1": 1}}}, "usa"),
    ({"subdivisions": {"WA": {"us-east-1": 1}}}, "WA"),
    ({"planets": {}}, "planets"),
])
def test_latency_table_refuses(cfg, words):
    with pytest.raises(ValueError) as e:
        geo.LatencyTable.from_config(cfg)
    assert words in str(e.value)
