"""Routing policies and aliases chosen per query, for both implementations
(the compiled core and the reference twin), through the embeddable engine.

Client addresses come from the `client` argument (a socket's source) or the
EDNS Client Subnet option; GeoIP data is a hand-made table of ranges."""
import collections
import struct

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import pytest

from zonefront.health.table import HealthTable
from zonefront.model import TYPE_A, TYPE_CNAME, TYPE_NS, TYPE_SOA, TYPE_TXT, RoutedRRset, Zone, name_from_text
from zonefront.snapshot.compiler import compile_zones
from zonefront.snapshot.policy import pack_code

ORIGIN = name_from_text("example.com.")


def n(text):
    return name_from_text(text, ORIGIN).lower()


def a(ip):
    return bytes(int(x) for x in ip.split("."))


def base_zone():
    z = Zone(ORIGIN)
    z.add(ORIGIN, TYPE_SOA, 3600, n("ns1") + n("h") + struct.pack(">IIIII", 1, 2, 3, 4, 60))
    z.add(ORIGIN, TYPE_NS, 3600, n("ns1"))
    z.add(n("ns1"), TYPE_A, 300, a("192.0.2.53"))
    return z


def routed(owner, ips, **kw):
    return RoutedRRset(owner=n(owner), rtype=TYPE_A, ttl=60, rdatas=[a(ip) for ip in ips], **kw)


GEO_RANGES = [  # (first, last, continent, country, subdivision, lat, lon, prefix)
    ("1.1.1.0", "1.1.1.255", "OC", "AU", "", -33.87, 151.21, 24),
    ("8.8.8.0", "8.8.8.255", "NA", "US", "CA", 37.39, -122.08, 24),
    ("9.9.9.0", "9.9.9.255", "NA", "US", "NY", 40.71, -74.0, 24),
    ("81.2.69.0", "81.2.69.255", "EU", "GB", "ENG", 51.51, -0.13, 24),
    ("85.0.0.0", "85.255.255.255", "EU", "DE", "", 52.52, 13.40, 8),
    ("200.0.0.0", "200.0.0.255", "SA", "BR", "", -23.55, -46.63, 24),
    ("62.0.0.0", "62.255.255.255", "EU", "BE", "", 50.85, 4.35, 8),
]


def geo_arrays():
    locs, geo4 = b"", b""
    ranges = sorted(GEO_RANGES, key=lambda r: int.from_bytes(a(r[0]), "big"))
    for i, (first, last, cont, country, sub, lat, lon, prefix) in enumerate(ranges):
        locs += struct.pack("<HHIff", pack_code(cont), pack_code(country), pack_code(sub), lat, lon)
        geo4 += struct.pack("<IIIB3x", int.from_bytes(a(first), "big"), int.from_bytes(a(last), "big"), i, prefix)
    return {"geo4": geo4, "geo6": b"", "geolocs": locs}


@pytest.fixture
def build(impl):
    def make(zone, health=None, cidr=None, geo=True):
        arrays = compile_zones([zone], health, cidr).arrays()
        if impl == "ref":
            from zonefront.ref.engine import RefImage
            img = RefImage(arrays)
        else:
            from zonefront.core._engine import Image
            img = Image(arrays)
        img.attach(geo=geo_arrays() if geo else None, health=health)
        return img
    return make


def ask(img, name, rdtype="A", client="127.0.0.1", seed=0, ecs=None, tcp=False):
    opts = [dns.edns.ECSOption(ecs, 24 if ":" not in ecs else 48)] if ecs else []
    q = dns.message.make_query(name, rdtype, use_edns=0 if ecs else None, options=opts)
    q.id = 4242
    return dns.message.from_wire(img.answer(q.to_wire(), tcp, client, seed))


def addresses(m):
    return sorted(r.address for rr in m.answer for r in rr if rr.rdtype == TYPE_A)


def test_weighted_distribution_and_zero_weight(build):
    z = base_zone()
    z.routed += [routed("w", ["10.0.0.1"], set_id="one", weight=1),
                 routed("w", ["10.0.0.3"], set_id="three", weight=3),
                 routed("w", ["10.0.0.9"], set_id="zero", weight=0)]
    img = build(z)
    seen = collections.Counter(tuple(addresses(ask(img, "w.example.com", seed=s))) for s in range(2000))
    assert set(seen) == {("10.0.0.1",), ("10.0.0.3",)}
    assert 0.18 < seen[("10.0.0.1",)] / 2000 < 0.32


