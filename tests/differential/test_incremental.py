"""Patched images answer like a full compile of the same zones.

Random zones take random sequences of change batches (creates, deletes and
upserts of plain and weighted records, wildcards, delegations with glue,
DS records made and removed at delegations, CNAME and DNAME chains within
and across zones); after every batch the
incrementally patched image must answer every name and type of a query set
byte for byte as an image compiled from scratch, in both engines.  Every
batch raises the SOA serial, as a committed change batch does.
"""
from zonefront import lightclass
import socket

import dns.message
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zonefront.model import (
    TYPE_A, TYPE_AAAA, TYPE_CNAME, TYPE_DNAME, TYPE_DS, TYPE_MX, TYPE_NS, TYPE_SOA, TYPE_TXT,
    RoutedRRset, RRset, RRsetMap, Zone, name_from_text,
)
from zonefront.snapshot.compiler import compile_zones
from zonefront.snapshot.handoff import ForkedCompile
from zonefront.snapshot.incremental import IncrementalCompiler, NeedsFullCompile

ORIGINS = ["example.com.", "example.net."]
LABELS = ["a", "b", "www", "*", "ns", "sub"]
TYPES = ["A", "AAAA", "TXT", "MX", "CNAME", "NS", "DNAME", "WEIGHTED", "DS"]
QTYPES = ["A", "AAAA", "TXT", "MX", "CNAME", "NS", "DS", "ANY", "SOA"]


def soa(serial: int) -> bytes:
    return (name_from_text("ns.example.com.") + name_from_text("h.example.com.")
            + serial.to_bytes(4, "big") + bytes(range(1, 17)))


def names_of(origin: str) -> list[str]:
    out = [origin]
    for a in LABELS:
        out.append(f"{a}.{origin}")
        for b in ("a", "sub"):
            out.append(f"{a}.{b}.{origin}")
    return out


ALL_NAMES = [n for o in ORIGINS for n in names_of(o)]
name_st = st.sampled_from(ALL_NAMES)
op_st = st.tuples(st.sampled_from(["upsert", "delete"]), name_st, st.sampled_from(TYPES),
                  st.integers(0, 3), name_st)


class State:
    """The desired content of each zone: (owner, type) -> RRset, routed."""

    def __init__(self):
        self.rrsets = {o: {} for o in ORIGINS}
        self.routed = {o: {} for o in ORIGINS}  # (owner, type) -> [RoutedRRset]
        self.serial = 1

    def zone_of(self, name: str) -> str:
        return max((o for o in ORIGINS if name.endswith(o)), key=len)

    def apply(self, op) -> tuple[str, bytes] | None:
        kind, owner_text, tname, v, target_text = op
        origin = self.zone_of(owner_text)
        owner, target = name_from_text(owner_text), name_from_text(target_text)
        rr, routed = self.rrsets[origin], self.routed[origin]
        is_apex = owner_text == origin
        rtype = TYPE_A if tname == "WEIGHTED" else {
            "A": TYPE_A, "AAAA": TYPE_AAAA, "TXT": TYPE_TXT, "MX": TYPE_MX, "CNAME": TYPE_CNAME,
            "NS": TYPE_NS, "DNAME": TYPE_DNAME, "DS": TYPE_DS}[tname]
        if is_apex and rtype in (TYPE_CNAME, TYPE_DNAME, TYPE_NS, TYPE_DS):
            return None
        if kind == "delete":
            rr.pop((owner, rtype), None)
            routed.pop((owner, rtype), None)
            if rtype == TYPE_NS:  # a DS stands only at a delegation (the API refuses it alone)
                rr.pop((owner, TYPE_DS), None)
            return origin, owner
        # CNAME stands alone at its owner (the API refuses anything else)
        others = [k for k in list(rr) + list(routed) if k[0] == owner and k[1] != rtype]
        if rtype == TYPE_CNAME:
            for k in others:
                rr.pop(k, None)
                routed.pop(k, None)
        elif any(k[1] == TYPE_CNAME for k in others):
            return None
        if tname == "WEIGHTED":
            rr.pop((owner, rtype), None)
            recs = routed.setdefault((owner, rtype), [])
            set_id = f"w{v}"
            recs[:] = [r for r in recs if r.set_id != set_id]
            recs.append(RoutedRRset(owner, rtype, 60, [bytes([192, 0, 2, 100 + v])],
                                    set_id=set_id, weight=v + 1))
            recs.sort(key=lambda r: r.set_id)
            return origin, owner
        routed.pop((owner, rtype), None)
        if rtype == TYPE_DS and (owner, TYPE_NS) not in rr:
            # a DS makes the delegation it belongs to: a secure cut in one change
            rr[(owner, TYPE_NS)] = RRset(owner, TYPE_NS, 300, [target])
        if rtype == TYPE_A:
            rdatas = [bytes([192, 0, 2, v]), bytes([198, 51, 100, v])][: 1 + v % 2]
        elif rtype == TYPE_AAAA:
            rdatas = [bytes(15) + bytes([v])]
        elif rtype == TYPE_TXT:
            rdatas = [bytes([3]) + b"t%02d" % v]
        elif rtype == TYPE_MX:
            rdatas = [bytes([0, v]) + target]
        elif rtype == TYPE_DS:  # key tag v, ECDSAP256SHA256, SHA-256
            rdatas = [bytes([0, v, 13, 2]) + bytes([v]) * 32]
        elif rtype == TYPE_DNAME and v % 2 == 0:
            rdatas = [name_from_text("target.example.org.")]
        else:
            rdatas = [target]
        rr[(owner, rtype)] = RRset(owner, rtype, 300, rdatas)
        return origin, owner

    def zones(self) -> list[Zone]:
        out = []
        for o in ORIGINS:
            origin = name_from_text(o)
            z = Zone(origin, RRsetMap())  # as the API's zone cache makes them
            z.add(origin, TYPE_SOA, 3600, soa(self.serial))
            z.add(origin, TYPE_NS, 3600, name_from_text("ns.example.com."))
            z.rrsets.update(self.rrsets[o])
            z.routed = [r for recs in self.routed[o].values() for r in recs]
            out.append(z)
        return out


