"""The recursive fallback on edges: a real control plane (no resolver of its
own) and two real `zonefront edge` processes, one started with
--fallback-resolver pointing at a resolver stand-in on 127.0.0.1, one
without.  From the VPC's address (127.0.0.2) a name the private zone lacks
and no public zone covers is answered by the resolver through the first
edge, over UDP and TCP; the second answers the private NXDOMAIN.  Bad flag
values: a clear error and exit status 1, before anything listens."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import boto3
import dns.message
import dns.query
import dns.rcode
import pytest
from botocore.config import Config as BotoConfig
from helpers.edge_cluster import (
    EDGE_KEY,
    EDGE_SECRET,
    KEY,
    SECRET,
    env,
    start_control_plane,
    start_edge,
    wait_for,
)

from zonefront.edge import cli_glue

from helpers.stubresolver import Resolver

pytestmark = pytest.mark.e2e

INSIDE, OUTSIDE = "127.0.0.2", "127.0.0.1"
ZONE = "intra-edge.test"
REMOTE, REMOTE_ADDR = f"remote.{ZONE}", "198.51.100.9"
CONFIG = f"""[edges]
stale_after = 5.0
access_key_id = "{EDGE_KEY}"
secret_access_key = "{EDGE_SECRET}"

[vpcs.vpc-a]
region = "us-east-1"
cidrs = ["{INSIDE}/32"]
"""


class Setup:
    pass


@pytest.fixture(scope="module")
def setup(tmp_path_factory, free_port):
    root = str(tmp_path_factory.mktemp("edgefb"))
    s = Setup()
    s.resolver = Resolver({REMOTE + ".": REMOTE_ADDR})
    s.config = os.path.join(root, "zonefront.toml")
    with open(s.config, "w") as f:
        f.write(CONFIG)
    cp_data = os.path.join(root, "cp")
    os.makedirs(cp_data)
    s.dns_port, s.api_port = free_port(), free_port()
    s.procs = []
    try:
        s.cp = start_control_plane(cp_data, s.dns_port, s.api_port, s.config)
        s.procs.append(s.cp)
        url = f"http://127.0.0.1:{s.api_port}"
        s.with_port, s.without_port = free_port(), free_port()
        s.with_fb = start_edge(url, s.with_port, os.path.join(root, "edge-fb"), "edge-fb",
                               extra=["--fallback-resolver", f"127.0.0.1:{s.resolver.port}",
                                      "--fallback-timeout", "1.0"])
        s.procs.append(s.with_fb)
        s.without_fb = start_edge(url, s.without_port, os.path.join(root, "edge-nofb"),
                                  "edge-nofb")
        s.procs.append(s.without_fb)
        s.r53 = boto3.client("route53", endpoint_url=url, region_name="us-east-1",
                             aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                             config=BotoConfig(retries={"max_attempts": 1}))
        z = s.r53.create_hosted_zone(
            Name=ZONE, CallerReference=f"edgefb-{time.monotonic_ns()}",
            VPC={"VPCRegion": "us-east-1", "VPCId": "vpc-a"},
            HostedZoneConfig={"PrivateZone": True, "Comment": "edge fallback"})
        s.zone_id = z["HostedZone"]["Id"].rsplit("/", 1)[-1]
        r = s.r53.change_resource_record_sets(HostedZoneId=s.zone_id, ChangeBatch={"Changes": [
            {"Action": "CREATE", "ResourceRecordSet": {
                "Name": f"www.{ZONE}", "Type": "A", "TTL": 60,
                "ResourceRecords": [{"Value": "10.1.0.1"}]}}]})
        assert wait_for(lambda: s.r53.get_change(Id=r["ChangeInfo"]["Id"])["ChangeInfo"][
            "Status"] == "INSYNC", 10)
        yield s
    finally:
        for p in reversed(s.procs):
            p.stop()
        s.resolver.close()


def answer(port: int, qname: str, source: str, tcp: bool):
    q = dns.message.make_query(qname, "A")
    how = dns.query.tcp if tcp else dns.query.udp
    m = how(q, "127.0.0.1", port=port, timeout=3.0, source=source)
    return m.rcode(), sorted(r.to_text() for s in m.answer for r in s)


def set_fallback(s, on: bool) -> None:
    s.r53.update_hosted_zone_features(HostedZoneId=s.zone_id, EnablePublicDNSFallback=on)
    want = dns.rcode.NOERROR if on else dns.rcode.NXDOMAIN
    assert wait_for(lambda: answer(s.with_port, REMOTE, INSIDE, False)[0] == want, 10), \
        f"public DNS fallback {on} not served by the edge within 10 s"


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_edge_answers_from_the_resolver(setup, tcp):
    s = setup
    assert answer(s.with_port, REMOTE, INSIDE, tcp)[0] == dns.rcode.NXDOMAIN  # not enabled yet
    set_fallback(s, True)
    try:
        asked = len(s.resolver.ids)
        assert answer(s.with_port, REMOTE, INSIDE, tcp) == (dns.rcode.NOERROR, [REMOTE_ADDR])
        assert len(s.resolver.ids) > asked  # the resolver was asked, through this edge
        # a name the zone has keeps its own answer; one the resolver lacks is its NXDOMAIN
        assert answer(s.with_port, f"www.{ZONE}", INSIDE, tcp) == (dns.rcode.NOERROR,
                                                                   ["10.1.0.1"])
        assert answer(s.with_port, f"nothing.{ZONE}", INSIDE, tcp)[0] == dns.rcode.NXDOMAIN
        # the edge without the option: the private NXDOMAIN, the resolver never asked
        assert wait_for(lambda: answer(s.without_port, f"www.{ZONE}", INSIDE, tcp)[1]
                        == ["10.1.0.1"], 5)
        asked = len(s.resolver.ids)
        assert answer(s.without_port, REMOTE, INSIDE, tcp) == (dns.rcode.NXDOMAIN, [])
        # outside the VPC: not a zone of ours, on either edge
        assert answer(s.with_port, REMOTE, OUTSIDE, tcp)[0] == dns.rcode.REFUSED
        assert len(s.resolver.ids) == asked
    finally:
        set_fallback(s, False)
    assert answer(s.with_port, REMOTE, INSIDE, tcp)[0] == dns.rcode.NXDOMAIN


def test_ready_line_names_the_resolver(setup):
    line = setup.with_fb.wait_line("ready:")
    assert f"fallback resolver 127.0.0.1:{setup.resolver.port}" in line
    assert "fallback" not in setup.without_fb.wait_line("ready:")


BAD = [
    (["--fallback-resolver", "127.0.0.1:port"], "--fallback-resolver"),
    (["--fallback-resolver", "127.0.0.1:70000"], "out of range"),
    (["--fallback-resolver", ":53"], "expected HOST:PORT"),
    (["--fallback-resolver", "127.0.0.1:0"], "expected HOST:PORT"),
    (["--fallback-timeout", "soon"], "not a number"),
    (["--fallback-timeout", "0"], "(0, 30]"),
    (["--fallback-timeout", "-1"], "(0, 30]"),
    (["--fallback-timeout", "31"], "(0, 30]"),
    (["--fallback-timeout", "nan"], "(0, 30]"),
]


@pytest.mark.parametrize("argv,reason", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_values_are_refused(tmp_path, free_port, capsys, argv, reason):
    data = tmp_path / "edge"
    port = free_port()
    rc = cli_glue.main(["--control-plane", "http://127.0.0.1:9", "--data-dir", str(data),
                        "--dns-listen", f"127.0.0.1:{port}", "--geoip", "none", *argv])
    assert rc == 1
    err = capsys.readouterr().err
    assert err.startswith("zonefront: ") and reason in err, err
    assert not data.exists()  # nothing made, nothing listened on


def test_bad_value_exit_status_of_the_command(tmp_path, free_port):
    p = subprocess.run([sys.executable, "-m", "zonefront.edge", "--control-plane",
                        "http://127.0.0.1:9", "--data-dir", str(tmp_path / "d"),
                        "--dns-listen", f"127.0.0.1:{free_port()}",
                        "--fallback-resolver", "127.0.0.1:fifty-three"],
                       env=env(), capture_output=True, text=True, timeout=60, check=False)
    assert p.returncode == 1
    assert "zonefront: --fallback-resolver: '127.0.0.1:fifty-three': port 'fifty-three' is " \
        "not a number" in p.stderr, p.stderr
    assert not (tmp_path / "d").exists()


def test_none_and_system():
    from zonefront.dataplane.forwarder import Forwarder
    from zonefront.outside import stub

    assert cli_glue.fallback_forwarder("none", "2.0") is None
    assert cli_glue.fallback_forwarder(" none ", "0.5") is None
    f = cli_glue.fallback_forwarder("system", "2.0")  # /etc/resolv.conf's first nameserver
    system = stub.system_resolver()
    if system is None:
        assert f is None
    else:
        assert isinstance(f, Forwarder) and f.resolver == (system[0], int(system[1]))
    f = cli_glue.fallback_forwarder("[::1]:5353", "30")
    assert f.resolver == ("::1", 5353) and f.timeout == 30.0