def test_weighted_skips_unhealthy_then_zero_weight_then_all(build):
    health = HealthTable(64)
    z = base_zone()
    z.routed += [routed("w", ["10.0.0.1"], set_id="one", weight=1, health_check="hc1"),
                 routed("w", ["10.0.0.3"], set_id="three", weight=3, health_check="hc3"),
                 routed("w", ["10.0.0.9"], set_id="zero", weight=0)]
    img = build(z, health)
    health.set("hc3", False)
    assert {tuple(addresses(ask(img, "w.example.com", seed=s))) for s in range(200)} == {("10.0.0.1",)}
    health.set("hc1", False)  # only the weight-0 record is healthy now
    assert {tuple(addresses(ask(img, "w.example.com", seed=s))) for s in range(200)} == {("10.0.0.9",)}
    health.set("hc1", True)
    assert {tuple(addresses(ask(img, "w.example.com", seed=s))) for s in range(200)} == {("10.0.0.1",)}


def test_failover(build):
    health = HealthTable(64)
    z = base_zone()
    z.routed += [routed("f", ["10.1.0.1"], set_id="p", failover="PRIMARY", health_check="p"),
                 routed("f", ["10.1.0.2"], set_id="s", failover="SECONDARY", health_check="s")]
    img = build(z, health)
    assert addresses(ask(img, "f.example.com")) == ["10.1.0.1"]
    health.set("p", False)
    assert addresses(ask(img, "f.example.com")) == ["10.1.0.2"]
    health.set("s", False)  # both down: Route 53 answers with the primary
    assert addresses(ask(img, "f.example.com")) == ["10.1.0.1"]
    health.release("p")  # a deleted check counts as healthy
    health.set("s", True)
    assert addresses(ask(img, "f.example.com")) == ["10.1.0.1"]


def test_multivalue_up_to_eight_healthy_random(build):
    health = HealthTable(64)
    z = base_zone()
    for i in range(10):
        z.routed.append(routed("m", [f"10.2.0.{i}"], set_id=f"m{i}", multivalue=True, health_check=f"m{i}"))
    img = build(z, health)
    answers = [addresses(ask(img, "m.example.com", seed=s)) for s in range(50)]
    assert all(len(x) == 8 and len(set(x)) == 8 for x in answers)
    assert len({tuple(x) for x in answers}) > 5
    for i in range(7):
        health.set(f"m{i}", False)
    assert {tuple(addresses(ask(img, "m.example.com", seed=s))) for s in range(20)} == {
        ("10.2.0.7", "10.2.0.8", "10.2.0.9")}
    m = ask(img, "m.example.com", tcp=False)
    assert not m.flags & dns.flags.TC


def test_geolocation_most_specific_wins_and_falls_back(build):
    health = HealthTable(64)
    z = base_zone()
    z.routed += [routed("g", ["10.3.0.1"], set_id="ca", geo_country="US", geo_subdivision="CA", health_check="ca"),
                 routed("g", ["10.3.0.2"], set_id="us", geo_country="US"),
                 routed("g", ["10.3.0.3"], set_id="eu", geo_continent="EU"),
                 routed("g", ["10.3.0.4"], set_id="gb", geo_country="GB")]
    img = build(z, health)
    assert addresses(ask(img, "g.example.com", ecs="8.8.8.0")) == ["10.3.0.1"]
    assert addresses(ask(img, "g.example.com", ecs="9.9.9.0")) == ["10.3.0.2"]
    assert addresses(ask(img, "g.example.com", ecs="81.2.69.0")) == ["10.3.0.4"]
    assert addresses(ask(img, "g.example.com", client="85.1.2.3")) == ["10.3.0.3"]
    health.set("ca", False)  # unhealthy state record: the country record answers
    assert addresses(ask(img, "g.example.com", ecs="8.8.8.0")) == ["10.3.0.2"]
    # no match and no default: NODATA, as Route 53 answers
    m = ask(img, "g.example.com", ecs="1.1.1.0")
    assert m.rcode() == dns.rcode.NOERROR and not m.answer and m.authority
    z.routed.append(routed("g", ["10.3.0.9"], set_id="default", geo_country="*"))
    img = build(z, health)
    assert addresses(ask(img, "g.example.com", ecs="1.1.1.0")) == ["10.3.0.9"]
    assert addresses(ask(img, "g.example.com", client="127.0.0.1")) == ["10.3.0.9"]


def test_ecs_scope_reports_the_decision(build):
    z = base_zone()
    z.routed += [routed("g", ["10.3.0.3"], set_id="eu", geo_continent="EU"),
                 routed("g", ["10.3.0.9"], set_id="default", geo_country="*")]
    img = build(z)
    m = ask(img, "g.example.com", ecs="81.2.69.0")
    (opt,) = [o for o in m.options if isinstance(o, dns.edns.ECSOption)]
    assert opt.scopelen == 24
    z2 = base_zone()
    z2.add(n("plain"), TYPE_A, 60, a("10.9.9.9"))
    m = ask(build(z2), "plain.example.com", ecs="81.2.69.0")
    (opt,) = [o for o in m.options if isinstance(o, dns.edns.ECSOption)]
    assert opt.scopelen == 0


