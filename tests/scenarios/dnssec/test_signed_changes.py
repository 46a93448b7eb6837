"""A change to a signed hosted zone, end to end (issues 13 and 14): boto3
against a real `serve --api`, one ChangeResourceRecordSets at a time, each
answer then checked by `delv` with the zone's DS as its trust anchor, and the
server's metrics showing that the change patched the served image (the
signed zone's SOA serial and RRSIGs as fixups) instead of compiling it again.
A `zonefront edge` fed by the server is checked the same way: it patches its
copy and serves the re-signed answers, which delv validates.  Every test runs
twice, with compact denial and with `[dnssec] denial = "nsec3"`, where a
create or delete moves the NSEC3 chain and is patched too
(snapshot/nsec3patch.py)."""
from __future__ import annotations

import re
import shutil
import subprocess
import os
import urllib.request

import dns.flags
import dns.rcode
import dns.rdatatype
import pytest
from helpers.edge_cluster import EDGE_KEY, EDGE_SECRET, start_edge
from helpers.zfserve import AKID, SECRET, free_port, rrset, start, stop, wait_for

from zonefront.edge.client import Client

pytestmark = pytest.mark.skipif(not shutil.which("delv"), reason="delv not installed")
ZONE = "signed.test."
ARN = "arn:aws:kms:us-east-1:111122223333:key/e2e"
COMPILES = re.compile(r'^zonefront_image_compiles_total\{kind="(\w+)"\} (\d+)$', re.M)


class Signed:
    """The served process, its zone id, and delv's trust anchor file."""

    def __init__(self, served, zid, metrics_port, anchors, edge_port, denial):
        self.served, self.zid, self.metrics_port, self.anchors = served, zid, metrics_port, anchors
        self.edge_port = edge_port
        self.denial = denial  # "compact" or "nsec3"
        self.api = Client(f"http://127.0.0.1:{served.api_port}", AKID, SECRET)

    def compiles(self) -> dict[str, int]:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as r:
            return {k: int(v) for k, v in COMPILES.findall(r.read().decode())}

    def edge_updates(self) -> dict[str, int]:
        """The edge's own count of images patched / taken whole (its heartbeat)."""
        edges = self.api.json("GET", "/2013-04-01/zonefront/edges")["Edges"]
        return next(e for e in edges if e["Id"] == "e2e0")["Updates"]

    def change(self, *changes) -> None:
        """One batch, INSYNC (the edge serves it too), and proof that the
        server and the edge patched rather than recompiled."""
        before, edge_before = self.compiles(), self.edge_updates()
        self.served.change(self.zid, *changes, timeout=10)
        after = self.compiles()
        assert after["patched"] == before["patched"] + 1, (before, after)
        assert after["full"] == before["full"], (before, after)
        edge = wait_for(lambda: (lambda u: u if u.get("patched", 0) > edge_before.get(
            "patched", 0) else None)(self.edge_updates()), timeout=10)
        assert edge, (edge_before, self.edge_updates())
        assert (edge.get("full"), edge.get("compiled")) == (
            edge_before.get("full"), edge_before.get("compiled")), (edge_before, edge)

    def delv(self, name: str, rdtype: str = "A", port: int | None = None) -> list[str]:
        out = subprocess.run(["delv", "@127.0.0.1", "-p", str(port or self.served.dns_port),
                              "-a", str(self.anchors), f"+root={ZONE}", name, rdtype],
                             capture_output=True, text=True, timeout=20)
        return (out.stdout + out.stderr).splitlines()

    def validated(self, name: str, rdtype: str = "A") -> list[str]:
        """delv's answer values for a positive, fully validated answer; the
        edge's answer must validate to the same values."""
        got = []
        for port in (self.served.dns_port, self.edge_port):
            lines = self.delv(name, rdtype, port)
            assert lines and lines[0] == "; fully validated", (port, lines)
            got.append(sorted(ln.split()[-1] for ln in lines[1:]
                              if ln and not ln.startswith(";") and ln.split()[3] == rdtype))
        assert got[0] == got[1] or rdtype == "A" and len(got[0]) == len(got[1]) == 1, got
        return got[0]

    def serial(self) -> int:
        m = self.served.query(ZONE, "SOA")
        return m.answer[0][0].serial


