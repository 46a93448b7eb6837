"""The fast zone-file compiler (snapshot/fastcompile.py, csrc/zscan.c,
zftable.c, zfcompile.c) against the Python path it must answer like.

For the same master files, `compile_zones([parse_zone_file(p) ...])` and
`compile_zone_files(paths)` must give images whose compiled engine
(core._engine.Image) answers every name we hold, names below them, names
in no zone and a set of qtypes with identical bytes, UDP and TCP; a broken
file must be refused with the same `file:line: reason`.  Images need not
be byte-identical (block order and sharing may differ), answers must.

Zones: the bench generator at small sizes, the fixture zones, and
hypothesis-generated master files with the tricky cases (wildcards,
empty non-terminals, cuts and glue, CNAME chains and loops, DNAME, MX/SRV
targets, escapes, $INCLUDE/$ORIGIN/$TTL, RFC 3597 types, more than one
zone, nested zones) written in varied presentation forms.
"""
from __future__ import annotations

import os
import random
import struct
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zonefront.core._engine import Image as EngineImage
from zonefront.snapshot.compiler import compile_zones
from zonefront.snapshot.fastcompile import Stats, compile_zone_files
from zonefront.zonefile import ZoneFileError, parse_zone_file
from zonefront.zoneset import ZoneSet

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench" / "dnsperf"))
import genzone  # noqa: E402

DATA = ROOT / "tests" / "data" / "zones"

QTYPES = [1, 2, 5, 6, 12, 13, 15, 16, 28, 29, 33, 39, 43, 46, 255, 257, 65280, 65534]


def _query(name: bytes, qtype: int, edns: bool, qid: int) -> bytes:
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 1 if edns else 0) + name + struct.pack(">HH", qtype, 1)
    if edns:
        q += b"\x00" + struct.pack(">HHIH", 41, 1232, 0, 0)
    return q


def _mixed_case(name: bytes, rnd: random.Random) -> bytes:
    return bytes(c ^ 0x20 if 0x61 <= c <= 0x7A and rnd.random() < 0.5 else c for c in name)


def query_names(zones) -> list[bytes]:
    """Every name the reference ZoneSet holds, a child of each (NXDOMAIN,
    wildcard or referral), and names in no zone."""
    zs = ZoneSet(zones)
    names = set(zs.nodes)
    for n in list(zs.nodes):
        if len(n) < 240:
            names.add(b"\x02zz" + n)
            names.add(b"\x01q\x01*" + n if len(n) < 236 else n)
    names.add(b"\x07example\x03org\x00")
    names.add(b"\x00")
    return sorted(names)


def assert_same_answers(paths, names=None, max_queries=None, spill_window=None):
    """Compiles `paths` both ways; every (name, qtype) answered alike.
    `spill_window`: compile_zone_files' (the block stream written out to a
    file beyond that many octets)."""
    ref_zones = [parse_zone_file(p) for p in paths]
    ref = compile_zones(ref_zones)
    stats = Stats()
    fast = compile_zone_files(paths, stats, spill_window)
    assert fast.node_count == ref.node_count
    assert fast.zones == ref.zones
    a = EngineImage(ref.arrays(), ref.zones)
    b = EngineImage(fast.arrays(), fast.zones)
    rnd = random.Random(5)
    names = names if names is not None else query_names(ref_zones)
    pairs = [(n, t) for n in names for t in QTYPES]
    if max_queries is not None and len(pairs) > max_queries:
        pairs = rnd.sample(pairs, max_queries)
    for i, (name, qtype) in enumerate(pairs):
        wire = _query(_mixed_case(name, rnd), qtype, i % 2 == 0, i & 0xFFFF)
        for tcp in (False, True):
            assert a.answer(wire, tcp) == b.answer(wire, tcp), (name, qtype, tcp)
    return stats


# --- fixed zones -----------------------------------------------------------------