def test_latency_nearest_region(build):
    z = base_zone()
    z.routed += [routed("l", ["10.4.0.1"], set_id="use1", region="us-east-1"),
                 routed("l", ["10.4.0.2"], set_id="euw2", region="eu-west-2"),
                 routed("l", ["10.4.0.3"], set_id="apse2", region="ap-southeast-2"),
                 routed("l", ["10.4.0.4"], set_id="usw1", region="us-west-1")]
    img = build(z)
    assert addresses(ask(img, "l.example.com", ecs="81.2.69.0")) == ["10.4.0.2"]
    assert addresses(ask(img, "l.example.com", ecs="1.1.1.0")) == ["10.4.0.3"]
    assert addresses(ask(img, "l.example.com", ecs="8.8.8.0")) == ["10.4.0.4"]
    assert addresses(ask(img, "l.example.com", ecs="9.9.9.0")) == ["10.4.0.1"]


def test_geoproximity_bias_moves_the_border(build):
    z = base_zone()
    london = routed("p", ["10.5.0.1"], set_id="lon", geoprox_lat=51.5, geoprox_lon=-0.1)
    berlin = routed("p", ["10.5.0.2"], set_id="ber", geoprox_lat=52.5, geoprox_lon=13.4)
    z.routed += [london, berlin]
    probe = "62.1.2.3"  # Brussels: ~320 km from London, ~650 km from Berlin
    assert addresses(ask(build(z), "p.example.com", client=probe)) == ["10.5.0.1"]
    berlin.geoprox_bias = 60  # Berlin's area grows: 650 * 0.4 < 320
    assert addresses(ask(build(z), "p.example.com", client=probe)) == ["10.5.0.2"]
    berlin.geoprox_bias = 40  # not enough: 650 * 0.6 > 320
    assert addresses(ask(build(z), "p.example.com", client=probe)) == ["10.5.0.1"]
    london.geoprox_bias, berlin.geoprox_bias = -99, 20  # 318 * 1.99 > 650 * 0.8
    assert addresses(ask(build(z), "p.example.com", client=probe)) == ["10.5.0.2"]


def test_cidr_longest_prefix_and_default(build):
    z = base_zone()
    z.routed += [routed("c", ["10.6.0.1"], set_id="office", cidr_collection="c1", cidr_location="office"),
                 routed("c", ["10.6.0.2"], set_id="lab", cidr_collection="c1", cidr_location="lab"),
                 routed("c", ["10.6.0.9"], set_id="rest", cidr_collection="c1", cidr_location="*")]
    cidr = {"c1": {"office": ["198.51.100.0/24", "2001:db8::/32"], "lab": ["198.51.100.128/25"]}}
    img = build(z, cidr=cidr)
    assert addresses(ask(img, "c.example.com", client="198.51.100.7")) == ["10.6.0.1"]
    assert addresses(ask(img, "c.example.com", client="198.51.100.200")) == ["10.6.0.2"]
    assert addresses(ask(img, "c.example.com", client="2001:db8::5")) == ["10.6.0.1"]
    assert addresses(ask(img, "c.example.com", client="203.0.113.1")) == ["10.6.0.9"]
    m = ask(img, "c.example.com", ecs="198.51.100.0")
    (opt,) = [o for o in m.options if isinstance(o, dns.edns.ECSOption)]
    # 198.51.100.128/25 inside the /24 answers differently: the answer holds for the /25
    assert addresses(m) == ["10.6.0.1"] and opt.scopelen == 25


def test_alias_at_apex_to_weighted_target_and_missing_target(build):
    z = base_zone()
    z.routed += [routed("w", ["10.7.0.1"], set_id="a", weight=1),
                 routed("w", ["10.7.0.2"], set_id="b", weight=1),
                 RoutedRRset(owner=ORIGIN, rtype=TYPE_A, ttl=0, alias_name=n("w")),
                 RoutedRRset(owner=n("broken"), rtype=TYPE_A, ttl=0, alias_name=n("missing"))]
    z.add(n("txt"), TYPE_TXT, 77, b"\x02hi")
    z.routed.append(RoutedRRset(owner=n("t"), rtype=TYPE_TXT, ttl=0, alias_name=n("txt")))
    img = build(z)
    got = {tuple(addresses(ask(img, "example.com", seed=s))) for s in range(100)}
    assert got == {("10.7.0.1",), ("10.7.0.2",)}
    m = ask(img, "example.com")
    assert m.answer[0].name.to_text() == "example.com." and m.answer[0].ttl == 60
    m = ask(img, "broken.example.com")
    assert m.rcode() == dns.rcode.NOERROR and not m.answer
    m = ask(img, "t.example.com", "TXT")
    assert m.answer[0].ttl == 77 and m.answer[0].name.to_text() == "t.example.com."


