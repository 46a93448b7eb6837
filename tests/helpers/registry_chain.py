"""A registry TLD served and signed here, and domains registered under it
whose hosted zones are signed through Route 53's API: the chain of trust the
DNSSEC validator tests walk with nothing but the TLD's DS as trust anchor.

One `serve --api` child holds both halves, as a single-node install does: the
registry's TLD zone (its DS written to DATA_DIR/dnssec-keys/<tld>.ds) and the
hosted zones.  Validators get a stub for the TLD only, so they follow the
TLD's signed referral and DS down to each domain."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time

import dns.flags
import dns.rcode

from helpers.procs import child_env, stop, wait_insync, wait_ready
from helpers.unbound import Unbound

AKID, SECRET, ACCOUNT = "AKIDCHAIN", "chain-secret", "111111111111"
TLD = "corp."
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
accounts = {{ {akid} = "{account}" }}
{extra}
"""


def kms_arn(key_id: str) -> str:
    """A KeyManagementServiceArn naming key `key_id` of the local key store."""
    return f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}"


def wait_op(domains, op_id: str, timeout: float = 20.0) -> dict:
    """GetOperationDetail once the Domains operation has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        d = domains.get_operation_detail(OperationId=op_id)
        if d["Status"] in ("SUCCESSFUL", "FAILED", "ERROR"):
            return d
        time.sleep(0.05)
    raise AssertionError(f"operation {op_id} did not finish")


def wait_ad(resolver, name: str, rdtype: str, timeout: float = 15.0, rcode=dns.rcode.NOERROR):
    """The resolver's answer once it is `rcode` with AD set (the registry
    publishes a DS a moment after its operation succeeds, and a resolver may
    hold an older answer until it asks again); the last answer otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        m = resolver.ask(name, rdtype)
        if (m.rcode() == rcode and m.flags & dns.flags.AD) or time.monotonic() > deadline:
            return m
        time.sleep(0.3)


