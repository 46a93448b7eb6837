"""A signed zone served by a `zonefront edge` (issue 14): the edge answers
from the control plane's compiled image, online denial and wildcard
signatures included, and unbound holding the zone's DS sets AD on its
answers, nonexistent names and wildcard matches alike."""
from __future__ import annotations

import os
import shutil
import time

import boto3
import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
from botocore.config import Config as BotoConfig
from helpers.edge_cluster import EDGE_KEY, EDGE_SECRET, KEY, SECRET, start_control_plane, start_edge
from helpers.procs import wait_insync

from helpers.unbound import Unbound

pytestmark = pytest.mark.skipif(not shutil.which("unbound"), reason="unbound not installed")
ZONE = "signed-edge.test."


@pytest.fixture(scope="module")
def edge(tmp_path_factory, free_port):
    root = str(tmp_path_factory.mktemp("signed-edge"))
    config = os.path.join(root, "zonefront.toml")
    with open(config, "w") as f:
        f.write(f'[edges]\naccess_key_id = "{EDGE_KEY}"\nsecret_access_key = "{EDGE_SECRET}"\n')
    os.makedirs(os.path.join(root, "cp"))
    cp_dns, api, edge_dns = free_port(), free_port(), free_port()
    cp = start_control_plane(os.path.join(root, "cp"), cp_dns, api, config)
    procs = [cp]
    try:
        procs.append(start_edge(f"http://127.0.0.1:{api}", edge_dns, os.path.join(root, "edge"),
                                "edge0"))
        r53 = boto3.client("route53", endpoint_url=f"http://127.0.0.1:{api}",
                           region_name="us-east-1", aws_access_key_id=KEY,
                           aws_secret_access_key=SECRET,
                           config=BotoConfig(retries={"max_attempts": 1}))
        zid = r53.create_hosted_zone(Name=ZONE, CallerReference="signed-edge")["HostedZone"]["Id"]
        changes = [{"Action": "CREATE", "ResourceRecordSet": {
            "Name": f"{n}.{ZONE}", "Type": t, "TTL": 60, "ResourceRecords": [{"Value": v}]}}
            for n, t, v in (("www", "A", "192.0.2.1"), ("*.wild", "TXT", '"wild"'))]
        r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": changes})
        r53.create_key_signing_key(CallerReference="k", HostedZoneId=zid, Name="ksk",
                                   Status="ACTIVE",
                                   KeyManagementServiceArn="arn:aws:kms:us-east-1:111122223333:key/edge")
        change = r53.enable_hosted_zone_dnssec(HostedZoneId=zid)["ChangeInfo"]["Id"]
        assert wait_insync(r53, change, timeout=30), _diagnose(r53, zid, procs, edge_dns)
        status = r53.get_dnssec(HostedZoneId=zid)
        assert status["Status"]["ServeSignature"] == "SIGNING", _diagnose(r53, zid, procs,
                                                                          edge_dns)
        # INSYNC may be decided before this edge registered: wait until the
        # edge itself serves the signed DNSKEY RRset, so that unbound never
        # meets (and caches) the zone unsigned
        assert _wait_signed(edge_dns), "the edge never served the signed zone\n" + \
            _diagnose(r53, zid, procs, edge_dns)
        ds = status["KeySigningKeys"][0]["DSRecord"]
        u = Unbound(tmp_path_factory.mktemp("unbound"), free_port(), edge_dns, ds, zone=ZONE,
                    stubs=(ZONE,))
        yield u
        u.stop()
    finally:
        for p in reversed(procs):
            p.stop()


def _diagnose(r53, zid: str, procs, edge_dns: int) -> str:
    """What a failure needs to be understood: GetDNSSEC, what the edge
    serves (the SOA serial and whether its DNSKEY answer is signed), the
    environment variables the children inherited that can steer them, and
    the logs of the control plane and the edge."""
    out = []
    try:
        out.append(f"GetDNSSEC: {r53.get_dnssec(HostedZoneId=zid)['Status']}")
    except Exception as e:  # the diagnosis must not hide the failure
        out.append(f"GetDNSSEC failed: {e!r}")
    for rdtype in ("SOA", "DNSKEY"):
        q = dns.message.make_query(ZONE, rdtype, want_dnssec=True)
        try:
            m = dns.query.udp(q, "127.0.0.1", port=edge_dns, timeout=1.0)
            out.append(f"edge {rdtype} (DO):\n{m.to_text()}")
        except (OSError, dns.exception.Timeout) as e:
            out.append(f"edge {rdtype}: {e!r}")
    out.append("environment: " + ", ".join(
        f"{k}={v}" for k, v in sorted(os.environ.items())
        if k.startswith(("ZONEFRONT_", "SOFTHSM", "PKCS11", "PYTHON"))))
    for p in procs:
        out.append(f"--- {p.log} (exit {p.p.poll()}):\n{p.text()[-6000:]}")
    return "\n".join(out)


def _wait_signed(port: int, timeout: float = 30.0) -> bool:
    q = dns.message.make_query(ZONE, "DNSKEY", want_dnssec=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            m = dns.query.udp(q, "127.0.0.1", port=port, timeout=0.5)
            if any(r.rdtype == dns.rdatatype.RRSIG for r in m.answer):
                return True
        except (OSError, dns.exception.Timeout):
            pass
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("name,rdtype,has_answer", [
    ("www.signed-edge.test.", "A", True),
    ("signed-edge.test.", "DNSKEY", True),
    ("x.wild.signed-edge.test.", "TXT", True),
    ("nothere.signed-edge.test.", "A", False),
    ("www.signed-edge.test.", "TXT", False),
])
def test_unbound_validates_what_the_edge_serves(edge, name, rdtype, has_answer):
    m = edge.ask(name, rdtype)
    assert m.rcode() == dns.rcode.NOERROR and bool(m.answer) == has_answer, m.to_text()
    assert m.flags & dns.flags.AD, m.to_text()
