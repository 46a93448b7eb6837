"""Split horizon through the real product: the same names answered from a
VPC's address (the private zone), from another VPC (its own private zone,
else the public one) and from outside every VPC (the public zone, or
REFUSED for a name only a private zone has), over UDP and TCP with a bound
source address; association changes served within a second."""
from __future__ import annotations

import time
from collections import Counter

import dns.rcode
import dns.rdatatype
import pytest
from helpers import split_horizon as split
from helpers.split_horizon import ALSO_OUTSIDE, IN_A, IN_B, OUTSIDE, leaked
from helpers.zfserve import wait_for

pytestmark = pytest.mark.e2e


def no_serial(soa_text: str) -> str:
    """SOA rdata without its serial (every change bumps it)."""
    f = soa_text.split()
    return " ".join(f[:2] + f[3:])


TRANSPORTS = pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
NX, REFUSED = dns.rcode.NXDOMAIN, dns.rcode.REFUSED

PUBLIC_VIEW = {
    ("www.corp.test", "A"): ["192.0.2.1"],
    ("pub-only.corp.test", "A"): ["192.0.2.2"],
    ("secret.corp.test", "A"): NX,
    ("x.wild.corp.test", "A"): NX,
    ("corp.test", "TXT"): ['"public"'],
    ("mail.corp.test", "MX"): ["10 mx.corp.test."],
    ("host.internal.test", "A"): REFUSED,
    ("internal.test", "SOA"): REFUSED,
}
VPC_A_VIEW = {
    ("www.corp.test", "A"): ["10.99.0.1"],
    ("pub-only.corp.test", "A"): NX,  # the private zone wins; no fall-through
    ("secret.corp.test", "A"): ["10.99.0.2"],
    ("x.wild.corp.test", "A"): ["10.99.0.3"],
    ("corp.test", "TXT"): ['"private-only"'],
    ("mail.corp.test", "MX"): ["10 mx.private-only.test."],
    ("db.corp.test", "A"): ["10.99.0.2", "secret.corp.test."],
    ("v6.corp.test", "AAAA"): ["fd00:10:99::1"],
    ("host.internal.test", "A"): REFUSED,
}
VPC_B_VIEW = {**PUBLIC_VIEW,
              ("host.internal.test", "A"): ["10.99.2.1"],
              ("internal.test", "TXT"): ['"private-only internal"'],
              ("internal.test", "SOA"): [no_serial(split.PRIVATE_SOA)]}


def seen(served, source: str, qname: str, rdtype: str, tcp: bool):
    m = served.query(qname, rdtype, source=source, tcp=tcp)
    if m.rcode() != dns.rcode.NOERROR:
        if m.rcode() == REFUSED:
            assert not (m.answer or m.authority or m.additional), m
        return m.rcode()
    return sorted(no_serial(r.to_text()) if rrset.rdtype == dns.rdatatype.SOA else r.to_text()
                  for rrset in m.answer for r in rrset)


def check_view(served, source: str, view: dict, tcp: bool) -> None:
    got = {k: seen(served, source, *k, tcp) for k in view}
    assert got == view, f"from {source} ({'tcp' if tcp else 'udp'})"


@TRANSPORTS
def test_split_horizon_by_source(served, world, tcp):
    check_view(served, IN_A, VPC_A_VIEW, tcp)
    check_view(served, IN_B, VPC_B_VIEW, tcp)
    check_view(served, OUTSIDE, PUBLIC_VIEW, tcp)
    check_view(served, ALSO_OUTSIDE, PUBLIC_VIEW, tcp)
    # the view is chosen by source, whatever the qname's case
    assert seen(served, IN_A, "SeCrEt.CoRp.TeSt", "A", tcp) == ["10.99.0.2"]
    assert seen(served, IN_B, "HOST.internal.TEST", "A", tcp) == ["10.99.2.1"]


