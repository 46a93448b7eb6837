"""Line shapes in the C scanner (csrc/zscan.c): the common line (plain
tokens between blanks, its newline within 64 octets) is tokenized from
SSE2 bit masks by plain_line, every other line by read_record, and a last
line without a newline from a copy that has one.  Each shape is written
twice: followed by enough records that its line is read by plain_line when
it can be, and as the last line of the file (read_record, or the copy).
Either way it compiles in C (no fallback to zonefile.py) and answers like
the Python path, or is refused whole with zonefile.py's `file:line: reason`."""
from __future__ import annotations

import pytest

from differential.test_fastcompile import assert_same_answers
from zonefront.zonefile import ZoneFileError, parse_zone_file
from zonefront.snapshot.fastcompile import compile_zone_files

HEAD = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.53\n"
# records after a shape: its lines then have 64 octets of text ahead of them
PAD = "".join(f"pad{i} A 198.51.100.{i}\n" for i in range(6))


def _lines_around_64() -> str:
    """Lines of 56 to 72 octets (newline included): the newline before, at
    and after the end of plain_line's four 16-octet loads, and tokens across
    their edges."""
    out = []
    for n in range(56, 73):
        rest = f" A 192.0.2.{n}\n"
        owner = f"w{n}-" + "x" * (n - len(rest) - 4)
        out.append(owner + rest)
        assert len(out[-1]) == n
    return "".join(out)


SHAPES = {
    # type and class words in any case, TTL and class in either order
    "mixed-case": "a 300 in a 192.0.2.1\nb Aaaa 2001:db8::1\nc iN TxT hello\nd 1H In Mx 10 a\n"
                  "e cname a\nf in 60 A 192.0.2.6\ng 60 IN A 192.0.2.7\nh IN 2w A 192.0.2.8\n"
                  "i CLASS1 60 A 192.0.2.9\nj type65280 \\# 2 abcd\n",
    # tabs, CR LF, several blanks, and a line starting with a blank (same owner)
    "blanks": "a\tIN\tA\t192.0.2.1\r\n\tIN\tAAAA\t2001:db8::1\r\nb   A    192.0.2.2  \n"
              "   TXT  \t x\nc \t \t MX\t10 b\r\n",
    # comments after records and alone, with quotes and parentheses inside
    "comments": "a A 192.0.2.1 ; a comment\n; alone, with \"a quote and ( a paren\n"
                "b A 192.0.2.2;x\n   ; indented\nc TXT \"in ; quotes\" ; after\n",
    # records over lines in parentheses
    "parens": "a ( IN\n A\n 192.0.2.1 ) ; closed\nb MX ( 10\n\ta )\nc (A) (192.0.2.3)\n",
    # lines longer than plain_line reads, and long tokens
    "long": "a TXT " + " ".join(f"word{i}" for i in range(40)) + "\n"
            + "long-" + "l" * 58 + " A 192.0.2.1\n"
            + "b TXT \"" + "q" * 200 + "\"\n",
    "around-64": _lines_around_64(),
    # labels of 7, 8, 9, 15, 16 and 17 octets, dots on the word edges,
    # escapes in names, mixed case owners and relative and absolute targets
    "names": "abcdefg.h A 192.0.2.1\nabcdefgh.i A 192.0.2.2\nabcdefghi.j A 192.0.2.3\n"
             "ABCDEFGHIJKLMNO.p A 192.0.2.4\nAbCdEfGhIjKlMnOp.Q A 192.0.2.5\n"
             "abcdefghijklmnopq.r.s.t.u.v A 192.0.2.6\na\\.b A 192.0.2.7\n\\065bc A 192.0.2.8\n"
             "x\\032y A 192.0.2.9\nm MX 10 Mail.Example.COM.\nn CNAME abcdefgh.Example.Com.\n"
             "@ TXT apex\nq.EXAMPLE.COM. A 192.0.2.10\n"
             # an escape that ends a name of 8 octets or more (the word reads
             # past it had a 64-bit shift; tests/fuzz/regressions/zscan)
             "abcdefgh\\065 A 192.0.2.11\nabcdefghi\\2 A 192.0.2.12\nabcdefg.hijklmn\\. A 192.0.2.13\n",
    # directives between records: the origin and TTL they set apply after them
    "directives": "$ORIGIN Sub.Example.COM.\nx A 192.0.2.1\n@ A 192.0.2.2\n$TTL 1h\ny A 192.0.2.3\n"
                  "$ORIGIN example.com.\nz A 192.0.2.4\n",
    # addresses on the word edges and the other rdata the scanner parses
    "rdata": "a A 1.2.3.4\nb A 255.255.255.255\nc AAAA ::ffff:192.0.2.1\nd SRV 1 2 3 abcdefgh\n"
             "e CAA 0 issue \"ca.example\"\nf TXT \"a\\\"b\" c\\032d\nh SPF \"v=spf1 -all\"\n",
}


