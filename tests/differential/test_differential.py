"""The compiled core against its twins, on generated zones and queries.

1. compiled vs ref/engine.py: identical bytes for every packet (both read the
   same compiled image, so any difference is a bug in one of the two).
2. image vs zoneset.resolve (the executable specification): after decoding
   with dnspython, the same rcode, AA and sections, so the compiler's
   precomputed, relocated blocks say what the rules say for each qname.
"""
import random

import dns.flags
import dns.message
import dns.rdatatype
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from zonefront.model import (
    TYPE_A, TYPE_AAAA, TYPE_CNAME, TYPE_DNAME, TYPE_MX, TYPE_NS, TYPE_SOA, TYPE_TXT,
    Zone, name_from_text, name_lower,
)
from zonefront.snapshot.compiler import compile_zones
from zonefront.zoneset import QNAME, ZoneSet

LABELS = ["a", "b", "c", "www", "*", "mail", "x-y"]
ORIGIN = name_from_text("example.com.")


def soa_rdata():
    return name_from_text("ns.example.com.") + name_from_text("h.example.com.") + bytes(range(1, 21))


def name_strategy():
    return st.lists(st.sampled_from(LABELS), min_size=0, max_size=3).map(
        lambda labs: name_from_text(".".join(labs + ["example.com."])) if labs else ORIGIN)


record = st.tuples(
    name_strategy(),
    st.sampled_from([TYPE_A, TYPE_AAAA, TYPE_TXT, TYPE_MX, TYPE_CNAME, TYPE_NS, TYPE_DNAME]),
    st.integers(0, 3),
    name_strategy(),
)


def build_zone(records) -> Zone:
    z = Zone(ORIGIN)
    z.add(ORIGIN, TYPE_SOA, 3600, soa_rdata())
    z.add(ORIGIN, TYPE_NS, 3600, name_from_text("ns.example.com."))
    z.add(name_from_text("ns.example.com."), TYPE_A, 60, bytes([192, 0, 2, 53]))
    owners_with_cname = set()
    owners_with_data = set()
    for owner, rtype, v, target in records:
        if owner == ORIGIN and rtype in (TYPE_CNAME, TYPE_DNAME, TYPE_NS):
            continue
        if rtype == TYPE_CNAME:
            if owner in owners_with_data or owner in owners_with_cname:
                continue
            owners_with_cname.add(owner)
            z.add(owner, rtype, 300, target)
            continue
        if owner in owners_with_cname:
            continue
        owners_with_data.add(owner)
        if rtype == TYPE_A:
            z.add(owner, rtype, 300, bytes([192, 0, 2, v]))
        elif rtype == TYPE_AAAA:
            z.add(owner, rtype, 300, bytes(15) + bytes([v]))
        elif rtype == TYPE_TXT:
            z.add(owner, rtype, 300, bytes([3]) + b"t%02d" % v)
        elif rtype == TYPE_MX:
            z.add(owner, rtype, 300, bytes([0, v]) + target)
        elif rtype == TYPE_NS:
            z.add(owner, rtype, 300, target)
        elif rtype == TYPE_DNAME and z.get(owner, TYPE_DNAME) is None:
            # half the DNAMEs point back into the zone, so their answers are chased
            z.add(owner, rtype, 300, target if v % 2 else name_from_text("target.example.net."))
    return z


QTYPES = ["A", "AAAA", "TXT", "MX", "CNAME", "NS", "DS", "ANY", "DNAME", "SOA"]


def query_names():
    extra = ["zz", "q.a", "q.*", "p.q.b"]
    return st.lists(st.sampled_from(LABELS + extra), min_size=0, max_size=4).map(
        lambda labs: ".".join([l.upper() if i % 2 else l for i, l in enumerate(labs)] + ["example.com."]))


def answer_both(arrays, wire, tcp=False):
    from zonefront.core._engine import Image
    from zonefront.ref.engine import RefImage

    return Image(arrays).answer(wire, tcp), RefImage(arrays).answer(wire, tcp)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(record, max_size=14), st.lists(st.tuples(query_names(), st.sampled_from(QTYPES),
       st.booleans()), min_size=1, max_size=12))
