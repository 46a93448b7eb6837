"""serving.py: compile -> publish -> swap in one place.  A publish swaps the
new image into the server and runs the swap hooks; a failed compile swaps
nothing and its changes are carried to the next publish; `changed` is
completed against the zone objects; zone files are read once and again on
reload; published zones replace file zones; private zones answer only
from their views."""
from __future__ import annotations

import dns.message
import dns.rcode
import pytest

from zonefront import model
from zonefront.serving import (ServedZones, ZoneSource, build_engine, merge_changes,
                               settle_changes)


def name(text: str) -> bytes:
    return model.name_from_text(text)


def zone(origin: str, addr: str, private: bool = False, vpcs=(), **extra) -> model.Zone:
    o = name(origin)
    z = model.Zone(origin=o, source=f"/hostedzone/{origin}", private=private, vpcs=list(vpcs))
    z.add(o, model.TYPE_SOA, 300, name("ns1.example.net.") + name("h.example.net.")
          + (1).to_bytes(4, "big") + bytes(16))
    z.add(o, model.TYPE_NS, 300, name("ns1.example.net."))
    z.add(name("www." + origin), model.TYPE_A, 60, bytes(int(x) for x in addr.split(".")))
    for owner, rtype, rdata in extra.get("more", ()):
        z.add(name(owner), rtype, 60, rdata)
    return z


def address(engine, qname: str, client: str = "192.0.2.9") -> str | None:
    r = dns.message.from_wire(engine.answer(dns.message.make_query(qname, "A").to_wire(),
                                            client))
    if r.rcode() != dns.rcode.NOERROR or not r.answer:
        return None
    return r.answer[0][0].to_text()


class FakeServer:
    """DnsServer's swap, recorded."""

    def __init__(self):
        self.images = []

    def reload(self, image):
        self.images.append(image)
        return True


def served(zone_files=(), **source_fields) -> tuple[ServedZones, FakeServer]:
    source = ZoneSource(list(zone_files), None)
    source.in_process = True
    for k, v in source_fields.items():
        setattr(source, k, v)
    s = ServedZones(source)
    s.load()
    server = FakeServer()
    s.attach(server)
    return s, server


def test_publish_swaps_into_the_server_and_runs_the_hooks():
    s, server = served()
    swaps = []
    s.on_swap(lambda: swaps.append(s.engine))
    a = zone("a.test.", "192.0.2.1")
    built = s.publish([a], None)
    assert server.images == [built.engine.image]
    assert swaps == [built.engine] and s.engine is built.engine
    assert address(s.engine, "www.a.test.") == "192.0.2.1"
    assert s.current == [a]  # what zone transfers read


def test_a_failed_compile_keeps_the_old_zones_and_carries_its_changes():
    s, server = served()
    a = zone("a.test.", "192.0.2.1")
    s.publish([a], {})
    before = s.engine
    # a CNAME chain ending in the type the compiler reserves is refused
    bad = zone("a.test.", "192.0.2.2", more=[("x.a.test.", model.TYPE_CNAME, name("t.a.test.")),
                                             ("t.a.test.", 65534, b"\x00")])
    with pytest.raises(ValueError, match="65534"):
        s.publish([bad], {name("a.test."): {name("x.a.test."), name("t.a.test.")}})
    assert s.engine is before and len(server.images) == 1
    assert address(s.engine, "www.a.test.") == "192.0.2.1"
    good = zone("a.test.", "192.0.2.3")
    s.publish([good], {name("a.test."): {name("www.a.test.")}})
    # the compile is told about the failed publish's owner too
    assert s.last_changed == {name("a.test."): {name("x.a.test."), name("t.a.test."),
                                                name("www.a.test.")}}
    assert address(s.engine, "www.a.test.") == "192.0.2.3"


def test_settle_changes_completes_what_the_caller_reported():
    a, b, c = zone("a.test.", "192.0.2.1"), zone("b.test.", "192.0.2.1"), \
        zone("c.test.", "192.0.2.1")
    a2, b2, d = zone("a.test.", "192.0.2.2"), zone("b.test.", "192.0.2.2"), \
        zone("d.test.", "192.0.2.1")
    # a: patched and reported; b: another object, not reported; c: gone; d: new
    got = settle_changes([a, b, c], [a2, b2, d], {b"\x01a\x04test\x00": {name("www.a.test.")}})
    assert got == {name("a.test."): {name("www.a.test.")}, name("b.test."): None,
                   name("c.test."): None, name("d.test."): None}
    # the same objects: nothing changed, nothing named
    assert settle_changes([a, b], [a, b], {}) == {}
    assert settle_changes([a], [a2], None) is None


def test_merge_changes_lets_unknown_win():
    x, y = name("x.a.test."), name("y.a.test.")
    o = name("a.test.")
    assert merge_changes({o: {x}}, {o: {y}}) == {o: {x, y}}
    assert merge_changes({o: None}, {o: {y}}) == {o: None}
    assert merge_changes({o: {x}}, {o: None}) == {o: None}
    assert merge_changes({o: {x}}, None) is None


def test_zone_files_are_read_once_and_again_on_reload(tmp_path):
    path = tmp_path / "f.zone"
    text = ("$ORIGIN f.test.\n$TTL 60\n@ SOA ns1.example.net. h.example.net. 1 2 3 4 5\n"
            "@ NS ns1.example.net.\nwww A {}\n")
    path.write_text(text.format("192.0.2.1"))
    s, _server = served([str(path)])
    assert address(s.engine, "www.f.test.") == "192.0.2.1"
    path.write_text(text.format("192.0.2.2"))
    s.publish([zone("a.test.", "192.0.2.7")], {})  # a publish does not re-read the files
    assert address(s.engine, "www.f.test.") == "192.0.2.1"
    s.reload()  # SIGHUP does, and keeps the published zones
    assert address(s.engine, "www.f.test.") == "192.0.2.2"
    assert address(s.engine, "www.a.test.") == "192.0.2.7"
    path.write_text("garbage\n")
    with pytest.raises(ValueError):
        s.reload()
    assert address(s.engine, "www.f.test.") == "192.0.2.2"


def test_a_published_zone_replaces_a_file_zone_of_its_name(tmp_path):
    path = tmp_path / "a.zone"
    path.write_text("$ORIGIN a.test.\n$TTL 60\n@ SOA ns1.example.net. h.example.net. 1 2 3 4 5\n"
                    "@ NS ns1.example.net.\nwww A 192.0.2.1\n")
    s, _server = served([str(path)])
    assert address(s.engine, "www.a.test.") == "192.0.2.1"
    s.publish([zone("a.test.", "192.0.2.5")], None)
    assert address(s.engine, "www.a.test.") == "192.0.2.5"
    s.publish([zone("a.test.", "10.0.0.5", private=True, vpcs=[("us-east-1", "vpc-1")])], None)
    assert address(s.engine, "www.a.test.") == "192.0.2.1"  # a private zone is no public one


def test_private_zones_answer_only_inside_their_views():
    vpcs = {"vpc-1": {"region": "us-east-1", "cidrs": ["10.1.0.0/16"]}}
    pub = zone("p.test.", "192.0.2.1")
    priv = zone("p.test.", "10.1.2.3", private=True, vpcs=[("us-east-1", "vpc-1")])
    built = build_engine([pub, priv], None, {}, vpcs)
    assert built.zones == [pub]
    assert address(built.engine, "www.p.test.", "192.0.2.9") == "192.0.2.1"
    assert address(built.engine, "www.p.test.", "10.1.0.7") == "10.1.2.3"
