"""model.RRsetMap holds each owner's plain record sets as one packed bytes
value (model.pack_rrsets) and decodes them on access: every rtype round
trips, what the form cannot hold stays an object, derived maps share and
diff by owner, and ZoneSet / IncrementalCompiler nodes hold the map's own
packed values instead of mappings of RRset objects."""
from __future__ import annotations

import pickle
import random

from zonefront import model
from zonefront.core._engine import Image
from zonefront.model import (
    TYPE_A, TYPE_AAAA, TYPE_MX, TYPE_NS, TYPE_SOA, TYPE_TXT, RoutedRRset, RRset, RRsetMap,
    Zone, name_from_text, pack_rrsets, packed_types, unpack_rrsets,
)
from zonefront.rdata import KNOWN_RRTYPES
from zonefront.snapshot.incremental import IncrementalCompiler
from zonefront.zoneset import ZoneSet

ORIGIN = name_from_text("example.com.")


def name(text: str) -> bytes:
    return name_from_text(text)


def soa(serial: int) -> bytes:
    return name("ns.example.com.") + name("h.example.com.") + serial.to_bytes(4, "big") \
        + bytes(range(1, 17))


def test_every_rtype_round_trips():
    rnd = random.Random(13)
    owner = name("all.example.com.")
    by_type = {}
    for rtype in sorted(KNOWN_RRTYPES, key=lambda t: rnd.random()):
        rdatas = [bytes(rnd.randrange(256) for _ in range(rnd.choice((0, 1, 4, 16, 300))))
                  for _ in range(rnd.randrange(0, 4))]
        by_type[rtype] = RRset(owner, rtype, rnd.randrange(2 ** 32), rdatas)
    by_type[TYPE_TXT] = RRset(owner, TYPE_TXT, 0, [b"\xff" * 65535, b""])
    packed = pack_rrsets(owner, by_type)
    assert packed.__class__ is bytes
    back = unpack_rrsets(owner, packed)
    assert back == by_type
    assert list(back) == list(by_type)  # the types keep their order
    assert packed_types(packed) == list(by_type)
    for rtype, rrset in by_type.items():  # one type at a time too
        assert unpack_rrsets(owner, pack_rrsets(owner, {rtype: rrset})) == {rtype: rrset}


def test_map_holds_packed_values_and_answers_as_before():
    www, mail = name("www.example.com."), name("mail.example.com.")
    items = {(www, TYPE_A): RRset(www, TYPE_A, 60, [b"\xc0\x00\x02\x01", b"\xc0\x00\x02\x02"]),
             (www, TYPE_AAAA): RRset(www, TYPE_AAAA, 60, [bytes(16)]),
             (mail, TYPE_A): RRset(mail, TYPE_A, 300, [b"\xc0\x00\x02\x09"])}
    m = RRsetMap(items)
    assert m.held(www).__class__ is bytes and m.held(mail).__class__ is bytes
    assert len(m) == 3 and dict(m.items()) == items and m == items
    assert m.records() == 4
    assert set(m) == set(items) and sorted(m.values(), key=repr) == sorted(items.values(), key=repr)
    assert m[(www, TYPE_AAAA)] == items[(www, TYPE_AAAA)]
    assert (www, TYPE_AAAA) in m and (www, TYPE_MX) not in m and (name("x.example."), 1) not in m
    assert m.get((mail, TYPE_AAAA)) is None
    assert m.of_owner(www) == {k: v for k, v in items.items() if k[0] == www}
    assert pickle.loads(pickle.dumps(m)) == items
    # what is read is a copy: changing it changes nothing in the map
    m[(mail, TYPE_A)].rdatas.append(b"\x00\x00\x00\x00")
    assert m[(mail, TYPE_A)] == items[(mail, TYPE_A)]
    m[(mail, TYPE_MX)] = RRset(mail, TYPE_MX, 60, [b"\x00\x0a" + mail])
    del m[(www, TYPE_A)]
    assert len(m) == 3 and m.held(mail).__class__ is bytes
    assert dict(m.owners())[www] == {TYPE_AAAA: items[(www, TYPE_AAAA)]}
    del m[(www, TYPE_AAAA)]
    assert m.held(www) is None and len(m) == 2


def test_zone_add_and_add_rdatas_onto_a_map_keep_every_rdata():
    z = Zone(ORIGIN, RRsetMap())
    www = name("www.example.com.")
    for rd in (b"\x01\x02\x03\x04", b"\x01\x02\x03\x05", b"\x01\x02\x03\x04"):
        z.add(www, TYPE_A, 60, rd)
    assert z.get(www, TYPE_A) == RRset(www, TYPE_A, 60, [b"\x01\x02\x03\x04", b"\x01\x02\x03\x05"])
    z.add_rdatas(name("WWW.example.com."), TYPE_A, 300, [b"\x01\x02\x03\x05", b"\x01\x02\x03\x06"])
    z.add_rdatas(www, TYPE_TXT, 60, [])  # no records: no RRset
    assert z.get(www, TYPE_A) == RRset(www, TYPE_A, 60, [
        b"\x01\x02\x03\x04", b"\x01\x02\x03\x05", b"\x01\x02\x03\x06"])
    assert len(z.rrsets) == 1 and z.rrsets.held(www).__class__ is bytes