def test_compiled_matches_reference_bytes(records, queries):
    from zonefront.core._engine import Image
    from zonefront.ref.engine import RefImage

    arrays = compile_zones([build_zone(records)]).arrays()
    compiled, ref = Image(arrays), RefImage(arrays)
    for name, qtype, edns in queries:
        wire = dns.message.make_query(name, qtype, use_edns=0 if edns else None).to_wire()
        for tcp in (False, True):
            assert compiled.answer(wire, tcp) == ref.answer(wire, tcp), (name, qtype)


def section_set(rrsets):
    return sorted((r.name.to_text().lower(), r.rdtype, r.ttl, rd.to_text().lower()) for r in rrsets for rd in r)


def expected_sections(zs, qname_wire, qname_text, res):
    def conv(rr):
        owner = qname_text.lower() if rr.owner == QNAME else dns.name.from_wire(rr.owner, 0)[0].to_text().lower()
        rdata = dns.rdata.from_wire(1, rr.rtype, rr.rdata, 0, len(rr.rdata))
        return (owner, rr.rtype, rr.ttl, rdata.to_text().lower())
    answer = [conv(rr) for rr in res.answer]
    return res.rcode, sorted(answer), sorted(conv(rr) for rr in res.authority), sorted(conv(rr) for rr in res.additional)


# the chase after DNAME substitution comes back to the DNAME owner, directly
# (a.a -> a) or through a CNAME (b.a -> b -> a), for qtype ANY or DNAME: the
# DNAME is given once (RFC 2181 §5); it used to be repeated, which dnspython
# merges into one RRset
DNAME_TO_PARENT = (name_from_text("a.example.com."), TYPE_DNAME, 1, ORIGIN)
B_TO_A = (name_from_text("b.example.com."), TYPE_CNAME, 1, name_from_text("a.example.com."))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(record, max_size=14), st.lists(st.tuples(query_names(), st.sampled_from(QTYPES)),
       min_size=1, max_size=12))
@example([DNAME_TO_PARENT], [("a.A.example.com.", "ANY")])
@example([DNAME_TO_PARENT, B_TO_A], [("b.A.example.com.", "DNAME"), ("a.a.example.com.", "DNAME"),
                                     ("b.a.example.com.", "ANY"), ("a.a.example.com.", "A")])
def test_image_matches_specification(records, queries):
    from zonefront.ref.engine import RefImage

    zone = build_zone(records)
    zs = ZoneSet([zone])
    image = RefImage(compile_zones([zone]).arrays())
    for name, qtype in queries:
        q = dns.message.make_query(name, qtype)
        m = dns.message.from_wire(image.answer(q.to_wire(), True))
        qname_wire = name_lower(q.question[0].name.to_wire())
        res = zs.resolve(qname_wire, dns.rdatatype.from_text(qtype))
        rcode, answer, authority, additional = expected_sections(zs, qname_wire, name, res)
        assert m.rcode() == rcode, (name, qtype)
        assert bool(m.flags & dns.flags.AA) == (res.aa and rcode != 5), (name, qtype)
        assert section_set(m.answer) == answer, (name, qtype)
        assert section_set(m.authority) == authority, (name, qtype)
        assert section_set(m.additional) == additional, (name, qtype)


def test_mutated_packets_same_bytes_and_no_crash():
    """Thousands of random and mutated packets: the compiled parser never
    crashes or reads past the packet, and agrees with the reference."""
    from zonefront.core._engine import Image
    from zonefront.ref.engine import RefImage

    rnd = random.Random(20261127)
    zone = build_zone([(name_from_text(f"{l}.example.com."), TYPE_A, 1, ORIGIN) for l in LABELS])
    arrays = compile_zones([zone]).arrays()
    compiled, ref = Image(arrays), RefImage(arrays)
    seeds = [dns.message.make_query(n, t, use_edns=e, want_dnssec=bool(e == 0 and i % 2)).to_wire()
             for i, (n, t, e) in enumerate([("www.example.com", "A", None), ("b.example.com", "TXT", 0),
                                            ("x.example.org", "AAAA", 0), ("*.example.com", "MX", None)])]
    seeds.append(dns.message.make_query("a.example.com", "A", use_edns=0, options=[
        dns.edns.ECSOption("10.1.0.0", 16)]).to_wire())
    n = 0
    for _ in range(4000):
        base = bytearray(rnd.choice(seeds))
        op = rnd.random()
        if op < 0.4:
            for _ in range(rnd.randint(1, 5)):
                base[rnd.randrange(len(base))] = rnd.randrange(256)
        elif op < 0.6:
            base = base[: rnd.randrange(len(base) + 1)]
        elif op < 0.8:
            base += bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 20)))
        else:
            base = bytearray(rnd.randrange(256) for _ in range(rnd.randint(0, 64)))
        pkt = bytes(base)
        for tcp in (False, True):
            a = compiled.answer(pkt, tcp)
            assert a == ref.answer(pkt, tcp), pkt.hex()
            if a:
                assert len(a) >= 12 and a[:2] == pkt[:2]
                if not tcp:
                    assert len(a) <= 1232
            n += 1
    assert n == 8000


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(record, max_size=14), st.lists(st.tuples(query_names(), st.sampled_from(QTYPES),
       st.booleans()), min_size=1, max_size=12))
