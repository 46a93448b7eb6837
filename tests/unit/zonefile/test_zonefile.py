"""Master-file reading and export; dnspython's zone reader is the oracle."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import dns.rdataclass
import dns.zone
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zonefront import model, rdata, zonefile
from zonefront.zonefile import ZoneFileError, parse_zone_file, parse_zone_text, zone_to_text

DATA = Path(__file__).parents[2] / "data" / "zones"
APEX = model.name_from_text("example.com.")
SOA = "@ 3600 IN SOA ns1 hostmaster 1 7200 900 1209600 300\n"


def n(text: str) -> bytes:
    return model.name_lower(model.name_from_text(text))


def records(zone, owner: str, rtype: int) -> list[str]:
    rs = zone.get(n(owner), rtype)
    assert rs is not None, f"no {rdata.rrtype_to_text(rtype)} at {owner}"
    return [rdata.to_text(rtype, w) for w in rs.rdatas]


def parse(body: str, **kw) -> model.Zone:
    return parse_zone_text("$ORIGIN example.com.\n$TTL 300\n" + SOA + body, None, "z.db", **kw)


def error_of(text: str, origin="example.com.", **kw) -> ZoneFileError:
    with pytest.raises(ZoneFileError) as info:
        parse_zone_text(text, origin, "zone.db", **kw)
    return info.value


# --- the fixture zone ----------------------------------------------------

def test_fixture_zone():
    z = parse_zone_file(DATA / "example.com.db")
    assert z.origin == APEX
    assert z.source.endswith("example.com.db")
    assert z.serial == 2024010101
    soa = records(z, "example.com.", model.TYPE_SOA)
    assert soa == ["ns1.example.com. hostmaster.example.com. 2024010101 3600 900 864000 300"]
    assert z.get(APEX, model.TYPE_SOA).ttl == 3600
    assert records(z, "example.com.", model.TYPE_NS) == ["ns1.example.com.", "ns2.example.net."]
    assert records(z, "example.com.", model.TYPE_TXT) == [
        '"v=spf1 mx -all" "second \\"quoted\\" part" "unquoted"'
    ]
    assert z.get(APEX, model.TYPE_TXT).ttl == 600
    assert z.get(n("ns1.example.com."), model.TYPE_A).ttl == 300  # class before TTL
    assert records(z, "mail.example.com.", model.TYPE_AAAA) == ["2001:db8::2"]  # blank owner
    assert records(z, "www.example.com.", model.TYPE_CNAME) == ["example.com."]
    assert records(z, "a\\.dotted.example.com.", model.TYPE_TXT) == ['"label with an escaped dot"']
    assert z.get(b"\x03abc" + APEX, model.TYPE_TXT) is not None  # \065bc, lower-cased
    # $INCLUDE with an origin, and a nested include relative to sub/
    assert records(z, "hosts.example.com.", model.TYPE_A) == ["192.0.2.40"]
    assert records(z, "h1.hosts.example.com.", model.TYPE_A) == ["192.0.2.41"]
    assert records(z, "h2.hosts.example.com.", model.TYPE_A) == ["192.0.2.42"]
    # the including file's origin carries on after the include
    assert records(z, "after-include.example.com.", model.TYPE_A) == ["192.0.2.50"]
    assert records(z, "x.other.example.com.", model.TYPE_A) == ["192.0.2.60"]
    assert z.get(n("other.example.com."), 65280).rdatas == [b"\x0a\x0b\x0c\x0d"]


def test_fixture_matches_dnspython():
    """Every RRset the same as dnspython's reader gives (without the
    $INCLUDE, which dnspython resolves against the working directory)."""
    text = "".join(line for line in (DATA / "example.com.db").read_text().splitlines(True)
                   if not line.startswith("$INCLUDE"))
    ours = parse_zone_text(text, None)
    theirs = dns.zone.from_text(text, relativize=False, check_origin=False)
    count = 0
    for name, node in theirs.nodes.items():
        for rds in node.rdatasets:
            rs = ours.get(model.name_lower(name.to_wire()), rds.rdtype)
            assert rs is not None, (name, rds.rdtype)
            assert sorted(rs.rdatas) == sorted(rd.to_wire() for rd in rds)
            assert rs.ttl == rds.ttl
            count += 1
    assert count == len(ours.rrsets)


# --- syntax ------------------------------------------------------------

def test_relative_names_at_and_blank_owner():
    z = parse("www A 192.0.2.1\n  A 192.0.2.2\n@ MX 10 www\nabs.example.com. A 192.0.2.3\n")
    assert records(z, "www.example.com.", model.TYPE_A) == ["192.0.2.1", "192.0.2.2"]
    assert records(z, "example.com.", model.TYPE_MX) == ["10 www.example.com."]
    assert records(z, "abs.example.com.", model.TYPE_A) == ["192.0.2.3"]


@pytest.mark.parametrize("line", [
    "h 60 IN A 192.0.2.1", "h IN 60 A 192.0.2.1", "h 60 A 192.0.2.1", "h in 1m a 192.0.2.1",
    "h CLASS1 60 A 192.0.2.1",
])
def test_ttl_and_class_in_either_order(line):
    z = parse(line + "\n")
    rs = z.get(n("h.example.com."), model.TYPE_A)
    assert rs.ttl == 60 and rs.rdatas == [b"\xc0\x00\x02\x01"]


def test_ttl_defaults():
    # $TTL applies to records without a TTL; an explicit TTL wins
    z = parse_zone_text("$TTL 2h\n" + SOA.replace(" 3600", "") + "a A 192.0.2.1\nb 5 A 192.0.2.2\n"
                        "c A 192.0.2.3\n", "example.com.")
    assert z.soa.ttl == 7200
    assert z.get(n("a.example.com."), 1).ttl == 7200
    assert z.get(n("b.example.com."), 1).ttl == 5
    assert z.get(n("c.example.com."), 1).ttl == 7200
    # without $TTL: the last explicit TTL (RFC 1035), SOA minimum for a bare SOA
    z = parse_zone_text("@ SOA ns hm 1 2 3 4 77\na A 192.0.2.1\nb 9 A 192.0.2.2\nc A 192.0.2.3\n",
                        "example.com.")
    assert [z.get(n(f"{h}.example.com."), 1).ttl for h in "abc"] == [77, 9, 9]
    # default_ttl acts as a leading $TTL
    z = parse_zone_text("@ SOA ns hm 1 2 3 4 77\n", "example.com.", default_ttl=42)
    assert z.soa.ttl == 42


def test_first_ttl_of_an_rrset_is_kept_and_duplicates_dropped():
    z = parse("a 10 A 192.0.2.1\na 20 A 192.0.2.2\na 30 A 192.0.2.1\n")
    rs = z.get(n("a.example.com."), 1)
    assert rs.ttl == 10 and len(rs.rdatas) == 2


def test_parentheses_comments_and_quotes():
    z = parse(
        'txt TXT ( "one ; not a comment"  ; a comment\n'
        '          "two ( not a paren"\n'
        "          three ) ; done\n"
        "mx MX (10\n"
        "   mail.example.net. )\n"
        "; a comment line\n"
        "\n"
        "   ; an indented comment line\n"
        "esc TXT \"\\\"q\\\" \\\\ \\065\"\n"
    )
    assert records(z, "txt.example.com.", 16) == [
        '"one ; not a comment" "two ( not a paren" "three"'
    ]
    assert records(z, "mx.example.com.", 15) == ["10 mail.example.net."]
    assert z.get(n("esc.example.com."), 16).rdatas == [b'\x07"q" \\ A']


def test_escaped_labels_in_owner_and_rdata():
    z = parse("a\\.b CNAME x\\.y.example.net.\n\\255\\000z A 192.0.2.1\nsp\\ ace A 192.0.2.2\n")
    owner = model.name_from_labels([b"a.b"]) [:-1] + APEX
    assert z.get(owner, 5).rdatas == [model.name_from_labels([b"x.y", b"example", b"net"])]
    assert z.get(b"\x03\xff\x00z" + APEX, 1) is not None
    assert z.get(b"\x06sp ace" + APEX, 1) is not None


def test_case_insensitive_owners_case_kept_in_rdata():
    z = parse("WWW A 192.0.2.1\nwww A 192.0.2.2\nc CNAME Target.Example.NET.\n")
    assert len(z.get(n("www.example.com."), 1).rdatas) == 2
    assert records(z, "c.example.com.", 5) == ["Target.Example.NET."]


def test_crlf_line_endings():
    text = "$ORIGIN example.com.\r\n$TTL 60\r\n" + SOA.replace("\n", "\r\n") + 'a TXT "x"\r\n'
    z = parse_zone_text(text, None)
    assert records(z, "a.example.com.", 16) == ['"x"']


def test_origin_argument_forms():
    body = "$TTL 60\n@ SOA ns hm 1 2 3 4 5\nwww A 192.0.2.1\n"
    for origin in ("example.com.", "example.com", "Example.COM.", APEX):
        z = parse_zone_text(body, origin)
        assert z.origin == APEX
        assert z.get(n("www.example.com."), 1) is not None


def test_origin_from_soa_owner():
    z = parse_zone_text("Example.com. 60 IN SOA ns.example.com. hm.example.com. 1 2 3 4 5\n"
                        "www.example.com. 60 A 192.0.2.1\n", None)
    assert z.origin == APEX


def test_dollar_origin_relative_to_current_origin():
    z = parse("$ORIGIN sub\nwww A 192.0.2.1\n$ORIGIN example.com.\nback A 192.0.2.2\n")
    assert z.get(n("www.sub.example.com."), 1) is not None
    assert z.get(n("back.example.com."), 1) is not None


def test_dollar_ttl_units():
    z = parse("$TTL 1w3d\na A 192.0.2.1\n$TTL 90m\nb A 192.0.2.2\n")
    assert z.get(n("a.example.com."), 1).ttl == 864000
    assert z.get(n("b.example.com."), 1).ttl == 5400


def test_generic_rdata_over_several_lines():
    z = parse("g TYPE65280 \\# 6 ( 0102\n 0304\n 0506 )\na TYPE1 \\# 4 C0000201\n")
    assert z.get(n("g.example.com."), 65280).rdatas == [bytes(range(1, 7))]
    assert z.get(n("a.example.com."), 1).rdatas == [b"\xc0\x00\x02\x01"]


def test_cname_beside_dnssec_records_is_allowed():
    z = parse("c CNAME t.example.net.\nc RRSIG CNAME 8 3 300 20240101000000 20230101000000 1 "
              "example.com. AAAA\nc NSEC d.example.com. CNAME RRSIG NSEC\n")
    assert z.get(n("c.example.com."), model.TYPE_NSEC) is not None


# --- $INCLUDE ------------------------------------------------------------

def test_include_loop_detected():
    e = pytest.raises(ZoneFileError, parse_zone_file, DATA / "loop_a.db").value
    assert e.filename.endswith("loop_b.db") and e.line == 2
    assert "$INCLUDE loop" in e.reason


def test_include_depth_limit(tmp_path):
    depth = zonefile.MAX_INCLUDE_DEPTH + 2
    (tmp_path / "top.db").write_text("$TTL 60\n@ SOA ns hm 1 2 3 4 5\n$INCLUDE f0.db\n")
    for i in range(depth):
        (tmp_path / f"f{i}.db").write_text(f"h{i} A 192.0.2.1\n$INCLUDE f{i + 1}.db\n")
    (tmp_path / f"f{depth}.db").write_text("")
    e = pytest.raises(ZoneFileError, parse_zone_file, tmp_path / "top.db", "example.com.").value
    assert "nested deeper than" in e.reason and e.line == 2


def test_include_missing_file(tmp_path):
    (tmp_path / "top.db").write_text("$TTL 60\n@ SOA ns hm 1 2 3 4 5\n\n$INCLUDE nope.db\n")
    e = pytest.raises(ZoneFileError, parse_zone_file, tmp_path / "top.db", "example.com.").value
    assert e.line == 4 and "cannot read $INCLUDE file 'nope.db'" in e.reason


def test_include_refused_without_base():
    e = error_of("$TTL 60\n@ SOA ns hm 1 2 3 4 5\n$INCLUDE /etc/passwd\n")
    assert e.line == 3 and "not allowed" in e.reason


def test_include_with_base_and_origin(tmp_path):
    (tmp_path / "part.db").write_text("@ A 192.0.2.7\nx A 192.0.2.8\n")
    z = parse_zone_text("$TTL 60\n@ SOA ns hm 1 2 3 4 5\n"
                        "$INCLUDE \"part.db\" part\nafter A 192.0.2.9\n",
                        "example.com.", include_base=str(tmp_path))
    assert records(z, "part.example.com.", 1) == ["192.0.2.7"]
    assert records(z, "x.part.example.com.", 1) == ["192.0.2.8"]
    assert records(z, "after.example.com.", 1) == ["192.0.2.9"]


def test_error_in_included_file_names_that_file(tmp_path):
    (tmp_path / "bad.db").write_text("ok A 192.0.2.1\n\nbad MX 70000 mail\n")
    (tmp_path / "top.db").write_text("$TTL 60\n@ SOA ns hm 1 2 3 4 5\n$INCLUDE bad.db\n")
    e = pytest.raises(ZoneFileError, parse_zone_file, tmp_path / "top.db", "example.com.").value
    assert e.filename == os.path.join(str(tmp_path), "bad.db") and e.line == 3
    assert str(e) == f"{e.filename}:3: MX preference 70000 out of range 0..65535"


# --- errors ----------------------------------------------------------------

HEAD = "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n"  # lines 1-2

ERRORS = [
    (HEAD + "mx MX 70000 mail\n", 3, "MX preference 70000 out of range 0..65535"),
    (HEAD + "a A 1.2.3\n", 3, "bad IPv4 address '1.2.3'"),
    (HEAD + "\n\nt TXT \"" + "x" * 256 + "\"\n", 5, "TXT string longer than 255 octets"),
    (HEAD + "t TXT \"open\n", 3, "unterminated quoted string"),
    (HEAD + "t TXT ( \"a\"\n\"b\"\n", 3, "'(' without matching ')'"),
    (HEAD + "t TXT \"a\" )\n", 3, "')' without matching '('"),
    (HEAD + "a BOGUS 1\n", 3, "unknown type 'BOGUS'"),
    (HEAD + "a 60 IN\n", 3, "missing type or rdata"),
    (HEAD + "a 1x A 192.0.2.1\n", 3, "bad TTL '1x'"),
    (HEAD + "a 2147483648 A 192.0.2.1\n", 3, "TTL 2147483648 out of range 0..2147483647"),
    (HEAD + "a CH A 192.0.2.1\n", 3, "class CH is not supported, only IN"),
    (HEAD + "a CLASS3 TXT x\n", 3, "class CH is not supported"),
    (HEAD + "a HS 60 A 192.0.2.1\n", 3, "class HS is not supported"),
    (HEAD + "a ANY 192.0.2.1\n", 3, "ANY is a meta-type"),
    (HEAD + "www.example.net. A 192.0.2.1\n", 3, "www.example.net. is out of zone example.com."),
    (HEAD + "$ORIGIN example.org.\nwww A 192.0.2.1\n", 4, "www.example.org. is out of zone"),
    (HEAD + "\n@ SOA ns hm 2 2 3 4 5\n", 4,
     "more than one SOA record at example.com. (first at line 2)"),
    (HEAD + "sub SOA ns hm 1 2 3 4 5\n", 3, "SOA is at sub.example.com., not at the zone origin"),
    ("$TTL 60\na A 192.0.2.1\n", 2, "no SOA record"),
    (HEAD + "c CNAME x.\nc CNAME y.\n", 4,
     "more than one CNAME record at c.example.com. (first at line 3)"),
    (HEAD + "c CNAME x.\n\nc A 192.0.2.1\n", 5, "CNAME and other data at c.example.com."),
    (HEAD + "c A 192.0.2.1\nc CNAME x.\n", 4, "CNAME and other data at c.example.com."),
    (HEAD + "d DNAME x.\nd DNAME y.\n", 4, "more than one DNAME record at d.example.com."),
    (HEAD + "d DNAME x.\nsub.d DNAME y.\n", 4,
     "sub.d.example.com. is below the DNAME at d.example.com."),
    (HEAD + "a.d A 192.0.2.1\nd DNAME x.\n", 4, "a.d.example.com. is below the DNAME"),
    ("$TTL 60\n A 192.0.2.1\n", 2, "no owner name"),
    ("a A 192.0.2.1\n", 1, "no TTL given, and no $TTL or earlier TTL"),
    (HEAD + "$GENERATE 1-2 h$ A 192.0.2.$\n", 3, "unsupported directive $GENERATE"),
    (HEAD + "$TTL\n", 3, "$TTL takes exactly one TTL"),
    (HEAD + "$TTL 1q\n", 3, "bad TTL '1q'"),
    (HEAD + "$ORIGIN\n", 3, "$ORIGIN takes exactly one name"),
    (HEAD + "$INCLUDE\n", 3, "$INCLUDE takes a file name"),
    (HEAD + "a..b A 192.0.2.1\n", 3, "empty label"),
    (HEAD + "a" * 64 + " A 192.0.2.1\n", 3, "label length 64 out of range 1..63"),
    (HEAD + ("a" * 63 + ".") * 4 + " A 192.0.2.1\n", 3, "more than 255"),
    (HEAD + ("a" * 60 + ".") * 3 + "a" * 63 + " A 192.0.2.1\n", 3,
     "longer than 255 octets with its origin"),
    (HEAD + "t TXT \"\\256\"\n", 3, "escape \\256 is over 255"),
    (HEAD + "g TYPE65280 \\# 3 0102\n", 3, "length 3 does not match 2 octets"),
    (HEAD + "s SVCB 1 . port=443 port=80\n", 3, "duplicate SvcParam port"),
]


@pytest.mark.parametrize(("text", "line", "reason"), ERRORS)
def test_errors_name_line_and_reason(text, line, reason):
    e = error_of(text)
    assert e.filename == "zone.db"
    assert e.line == line, e
    assert reason in e.reason, e
    assert str(e) == f"zone.db:{line}: {e.reason}"
    assert isinstance(e, ValueError)


def test_relative_name_without_origin():
    e = error_of("$TTL 60\nwww A 192.0.2.1\n", origin=None)
    assert e.line == 2 and "relative name 'www' with no origin" in e.reason


def test_out_of_zone_before_soa_when_apex_is_the_soa_owner():
    e = error_of("$TTL 60\nwww.example.net. A 192.0.2.1\nexample.com. SOA ns. hm. 1 2 3 4 5\n",
                 origin=None)
    assert e.line == 2 and "out of zone example.com." in e.reason


def test_first_error_in_file_order_for_whole_zone_rules():
    e = error_of(HEAD + "b A 192.0.2.1\na A 192.0.2.1\na CNAME x.\nb CNAME y.\n")
    assert e.line == 5 and "at a.example.com." in e.reason


def test_file_not_utf8(tmp_path):
    p = tmp_path / "z.db"
    p.write_bytes(b"$TTL 60\n@ SOA ns hm 1 2 3 4 5\nt TXT \"\xff\"\n")
    e = pytest.raises(ZoneFileError, parse_zone_file, p, "example.com.").value
    assert e.line == 3 and "not UTF-8" in e.reason


# --- export ---------------------------------------------------------------

def test_export_round_trip_fixture():
    z = parse_zone_file(DATA / "example.com.db")
    text = zone_to_text(z)
    again = parse_zone_text(text, None, z.source)
    assert again == z
    assert text.splitlines()[0] == "$ORIGIN example.com."
    assert text.splitlines()[1].startswith("@ 3600 IN SOA ")


def test_export_canonical_order():
    z = parse("z A 192.0.2.1\na.z A 192.0.2.1\nZA A 192.0.2.1\n*.z A 192.0.2.1\n"
              "yljkjljk A 192.0.2.1\n"
              "\\001.z A 192.0.2.1\nz.a A 192.0.2.1\n@ MX 1 a\n@ A 192.0.2.1\n")
    owners = [line.split()[0] for line in zone_to_text(z).splitlines()[1:]]
    # RFC 4034 §6.1's own example order, restricted to these names
    assert owners == ["@", "@", "@", "z.a", "yljkjljk", "z", "\\001.z", "*.z", "a.z", "za"]
    types = [line.split()[3] for line in zone_to_text(z).splitlines()[1:4]]
    assert types == ["SOA", "A", "MX"]
    keys = sorted([n("z.example.com."), n("a.z.example.com."), APEX, b"\x01\x01\x01z" + APEX],
                  key=zonefile.canonical_key)
    assert keys == [APEX, n("z.example.com."), b"\x01\x01\x01z" + APEX, n("a.z.example.com.")]


def test_export_out_of_origin_names_and_odd_labels():
    z = parse("\\$dollar A 192.0.2.1\n\\@at A 192.0.2.1\n\\;semi TXT x\n\\(p A 192.0.2.1\n"
              "\\\"q A 192.0.2.1\n123 A 192.0.2.1\n")
    assert parse_zone_text(zone_to_text(z), None, "z.db") == z


def test_export_matches_dnspython_reading():
    z = parse_zone_file(DATA / "example.com.db")
    theirs = dns.zone.from_text(zone_to_text(z), relativize=False, check_origin=False)
    total = sum(len(rds) for _, node in theirs.nodes.items() for rds in node.rdatasets)
    assert total == sum(len(rs.rdatas) for rs in z.rrsets.values())
    for name, node in theirs.nodes.items():
        for rds in node.rdatasets:
            assert rds.rdclass == dns.rdataclass.IN
            assert sorted(rd.to_wire() for rd in rds) == sorted(
                z.get(model.name_lower(name.to_wire()), rds.rdtype).rdatas)


label_bytes = st.binary(min_size=1, max_size=20)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(label_bytes, min_size=1, max_size=3), min_size=1, max_size=8))
def test_owner_escapes_round_trip_through_zone_text(owners):
    z = model.Zone(APEX, source="p.db")
    z.add(APEX, model.TYPE_SOA, 60, rdata.from_text(6, "ns hm 1 2 3 4 5", APEX))
    for i, labs in enumerate(owners):
        owner = model.name_from_labels(labs)[:-1] + APEX
        z.add(owner, model.TYPE_A, 60, bytes((192, 0, 2, i)))
    assert parse_zone_text(zone_to_text(z), None, "p.db") == z
    assert parse_zone_text(zone_to_text(z), "example.com.", "p.db") == z


# --- size ----------------------------------------------------------------

def _gen_zone():
    sys.path.insert(0, str(Path(__file__).parents[3] / "tools"))
    try:
        import gen_zone
    finally:
        sys.path.pop(0)
    return gen_zone


def test_generated_zone_matches_dnspython():
    text = "".join(_gen_zone().generate(3000, seed=7))
    ours = parse_zone_text(text, None)
    theirs = dns.zone.from_text(text, relativize=False, check_origin=False)
    seen = 0
    for name, node in theirs.nodes.items():
        for rds in node.rdatasets:
            rs = ours.get(model.name_lower(name.to_wire()), rds.rdtype)
            assert sorted(rs.rdatas) == sorted(rd.to_wire() for rd in rds)
            assert rs.ttl == rds.ttl
            seen += 1
    assert seen == len(ours.rrsets)


def test_generated_zone_loads(tmp_path):
    gen_zone = _gen_zone()
    p = tmp_path / "gen.db"
    p.write_text("".join(gen_zone.generate(20000)))
    start = time.process_time()
    z = parse_zone_file(p)
    spent = time.process_time() - start
    count = sum(len(rs.rdatas) for rs in z.rrsets.values())
    assert count == 20000 + 4
    assert spent < 5  # ~0.15 s measured; 1M records take ~7 s of CPU
    assert parse_zone_text(zone_to_text(z), None, z.source) == z