def test_what_the_form_cannot_hold_stays_an_object():
    a, b = name("a.example.com."), name("b.example.com.")
    routed = RoutedRRset(a, TYPE_A, 60, [b"\x01\x02\x03\x04"], set_id="one", weight=1)
    other_owner = RRset(name("elsewhere.example.com."), TYPE_A, 60, [b"\x01\x02\x03\x04"])
    too_long_ttl = RRset(b, TYPE_A, 2 ** 32, [b"\x01\x02\x03\x04"])
    m = RRsetMap({(a, TYPE_A): routed, (b, TYPE_A): too_long_ttl,
                  (b, TYPE_TXT): other_owner})
    assert m[(a, TYPE_A)] is routed and m.held(a).__class__ is model.OneType
    assert m[(b, TYPE_A)] is too_long_ttl and m[(b, TYPE_TXT)] is other_owner
    assert m.held(b).__class__ is dict and len(m) == 3 and m.records() == 3
    assert pickle.loads(pickle.dumps(m)) == m


def test_with_owners_shares_untouched_owners_and_differing_shards_finds_the_rest():
    owners = [name(f"h{i}.example.com.") for i in range(3000)]
    m = RRsetMap({(o, TYPE_A): RRset(o, TYPE_A, 60, [i.to_bytes(4, "big")])
                  for i, o in enumerate(owners)})
    changed, gone, new = owners[7], owners[8], name("new.example.com.")
    n = m.with_owners({changed, gone, new}, {
        (changed, TYPE_A): RRset(changed, TYPE_A, 60, [b"\x0a\x00\x00\x01"]),
        (changed, TYPE_MX): RRset(changed, TYPE_MX, 60, [b"\x00\x0a" + changed]),
        (new, TYPE_NS): RRset(new, TYPE_NS, 60, [name("ns.elsewhere.")])})
    assert len(m) == 3000 and len(n) == 3001
    assert n.held(changed).__class__ is bytes and n.held(changed) is not m.held(changed)
    assert all(n.held(o) is m.held(o) for o in owners if o not in (changed, gone))
    assert n.held(gone) is None and m[(gone, TYPE_A)].rdatas == [(8).to_bytes(4, "big")]
    mine, theirs = {}, {}
    for a, b in m.differing_shards(n):
        mine.update(a)
        theirs.update(b)
    assert mine == {(changed, TYPE_A): m[(changed, TYPE_A)], (gone, TYPE_A): m[(gone, TYPE_A)]}
    assert theirs == {k: n[k] for k in [(changed, TYPE_A), (changed, TYPE_MX), (new, TYPE_NS)]}
    assert list(n.differing_shards(n)) == []


def test_nodes_hold_the_maps_packed_values_and_a_patch_keeps_them_packed():
    www, cut = name("www.example.com."), name("sub.example.com.")
    apex = {(ORIGIN, TYPE_SOA): RRset(ORIGIN, TYPE_SOA, 300, [soa(1)]),
            (ORIGIN, TYPE_NS): RRset(ORIGIN, TYPE_NS, 300, [name("ns.example.com.")])}
    items = dict(apex)
    items[(www, TYPE_A)] = RRset(www, TYPE_A, 60, [b"\xc0\x00\x02\x01"])
    items[(cut, TYPE_NS)] = RRset(cut, TYPE_NS, 60, [name("ns.elsewhere.")])
    zone = Zone(ORIGIN, RRsetMap(items), source="/hostedzone/Z1")
    zs = ZoneSet([zone])
    for owner in (ORIGIN, www, cut):
        assert zs.nodes[owner].held is zone.rrsets.held(owner)
        assert zs.nodes[owner].rrsets == {t: v for (o, t), v in items.items() if o == owner}
    assert zs.nodes[cut].is_cut and zs.nodes[cut].has(TYPE_NS) and not zs.nodes[www].has(TYPE_NS)

    inc = IncrementalCompiler([zone], Image)
    new = RRset(www, TYPE_A, 60, [b"\xc0\x00\x02\x07"])
    patched = Zone(ORIGIN, zone.rrsets.with_owners({www}, {(www, TYPE_A): new}),
                   source=zone.source)
    inc.update([patched], {ORIGIN: {www}})
    node = inc.c.zs.nodes[www]
    assert node.held.__class__ is bytes and node.rrsets == {TYPE_A: new}
    assert node.held is inc.copies[ORIGIN].rrsets.held(www)