@pytest.mark.parametrize("names,seed", [(300, 1), (2000, 53)])
def test_bench_zones_answer_alike_and_compile_in_c(tmp_path, names, seed):
    zone, _ = genzone.ensure(str(tmp_path), names, 10, seed)
    stats = assert_same_answers([zone])
    assert stats.python_files == [] and stats.python_all == ""
    assert stats.negatives_in_c == 1
    # the apex and the wildcard-free rest: only the apex needs Python
    assert stats.kinds["python"] == 1
    assert stats.kinds["cname"] > 0 and stats.kinds["named"] > 0 and stats.kinds["occluded"] == 2


def test_fixture_zone_with_include_and_unusual_types():
    stats = assert_same_answers([str(DATA / "example.com.db")])
    assert stats.python_files == []  # HTTPS goes to rdata.py record by record, $INCLUDE is scanned


def test_e2e_zones_together():
    paths = sorted(str(p) for p in (ROOT / "tests" / "scenarios" / "serve" / "zones").glob("*.zone"))
    assert_same_answers(paths)


def test_big_bench_zone_sampled(tmp_path):
    zone, _ = genzone.ensure(str(tmp_path), 20000, 10, 7)
    assert_same_answers([zone], max_queries=20000)


@pytest.mark.parametrize("window", [1, 4096, 65536])
def test_streams_written_out_while_compiling(tmp_path, window):
    """The node and block streams' heads go to temporary files past
    `window` octets (1: every record is written out at once, and the
    wildcard patches of node records land in the file); the answers stay
    the same, and the image's arrays are the files, mapped."""
    import mmap

    zone = tmp_path / "wild.zone"
    text, _ = genzone.ensure(str(tmp_path), 2000, 10, 53)
    with open(text) as f:  # wildcards below names, patched once their node records exist
        zone.write_text(f.read() + "".join(f"*.w{i} A 192.0.2.{i}\nw{i} TXT \"x\"\n"
                                           for i in range(40)))
    stats = assert_same_answers([str(zone)], spill_window=window)
    assert stats.python_files == [] and stats.python_all == ""
    whole = compile_zone_files([str(zone)], spill_window=0).arrays()
    spilled = compile_zone_files([str(zone)], spill_window=window).arrays()
    for k in ("nodes", "blocks"):
        assert isinstance(spilled[k].obj, mmap.mmap) and not isinstance(whole[k].obj, mmap.mmap)
    assert spilled["nodes"] == whole["nodes"] or len(spilled["blocks"]) != len(whole["blocks"])
    # a block written out is not shared with a later copy: a few octets more
    assert len(whole["blocks"]) <= len(spilled["blocks"]) <= len(whole["blocks"]) * 1.2


def test_big_file_scanned_from_a_mapping_that_drops_what_it_read(tmp_path):
    """A file over the scanner's 8 MiB release step: the pages behind it
    are dropped as it reads (zscan.c), and what it read is still right."""
    zone, _ = genzone.ensure(str(tmp_path), 3000, 10, 11)
    padded = tmp_path / "padded.zone"
    with open(zone) as f, open(padded, "w") as out:
        for line in f:  # a comment after every line: 3000 names over 12 MB
            out.write(line.rstrip("\n") + " ; " + "x" * 3000 + "\n")
    assert os.path.getsize(padded) > 12 << 20
    stats = assert_same_answers([str(padded)], max_queries=5000)
    assert stats.python_files == [] and stats.python_all == ""  # the C scanner read it


def test_e2e_zones_with_the_block_stream_written_out():
    paths = sorted(str(p) for p in (ROOT / "tests" / "e2e" / "zones").glob("*.zone"))
    assert_same_answers(paths, spill_window=256)


