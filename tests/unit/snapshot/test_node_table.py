"""zoneset.NodeTable: Nodes made from the record-set maps say what one Node
per name said, before and after incremental changes, and only the names
the maps cannot say hold a Node."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zonefront import lightclass
from zonefront.core._engine import Image
from zonefront.model import (
    TYPE_A, TYPE_DNAME, TYPE_DS, TYPE_NS, TYPE_SOA, TYPE_TXT, RoutedRRset, RRset, RRsetMap,
    Zone, name_from_text,
)
from zonefront.snapshot.incremental import IncrementalCompiler, NeedsFullCompile
from zonefront.zoneset import ZoneSet

# a zone inside another: the parent's data at and below the child apex is hidden
ORIGINS = ["example.com.", "sub.example.com.", "example.net."]
LABELS = ["a", "b", "*", "ns", "sub"]
TYPES = ["A", "TXT", "NS", "DNAME", "DS", "WEIGHTED"]


def _names() -> list[str]:
    out = []
    for origin in ORIGINS:
        out.append(origin)
        for a in LABELS:
            out.append(f"{a}.{origin}")
            for b in ("a", "*", "sub"):
                out.append(f"{b}.{a}.{origin}")
                out.append(f"x.{b}.{a}.{origin}")
    return sorted(set(out))


NAMES = _names()
op_st = st.tuples(st.sampled_from(["upsert", "delete"]), st.sampled_from(NAMES),
                  st.sampled_from(TYPES), st.integers(0, 3))


def soa(serial: int) -> bytes:
    return (name_from_text("ns.example.com.") + name_from_text("h.example.com.")
            + serial.to_bytes(4, "big") + bytes(range(1, 17)))


class State:
    """Each zone's (owner, type) -> RRset and routed record sets, changed op by op."""

    def __init__(self) -> None:
        self.rrsets = {o: {} for o in ORIGINS}
        self.routed = {o: {} for o in ORIGINS}
        self.serial = 1

    def apply(self, op) -> tuple[bytes, bytes] | None:
        kind, owner_text, tname, v = op
        # the deepest origin, or (for the hidden-data case) sometimes the parent's
        candidates = [o for o in ORIGINS if owner_text.endswith(o)]
        origin = sorted(candidates, key=len)[-1 if v % 2 == 0 or len(candidates) == 1 else 0]
        owner = name_from_text(owner_text)
        rtype = {"A": TYPE_A, "TXT": TYPE_TXT, "NS": TYPE_NS, "DNAME": TYPE_DNAME,
                 "DS": TYPE_DS, "WEIGHTED": TYPE_A}[tname]
        if owner_text == origin and rtype in (TYPE_NS, TYPE_DNAME, TYPE_DS):
            return None
        rr, routed = self.rrsets[origin], self.routed[origin]
        if kind == "delete":
            rr.pop((owner, rtype), None)
            routed.pop((owner, rtype), None)
        elif tname == "WEIGHTED":
            rr.pop((owner, rtype), None)
            routed[(owner, rtype)] = [RoutedRRset(owner, rtype, 60, [bytes([192, 0, 2, v])],
                                                  set_id="w", weight=v + 1)]
        else:
            routed.pop((owner, rtype), None)
            rdata = {TYPE_A: bytes([192, 0, 2, v]), TYPE_TXT: b"\x01t",
                     TYPE_NS: name_from_text(f"ns{v}.example.net."),
                     TYPE_DNAME: name_from_text("target.example.org."),
                     TYPE_DS: bytes([0, v, 13, 2]) + bytes(32)}[rtype]
            rr[(owner, rtype)] = RRset(owner, rtype, 300, [rdata])
        return name_from_text(origin), owner

    def zones(self, packed: bool = True) -> list[Zone]:
        out = []
        for o in ORIGINS:
            origin = name_from_text(o)
            rrsets = {(origin, TYPE_SOA): RRset(origin, TYPE_SOA, 3600, [soa(self.serial)])}
            rrsets.update(self.rrsets[o])
            z = Zone(origin, RRsetMap(rrsets) if packed else rrsets)
            z.routed = [r for recs in self.routed[o].values() for r in recs]
            out.append(z)
        return out


