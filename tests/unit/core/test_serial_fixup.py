"""A zone's SOA serial reaches negative answers through a serial fixup: the
blocks hold zeros there and name the zone's row, so raising the serial (as
every committed change batch does) changes four octets of the serials array
and no block."""
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from zonefront.snapshot.compiler import compile_zones
from zonefront.zonefile import parse_zone_text

ZONE = """
$TTL 300
@ IN SOA ns1 hostmaster {serial} 7200 900 1209600 60
@ IN NS ns1
ns1 IN A 192.0.2.1
www IN A 192.0.2.2
alias IN CNAME missing
"""


def zone(serial):
    return parse_zone_text(ZONE.format(serial=serial), "example.com.")


def ask(image, qname, qtype):
    q = dns.message.make_query(qname, qtype)
    return dns.message.from_wire(image.answer(q.to_wire()))


def soa_serial(msg):
    for rrset in msg.authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset[0].serial
    raise AssertionError("no SOA in the authority section")


def test_raising_the_serial_changes_only_the_serials_array():
    a = compile_zones([zone(1)]).arrays()
    b = compile_zones([zone(4000000000)]).arrays()
    changed = sorted(k for k in a if bytes(a[k]) != bytes(b[k]))
    assert changed == ["serials"]


@pytest.mark.parametrize("serial", [1, 2024120401, 4294967295])
def test_negative_answers_carry_the_current_serial(make_image, serial):
    image = make_image([zone(serial)])
    nx = ask(image, "nope.example.com.", "A")
    assert nx.rcode() == dns.rcode.NXDOMAIN
    assert soa_serial(nx) == serial
    nodata = ask(image, "www.example.com.", "TXT")
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer
    assert soa_serial(nodata) == serial
    # a CNAME chain that ends in NXDOMAIN quotes the SOA from its own block
    chain = ask(image, "alias.example.com.", "A")
    assert chain.rcode() == dns.rcode.NXDOMAIN and chain.answer
    assert soa_serial(chain) == serial
    # the SOA asked for itself is answered whole
    apex = ask(image, "example.com.", "SOA")
    assert apex.answer[0][0].serial == serial


def test_a_serial_fixup_naming_a_missing_zone_is_refused():
    from zonefront.core._engine import Image

    arrays = compile_zones([zone(7)]).arrays()
    # the same image with its one zone row dropped: its blocks' serial fixups
    # now name a row that is not there
    bad = dict(arrays, negatives=b"", serials=b"")
    with pytest.raises(ValueError):
        Image(bad)
