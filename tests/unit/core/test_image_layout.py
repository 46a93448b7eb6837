"""The compiled image's record streams and snapshot files (snapshot/layout.py,
snapshot/format.py): compact records, the engine refusing corrupt or hostile
images instead of reading outside them, and snapshot files that round-trip
and fail with a clear error."""
import random
import struct

import dns.message
import pytest

from zonefront.core._engine import Image
from zonefront.ref.engine import RefImage
from zonefront.snapshot import format as snapshot_format
from zonefront.snapshot import layout
from zonefront.snapshot.compiler import ARRAY_NAMES, compile_zones
from zonefront.zonefile import parse_zone_text

ZONE = """$ORIGIN example.com.
$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 60
@ NS ns1
ns1 A 192.0.2.53
www A 192.0.2.1
www AAAA 2001:db8::1
mail MX 10 www
alias CNAME www
*.wild A 192.0.2.9
sub NS ns.sub
ns.sub A 192.0.2.99
dn DNAME example.net.
"""

QUERIES = [("www.example.com", "A"), ("www.example.com", "AAAA"), ("www.example.com", "ANY"),
           ("mail.example.com", "MX"), ("alias.example.com", "A"), ("x.wild.example.com", "A"),
           ("a.sub.example.com", "A"), ("x.dn.example.com", "A"), ("nope.example.com", "A"),
           ("www.example.com", "TXT")]


def compiled():
    return compile_zones([parse_zone_text(ZONE, "example.com.")])


def wire_queries():
    return [dns.message.make_query(n, t, use_edns=0).to_wire() for n, t in QUERIES]


def test_plain_name_is_one_short_record():
    """An A-only name costs the fixed head, its name and one type entry: the
    ANY answer is the first type's block, so no field is spent on it."""
    image = compiled()
    nodes = layout.decode_stream(image.nodes, layout.decode_node)
    name = b"\x03ns1\x07example\x03com\x00"
    (off, rec), = [(o, r) for o, r in nodes.items() if r.name == name]
    size = layout.decode_node(image.nodes, off)[1] - off
    assert rec.flags & layout.F_ANY_FIRST and rec.flags & layout.F_ZONE_NEG
    assert size == layout.NODE_HEAD.size + 2 + len(name) + layout.TYPE_ENTRY.size
    assert image.node_count == len(nodes)


def test_records_decode_to_what_the_engine_answers():
    """Every reference in the streams lands on a record start: the twin's
    decoder walks them and both implementations answer the same bytes."""
    image = compiled()
    arrays = image.arrays()
    compiled_image, ref = Image(arrays), RefImage(arrays)
    assert compiled_image.node_count == len(ref.nodes)
    assert compiled_image.block_count == len(ref.blocks)
    for q in wire_queries():
        assert compiled_image.answer(q) == ref.answer(q)


def _first_node_offset(arrays, name):
    nodes = layout.decode_stream(arrays["nodes"], layout.decode_node)
    return next(o for o, r in nodes.items() if r.name == name)


@pytest.mark.parametrize("what", ["truncated nodes", "truncated blocks", "block ref mid-record",
                                  "wild mid-record", "referral and dname", "dname index",
                                  "zone row", "negatives"])
