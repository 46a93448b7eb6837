"""Public DNS fallback (issue 17), over UDP and TCP, against a real
`zonefront serve --api`: from inside the VPC a name missing from the private
zone gets the public answer, a name the private zone has with another type
stays NODATA, a client outside the VPC is unaffected, and with fallback
disabled the missing name is NXDOMAIN again."""
from __future__ import annotations

import dns.rcode
import pytest
from helpers.split_horizon import IN_A, IN_B, OUTSIDE
from helpers.zfserve import rrset, wait_for

TRANSPORTS = pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])


def answer(served, qname, rdtype, source, tcp):
    m = served.query(qname, rdtype, source=source, tcp=tcp)
    return m.rcode(), sorted(r.to_text() for s in m.answer for r in s)


def set_fallback(served, world, on: bool) -> None:
    served.client.update_hosted_zone_features(HostedZoneId=world.private,
                                              EnablePublicDNSFallback=on)
    want = (dns.rcode.NOERROR, ["192.0.2.2"]) if on else (dns.rcode.NXDOMAIN, [])
    assert wait_for(lambda: answer(served, "pub-only.corp.test", "A", IN_A, False) == want,
                    timeout=5.0), f"fallback {on} not served within 5 s"


@TRANSPORTS
def test_public_fallback_inside_the_vpc(served, world, tcp):
    set_fallback(served, world, True)
    try:
        # missing from the private zone: the public zone's answer
        assert answer(served, "pub-only.corp.test", "A", IN_A, tcp) == (
            dns.rcode.NOERROR, ["192.0.2.2"])
        # the name exists privately with another type: NODATA, never the public data
        assert answer(served, "secret.corp.test", "TXT", IN_A, tcp) == (dns.rcode.NOERROR, [])
        assert answer(served, "www.corp.test", "A", IN_A, tcp) == (
            dns.rcode.NOERROR, ["10.99.0.1"])  # the private answer still wins
        # missing from both: NXDOMAIN
        assert answer(served, "nowhere.corp.test", "A", IN_A, tcp)[0] == dns.rcode.NXDOMAIN
        # a private wildcard's names are not NXDOMAIN: no fallback
        assert answer(served, "x.wild.corp.test", "A", IN_A, tcp) == (
            dns.rcode.NOERROR, ["10.99.0.3"])
        # outside the VPC, and in the other VPC: the public view, as before
        for source in (OUTSIDE, IN_B):
            assert answer(served, "pub-only.corp.test", "A", source, tcp) == (
                dns.rcode.NOERROR, ["192.0.2.2"])
            assert answer(served, "secret.corp.test", "A", source, tcp)[0] == \
                dns.rcode.NXDOMAIN
    finally:
        set_fallback(served, world, False)
    assert answer(served, "pub-only.corp.test", "A", IN_A, tcp)[0] == dns.rcode.NXDOMAIN


def test_fallback_follows_public_changes(served, world):
    set_fallback(served, world, True)
    try:
        served.change(world.public, rrset("later.corp.test", "192.0.2.77"))
        assert wait_for(lambda: answer(served, "later.corp.test", "A", IN_A, False) == (
            dns.rcode.NOERROR, ["192.0.2.77"]), timeout=5.0)
    finally:
        set_fallback(served, world, False)
