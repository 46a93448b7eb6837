"""The zones, routing tables and queries every engine fuzz target answers from.

One world for the libFuzzer harness (native/fuzz_engine.c, through
native/embed.py) and the atheris differential target, so a crash found by
one replays in the other: the fixture zones (wildcards, CNAME chains, loops,
DNAMEs, delegations, $INCLUDE) plus a zone holding every Route 53 routing
policy, with GeoIP ranges, CIDR collections and health checks, some down.
"""
from __future__ import annotations

import struct
from pathlib import Path

from zonefront.health.table import HealthTable
from zonefront.model import (
    TYPE_A,
    TYPE_AAAA,
    TYPE_CNAME,
    TYPE_DNAME,
    TYPE_MX,
    TYPE_NS,
    TYPE_SOA,
    TYPE_TXT,
    RoutedRRset,
    Zone,
    name_from_text,
)
from zonefront.snapshot.policy import pack_code
from zonefront.zonefile import parse_zone_file

TESTS = Path(__file__).resolve().parents[1]
ZONE_FILES = [TESTS / "data" / "zones" / "example.com.db", TESTS / "scenarios" / "serve" / "zones" / "example.test.zone"]
ROUTED = name_from_text("routed.example.")

# the client addresses a packet's ID selects (fuzz_engine.c and the
# differential target read them from here): GeoIP hits, CIDR hits, misses
# (10/8 and fd00::/8 are the private view's networks)
CLIENTS = [None, "127.0.0.1", "85.1.1.1", "8.8.8.9", "198.51.100.200", "2001:db8::5", "fd00::5", "10.1.2.3"]
VIEW_NETS = ["10.0.0.0/8", "fd00::/8"]

GEO_RANGES = [  # (first, last, continent, country, subdivision, lat, lon, prefix)
    ("1.1.1.0", "1.1.1.255", "OC", "AU", "", -33.87, 151.21, 24),
    ("8.8.8.0", "8.8.8.255", "NA", "US", "CA", 37.39, -122.08, 24),
    ("9.9.9.0", "9.9.9.255", "NA", "US", "NY", 40.71, -74.0, 24),
    ("62.0.0.0", "62.255.255.255", "EU", "BE", "", 50.85, 4.35, 8),
    ("81.2.69.0", "81.2.69.255", "EU", "GB", "ENG", 51.51, -0.13, 24),
    ("85.0.0.0", "85.255.255.255", "EU", "DE", "", 52.52, 13.40, 8),
    ("200.0.0.0", "200.0.0.255", "SA", "BR", "", -23.55, -46.63, 24),
]
CIDR = {"c1": {"office": ["198.51.100.0/24", "2001:db8::/32"], "lab": ["198.51.100.128/25"]}}


def _ip4(text: str) -> bytes:
    return bytes(int(x) for x in text.split("."))


def geo_arrays() -> dict:
    locs, geo4 = b"", b""
    for i, (first, last, cont, country, sub, lat, lon, prefix) in enumerate(GEO_RANGES):
        locs += struct.pack("<HHIff", pack_code(cont), pack_code(country), pack_code(sub), lat, lon)
        geo4 += struct.pack("<IIIB3x", int.from_bytes(_ip4(first), "big"),
                            int.from_bytes(_ip4(last), "big"), i, prefix)
    return {"geo4": geo4, "geo6": b"", "geolocs": locs}


def _n(text: str) -> bytes:
    return name_from_text(text, ROUTED).lower()


def _a(owner: str, ips: list[str], **kw) -> RoutedRRset:
    return RoutedRRset(owner=_n(owner), rtype=TYPE_A, ttl=60, rdatas=[_ip4(ip) for ip in ips], **kw)


