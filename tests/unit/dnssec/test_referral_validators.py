"""Signed referrals behind a real validator (issue 14): unbound with a stub
for the parent zone only must follow the parent's referral to reach the
child, so the chain of trust runs through the referral (RFC 4035 §3.1.4.1).

Two `zonefront serve --api` processes: the parent serves signed.test
(signed) with `sec` delegated securely (NS, glue and the child's DS, added
through the API as Route 53 takes it) and `ins` insecurely (NS and glue, no
DS); the child serves sec.signed.test (signed) and ins.signed.test
(unsigned).  unbound follows glue on port 53 only, so the child listens on
port 53 of a loopback address of its own (and on a free port for the API's
tests); the parent keeps its free port, named by the stub."""
from __future__ import annotations

import random
import shutil
import socket
import threading

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
from helpers.unbound import ZONE, Unbound
from helpers.procs import serve_api, stop, wait_insync

pytestmark = pytest.mark.skipif(not shutil.which("unbound"), reason="unbound not installed")
ARN = "arn:aws:kms:us-east-1:111122223333:key/{}"
SEC, INS = f"sec.{ZONE}", f"ins.{ZONE}"


def loopback_on_53() -> str:
    """A 127.0.0.0/8 address whose port 53 is free for UDP and TCP (the
    port unbound sends to when it follows glue); skips when none is (not
    root, or every one tried is taken)."""
    rng = random.Random()
    for _ in range(20):
        addr = f"127.0.{rng.randrange(54, 250)}.{rng.randrange(2, 250)}"
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, \
                    socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                u.bind((addr, 53))
                t.bind((addr, 53))
        except OSError:
            continue
        return addr
    pytest.skip("no loopback address with port 53 free (needs root)")


def create(r53, zone: str, rrsets) -> str:
    zid = r53.create_hosted_zone(Name=zone, CallerReference=zone)["HostedZone"]["Id"]
    changes = [{"Action": "CREATE", "ResourceRecordSet": {
        "Name": f"{n}.{zone}" if n else zone, "Type": t, "TTL": 60,
        "ResourceRecords": [{"Value": v} for v in vs]}} for n, t, vs in rrsets]
    r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": changes})
    return zid


def sign(r53, zid: str, name: str) -> str:
    """Signs the zone; its KSK's DS record (Route 53 GetDNSSEC's DSRecord)."""
    r53.create_key_signing_key(CallerReference=name, HostedZoneId=zid, Name=name,
                               Status="ACTIVE", KeyManagementServiceArn=ARN.format(name))
    assert wait_insync(r53, r53.enable_hosted_zone_dnssec(HostedZoneId=zid)["ChangeInfo"]["Id"],
                       timeout=20)
    return [k["DSRecord"] for k in r53.get_dnssec(HostedZoneId=zid)["KeySigningKeys"]
            if k["Name"] == name][0]


@pytest.fixture(scope="module")
def servers(tmp_path_factory, free_port):
    """(parent DNS port, the child's address, the parent zone's DS)."""
    addr = loopback_on_53()
    procs = []
    try:
        child, r53c = serve_api(tmp_path_factory.mktemp("child"), free_port(), free_port(),
                                "AKIDCHILD", "--nameserver", f"ns.{SEC}",
                                "--dns-listen", f"{addr}:53")
        procs.append(child)
        sec = create(r53c, SEC, [("www", "A", ["192.0.2.80"]), ("txt", "TXT", ['"child"'])])
        child_ds = sign(r53c, sec, "ksk_child")
        create(r53c, INS, [("www", "A", ["192.0.2.81"])])
        dns_port = free_port()
        parent, r53p = serve_api(tmp_path_factory.mktemp("parent"), dns_port, free_port(),
                                 "AKIDPARENT", "--nameserver", f"ns1.{ZONE}")
        procs.append(parent)
        pzid = create(r53p, ZONE, [
            ("ns1", "A", ["127.0.0.1"]),
            ("sec", "NS", [f"ns.{SEC}"]), ("ns.sec", "A", [addr]),
            ("sec", "DS", [child_ds]),
            ("ins", "NS", [f"ns.{INS}"]), ("ns.ins", "A", [addr])])
        parent_ds = sign(r53p, pzid, "ksk_parent")
        yield dns_port, addr, parent_ds
    finally:
        for p in procs:
            stop(p)


