"""A full compile forked and handed back (snapshot/handoff.py) leaves the
incremental compiler exactly as compiling in process does; a corrupt
handoff, a dead, hung or failing child changes nothing and says why; and the
control plane forks only from its size threshold."""
from __future__ import annotations

import os
import signal
import socket
import time
import zlib

import dns.message
import pytest

from zonefront import model
from zonefront.core._engine import Image
from zonefront.errors import ZonefrontError
from zonefront.health.table import HealthTable
from zonefront.model import RoutedRRset, RRsetMap, Zone, name_from_text
from zonefront.serving import ServedZones, ZoneSource
from zonefront.snapshot import handoff
from zonefront.snapshot.compiler import Compiler
from zonefront.snapshot.incremental import DependencyIndex, IncrementalCompiler

COLLECTIONS = {"coll-1": {"office": ["192.0.2.0/24"], "lab": ["2001:db8::/32"]}}


def name(text: str) -> bytes:
    return name_from_text(text)


def soa(serial: int) -> bytes:
    return name("ns.example.com.") + name("h.example.com.") + serial.to_bytes(4, "big") \
        + bytes(range(1, 17))


def rich_zones(serial: int = 1, www: str = "192.0.2.1") -> list[Zone]:
    """Every kind of name whose compile state the handoff must carry: chains
    (dependencies), a delegation with glue (a referral block), a DNAME, a
    wildcard, weighted records with health checks and an IP-based set (a
    CIDR collection), across two zones."""
    com, net = name("example.com."), name("example.net.")
    a = Zone(com, RRsetMap(), source="/hostedzone/Z1")
    a.add(com, model.TYPE_SOA, 3600, soa(serial))
    a.add(com, model.TYPE_NS, 3600, name("ns.example.com."))
    a.add(com, model.TYPE_MX, 300, b"\x00\x0a" + name("mail.example.com."))
    a.add(name("ns.example.com."), model.TYPE_A, 300, socket.inet_aton("192.0.2.53"))
    a.add(name("mail.example.com."), model.TYPE_A, 300, socket.inet_aton("192.0.2.25"))
    a.add(name("www.example.com."), model.TYPE_A, 300, socket.inet_aton(www))
    a.add(name("alias.example.com."), model.TYPE_CNAME, 300, name("www.example.com."))
    a.add(name("far.example.com."), model.TYPE_CNAME, 300, name("x.example.net."))
    a.add(name("sub.example.com."), model.TYPE_NS, 300, name("ns1.sub.example.com."))
    a.add(name("ns1.sub.example.com."), model.TYPE_A, 300, socket.inet_aton("192.0.2.54"))
    a.add(name("old.example.com."), model.TYPE_DNAME, 300, name("example.net."))
    a.add(name("*.wild.example.com."), model.TYPE_TXT, 300, b"\x03any")
    for i in range(40):
        a.add(name(f"h{i}.example.com."), model.TYPE_A, 300, bytes([10, 0, 0, i]))
    a.routed = [
        RoutedRRset(name("lb.example.com."), model.TYPE_A, 60, [bytes([192, 0, 2, 100 + i])],
                    set_id=f"w{i}", weight=i + 1, health_check=f"hc-{i}") for i in range(3)
    ] + [
        RoutedRRset(name("ip.example.com."), model.TYPE_A, 60, [bytes([198, 51, 100, 1])],
                    set_id="office", cidr_collection="coll-1", cidr_location="office"),
        RoutedRRset(name("ip.example.com."), model.TYPE_A, 60, [bytes([198, 51, 100, 2])],
                    set_id="rest", cidr_collection="coll-1", cidr_location="*"),
    ]
    b = Zone(net, RRsetMap(), source="/hostedzone/Z2")
    b.add(net, model.TYPE_SOA, 3600, soa(serial))
    b.add(net, model.TYPE_NS, 3600, name("ns.example.com."))
    b.add(name("x.example.net."), model.TYPE_CNAME, 300, name("alias.example.com."))
    return [a, b]


def state_of(c: Compiler, deps: DependencyIndex) -> dict:
    """What the incremental compiler uses of a full compile, comparable."""
    p = c.b.policy
    return {
        "zone_blocks": dict(c.zone_blocks), "referrals": dict(c.referral_blocks),
        "dname_index": dict(c.dname_index), "negatives": bytes(c.negatives),
        "blocks": c.b.base + len(c.b.blocks), "dnames": c.dname_base * 16 + len(c.dnames),
        "npsets": p.npsets, "cands": p.cand_base * 32 + len(p.cands), "colls": bytes(p.colls),
        "cidr4": bytes(p.cidr4), "cidr6": bytes(p.cidr6), "coll_index": dict(p.coll_index),
        "exact": {k: handoff_set(v) for k, v in deps.exact.items()},
        "under": {k: handoff_set(v) for k, v in deps.under.items()},
    }


