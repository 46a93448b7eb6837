"""Answer semantics through the embeddable engine, for both implementations:
RFC 1034 §4.3.2 lookup, RFC 2308 negative answers, RFC 4592 wildcards,
RFC 6672 DNAME, RFC 8482 ANY, RFC 6891 EDNS, truncation, FORMERR/NOTIMP."""
import struct

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from zonefront.zonefile import parse_zone_text

ZONE = """$ORIGIN example.com.
$TTL 300
@ 3600 IN SOA ns1 hostmaster 2024010101 3600 600 86400 60
@ NS ns1
@ NS ns.other.net.
@ MX 10 mail
ns1 A 192.0.2.53
mail A 192.0.2.25
mail AAAA 2001:db8::25
www A 192.0.2.1
www AAAA 2001:db8::1
alias CNAME www
chain1 CNAME chain2
chain2 CNAME alias
dangling CNAME nowhere
loop1 CNAME loop2
loop2 CNAME loop1
*.wild A 192.0.2.9
*.wild TXT "wild"
exists.wild A 192.0.2.10
*.wc CNAME www
a.b.c TXT "deep"
sub NS ns.sub
sub NS ns.other.net.
ns.sub A 192.0.2.99
deeper.sub A 192.0.2.98
dsdeleg NS ns1
dsdeleg DS 12345 8 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
dn DNAME example.net.
longdn DNAME aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc.dddddddddddddddddddddddd.
_sip._udp SRV 10 60 5060 www
big TXT "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big TXT "1123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big TXT "2123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big TXT "3123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big TXT "4123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big TXT "5123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
"""

CHILD = """$ORIGIN child.example.com.
$TTL 120
@ SOA ns1.child hostmaster 7 3600 600 86400 30
@ NS ns1
ns1 A 192.0.2.77
host A 192.0.2.78
"""


@pytest.fixture
def image(make_image):
    return make_image([parse_zone_text(ZONE, "example.com."), parse_zone_text(CHILD, "child.example.com.")])


def ask(image, name, rdtype="A", tcp=False, **kw):
    q = dns.message.make_query(name, rdtype, **kw)
    wire = image.answer(q.to_wire(), tcp)
    assert wire, "no response"
    return dns.message.from_wire(wire)


def rrs(section):
    return sorted((rr.name.to_text().lower(), dns.rdatatype.to_text(rr.rdtype), rr.ttl, r.to_text())
                  for rr in section for r in rr)


def soa_only(m, origin="example.com.", ttl=60):
    assert [(n, t, tt) for n, t, tt, _ in rrs(m.authority)] == [(origin, "SOA", ttl)]


def test_exact_match_is_authoritative(image):
    m = ask(image, "www.example.com", "A")
    assert m.rcode() == dns.rcode.NOERROR and m.flags & dns.flags.AA
    assert rrs(m.answer) == [("www.example.com.", "A", 300, "192.0.2.1")]
    assert not m.authority


def test_mx_gets_additional_addresses(image):
    m = ask(image, "example.com", "MX")
    assert rrs(m.answer) == [("example.com.", "MX", 300, "10 mail.example.com.")]
    assert rrs(m.additional) == [("mail.example.com.", "A", 300, "192.0.2.25"),
                                 ("mail.example.com.", "AAAA", 300, "2001:db8::25")]


def test_srv_target_additional(image):
    m = ask(image, "_sip._udp.example.com", "SRV")
    assert rrs(m.answer) == [("_sip._udp.example.com.", "SRV", 300, "10 60 5060 www.example.com.")]
    assert {r[1] for r in rrs(m.additional)} == {"A", "AAAA"}


def test_cname_chain_followed_in_zone(image):
    m = ask(image, "chain1.example.com", "AAAA")
    assert rrs(m.answer) == [
        ("alias.example.com.", "CNAME", 300, "www.example.com."),
        ("chain1.example.com.", "CNAME", 300, "chain2.example.com."),
        ("chain2.example.com.", "CNAME", 300, "alias.example.com."),
        ("www.example.com.", "AAAA", 300, "2001:db8::1"),
    ]
    assert m.flags & dns.flags.AA


def test_cname_to_missing_name_is_nxdomain(image):
    m = ask(image, "dangling.example.com", "A")
    assert m.rcode() == dns.rcode.NXDOMAIN
    assert rrs(m.answer) == [("dangling.example.com.", "CNAME", 300, "nowhere.example.com.")]
    soa_only(m)


def test_cname_loop_terminates(image):
    m = ask(image, "loop1.example.com", "A")
    assert m.rcode() == dns.rcode.NOERROR
    assert {r[0] for r in rrs(m.answer)} == {"loop1.example.com.", "loop2.example.com."}