class Relay:
    """A UDP relay in front of the parent that notes each question it
    passes on: what unbound asked the parent, beyond what it was given."""

    def __init__(self, target_port: int):
        self.target = ("127.0.0.1", target_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.asked: list[tuple[str, str]] = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                wire, peer = self.sock.recvfrom(65535)
            except OSError:
                return
            threading.Thread(target=self._pass, args=(wire, peer), daemon=True).start()

    def _pass(self, wire: bytes, peer) -> None:
        q = dns.message.from_wire(wire)
        self.asked.append((q.question[0].name.to_text().lower(),
                           dns.rdatatype.to_text(q.question[0].rdtype)))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as up:
            up.settimeout(3)
            up.sendto(wire, self.target)
            try:
                self.sock.sendto(up.recv(65535), peer)
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def relay(servers):
    r = Relay(servers[0])
    yield r
    r.close()


@pytest.fixture(scope="module")
def unbound(servers, relay, tmp_path_factory, free_port):
    """Validating, trusting the parent's DS, with a stub for the parent
    zone alone (through the relay): the child is reached only through the
    parent's referral."""
    _port, _addr, parent_ds = servers
    u = Unbound(tmp_path_factory.mktemp("unbound"), free_port(), relay.port, parent_ds,
                zone=ZONE, stubs=(ZONE,))
    yield u
    u.stop()


def ask_parent(servers, name: str, rdtype: str, do: bool = True):
    q = dns.message.make_query(name, rdtype, want_dnssec=do)
    return dns.query.udp(q, "127.0.0.1", port=servers[0], timeout=3)


def test_parent_referral_carries_the_signed_ds(servers):
    """The referral itself, as the parent sends it: with DO the NS, the DS
    and its RRSIG; without DO the NS alone; the glue in both."""
    cut = dns.name.from_text(SEC)
    m = ask_parent(servers, f"www.{SEC}", "A")
    assert not m.flags & dns.flags.AA and not m.answer
    assert [(rs.name, rs.rdtype, rs.covers) for rs in m.authority] == [
        (cut, dns.rdatatype.NS, dns.rdatatype.NONE), (cut, dns.rdatatype.DS, dns.rdatatype.NONE),
        (cut, dns.rdatatype.RRSIG, dns.rdatatype.DS)]
    assert [rd.address for rs in m.additional for rd in rs] == [servers[1]]
    m = ask_parent(servers, f"www.{SEC}", "A", do=False)
    assert [rs.rdtype for rs in m.authority] == [dns.rdatatype.NS]


def test_unbound_takes_the_ds_from_the_referral(unbound, relay):
    """The first lookup in the child validates (AD) with the DS the
    referral carried: unbound asks the parent for the referral and never
    for the DS apart, which it must when a referral lacks it."""
    m = unbound.ask(f"www.{SEC}", "A")
    assert m.rcode() == dns.rcode.NOERROR and m.flags & dns.flags.AD, m.to_text()
    assert any(name.endswith(SEC) and rdtype != "DS" for name, rdtype in relay.asked), \
        relay.asked  # the referral came from the parent
    assert (SEC, "DS") not in relay.asked, relay.asked


@pytest.mark.parametrize("name,rdtype", [(f"www.{SEC}", "A"), (f"txt.{SEC}", "TXT"),
                                         (SEC, "SOA"), (f"nothere.{SEC}", "A")])
def test_unbound_follows_the_secure_referral_and_validates(unbound, name, rdtype):
    m = unbound.ask(name, rdtype)
    assert m.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN), m.to_text()
    assert m.flags & dns.flags.AD, m.to_text()
    if not name.startswith("nothere"):
        assert m.answer


def test_unbound_follows_the_insecure_referral_without_ad(unbound):
    """Beside it, `ins` has no DS: the referral's proof makes the child
    insecure (an answer, no AD), not bogus (SERVFAIL)."""
    m = unbound.ask(f"www.{INS}", "A")
    assert m.rcode() == dns.rcode.NOERROR and m.answer, m.to_text()
    assert not m.flags & dns.flags.AD