class Chain:
    """The serve child, its Route 53 and Route 53 Domains clients, and the
    validators started against it; close() stops them all."""

    def __init__(self, tmp_path, free_port, extra_config: str = ""):
        import boto3
        from botocore.config import Config as BotoConfig

        self.tmp = tmp_path
        self.free_port = free_port
        self.data = tmp_path / "data"
        self.dns_port, api_port = free_port(), free_port()
        cfg = tmp_path / "zonefront.toml"
        cfg.write_text(CONFIG.format(api_port=api_port, akid=AKID, secret=SECRET,
                                     data=self.data, account=ACCOUNT, extra=extra_config))
        env = child_env()
        env.pop("ZONEFRONT_ACCESS_KEY_ID", None)
        env.pop("ZONEFRONT_SECRET_ACCESS_KEY", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "zonefront.cli", "serve", "--api", "--no-demo",
             "--workers", "1", "--dns-listen", f"127.0.0.1:{self.dns_port}",
             "--config", str(cfg)], stderr=subprocess.PIPE, text=True, env=env)
        self.resolvers: list[Unbound] = []
        try:
            wait_ready(self.proc)
        except BaseException:
            stop(self.proc)
            raise
        kw = dict(endpoint_url=f"http://127.0.0.1:{api_port}", region_name="us-east-1",
                  aws_access_key_id=AKID, aws_secret_access_key=SECRET,
                  config=BotoConfig(retries={"max_attempts": 1}))
        self.r53 = boto3.client("route53", **kw)
        self.domains = boto3.client("route53domains", **kw)

    def register(self, domain: str) -> str:
        """Registers `domain` (no trailing dot) and returns its hosted zone id."""
        op = self.domains.register_domain(DomainName=domain, DurationInYears=1,
                                          AdminContact=CONTACT, RegistrantContact=CONTACT,
                                          TechContact=CONTACT)["OperationId"]
        assert wait_op(self.domains, op)["Status"] == "SUCCESSFUL"
        zones = self.r53.list_hosted_zones_by_name(DNSName=domain + ".")["HostedZones"]
        return [z["Id"] for z in zones if z["Name"] == domain + "."][0]

    def change(self, zid: str, changes: list[dict], timeout: float = 30.0) -> None:
        """Applies a change batch and waits for INSYNC."""
        change = self.r53.change_resource_record_sets(
            HostedZoneId=zid, ChangeBatch={"Changes": changes})["ChangeInfo"]["Id"]
        assert wait_insync(self.r53, change, timeout=timeout)

    def sign(self, zid: str, ksk_name: str, key_id: str) -> dict:
        """Creates an ACTIVE KSK, enables signing, waits for INSYNC; the KSK."""
        ksk = self.r53.create_key_signing_key(
            CallerReference=ksk_name, HostedZoneId=zid, Name=ksk_name, Status="ACTIVE",
            KeyManagementServiceArn=kms_arn(key_id))["KeySigningKey"]
        assert wait_insync(self.r53, self.r53.enable_hosted_zone_dnssec(HostedZoneId=zid)[
            "ChangeInfo"]["Id"], timeout=30)
        return ksk

    def signed_domain(self, domain: str, changes: list[dict], ksk_name: str = "ksk_one",
                      key_id: str = "one") -> tuple[str, dict]:
        """(zone id, KSK) of `domain` registered, given `changes`, signed and
        its DS placed in the TLD."""
        zid = self.register(domain)
        if changes:
            self.change(zid, changes)
        ksk = self.sign(zid, ksk_name, key_id)
        self.associate_ds(domain, ksk)
        return zid, ksk

    def associate_ds(self, domain: str, ksk: dict) -> str:
        """Puts the DS of `ksk` into the TLD through Route 53 Domains; the
        registry's id of that key."""
        op = self.domains.associate_delegation_signer_to_domain(
            DomainName=domain, SigningAttributes={
                "Algorithm": 13, "Flags": 257, "PublicKey": ksk["PublicKey"]})["OperationId"]
        assert wait_op(self.domains, op)["Status"] == "SUCCESSFUL"
        keys = self.domains.get_domain_detail(DomainName=domain).get("DnssecKeys", [])
        return [k["Id"] for k in keys if k["PublicKey"] == ksk["PublicKey"]][0]

    def disassociate_ds(self, domain: str, key_id: str) -> None:
        op = self.domains.disassociate_delegation_signer_from_domain(
            DomainName=domain, Id=key_id)["OperationId"]
        assert wait_op(self.domains, op)["Status"] == "SUCCESSFUL"

    def anchor(self, timeout: float = 10.0) -> str:
        """The TLD's DS rdata text, as the registry wrote it for operators."""
        path = self.data / "dnssec-keys" / (TLD.rstrip(".") + ".ds")
        deadline = time.monotonic() + timeout
        while not path.exists():
            assert time.monotonic() < deadline, f"{path} was not written"
            time.sleep(0.1)
        name, _type, ds = path.read_text().strip().split(" ", 2)
        assert name == TLD
        return ds

    def unbound(self, stubs: tuple[str, ...] = ()) -> Unbound:
        """An unbound trusting only the TLD's DS, with a stub for the TLD
        (and for `stubs`); stopped by close().  The registry's name servers
        (ns1/ns2.corp.) have no address a resolver could reach on a test
        port, so a validator asking a domain's own servers by name (the DS of
        a delegation below the domain is the domain's to answer) needs a stub
        for that domain; the trust anchor stays the TLD's DS alone."""
        conf_dir = self.tmp / f"unbound{len(self.resolvers)}"
        conf_dir.mkdir()
        u = Unbound(conf_dir, self.free_port(), self.dns_port, self.anchor(), zone=TLD,
                    stubs=(TLD, *stubs))
        self.resolvers.append(u)
        return u

    def delv(self, name: str, rdtype: str) -> str:
        """delv's output for `name`/`rdtype` validated from the TLD's DS, the
        server asked directly (+root names the TLD as the top of the chain)."""
        assert shutil.which("delv"), "delv (bind9-dnsutils) is not installed"
        tag, alg, dt, digest = self.anchor().split()
        anchors = self.tmp / "delv-anchors"
        anchors.write_text(f'trust-anchors {{ "{TLD}" static-ds {tag} {alg} {dt} "{digest}"; }};\n')
        out = subprocess.run(["delv", "@127.0.0.1", "-p", str(self.dns_port), "-a", str(anchors),
                              f"+root={TLD}", name, rdtype],
                             capture_output=True, text=True, timeout=30)
        return out.stdout + out.stderr

    def close(self) -> None:
        for u in self.resolvers:
            u.stop()
        stop(self.proc)
