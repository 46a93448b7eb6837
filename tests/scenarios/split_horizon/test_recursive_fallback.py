"""The recursive fallback (issue 17) against a real `zonefront serve --api`
configured with `[alias] fallback_resolver`: a private zone with public DNS
fallback that no public zone here covers gets the names it lacks from the
resolver (a stand-in on 127.0.0.1), over UDP and TCP, from inside its VPC
only; with fallback disabled the private NXDOMAIN is back."""
from __future__ import annotations

import dns.rcode
import pytest
from helpers import zfserve
from helpers.stubresolver import Resolver
from helpers.zfserve import rrset, wait_for

VPCS_TOML = """
[vpcs.vpc-a]
region = "us-east-1"
cidrs = ["127.0.0.2/32"]

[alias]
fallback_resolver = "127.0.0.1:{port}"
fallback_timeout = 1.0
"""
INSIDE, OUTSIDE = "127.0.0.2", "127.0.0.1"


@pytest.fixture(scope="module")
def resolver():
    r = Resolver({"remote.intra.test.": "198.51.100.7"})
    yield r
    r.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory, resolver):
    s = zfserve.start(tmp_path_factory.mktemp("recursive"), VPCS_TOML.format(port=resolver.port))
    try:
        yield s
    finally:
        zfserve.stop(s)


@pytest.fixture(scope="module")
def zone(served):
    zid = served.create_zone("intra.test", vpc=("us-east-1", "vpc-a"))
    served.change(zid, rrset("www.intra.test", "10.1.0.1"))
    return zid


def answer(served, qname, source, tcp):
    m = served.query(qname, "A", source=source, tcp=tcp)
    return m.rcode(), sorted(r.to_text() for s in m.answer for r in s)


def set_fallback(served, zid, on: bool) -> None:
    served.client.update_hosted_zone_features(HostedZoneId=zid, EnablePublicDNSFallback=on)
    want = dns.rcode.NOERROR if on else dns.rcode.NXDOMAIN
    assert wait_for(lambda: answer(served, "remote.intra.test", INSIDE, False)[0] == want,
                    timeout=5.0), f"fallback {on} not served within 5 s"


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_resolver_answers_what_the_private_zone_lacks(served, zone, resolver, tcp):
    assert answer(served, "remote.intra.test", INSIDE, tcp)[0] == dns.rcode.NXDOMAIN
    set_fallback(served, zone, True)
    try:
        assert answer(served, "remote.intra.test", INSIDE, tcp) == (
            dns.rcode.NOERROR, ["198.51.100.7"])
        assert answer(served, "www.intra.test", INSIDE, tcp) == (dns.rcode.NOERROR, ["10.1.0.1"])
        assert answer(served, "nothing.intra.test", INSIDE, tcp)[0] == dns.rcode.NXDOMAIN
        asked = len(resolver.ids)
        # outside the VPC nothing changes: not a zone of ours
        assert answer(served, "remote.intra.test", OUTSIDE, tcp)[0] == dns.rcode.REFUSED
        assert len(resolver.ids) == asked
    finally:
        set_fallback(served, zone, False)
    assert answer(served, "remote.intra.test", INSIDE, tcp)[0] == dns.rcode.NXDOMAIN
