"""Token shapes in the C scanner (csrc/zscan.c read_record and plain_line): a run of plain
octets is read where it lies in the file, a token that goes on with an
escape or a quote is copied, and both must read as zonefile.py reads them.
Each zone here compiles in C (no fallback to zonefile.py) and answers like
the Python path, or is refused whole with zonefile.py's `file:line: reason`.
A and AAAA addresses in odd places check the scanner's own parsers too."""
from __future__ import annotations

import pytest

from differential.test_fastcompile import assert_same_answers
from zonefront.snapshot.fastcompile import compile_zone_files
from zonefront.zonefile import ZoneFileError, parse_zone_file

HEAD = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.53\n"

SHAPES = {
    # an escape in the middle and at the end of an owner, a quote in a token
    "escapes": 'a\\.b A 192.0.2.1\nend\\. A 192.0.2.2\nx TXT a"b c"d e\\"f\n'
               'y TXT "quoted \\" run" plain\\032run\n',
    # a parenthesised record over lines with comments and tabs between tokens
    "parens": "m\tIN\t( MX 10\n\t\tmail ) ; the mail host\nmail ( A\n 192.0.2.25 )\n",
    # CR LF line ends and blank-only lines
    "crlf": "c A 192.0.2.3\r\n\r\n \t\r\nd AAAA 2001:db8::3\r\n",
    # the last record without a newline: its tokens end at the end of the text
    "no-newline": "last A 198.51.100.7",
    "no-newline-quoted": 'last TXT "end"',
    # one character tokens, and a token right before ';'
    "short": "z A 10.0.0.1;c\nq CNAME z\nw 0 A 0.0.0.0\n",
    # names lower-cased eight octets at a time (zftable.h zf_lower_copy):
    # lengths around the word size, letters at the word edges, escaped
    # octets >= 0x80 and the characters next to A-Z in ASCII
    "case": "".join(f"{o} A 192.0.2.{i}\n" for i, o in enumerate([
        "A", "AbCdEfG", "ABCDEFGH", "aBcDeFgHi", "ZZZZZZZZZZZZZZZ", "Q" * 16, "xY" * 9,
        "@AZ[", "`az{", "Mx\\200Yz", "\\195\\169T\\200ABCDEFGHIJ", "Deep.Er.NAMES.Here",
        "a" * 63 + ".B" + "C" * 62]))
        + "PTRS PTR Target.EXAMPLE.com.\nm MX 1 \\200MAIL.Example.COM.\n",
    # the longest label, and a name of exactly 255 octets (the origin is 13)
    "limits": "{0}.{0}.{0}.{1} A 192.0.2.9\n{2} A 192.0.2.8\n".format("c" * 63, "d" * 49, "b" * 63),
    # an address written as a quoted string is still an address
    "quoted-address": 'x A "192.0.2.1"\n',
}


@pytest.mark.parametrize("body", list(SHAPES.values()), ids=list(SHAPES))
def test_token_shapes_compile_in_c_and_answer_like_zonefile(tmp_path, body):
    p = tmp_path / "z.db"
    p.write_bytes((HEAD + body).encode())
    stats = assert_same_answers([str(p)])
    assert stats.python_files == [] and stats.python_all == ""


FAULTS = {
    "escape-at-end": "x TXT a\\",
    "unterminated-mid-token": 'x TXT a"b c\n',
    "ipv4-in-pieces": "x A 192.0.2 .1\n",
    "ipv4-escaped": "x A 192.0.2.\\049\n",
    "ipv4-leading-zero-last": "x A 192.0.2.01\n",
    "ipv4-trailing-text": "x A 192.0.2.1x\n",
    "unclosed-paren-at-end": "x A ( 192.0.2.1",
    "label-of-64": "e" * 64 + " A 192.0.2.1\n",
    "escaped-label-of-64": "e" * 63 + "\\065 A 192.0.2.1\n",
    "name-of-256": "{0}.{0}.{0}.{1} A 192.0.2.1\n".format("c" * 63, "d" * 50),
    "empty-label": "x..y A 192.0.2.1\n",
}


@pytest.mark.parametrize("body", list(FAULTS.values()), ids=list(FAULTS))
def test_broken_tokens_are_refused_as_zonefile_refuses_them(tmp_path, body):
    p = tmp_path / "z.db"
    p.write_bytes((HEAD + body).encode())
    with pytest.raises(ZoneFileError) as want:
        parse_zone_file(str(p))
    with pytest.raises(ZoneFileError) as got:
        compile_zone_files([str(p)])
    assert str(got.value) == str(want.value)
