"""rdata text <-> wire: dnspython is the independent oracle for the wire form."""
from __future__ import annotations

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zonefront import model, rdata
from zonefront.rdata import RdataError

ORIGIN_TEXT = "example.com."
ORIGIN = model.name_from_text(ORIGIN_TEXT)
DNS_ORIGIN = dns.name.from_text(ORIGIN_TEXT)

KEY_B64 = (
    "AwEAAagAIKlVZrpC6Ia7gEzahOR+9W29euxhJhVVLOyQbSEW0O8gcCjFFVQUTf6v58fLjwBd0YI0EzrAcQqBGCzh"
    "/RStIoO8g0NfnfL2MTJRkxoXbfDaUeVPQuYEhg37NZWAJQ9VnMVDxP/VHL496M/QZxkjf5/Efucp2gaDX6RS6CXp"
    "oY68LsvPVjR0ZSwzz1apAzvN9dlzEheX7ICJBBtuA6G3LQpzW5hOA2hzCTMjJPJ8LbqF6dsV6DoBQzgul0sGIcGO"
    "Yl7OyQdXfZ57relSQageu+ipAdTTJ25AsRTAoub8ONGcLmqrAmRLKBP1dfwhYB4N7knNnulqQxA+Uk1ihz0="
)

# (type, presentation text).  Each one is checked against dnspython's wire
# form, and our own to_text must read back to the same octets.
CASES = [
    ("A", "192.0.2.1"),
    ("A", "0.0.0.0"),
    ("AAAA", "2001:db8::1"),
    ("AAAA", "::ffff:192.0.2.1"),
    ("NS", "ns1"),
    ("NS", "ns1.example.net."),
    ("CNAME", "@"),
    ("CNAME", "Target.Example.NET."),
    ("DNAME", "example.org."),
    ("PTR", "host.example.com."),
    ("MX", "10 mail"),
    ("MX", "0 ."),
    ("MX", "65535 mx.example.net."),
    ("SOA", "ns1 hostmaster 2024010101 3600 900 604800 300"),
    ("SOA", "ns1.example.com. h.example.com. ( 1 1h 15m 1w3d 1d )"),
    ("TXT", '"hello world"'),
    ("TXT", '"a" "b" c'),
    ("TXT", '"quote \\" backslash \\\\ octal \\255 \\000"'),
    ("TXT", '""'),
    ("TXT", '"' + "x" * 255 + '"'),
    ("TXT", 'unquoted\\032word'),
    ("SPF", '"v=spf1 -all"'),
    ("HINFO", '"PC-Intel-700mhz" "NetBSD 1.4"'),
    ("HINFO", "cpu os"),
    ("SRV", "10 60 5060 sip.example.com."),
    ("SRV", "0 0 0 ."),
    ("CAA", '0 issue "letsencrypt.org"'),
    ("CAA", '128 iodef "mailto:security@example.com"'),
    ("CAA", '0 issuewild ";"'),
    ("CAA", '0 issue ""'),
    ("NAPTR", '100 10 "U" "E2U+sip" "!^.*$!sip:info@example.com!" .'),
    ("NAPTR", '100 50 "s" "http+I2L+I2C+I2R" "" _http._tcp.example.com.'),
    ("DS", "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118"),
    ("DS", "12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE 51ACB3D18AE3C11D 4F4F 1234"),
    ("DS", "12345 8 200 00"),
    ("CDS", "60485 RSASHA1 1 2BB183AF5F22588179A53B0A98631FAD1A292118"),
    ("DNSKEY", "257 3 8 " + KEY_B64),
    ("DNSKEY", "256 3 ECDSAP256SHA256 " + KEY_B64[:40] + " " + KEY_B64[40:88]),
    ("CDNSKEY", "257 3 8 " + KEY_B64),
    ("TLSA", "3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6"),
    ("SMIMEA", "3 0 0 308201"),
    ("SSHFP", "4 2 " + "0123456789ABCDEF" * 4),
    ("SSHFP", "1 1 DEADBEEF DEADBEEF DEADBEEF DEADBEEF 00112233"),
    ("SSHFP", "1 9 DEAD"),
    ("SVCB", "0 svc.example.net."),
    ("SVCB", "1 . alpn=h2,h3 port=443 ipv4hint=192.0.2.1,192.0.2.2"),
    ("SVCB", "16 foo.example.org. mandatory=alpn,ipv4hint alpn=h2 ipv4hint=192.0.2.1"),
    ("SVCB", '1 foo.example.com. key667="hello" key1234'),
    ("SVCB", '1 foo.example.com. key667="hello\\210qoo"'),
    ("SVCB", "1 foo.example.com. ipv6hint=2001:db8::1,2001:db8::53:1"),
    ("SVCB", '16 foo.example.org. alpn="f\\\\\\\\oo\\\\,bar,h2"'),
    ("SVCB", "1 . alpn=h3 no-default-alpn port=8443 ech=AAT+DQAA"),
    ("HTTPS", "1 . port=443 alpn=h3,h2 mandatory=port"),
    ("HTTPS", "0 www.example.com."),
    ("RRSIG", "A 8 3 86400 20240101000000 20231201000000 12345 example.com. " + KEY_B64),
    ("RRSIG", "TYPE65280 13 2 300 1704067200 1701388800 1 . AAEC"),
    ("NSEC", "host.example.com. A MX RRSIG NSEC TYPE1234"),
    ("NSEC", "example.com. NS SOA CAA"),
    ("NSEC3", "1 1 12 AABBCCDD 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG"),
    ("NSEC3", "1 0 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR"),
    ("NSEC3PARAM", "1 0 10 D2BA"),
    ("NSEC3PARAM", "1 0 0 -"),
    ("CERT", "PKIX 12345 8 " + KEY_B64[:64]),
    ("CERT", "65000 0 0 AAAA"),
    ("RP", "mbox.example.com. txt.example.com."),
    ("AFSDB", "1 afs.example.com."),
    ("KX", "10 kx.example.com."),
    ("URI", '10 1 "ftp://ftp1.example.com/public"'),
    ("OPENPGPKEY", KEY_B64[:64]),
    ("DHCID", "AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA="),
    ("ZONEMD", "2018031900 1 1 " + "AB" * 48),
    ("LOC", "42 21 54 N 71 06 18 W -24m 30m"),
    ("LOC", "42 21 43.952 N 71 5 6.344 W -24m 1m 200m 10m"),
    ("LOC", "52 14 05 N 00 08 50 E 10m"),
    ("LOC", "32 7 19 S 116 2 25 E 10m"),
    ("LOC", "42 N 71 W 0"),
    ("LOC", "90 S 180 E 42849672.95m 90000000m 1500m 0.5m"),
    ("LOC", "0 0 0.001 N 0 0 0 W -100000m"),
]


