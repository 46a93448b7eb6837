"""dnslib, a decoder written apart from dnspython, reads every answer the
engine gives for the differential zone (both engines): the same rcode,
flags, section counts, owners, types and TTLs as dnspython sees, so a
message only one decoder accepts, or reads differently, is caught."""
import dns.message
import dnslib
import pytest
from zonefront.zonefile import parse_zone_text

ZONE = """
$TTL 300
@ IN SOA ns hostmaster 7 7200 900 1209600 60
@ IN NS ns
ns IN A 192.0.2.53
www IN A 192.0.2.1
www IN AAAA 2001:db8::1
mail IN MX 10 www
txt IN TXT "hello" "world"
alias IN CNAME www
chain IN CNAME alias
gone IN CNAME nowhere
* IN A 192.0.2.9
sub IN NS ns.sub
ns.sub IN A 192.0.2.54
old IN DNAME example.com.
b.c IN A 192.0.2.3
srv IN SRV 0 5 443 www
"""
NAMES = ["example.com.", "www.example.com.", "mail.example.com.", "txt.example.com.",
         "alias.example.com.", "chain.example.com.", "gone.example.com.", "any.example.com.",
         "x.sub.example.com.", "a.old.example.com.", "c.example.com.", "nope.b.c.example.com.",
         "srv.example.com.", "other.test."]
QTYPES = ["A", "AAAA", "MX", "TXT", "NS", "SOA", "SRV", "DS", "ANY", "CNAME"]


def sections_dnspython(wire: bytes):
    m = dns.message.from_wire(wire)
    rows = []
    for section in (m.answer, m.authority, m.additional):
        rows.append(sorted((r.name.to_text().lower(), r.rdtype, r.ttl) for r in section for _ in r))
    return m.rcode(), m.flags & 0x7FF, rows


def sections_dnslib(wire: bytes):
    m = dnslib.DNSRecord.parse(wire)
    flags = (m.header.aa << 10) | (m.header.tc << 9) | (m.header.rd << 8) | \
        (m.header.ra << 7) | (m.header.opcode << 11)
    rows = []
    for section in (m.rr, m.auth, [a for a in m.ar if a.rtype != 41]):
        rows.append(sorted((str(r.rname).lower(), r.rtype, r.ttl) for r in section))
    return m.header.rcode, flags & 0x7FF, rows


@pytest.mark.parametrize("edns", [False, True])
def test_dnslib_reads_every_answer_as_dnspython_does(make_image, edns):
    image = make_image([parse_zone_text(ZONE, "example.com.")])
    names = NAMES
    checked = 0
    for name in names:
        for qtype in QTYPES:
            wire = image.answer(dns.message.make_query(name, qtype,
                                                       use_edns=0 if edns else None).to_wire())
            rcode, flags, rows = sections_dnspython(wire)
            rcode2, flags2, rows2 = sections_dnslib(wire)
            assert (rcode2, flags2 & 0x600, rows2) == (rcode & 0xF, flags & 0x600, rows), (name, qtype)
            checked += 1
    assert checked == len(names) * len(QTYPES)
