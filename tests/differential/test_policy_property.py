"""Property test: the compiled routing selection against the reference twin
on generated record sets, health states, client addresses and seeds.

Both read the same compiled image; any byte difference in the responses is
a disagreement in choosing (weights, health fallbacks, geo levels, biased
distances, longest-prefix CIDR matches, multivalue shuffles) or in ECS scope."""
import struct

import dns.edns
import dns.message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zonefront.health.table import HealthTable
from zonefront.model import TYPE_A, TYPE_NS, TYPE_SOA, RoutedRRset, Zone, name_from_text
from zonefront.snapshot.compiler import compile_zones
from zonefront.snapshot.policy import pack_code

ORIGIN = name_from_text("example.com.")
OWNER = name_from_text("r.example.com.")
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"]
COUNTRIES = [("NA", "US", "CA"), ("NA", "US", "NY"), ("EU", "GB", ""), ("EU", "DE", ""), ("OC", "AU", "")]
GEO = [  # first /16 of each range -> a location
    ("8.8.0.0", "8.8.255.255", 0, 37.4, -122.1, 16), ("9.9.0.0", "9.9.255.255", 1, 40.7, -74.0, 16),
    ("81.2.0.0", "81.2.255.255", 2, 51.5, -0.1, 16), ("85.0.0.0", "85.255.255.255", 3, 52.5, 13.4, 8),
    ("101.0.0.0", "101.0.255.255", 4, -33.9, 151.2, 16),
]
CLIENTS = ["8.8.4.4", "9.9.9.9", "81.2.69.1", "85.1.2.3", "101.0.0.7", "127.0.0.1", "198.51.100.9",
           "198.51.100.200", "203.0.113.5", "2001:db8::1"]


def ip4(text):
    return int.from_bytes(bytes(int(x) for x in text.split(".")), "big")


def geo_arrays():
    locs = b"".join(struct.pack("<HHIff", pack_code(c), pack_code(k), pack_code(s), lat, lon)
                    for (c, k, s), (_, _, _, lat, lon, _) in zip(COUNTRIES, GEO))
    geo4 = b"".join(struct.pack("<IIIB3x", ip4(a), ip4(b), i, p) for a, b, i, _, _, p in GEO)
    return {"geo4": geo4, "geo6": b"", "geolocs": locs}


def record(kind, i, draw):
    ip = bytes([10, 0, i, 1])
    kw = {"set_id": f"s{i}", "health_check": f"h{i}" if draw(st.booleans()) else None}
    if kind == "weighted":
        kw["weight"] = draw(st.integers(0, 5))
    elif kind == "failover":
        kw["failover"] = "PRIMARY" if i == 0 else "SECONDARY"
    elif kind == "multivalue":
        kw["multivalue"] = True
    elif kind == "latency":
        kw["region"] = REGIONS[i % len(REGIONS)]
    elif kind == "geo":
        choice = draw(st.integers(0, 3))
        cont, country, sub = COUNTRIES[draw(st.integers(0, len(COUNTRIES) - 1))]
        if choice == 0:
            kw["geo_country"] = "*"
        elif choice == 1:
            kw["geo_continent"] = cont
        elif choice == 2:
            kw["geo_country"] = country
        else:
            kw["geo_country"], kw["geo_subdivision"] = country, sub or None
            if not sub:
                kw["geo_country"] = country
    elif kind == "geoproximity":
        kw["geoprox_lat"] = draw(st.floats(-60, 60))
        kw["geoprox_lon"] = draw(st.floats(-170, 170))
        kw["geoprox_bias"] = draw(st.integers(-99, 99))
    elif kind == "cidr":
        kw["cidr_collection"] = "c1"
        kw["cidr_location"] = draw(st.sampled_from(["a", "b", "c", "*"]))
    return RoutedRRset(OWNER, TYPE_A, 60, [ip], **kw)


@st.composite
def scenario(draw):
    kind = draw(st.sampled_from(["weighted", "failover", "multivalue", "latency", "geo",
                                 "geoproximity", "cidr"]))
    n = 2 if kind == "failover" else draw(st.integers(1, 9))
    records = []
    for i in range(n):
        rec = record(kind, i, draw)
        if kind == "cidr" and any(r.cidr_location == rec.cidr_location for r in records):
            continue  # one record set per location
        if kind == "geo" and any((r.geo_continent, r.geo_country, r.geo_subdivision) ==
                                 (rec.geo_continent, rec.geo_country, rec.geo_subdivision) for r in records):
            continue
        records.append(rec)
    down = draw(st.sets(st.integers(0, 8)))
    queries = draw(st.lists(st.tuples(st.sampled_from(CLIENTS), st.booleans(), st.integers(0, 2**32 - 1),
                                      st.integers(0, 65535)), min_size=1, max_size=8))
    return records, down, queries


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_compiled_selection_matches_reference(case):
    from zonefront.core._engine import Image
    from zonefront.ref.engine import RefImage

    records, down, queries = case
    z = Zone(ORIGIN)
    z.add(ORIGIN, TYPE_SOA, 300, name_from_text("ns.example.com.") * 2 + bytes(20))
    z.add(ORIGIN, TYPE_NS, 300, name_from_text("ns.example.com."))
    z.routed += records
    health = HealthTable(64)
    for i in down:
        health.set(f"h{i}", False)
    cidr = {"c1": {"a": ["198.51.100.0/24"], "b": ["198.51.100.128/25", "2001:db8::/32"],
                   "c": ["203.0.113.0/24"]}}
    arrays = compile_zones([z], health, cidr).arrays()
    compiled = Image(arrays).attach(geo=geo_arrays(), health=health)
    ref = RefImage(arrays).attach(geo=geo_arrays(), health=health)
    for client, use_ecs, seed, qid in queries:
        opts = [dns.edns.ECSOption(client, 24 if ":" not in client else 48)] if use_ecs else []
        q = dns.message.make_query("r.example.com", "A", use_edns=0 if use_ecs else None, options=opts)
        q.id = qid
        wire = q.to_wire()
        src = "192.0.2.1" if use_ecs else client
        assert compiled.answer(wire, False, src, seed) == ref.answer(wire, False, src, seed), (client, seed)