def routed_zone() -> Zone:
    """Every policy kind, aliases (healthy, unhealthy, missing targets),
    plus the static shapes the answer rules branch on."""
    z = Zone(ROUTED)
    z.add(ROUTED, TYPE_SOA, 3600, _n("ns1") + _n("h") + struct.pack(">IIIII", 7, 2, 3, 4, 60))
    z.add(ROUTED, TYPE_NS, 3600, _n("ns1"))
    z.add(_n("ns1"), TYPE_A, 300, _ip4("192.0.2.53"))
    z.add(_n("ns1"), TYPE_AAAA, 300, bytes(15) + b"\x35")
    z.add(_n("blue"), TYPE_A, 60, _ip4("10.9.0.1"))
    z.add(_n("green"), TYPE_A, 60, _ip4("10.9.0.2"))
    z.add(_n("txt"), TYPE_TXT, 77, b"\x02hi" + b"\xff" + b"x" * 255)
    z.add(_n("big"), TYPE_TXT, 60, b"".join(bytes([255]) + bytes([65 + i % 26]) * 255 for i in range(12)))
    z.add(_n("mx"), TYPE_MX, 60, b"\x00\x0a" + _n("blue"))
    z.add(_n("*.wild"), TYPE_A, 60, _ip4("10.1.1.1"))
    z.add(_n("*.wild"), TYPE_MX, 60, b"\x00\x05" + _n("green"))
    z.add(_n("sub"), TYPE_NS, 60, _n("ns.sub"))
    z.add(_n("ns.sub"), TYPE_A, 60, _ip4("10.2.2.2"))
    z.add(_n("dn"), TYPE_DNAME, 60, _n("wild"))
    z.add(_n("out"), TYPE_DNAME, 60, name_from_text("example.net."))
    z.add(_n("www"), TYPE_CNAME, 30, _n("app"))
    z.add(_n("e.n.t.deep"), TYPE_A, 60, _ip4("10.3.3.3"))
    health_routed = [
        _a("w", ["10.0.0.1"], set_id="1", weight=5, health_check="h-up"),
        _a("w", ["10.0.0.2"], set_id="2", weight=2, health_check="h-down"),
        _a("w", ["10.0.0.3"], set_id="3", weight=0),
        _a("g", ["10.3.0.3"], set_id="eu", geo_continent="EU"),
        _a("g", ["10.3.0.4"], set_id="de", geo_country="DE"),
        _a("g", ["10.3.0.5"], set_id="ca", geo_country="US", geo_subdivision="CA"),
        _a("g", ["10.3.0.9"], set_id="d", geo_country="*"),
        _a("l", ["10.4.0.1"], set_id="use1", region="us-east-1"),
        _a("l", ["10.4.0.2"], set_id="euw2", region="eu-west-2", health_check="h-down"),
        _a("l", ["10.4.0.3"], set_id="apse2", region="ap-southeast-2"),
        _a("p", ["10.5.0.1"], set_id="lon", geoprox_lat=51.5, geoprox_lon=-0.1),
        _a("p", ["10.5.0.2"], set_id="ber", geoprox_lat=52.5, geoprox_lon=13.4, geoprox_bias=40),
        _a("p", ["10.5.0.3"], set_id="use1", geoprox_region="us-east-1", geoprox_bias=-20),
        _a("c", ["10.6.0.1"], set_id="office", cidr_collection="c1", cidr_location="office"),
        _a("c", ["10.6.0.2"], set_id="lab", cidr_collection="c1", cidr_location="lab"),
        _a("c", ["10.6.0.9"], set_id="rest", cidr_collection="c1", cidr_location="*"),
        _a("f", ["10.8.0.1"], set_id="pri", failover="PRIMARY", health_check="h-down"),
        _a("f", ["10.8.0.9"], set_id="sec", failover="SECONDARY"),
        RoutedRRset(owner=_n("site"), rtype=TYPE_A, ttl=0, set_id="p", failover="PRIMARY",
                    alias_name=_n("w"), alias_evaluate_health=True),
        _a("site", ["10.8.1.9"], set_id="s", failover="SECONDARY"),
        RoutedRRset(owner=ROUTED, rtype=TYPE_A, ttl=0, alias_name=_n("w")),
        RoutedRRset(owner=_n("broken"), rtype=TYPE_A, ttl=0, alias_name=_n("missing")),
        RoutedRRset(owner=_n("t"), rtype=TYPE_TXT, ttl=0, alias_name=_n("txt")),
        RoutedRRset(owner=_n("app"), rtype=TYPE_CNAME, ttl=30, rdatas=[_n("blue")], set_id="b", weight=1),
        RoutedRRset(owner=_n("app"), rtype=TYPE_CNAME, ttl=30, rdatas=[_n("green")], set_id="g", weight=1),
    ]
    z.routed += health_routed
    for i in range(10):
        z.routed.append(_a("m", [f"10.2.0.{i}"], set_id=f"m{i}", multivalue=True,
                           health_check="h-down" if i % 3 == 0 else None))
    return z