def test_qtype_cname_is_not_chased(image):
    m = ask(image, "alias.example.com", "CNAME")
    assert rrs(m.answer) == [("alias.example.com.", "CNAME", 300, "www.example.com.")]


def test_wildcard_synthesis_uses_qname(image):
    m = ask(image, "Foo.Bar.wild.example.com", "TXT")
    assert rrs(m.answer) == [("foo.bar.wild.example.com.", "TXT", 300, '"wild"')]
    assert m.answer[0].name.to_text() == "Foo.Bar.wild.example.com."


def test_wildcard_not_applied_to_existing_name(image):
    m = ask(image, "exists.wild.example.com", "TXT")
    assert m.rcode() == dns.rcode.NOERROR and not m.answer
    soa_only(m)


def test_wildcard_nodata_for_missing_type(image):
    m = ask(image, "x.wild.example.com", "MX")
    assert m.rcode() == dns.rcode.NOERROR and not m.answer
    soa_only(m)


def test_wildcard_cname(image):
    m = ask(image, "any.wc.example.com", "A")
    assert rrs(m.answer) == [("any.wc.example.com.", "CNAME", 300, "www.example.com."),
                             ("www.example.com.", "A", 300, "192.0.2.1")]


def test_wildcard_not_below_existing_non_wildcard(image):
    # closest encloser is exists.wild, which has no "*" child (RFC 4592 §2.2.1)
    m = ask(image, "a.exists.wild.example.com", "A")
    assert m.rcode() == dns.rcode.NXDOMAIN


def test_empty_non_terminal_is_nodata(image):
    m = ask(image, "b.c.example.com", "A")
    assert m.rcode() == dns.rcode.NOERROR and not m.answer
    soa_only(m)


def test_nxdomain_soa_ttl_is_min_of_ttl_and_minimum(image):
    m = ask(image, "nothing.example.com", "A")
    assert m.rcode() == dns.rcode.NXDOMAIN and m.flags & dns.flags.AA
    soa_only(m, ttl=60)


@pytest.mark.parametrize("name", ["sub.example.com", "ns.sub.example.com", "x.y.sub.example.com"])
def test_referral_below_cut(image, name):
    m = ask(image, name, "A")
    assert m.rcode() == dns.rcode.NOERROR and not m.flags & dns.flags.AA
    assert not m.answer
    assert rrs(m.authority) == [("sub.example.com.", "NS", 300, "ns.other.net."),
                                ("sub.example.com.", "NS", 300, "ns.sub.example.com.")]
    assert rrs(m.additional) == [("ns.sub.example.com.", "A", 300, "192.0.2.99")]


def test_ds_at_cut_answered_by_parent(image):
    m = ask(image, "dsdeleg.example.com", "DS")
    assert m.flags & dns.flags.AA and [r[1] for r in rrs(m.answer)] == ["DS"]
    m = ask(image, "sub.example.com", "DS")
    assert m.flags & dns.flags.AA and not m.answer
    soa_only(m)


def test_child_zone_is_authoritative(image):
    m = ask(image, "host.child.example.com", "A")
    assert m.flags & dns.flags.AA
    assert rrs(m.answer) == [("host.child.example.com.", "A", 120, "192.0.2.78")]
    m = ask(image, "none.child.example.com", "A")
    soa_only(m, "child.example.com.", 30)


def test_dname_synthesizes_cname(image):
    m = ask(image, "a.B.dn.example.com", "A")
    assert m.rcode() == dns.rcode.NOERROR and m.flags & dns.flags.AA
    assert rrs(m.answer) == [("a.b.dn.example.com.", "CNAME", 300, "a.B.example.net."),
                             ("dn.example.com.", "DNAME", 300, "example.net.")]


def test_dname_too_long_is_yxdomain(image):
    name = ".".join(["x" * 60] * 2) + ".longdn.example.com"
    m = ask(image, name, "A")
    assert m.rcode() == dns.rcode.YXDOMAIN
    assert [r[1] for r in rrs(m.answer)] == ["DNAME"]


def test_refused_outside_zones(image):
    m = ask(image, "example.org", "A")
    assert m.rcode() == dns.rcode.REFUSED and not m.flags & dns.flags.AA


def test_any_is_minimal(image):
    m = ask(image, "www.example.com", "ANY")
    assert len(m.answer) == 1 and len(m.answer[0]) == 1


def test_case_echoed_in_question(image):
    m = ask(image, "wWw.ExAmPlE.cOm", "A")
    assert m.question[0].name.to_text() == "wWw.ExAmPlE.cOm."