def queries():
    out = []
    for name in ALL_NAMES + [f"zz.{n}" for n in ALL_NAMES[:8]] + ["q.x.example.net."]:
        for qtype in QTYPES:
            out.append(dns.message.make_query(name, qtype).to_wire())
    return out


QUERIES = queries()


def engines():
    from zonefront.core._engine import Image
    from zonefront.ref.engine import RefImage

    return [("compiled", Image), ("ref", RefImage)]


def apply_batch(state, batch, zones) -> tuple[list, dict]:
    """`batch` applied to `state`, as a committed change batch: the serial
    raised; returns the zones to serve (those the batch did not touch handed
    over as the same objects, `zones`' own) and origin -> touched names."""
    state.serial += 1
    changed: dict = {}
    for op in batch:
        hit = state.apply(op)
        if hit is not None:
            changed.setdefault(name_from_text(hit[0]), set()).add(hit[1])
    new_zones = state.zones()
    for i, z in enumerate(new_zones):
        if z.origin not in changed:
            new_zones[i] = zones[i]
        else:
            changed[z.origin].add(z.origin)  # the serial moved
    return new_zones, changed


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(op_st, max_size=12), st.lists(st.lists(op_st, min_size=1, max_size=5),
                                               min_size=1, max_size=5), st.booleans())
def test_patched_image_answers_like_a_full_compile(base_ops, batches, forked):
    """`forked`: every full compile runs in a child and is handed back
    (snapshot/handoff.py), as the control plane compiles big zone sets."""
    def compiler(zones, image_class):
        full = ForkedCompile() if forked else None
        ic = IncrementalCompiler(zones, image_class, full=full)
        assert full is None or full.forked  # handed back, not compiled here after a failure
        return ic

    state = State()
    for op in base_ops:
        state.apply(op)
    for label, image_class in engines():
        st_ = State()
        st_.rrsets = {o: dict(v) for o, v in state.rrsets.items()}
        st_.routed = {o: {k: list(r) for k, r in v.items()} for o, v in state.routed.items()}
        zones = st_.zones()
        ic = compiler(zones, image_class)
        # an edge's copy: the streams as they are, then the same patches
        mirror = image_class(ic.image.export_arrays(compact=False), growable=True)
        for batch in batches:
            new_zones, changed = apply_batch(st_, batch, zones)
            try:
                patched = ic.update(new_zones, changed)
                mirror = mirror.patch(*ic.last_patch_args)
            except NeedsFullCompile:
                ic = compiler(new_zones, image_class)
                patched = ic.image
                mirror = image_class(ic.image.export_arrays(compact=False), growable=True)
            full = image_class(compile_zones(new_zones).arrays())
            # what an edge saves and a restart loads: the live records exported
            exported = image_class(patched.export_arrays())
            for wire in QUERIES:
                want = full.answer(wire)
                assert patched.answer(wire) == want, (label, dns.message.from_wire(wire).question)
                assert exported.answer(wire) == want, (label, dns.message.from_wire(wire).question)
                assert mirror.answer(wire) == want, (label, dns.message.from_wire(wire).question)
            zones = new_zones


def test_a_one_name_change_compiles_one_name():
    """A change to one address recompiles that name and the apex (its serial
    moved), not the zone."""
    from zonefront.core._engine import Image

    state = State()
    for i in range(200):
        state.rrsets["example.com."][(name_from_text(f"h{i}.example.com."), TYPE_A)] = RRset(
            name_from_text(f"h{i}.example.com."), TYPE_A, 300, [bytes([10, 0, i // 256, i % 256])])
    zones = state.zones()
    ic = IncrementalCompiler(zones, Image)
    owner = name_from_text("h7.example.com.")
    state.rrsets["example.com."][(owner, TYPE_A)] = RRset(owner, TYPE_A, 300, [socket.inet_aton("192.0.2.77")])
    state.serial += 1
    new = state.zones()
    new[1] = zones[1]
    image = ic.update(new, {new[0].origin: {owner, new[0].origin}})
    assert ic.last_patch["names"] == 2
    reply = dns.message.from_wire(image.answer(dns.message.make_query("h7.example.com.", "A").to_wire()))
    assert reply.answer[0][0].address == "192.0.2.77"
    nx = dns.message.from_wire(image.answer(dns.message.make_query("nope.example.com.", "A").to_wire()))
    assert nx.authority[0][0].serial == 2


def test_what_cannot_be_patched_is_refused_before_anything_changes():
    from zonefront.core._engine import Image

    state = State()
    zones = state.zones()
    ic = IncrementalCompiler(zones, Image)
    before = ic.image
    extra = Zone(name_from_text("example.org."))
    with pytest.raises(NeedsFullCompile):
        ic.update(zones + [extra], {})
    # a zone that moved without a list of its changed names
    moved = [lightclass.replace(zones[0]), zones[1]]
    with pytest.raises(NeedsFullCompile):
        ic.update(moved, {zones[0].origin: None})
    # a plain dict cannot say which types an owner has without a scan
    plain = [lightclass.replace(zones[0], rrsets=dict(zones[0].rrsets)), zones[1]]
    with pytest.raises(NeedsFullCompile):
        ic.update(plain, {zones[0].origin: {zones[0].origin}})
    assert ic.image is before and not ic.broken
