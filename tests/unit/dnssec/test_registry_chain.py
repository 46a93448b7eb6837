"""A chain of trust from a registry TLD to a registered domain: the
registry's TLD zone is signed (its DS, written to
DATA_DIR/dnssec-keys/corp.ds, is the only trust anchor), a hosted zone of a
domain registered here is signed through Route 53's API, its DS goes into
the TLD through Route 53 Domains' AssociateDelegationSignerToDomain, and
unbound, with a stub for the TLD alone, validates the domain's answers.

Issue 14's done-means walks every kind of answer (routed, wildcard,
CNAME chain, NODATA, nonexistent names, delegations with and without DS)
through that chain, for both denial modes, and breaks the chain twice: the
TLD's only DS naming a KSK that signs nothing, and a KSK removed behind its
DS.  One serve child and one unbound per denial mode: the answer tests only
read, and the tests that break a chain use domains of their own."""
from __future__ import annotations

import shutil
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
from helpers.registry_chain import Chain, kms_arn, wait_ad
from helpers.procs import wait_insync
from test_validators import RRSETS, zone_changes

pytestmark = pytest.mark.skipif(not shutil.which("unbound"), reason="unbound not installed")

DOMAIN = "acme.corp."
INSECURE = f"sub.{DOMAIN}"  # a hosted zone of its own, unsigned, delegated from DOMAIN
MODES = {"compact": "", "nsec3": '[dnssec]\ndenial = "nsec3"\n'}
# beside test_validators' names: a wildcard A, a delegation with DS (its
# servers need not exist: only the DS is asked for) and one without DS
EXTRA = [("*.wa", "A", "192.0.2.60"),
         ("signedsub", "NS", "ns.example.net."),
         ("signedsub", "DS", "12345 13 2 " + "ab" * 32),
         ("sub", "NS", "ns1.corp."), ("sub", "NS", "ns2.corp.")]


def _domain_changes() -> list[dict]:
    changes = zone_changes(DOMAIN, [*RRSETS, *EXTRA[:3]])
    changes.append({"Action": "CREATE", "ResourceRecordSet": {
        "Name": INSECURE, "Type": "NS", "TTL": 60,
        "ResourceRecords": [{"Value": "ns1.corp."}, {"Value": "ns2.corp."}]}})
    return changes


@pytest.fixture(scope="module", params=sorted(MODES))
def chain(request, tmp_path_factory, free_port):
    """The serve child of one denial mode, acme.corp signed and its DS in
    the TLD, sub.acme.corp served unsigned beside it."""
    mode = request.param
    c = Chain(tmp_path_factory.mktemp(f"chain-{mode}"), free_port, extra_config=MODES[mode])
    try:
        c.mode = mode
        c.signed_domain(DOMAIN.rstrip("."), _domain_changes())
        sub = c.r53.create_hosted_zone(Name=INSECURE, CallerReference="sub")["HostedZone"]["Id"]
        c.change(sub, [{"Action": "CREATE", "ResourceRecordSet": {
            "Name": f"host.{INSECURE}", "Type": "A", "TTL": 60,
            "ResourceRecords": [{"Value": "192.0.2.70"}]}}])
        yield c
    finally:
        c.close()


@pytest.fixture(scope="module")
def unbound(chain):
    u = chain.unbound(stubs=(DOMAIN,))
    m = wait_ad(u, f"www.{DOMAIN}", "A")
    assert m.flags & dns.flags.AD, m.to_text()
    return u


def nx(chain) -> int:
    """A nonexistent name's rcode as validators see it: compact denial
    (RFC 9824) answers NOERROR to resolvers that do not send CO."""
    return dns.rcode.NXDOMAIN if chain.mode == "nsec3" else dns.rcode.NOERROR