def _name(node) -> bytes | None:
    return None if node is None else node.name


def view(zs: ZoneSet) -> dict:
    """Every name's Node as the answer rules read it."""
    out = {}
    for name in zs.nodes:
        n = zs.nodes[name]
        assert n.name == name and name not in out
        out[name] = (n.zone.origin, n.is_apex, n.is_cut, _name(n.cut_above),
                     _name(n.dname_above), _name(n.wildcard),
                     None if n.parent_zone is None else n.parent_zone.origin,
                     None if n.parent_ds is None else (n.parent_ds.ttl, n.parent_ds.rdatas),
                     {t: (rs.ttl, list(rs.rdatas)) for t, rs in n.rrsets.items()},
                     {t: list(recs) for t, recs in n.routed.items()})
    return out


def assert_same_nodes(zs: ZoneSet, want: ZoneSet) -> None:
    have, expect = view(zs), view(want)
    assert have == expect
    assert len(zs.nodes) == len(expect)
    for name in NAMES + [name_from_text("nowhere.example.org.")]:
        name = name if isinstance(name, bytes) else name_from_text(name)
        assert (name in zs.nodes) == (name in expect)
        assert (zs.nodes.get(name) is None) == (name not in expect)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op_st, max_size=25))
def test_nodes_from_the_maps_match_a_node_per_name(ops):
    """A ZoneSet over RRsetMap zones (plain names made from the maps) holds
    the same nodes as over plain-dict zones (a Node built for every name)."""
    state = State()
    for op in ops:
        state.apply(op)
    packed = ZoneSet(state.zones())
    assert_same_nodes(packed, ZoneSet(state.zones(packed=False)))
    for node in packed.nodes.kept.values():
        assert not packed.nodes.is_plain(node)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op_st, max_size=15),
       st.lists(st.lists(op_st, min_size=1, max_size=5), min_size=1, max_size=5))
def test_patched_nodes_match_a_fresh_zone_set(base, batches):
    """After each incremental change the compiler's nodes are those of a
    ZoneSet built afresh, and no plain node stays held."""
    state = State()
    for op in base:
        state.apply(op)
    zones = state.zones()
    ic = IncrementalCompiler(zones, Image)
    for batch in batches:
        state.serial += 1
        changed: dict = {}
        for op in batch:
            hit = state.apply(op)
            if hit is not None:
                changed.setdefault(hit[0], set()).add(hit[1])
        new = state.zones()
        for i, z in enumerate(new):
            if z.origin in changed:
                changed[z.origin].add(z.origin)
            else:
                new[i] = zones[i]
        try:
            ic.update(new, changed)
        except NeedsFullCompile:
            ic = IncrementalCompiler(new, Image)
        zones = new
        want = ZoneSet([lightclass.replace(z, rrsets=dict(z.rrsets.items())) for z in new])
        assert_same_nodes(ic.c.zs, want)
        table = ic.c.zs.nodes
        assert table.absent is None and table.cache is None
        for node in table.kept.values():
            assert not table.is_plain(node)


def test_plain_owners_hold_no_node():
    """A zone of plain owners keeps Nodes only for its apex and the empty
    non-terminal above them; a lookup makes one from the map's own value."""
    origin = name_from_text("example.com.")
    rrsets = {(origin, TYPE_SOA): RRset(origin, TYPE_SOA, 3600, [soa(1)])}
    for i in range(500):
        owner = name_from_text(f"h{i}.hosts.example.com.")
        rrsets[(owner, TYPE_A)] = RRset(owner, TYPE_A, 300, [bytes([10, 0, i // 256, i % 256])])
    zone = Zone(origin, RRsetMap(rrsets))
    zs = ZoneSet([zone])
    assert set(zs.nodes.kept) == {origin, name_from_text("hosts.example.com.")}
    assert len(zs.nodes) == 502
    h7 = name_from_text("h7.hosts.example.com.")
    node = zs.nodes[h7]
    assert node.held is zone.rrsets.held(h7) and node.zone is zone
    assert zs.nodes[h7] is not node  # made per lookup
    with zs.cached():
        assert zs.nodes[h7] is zs.nodes[h7]
    assert zs.nodes.cache is None
