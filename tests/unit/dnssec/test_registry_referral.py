"""The registry's signed TLD zone refers to a registered domain served
elsewhere (issue 14): after AssociateDelegationSignerToDomain its referral
carries, with DO, the domain's DS and the TLD's RRSIG over it (RFC 4035
§3.1.4.1); without DO, the NS alone.  The domain's hosted zone is deleted,
so the TLD is what answers names below the domain."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import boto3
import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rdatatype
from botocore.config import Config as BotoConfig
from helpers.procs import child_env, wait_ready
from helpers.registry_chain import ACCOUNT, AKID, CONFIG, CONTACT, SECRET, wait_op

# the DS is made from RFC 6605 §6.1's example P-256 key (the child is never asked)
PUBLIC_KEY = ("mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L"
              "53eKGQ==")


def ask(port: int, name: str, rdtype: str, do: bool = True):
    q = dns.message.make_query(name, rdtype, want_dnssec=do)
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=3)


def test_tld_referral_carries_the_registered_domains_signed_ds(tmp_path, free_port):
    data = tmp_path / "data"
    dns_port, api_port = free_port(), free_port()
    cfg = tmp_path / "zonefront.toml"
    cfg.write_text(CONFIG.format(api_port=api_port, akid=AKID, secret=SECRET, data=data,
                                 account=ACCOUNT, extra=""))
    env = child_env()
    env.pop("ZONEFRONT_ACCESS_KEY_ID", None)
    env.pop("ZONEFRONT_SECRET_ACCESS_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "zonefront.cli", "serve", "--api", "--no-demo", "--workers", "1",
         "--dns-listen", f"127.0.0.1:{dns_port}", "--config", str(cfg)],
        stderr=subprocess.PIPE, text=True, env=env)
    try:
        wait_ready(proc)
        kw = dict(endpoint_url=f"http://127.0.0.1:{api_port}", region_name="us-east-1",
                  aws_access_key_id=AKID, aws_secret_access_key=SECRET,
                  config=BotoConfig(retries={"max_attempts": 1}))
        r53, domains = boto3.client("route53", **kw), boto3.client("route53domains", **kw)
        op = domains.register_domain(DomainName="away.corp", DurationInYears=1,
                                     AdminContact=CONTACT, RegistrantContact=CONTACT,
                                     TechContact=CONTACT)["OperationId"]
        assert wait_op(domains, op)["Status"] == "SUCCESSFUL"
        op = domains.update_domain_nameservers(DomainName="away.corp", Nameservers=[
            {"Name": "ns1.away.corp", "GlueIps": ["192.0.2.53"]}])["OperationId"]
        assert wait_op(domains, op)["Status"] == "SUCCESSFUL"
        zid = [z["Id"] for z in r53.list_hosted_zones_by_name(DNSName="away.corp.")[
            "HostedZones"] if z["Name"] == "away.corp."][0]
        r53.delete_hosted_zone(Id=zid)  # served elsewhere: the TLD refers to it
        op = domains.associate_delegation_signer_to_domain(DomainName="away.corp",
                                                           SigningAttributes={
            "Algorithm": 13, "Flags": 257, "PublicKey": PUBLIC_KEY})["OperationId"]
        assert wait_op(domains, op)["Status"] == "SUCCESSFUL"
        tld, cut = dns.name.from_text("corp."), dns.name.from_text("away.corp.")
        keys = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the DS reaches the TLD once published
            m = ask(dns_port, "www.away.corp.", "A")
            if any(rs.rdtype == dns.rdatatype.DS for rs in m.authority):
                break
            time.sleep(0.2)
        assert not m.flags & dns.flags.AA and not m.answer
        assert [(rs.name, rs.rdtype, rs.covers) for rs in m.authority] == [
            (cut, dns.rdatatype.NS, dns.rdatatype.NONE),
            (cut, dns.rdatatype.DS, dns.rdatatype.NONE),
            (cut, dns.rdatatype.RRSIG, dns.rdatatype.DS)], m.to_text()
        k = ask(dns_port, "corp.", "DNSKEY")
        keys = {tld: k.find_rrset(k.answer, tld, dns.rdataclass.IN, dns.rdatatype.DNSKEY)}
        ds = m.find_rrset(m.authority, cut, dns.rdataclass.IN, dns.rdatatype.DS)
        dns.dnssec.validate(ds, m.find_rrset(m.authority, cut, dns.rdataclass.IN,
                                             dns.rdatatype.RRSIG, dns.rdatatype.DS), keys)
        assert [rd.algorithm for rd in ds] == [13]
        assert [str(rs).lower() for rs in m.additional] == ["ns1.away.corp. 172800 in a 192.0.2.53"]
        plain = ask(dns_port, "www.away.corp.", "A", do=False)
        assert [rs.rdtype for rs in plain.authority] == [dns.rdatatype.NS]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
