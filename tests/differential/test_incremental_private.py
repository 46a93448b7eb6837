"""Private zones through the incremental path: a public zone, a private
zone of the same name (split horizon) and a private-only zone take random
change batches published through `ServedZones.publish(zones, changed)`, as
the control plane publishes them; after every batch the served engine
answers every name and type of a query set, from inside the VPC and from
outside it, byte for byte as an engine built from scratch from the same
zones (`build_engine`), in both engines."""
from __future__ import annotations

import dns.message
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zonefront import model
from zonefront.serving import ServedZones, ZoneSource, build_engine

VPCS = {"vpc-1": {"region": "us-east-1", "cidrs": ["10.1.0.0/16"]}}
INSIDE, OUTSIDE = "10.1.0.7", "192.0.2.9"
# (origin, private)
ZONES = (("p.test.", False), ("p.test.", True), ("q.test.", True))
LABELS = ("www", "api", "*", "deep.api")
QNAMES = [f"{label}.{origin}" for origin in ("p.test.", "q.test.")
          for label in ("www", "api", "deep.api", "other", "x.other")] + ["p.test.", "q.test."]
QTYPES = ("A", "CNAME", "SOA")


def _name(text: str) -> bytes:
    return model.name_from_text(text)


def _zone(index: int, records: dict) -> model.Zone:
    origin, private = ZONES[index]
    o = _name(origin)
    z = model.Zone(origin=o, source=f"/hostedzone/Z{index}", private=private,
                   vpcs=[("us-east-1", "vpc-1")] if private else [])
    z.add(o, model.TYPE_SOA, 300, _name("ns1.example.net.") + _name("h.example.net.")
          + (1).to_bytes(4, "big") + bytes(16))
    z.add(o, model.TYPE_NS, 300, _name("ns1.example.net."))
    for (label, rtype), rdata in sorted(records.items()):
        z.add(_name(f"{label}.{origin}"), rtype, 60, rdata)
    return z


# one op: (zone index, label, kind, value); kind "A" upserts an address,
# "CNAME" points the label at www of a zone, "del" deletes what the label has
op_st = st.tuples(st.integers(0, len(ZONES) - 1), st.sampled_from(LABELS),
                  st.sampled_from(("A", "CNAME", "del")), st.integers(1, 250))


def _apply(records: list[dict], op) -> tuple[int, bytes]:
    index, label, kind, value = op
    rec = records[index]
    for key in [k for k in rec if k[0] == label]:
        del rec[key]
    if kind == "A":
        rec[(label, model.TYPE_A)] = bytes([10, 9, index, value])
    elif kind == "CNAME":
        rec[(label, model.TYPE_CNAME)] = _name(f"www.{ZONES[value % len(ZONES)][0]}")
    return index, _name(f"{label}.{ZONES[index][0]}")


def _answers(engine) -> list[bytes]:
    out = []
    for client in (INSIDE, OUTSIDE):
        for qname in QNAMES:
            for qtype in QTYPES:
                q = dns.message.make_query(qname, qtype)
                q.id = 7
                out.append(engine.answer(q.to_wire(), client))
    return out


@pytest.mark.parametrize("pure", [False, True], ids=["compiled", "ref"])
# the engine is chosen once per parametrization, the same for every example
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(op_st, min_size=1, max_size=4), min_size=1, max_size=6))
def test_published_private_views_answer_like_a_full_build(pure, batches, monkeypatch):
    if pure:
        monkeypatch.setenv("ZONEFRONT_PUREPYTHON", "1")
    else:
        monkeypatch.delenv("ZONEFRONT_PUREPYTHON", raising=False)
    source = ZoneSource([], None)
    source.in_process = True
    source.vpcs = lambda: VPCS
    served = ServedZones(source)
    records: list[dict] = [{("www", model.TYPE_A): bytes([10, 9, i, 1])} for i in range(len(ZONES))]
    zones = [_zone(i, records[i]) for i in range(len(ZONES))]
    served.publish(zones, None)
    www = dns.message.make_query("www.p.test.", "A").to_wire()
    # the views are there: inside the VPC www.p.test. is the private zone's
    assert b"\x0a\x09\x01\x01" in served.engine.answer(www, INSIDE)
    assert b"\x0a\x09\x00\x01" in served.engine.answer(www, OUTSIDE)
    for batch in batches:
        changed: dict[bytes, set[bytes]] = {}
        touched = set()
        for op in batch:
            index, owner = _apply(records, op)
            touched.add(index)
            changed.setdefault(_name(ZONES[index][0]), set()).add(owner)
        # a changed zone is a new object, the others the same ones (never mutated)
        zones = [_zone(i, records[i]) if i in touched else zones[i] for i in range(len(ZONES))]
        served.publish(zones, changed)
        fresh = build_engine(zones, None, {}, VPCS).engine
        assert _answers(served.engine) == _answers(fresh), batch