def test_referrals_and_answers_that_truncate(tmp_path):
    """Big referrals and MX answers over 512-octet UDP: the required glue
    and the additional records that may be dropped must be the same."""
    lines = ["$ORIGIN example.com.", "$TTL 300", "@ SOA ns h 1 2 3 4 5", "@ NS ns0"]
    for i in range(12):
        lines.append(f"big NS ns{i}.big" if i % 2 else f"big NS host{i}")
        lines.append(f"ns{i}.big A 192.0.2.{i}")
        lines.append(f"ns{i}.big AAAA 2001:db8::{i}")
        lines.append(f"host{i} A 198.51.100.{i}")
        lines.append(f"host{i} AAAA 2001:db8:1::{i}")
        lines.append(f"mx MX {i} host{i}")
        lines.append(f"srv SRV {i} 1 25 ns{i}.big")
    lines.append("alias CNAME mx")
    p = tmp_path / "z.db"
    p.write_text("\n".join(lines) + "\n")
    stats = assert_same_answers([str(p)])
    assert stats.kinds["cut"] == 1 and stats.kinds["named"] == 2 and stats.kinds["cname"] == 1


# --- faults: the same message -----------------------------------------------------

FAULTS = [
    "@ SOA ns h 1 2 3 4 5\nfoo A 1.2.3.400\n",
    "@ SOA ns h 1 2 3 4 5\nfoo CNAME a\nfoo A 1.2.3.4\n",
    "@ SOA ns h 1 2 3 4 5\nd DNAME x.\nq.d A 1.2.3.4\n",
    "@ SOA ns h 1 2 3 4 5\nfoo. A 1.2.3.4\n",
    "foo A 1.2.3.4\n",
    "@ SOA ns h 1 2 3 4 5\n  A 1.2.3.4\nx IN CH A 1.2.3.4\n",
    '@ SOA ns h 1 2 3 4 5\nx TXT "unterminated\n',
    "@ SOA ns h 1 2 3 4 5\nx A ( 1.2.3.4\n",
    "@ SOA ns h 1 2 3 4 5\nx MX 70000 a\n",
    "@ SOA ns h 1 2 3 4 5\nx TYPE65280 \\# 3 0a0b\n",
    "@ SOA ns h 1 2 3 4 5\nx BOGUS 1\n",
    "@ SOA ns h 1 2 3 4 5\n@ SOA ns h 2 2 3 4 5\n",
    "@ SOA ns h 1 2 3 4 5\nx CNAME a\nx CNAME b\n",
    "@ SOA ns h 1 2 3 4 5\nx A 1.2.3.4\n$FOO bar\n",
    "@ SOA ns h 1 2 3 4 5\nx SRV 1 2 a\n",
    "@ SOA ns h 1 2 3 4 5\nx LOC 91 0 0 N 0 0 0 E 0m\n",
    "@ SOA ns h 1 2 3 4 5\nx TXT \\\n",
    "@ SOA ns h 1 2 3 4 5\nx A 1.2.3.4 )\n",
    "@ SOA ns h 1 2 3 4 5\nx.y..z A 1.2.3.4\n",
    "@ SOA ns h 1 2 3 4 5\nx 99999999999 A 1.2.3.4\n",
]


@pytest.mark.parametrize("body", FAULTS)
def test_faults_are_reported_as_zonefile_reports_them(tmp_path, body):
    p = tmp_path / "z.db"
    p.write_text("$ORIGIN example.com.\n$TTL 300\n" + body if not body.startswith("foo A") else body)
    with pytest.raises(ZoneFileError) as want:
        parse_zone_file(p)
    with pytest.raises(ZoneFileError) as got:
        compile_zone_files([str(p)])
    assert str(got.value) == str(want.value)


def test_unreadable_and_non_utf8_files(tmp_path):
    missing = tmp_path / "missing.db"
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"$ORIGIN example.com.\n@ 300 SOA ns h 1 2 3 4 5\nx 300 TXT \"\xff\"\n")
    for p in (missing, bad):
        with pytest.raises(ZoneFileError) as want:
            parse_zone_file(p)
        with pytest.raises(ZoneFileError) as got:
            compile_zone_files([str(p)])
        assert str(got.value) == str(want.value)