def zones() -> list[Zone]:
    return [parse_zone_file(p) for p in ZONE_FILES] + [routed_zone()]


def private_zones() -> list[Zone]:
    """A private view: its own example.test (answers differ from the public
    one) and a zone only the view holds."""
    out = []
    for text in ("example.test.", "internal.example."):
        origin = name_from_text(text)
        z = Zone(origin)
        ns = name_from_text("ns." + text)
        z.add(origin, TYPE_SOA, 60, ns + name_from_text("h." + text) + struct.pack(">IIIII", 9, 1, 1, 1, 30))
        z.add(origin, TYPE_NS, 60, ns)
        z.add(ns, TYPE_A, 60, _ip4("10.0.0.53"))
        z.add(name_from_text("www." + text), TYPE_A, 60, _ip4("10.0.0.80"))
        z.add(name_from_text("*.wild." + text), TYPE_TXT, 60, b"\x07private")
        out.append(z)
    return out


def health_table() -> HealthTable:
    health = HealthTable(64)
    health.set("h-up", True)
    health.set("h-down", False)
    return health


def compiled():
    """(arrays, zone rows, health) of the world's public image."""
    from zonefront.snapshot.compiler import compile_zones

    health = health_table()
    image = compile_zones(zones(), health, CIDR)
    return image.arrays(), image.zones, health


def build(image_class):
    """The world's image in one implementation (core._engine.Image or
    ref.engine.RefImage), routing tables attached and the private view set."""
    from zonefront.snapshot.compiler import compile_zones

    arrays, zones_, health = compiled()
    image = image_class(arrays, zones_).attach(geo=geo_arrays(), health=health)
    view = compile_zones(private_zones(), health, CIDR)
    view_image = image_class(view.arrays(), view.zones).attach(geo=geo_arrays(), health=health)
    return image.set_views([(view_image, VIEW_NETS)])


def sockaddr(client: str | None) -> bytes | None:
    from zonefront.core._engine import sockaddr_bytes

    return sockaddr_bytes(client)


def control(packet: bytes) -> tuple[str | None, bool, int]:
    """(client, tcp, seed) for one fuzzed packet: taken from its ID, which
    the engine only copies, so every input stays a real DNS message."""
    if len(packet) < 2:
        return None, False, 0
    return CLIENTS[packet[0] & 7], bool(packet[0] & 8), packet[1]


def seed_queries() -> list[bytes]:
    """Real queries, as resolvers send them, for the checked-in corpora."""
    import dns.edns
    import dns.message

    names = ["example.com", "www.example.com", "x.wild.example.com", "mail.example.com",
             "_sip._tcp.example.com", "nx.example.com", "x.other.example.com", "example.test",
             "www.example.test", "chain1.example.test", "loop1.example.test", "a.b.wild.example.test",
             "routed.example", "w.routed.example", "g.routed.example", "l.routed.example",
             "p.routed.example", "c.routed.example", "f.routed.example", "site.routed.example",
             "broken.routed.example", "t.routed.example", "www.routed.example", "m.routed.example",
             "big.routed.example", "x.sub.routed.example", "a.dn.routed.example", "q.out.routed.example",
             "deep.routed.example", "n.t.deep.routed.example", "zz.x.wild.routed.example", "example.org",
             "www.internal.example", "a.wild.internal.example"]
    qtypes = ["A", "AAAA", "TXT", "MX", "NS", "SOA", "CNAME", "ANY", "DS", "SRV", "DNAME", "HTTPS", "CAA"]
    out = []
    for i, name in enumerate(names):
        for j, qtype in enumerate(qtypes[i % 5: i % 5 + 4]):
            kind = (i + j) % 4
            opts = []
            if kind == 2:
                opts = [dns.edns.ECSOption("85.1.1.0" if j % 2 else "2001:db8::", 24 if j % 2 else 48)]
            q = dns.message.make_query(name.upper() if kind == 3 else name, qtype,
                                       use_edns=0 if kind else None, want_dnssec=kind == 1,
                                       payload=512 if kind == 3 else 1232, options=opts)
            k = len(out)  # the ID's first octet walks every client, UDP and TCP (control())
            q.id = ((k % 16) << 8) | ((i * 37 + j * 11) & 0xFF)
            out.append(q.to_wire())
    return out
