"""`zonefront serve --api` signing a hosted zone, checked by real validators
(issue 14): unbound with the zone's DS as its trust anchor sets AD on
positive, CNAME-chain, weighted, geolocation, failover and NODATA answers; delv reports "fully
validated"; a KSK removed behind its DS makes unbound answer SERVFAIL."""
from __future__ import annotations

import contextlib
import shutil
import subprocess

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
from helpers.unbound import ZONE, Unbound
from helpers.procs import serve_api, stop, wait_insync

pytestmark = pytest.mark.skipif(not shutil.which("unbound"), reason="unbound not installed")
ARN = "arn:aws:kms:us-east-1:111122223333:key/{}"


# (owner relative to the zone, type, value) of the signed zone, beside the
# routed sets zone_changes adds; "{zone}" in a value is the zone's origin, so
# the registry chain tests (test_registry_chain.py) sign the same names
RRSETS = [("ns1", "A", "192.0.2.53"), ("www", "A", "192.0.2.1"),
          ("www", "AAAA", "2001:db8::1"), ("alias", "CNAME", "www.{zone}"),
          ("chain", "CNAME", "alias.{zone}"), ("*.wild", "TXT", '"wild"'),
          ("host.ent", "A", "192.0.2.7"),
          ("mail", "A", "192.0.2.25"), ("*.mx", "MX", "10 mail.{zone}"),
          ("*.srv", "SRV", "0 0 443 mail.{zone}"),
          ("*.cn", "CNAME", "www.{zone}"),
          ("mvalias", "CNAME", "mv.{zone}"),      # a chain into multivalue
          ("dangling", "CNAME", "gone.{zone}"),   # a chain into nothing
          ("*.wmv", "CNAME", "mv.{zone}")]        # a wildcard into multivalue


def zone_changes(zone: str, rrsets=RRSETS) -> list[dict]:
    """CREATE changes for `rrsets` under `zone`, plus weighted, geolocation,
    failover and multivalue sets, whose signed answers validators check."""
    changes = [{"Action": "CREATE", "ResourceRecordSet": {
        "Name": f"{n}.{zone}", "Type": t, "TTL": 60,
        "ResourceRecords": [{"Value": v.format(zone=zone)}]}} for n, t, v in rrsets]
    for i, ip in enumerate(("192.0.2.10", "192.0.2.11")):
        changes.append({"Action": "CREATE", "ResourceRecordSet": {
            "Name": f"weighted.{zone}", "Type": "A", "TTL": 60, "SetIdentifier": f"w{i}",
            "Weight": 1, "ResourceRecords": [{"Value": ip}]}})
    for i, geo in enumerate(({"CountryCode": "*"}, {"ContinentCode": "EU"})):
        changes.append({"Action": "CREATE", "ResourceRecordSet": {
            "Name": f"geo.{zone}", "Type": "A", "TTL": 60, "SetIdentifier": f"g{i}",
            "GeoLocation": geo, "ResourceRecords": [{"Value": f"192.0.2.{30 + i}"}]}})
    for i, role in enumerate(("PRIMARY", "SECONDARY")):
        changes.append({"Action": "CREATE", "ResourceRecordSet": {
            "Name": f"failover.{zone}", "Type": "A", "TTL": 60, "SetIdentifier": role,
            "Failover": role, "ResourceRecords": [{"Value": f"192.0.2.{40 + i}"}]}})
    for i in range(3):
        changes.append({"Action": "CREATE", "ResourceRecordSet": {
            "Name": f"mv.{zone}", "Type": "A", "TTL": 60, "SetIdentifier": f"m{i}",
            "MultiValueAnswer": True, "ResourceRecords": [{"Value": f"192.0.2.{20 + i}"}]}})
    return changes


@pytest.fixture(scope="module")
def served(tmp_path_factory, free_port):
    with signed_server(tmp_path_factory.mktemp("signed"), free_port) as got:
        yield got


@contextlib.contextmanager
def signed_server(data, free_port, extra_args=(), extra_rrsets=()):
    """A `serve` process with signed.test signed (r53, zone id, DNS port, data dir)."""
    dns_port = free_port()
    proc, r53 = serve_api(data, dns_port, free_port(), "AKIDSIGN",
                          "--nameserver", "ns1.signed.test.",
                          "--allow-transfer", "127.0.0.1/32", "--transfer-without-tsig",
                          *extra_args)
    try:
        zid = r53.create_hosted_zone(Name=ZONE, CallerReference="signed")["HostedZone"]["Id"]
        changes = zone_changes(ZONE, [*RRSETS, *extra_rrsets])
        r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": changes})
        r53.create_key_signing_key(CallerReference="k1", HostedZoneId=zid, Name="ksk_one",
                                   Status="ACTIVE", KeyManagementServiceArn=ARN.format("one"))
        change = r53.enable_hosted_zone_dnssec(HostedZoneId=zid)["ChangeInfo"]["Id"]
        assert wait_insync(r53, change, timeout=20)
        yield r53, zid, dns_port, data
    finally:
        stop(proc)