def test_failover_alias_evaluates_target_health(build):
    health = HealthTable(64)
    z = base_zone()
    z.routed += [routed("pool", ["10.8.0.1"], set_id="x", weight=1, health_check="x"),
                 RoutedRRset(owner=n("site"), rtype=TYPE_A, ttl=0, set_id="p", failover="PRIMARY",
                             alias_name=n("pool"), alias_evaluate_health=True),
                 routed("site", ["10.8.0.9"], set_id="s", failover="SECONDARY")]
    img = build(z, health)
    assert addresses(ask(img, "site.example.com")) == ["10.8.0.1"]
    health.set("x", False)
    assert addresses(ask(img, "site.example.com")) == ["10.8.0.9"]


def test_weighted_cname_is_followed(build):
    z = base_zone()
    z.add(n("blue"), TYPE_A, 60, a("10.9.0.1"))
    z.add(n("green"), TYPE_A, 60, a("10.9.0.2"))
    z.routed += [RoutedRRset(owner=n("app"), rtype=TYPE_CNAME, ttl=30, rdatas=[n("blue")], set_id="b", weight=1),
                 RoutedRRset(owner=n("app"), rtype=TYPE_CNAME, ttl=30, rdatas=[n("green")], set_id="g", weight=1)]
    z.add(n("www"), TYPE_CNAME, 30, n("app"))
    img = build(z)
    got = {tuple(addresses(ask(img, "www.example.com", seed=s))) for s in range(100)}
    assert got == {("10.9.0.1",), ("10.9.0.2",)}
    m = ask(img, "app.example.com", "CNAME")
    assert len(m.answer) == 1 and m.answer[0].rdtype == TYPE_CNAME


def test_compiled_and_reference_choose_alike():
    """The same seeds and clients give the same bytes in both."""
    from zonefront.core._engine import Image
    from zonefront.ref.engine import RefImage

    health = HealthTable(64)
    z = base_zone()
    z.routed += [routed("w", ["10.0.0.1"], set_id="1", weight=5, health_check="h1"),
                 routed("w", ["10.0.0.2"], set_id="2", weight=2),
                 routed("g", ["10.3.0.3"], set_id="eu", geo_continent="EU"),
                 routed("g", ["10.3.0.9"], set_id="d", geo_country="*"),
                 routed("l", ["10.4.0.1"], set_id="use1", region="us-east-1"),
                 routed("l", ["10.4.0.2"], set_id="euw2", region="eu-west-2")]
    for i in range(10):
        z.routed.append(routed("m", [f"10.2.0.{i}"], set_id=f"m{i}", multivalue=True))
    arrays = compile_zones([z], health).arrays()
    c = Image(arrays).attach(geo=geo_arrays(), health=health)
    r = RefImage(arrays).attach(geo=geo_arrays(), health=health)
    for seed in range(60):
        health.set("h1", seed % 3 != 0)
        for name in ("w", "g", "l", "m"):
            for client, ecs in (("127.0.0.1", None), ("85.1.1.1", None), ("127.0.0.1", "1.1.1.0"),
                                ("::1", "81.2.69.0")):
                opts = [dns.edns.ECSOption(ecs, 24)] if ecs else []
                q = dns.message.make_query(f"{name}.example.com", "A", use_edns=0, options=opts)
                q.id = seed
                wire = q.to_wire()
                assert c.answer(wire, False, client, seed) == r.answer(wire, False, client, seed)


class LazyTables:
    """A stand-in for geodefault.LazyGeo: counts its loads."""
    lazy = True

    def __init__(self):
        self.loads = 0

    def arrays(self):
        self.loads += 1
        return geo_arrays()


@pytest.mark.parametrize("impl", ["ref", "c"])
def test_lazy_geo_loaded_only_for_location_routing(impl):
    from zonefront.core._engine import Image
    from zonefront.ref.engine import RefImage
    cls = RefImage if impl == "ref" else Image
    z = base_zone()
    z.routed += [routed("w", ["10.0.0.1"], set_id="one", weight=1)]
    plain = cls(compile_zones([z]).arrays())
    tables = LazyTables()
    plain.attach(geo=tables)
    assert tables.loads == 0 and not plain.uses_location()
    z.routed += [routed("g", ["10.3.0.2"], set_id="us", geo_country="US"),
                 routed("g", ["10.3.0.3"], set_id="eu", geo_continent="EU")]
    img = cls(compile_zones([z]).arrays())
    assert img.uses_location()
    img.attach(geo=tables)
    assert tables.loads == 1
    assert addresses(ask(img, "g.example.com.", ecs="85.1.2.0")) == ["10.3.0.3"]
    assert addresses(ask(img, "g.example.com.", ecs="8.8.8.0")) == ["10.3.0.2"]