def test_edns_echo_do_and_size(image):
    m = ask(image, "www.example.com", "A", use_edns=0, want_dnssec=True, payload=4096)
    assert m.edns == 0 and m.ednsflags & dns.flags.DO and m.payload == 1232


def test_badvers(image):
    m = ask(image, "www.example.com", "A", use_edns=1)
    assert m.rcode() == dns.rcode.BADVERS and not m.answer


def test_ecs_echoed_with_scope_zero(image):
    ecs = dns.edns.ECSOption("198.51.100.0", 24)
    m = ask(image, "www.example.com", "A", use_edns=0, options=[ecs])
    (opt,) = [o for o in m.options if isinstance(o, dns.edns.ECSOption)]
    assert opt.address == "198.51.100.0" and opt.srclen == 24 and opt.scopelen == 0


def test_truncation_without_edns_and_full_over_tcp(image):
    m = ask(image, "big.example.com", "TXT")
    assert m.flags & dns.flags.TC and not m.answer
    m = ask(image, "big.example.com", "TXT", tcp=True)
    assert not m.flags & dns.flags.TC and len(m.answer[0]) == 6
    m = ask(image, "big.example.com", "TXT", use_edns=0, payload=1232)
    assert not m.flags & dns.flags.TC and len(m.answer[0]) == 6


def test_additional_dropped_before_truncating(make_image):
    lines = [f"@ NS ns{i}.example.com." for i in range(12)]
    lines += [f"ns{i} AAAA 2001:db8::{i}" for i in range(12)]
    zone = parse_zone_text("$TTL 60\n@ SOA ns0 h 1 1 1 1 1\n" + "\n".join(lines), "example.com.")
    img = make_image([zone])
    m = ask(img, "example.com", "NS")
    assert not m.flags & dns.flags.TC
    assert len(m.answer[0]) == 12 and 0 < sum(len(r) for r in m.additional) < 12
    assert len(img.answer(dns.message.make_query("example.com", "NS").to_wire(), False)) <= 512


def raw_header(qid=0x1234, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack(">HHHHHH", qid, flags, qd, an, ns, ar)


QUESTION = b"\x03www\x07example\x03com\x00\x00\x01\x00\x01"


@pytest.mark.parametrize("packet", [
    raw_header(qd=2) + QUESTION,
    raw_header() + QUESTION[:-2],
    raw_header() + b"\x03www\xc0\x0c\x00\x01\x00\x01",
    raw_header() + QUESTION + b"junk",
    raw_header(ar=1) + QUESTION + b"\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x04\x00\x08\x00",
    raw_header(ar=2) + QUESTION + (b"\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00" * 2),
], ids=["qdcount2", "short-question", "pointer-in-qname", "trailing", "bad-ecs", "two-opt"])
def test_formerr(image, packet):
    r = image.answer(packet, False)
    assert r[:2] == b"\x12\x34" and r[2] & 0x80 and r[3] & 0xF == dns.rcode.FORMERR


def test_notimp_for_other_opcodes(image):
    r = image.answer(raw_header(flags=0x1000) + QUESTION, False)  # opcode 2 (STATUS)
    assert r[3] & 0xF == dns.rcode.NOTIMP and (r[2] >> 3) & 0xF == 2


@pytest.mark.parametrize("packet", [b"", b"\x00" * 11, raw_header(flags=0x8000) + QUESTION])
def test_dropped(image, packet):
    assert image.answer(packet, False) == b""


def test_axfr_refused(image):
    m = ask(image, "example.com", "AXFR", tcp=True)
    assert m.rcode() == dns.rcode.REFUSED


def test_ds_at_child_apex_answered_by_parent(make_image):
    parent = parse_zone_text("$TTL 60\n@ SOA ns h 1 1 1 1 5\n@ NS ns\nns A 192.0.2.1\n"
                             "kid NS ns.kid\nkid DS 1 8 2 " + "AB" * 32 + "\nns.kid A 192.0.2.2\n", "example.com.")
    kid = parse_zone_text("$TTL 60\n@ SOA ns h 9 1 1 1 5\n@ NS ns\nns A 192.0.2.2\n", "kid.example.com.")
    other = parse_zone_text("$TTL 60\n@ SOA ns h 9 1 1 1 5\n@ NS ns\n", "nods.example.com.")
    img = make_image([parent, kid, other])
    m = ask(img, "kid.example.com", "DS")
    assert m.flags & dns.flags.AA and [r[1] for r in rrs(m.answer)] == ["DS"]
    m = ask(img, "nods.example.com", "DS")
    assert not m.answer
    soa_only(m, "example.com.", 5)
    m = ask(img, "kid.example.com", "SOA")
    assert rrs(m.answer)[0][0] == "kid.example.com."
