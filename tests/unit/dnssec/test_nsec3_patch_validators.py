"""NSEC3 chain changes through the API are patched (snapshot/nsec3patch.py) and
what the patched image proves validates: a name created (and empty
non-terminals above one), a name deleted (and the empty non-terminal it
leaves), a type removed; then unbound (the zone's DS as trust anchor) sets
AD and delv says "fully validated" on the NXDOMAIN and NODATA answers next
to each change, including an NXDOMAIN that the new NSEC3 covers."""
from __future__ import annotations

import base64
import re
import shutil
import urllib.request

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
from helpers.procs import wait_insync
from helpers.unbound import ZONE
from test_validators import (
    delv,
    signed_server,
    unbound,  # noqa: F401  (a fixture: unbound for this module's zone)
)

pytestmark = pytest.mark.skipif(not shutil.which("unbound"), reason="unbound not installed")
COMPILES = re.compile(r'^zonefront_image_compiles_total\{kind="(\w+)"\} (\d+)$', re.M)
CHANGES = [
    ("CREATE", "fresh", "A", "192.0.2.88"),         # a new name
    ("CREATE", "a.b.deep", "A", "192.0.2.89"),      # two empty non-terminals appear
    ("DELETE", "host.ent", "A", "192.0.2.7"),       # the empty non-terminal ent goes too
    ("DELETE", "www", "AAAA", "2001:db8::1"),       # www's bitmap loses AAAA
]


def compiles(port: int) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return {k: int(v) for k, v in COMPILES.findall(r.read().decode())}


@pytest.fixture(scope="module")
def served(tmp_path_factory, free_port):
    """signed.test in nsec3 mode, then CHANGES, each one batch that the
    server patched into its image (no full compile)."""
    data = tmp_path_factory.mktemp("nsec3patch")
    conf = data / "zonefront.toml"
    conf.write_text('[dnssec]\ndenial = "nsec3"\n')
    metrics = free_port()
    with signed_server(data, free_port, ("--config", str(conf),
                                         "--metrics-listen", f"127.0.0.1:{metrics}")) as got:
        r53, zid, _port, _ = got
        for action, label, rtype, value in CHANGES:
            before = compiles(metrics)
            change = r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [{
                "Action": action, "ResourceRecordSet": {
                    "Name": f"{label}.{ZONE}", "Type": rtype, "TTL": 60,
                    "ResourceRecords": [{"Value": value}]}}]})
            assert wait_insync(r53, change["ChangeInfo"]["Id"], timeout=20)
            after = compiles(metrics)
            assert after.get("patched", 0) == before.get("patched", 0) + 1, (label, before, after)
            assert after.get("full", 0) == before.get("full", 0), (label, before, after)
        yield got


def direct(served, name, rdtype):
    q = dns.message.make_query(name, rdtype, want_dnssec=True)
    return dns.query.udp(q, "127.0.0.1", port=served[2], timeout=3)


def _hash(name: str) -> str:
    return dns.dnssec.nsec3_hash(name, salt=None, iterations=0, algorithm=1).lower()


def covered_by_fresh(served) -> str:
    """A nonexistent name whose hash the new name's NSEC3 covers (between
    the hash of fresh and the next hashed owner its NSEC3 names)."""
    m = direct(served, f"fresh.{ZONE}", "TXT")
    own = next(rs for rs in m.authority if rs.rdtype == dns.rdatatype.NSEC3)
    assert own.name.labels[0].decode() == _hash(f"fresh.{ZONE}")
    start = _hash(f"fresh.{ZONE}")
    end = base64.b32hexencode(own[0].next).decode().lower()
    for k in range(200_000):
        name = f"p{k}.{ZONE}"
        h = _hash(name)
        if (start < h < end) if start < end else (h > start or h < end):
            return name
    raise AssertionError("no name hashes into the new NSEC3's interval")


NXDOMAIN = ["x.fresh.signed.test.", "host.ent.signed.test.", "ent.signed.test.",
            "c.a.b.deep.signed.test.", "x.b.deep.signed.test."]
NODATA = [("fresh.signed.test.", "TXT"), ("b.deep.signed.test.", "A"),
          ("deep.signed.test.", "A"), ("www.signed.test.", "AAAA"),
          ("a.b.deep.signed.test.", "TXT")]


@pytest.mark.parametrize("name", NXDOMAIN + ["covered"])
def test_unbound_validates_nxdomain_after_the_patch(unbound, served, name):
    if name == "covered":
        name = covered_by_fresh(served)
        proof = direct(served, name, "A")
        assert _hash(f"fresh.{ZONE}") in {rs.name.labels[0].decode() for rs in proof.authority
                                          if rs.rdtype == dns.rdatatype.NSEC3}, proof.to_text()
    assert direct(served, name, "A").rcode() == dns.rcode.NXDOMAIN
    m = unbound.ask(name, "A")
    assert m.rcode() == dns.rcode.NXDOMAIN, m.to_text()
    assert m.flags & dns.flags.AD, m.to_text()


@pytest.mark.parametrize("name,rdtype", NODATA)
def test_unbound_validates_nodata_after_the_patch(unbound, served, name, rdtype):
    m = unbound.ask(name, rdtype)
    assert m.rcode() == dns.rcode.NOERROR and not m.answer, m.to_text()
    assert m.flags & dns.flags.AD, m.to_text()
    mine = direct(served, name, rdtype)
    matching = [rs for rs in mine.authority if rs.rdtype == dns.rdatatype.NSEC3
                and rs.name.labels[0].decode() == _hash(name)]
    assert matching and dns.rdatatype.from_text(rdtype) not in \
        {t for win, bits in matching[0][0].windows for i, byte in enumerate(bits)
         for b in range(8) if byte & (0x80 >> b) for t in [win * 256 + i * 8 + b]}


def test_unbound_validates_the_new_names(unbound):
    for name in ("fresh.signed.test.", "a.b.deep.signed.test."):
        m = unbound.ask(name, "A")
        assert m.rcode() == dns.rcode.NOERROR and m.answer, m.to_text()
        assert m.flags & dns.flags.AD, m.to_text()


@pytest.mark.skipif(not shutil.which("delv"), reason="delv not installed")
@pytest.mark.parametrize("name,rdtype", [(n, "A") for n in NXDOMAIN] + NODATA)
def test_delv_fully_validates_after_the_patch(served, tmp_path, name, rdtype):
    out = delv(served, tmp_path, name, rdtype)
    assert "fully validated" in out.splitlines()[0], out
