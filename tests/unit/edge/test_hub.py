"""The control plane's edge bookkeeping in process: deltas that rebuild the
published zones exactly (and stay small), the history bound, document
versions, and when changes turn INSYNC."""
from __future__ import annotations

import copy
import random
import time

import dns.message
import pytest

from zonefront import model
from zonefront.config import EdgeSettings
from zonefront.edge import documents
from zonefront.control.insync import InsyncGate
from zonefront.edge.hub import EdgeHub
from zonefront.edge.mirror import MirrorHealth
from zonefront.serving import build_engine
from zonefront.health.table import HealthTable


def name(text: str) -> bytes:
    return model.name_from_text(text)


def soa(serial: int) -> bytes:
    return name("ns1.example.net.") + name("h.example.net.") + serial.to_bytes(4, "big") \
        + bytes(16)


def make_zone(origin: str, n: int, zid: str, private: bool = False) -> model.Zone:
    o = name(origin)
    z = model.Zone(origin=o, source=f"/hostedzone/{zid}", private=private)
    z.add(o, model.TYPE_SOA, 300, soa(1))
    z.add(o, model.TYPE_NS, 300, name("ns1.example.net."))
    for i in range(n):
        owner = name(f"h{i}.{origin}")
        z.rrsets[(owner, 1)] = model.RRset(owner, 1, 300, [bytes([10, 0, i >> 8 & 255, i & 255])])
    return z


def patched(z: model.Zone, put=(), remove=(), routed=None) -> model.Zone:
    """A new Zone as store.zones.patch_zone makes it: untouched RRsets shared."""
    rr = {k: v for k, v in z.rrsets.items() if k not in set(remove)}
    for r in put:
        rr[(r.owner, r.rtype)] = r
    return model.Zone(origin=z.origin, source=z.source, private=z.private, vpcs=list(z.vpcs),
                      rrsets=rr, routed=z.routed if routed is None else routed)


def same(zs: documents.EdgeZones, zones: list[model.Zone]) -> None:
    got = zs.zone_list()
    assert [z.source for z in got] == [z.source for z in zones]
    for a, b in zip(got, zones):
        assert (a.origin, a.private, list(a.vpcs)) == (b.origin, b.private, list(b.vpcs))
        assert a.rrsets == b.rrsets
        assert a.routed == b.routed


def hub(**kw) -> EdgeHub:
    return EdgeHub(EdgeSettings(**kw), HealthTable())


def test_deltas_rebuild_the_published_zones():
    rnd = random.Random(7)
    h = hub()
    zones = [make_zone("a.test.", 50, "A"), make_zone("b.test.", 20, "B")]
    h.offer(zones)
    _s, blob = h.zones_doc()
    first = documents.loads_zones(blob)
    same(first, zones)
    edge = first
    copies = {first.serial: first}
    for step in range(30):
        zones = list(zones)
        i = rnd.randrange(len(zones))
        z = zones[i]
        keys = list(z.rrsets)
        what = rnd.choice(["put", "remove", "routed", "newzone", "dropzone", "private"])
        if what == "put":
            owner = name(f"n{step}.{model.name_to_text(z.origin)}")
            zones[i] = patched(z, put=[model.RRset(owner, 16, 60, [b"\x03abc"])])
        elif what == "remove" and len(keys) > 3:
            zones[i] = patched(z, remove=[keys[-1]])
        elif what == "routed":
            r = model.RoutedRRset(owner=name(f"w.{model.name_to_text(z.origin)}"), rtype=1,
                                  ttl=60, rdatas=[bytes([192, 0, 2, step])],
                                  set_id=f"s{step}", weight=step)
            zones[i] = patched(z, routed=[*z.routed, r])
        elif what == "newzone":
            zones.append(make_zone(f"z{step}.test.", 5, f"Z{step}"))
        elif what == "dropzone" and len(zones) > 1:
            del zones[i]
        elif what == "private":
            c = copy.copy(z)
            c.private = not z.private
            c.vpcs = [("us-east-1", "vpc-1")] if c.private else []
            zones[i] = c
        h.offer(zones)
        # one step at a time ...
        edge = documents.apply_delta(edge, h.delta_doc(edge.serial, edge.epoch))
        same(edge, zones)
        copies[edge.serial] = edge
    # ... or many at once, from any serial still in the history
    for since in sorted(copies)[::7]:
        same(documents.apply_delta(copies[since], h.delta_doc(since, h.epoch)), zones)
    assert documents.unpack(h.delta_doc(h.serial, h.epoch), documents.DELTA_MAGIC)["zones"] == []