def handoff_set(v):
    return {v} if isinstance(v, bytes) else set(v)


def fresh(zones=None, health=None) -> tuple[Compiler, DependencyIndex]:
    return Compiler(zones or rich_zones(), health, COLLECTIONS), DependencyIndex()


def in_process(zones=None, health=None):
    c, deps = fresh(zones, health)
    c.on_trace = deps.add
    image = c.full()
    return c, deps, image


def test_a_forked_compile_hands_back_what_compiling_here_leaves():
    c0, deps0, image0 = in_process()
    c, deps = fresh()
    handed = handoff.compile_forked(c, deps)
    assert handed.arrays().keys() == image0.arrays().keys()
    for k, v in image0.arrays().items():
        assert bytes(handed.arrays()[k]) == bytes(v), k
    assert handed.zones == image0.zones and handed.node_count == image0.node_count
    want, got = state_of(c0, deps0), state_of(c, deps)
    assert got == want
    assert want["referrals"] and want["dname_index"] and want["exact"] and want["coll_index"]
    # the index shares the nodes' own name objects instead of copies
    sources = {s for v in deps.exact.values() for s in handoff_set(v)}
    assert all(s is c.zs.nodes[s].name for s in sources)


def test_health_slots_are_assigned_in_the_parent():
    """A slot the child assigned would exist in its copy of the table only:
    the checkers would write a slot no compiled candidate reads."""
    health = HealthTable(slots=64)
    c, deps = fresh(health=health)
    handed = handoff.compile_forked(c, deps)
    assert sorted(health._slots) == ["hc-0", "hc-1", "hc-2"]
    _c, _deps, image = in_process(health=health)
    assert bytes(handed.arrays()["cands"]) == image.arrays()["cands"]


def test_the_incremental_compiler_patches_a_forked_compile_like_its_own():
    full = handoff.ForkedCompile()
    ic = IncrementalCompiler(rich_zones(), Image, None, COLLECTIONS, full=full)
    assert full.forked
    new = rich_zones(2, "192.0.2.9")
    # www changes; alias (a CNAME to it) and x.example.net. (a chain through
    # alias) are recompiled because the handed-back index says they consult it
    image = ic.update(new, {z.origin: {z.origin, name("www.example.com.")} for z in new})
    for q in ("alias.example.com.", "x.example.net.", "far.example.com."):
        reply = dns.message.from_wire(image.answer(dns.message.make_query(q, "A").to_wire()))
        assert reply.answer[-1][0].address == "192.0.2.9", q
    assert ic.last_patch["names"] >= 5


# ---- a handoff that does not check out -------------------------------------


def written(mutate=None, compiled=None) -> bytes:
    """A handoff as a child writes it (of `compiled`: compiler, index,
    image), mutated."""
    c, deps, image = compiled or in_process()
    fd = os.memfd_create("test-handoff")
    try:
        handoff.write_handoff(fd, c, deps, image)
        data = bytearray(os.pread(fd, os.fstat(fd).st_size, 0))
    finally:
        os.close(fd)
    return bytes(mutate(data) if mutate else data)


def read(data: bytes):
    c, deps = fresh()
    before = state_of(c, deps)
    fd = os.memfd_create("test-handoff")
    try:
        os.write(fd, data)
        try:
            return handoff.read_handoff(fd, c, deps)
        except handoff.HandoffError:
            assert state_of(c, deps) == before  # nothing of the compiler changed
            raise
    finally:
        os.close(fd)


def flip(pos: int):
    def mutate(data: bytearray) -> bytearray:
        data[pos] ^= 0x40
        return data
    return mutate


def test_a_written_handoff_reads_back():
    handed = read(written())
    assert bytes(handed.arrays()["nodes"]) == in_process()[2].nodes


@pytest.mark.parametrize("mutate, why", [
    (flip(handoff.HEAD.size + 200), "checksum"),
    (flip(-1), "checksum"),
    (lambda d: d[:-7], "says"),
    (lambda d: d[:20], "too short"),
    (flip(0), "header"),
    (flip(12), "names"),  # the node count: not this ZoneSet's
])
def test_a_corrupt_handoff_is_refused_and_changes_nothing(mutate, why):
    with pytest.raises(handoff.HandoffError, match=why) as e:
        read(written(mutate))
    assert isinstance(e.value, ZonefrontError)


