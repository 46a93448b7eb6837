"""Precomputed NSEC3 denial (`[dnssec] denial = "nsec3"`) behind real
validators: unbound with the zone's DS as trust anchor sets AD, delv says
"fully validated", and the zone's AXFR copy passes dnssec-verify."""
from __future__ import annotations

import shutil
import subprocess

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
from helpers.unbound import ZONE
from test_validators import (
    CHAIN_ENDS,
    assert_chain_proof,
    delv,
    signed_server,
    unbound,  # noqa: F401  (a fixture: unbound for this module's zone)
)

pytestmark = pytest.mark.skipif(not shutil.which("unbound"), reason="unbound not installed")


@pytest.fixture(scope="module")
def served(tmp_path_factory, free_port):
    data = tmp_path_factory.mktemp("nsec3")
    conf = data / "zonefront.toml"
    conf.write_text('[dnssec]\ndenial = "nsec3"\n')
    with signed_server(data, free_port, ("--config", str(conf)),
                       [("deleg", "NS", "ns.example.net."),
                        ("glued", "NS", "ns.glued.signed.test."),  # a cut with glue
                        ("ns.glued", "A", "192.0.2.99"),
                        ("*.cd", "CNAME", "host.glued.signed.test.")]) as got:
        yield got


def direct(served, name, rdtype):
    q = dns.message.make_query(name, rdtype, want_dnssec=True)
    return dns.query.udp(q, "127.0.0.1", port=served[2], timeout=3)


@pytest.mark.parametrize("name", ["nothere.signed.test.", "a.b.nothere.signed.test.",
                                  "x.host.ent.signed.test."])
def test_unbound_validates_nxdomain(unbound, served, name):
    m = direct(served, name, "A")
    assert m.rcode() == dns.rcode.NXDOMAIN
    assert {r.rdtype for r in m.authority} == {dns.rdatatype.SOA, dns.rdatatype.RRSIG,
                                               dns.rdatatype.NSEC3}
    m = unbound.ask(name, "A")
    assert m.rcode() == dns.rcode.NXDOMAIN, m.to_text()
    assert m.flags & dns.flags.AD, m.to_text()


@pytest.mark.parametrize("name,rdtype", [
    ("www.signed.test.", "TXT"),       # NODATA
    ("ent.signed.test.", "A"),         # empty non-terminal
    ("deleg.signed.test.", "DS"),      # insecure delegation: no DS (RFC 5155 §7.2.4)
    ("signed.test.", "NSEC3PARAM"),    # the parameters, signed
    ("x.wild.signed.test.", "A"),      # wildcard NODATA (§7.2.5)
])
def test_unbound_validates_nodata_and_ds_absence(unbound, served, name, rdtype):
    m = unbound.ask(name, rdtype)
    assert m.rcode() == dns.rcode.NOERROR, m.to_text()
    assert m.flags & dns.flags.AD, m.to_text()
    if rdtype != "NSEC3PARAM":
        assert not m.answer
        assert any(r.rdtype == dns.rdatatype.NSEC3 for r in direct(served, name, rdtype).authority)


@pytest.mark.parametrize("name,rdtype", [
    ("x.wild.signed.test.", "TXT"), ("a.b.c.wild.signed.test.", "TXT"),
    ("c.cn.signed.test.", "A"),  # a wildcard CNAME: the next closer name's cover (§7.2.6)
    ("x.wmv.signed.test.", "A"), ("a.b.wmv.signed.test.", "A"),  # ... into multivalue
    ("a.mx.signed.test.", "MX"), ("b.srv.signed.test.", "SRV"),  # with additional records
])
def test_unbound_validates_wildcard_answers(unbound, name, rdtype):
    m = unbound.ask(name, rdtype)
    assert m.rcode() == dns.rcode.NOERROR and m.answer, m.to_text()
    assert m.flags & dns.flags.AD, m.to_text()


@pytest.mark.parametrize("name,rdtype,rcode", [
    ("mvalias.signed.test.", "A", dns.rcode.NOERROR),       # CNAME -> multivalue
    ("alias.signed.test.", "TXT", dns.rcode.NOERROR),       # CNAME -> NODATA (§7.2.3)
    ("dangling.signed.test.", "A", dns.rcode.NXDOMAIN),     # CNAME -> nothing (§7.2.2)
])
def test_unbound_validates_cname_chains(unbound, served, name, rdtype, rcode):
    if name in CHAIN_ENDS:  # the proof is in our answer, not only in the one for the last name
        assert_chain_proof(served, name, rdtype, dns.rdatatype.NSEC3)
    m = unbound.ask(name, rdtype)
    assert m.rcode() == rcode, m.to_text()
    assert m.answer and m.answer[0].rdtype == dns.rdatatype.CNAME, m.to_text()
    assert m.flags & dns.flags.AD, m.to_text()


def test_referral_to_an_insecure_delegation_proves_no_ds(served):
    m = direct(served, "host.deleg.signed.test.", "A")
    assert m.rcode() == dns.rcode.NOERROR and not m.answer
    types = {r.rdtype for r in m.authority}
    assert {dns.rdatatype.NS, dns.rdatatype.NSEC3, dns.rdatatype.RRSIG} <= types