def test_hostile_images_are_refused(what):
    arrays = dict(compiled().arrays())
    nodes = bytearray(arrays["nodes"])
    off = _first_node_offset(arrays, b"\x03www\x07example\x03com\x00")
    if what == "truncated nodes":
        arrays["nodes"] = bytes(nodes[:-1])
    elif what == "truncated blocks":
        arrays["blocks"] = arrays["blocks"][:-1]
    elif what == "block ref mid-record":
        aoff = _first_node_offset(arrays, b"\x05alias\x07example\x03com\x00")
        assert not nodes[aoff + 1] & layout.F_ZONE_NEG  # a CNAME's own "chain + NODATA"
        struct.pack_into("<I", nodes, aoff + 4, 1)  # default_block inside the first block
        arrays["nodes"] = bytes(nodes)
    elif what == "zone row":
        assert nodes[off + 1] & layout.F_ZONE_NEG
        struct.pack_into("<H", nodes, off + 4, 1)  # one zone only
        arrays["nodes"] = bytes(nodes)
    elif what == "negatives":
        arrays["negatives"] = struct.pack("<II", 1, 0)
    elif what == "wild mid-record":
        woff = _first_node_offset(arrays, b"\x04wild\x07example\x03com\x00")
        rec = layout.decode_node(arrays["nodes"], woff)[0]
        assert rec.wild != layout.NONE
        pos = woff + layout.wild_field(bytes(nodes[woff:]))
        struct.pack_into("<I", nodes, pos, rec.wild + 1)
        arrays["nodes"] = bytes(nodes)
    elif what == "referral and dname":
        soff = _first_node_offset(arrays, b"\x03sub\x07example\x03com\x00")
        nodes[soff + 1] |= layout.F_HAS_DNAME
        arrays["nodes"] = bytes(nodes)
    elif what == "dname index":
        doff = _first_node_offset(arrays, b"\x02dn\x07example\x03com\x00")
        rec = layout.decode_node(arrays["nodes"], doff)[0]
        pos = doff + layout.NODE_HEAD.size + (2 if rec.flags & layout.F_ZONE_NEG else 8) + \
            (0 if rec.flags & layout.F_ANY_FIRST else 4)
        struct.pack_into("<I", nodes, pos, 7)
        arrays["nodes"] = bytes(nodes)
    with pytest.raises(ValueError):
        Image(arrays)