def ds_of(r53, zid, name="ksk_one"):
    return [k["DSRecord"] for k in r53.get_dnssec(HostedZoneId=zid)["KeySigningKeys"]
            if k["Name"] == name][0]


@pytest.fixture(scope="module")
def unbound(served, tmp_path_factory, free_port):
    r53, zid, port, _ = served
    u = Unbound(tmp_path_factory.mktemp("unbound"), free_port(), port, ds_of(r53, zid))
    yield u
    u.stop()


@pytest.mark.parametrize("name,rdtype", [
    ("www.signed.test.", "A"), ("www.signed.test.", "AAAA"), ("signed.test.", "SOA"),
    ("chain.signed.test.", "A"), ("weighted.signed.test.", "A"), ("signed.test.", "DNSKEY"),
    ("mv.signed.test.", "A"), ("mvalias.signed.test.", "A"), ("x.wmv.signed.test.", "A"),
    ("a.b.wmv.signed.test.", "A"), ("geo.signed.test.", "A"), ("failover.signed.test.", "A"),
])
def test_unbound_validates_positive_answers(unbound, name, rdtype):
    m = unbound.ask(name, rdtype)
    assert m.rcode() == dns.rcode.NOERROR and m.answer
    assert m.flags & dns.flags.AD, m.to_text()


def test_unbound_validates_nodata(unbound):
    m = unbound.ask("www.signed.test.", "TXT")
    assert m.rcode() == dns.rcode.NOERROR and not m.answer
    assert m.flags & dns.flags.AD, m.to_text()


@pytest.mark.parametrize("name,rdtype", [
    ("nothere.signed.test.", "A"),         # nonexistent: NXDOMAIN presented as NODATA
    ("a.b.nothere.signed.test.", "AAAA"),
    ("ent.signed.test.", "A"),             # empty non-terminal
    ("x.wild.signed.test.", "A"),          # wildcard match, type absent
])
def test_unbound_validates_compact_denial(unbound, name, rdtype):
    """RFC 9824: NOERROR, no answer, the NSEC owned by the qname; AD."""
    m = unbound.ask(name, rdtype)
    assert m.rcode() == dns.rcode.NOERROR and not m.answer, m.to_text()
    assert m.flags & dns.flags.AD, m.to_text()


@pytest.mark.parametrize("name,rdtype", [
    ("alias.signed.test.", "TXT"),    # CNAME -> www, which has no TXT
    ("dangling.signed.test.", "A"),   # CNAME -> a name that does not exist
])
def test_unbound_validates_chain_denial(unbound, served, name, rdtype):
    """A CNAME chain ending in NODATA or in a nonexistent name carries the
    compact NSEC of the chain's last name (NXNAME when it does not exist):
    NOERROR, the signed CNAME, AD.  (unbound and delv also validated these
    before the NSEC was there: they ask the chain's last name again.)"""
    assert_chain_proof(served, name, rdtype, dns.rdatatype.NSEC)
    m = unbound.ask(name, rdtype)
    assert m.rcode() == dns.rcode.NOERROR, m.to_text()
    assert [rs.rdtype for rs in m.answer if rs.rdtype != dns.rdatatype.RRSIG] == \
        [dns.rdatatype.CNAME], m.to_text()
    assert m.flags & dns.flags.AD, m.to_text()


# name -> the chain's last name, for the chains that end in a denial
CHAIN_ENDS = {"alias.signed.test.": "www.signed.test.", "dangling.signed.test.": "gone.signed.test."}


def assert_chain_proof(served, name, rdtype, proof_type):
    """The server's own answer (DO) proves the denial at the chain's last
    name: its NSEC, or an NSEC3 (nsec3 mode), signed."""
    q = dns.message.make_query(name, rdtype, want_dnssec=True)
    m = dns.query.udp(q, "127.0.0.1", port=served[2], timeout=3)
    got = [rs for rs in m.authority if rs.rdtype == proof_type]
    assert got, m.to_text()
    if proof_type == dns.rdatatype.NSEC:
        assert [rs.name.to_text() for rs in got] == [CHAIN_ENDS[name]], m.to_text()
    assert any(rs.rdtype == dns.rdatatype.RRSIG and rs.covers == proof_type
               for rs in m.authority), m.to_text()