def test_wildcard_cname_into_an_insecure_delegation_proves_no_ds(served):
    """*.cd CNAME host.glued: the referral carries the NSEC3 matching the
    cut (RFC 5155 §7.2.7) and the one covering the next closer name, since
    the CNAME's RRSIG is the wildcard's (§7.2.6), then the glue.  (delv and
    unbound cannot judge it here: the delegation's server does not exist,
    and delv says "fully validated" for the CNAME whether the proof is
    there or not.)"""
    from test_nsec3 import _covers, _hash, _types

    m = direct(served, "x.cd.signed.test.", "A")
    assert m.rcode() == dns.rcode.NOERROR and m.answer[0].rdtype == dns.rdatatype.CNAME
    assert {r.rdtype for r in m.authority} == {dns.rdatatype.NS, dns.rdatatype.NSEC3,
                                               dns.rdatatype.RRSIG}
    nsec3s = [rs for rs in m.authority if rs.rdtype == dns.rdatatype.NSEC3]
    cut = [rs for rs in nsec3s if rs.name.labels[0].decode() == _hash("glued.signed.test.")]
    assert cut and dns.rdatatype.DS not in _types(cut[0][0])
    assert any(_covers(rs[0], rs.name, _hash("x.cd.signed.test.")) for rs in nsec3s)
    assert [str(rs) for rs in m.additional] == ["ns.glued.signed.test. 60 IN A 192.0.2.99"]


@pytest.mark.skipif(not shutil.which("delv"), reason="delv not installed")
@pytest.mark.parametrize("name,rdtype", [
    ("www.signed.test.", "A"), ("nothere.signed.test.", "A"), ("ent.signed.test.", "A"),
    ("www.signed.test.", "TXT"), ("deleg.signed.test.", "DS"), ("x.wild.signed.test.", "TXT"),
    ("x.wild.signed.test.", "A"), ("c.cn.signed.test.", "A"), ("mvalias.signed.test.", "A"),
    ("alias.signed.test.", "TXT"), ("dangling.signed.test.", "A"), ("x.wmv.signed.test.", "A"),
])
def test_delv_fully_validated(served, tmp_path, name, rdtype):
    if name in CHAIN_ENDS:
        assert_chain_proof(served, name, rdtype, dns.rdatatype.NSEC3)
    out = delv(served, tmp_path, name, rdtype)
    assert "fully validated" in out.splitlines()[0], out


@pytest.mark.skipif(not shutil.which("dnssec-verify"), reason="bind9-utils not installed")
def test_axfr_copy_carries_the_chain_and_dnssec_verify_accepts_it(served, tmp_path):
    import dns.zone

    zone = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", ZONE, port=served[2], timeout=5))
    types = {rds.rdtype for _n, node in zone.nodes.items() for rds in node.rdatasets}
    assert {dns.rdatatype.NSEC3, dns.rdatatype.NSEC3PARAM} <= types
    assert dns.rdatatype.NSEC not in types
    path = tmp_path / "signed.test.zone"
    zone.to_file(str(path), relativize=False)
    out = subprocess.run(["dnssec-verify", "-o", ZONE, str(path)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_change_keeps_validating(served, tmp_path):
    """A name added, then deleted, through the API: delv validates it, then
    its NXDOMAIN (no cache between, unlike unbound)."""
    from helpers.procs import wait_insync

    r53, zid, _port, _ = served

    def change(action):
        got = r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [{
            "Action": action, "ResourceRecordSet": {
                "Name": f"added.{ZONE}", "Type": "A", "TTL": 60,
                "ResourceRecords": [{"Value": "192.0.2.77"}]}}]})
        assert wait_insync(r53, got["ChangeInfo"]["Id"], timeout=20)

    if not shutil.which("delv"):
        pytest.skip("delv not installed")
    change("CREATE")
    assert "fully validated" in delv(served, tmp_path, f"added.{ZONE}", "A").splitlines()[0]
    assert "fully validated" in delv(served, tmp_path, f"x.added.{ZONE}", "A").splitlines()[0]
    change("DELETE")
    assert direct(served, f"added.{ZONE}", "A").rcode() == dns.rcode.NXDOMAIN
    assert "fully validated" in delv(served, tmp_path, f"added.{ZONE}", "A").splitlines()[0]



@pytest.mark.parametrize("kind", ["nsd", "knotd"])
def test_secondary_serves_the_identical_signed_zone(served, tmp_path, kind):
    """NSD and Knot fed by AXFR serve the nsec3 zone's RRsets and RRSIGs as
    we do.  NSEC3 RRsets are left out: their hashed owners are not names
    of the zone, so a query for one gets a denial, not the NSEC3 (RFC 5155
    §7.2.8); dnssec-verify checks the chain in the AXFR copy above."""
    from helpers.secondaries import Knot, Nsd
    from test_validators import assert_secondary_serves_the_zone

    if not shutil.which(kind):
        pytest.skip(f"{kind} not installed")
    assert_secondary_serves_the_zone(served, tmp_path, Nsd if kind == "nsd" else Knot,
                                     skip_types=(dns.rdatatype.NSEC3,))