# (name, type, rcode or None for nx(), whether the answer section has records)
POSITIVE = [
    (f"www.{DOMAIN}", "A"), (f"www.{DOMAIN}", "AAAA"), (DOMAIN, "SOA"), (DOMAIN, "DNSKEY"),
    (DOMAIN, "DS"), (f"chain.{DOMAIN}", "A"), (f"weighted.{DOMAIN}", "A"),
    (f"geo.{DOMAIN}", "A"), (f"failover.{DOMAIN}", "A"), (f"mv.{DOMAIN}", "A"),
    (f"mvalias.{DOMAIN}", "A"), (f"signedsub.{DOMAIN}", "DS"),
]
WILDCARD = [
    (f"x.wild.{DOMAIN}", "TXT"), (f"a.b.c.wild.{DOMAIN}", "TXT"), (f"x.wa.{DOMAIN}", "A"),
    (f"a.mx.{DOMAIN}", "MX"), (f"b.srv.{DOMAIN}", "SRV"), (f"c.cn.{DOMAIN}", "A"),
    (f"x.wmv.{DOMAIN}", "A"), (f"a.b.wmv.{DOMAIN}", "A"),
]
NODATA = [
    (f"www.{DOMAIN}", "TXT"), (f"ent.{DOMAIN}", "A"),   # NODATA, empty non-terminal
    (f"x.wild.{DOMAIN}", "A"),                          # wildcard NODATA
    (f"x.wa.{DOMAIN}", "TXT"),
    (INSECURE, "DS"),                                   # the delegation without DS
]
NONEXISTENT = [(f"nothere.{DOMAIN}", "A"), (f"a.b.nothere.{DOMAIN}", "AAAA"),
               (f"x.host.ent.{DOMAIN}", "A")]
CHAINS = [(f"alias.{DOMAIN}", "TXT", False),     # CNAME -> www, which has no TXT
          (f"dangling.{DOMAIN}", "A", True)]     # CNAME -> a name that does not exist
UNDER_INSECURE = [(f"host.{INSECURE}", "A", dns.rcode.NOERROR, True),
                  (f"nothere.{INSECURE}", "A", dns.rcode.NXDOMAIN, False)]


def _secure_cases():
    for name, rdtype in POSITIVE + WILDCARD:
        yield pytest.param(name, rdtype, dns.rcode.NOERROR, True, id=f"{name}{rdtype}")
    for name, rdtype in NODATA:
        yield pytest.param(name, rdtype, dns.rcode.NOERROR, False, id=f"{name}{rdtype}")
    for name, rdtype in NONEXISTENT:
        yield pytest.param(name, rdtype, None, False, id=f"{name}{rdtype}")
    for name, rdtype, nxdomain in CHAINS:
        yield pytest.param(name, rdtype, None if nxdomain else dns.rcode.NOERROR, True,
                           id=f"{name}{rdtype}")


SECURE = list(_secure_cases())


def direct(chain, name, rdtype):
    q = dns.message.make_query(name, rdtype, want_dnssec=True)
    return dns.query.udp(q, "127.0.0.1", port=chain.dns_port, timeout=3)


@pytest.mark.parametrize("name,rdtype,rcode,answered", SECURE)
def test_unbound_validates_through_the_tld(chain, unbound, name, rdtype, rcode, answered):
    rcode = nx(chain) if rcode is None else rcode
    m = unbound.ask(name, rdtype)
    assert m.rcode() == rcode, m.to_text()
    assert bool(m.answer) == answered, m.to_text()
    assert m.flags & dns.flags.AD, m.to_text()


@pytest.mark.parametrize("name,rdtype,rcode,answered", UNDER_INSECURE)
def test_unbound_proves_the_delegation_without_ds_insecure(chain, unbound, name, rdtype,
                                                          rcode, answered):
    """Names in the unsigned child: the signed parent proves there is no
    DS, so unbound answers them (no SERVFAIL) without AD."""
    m = unbound.ask(name, rdtype)
    assert m.rcode() == rcode, m.to_text()
    assert bool(m.answer) == answered, m.to_text()
    assert not m.flags & dns.flags.AD, m.to_text()