def _ours(rtype_text: str, text: str) -> bytes:
    return rdata.from_text(rdata.rrtype_from_text(rtype_text), text, ORIGIN)


def _theirs(rtype_text: str, text: str) -> bytes:
    rd = dns.rdata.from_text(
        dns.rdataclass.IN, dns.rdatatype.from_text(rtype_text), text,
        origin=DNS_ORIGIN, relativize=False,
    )
    return rd.to_wire()


@pytest.mark.parametrize(("rtype_text", "text"), CASES)
def test_wire_matches_dnspython(rtype_text, text):
    assert _ours(rtype_text, text) == _theirs(rtype_text, text)


@pytest.mark.parametrize(("rtype_text", "text"), CASES)
def test_round_trip(rtype_text, text):
    rtype = rdata.rrtype_from_text(rtype_text)
    wire = rdata.from_text(rtype, text, ORIGIN)
    shown = rdata.to_text(rtype, wire)
    assert rdata.from_text(rtype, shown, None) == wire  # to_text names are absolute
    assert _theirs(rtype_text, shown) == wire  # and dnspython reads our text the same way
    # RFC 3597 generic form of the same rdata reads back too
    assert rdata.from_text(rtype, rdata.generic_to_text(wire), None) == wire


def test_all_listed_types_are_covered():
    covered = {t for t, _ in CASES}
    wanted = set(
        "SOA NS A AAAA CNAME DNAME MX TXT SRV CAA PTR NAPTR HINFO DS DNSKEY TLSA SSHFP "
        "SVCB HTTPS SPF RRSIG NSEC CDS CDNSKEY CERT LOC".split()
    )
    assert wanted <= covered