def test_nonexistent_name_has_nxname_and_real_nxdomain_without_do(served):
    _, _, port, _ = served
    q = dns.message.make_query("nothere.signed.test.", "A", want_dnssec=True)
    m = dns.query.udp(q, "127.0.0.1", port=port, timeout=3)
    assert m.rcode() == dns.rcode.NOERROR
    nsec = [r for r in m.authority if r.rdtype == dns.rdatatype.NSEC][0]
    assert nsec[0].to_text().split()[1:] == ["RRSIG", "NSEC", "NXNAME"]
    m = dns.query.udp(dns.message.make_query("nothere.signed.test.", "A"), "127.0.0.1",
                      port=port, timeout=3)
    assert m.rcode() == dns.rcode.NXDOMAIN


def test_co_flag_gives_nxdomain_with_the_same_proof(served, unbound):
    """RFC 9824 §4: DO + CO (Compact Answers OK) restores NXDOMAIN, the
    NXNAME NSEC unchanged; unbound, which does not send CO, still gets the
    NOERROR form and validates it."""
    _, _, port, _ = served
    q = dns.message.make_query("co-nothere.signed.test.", "A", want_dnssec=True)
    q.ednsflags |= dns.flags.CO
    m = dns.query.udp(q, "127.0.0.1", port=port, timeout=3)
    assert m.rcode() == dns.rcode.NXDOMAIN, m.to_text()
    nsec = [r for r in m.authority if r.rdtype == dns.rdatatype.NSEC][0]
    assert nsec[0].to_text().split()[1:] == ["RRSIG", "NSEC", "NXNAME"]
    m = unbound.ask("co-nothere.signed.test.", "A")
    assert m.rcode() == dns.rcode.NOERROR and m.flags & dns.flags.AD, m.to_text()


@pytest.mark.parametrize("name,rdtype", [
    ("x.wild.signed.test.", "TXT"), ("a.b.c.wild.signed.test.", "TXT"),
    ("a.mx.signed.test.", "MX"),     # with its target's address in additional
    ("b.srv.signed.test.", "SRV"),
    ("c.cn.signed.test.", "A"),      # a wildcard CNAME into the zone
])
def test_unbound_validates_wildcard_answers(unbound, name, rdtype):
    m = unbound.ask(name, rdtype)
    assert m.rcode() == dns.rcode.NOERROR and m.answer, m.to_text()
    assert m.flags & dns.flags.AD, m.to_text()


def delv(served, tmp_path, name, rdtype):
    r53, zid, port, _ = served
    tag, alg, dt, digest = ds_of(r53, zid).split()
    anchors = tmp_path / "anchors"
    anchors.write_text(f'trust-anchors {{ "{ZONE}" static-ds {tag} {alg} {dt} "{digest}"; }};\n')
    out = subprocess.run(["delv", "@127.0.0.1", "-p", str(port), "-a", str(anchors),
                          f"+root={ZONE}", name, rdtype],
                         capture_output=True, text=True, timeout=30)
    return out.stdout + out.stderr


@pytest.mark.skipif(not shutil.which("delv"), reason="delv not installed")
@pytest.mark.parametrize("name,rdtype", [
    ("www.signed.test.", "A"), ("nothere.signed.test.", "A"), ("ent.signed.test.", "A"),
    ("x.wild.signed.test.", "TXT"), ("x.wild.signed.test.", "A"), ("a.mx.signed.test.", "MX"),
    ("b.srv.signed.test.", "SRV"), ("mvalias.signed.test.", "A"), ("alias.signed.test.", "TXT"),
    ("dangling.signed.test.", "A"), ("x.wmv.signed.test.", "A"), ("geo.signed.test.", "A"),
    ("failover.signed.test.", "A"), ("weighted.signed.test.", "A"),
])
def test_delv_fully_validated(served, tmp_path, name, rdtype):
    """A denial reads "; negative response, fully validated"."""
    if name in CHAIN_ENDS:
        assert_chain_proof(served, name, rdtype, dns.rdatatype.NSEC)
    out = delv(served, tmp_path, name, rdtype)
    assert "fully validated" in out.splitlines()[0], out


