"""outside/aliases.py with a scripted resolver: outside aliases become
records, only the owners that point at a moved target are reported (so the
incremental compiler patches them), the last good answer survives resolver
failures, and EvaluateTargetHealth follows the resolution outcome in the
health table."""
from __future__ import annotations

import dns.message
import pytest

from zonefront import model
from zonefront.health.table import HealthTable
from zonefront.outside import aliases, stub
from zonefront.outside.targets import CLOUDFRONT, RESOLVE_ZONE_ID, is_outside
from zonefront.serving import ServedZones, ZoneSource, merge_changes

A, AAAA = model.TYPE_A, model.TYPE_AAAA


def name(text):
    return model.name_from_text(text)


TARGET = name("d1.cdn.example.")
OTHER = name("other.cdn.example.")


class Script:
    """What the resolver answers now, per (name, type)."""

    def __init__(self):
        self.now = {}
        self.asked = []

    def __call__(self, server, qname, qtype, timeout=2.0):
        self.asked.append((qname, qtype))
        return self.now.get((qname, qtype), stub.Outcome(stub.NXDOMAIN))


@pytest.fixture
def script(monkeypatch):
    s = Script()
    monkeypatch.setattr(stub, "resolve", s)
    return s


def ok(*addrs, ttl=30):
    return stub.Outcome(stub.OK, tuple(bytes(int(x) for x in a.split(".")) for a in addrs), ttl)


def zone(*routed):
    o = name("site.test.")
    z = model.Zone(origin=o, source="/hostedzone/ZSITE", rrsets=model.RRsetMap())
    z.add(o, model.TYPE_SOA, 300, name("ns1.site.test.") + name("h.site.test.")
          + (1).to_bytes(4, "big") + bytes(16))
    z.add(o, model.TYPE_NS, 300, name("ns1.site.test."))
    z.add(name("plain.site.test."), A, 60, bytes([192, 0, 2, 1]))
    z.routed = list(routed)
    return z


def alias(owner, target=TARGET, zone_id=RESOLVE_ZONE_ID, rtype=A, **kw):
    return model.RoutedRRset(name(owner), rtype, 0, alias_name=target, alias_zone=zone_id, **kw)


def test_outside_ids():
    assert is_outside(CLOUDFRONT, set()) and is_outside(RESOLVE_ZONE_ID, {"ZSITE"})
    assert not is_outside("ZSITE", {"ZSITE"}) and not is_outside("ZUNKNOWN123", set())
    assert not is_outside(RESOLVE_ZONE_ID, {RESOLVE_ZONE_ID})  # a hosted zone of ours wins


def test_simple_alias_becomes_records_and_moves_only_its_owner(script):
    script.now[(TARGET, A)] = ok("198.51.100.1", "198.51.100.2", ttl=42)
    f = aliases.OutsideAliases(("127.0.0.1", 53))
    z = zone(alias("site.test."), alias("www.site.test.", zone_id=CLOUDFRONT),
             alias("x.site.test.", zone_id="ZNOTOUTSIDE"))
    (out,), changed = f.apply([z])
    rr = out.get(name("site.test."), A)
    assert rr.ttl == 42 and sorted(rr.rdatas) == [bytes([198, 51, 100, 1]),
                                                  bytes([198, 51, 100, 2])]
    assert out.get(name("www.site.test."), A).rdatas == rr.rdatas
    assert [model.name_to_text(r.owner) for r in out.routed] == ["x.site.test."]  # untouched
    assert out.soa is not None and out.get(name("plain.site.test."), A) is not None
    assert z.get(name("site.test."), A) is None  # the input zone is never changed
    # nothing new: the same output object, nothing reported
    (again,), changed = f.apply([z])
    assert again is out and changed == {}
    # the target moves: a new zone, and just the two owners pointing at it
    script.now[(TARGET, A)] = ok("198.51.100.3")
    assert f.refresh((TARGET, A)) is True
    (moved,), changed = f.apply([z])
    assert moved is not out
    assert changed == {name("site.test."): {name("site.test."), name("www.site.test.")}}
    assert moved.get(name("www.site.test."), A).rdatas == [bytes([198, 51, 100, 3])]