@pytest.fixture(scope="module", params=["compact", "nsec3"])
def signed(tmp_path_factory, request):
    denial = request.param
    tmp = tmp_path_factory.mktemp(f"signed-{denial}")
    metrics_port = free_port()
    served = start(tmp, extra_args=("--nameserver", f"ns1.{ZONE}",
                                    "--metrics-listen", f"127.0.0.1:{metrics_port}"),
                   config_toml=f'[edges]\naccess_key_id = "{EDGE_KEY}"\n'
                               f'secret_access_key = "{EDGE_SECRET}"\n'
                               f'[dnssec]\ndenial = "{denial}"\n')
    edge = None
    try:
        edge_port = free_port()
        edge = start_edge(f"http://127.0.0.1:{served.api_port}", edge_port,
                          os.path.join(str(tmp), "edge"), "e2e0")
        r53 = served.client
        zid = served.create_zone(ZONE)
        served.change(zid, rrset(f"ns1.{ZONE}", "192.0.2.53"), rrset(f"www.{ZONE}", "192.0.2.1"),
                      rrset(f"old.{ZONE}", "192.0.2.9"), rrset(f"gone.{ZONE}", "192.0.2.66"))
        r53.create_key_signing_key(CallerReference="k1", HostedZoneId=zid, Name="ksk",
                                   Status="ACTIVE", KeyManagementServiceArn=ARN)
        change = r53.enable_hosted_zone_dnssec(HostedZoneId=zid)["ChangeInfo"]["Id"]
        served.wait_insync(change, timeout=20)
        assert r53.get_dnssec(HostedZoneId=zid)["Status"]["ServeSignature"] == "SIGNING"
        ds = [k["DSRecord"] for k in r53.get_dnssec(HostedZoneId=zid)["KeySigningKeys"]]
        tag, alg, dt, digest = ds[0].split()
        anchors = tmp / "anchors"
        anchors.write_text(
            f'trust-anchors {{ "{ZONE}" static-ds {tag} {alg} {dt} "{digest}"; }};\n')
        got = Signed(served, zid, metrics_port, anchors, edge_port, denial)
        # INSYNC may come before the edge registered: wait for it to serve signed
        assert wait_for(lambda: any(ln.startswith("; fully validated")
                                    for ln in got.delv(ZONE, "SOA", edge_port)[:1]), 20)
        assert wait_for(lambda: "patched" in got.edge_updates(), 10)
        yield got
    finally:
        if edge is not None:
            edge.stop()
        stop(served)


def test_signed_before_any_change(signed):
    assert signed.validated(f"www.{ZONE}") == ["192.0.2.1"]


def test_upsert_validates_new_address_and_serial_rises(signed):
    serial = signed.serial()
    signed.change(("UPSERT", rrset(f"www.{ZONE}", "192.0.2.2")))
    assert signed.validated(f"www.{ZONE}") == ["192.0.2.2"]
    assert signed.serial() > serial


def test_create_replaces_the_denial(signed):
    name = f"new.{ZONE}"
    m = signed.served.query(name, want_dnssec=True)
    assert m.rcode() == dns.rcode.NXDOMAIN or not m.answer, m.to_text()
    signed.change(("CREATE", rrset(name, "192.0.2.77")))
    m = signed.served.query(name, want_dnssec=True)
    assert m.rcode() == dns.rcode.NOERROR, m.to_text()
    assert {rs.rdtype for rs in m.answer} == {dns.rdatatype.A, dns.rdatatype.RRSIG}, m.to_text()
    assert not any(rs.rdtype in (dns.rdatatype.NSEC, dns.rdatatype.NSEC3)
                   for rs in m.authority), m.to_text()
    assert signed.validated(name) == ["192.0.2.77"]


def test_delete_gives_a_validated_denial(signed):
    name = f"gone.{ZONE}"
    assert signed.validated(name) == ["192.0.2.66"]
    signed.change(("DELETE", rrset(name, "192.0.2.66")))
    m = signed.served.query(name, want_dnssec=True)
    assert not [rs for rs in m.answer if rs.rdtype == dns.rdatatype.A], m.to_text()
    proof = dns.rdatatype.NSEC3 if signed.denial == "nsec3" else dns.rdatatype.NSEC
    assert any(rs.rdtype == proof for rs in m.authority), m.to_text()
    for port in (signed.served.dns_port, signed.edge_port):
        lines = signed.delv(name, port=port)
        assert lines and lines[0] == "; negative response, fully validated", (port, lines)


def test_weighted_candidates_each_validate(signed):
    name = f"weighted.{ZONE}"
    signed.change(*[("CREATE", rrset(name, f"192.0.2.{10 + i}", SetIdentifier=f"w{i}",
                                     Weight=1)) for i in range(2)])
    seen: set[str] = set()
    for _ in range(40):
        got = signed.validated(name)
        assert len(got) == 1 and got[0] in ("192.0.2.10", "192.0.2.11"), got
        seen.update(got)
        if len(seen) == 2:
            break
    assert seen == {"192.0.2.10", "192.0.2.11"}


def test_cname_to_existing_name_validates(signed):
    signed.change(("CREATE", rrset(f"alias.{ZONE}", f"www.{ZONE}", rdtype="CNAME")))
    for port in (signed.served.dns_port, signed.edge_port):
        lines = signed.delv(f"alias.{ZONE}", port=port)
        assert lines and lines[0] == "; fully validated", (port, lines)
        rows = [ln.split() for ln in lines if ln and not ln.startswith(";")]
        assert [r[3] for r in rows if r[3] in ("CNAME", "A")] == ["CNAME", "A"], lines
        assert [r[-1] for r in rows if r[3] == "A"] == ["192.0.2.2"], lines
    m = signed.served.query(f"alias.{ZONE}", want_dnssec=True)
    assert m.rcode() == dns.rcode.NOERROR and not (m.flags & dns.flags.TC), m.to_text()


def test_create_under_new_empty_non_terminals_keeps_denials_validating(signed):
    """A name two labels below anything: its empty non-terminals appear
    (RFC 5155 §7.1 in nsec3 mode); a name below it and an empty
    non-terminal deny, validated, on the server and on the edge."""
    signed.change(("CREATE", rrset(f"a.b.ents.{ZONE}", "192.0.2.90")))
    assert signed.validated(f"a.b.ents.{ZONE}") == ["192.0.2.90"]
    for name in (f"x.a.b.ents.{ZONE}", f"b.ents.{ZONE}", f"nothere.{ZONE}"):
        for port in (signed.served.dns_port, signed.edge_port):
            lines = signed.delv(name, port=port)
            assert lines and lines[0] == "; negative response, fully validated", (port, lines)