@pytest.mark.skipif(not shutil.which("delv"), reason="delv not installed")
@pytest.mark.parametrize("name,rdtype,rcode,answered", SECURE)
def test_delv_fully_validated_through_the_tld(chain, name, rdtype, rcode, answered):
    """A denial reads "; negative response, fully validated"."""
    out = chain.delv(name, rdtype)
    assert "fully validated" in out.splitlines()[0], out


@pytest.mark.skipif(not shutil.which("delv"), reason="delv not installed")
@pytest.mark.parametrize("name,rdtype,rcode,answered", UNDER_INSECURE)
def test_delv_reports_the_delegation_without_ds_unsigned(chain, name, rdtype, rcode, answered):
    out = chain.delv(name, rdtype)
    first = out.splitlines()[0]
    assert "unsigned answer" in first or "insecurity proof" in first, out


def test_referral_to_the_delegation_with_ds_carries_the_signed_ds(chain):
    """A referral (DO) from the signed domain to its delegation with DS
    carries that DS and its RRSIG: the step a validator takes into a
    signed child (RFC 4035 §3.1.4)."""
    m = direct(chain, f"host.signedsub.{DOMAIN}", "A")
    assert m.rcode() == dns.rcode.NOERROR and not m.answer, m.to_text()
    assert any(rs.rdtype == dns.rdatatype.DS for rs in m.authority), m.to_text()
    assert any(rs.rdtype == dns.rdatatype.RRSIG and rs.covers == dns.rdatatype.DS
               for rs in m.authority), m.to_text()


def test_tld_to_domain_chain_validates(chain, unbound):
    m = wait_ad(unbound, f"www.{DOMAIN}", "A")
    assert m.rcode() == dns.rcode.NOERROR and m.flags & dns.flags.AD, m.to_text()
    zid = chain.r53.list_hosted_zones_by_name(DNSName=DOMAIN)["HostedZones"][0]["Id"]
    # the TLD still holds the DS: turning signing off would break the chain
    with pytest.raises(chain.r53.exceptions.KeySigningKeyInParentDSRecord):
        chain.r53.disable_hosted_zone_dnssec(HostedZoneId=zid)


def test_signed_domain_without_ds_in_the_tld_is_insecure(chain, unbound):
    """A registered domain signed but with no DS in the TLD: the TLD's
    signed denial of the DS makes it insecure, answered without AD (not
    SERVFAIL), and delv says so."""
    domain = "nods.corp"
    zid = chain.register(domain)
    chain.change(zid, _www(domain))
    chain.sign(zid, "nods_one", "one")
    m = direct(chain, f"{domain}.", "DS")
    assert not m.answer and any(rs.rdtype == dns.rdatatype.RRSIG for rs in m.authority), \
        m.to_text()
    m = unbound.ask(f"{domain}.", "DS")
    assert m.rcode() == dns.rcode.NOERROR and not m.answer and m.flags & dns.flags.AD, m.to_text()
    m = unbound.ask(f"www.{domain}.", "A")
    assert m.rcode() == dns.rcode.NOERROR and m.answer, m.to_text()
    assert not m.flags & dns.flags.AD, m.to_text()
    assert "unsigned answer" in chain.delv(f"www.{domain}.", "A").splitlines()[0]


def _www(domain: str) -> list[dict]:
    return [{"Action": "CREATE", "ResourceRecordSet": {
        "Name": f"www.{domain}.", "Type": "A", "TTL": 60,
        "ResourceRecords": [{"Value": "192.0.2.80"}]}}]