def test_one_record_change_in_a_big_zone_is_a_small_delta():
    h = hub()
    z = make_zone("big.test.", 100_000, "BIG")
    h.offer([z])
    since = h.serial
    owner = name("h5.big.test.")
    h.offer([patched(z, put=[model.RRset(owner, 1, 300, [b"\xc0\x00\x02\x05"])])])
    blob = h.delta_doc(since, h.epoch)
    assert len(blob) < 1024, len(blob)
    doc = documents.unpack(blob, documents.DELTA_MAGIC)
    assert doc["zones"][0]["op"] == "patch" and len(doc["zones"][0]["put"]) == 1


def test_history_is_bounded_and_epochs_do_not_mix():
    h = hub(history=3)
    z = make_zone("a.test.", 3, "A")
    serials = [h.offer([z])]
    for i in range(5):
        z = patched(z, put=[model.RRset(name(f"x{i}.a.test."), 1, 60, [b"\x01\x02\x03\x04"])])
        serials.append(h.offer([z]))
    assert h.delta_doc(serials[0], h.epoch) is None  # fell out of the history
    assert h.delta_doc(serials[-3], h.epoch) is not None
    assert h.delta_doc(serials[-3], "another-epoch") is None
    assert serials == sorted(set(serials))


def test_documents_carry_a_version():
    h = hub()
    h.offer([make_zone("a.test.", 1, "A")])
    _s, blob = h.zones_doc()
    doc = documents.unpack(blob, documents.ZONES_MAGIC)
    doc["version"] = 99
    with pytest.raises(documents.FormatError, match="version 99"):
        documents.loads_zones(documents.pack(doc))
    with pytest.raises(documents.FormatError):
        documents.loads_zones(b"\x93\x01\x02\x03")
    with pytest.raises(documents.FormatError):
        documents.apply_delta(documents.loads_zones(blob),
                              documents.pack({"magic": documents.DELTA_MAGIC, "version": 1,
                                              "epoch": h.epoch, "from": 1, "serial": 2}))


def test_insync_waits_for_live_edges_only():
    """The control plane's gate (control/insync.py) over the hub's reports."""
    done = []
    h = EdgeHub(EdgeSettings(stale_after=0.3), HealthTable())
    gate = InsyncGate(done.append, h)
    h.on_report = gate.evaluate
    z = make_zone("a.test.", 1, "A")
    gate.served(1, h.offer([z]))
    assert done == [1]  # no edges: INSYNC when the control plane serves it
    h.heartbeat("e1", {"epoch": h.epoch, "serial": h.serial})
    h.heartbeat("e2", {"epoch": h.epoch, "serial": h.serial})
    s2 = h.offer([patched(z, put=[model.RRset(name("b.a.test."), 1, 60, [bytes(4)])])])
    gate.served(2, s2)
    assert done == [1]
    h.heartbeat("e1", {"epoch": h.epoch, "serial": s2})
    assert done == [1]
    h.heartbeat("e2", {"epoch": "old-epoch", "serial": s2 + 10})  # another epoch: behind
    assert done == [1]
    h.heartbeat("e2", {"epoch": h.epoch, "serial": s2})
    assert done == [1, 2]
    gate.served(3, h.offer([z]))
    assert done == [1, 2]
    time.sleep(0.35)  # both go stale: the hub's tick reports it
    h._tick_served()
    assert done == [1, 2, 3]
    assert {e["State"] for e in h.list()} == {"STALE"}