def test_resolver_failure_keeps_the_last_good_answer(script):
    script.now[(TARGET, A)] = ok("198.51.100.1")
    f = aliases.OutsideAliases(("127.0.0.1", 53), min_refresh=1.0)
    z = zone(alias("www.site.test."))
    (out,), _ = f.apply([z])
    script.now[(TARGET, A)] = stub.Outcome(stub.ERROR, detail="timed out")
    for _ in range(3):
        assert f.refresh((TARGET, A)) is False
    (same,), changed = f.apply([z])
    assert same is out and changed == {}
    t = f.targets[(TARGET, A)]
    assert t.failures == 3 and t.rdatas == (bytes([198, 51, 100, 1]),)


def test_never_resolved_stays_an_alias(script):
    script.now[(TARGET, A)] = stub.Outcome(stub.ERROR, detail="refused")
    f = aliases.OutsideAliases(("127.0.0.1", 53))
    z = zone(alias("www.site.test."))
    (out,), _ = f.apply([z])
    assert out is z  # the core answers it NODATA, as before


def test_evaluate_target_health_follows_the_outcome(script):
    health = HealthTable(64)
    script.now[(TARGET, A)] = ok("198.51.100.1")
    script.now[(OTHER, A)] = ok("198.51.100.9")
    f = aliases.OutsideAliases(("127.0.0.1", 53), health=health)
    z = zone(alias("fo.site.test.", set_id="p", failover="PRIMARY", alias_evaluate_health=True),
             alias("fo.site.test.", target=OTHER, set_id="s", failover="SECONDARY"),
             model.RoutedRRset(name("w.site.test."), A, 60, [bytes([192, 0, 2, 7])],
                               set_id="w", weight=1))
    (out,), _ = f.apply([z])
    prim = next(r for r in out.routed if r.set_id == "p")
    sec = next(r for r in out.routed if r.set_id == "s")
    cid = aliases.check_id(TARGET, A)
    assert prim.alias_name is None and prim.rdatas == [bytes([198, 51, 100, 1])]
    assert prim.health_check == cid and sec.health_check is None  # no evaluate, no slot
    assert health.get(cid) is True
    script.now[(TARGET, A)] = stub.Outcome(stub.NXDOMAIN)
    f.refresh((TARGET, A))
    assert health.get(cid) is False  # flipped without a recompile
    (out2,), changed = f.apply([z])
    prim2 = next(r for r in out2.routed if r.set_id == "p")
    assert prim2.rdatas == [] and prim2.health_check == cid
    assert changed == {name("site.test."): {name("fo.site.test.")}}
    script.now[(TARGET, A)] = stub.Outcome(stub.ERROR)  # an outage changes nothing
    f.refresh((TARGET, A))
    assert health.get(cid) is False


def test_a_moved_target_is_patched_not_compiled_whole(script):
    """Through serving.ServedZones, as the control plane publishes."""
    script.now[(TARGET, A)] = ok("198.51.100.1")
    f = aliases.OutsideAliases(("127.0.0.1", 53))
    z = zone(alias("www.site.test."))
    source = ZoneSource([], None)
    source.in_process = True
    s = ServedZones(source)
    zones, changed = f.apply([z])
    s.publish(zones, merge_changes({}, changed))
    full = s.stats["full"]

    def addr():
        q = dns.message.make_query("www.site.test.", "A")
        m = dns.message.from_wire(s.engine.answer(q.to_wire()))
        return [r.to_text() for rr in m.answer for r in rr]

    assert addr() == ["198.51.100.1"]
    script.now[(TARGET, A)] = ok("198.51.100.2")
    f.refresh((TARGET, A))
    zones, changed = f.apply([z])
    s.publish(zones, merge_changes({}, changed))
    assert addr() == ["198.51.100.2"]
    assert s.stats["full"] == full and s.stats["patched"] >= 1