def test_file_the_scanner_gives_up_on_is_read_by_zonefile(tmp_path):
    """A quoted owner is valid for zonefile.py; the scanner leaves it to it."""
    p = tmp_path / "z.db"
    p.write_text('$ORIGIN example.com.\n$TTL 300\n@ SOA ns h 1 2 3 4 5\n"quoted" A 192.0.2.1\n'
                 "x CNAME quoted\n")
    stats = assert_same_answers([str(p)])
    assert stats.python_files == [str(p)]


def test_two_zones_with_one_origin_raise_like_the_python_path(tmp_path):
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    for p in (a, b):
        p.write_text("$ORIGIN example.com.\n@ 300 SOA ns h 1 2 3 4 5\n")
    with pytest.raises(ValueError, match="two zones with the same origin"):
        compile_zones([parse_zone_file(a), parse_zone_file(b)])
    with pytest.raises(ValueError, match="two zones with the same origin"):
        compile_zone_files([str(a), str(b)])


# --- generated master files ---------------------------------------------------------

LABELS = ["a", "b", "www", "*", "mail", "x-y", "Sub", "ns1", "c\\.d", "\\065bc", "_sip"]
ZONES = ["example.com.", "example.net.", "sub.example.com."]


@st.composite
def rel_name(draw, max_labels=3):
    labs = draw(st.lists(st.sampled_from(LABELS), min_size=0, max_size=max_labels))
    return ".".join(labs)


def absolute(rel: str, origin: str) -> str:
    return f"{rel}.{origin}" if rel else origin


@st.composite
def target(draw, origin):
    """A name for rdata: mostly inside this zone, sometimes another served
    zone or none we serve; relative or absolute."""
    kind = draw(st.integers(0, 9))
    if kind < 7:
        rel = draw(rel_name(3))
        if draw(st.booleans()) and rel:
            return rel.replace("*", "w")  # relative to the origin
        return absolute(rel, origin).replace("*.", "star.") if "*" in rel and kind % 2 else absolute(rel, origin)
    if kind < 9:
        return absolute(draw(rel_name(2)), draw(st.sampled_from(ZONES)))
    return "elsewhere.example.org."


TXT_VALUES = ['"v=spf1 -all"', 'plain', '"two" "strings"', '"esc\\"aped \\065 \\\\"', '"semi;colon"',
              '"paren ( )"', '"unicode \u00e9"', 'a\\ b']


@st.composite
def record(draw, origin):
    owner = draw(rel_name(3))
    kind = draw(st.sampled_from(["A", "A", "AAAA", "TXT", "MX", "SRV", "CNAME", "CNAME", "NS",
                                 "DNAME", "PTR", "DS", "CAA", "GENERIC", "HINFO", "LOC"]))
    v = draw(st.integers(0, 3))
    if kind == "A":
        rdata = f"192.0.2.{v}"
    elif kind == "AAAA":
        rdata = f"2001:db8::{v}"
    elif kind == "TXT":
        rdata = draw(st.sampled_from(TXT_VALUES))
    elif kind == "MX":
        rdata = f"{v * 10} {draw(target(origin))}"
    elif kind == "SRV":
        rdata = f"{v} 5 443 {draw(target(origin))}"
    elif kind in ("CNAME", "NS", "DNAME", "PTR"):
        rdata = draw(target(origin))
    elif kind == "DS":
        rdata = f"{1000 + v} 13 2 {'ab' * 32}"
    elif kind == "CAA":
        rdata = f'0 issue "ca{v}.example"'
    elif kind == "GENERIC":
        kind = "TYPE65280"
        rdata = f"\\# 3 0a0b0{v}"
    elif kind == "HINFO":
        rdata = f'"cpu{v}" "os"'
    else:
        rdata = f"52 22 {v} N 4 53 32 E {v}m"
    return owner, kind, rdata