@TRANSPORTS
def test_private_zone_routing_and_apex_alias(served, world, tcp):
    """Private zones route like public ones: a weighted set, and an alias at
    the private apex to it; the public twin keeps its own weights."""
    inside = Counter(seen(served, IN_A, "w.corp.test", "A", tcp)[0] for _ in range(200))
    assert set(inside) == {"10.99.1.1", "10.99.1.2"} and inside["10.99.1.2"] > inside["10.99.1.1"]
    apex = Counter(seen(served, IN_A, "corp.test", "A", tcp)[0] for _ in range(100))
    assert set(apex) == {"10.99.1.1", "10.99.1.2"}
    outside = Counter(seen(served, OUTSIDE, "w.corp.test", "A", tcp)[0] for _ in range(100))
    assert set(outside) == {"192.0.2.11", "192.0.2.12"}
    m = served.query("corp.test", "A", source=OUTSIDE, tcp=tcp)
    assert m.rcode() == dns.rcode.NOERROR and m.answer == [] and not leaked(m)


def assoc_change(served, call, **kw) -> float:
    """Seconds from the API call to GetChange INSYNC."""
    t0 = time.monotonic()
    r = call(**kw)
    served.wait_insync(r["ChangeInfo"]["Id"])
    return time.monotonic() - t0


def test_associate_and_disassociate_take_effect_promptly(served, world):
    client = served.client
    vpc_b = {"VPCRegion": "eu-west-1", "VPCId": "vpc-b"}
    assert seen(served, IN_B, "www.corp.test", "A", False) == ["192.0.2.1"]

    took = assoc_change(served, client.associate_vpc_with_hosted_zone,
                        HostedZoneId=world.private, VPC=vpc_b)
    assert took < 3.0, f"association INSYNC after {took:.2f} s"
    for tcp in (False, True):
        # vpc-b now sees both of its private zones; outside still sees the public one
        assert seen(served, IN_B, "www.corp.test", "A", tcp) == ["10.99.0.1"]
        assert seen(served, IN_B, "host.internal.test", "A", tcp) == ["10.99.2.1"]
        assert seen(served, IN_A, "www.corp.test", "A", tcp) == ["10.99.0.1"]
        assert seen(served, OUTSIDE, "www.corp.test", "A", tcp) == ["192.0.2.1"]
        assert seen(served, OUTSIDE, "secret.corp.test", "A", tcp) == NX
    zone_vpcs = {v["VPCId"] for v in client.get_hosted_zone(Id=world.private)["VPCs"]}
    assert zone_vpcs == {"vpc-a", "vpc-b"}
    by_vpc = client.list_hosted_zones_by_vpc(VPCId="vpc-b", VPCRegion="eu-west-1")
    assert {z["Name"] for z in by_vpc["HostedZoneSummaries"]} == {"corp.test.", "internal.test."}

    took = assoc_change(served, client.disassociate_vpc_from_hosted_zone,
                        HostedZoneId=world.private, VPC=vpc_b)
    assert took < 3.0, f"disassociation INSYNC after {took:.2f} s"
    for tcp in (False, True):
        assert seen(served, IN_B, "www.corp.test", "A", tcp) == ["192.0.2.1"]
        assert seen(served, IN_B, "secret.corp.test", "A", tcp) == NX
        assert seen(served, IN_A, "secret.corp.test", "A", tcp) == ["10.99.0.2"]

    # the last VPC cannot be taken away; the zone keeps answering vpc-a
    with pytest.raises(client.exceptions.LastVPCAssociation):
        client.disassociate_vpc_from_hosted_zone(
            HostedZoneId=world.private, VPC={"VPCRegion": "us-east-1", "VPCId": "vpc-a"})
    assert seen(served, IN_A, "secret.corp.test", "A", False) == ["10.99.0.2"]


def test_private_record_changes_served_only_inside(served, world):
    took = served.change(world.private, ("UPSERT", {
        "Name": "fresh.corp.test", "Type": "A", "TTL": 60,
        "ResourceRecords": [{"Value": "10.99.3.3"}]}))
    assert took < 3.0
    assert seen(served, IN_A, "fresh.corp.test", "A", True) == ["10.99.3.3"]
    for src in (OUTSIDE, IN_B, ALSO_OUTSIDE):
        for tcp in (False, True):
            assert seen(served, src, "fresh.corp.test", "A", tcp) == NX
    assert wait_for(lambda: seen(served, IN_A, "fresh.corp.test", "A", False) == ["10.99.3.3"])