def test_types_dnspython_lacks_round_trip():
    wire = rdata.from_text(14, "rm em.example.net.", ORIGIN)
    assert wire == b"\x02rm" + ORIGIN + b"\x02em\x07example\x03net\x00"
    assert rdata.from_text(14, rdata.to_text(14, wire), None) == wire


def test_presentation_details():
    assert rdata.to_text(16, rdata.from_text(16, 'a "b c"', ORIGIN)) == '"a" "b c"'
    assert rdata.to_text(16, b"\x03a\"\\") == '"a\\"\\\\"'
    assert rdata.to_text(16, b"\x02\x00\xff") == '"\\000\\255"'
    assert rdata.to_text(15, rdata.from_text(15, "10 mail", ORIGIN)) == "10 mail.example.com."
    assert rdata.to_text(5, rdata.from_text(5, "Www.Example.com.", ORIGIN)) == "Www.Example.com."
    soa = rdata.from_text(6, "ns hm 1 1h 2d 1w3d 5m", ORIGIN)
    assert rdata.to_text(6, soa).endswith(" 1 3600 172800 864000 300")
    assert rdata.to_text(65, rdata.from_text(65, "1 . port=443 alpn=h2", ORIGIN)) == (
        '1 . alpn="h2" port=443'
    )
    assert rdata.to_text(1, b"\xc0\x00\x02\x01") == "192.0.2.1"


def test_svcb_keys_are_sorted_on_the_wire():
    wire = rdata.from_text(64, "1 . port=443 alpn=h2 key9=x mandatory=port", ORIGIN)
    keys = []
    off = 3
    while off < len(wire):
        keys.append(int.from_bytes(wire[off : off + 2], "big"))
        off += 4 + int.from_bytes(wire[off + 2 : off + 4], "big")
    assert keys == [0, 1, 3, 9]


def test_names_keep_case_and_relative_names_use_origin():
    wire = rdata.from_text(2, "NS1", ORIGIN)
    assert wire == b"\x03NS1" + ORIGIN
    with pytest.raises(RdataError, match="relative name"):
        rdata.from_text(2, "ns1", None)


# --- generic (RFC 3597) form --------------------------------------------

def test_generic_unknown_type():
    assert rdata.from_text(65280, "\\# 4 0A0B0C0D", ORIGIN) == b"\x0a\x0b\x0c\x0d"
    assert rdata.from_text(65280, "\\# 4 0A 0B0C 0D", ORIGIN) == b"\x0a\x0b\x0c\x0d"
    assert rdata.from_text(65280, "\\# 0", ORIGIN) == b""
    assert rdata.to_text(65280, b"\x01\x02") == "\\# 2 0102"
    assert rdata.to_text(65280, b"") == "\\# 0"


def test_generic_known_type_is_validated():
    assert rdata.from_text(1, "\\# 4 C0000201", ORIGIN) == b"\xc0\x00\x02\x01"
    assert rdata.from_text(15, "\\# 3 000a 00", ORIGIN) == b"\x00\x0a\x00"
    with pytest.raises(RdataError, match="A rdata is 3 octets, not 4"):
        rdata.from_text(1, "\\# 3 C00002", ORIGIN)
    with pytest.raises(RdataError, match="name runs past the end of rdata"):
        rdata.from_text(15, "\\# 3 000A03", ORIGIN)
    with pytest.raises(RdataError, match="trailing"):
        rdata.from_text(2, "\\# 2 0000", ORIGIN)