def test_edge_compile_answers_like_the_control_plane():
    """An edge compiles with the control plane's health slots and answers
    byte for byte as the control plane's own image does."""
    from zonefront.core.engine import Engine
    from zonefront.snapshot import format as snapshot_format

    table = HealthTable()
    z = make_zone("r.test.", 10, "R")
    owner = name("f.r.test.")
    z.routed = [model.RoutedRRset(owner=owner, rtype=1, ttl=60, rdatas=[bytes([192, 0, 2, 1])],
                                  set_id="p", failover="PRIMARY", health_check="hc-1"),
                model.RoutedRRset(owner=owner, rtype=1, ttl=60, rdatas=[bytes([192, 0, 2, 2])],
                                  set_id="s", failover="SECONDARY")]
    table.slot("hc-0")  # the control plane's slots need not start at 0
    h = EdgeHub(EdgeSettings(), table)
    h.offer([z])
    arrays, meta = snapshot_format.loads(h.snapshot_doc()[1])
    cp = Engine(arrays, meta["zones"]).attach(health=table)
    zs = documents.loads_zones(h.zones_doc()[1])
    mirror = MirrorHealth()
    mirror.slots = zs.slots
    edge = build_engine(zs.zone_list(), mirror, zs.cidr, zs.vpcs).engine
    for healthy in (True, False):
        table.set("hc-1", healthy)
        mirror.update(documents.loads_health(h.health_doc()[1])["buffer"])
        for qname in ("f.r.test.", "h3.r.test.", "nx.r.test.", "r.test."):
            q = dns.message.make_query(qname, "A")
            q.id = 4242
            wire = q.to_wire()
            assert edge.answer(wire, "192.0.2.99") == cp.answer(wire, "192.0.2.99")
        a = dns.message.from_wire(edge.answer(
            dns.message.make_query("f.r.test.", "A").to_wire(), "192.0.2.99"))
        assert a.answer[0][0].to_text() == ("192.0.2.1" if healthy else "192.0.2.2")


def test_public_dns_fallback_set_travels_in_zones_and_deltas():
    """Issue 17: an edge builds its private views with the control plane's
    public DNS fallback zones, from the full document and from a delta."""
    fallback = {"ids": frozenset()}
    hub = EdgeHub(EdgeSettings(), fallback=lambda: fallback["ids"])
    zones = [make_zone("a.test.", 2, "ZA"), make_zone("a.test.", 1, "ZP", private=True)]
    hub.offer(zones)
    _serial, blob = hub.zones_doc()
    first = documents.loads_zones(blob)
    assert first.fallback == frozenset()
    fallback["ids"] = frozenset({"ZP"})
    hub.offer(zones)  # only the feature changed
    zs = documents.apply_delta(first, hub.delta_doc(first.serial, first.epoch))
    assert zs.fallback == frozenset({"ZP"})
    assert documents.loads_zones(hub.zones_doc()[1]).fallback == frozenset({"ZP"})
    # a later delta that does not change it keeps it
    hub.offer([patched(zones[0], remove=[(name("h0.a.test."), 1)]), zones[1]])
    assert documents.apply_delta(zs, hub.delta_doc(zs.serial, zs.epoch)).fallback == {"ZP"}

def test_traffic_policy_rule_trees_reach_edges_whole():
    """A routed record set's rule subtree (Traffic Flow) is packed with it,
    in the full zones document and in a delta."""
    from zonefront.trafficflow import compile_document

    doc = {"AWSPolicyFormatVersion": "2015-10-01", "RecordType": "A",
           "Endpoints": {"a": {"Type": "value", "Value": "192.0.2.1"},
                         "b": {"Type": "value", "Value": "192.0.2.2"}},
           "Rules": {"g": {"RuleType": "geo", "Locations": [
               {"Country": "US", "RuleReference": "w"},
               {"IsDefault": True, "EndpointReference": "b"}]},
               "w": {"RuleType": "weighted", "Items": [
                   {"Weight": "2", "EndpointReference": "a", "HealthCheck": "hc-tp"},
                   {"Weight": "1", "EndpointReference": "b"}]}},
           "StartRule": "g"}
    h = hub()
    z = make_zone("tp.test.", 3, "TP")
    z.routed = compile_document(doc, name("www.tp.test."), 60)
    h.offer([z])
    _s, blob = h.zones_doc()
    first = documents.loads_zones(blob)
    same(first, [z])
    assert first.zone_list()[0].routed[0].children[0].health_check == "hc-tp"
    doc["Endpoints"]["a"]["Value"] = "192.0.2.7"
    z2 = patched(z, routed=compile_document(doc, name("www.tp.test."), 60))
    h.offer([z2])
    same(documents.apply_delta(first, h.delta_doc(first.serial, first.epoch)), [z2])
