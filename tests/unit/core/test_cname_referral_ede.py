"""Issue 16, items 5a and 5c, for both implementations (the compiled core
and ref/), over UDP and TCP:

- a CNAME whose target lies at or below a delegation cut of a zone we serve
  continues with the referral (RFC 1034 §4.3.2 step 3.b, as NSD and Knot
  answer): the CNAME in the answer, the cut's NS in authority, glue in
  additional;
- REFUSED for a name in none of our zones carries EDE 20, Not Authoritative
  (RFC 8914 §4.21), when the query has EDNS.
"""
import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from zonefront.ref.engine import RefImage
from zonefront.snapshot.compiler import compile_zones
from zonefront.zonefile import parse_zone_text

ZONE = """$ORIGIN example.com.
$TTL 300
@ 3600 IN SOA ns1 hostmaster 1 3600 600 86400 60
@ NS ns1
ns1 A 192.0.2.53
sub NS ns.sub
sub NS ns.other.net.
ns.sub A 192.0.2.99
ns.sub AAAA 2001:db8::99
sub DS 12345 8 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
tocut CNAME sub
below CNAME host.deep.sub
twice CNAME below
wild.w CNAME x.sub
*.w CNAME y.sub
"""


@pytest.fixture
def image(make_image):
    return make_image([parse_zone_text(ZONE, "example.com.")])


def ask(image, name, rdtype="A", tcp=False, **kw):
    q = dns.message.make_query(name, rdtype, **kw)
    wire = image.answer(q.to_wire(), tcp)
    assert wire
    return dns.message.from_wire(wire)


def rrs(section):
    return sorted((rr.name.to_text().lower(), dns.rdatatype.to_text(rr.rdtype), r.to_text())
                  for rr in section for r in rr)


REFERRAL_NS = [("sub.example.com.", "NS", "ns.other.net."),
               ("sub.example.com.", "NS", "ns.sub.example.com.")]
GLUE = [("ns.sub.example.com.", "A", "192.0.2.99"),
        ("ns.sub.example.com.", "AAAA", "2001:db8::99")]


@pytest.mark.parametrize("tcp", [False, True])
@pytest.mark.parametrize("qname, chain", [
    ("below.example.com.", [("below.example.com.", "CNAME", "host.deep.sub.example.com.")]),
    ("tocut.example.com.", [("tocut.example.com.", "CNAME", "sub.example.com.")]),
    ("twice.example.com.", [("below.example.com.", "CNAME", "host.deep.sub.example.com."),
                            ("twice.example.com.", "CNAME", "below.example.com.")]),
    ("any.w.example.com.", [("any.w.example.com.", "CNAME", "y.sub.example.com.")]),
])
def test_cname_into_delegation_continues_with_referral(image, tcp, qname, chain):
    m = ask(image, qname, "A", tcp=tcp)
    assert m.rcode() == dns.rcode.NOERROR
    assert rrs(m.answer) == chain
    assert rrs(m.authority) == REFERRAL_NS
    assert rrs(m.additional) == GLUE
    assert m.flags & dns.flags.AA  # the CNAME is our authoritative data (as NSD)


def test_cname_to_cut_for_ds_answers_parent_ds(image):
    m = ask(image, "tocut.example.com.", "DS")
    got = [(o, t) for o, t, _ in rrs(m.answer)]
    assert got == [("sub.example.com.", "DS"), ("tocut.example.com.", "CNAME")]
    assert not m.authority


def test_plain_referral_unchanged(image):
    m = ask(image, "host.sub.example.com.", "A")
    assert not m.answer and rrs(m.authority) == REFERRAL_NS
    assert not m.flags & dns.flags.AA


def ede_codes(m):
    return [o.code for o in m.options if o.otype == dns.edns.EDE]


@pytest.mark.parametrize("tcp", [False, True])
def test_refused_outside_zones_carries_ede_20(image, tcp):
    m = ask(image, "www.example.org.", "A", tcp=tcp, use_edns=0)
    assert m.rcode() == dns.rcode.REFUSED
    assert ede_codes(m) == [dns.edns.EDECode.NOT_AUTHORITATIVE]


def test_refused_with_ecs_keeps_both_options(image):
    ecs = dns.edns.ECSOption("198.51.100.0", 24)
    m = ask(image, "www.example.org.", "A", use_edns=0, options=[ecs])
    assert m.rcode() == dns.rcode.REFUSED
    assert ede_codes(m) == [dns.edns.EDECode.NOT_AUTHORITATIVE]
    assert [o.otype for o in m.options] == [dns.edns.ECS, dns.edns.EDE]


def test_refused_without_edns_has_no_opt(image):
    m = ask(image, "www.example.org.", "A")
    assert m.rcode() == dns.rcode.REFUSED and m.edns < 0


def test_answers_inside_zones_have_no_ede(image):
    for name in ("ns1.example.com.", "nothere.example.com."):
        m = ask(image, name, "A", use_edns=0)
        assert m.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN)
        assert ede_codes(m) == []


@pytest.mark.parametrize("tcp", [False, True])
@pytest.mark.parametrize("qname, qtype, edns", [
    ("below.example.com.", "A", 0), ("twice.example.com.", "AAAA", -1),
    ("tocut.example.com.", "DS", 0), ("any.w.example.com.", "TXT", 0),
    ("www.example.org.", "A", 0), ("www.example.org.", "A", -1), ("example.org.", "SOA", 0),
])
def test_compiled_and_ref_same_bytes(qname, qtype, edns, tcp):
    pytest.importorskip("zonefront.core._engine")
    from zonefront.core._engine import Image

    arrays = compile_zones([parse_zone_text(ZONE, "example.com.")]).arrays()
    wire = dns.message.make_query(qname, qtype, use_edns=edns).to_wire()
    assert Image(arrays).answer(wire, tcp) == RefImage(arrays).answer(wire, tcp)


def test_zone_file_compiler_agrees(tmp_path):
    """The C compiler (zone files) hands a chain ending in a cut to the
    Python rules: the same answers as compiling the zone objects."""
    from zonefront.snapshot.fastcompile import compile_zone_files

    path = tmp_path / "example.com.zone"
    path.write_text(ZONE)
    fast = RefImage(compile_zone_files([str(path)]).arrays())
    slow = RefImage(compile_zones([parse_zone_text(ZONE, "example.com.")]).arrays())
    for qname in ("below.example.com.", "twice.example.com.", "tocut.example.com.",
                  "any.w.example.com.", "wild.w.example.com."):
        for qtype in ("A", "AAAA", "DS", "TXT"):
            wire = dns.message.make_query(qname, qtype).to_wire()
            assert fast.answer(wire) == slow.answer(wire), (qname, qtype)