def test_generic_length_must_match():
    with pytest.raises(RdataError, match="length 5 does not match 4 octets"):
        rdata.from_text(65280, "\\# 5 0A0B0C0D", ORIGIN)
    with pytest.raises(RdataError, match="bad hex"):
        rdata.from_text(65280, "\\# 2 0A0", ORIGIN)
    with pytest.raises(RdataError, match="needs a length"):
        rdata.from_text(65280, "\\#", ORIGIN)


def test_unknown_type_needs_generic_form():
    with pytest.raises(RdataError, match="generic form"):
        rdata.from_text(65280, "hello", ORIGIN)


def test_meta_types_refused():
    for t in (0, 41, 251, 252, 255):
        with pytest.raises(RdataError, match="meta-type"):
            rdata.from_text(t, "\\# 0", ORIGIN)


# --- mnemonics and TTLs -------------------------------------------------

def test_type_and_class_text():
    assert rdata.rrtype_from_text("mx") == 15
    assert rdata.rrtype_from_text("Https") == 65
    assert rdata.rrtype_from_text("TYPE65280") == 65280
    assert rdata.rrtype_from_text("type1") == 1
    assert rdata.rrtype_to_text(15) == "MX"
    assert rdata.rrtype_to_text(65280) == "TYPE65280"
    assert rdata.rrclass_from_text("in") == 1
    assert rdata.rrclass_from_text("CH") == 3
    assert rdata.rrclass_from_text("CLASS32") == 32
    assert rdata.rrclass_to_text(1) == "IN"
    assert rdata.rrclass_to_text(32) == "CLASS32"
    with pytest.raises(RdataError, match="unknown type 'BOGUS'"):
        rdata.rrtype_from_text("BOGUS")
    with pytest.raises(RdataError, match="out of range"):
        rdata.rrtype_from_text("TYPE65536")
    with pytest.raises(RdataError, match="unknown class"):
        rdata.rrclass_from_text("XX")


@pytest.mark.parametrize(("text", "seconds"), [
    ("0", 0), ("300", 300), ("1h", 3600), ("2d", 172800), ("1w3d", 864000),
    ("1H30M", 5400), ("90s", 90), ("2147483647", 2147483647),
])
def test_ttl_units(text, seconds):
    assert rdata.ttl_from_text(text) == seconds


@pytest.mark.parametrize("text", ["1x", "h", "1h30", "-1", "2147483648", "1.5h", ""])
def test_bad_ttls(text):
    with pytest.raises(RdataError):
        rdata.ttl_from_text(text)


# --- errors -------------------------------------------------------------