def _zone(tmp_path, body: str, last: bool) -> str:
    p = tmp_path / "z.db"
    p.write_bytes((HEAD + (body if last else body + PAD)).encode())
    return str(p)


@pytest.mark.parametrize("last", [False, True], ids=["followed", "last"])
@pytest.mark.parametrize("body", list(SHAPES.values()), ids=list(SHAPES))
def test_line_shapes_compile_in_c_and_answer_like_zonefile(tmp_path, body, last):
    stats = assert_same_answers([_zone(tmp_path, body, last)])
    assert stats.python_files == [] and stats.python_all == ""


@pytest.mark.parametrize("tail", ["z A 192.0.2.9", "z ( A\n 192.0.2.9 )", "z TXT \"end\"", "  A 192.0.2.9",
                                  "z A 192.0.2.9 ; no newline", "z MX 10 " + "m" * 60])
def test_last_line_without_newline_after_long_text(tmp_path, tail):
    """The text has a newline 64 octets and more before its end; the last
    line, without one, is read from a copy."""
    p = tmp_path / "z.db"
    p.write_bytes((HEAD + PAD + tail).encode())
    stats = assert_same_answers([str(p)])
    assert stats.python_files == [] and stats.python_all == ""


def test_include_between_plain_lines(tmp_path):
    (tmp_path / "inc.db").write_text("x A 192.0.2.1\n\tAAAA 2001:db8::1\ny TXT \"in the include\"")
    p = tmp_path / "z.db"
    p.write_text(HEAD + PAD + "$INCLUDE inc.db sub.example.com.\nafter A 192.0.2.2\n" + PAD.replace("pad", "more"))
    stats = assert_same_answers([str(p)])
    assert stats.python_files == [] and stats.python_all == ""


@pytest.mark.parametrize("body", ["x TXT caf\u00e9\n", "x TXT \"caf\u00e9 au lait\" and more words\n"])
def test_non_ascii_outside_quotes_is_read_by_zonefile(tmp_path, body):
    """Non-ASCII outside quotes stops the C scan (plain_line leaves it to
    read_record, which refuses it): zonefile.py reads that file instead,
    and the answers are the same."""
    path = _zone(tmp_path, body, False)
    stats = assert_same_answers([path])
    if body.startswith("x TXT caf"):
        assert stats.python_files == [path]
    else:
        assert stats.python_files == []  # inside quotes it is the token's text


FAULTS = {
    "close-without-open": "x A 192.0.2.1 )\n",
    "unterminated-quote": "x TXT \"no end\n",
    "backslash-at-end": "x TXT a\\\n",
    "open-without-close": "x ( A 192.0.2.1\n",
    "bad-address": "x A 192.0.2.256\n",
    "bad-type": "x IN QQQ 1\n",
    "bad-class": "x CH A 192.0.2.1\n",
    "label-of-64": "e" * 64 + " A 192.0.2.1\n",
    "empty-label": "abcdefgh..i A 192.0.2.1\n",
}


@pytest.mark.parametrize("last", [False, True], ids=["followed", "last"])
@pytest.mark.parametrize("body", list(FAULTS.values()), ids=list(FAULTS))
def test_broken_lines_are_refused_as_zonefile_refuses_them(tmp_path, body, last):
    path = _zone(tmp_path, body, last)
    with pytest.raises(ZoneFileError) as want:
        parse_zone_file(path)
    with pytest.raises(ZoneFileError) as got:
        compile_zone_files([path])
    assert str(got.value) == str(want.value)


_DIGESTS = """
import hashlib, sys
from zonefront.snapshot.fastcompile import Stats, compile_zone_files
for path in sys.argv[1:]:
    stats = Stats()
    arrays = compile_zone_files([path], stats).arrays()
    h = hashlib.sha256()
    for k in sorted(arrays):
        h.update(k.encode() + bytes(arrays[k]))
    print(h.hexdigest(), len(stats.python_files))
"""


def test_sse2_plain_line_compiles_the_shapes_as_avx2_does(tmp_path):
    """plain_line has an AVX2 form, chosen when the CPU has it, and the SSE2
    form every x86-64 has; ZONEFRONT_SCAN_NO_AVX2 (read once per process)
    forces the SSE2 one.  Both compile every shape in C to the same arrays."""
    import os
    import subprocess
    import sys

    paths = []
    for i, body in enumerate(SHAPES.values()):
        p = tmp_path / f"z{i}.db"
        p.write_bytes((HEAD + body + PAD).encode())
        paths.append(str(p))
    out = {}
    for name, extra in (("default", {}), ("sse2", {"ZONEFRONT_SCAN_NO_AVX2": "1"})):
        run = subprocess.run([sys.executable, "-c", _DIGESTS, *paths], check=True, capture_output=True,
                             env=dict(os.environ, **extra), text=True)
        out[name] = run.stdout.split("\n")
    assert out["sse2"] == out["default"]
    assert all(line.endswith(" 0") for line in out["default"] if line)  # no file left to zonefile.py