def test_random_corruption_is_refused_or_answered():
    """Flipped octets anywhere in the streams: the engine either refuses the
    image or answers every query with a well-formed message (never reads
    outside the arrays: this test would crash the interpreter)."""
    base = compiled().arrays()
    queries = wire_queries()
    rng = random.Random(7)
    refused = answered = 0
    for trial in range(600):
        arrays = dict(base)
        key = rng.choice(["nodes", "blocks"])
        buf = bytearray(arrays[key])
        for _ in range(rng.randint(1, 3)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        arrays[key] = bytes(buf)
        try:
            image = Image(arrays)
        except ValueError:
            refused += 1
            continue
        for q in queries:
            out = image.answer(q)
            assert out[:2] == q[:2] and len(out) >= 12
        answered += 1
    assert refused > 50 and answered > 50


def test_snapshot_round_trip_maps_the_arrays(tmp_path):
    image = compiled()
    path = str(tmp_path / "z.snap")
    snapshot_format.write(path, image, serial=42)
    arrays, meta = snapshot_format.read(path)
    assert meta["serial"] == 42 and meta["zones"][0]["origin"] == b"\x07example\x03com\x00"
    for k in ARRAY_NAMES:
        assert isinstance(arrays[k], memoryview)
        assert bytes(arrays[k]) == image.arrays()[k]
    assert snapshot_format.loads(snapshot_format.dumps(image, 42))[0]["nodes"] == image.nodes
    engine_image = Image(arrays)
    del arrays
    q = wire_queries()[0]
    assert engine_image.answer(q) == Image(image.arrays()).answer(q)


@pytest.mark.parametrize("damage,message", [
    (lambda b: b"", "not a zonefront snapshot"),
    (lambda b: b"\x82\xa5magic\xb2zonefront-snapshot\xa7version\x02", "not a zonefront snapshot"),
    (lambda b: b[:7] + bytes([2]) + b[8:], f"snapshot format 2, this zonefront reads {snapshot_format.FORMAT_VERSION}"),
    (lambda b: b[:40], "truncated"),
    (lambda b: b[: len(b) - 100], "truncated"),
])
def test_bad_snapshots_name_the_problem(tmp_path, damage, message):
    blob = damage(snapshot_format.dumps(compiled(), 1))
    path = tmp_path / "bad.snap"
    path.write_bytes(blob)
    with pytest.raises(snapshot_format.SnapshotError, match=message):
        snapshot_format.read(str(path))


def test_case_folding_is_ascii_only_for_every_octet(make_image):
    """The engine lower-cases query names eight octets at a time: every
    octet value, in short and long labels, matches exactly the names that
    differ from it only in ASCII letter case (RFC 4343)."""
    import dns.name
    import dns.rdatatype

    lines = ["$ORIGIN example.com.", "$TTL 60", "@ SOA ns h 1 2 3 4 5", "@ NS ns", "ns A 192.0.2.1"]
    values = [x for x in range(1, 256) if not 0x41 <= x <= 0x5A]
    for x in values:
        lines.append(f"s\\{x:03d} A 10.1.{x}.1")
        lines.append(f"long\\{x:03d}label.k A 10.2.{x}.2")
    image = make_image([parse_zone_text("\n".join(lines) + "\n", "example.com.")])

    def address(labels):
        q = dns.message.make_query(dns.name.Name(labels + [b"example", b"com", b""]), "A")
        r = dns.message.from_wire(image.answer(q.to_wire()))
        return r.answer[0][0].address if r.answer else None

    for x in range(1, 256):
        folded = x + 32 if 0x41 <= x <= 0x5A else x
        asked = x - 32 if 0x61 <= x <= 0x7A else x  # ask lower-case letters in upper case
        assert address([b"S" + bytes([asked])]) == f"10.1.{folded}.1"
        assert address([b"LONG" + bytes([asked]) + b"LaBeL", b"K"]) == f"10.2.{folded}.2"


def test_prefetched_batches_answer_exactly_as_single_queries():
    """The UDP loop runs engine_prefetch's stages over a batch before
    answering it; the answers must be the very bytes answer() gives for each
    query alone, for hits, misses, wildcards, referrals, DNAMEs, CNAMEs,
    mixed case, malformed and truncated packets, in one batch."""
    from zonefront.core._engine import answer_batched

    image = Image(compiled().arrays())
    queries = wire_queries()
    queries += [dns.message.make_query(n.upper(), t, use_edns=0).to_wire() for n, t in QUERIES]
    queries += [q[:-5] for q in wire_queries()]  # truncated mid-question
    queries += [q[:12] + b"\xc0\x0c" + q[-4:] for q in wire_queries()[:3]]  # compressed qname
    queries += [b"\x00" * 12, b"\x12\x34\x81\x00" + bytes(8)]  # empty question, a response
    rng = random.Random(3)
    for _ in range(300):
        q = bytearray(rng.choice(wire_queries()))
        q[rng.randrange(12, len(q))] = rng.randrange(256)
        queries.append(bytes(q))
    assert len(queries) > 128  # several batches
    assert answer_batched(image, queries) == [image.answer(q) for q in queries]


def test_prefetched_batches_answer_routed_names_as_single_queries():
    """Stages 2 and 3 follow policy sets and their candidates: weighted,
    multivalue, failover and an alias to a weighted name answer the same
    bytes in a prefetched batch as alone."""
    from zonefront.core._engine import answer_batched
    from zonefront.model import TYPE_A, RoutedRRset, name_from_text

    zone = parse_zone_text(ZONE, "example.com.")

    def routed(owner, ips, **kw):
        return RoutedRRset(owner=name_from_text(owner), rtype=TYPE_A, ttl=60,
                           rdatas=[bytes(int(x) for x in ip.split(".")) for ip in ips], **kw)

    zone.routed += [routed("w.example.com.", ["10.0.0.1"], set_id="a", weight=1),
                    routed("w.example.com.", ["10.0.0.2"], set_id="b", weight=3),
                    routed("f.example.com.", ["10.0.1.1"], set_id="p", failover="PRIMARY"),
                    routed("f.example.com.", ["10.0.1.2"], set_id="s", failover="SECONDARY")]
    zone.routed += [routed("m.example.com.", [f"10.0.2.{i}"], set_id=f"m{i}", multivalue=True)
                    for i in range(12)]
    zone.routed.append(RoutedRRset(owner=name_from_text("al.example.com."), rtype=TYPE_A, ttl=60,
                                   alias_name=name_from_text("w.example.com.")))
    image = Image(compile_zones([zone]).arrays())
    names = ["w", "f", "m", "www", "nope", "al"]
    queries = []
    for i in range(400):
        q = dns.message.make_query(f"{names[i % len(names)]}.example.com", "A", use_edns=0)
        q.id = i
        queries.append(q.to_wire())
    batched = answer_batched(image, queries)
    assert batched == [image.answer(q) for q in queries]
    weighted = {dns.message.from_wire(r).answer[0][0].address for r in batched[::len(names)]}
    assert weighted == {"10.0.0.1", "10.0.0.2"}  # the choice still varies by query