ERRORS = [
    ("MX", "70000 mail", "MX preference 70000 out of range 0..65535"),
    ("MX", "ten mail", "MX preference 'ten' is not a decimal number"),
    ("MX", "10", "MX: missing exchange"),
    ("MX", "10 a b", "MX: unexpected 'b' after the last field"),
    ("A", "1.2.3", "bad IPv4 address '1.2.3'"),
    ("A", "256.1.1.1", "bad IPv4 address '256.1.1.1'"),
    ("A", "1.2.3.4 5.6.7.8", "A: expected one address"),
    ("A", "", "A: expected one address, got 0"),
    ("AAAA", "2001:db8::g", "bad IPv6 address '2001:db8::g'"),
    ("AAAA", "192.0.2.1", "bad IPv6 address"),
    ("TXT", '"' + "x" * 256 + '"', "TXT string longer than 255 octets"),
    ("TXT", "x" * 256, "TXT string longer than 255 octets"),
    ("TXT", '"\\256"', "escape \\256 is over 255"),
    ("TXT", '"\\12x"', "needs three digits"),
    ("TXT", '"open', "unterminated quoted string"),
    ("TXT", "", "TXT: missing strings"),
    ("HINFO", '"' + "y" * 256 + '" os', "HINFO cpu: character-string longer than 255"),
    ("SRV", "1 2 65536 t.", "SRV port 65536 out of range 0..65535"),
    ("SRV", "1 2 3", "SRV: missing target"),
    ("CAA", '256 issue "x"', "CAA flags 256 out of range 0..255"),
    ("CAA", '0 is-sue "x"', "bad CAA tag 'is-sue'"),
    ("SOA", "ns hm 1 2 3 4", "SOA: missing minimum"),
    ("SOA", "ns hm 4294967296 2 3 4 5", "SOA serial 4294967296 out of range 0..4294967295"),
    ("SOA", "ns hm 1 1x 3 4 5", "bad SOA refresh '1x'"),
    ("DS", "1 8 2 XYZ", "bad hex in DS digest"),
    ("DS", "1 8 1 AABB", "DS digest is 2 octets, digest type 1 needs 20"),
    ("SSHFP", "1 2 DEADBEEF", "SSHFP fingerprint is 4 octets, fingerprint type 2 needs 32"),
    ("DNSKEY", "257 3 8 !!!!", "bad base64 in DNSKEY public key"),
    ("NSEC", "next. A BOGUS", "unknown type 'BOGUS'"),
    ("RRSIG", "A 8 3 300 20241301000000 20240101000000 1 . AAAA", "bad RRSIG expiration"),
    ("CNAME", "a..b", "bad CNAME cname 'a..b': empty label"),
    ("CNAME", "a" * 64 + ".", "label length 64 out of range"),
    ("NS", ("a" * 60 + ".") * 5, "306 octets long, more than 255"),
    ("SVCB", "1 . alpn=h2 ech=AAEC", "SVCB ech: malformed ECHConfigList"),
    ("SVCB", "1 . alpn", "SVCB alpn: SvcParam alpn needs a value"),
    ("SVCB", "1 . port=70000", "SVCB port: port 70000 out of range 0..65535"),
    ("SVCB", "1 . port=1 port=2", "duplicate SvcParam port"),
    ("SVCB", "1 . bogus=1", "unknown SvcParamKey 'bogus'"),
    ("SVCB", "1 . key65535=1", "key65535 is reserved"),
    ("SVCB", "1 . mandatory=port", "mandatory key port is missing"),
    ("SVCB", "1 . mandatory=mandatory", "must not list 'mandatory'"),
    ("SVCB", "1 . no-default-alpn", "no-default-alpn without alpn"),
    ("SVCB", "0 . port=443", "AliasMode (priority 0) takes no SvcParams"),
    ("SVCB", "1 . ipv4hint=1.2.3", "bad IPv4 address '1.2.3'"),
    ("SVCB", "1", "needs SvcPriority and TargetName"),
    ("LOC", "91 N 0 E 0m", "LOC latitude out of range"),
    ("LOC", "42 60 N 0 E 0m", "LOC latitude out of range"),
    ("LOC", "42 N 0 X 0m", "expected degrees [minutes [seconds]] then E/W"),
    ("LOC", "42 N 0 E", "LOC: missing altitude"),
    ("LOC", "42 N 0 E 1.234m", "bad LOC altitude '1.234m'"),
    ("LOC", "42 N 0 E 0 1 2 3 4", "unexpected '4'"),
    ("TYPE1", "(", "'(' without matching ')'"),
    ("TYPE1", ")", "')' without matching '('"),
]


@pytest.mark.parametrize(("rtype_text", "text", "reason"), ERRORS)
def test_errors(rtype_text, text, reason):
    with pytest.raises(RdataError) as info:
        _ours(rtype_text, text)
    assert reason in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(("rtype", "wire"), [
    (1, b"\x01\x02\x03"),
    (15, b"\x00\x0a\xc0\x0c"),  # compression pointer in rdata
    (16, b"\x05abc"),
    (16, b""),
    (6, b"\x00\x00\x00"),
    (64, b"\x00\x01\x00\x00\x03\x00\x02\x01\xbb\x00\x01\x00\x03\x02h2"),  # keys out of order
    (47, b"\x00\x00\x00"),  # bitmap window of length 0
])
def test_to_text_refuses_malformed_wire(rtype, wire):
    with pytest.raises(RdataError):
        rdata.to_text(rtype, wire)