def test_the_only_ds_naming_a_ksk_that_signs_nothing_is_servfail(chain, unbound):
    """The TLD's only DS is of an INACTIVE KSK: nothing it names signs the
    DNSKEY RRset, so validation fails; activating that KSK mends it."""
    domain = "swap.corp"
    zid, first = chain.signed_domain(domain, _www(domain), ksk_name="swap_one")
    assert "fully validated" in chain.delv(f"www.{domain}.", "A").splitlines()[0]
    second = chain.r53.create_key_signing_key(
        CallerReference="swap_two", HostedZoneId=zid, Name="swap_two", Status="INACTIVE",
        KeyManagementServiceArn=kms_arn("two"))
    assert wait_insync(chain.r53, second["ChangeInfo"]["Id"], timeout=30)
    first_id = [k["Id"] for k in chain.domains.get_domain_detail(DomainName=domain)["DnssecKeys"]
                if k["PublicKey"] == first["PublicKey"]][0]
    chain.associate_ds(domain, second["KeySigningKey"])
    chain.disassociate_ds(domain, first_id)
    # unbound has not asked for this domain yet: it meets only the new DS
    m = direct(chain, f"{domain}.", "DS")
    assert [rs for rs in m.answer if rs.rdtype == dns.rdatatype.DS][0][0].key_tag == \
        second["KeySigningKey"]["KeyTag"], m.to_text()
    assert unbound.ask(f"www.{domain}.", "A").rcode() == dns.rcode.SERVFAIL
    change = chain.r53.activate_key_signing_key(HostedZoneId=zid, Name="swap_two")
    assert wait_insync(chain.r53, change["ChangeInfo"]["Id"], timeout=30)
    assert "fully validated" in chain.delv(f"www.{domain}.", "A").splitlines()[0]
    # the first unbound holds the bogus answer for a while (val-bogus-ttl):
    # a fresh one, from the same anchor, validates at once
    m = wait_ad(chain.unbound(), f"www.{domain}.", "A")
    assert m.rcode() == dns.rcode.NOERROR and m.flags & dns.flags.AD, m.to_text()


def test_ksk_removed_behind_its_ds_is_servfail(chain, unbound):
    """The TLD's only DS names a KSK the zone no longer has: the chain from
    the TLD breaks, unbound says SERVFAIL and delv does not call it
    validated.  The API refuses to remove a KSK whose DS the TLD holds
    (KeySigningKeyInParentDSRecord, as Route 53 does), so the removed key
    is a second KSK deleted first and its DS placed in the TLD afterwards,
    the way a stale DS reaches a registry."""
    domain = "gone.corp"
    zid, first = chain.signed_domain(domain, _www(domain), ksk_name="gone_one")
    assert "fully validated" in chain.delv(f"www.{domain}.", "A").splitlines()[0]
    with pytest.raises(chain.r53.exceptions.KeySigningKeyInParentDSRecord):
        chain.r53.deactivate_key_signing_key(HostedZoneId=zid, Name="gone_one")
    second = chain.r53.create_key_signing_key(
        CallerReference="gone_two", HostedZoneId=zid, Name="gone_two", Status="ACTIVE",
        KeyManagementServiceArn=kms_arn("two"))
    assert wait_insync(chain.r53, second["ChangeInfo"]["Id"], timeout=30)
    chain.r53.deactivate_key_signing_key(HostedZoneId=zid, Name="gone_two")
    change = chain.r53.delete_key_signing_key(HostedZoneId=zid, Name="gone_two")["ChangeInfo"]["Id"]
    assert wait_insync(chain.r53, change, timeout=30)
    keys = chain.domains.get_domain_detail(DomainName=domain)["DnssecKeys"]
    first_id = [k["Id"] for k in keys if k["PublicKey"] == first["PublicKey"]][0]
    chain.associate_ds(domain, second["KeySigningKey"])
    chain.disassociate_ds(domain, first_id)
    m = direct(chain, f"www.{domain}.", "A")
    assert m.rcode() == dns.rcode.NOERROR and m.answer  # the zone itself still answers
    deadline = time.monotonic() + 15  # the registry publishes the DS change a moment later
    while unbound.ask(f"www.{domain}.", "A").rcode() != dns.rcode.SERVFAIL:
        assert time.monotonic() < deadline, "unbound kept validating through a DS with no key"
        time.sleep(0.3)
    assert "fully validated" not in chain.delv(f"www.{domain}.", "A").splitlines()[0]