def test_recursive_fallback_defers_the_same_queries(records, queries):
    """A view whose zone's NXDOMAIN is flagged for the recursive fallback
    (fallback.mark_deferred): both engines defer exactly the queries whose
    answer there is that NXDOMAIN (no answer records: not the end of a
    CNAME or DNAME chain), answer the rest byte for byte alike, and answer
    it NXDOMAIN when the caller cannot defer or the client is outside."""
    from zonefront.core._engine import Image
    from zonefront.fallback import mark_deferred
    from zonefront.ref.engine import RefImage

    view = compile_zones([build_zone(records)])
    view_arrays = mark_deferred(view.arrays(), view.zones, {ORIGIN})
    other = Zone(name_from_text("other.test."))
    other.add(other.origin, TYPE_SOA, 3600, soa_rdata())
    pub_arrays = compile_zones([other]).arrays()
    compiled = Image(pub_arrays).set_views([(Image(view_arrays), ["10.0.0.0/8"])])
    ref = RefImage(pub_arrays).set_views([(RefImage(view_arrays), ["10.0.0.0/8"])])
    for name, qtype, edns in queries:
        wire = dns.message.make_query(name, qtype, use_edns=0 if edns else None).to_wire()
        for tcp in (False, True):
            for client in ("10.1.2.3", "192.0.2.1"):
                plain = compiled.answer(wire, tcp, client)
                assert plain == ref.answer(wire, tcp, client)
                got = compiled.answer(wire, tcp, client, deferrable=True)
                assert got == ref.answer(wire, tcp, client, deferrable=True), (name, qtype)
                nxdomain = len(plain) >= 12 and plain[3] & 0xF == 3 and plain[6:8] == b"\0\0"
                assert (got is None) == (nxdomain and client == "10.1.2.3"), (name, qtype)
                if got is not None:
                    assert got == plain


def test_dname_chased_back_to_its_owner_is_not_repeated():
    """Both engines: the DNAME appears once in the answer (the example above,
    by bytes: a.a.example.com ANY is DNAME, CNAME and nothing more)."""
    from zonefront.core._engine import Image
    from zonefront.ref.engine import RefImage

    arrays = compile_zones([build_zone([DNAME_TO_PARENT, B_TO_A])]).arrays()
    for name, qtype, an in [("a.A.example.com.", "ANY", 2), ("a.a.example.com.", "DNAME", 2),
                            ("b.a.example.com.", "DNAME", 3), ("a.a.example.com.", "A", 2),
                            ("c.a.example.com.", "DNAME", 2)]:
        wire = dns.message.make_query(name, qtype).to_wire()
        for tcp in (False, True):
            got = Image(arrays).answer(wire, tcp)
            assert got == RefImage(arrays).answer(wire, tcp), (name, qtype)
            assert int.from_bytes(got[6:8], "big") == an, (name, qtype)
            m = dns.message.from_wire(got)
            assert sum(len(r) for r in m.answer) == an, (name, qtype)


def test_cname_into_a_dname_then_data_is_compiled_with_the_data():
    """x.a -> (DNAME a -> example.com) x -> CNAME y.a -> (DNAME) y, which has an A:
    compiler.chain_qtypes used to stop at the CNAME target below the DNAME, so
    x's A block was the generic 'chain + NODATA' one, without y's A."""
    records = [DNAME_TO_PARENT,
               (name_from_text("x.example.com."), TYPE_CNAME, 1, name_from_text("y.a.example.com.")),
               (name_from_text("y.example.com."), TYPE_A, 1, ORIGIN)]
    test_image_matches_specification.hypothesis.inner_test(records, [("x.a.example.com.", "A")])