# --- tokens -------------------------------------------------------------

def test_scan_line_tokens():
    toks, depth = rdata.scan_line('a "b c" d\\ e ( f ; comment "x"', 0)
    assert toks == ["a", "b c", "d\\ e", "f"]
    assert isinstance(toks[1], rdata.Quoted) and not isinstance(toks[0], rdata.Quoted)
    assert depth == 1
    toks, depth = rdata.scan_line('g ) alpn="h2,h3" "semi;colon"', depth)
    assert toks == ["g", "alpn=h2,h3", "semi;colon"] and depth == 0
    assert rdata.scan_line('""', 0)[0] == [""]


# --- properties ---------------------------------------------------------

labels = st.lists(st.binary(min_size=1, max_size=63), min_size=0, max_size=4)


@settings(max_examples=300, deadline=None)
@given(labels)
def test_name_escapes_round_trip(labs):
    wire = model.name_from_labels(labs)
    text = model.name_to_text(wire)
    assert rdata.fast_name_from_text(text, None) == wire
    assert rdata.from_text(5, text, None) == wire
    assert rdata.to_text(5, wire) == text
    assert dns.name.from_text(text).to_wire() == wire


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=255), min_size=1, max_size=4))
def test_txt_round_trip(strings):
    wire = b"".join(bytes((len(s),)) + s for s in strings)
    text = rdata.to_text(16, wire)
    assert rdata.from_text(16, text, None) == wire
    assert _theirs("TXT", text) == wire


FUZZ_TYPES = [1, 2, 5, 6, 13, 15, 16, 28, 29, 33, 35, 37, 39, 43, 44, 46, 47, 48, 50, 51, 52, 64,
              65, 256, 257, 65280]
FUZZ_ALPHABET = st.sampled_from(list('0123456789abcdefAZ .,=:;()"\\#-+/*@_') + ["alpn", "port"])


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(FUZZ_TYPES), st.lists(FUZZ_ALPHABET, max_size=30).map("".join))
def test_from_text_fails_only_with_rdata_error(rtype, text):
    try:
        wire = rdata.from_text(rtype, text, ORIGIN)
    except RdataError:
        return
    assert rdata.from_text(rtype, rdata.to_text(rtype, wire), None) == wire


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(FUZZ_TYPES), st.binary(max_size=40))
def test_to_text_fails_only_with_rdata_error(rtype, wire):
    try:
        text = rdata.to_text(rtype, wire)
    except RdataError:
        return
    assert rdata.from_text(rtype, text, None) == wire


NAME_TEXT = st.lists(st.sampled_from(list("aZ09-_*.@\\ é") + ["\\.", "\\065", "\\256", "a" * 63]),
                     max_size=12).map("".join)


@settings(max_examples=1000, deadline=None)
@given(NAME_TEXT, st.sampled_from([ORIGIN, model.ROOT, None]))
def test_fast_name_parser_agrees_with_model(text, origin):
    """The zone loader's fast path must give the model's answer, or its error."""
    try:
        want = model.name_from_text(text, origin)
    except model.NameError_:
        with pytest.raises(model.NameError_):
            rdata.fast_name_from_text(text, origin)
        return
    assert rdata.fast_name_from_text(text, origin) == want


@settings(max_examples=500, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=63), max_size=5))
def test_fast_name_to_text_agrees_with_model(labs):
    wire = model.name_from_labels(labs[:3])
    assert rdata.fast_name_to_text(wire) == model.name_to_text(wire)


def test_from_tokens_keeps_quoted_marker():
    toks = [rdata.Quoted("a b"), "c\\032d", rdata.Quoted("")]
    assert rdata.from_tokens(16, toks, ORIGIN) == b"\x03a b\x03c d\x00"
    # a quoted "\#" is a string, not the RFC 3597 marker
    assert rdata.from_tokens(16, [rdata.Quoted("\\#"), "0"], ORIGIN) == b"\x01#\x010"