@pytest.mark.skipif(not shutil.which("dnssec-verify"), reason="bind9-utils not installed")
def test_axfr_copy_is_a_signed_zone_dnssec_verify_accepts(served, tmp_path):
    import dns.query
    import dns.zone

    r53, zid, port, _ = served
    zone = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", ZONE, port=port, timeout=5))
    types = {rds.rdtype for _n, node in zone.nodes.items() for rds in node.rdatasets}
    assert {dns.rdatatype.DNSKEY, dns.rdatatype.RRSIG, dns.rdatatype.NSEC} <= types
    path = tmp_path / "signed.test.zone"
    zone.to_file(str(path), relativize=False)
    out = subprocess.run(["dnssec-verify", "-o", ZONE, str(path)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Zone fully signed" in out.stdout + out.stderr


def test_nsd_secondary_serves_the_identical_signed_zone(served, tmp_path):
    """NSD fed by AXFR answers every RRset of the signed zone, DO set, with
    the same records and the same RRSIG as the zone zonefront transfers."""
    from helpers.secondaries import Nsd

    assert_secondary_serves_the_zone(served, tmp_path, Nsd)


@pytest.mark.skipif(not shutil.which("knotd"), reason="knotd not installed")
def test_knot_secondary_serves_the_identical_signed_zone(served, tmp_path):
    """The same for Knot, whose signing and validation of a secondary zone
    are off by default: it serves our signatures as they are."""
    from helpers.secondaries import Knot

    assert_secondary_serves_the_zone(served, tmp_path, Knot)


def assert_secondary_serves_the_zone(served, tmp_path, secondary_class, skip_types=()):
    """Every signed RRset of the AXFR copy but `skip_types`, asked of the
    secondary by owner and type with DO: the same records and RRSIG."""
    import dns.query
    import dns.zone
    from helpers.xfr import wait_for

    r53, zid, port, _ = served
    zone = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", ZONE, port=port, timeout=5,
                                           relativize=False), relativize=False)
    serial = zone.get_rdataset(zone.origin, "SOA")[0].serial
    nsd = secondary_class(str(tmp_path), ZONE, port).start()
    try:
        assert wait_for(lambda: nsd.serial() == serial, 15), nsd.logs()
        checked = 0
        for name, node in zone.nodes.items():
            owner = name
            sigs = {rds.covers: rds for rds in node.rdatasets if rds.rdtype == dns.rdatatype.RRSIG}
            for rds in node.rdatasets:
                if rds.rdtype == dns.rdatatype.RRSIG or rds.rdtype not in sigs \
                        or rds.rdtype in skip_types:
                    continue  # the delegation's NS and glue are not signed
                q = dns.message.make_query(owner, rds.rdtype, want_dnssec=True, payload=4096)
                m = dns.query.tcp(q, "127.0.0.1", port=nsd.port, timeout=5)
                got = {(r.rdtype, r.covers): set(r) for r in m.answer if r.name == owner}
                assert got.get((rds.rdtype, 0)) == set(rds), (owner, rds.rdtype, m.to_text())
                assert got.get((dns.rdatatype.RRSIG, rds.rdtype)) == set(sigs[rds.rdtype]), \
                    (owner, rds.rdtype, m.to_text())
                checked += 1
        assert checked > 20
    finally:
        nsd.stop()


def test_ksk_rollover_double_signature_validates_under_either_ds(served, unbound,
                                                                tmp_path_factory, free_port):
    """A second ACTIVE KSK signs the DNSKEY RRset beside the first: a
    resolver holding the old DS and one holding the new both validate."""
    r53, zid, port, _ = served
    change = r53.create_key_signing_key(
        CallerReference="k2", HostedZoneId=zid, Name="ksk_two", Status="ACTIVE",
        KeyManagementServiceArn=ARN.format("two"))["ChangeInfo"]["Id"]
    assert wait_insync(r53, change, timeout=20)
    new = Unbound(tmp_path_factory.mktemp("new"), free_port(), port, ds_of(r53, zid, "ksk_two"))
    try:
        q = dns.message.make_query("signed.test.", "DNSKEY", want_dnssec=True)
        m = dns.query.udp(q, "127.0.0.1", port=port, timeout=3)
        sigs = [r for r in m.answer if r.rdtype == dns.rdatatype.RRSIG]
        assert len(sigs[0]) == 2  # one RRSIG per ACTIVE KSK
        for u in (unbound, new):
            m = u.ask("www.signed.test.", "AAAA")
            assert m.rcode() == dns.rcode.NOERROR and m.flags & dns.flags.AD
            m = u.ask("signed.test.", "DNSKEY")
            assert m.flags & dns.flags.AD
    finally:
        new.stop()


def test_ksk_removed_behind_its_ds_is_servfail(served, tmp_path_factory, free_port):
    r53, zid, port, _ = served
    old_ds = ds_of(r53, zid)
    r53.deactivate_key_signing_key(HostedZoneId=zid, Name="ksk_one")
    change = r53.delete_key_signing_key(HostedZoneId=zid, Name="ksk_one")["ChangeInfo"]["Id"]
    assert wait_insync(r53, change, timeout=20)
    broken = Unbound(tmp_path_factory.mktemp("broken"), free_port(), port, old_ds)
    fresh = Unbound(tmp_path_factory.mktemp("fresh"), free_port(), port, ds_of(r53, zid, "ksk_two"))
    try:
        assert broken.ask("www.signed.test.", "A").rcode() == dns.rcode.SERVFAIL
        m = fresh.ask("www.signed.test.", "A")
        assert m.rcode() == dns.rcode.NOERROR and m.flags & dns.flags.AD
    finally:
        broken.stop()
        fresh.stop()
