"""Property test: nested routing decisions (traffic policy rule trees) chosen
by the compiled core and by the reference twin, byte for byte.

A rule's candidate leads to another rule (`RoutedRRset.children`); the
compiler makes one pset per rule, and both engines walk them with the same
health fallbacks (a rule is healthy while a leaf under it is)."""
import importlib.util
import pathlib

import dns.edns
import dns.message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zonefront.health.table import HealthTable
from zonefront.model import TYPE_A, TYPE_NS, TYPE_SOA, RoutedRRset, Zone
from zonefront.snapshot.compiler import compile_zones
from zonefront.zoneset import Choice, ZoneSet

_spec = importlib.util.spec_from_file_location(
    "_policy_property", pathlib.Path(__file__).with_name("test_policy_property.py"))
_pp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_pp)
CLIENTS, ORIGIN, OWNER, geo_arrays, record = (_pp.CLIENTS, _pp.ORIGIN, _pp.OWNER,
                                              _pp.geo_arrays, _pp.record)

KINDS = ["weighted", "failover", "latency", "geo", "geoproximity", "multivalue"]


@st.composite
def rule(draw, depth, counter):
    """A list of competing record sets; some lead to a sub-rule."""
    kind = draw(st.sampled_from(KINDS if depth > 0 else ["weighted", "failover", "geo"]))
    n = 2 if kind == "failover" else draw(st.integers(1, 4))
    out = []
    for i in range(n):
        rec = record(kind, i, draw)
        if kind == "geo" and any((r.geo_continent, r.geo_country, r.geo_subdivision) ==
                                 (rec.geo_continent, rec.geo_country, rec.geo_subdivision)
                                 for r in out):
            continue
        counter[0] += 1
        rec.rdatas = [bytes([10, counter[0] // 256, counter[0] % 256, 1])]
        rec.health_check = f"h{counter[0] % 12}" if draw(st.booleans()) else None
        if kind != "multivalue" and depth < 3 and draw(st.booleans()):
            rec.children = draw(rule(depth + 1, counter))
            rec.rdatas = []
        out.append(rec)
    return out


@st.composite
def scenario(draw):
    records = draw(rule(0, [0]))
    down = draw(st.sets(st.integers(0, 11)))
    queries = draw(st.lists(st.tuples(st.sampled_from(CLIENTS), st.booleans(),
                                      st.integers(0, 2**32 - 1), st.integers(0, 65535)),
                            min_size=1, max_size=8))
    return records, down, queries


def zone_with(records):
    z = Zone(ORIGIN)
    z.add(ORIGIN, TYPE_SOA, 300, ORIGIN * 2 + bytes(20))
    z.add(ORIGIN, TYPE_NS, 300, ORIGIN)
    z.routed += records
    return z


def depth_of(tree):
    if not isinstance(tree, Choice):
        return 0
    return 1 + max((depth_of(o) for o in tree.options), default=0)


def test_rule_tree_resolves_to_nested_choices():
    """A rule under a candidate is a Choice under that option, not a
    flattened list of every path."""
    leaf = RoutedRRset(OWNER, TYPE_A, 60, [bytes([10, 0, 0, 1])], weight=1)
    sub = [RoutedRRset(OWNER, TYPE_A, 60, [bytes([10, 0, 0, 2])], failover="PRIMARY"),
           RoutedRRset(OWNER, TYPE_A, 60, [bytes([10, 0, 0, 3])], failover="SECONDARY")]
    top = [leaf, RoutedRRset(OWNER, TYPE_A, 60, [], weight=2, children=sub)]
    tree = ZoneSet([zone_with(top)]).resolve(OWNER, TYPE_A)
    assert isinstance(tree, Choice) and tree.kind == "weighted"
    assert len(tree.options) == 2 and depth_of(tree) == 2
    assert tree.options[1].kind == "failover" and len(tree.options[1].options) == 2


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_compiled_tree_selection_matches_reference(case):
    from zonefront.core._engine import Image

    from zonefront.ref.engine import RefImage

    records, down, queries = case
    health = HealthTable(64)
    for i in down:
        health.set(f"h{i}", False)
    arrays = compile_zones([zone_with(records)], health, {}).arrays()
    compiled = Image(arrays).attach(geo=geo_arrays(), health=health)
    ref = RefImage(arrays).attach(geo=geo_arrays(), health=health)
    for client, use_ecs, seed, qid in queries:
        opts = [dns.edns.ECSOption(client, 24 if ":" not in client else 48)] if use_ecs else []
        q = dns.message.make_query("r.example.com", "A", use_edns=0 if use_ecs else None,
                                   options=opts)
        q.id = qid
        wire = q.to_wire()
        src = "192.0.2.1" if use_ecs else client
        assert compiled.answer(wire, False, src, seed) == ref.answer(wire, False, src, seed), \
            (client, seed)
