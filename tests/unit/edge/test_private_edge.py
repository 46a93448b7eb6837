"""An edge serving private zones (issues 13 and 14), with real processes: a
control plane and one `zonefront edge` behind a Proxy.  The edge takes the
control plane's image and private views (GET .../zonefront/views) instead
of compiling the zone set: it answers public and private names as the
control plane does (a source outside the VPC never gets a private answer),
applies a public and a private change as the control plane's patches
(and, for the private one, its new views), serves a signed zone signed
beside the private zone, and restarts from disk with both, before the
control plane is reachable."""
from __future__ import annotations

import json
import os
import signal
import time

import boto3
import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
from botocore.config import Config as BotoConfig
from helpers.edge_cluster import (EDGE_KEY, EDGE_SECRET, KEY, SECRET, start_control_plane,
                                  start_edge, wait_for)
from helpers.procs import wait_insync
from helpers.proxy import Proxy
from test_edge_fallback import CONFIG, INSIDE, OUTSIDE  # vpc-a: 127.0.0.2/32

from zonefront.edge import documents
from zonefront.edge.client import Client

pytestmark = pytest.mark.e2e

PUBLIC, PRIVATE, SIGNED = "pe-public.test", "pe-intra.test", "pe-signed.test"


class Setup:
    pass


def a_record(name: str, value: str) -> dict:
    return {"Action": "UPSERT", "ResourceRecordSet": {
        "Name": name, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": value}]}}


@pytest.fixture(scope="module")
def setup(tmp_path_factory, free_port):
    root = str(tmp_path_factory.mktemp("privedge"))
    s = Setup()
    config = os.path.join(root, "zonefront.toml")
    with open(config, "w") as f:
        f.write(CONFIG)
    cp_data = os.path.join(root, "cp")
    os.makedirs(cp_data)
    s.dns_port, s.api_port, s.port = free_port(), free_port(), free_port()
    s.edge_dir = os.path.join(root, "edge")
    s.cp = start_control_plane(cp_data, s.dns_port, s.api_port, config)
    s.proxy = Proxy(("127.0.0.1", s.api_port))
    s.edge = None
    try:
        url = f"http://127.0.0.1:{s.api_port}"
        s.r53 = boto3.client("route53", endpoint_url=url, region_name="us-east-1",
                             aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                             config=BotoConfig(retries={"max_attempts": 1}))
        s.api = Client(url, KEY, SECRET)
        s.url = url
        ids = {}
        for zone, vpc in ((PUBLIC, None), (SIGNED, None), (PRIVATE, "vpc-a")):
            kw = {"VPC": {"VPCRegion": "us-east-1", "VPCId": vpc},
                  "HostedZoneConfig": {"PrivateZone": True, "Comment": "edge"}} if vpc else {}
            z = s.r53.create_hosted_zone(Name=zone, CallerReference=f"pe-{zone}-{time.time()}",
                                         **kw)
            ids[zone] = z["HostedZone"]["Id"].rsplit("/", 1)[-1]
        s.ids = ids
        for zone, value in ((PUBLIC, "192.0.2.1"), (SIGNED, "192.0.2.2"), (PRIVATE, "10.0.0.1")):
            s.r53.change_resource_record_sets(HostedZoneId=ids[zone], ChangeBatch={
                "Changes": [a_record(f"www.{zone}", value)]})
        s.r53.create_key_signing_key(
            CallerReference="pe-ksk", HostedZoneId=ids[SIGNED], Name="ksk", Status="ACTIVE",
            KeyManagementServiceArn="arn:aws:kms:us-east-1:111122223333:key/privedge")
        change = s.r53.enable_hosted_zone_dnssec(HostedZoneId=ids[SIGNED])["ChangeInfo"]["Id"]
        assert wait_insync(s.r53, change, timeout=30)
        s.edge = start_edge(s.proxy.url, s.port, s.edge_dir, "pe0")
        yield s
    finally:
        if s.edge is not None:
            s.edge.stop()
        s.proxy.close()
        s.cp.stop()


def answer(port: int, qname: str, source: str, rdtype: str = "A", dnssec: bool = False):
    q = dns.message.make_query(qname, rdtype, want_dnssec=dnssec)
    try:
        return dns.query.udp(q, "127.0.0.1", port=port, timeout=1.0, source=source)
    except dns.exception.Timeout:
        return None


def addresses(port: int, qname: str, source: str):
    m = answer(port, qname, source)
    if m is None:
        return "<timeout>"
    return dns.rcode.to_text(m.rcode()), sorted(r.to_text() for s in m.answer for r in s)


def signed(port: int) -> bool:
    m = answer(port, f"www.{SIGNED}", OUTSIDE, dnssec=True)
    return m is not None and any(r.rdtype == dns.rdatatype.RRSIG for r in m.answer)


def updates(s) -> dict:
    edges = s.api.json("GET", "/2013-04-01/zonefront/edges")["Edges"]
    return next(e for e in edges if e["Id"] == "pe0")["Updates"]


def saved(s) -> bool:
    """The edge's disk state names the serial it serves, with views."""
    try:
        with open(os.path.join(s.edge_dir, "state.json")) as f:
            st = json.load(f)
    except (OSError, ValueError):
        return False
    serial = s.api.json("GET", "/2013-04-01/zonefront/edges")["Serial"]
    return st.get("serial") == serial and bool(st.get("views"))


def serves_everything(port: int, private: str = "10.0.0.1") -> bool:
    return (addresses(port, f"www.{PUBLIC}", OUTSIDE) == ("NOERROR", ["192.0.2.1"])
            and addresses(port, f"www.{PUBLIC}", INSIDE) == ("NOERROR", ["192.0.2.1"])
            and addresses(port, f"www.{PRIVATE}", INSIDE) == ("NOERROR", [private])
            and addresses(port, f"www.{PRIVATE}", OUTSIDE) == ("REFUSED", []))


def test_public_and_private_answers_from_the_control_planes_views(setup):
    s = setup
    assert wait_for(lambda: serves_everything(s.port), 10), addresses(
        s.port, f"www.{PRIVATE}", INSIDE)
    # the same as the control plane's own workers
    for name in (f"www.{PUBLIC}", f"www.{PRIVATE}", f"nothing.{PRIVATE}"):
        for source in (INSIDE, OUTSIDE):
            assert addresses(s.port, name, source) == addresses(s.dns_port, name, source)
    assert addresses(s.port, f"nothing.{PRIVATE}", INSIDE)[0] == "NXDOMAIN"
    assert wait_for(lambda: updates(s).get("views", 0) >= 1, 5), updates(s)
    assert updates(s).get("compiled") == 0, updates(s)
    assert "private view(s)" in s.edge.wait_line("ready:")


def test_views_document_takes_the_edge_key(setup):
    s = setup
    path = "/2013-04-01/zonefront/views"
    status, hdrs, blob = Client(s.url, EDGE_KEY, EDGE_SECRET).request("GET", path)
    assert status == 200, blob
    epoch, serial, views = documents.loads_views(blob)
    assert epoch == hdrs["x-zonefront-epoch"] and serial == int(hdrs["x-zonefront-serial"])
    assert [cidrs for _image, cidrs in views] == [[f"{INSIDE}/32"]]
    assert Client(s.url, None, None).request("GET", path)[0] == 403
    assert Client(s.url, EDGE_KEY, "wrong").request("GET", path)[0] == 403


def test_signed_zone_is_served_signed_beside_a_private_zone(setup):
    s = setup
    assert wait_for(lambda: signed(s.port), 10), answer(s.port, f"www.{SIGNED}", OUTSIDE,
                                                        dnssec=True)
    m = answer(s.port, SIGNED + ".", OUTSIDE, "DNSKEY", dnssec=True)
    assert {r.rdtype for r in m.answer} == {dns.rdatatype.DNSKEY, dns.rdatatype.RRSIG}
    assert "served unsigned" not in s.edge.text()
    assert addresses(s.port, f"www.{PRIVATE}", INSIDE) == ("NOERROR", ["10.0.0.1"])


def test_public_and_private_changes_are_patched_not_compiled(setup):
    s = setup
    assert wait_for(lambda: serves_everything(s.port), 10)
    before = updates(s)
    r = s.r53.change_resource_record_sets(HostedZoneId=s.ids[PUBLIC], ChangeBatch={
        "Changes": [a_record(f"new.{PUBLIC}", "192.0.2.9")]})
    assert wait_insync(s.r53, r["ChangeInfo"]["Id"], 10)
    assert addresses(s.port, f"new.{PUBLIC}", OUTSIDE) == ("NOERROR", ["192.0.2.9"])
    assert wait_for(lambda: updates(s)["patched"] > before["patched"], 5), updates(s)
    mid = updates(s)
    assert mid["views"] == before["views"]  # a public change leaves the views alone
    r = s.r53.change_resource_record_sets(HostedZoneId=s.ids[PRIVATE], ChangeBatch={
        "Changes": [a_record(f"www.{PRIVATE}", "10.0.0.2"),
                    a_record(f"db.{PRIVATE}", "10.0.0.3")]})
    assert wait_insync(s.r53, r["ChangeInfo"]["Id"], 10)
    assert serves_everything(s.port, private="10.0.0.2")
    assert addresses(s.port, f"db.{PRIVATE}", INSIDE) == ("NOERROR", ["10.0.0.3"])
    assert addresses(s.port, f"db.{PRIVATE}", OUTSIDE) == ("REFUSED", [])
    assert wait_for(lambda: updates(s)["patched"] > mid["patched"], 5), updates(s)
    after = updates(s)
    assert after["views"] == mid["views"] + 1  # the private change's new views, taken once
    assert after["compiled"] == 0 and after["full"] == before["full"], after
    assert signed(s.port)


def test_restart_serves_both_from_disk_before_the_control_plane(setup):
    s = setup
    r = s.r53.change_resource_record_sets(HostedZoneId=s.ids[PRIVATE], ChangeBatch={
        "Changes": [a_record(f"disk.{PRIVATE}", "10.0.0.5")]})
    assert wait_insync(s.r53, r["ChangeInfo"]["Id"], 10)
    assert wait_for(lambda: signed(s.port), 10)

    def both() -> bool:
        return (addresses(s.port, f"disk.{PRIVATE}", INSIDE) == ("NOERROR", ["10.0.0.5"])
                and addresses(s.port, f"disk.{PRIVATE}", OUTSIDE) == ("REFUSED", [])
                and addresses(s.port, f"www.{PUBLIC}", INSIDE) == ("NOERROR", ["192.0.2.1"])
                and addresses(s.port, f"www.{PUBLIC}", OUTSIDE) == ("NOERROR", ["192.0.2.1"])
                and signed(s.port))

    assert both()
    # the edge reports a serial (INSYNC) as soon as it serves it and writes
    # its disk copy after: killed before that, it restarts with the previous one
    assert wait_for(lambda: saved(s), 5), open(os.path.join(s.edge_dir, "state.json")).read()
    s.edge.signal(signal.SIGKILL)
    s.edge.p.wait(5)
    s.edge.stop()
    s.proxy.block()
    try:
        s.edge = start_edge(s.proxy.url, s.port, s.edge_dir, "pe0")
        ready = s.edge.wait_line("ready:")
        assert "private view(s) from disk" in ready, ready
        # from the first answer on, and while the sync thread has had its go
        # at the disk copy: both, and the signed zone still signed
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            assert both()
            time.sleep(0.1)
        # it did ask, and could not reach the control plane
        assert wait_for(lambda: "edge: control plane" in s.edge.text(), 5), s.edge.text()
    finally:
        s.proxy.unblock()
    r = s.r53.change_resource_record_sets(HostedZoneId=s.ids[PRIVATE], ChangeBatch={
        "Changes": [a_record(f"late.{PRIVATE}", "10.0.0.4")]})
    assert wait_insync(s.r53, r["ChangeInfo"]["Id"], 15)
    assert addresses(s.port, f"late.{PRIVATE}", INSIDE) == ("NOERROR", ["10.0.0.4"])
    assert both()
    # caught up from its disk copy by the control plane's patch: no full copy, no compile
    assert wait_for(lambda: updates(s).get("patched", 0) >= 1, 5), updates(s)
    assert updates(s)["full"] == 0 and updates(s)["compiled"] == 0, updates(s)