def test_a_handoff_that_checks_out_but_does_not_fit_is_refused(monkeypatch):
    """The checksum guards the transfer; the contents are checked too (a
    child's fault): the arrays it lists, every name index within the nodes."""
    monkeypatch.setattr(handoff, "ARRAY_NAMES", handoff.ARRAY_NAMES[::-1])
    data = written()
    monkeypatch.undo()
    with pytest.raises(handoff.HandoffError, match="other arrays"):
        read(data)
    # a referral at a name index one past the last node, under a good checksum
    c, deps, image = in_process()
    count = len(c.zs.nodes)
    c.zs.nodes[b"\x05extra\x00"] = next(iter(c.zs.nodes.values()))
    c.referral_blocks[b"\x05extra\x00"] = 1
    data = bytearray(written(compiled=(c, deps, image)))
    data[12:16] = count.to_bytes(4, "little")  # as many names as the reader has
    data[24:28] = zlib.crc32(data[handoff.HEAD.size:]).to_bytes(4, "little")
    with pytest.raises(handoff.HandoffError, match="malformed"):
        read(bytes(data))


# ---- a child that fails ------------------------------------------------------


def test_a_child_killed_before_handing_back_is_a_handoff_error(monkeypatch):
    monkeypatch.setattr(handoff, "write_handoff",
                        lambda *a: os.kill(os.getpid(), signal.SIGKILL))
    c, deps = fresh()
    with pytest.raises(handoff.HandoffError, match="killed by signal 9"):
        handoff.compile_forked(c, deps)
    assert not deps.exact and not c.referral_blocks


def test_a_child_that_sends_garbage_is_a_handoff_error(monkeypatch):
    monkeypatch.setattr(handoff, "write_handoff",
                        lambda fd, *a: os.write(fd, b"\x00garbage" * 1000))
    with pytest.raises(handoff.HandoffError, match="header"):
        handoff.compile_forked(*fresh())


def test_a_hung_child_is_killed_at_the_timeout(monkeypatch):
    monkeypatch.setattr(handoff, "write_handoff", lambda *a: time.sleep(60))
    with pytest.raises(handoff.HandoffError, match="more than 0.2 s"):
        handoff.compile_forked(*fresh(), timeout=0.2)


def test_a_zone_the_child_refuses_is_a_value_error_as_in_process(monkeypatch):
    def refuse(self):
        raise ValueError("zone example.com.: refused")

    monkeypatch.setattr(Compiler, "full", refuse)
    with pytest.raises(ValueError, match="refused") as e:
        handoff.compile_forked(*fresh())
    assert not isinstance(e.value, handoff.HandoffError)


def test_a_failed_child_is_compiled_here_instead(monkeypatch):
    monkeypatch.setattr(handoff, "write_handoff",
                        lambda *a: os.kill(os.getpid(), signal.SIGKILL))
    full = handoff.ForkedCompile()
    c, deps = fresh()
    image = full(c, deps)
    assert not full.forked
    want_c, want_deps, want = in_process()
    assert image.nodes == want.nodes and state_of(c, deps) == state_of(want_c, want_deps)


# ---- when the control plane forks -------------------------------------------


class FakeServer:
    def reload(self, image):
        return True


def served(threshold: int) -> ServedZones:
    source = ZoneSource([], None)
    source.in_process = True
    source.cidr_collections = lambda: COLLECTIONS
    s = ServedZones(source)
    s.fork_threshold = threshold
    s.attach(FakeServer())
    return s


def address(engine, qname: str) -> str:
    r = dns.message.from_wire(engine.answer(dns.message.make_query(qname, "A").to_wire(),
                                            "192.0.2.9"))
    return r.answer[-1][0].to_text()


def test_the_control_plane_forks_from_its_threshold_only():
    zones = rich_zones()
    size = sum(len(z.rrsets) for z in zones)
    small = served(size + 1)
    small.publish(zones, None)
    big = served(size)
    big.publish(zones, None)
    assert small.stats["forked"] == 0 and big.stats["forked"] == 1
    assert address(big.engine, "alias.example.com.") == "192.0.2.1"
    # a change is patched into the forked compile's image
    new = rich_zones(2, "192.0.2.7")
    big.publish(new, {z.origin: {z.origin, name("www.example.com.")} for z in new})
    assert big.stats == {"patched": 1, "full": 1, "forked": 1}
    assert address(big.engine, "x.example.net.") == "192.0.2.7"


def test_signed_zones_and_small_sets_compile_here():
    zones = rich_zones()
    assert handoff.wanted(zones, 1)
    assert not handoff.wanted(zones, 10_000)
    zones[1].dnssec = object()  # what a signed zone carries: its keys
    assert not handoff.wanted(zones, 1)
