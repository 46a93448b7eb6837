"""A chain of trust from a registry TLD to a registered domain (issue 14):
the registry's TLD zone is signed (its DS is written to
DATA_DIR/dnssec-keys/corp.ds as the trust anchor), a hosted zone of a domain
registered here is signed through Route 53's API, its DS goes into the TLD
through Route 53 Domains' AssociateDelegationSignerToDomain, and unbound,
trusting only the TLD's DS, validates the domain's answers."""
from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time

import boto3
import dns.flags
import dns.rcode
import pytest
from botocore.config import Config as BotoConfig
from helpers.unbound import Unbound
from helpers.procs import child_env, wait_insync, wait_ready

pytestmark = pytest.mark.skipif(not shutil.which("unbound"), reason="unbound not installed")
AKID, SECRET = "AKIDCHAIN", "chain-secret"
CONTACT = {"FirstName": "Ada", "LastName": "Lovelace", "ContactType": "PERSON",
           "AddressLine1": "12 Analytical Row", "City": "London", "CountryCode": "GB",
           "ZipCode": "N1 9GU", "PhoneNumber": "+44.2071234567", "Email": "ada@example.org"}
CONFIG = """
[api]
listen = "127.0.0.1:{api_port}"
access_key_id = "{akid}"
secret_access_key = "{secret}"

[store]
data_dir = "{data}"

[zones]
nameservers = ["ns1.corp.", "ns2.corp."]

[registry]
tlds = ["corp"]
operation_delay = 0.05
accounts = {{ {akid} = "111111111111" }}
"""


def wait_op(client, op_id, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        d = client.get_operation_detail(OperationId=op_id)
        if d["Status"] in ("SUCCESSFUL", "FAILED", "ERROR"):
            return d
        time.sleep(0.05)
    raise AssertionError(f"operation {op_id} did not finish")


def test_tld_to_domain_chain_validates(tmp_path, free_port):
    data = tmp_path / "data"
    dns_port, api_port = free_port(), free_port()
    cfg = tmp_path / "zonefront.toml"
    cfg.write_text(CONFIG.format(api_port=api_port, akid=AKID, secret=SECRET, data=data))
    env = child_env()
    env.pop("ZONEFRONT_ACCESS_KEY_ID", None)
    env.pop("ZONEFRONT_SECRET_ACCESS_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "zonefront.cli", "serve", "--api", "--no-demo", "--workers", "1",
         "--dns-listen", f"127.0.0.1:{dns_port}", "--config", str(cfg)],
        stderr=subprocess.PIPE, text=True, env=env)
    unbound = None
    try:
        wait_ready(proc)
        kw = dict(endpoint_url=f"http://127.0.0.1:{api_port}", region_name="us-east-1",
                  aws_access_key_id=AKID, aws_secret_access_key=SECRET,
                  config=BotoConfig(retries={"max_attempts": 1}))
        r53, domains = boto3.client("route53", **kw), boto3.client("route53domains", **kw)
        op = domains.register_domain(DomainName="acme.corp", DurationInYears=1,
                                     AdminContact=CONTACT, RegistrantContact=CONTACT,
                                     TechContact=CONTACT)["OperationId"]
        assert wait_op(domains, op)["Status"] == "SUCCESSFUL"
        zones = r53.list_hosted_zones_by_name(DNSName="acme.corp.")["HostedZones"]
        zid = [z["Id"] for z in zones if z["Name"] == "acme.corp."][0]
        r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [
            {"Action": "CREATE", "ResourceRecordSet": {
                "Name": "www.acme.corp.", "Type": "A", "TTL": 60,
                "ResourceRecords": [{"Value": "192.0.2.80"}]}}]})
        ksk = r53.create_key_signing_key(
            CallerReference="chain", HostedZoneId=zid, Name="ksk_chain", Status="ACTIVE",
            KeyManagementServiceArn="arn:aws:kms:us-east-1:111111111111:key/chain")[
            "KeySigningKey"]
        assert wait_insync(r53, r53.enable_hosted_zone_dnssec(HostedZoneId=zid)[
            "ChangeInfo"]["Id"], timeout=20)
        op = domains.associate_delegation_signer_to_domain(DomainName="acme.corp",
                                                           SigningAttributes={
            "Algorithm": 13, "Flags": 257, "PublicKey": ksk["PublicKey"]})["OperationId"]
        assert wait_op(domains, op)["Status"] == "SUCCESSFUL"
        anchor = data / "dnssec-keys" / "corp.ds"
        for _ in range(100):
            if anchor.exists():
                break
            time.sleep(0.1)
        name, _ds, ds = anchor.read_text().strip().split(" ", 2)
        assert name == "corp."
        conf_dir = tmp_path / "unbound"
        conf_dir.mkdir()
        unbound = Unbound(conf_dir, free_port(), dns_port, ds, zone="corp.",
                          stubs=("corp.", "acme.corp."))
        deadline = time.monotonic() + 10
        while True:  # the DS reaches the TLD once the registry's change is published
            m = unbound.ask("www.acme.corp.", "A")
            if m.flags & dns.flags.AD or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert m.rcode() == dns.rcode.NOERROR and m.flags & dns.flags.AD, m.to_text()
        m = unbound.ask("acme.corp.", "DS")
        assert m.answer and m.flags & dns.flags.AD
        # the TLD still holds the DS: turning signing off would break the chain
        with pytest.raises(r53.exceptions.KeySigningKeyInParentDSRecord):
            r53.disable_hosted_zone_dnssec(HostedZoneId=zid)
    finally:
        if unbound is not None:
            unbound.stop()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