def valid_records(records):
    """Keep a zonefile-valid subset: CNAME alone and single, one DNAME,
    nothing below a DNAME, no CNAME/DNAME/NS at the apex."""
    out, cname, data, dname = [], set(), set(), set()
    for owner, kind, rdata in records:
        key = owner.lower()
        if key == "" and kind in ("CNAME", "DNAME", "NS"):
            continue
        if kind == "CNAME":
            if key in data or key in cname:
                continue
            cname.add(key)
        else:
            if key in cname or (kind == "DNAME" and key in dname):
                continue
            data.add(key)
            if kind == "DNAME":
                dname.add(key)
        out.append((owner, kind, rdata))
    below = [(o, k, r) for o, k, r in out
             if any(o.lower().endswith("." + d) or (d == "" and o) for d in dname if o.lower() != d)]
    return [r for r in out if r not in below]


@st.composite
def zone_text(draw, origin, include_dir=None):
    """One master file in varied presentation forms; returns (text, includes)."""
    records = valid_records(draw(st.lists(record(origin), max_size=18)))
    lines = [f"$ORIGIN {origin}"]
    if draw(st.booleans()):
        lines.append(f"$TTL {draw(st.sampled_from(['300', '1h', '2d3h']))}")
        soa_ttl = ""
    else:
        soa_ttl = "3600 "
    soa = f"ns1.{origin} hostmaster.{origin} 2024010101 7200 3600 1209600 300"
    if draw(st.booleans()):
        lines.append(f"@ {soa_ttl}IN SOA {soa}")
    else:  # over several lines, with comments
        parts = soa.split()
        lines.append(f"@ {soa_ttl}IN SOA {parts[0]} {parts[1]} ( ; the SOA")
        lines += [f"    {p} ; field" for p in parts[2:]]
        lines.append("    )")
    lines.append(f"@ IN NS ns1.{origin}")
    lines.append("ns1 A 192.0.2.53")
    includes = {}
    prev = None
    for i, (owner, kind, rdata) in enumerate(records):
        style = draw(st.integers(0, 9))
        if style == 0 and prev == owner and owner:
            col = "   "
        elif style == 1:
            col = absolute(owner, origin)
        elif style == 2 and not owner:
            col = "@"
        else:
            col = owner or "@"
        ttl = draw(st.sampled_from(["", "60 ", "2m ", "IN ", "60 IN ", "IN 60 "]))
        tname = kind.lower() if style == 3 else kind
        if style == 4 and " " in rdata:
            a, b = rdata.split(" ", 1)
            rdata = f"( {a}\n    {b} )"
        line = f"{col} {ttl}{tname} {rdata}"
        if style == 5:
            line += " ; comment"
        if include_dir is not None and style == 6 and col.strip():
            name = f"inc{i}.db"
            includes[name] = f"{line}\n"
            line = f"$INCLUDE {name}"
        lines.append(line)
        prev = owner
    if draw(st.booleans()):  # a second origin inside the zone
        lines.append(f"$ORIGIN deep.{origin}")
        lines.append("leaf A 192.0.2.99")
        lines.append(f"link CNAME leaf")
    return "\n".join(lines) + "\n", includes


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_generated_zones_answer_alike(data):
    nzones = data.draw(st.integers(1, 3))
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for origin in ZONES[:nzones]:
            text, includes = data.draw(zone_text(origin, d))
            p = os.path.join(d, origin.rstrip(".") + ".db")
            with open(p, "w", encoding="utf-8") as f:
                f.write(text)
            for name, body in includes.items():
                with open(os.path.join(d, name), "w", encoding="utf-8") as f:
                    f.write(body)
            paths.append(p)
        try:
            ref_zones = [parse_zone_file(p) for p in paths]
            compile_zones(ref_zones)
        except ValueError as e:  # a fault (ZoneFileError) or a compile error: raised alike
            with pytest.raises(type(e)) as got:
                compile_zone_files(paths)
            assert str(got.value) == str(e)
            return
        assert_same_answers(paths)
