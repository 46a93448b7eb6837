"""The whole product: `zonefront serve` with the API on, driven by boto3,
answering on its DNS port.  A committed change must be served by the running
workers (no restart) and GetChange must say INSYNC once it is."""
from __future__ import annotations

import functools
import signal
import subprocess
import sys
import time

import boto3
import dns.message
import dns.query
import dns.rcode
import pytest
from botocore.config import Config as BotoConfig
from helpers.procs import child_env, wait_insync, wait_ready




@pytest.fixture(scope="module")
def served(tmp_path_factory, free_port):
    data = tmp_path_factory.mktemp("served")
    dns_port, api_port = free_port(), free_port()
    env = child_env(ZONEFRONT_ACCESS_KEY_ID="AKIDSERVED", ZONEFRONT_SECRET_ACCESS_KEY="s3cret")
    proc = subprocess.Popen(
        [sys.executable, "-m", "zonefront.cli", "serve", "--api", "--no-demo", "--workers", "2",
         "--dns-listen", f"127.0.0.1:{dns_port}", "--api-listen", f"127.0.0.1:{api_port}",
         "--data-dir", str(data), "--nameserver", "ns1.example.net.", "--nameserver", "ns2.example.net."],
        stderr=subprocess.PIPE, text=True, env=env)
    try:
        wait_ready(proc)
        client = boto3.client(
            "route53", endpoint_url=f"http://127.0.0.1:{api_port}", region_name="us-east-1",
            aws_access_key_id="AKIDSERVED", aws_secret_access_key="s3cret",
            config=BotoConfig(retries={"max_attempts": 1}))
        yield client, dns_port, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


def ask(port, name, rdtype="A", tcp=False):
    q = dns.message.make_query(name, rdtype)
    fn = dns.query.tcp if tcp else dns.query.udp
    return fn(q, "127.0.0.1", port=port, timeout=2)


wait_insync = functools.partial(wait_insync, timeout=5.0)


def test_zone_and_records_are_served_after_insync(served):
    client, port, _ = served
    zone = client.create_hosted_zone(Name="served.test", CallerReference="served-1")
    zid = zone["HostedZone"]["Id"]
    assert wait_insync(client, zone["ChangeInfo"]["Id"])
    m = ask(port, "served.test", "SOA")
    assert m.rcode() == dns.rcode.NOERROR and m.answer[0].rdtype == dns.rdatatype.SOA
    ns = ask(port, "served.test", "NS")
    assert sorted(r.to_text() for r in ns.answer[0]) == ["ns1.example.net.", "ns2.example.net."]
    assert ask(port, "www.served.test").rcode() == dns.rcode.NXDOMAIN

    t0 = time.monotonic()
    change = client.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": {
            "Name": "www.served.test", "Type": "A", "TTL": 60,
            "ResourceRecords": [{"Value": "192.0.2.44"}, {"Value": "192.0.2.45"}]}}]})
    assert wait_insync(client, change["ChangeInfo"]["Id"])
    assert time.monotonic() - t0 < 1.0, "a committed change must be served within a second"
    for tcp in (False, True):
        m = ask(port, "www.served.test", tcp=tcp)
        assert sorted(r.address for r in m.answer[0]) == ["192.0.2.44", "192.0.2.45"]
        assert m.answer[0].ttl == 60


def test_upsert_and_delete_take_effect(served):
    client, port, _ = served
    zid = client.create_hosted_zone(Name="flip.test", CallerReference="flip-1")["HostedZone"]["Id"]
    rrset = {"Name": "api.flip.test", "Type": "CNAME", "TTL": 30,
             "ResourceRecords": [{"Value": "target.flip.test"}]}
    ch = client.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [
        {"Action": "UPSERT", "ResourceRecordSet": rrset},
        {"Action": "CREATE", "ResourceRecordSet": {"Name": "target.flip.test", "Type": "TXT", "TTL": 30,
                                                   "ResourceRecords": [{"Value": '"hello"'}]}}]})
    assert wait_insync(client, ch["ChangeInfo"]["Id"])
    m = ask(port, "api.flip.test", "TXT")
    assert [r.rdtype for r in m.answer] == [dns.rdatatype.CNAME, dns.rdatatype.TXT]
    ch = client.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [
        {"Action": "DELETE", "ResourceRecordSet": rrset}]})
    assert wait_insync(client, ch["ChangeInfo"]["Id"])
    assert ask(port, "api.flip.test", "TXT").rcode() == dns.rcode.NXDOMAIN


def test_failed_batch_changes_nothing_served(served):
    client, port, _ = served
    zid = client.create_hosted_zone(Name="atomic.test", CallerReference="atomic-1")["HostedZone"]["Id"]
    good = {"Action": "CREATE", "ResourceRecordSet": {"Name": "a.atomic.test", "Type": "A", "TTL": 60,
                                                      "ResourceRecords": [{"Value": "192.0.2.1"}]}}
    bad = {"Action": "DELETE", "ResourceRecordSet": {"Name": "missing.atomic.test", "Type": "A", "TTL": 60,
                                                     "ResourceRecords": [{"Value": "192.0.2.2"}]}}
    with pytest.raises(client.exceptions.InvalidChangeBatch):
        client.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [good, bad]})
    time.sleep(0.3)
    assert ask(port, "a.atomic.test").rcode() == dns.rcode.NXDOMAIN
    names = [r["Name"] for r in client.list_resource_record_sets(HostedZoneId=zid)["ResourceRecordSets"]]
    assert names == ["atomic.test.", "atomic.test."]


def test_deleted_zone_is_refused(served):
    client, port, _ = served
    zid = client.create_hosted_zone(Name="gone.test", CallerReference="gone-1")["HostedZone"]["Id"]
    ch = client.delete_hosted_zone(Id=zid)
    assert wait_insync(client, ch["ChangeInfo"]["Id"])
    assert ask(port, "gone.test", "SOA").rcode() == dns.rcode.REFUSED
