"""Rollovers under a live validator (issue 14): a registered domain under the
registry's signed TLD rolls its ZSK twice by pre-publication (RFC 7583 §3.2)
with timings of seconds, then its KSK by double signature through the
registry (§3.3.2: a second KSK, its DS, the old DS removed, the old KSK
deactivated and deleted), while unbound, trusting only the TLD's DS, is
asked a positive answer, a NODATA and a nonexistent name every few tenths
of a second and must set AD on every one.  Beside unbound, the DNSKEY RRset
the server gives is followed to check that the keys went through the phases
(a new ZSK published before it signs, the old one kept after, then removed).

Every TTL is 2 s (records, SOA minimum, DNSKEY, the TLD's DS and NS), so
unbound's caches turn over many times within each phase; a timing rule
broken by the server (a ZSK signing before a cached DNSKEY RRset can hold
it, a KSK going while a cached DS names only it) shows up as SERVFAIL."""
from __future__ import annotations

import shutil
import time

import dns.dnssec
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
from helpers.procs import wait_insync
from helpers.registry_chain import Chain, kms_arn, wait_ad

pytestmark = pytest.mark.skipif(not shutil.which("unbound"), reason="unbound not installed")

DOMAIN = "roll.corp"
TTL = 2
PREPUBLISH = 3
LIFETIME = 8
# appended to the chain's [registry] section first: the TLD's DS and NS TTLs
TIMINGS = f"""ds_ttl = {TTL}
delegation_ttl = {TTL}

[dnssec]
zsk_lifetime = {LIFETIME}
zsk_prepublish = {PREPUBLISH}
dnskey_ttl = {TTL}
propagation_delay = 1
"""


def short_ttls(chain: Chain, zid: str) -> list[dict]:
    """UPSERTs giving the apex SOA (and its negative TTL) and NS a TTL of
    TTL seconds, plus www's A record: Route 53's defaults (900 s SOA, two
    days NS) would keep a retired ZSK published for two days."""
    sets = chain.r53.list_resource_record_sets(HostedZoneId=zid)["ResourceRecordSets"]
    out = []
    for rs in sets:
        if rs["Name"] == DOMAIN + "." and rs["Type"] in ("SOA", "NS"):
            values = [r["Value"] for r in rs["ResourceRecords"]]
            if rs["Type"] == "SOA":
                values = [" ".join(values[0].split()[:6] + [str(TTL)])]
            out.append({"Action": "UPSERT", "ResourceRecordSet": {
                "Name": rs["Name"], "Type": rs["Type"], "TTL": TTL,
                "ResourceRecords": [{"Value": v} for v in values]}})
    out.append({"Action": "CREATE", "ResourceRecordSet": {
        "Name": f"www.{DOMAIN}.", "Type": "A", "TTL": TTL,
        "ResourceRecords": [{"Value": "192.0.2.80"}]}})
    return out


class Watch:
    """Asks unbound (AD required) and the server (which keys it serves and
    which ZSK signs) in a loop; keeps one sample per round."""

    def __init__(self, chain: Chain, unbound):
        self.chain, self.unbound = chain, unbound
        self.samples: list[tuple[float, tuple[int, ...], int, tuple[int, ...]]] = []
        self.asked = 0
        self.t0 = time.monotonic()

    def direct(self, name: str, rdtype: str):
        q = dns.message.make_query(name, rdtype, want_dnssec=True)
        return dns.query.udp(q, "127.0.0.1", port=self.chain.dns_port, timeout=3)

    def check_validator(self) -> None:
        for name, rdtype, want in ((f"www.{DOMAIN}.", "A", "answer"),
                                   (f"www.{DOMAIN}.", "TXT", "nodata"),
                                   (f"nope.{DOMAIN}.", "A", "nonexistent")):
            m = self.unbound.ask(name, rdtype)
            self.asked += 1
            answers = [rs for rs in m.answer if rs.rdtype == dns.rdatatype.from_text(rdtype)]
            ok = m.flags & dns.flags.AD and (
                (want == "answer" and m.rcode() == dns.rcode.NOERROR and answers) or
                (want == "nodata" and m.rcode() == dns.rcode.NOERROR and not answers) or
                (want == "nonexistent" and m.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN)
                 and not answers))
            assert ok, (f"{time.monotonic() - self.t0:.1f}s: {name} {rdtype} ({want}) not "
                        f"validated\n{m.to_text()}\nkeys served lately: {self.samples[-5:]}\n"
                        f"{self.unbound_log()}")

    def unbound_log(self) -> str:
        path = self.chain.tmp / "unbound0" / "unbound.log"
        return "".join(path.read_text().splitlines(True)[-15:]) if path.exists() else ""

    def sample(self) -> None:
        m = self.direct(DOMAIN + ".", "DNSKEY")
        keys = [rs for rs in m.answer if rs.rdtype == dns.rdatatype.DNSKEY][0]
        a = self.direct(f"www.{DOMAIN}.", "A")
        sig = [rs for rs in a.answer if rs.rdtype == dns.rdatatype.RRSIG][0]
        self.samples.append((time.monotonic() - self.t0,
                             tuple(sorted(dns.dnssec.key_id(k) for k in keys if k.flags == 256)),
                             sig[0].key_tag,
                             tuple(sorted(dns.dnssec.key_id(k) for k in keys if k.flags == 257))))

    def round(self) -> None:
        self.sample()
        self.check_validator()
        time.sleep(0.2)

    def run(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.round()

    def until(self, done, timeout: float) -> None:
        end = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < end, f"timed out; samples: {self.samples}"
            self.round()

    # -- what the samples say about the ZSKs ----------------------------------

    def signers(self) -> list[int]:
        """ZSK tags in the order they signed."""
        out: list[int] = []
        for _t, _z, s, _k in self.samples:
            if not out or out[-1] != s:
                out.append(s)
        return out

    def first(self, pred) -> float:
        return next(t for t, z, s, k in self.samples if pred(z, s, k))

    def last(self, pred) -> float:
        return [t for t, z, s, k in self.samples if pred(z, s, k)][-1]

    def removed(self, tag: int) -> bool:
        """`tag` was published, then left the DNSKEY RRset for good."""
        seen = [tag in z for _t, z, _s, _k in self.samples]
        return any(seen) and not seen[-1]


def test_zsk_and_ksk_rollovers_keep_validating(tmp_path, free_port):
    chain = Chain(tmp_path, free_port, extra_config=TIMINGS)
    try:
        zid = chain.register(DOMAIN)
        chain.change(zid, short_ttls(chain, zid))
        ksk_one = chain.sign(zid, "ksk_one", "one")
        one_id = chain.associate_ds(DOMAIN, ksk_one)
        unbound = chain.unbound()
        m = wait_ad(unbound, f"www.{DOMAIN}.", "A")
        assert m.flags & dns.flags.AD, m.to_text()
        w = Watch(chain, unbound)

        # two complete ZSK rolls: the second key to sign has been retired and removed
        w.until(lambda: len(w.signers()) >= 3 and w.removed(w.signers()[1]), timeout=40)
        signers = w.signers()
        for new, old in zip(signers[1:], signers):
            published = w.first(lambda z, s, k, new=new: new in z)
            signing = w.first(lambda z, s, k, new=new: s == new)
            # published for a whole DNSKEY TTL before its first signature
            assert signing - published >= TTL, (new, published, signing, w.samples)
            assert w.first(lambda z, s, k, new=new, old=old: s == new and old in z) == signing
        for old, new in zip(signers[:2], signers[1:]):
            assert w.removed(old)
            # still published after its successor signed, until its
            # signatures' TTL had passed
            kept = w.last(lambda z, s, k, old=old: old in z) - \
                w.first(lambda z, s, k, new=new: s == new)
            assert kept >= TTL - 0.5, (old, kept, w.samples)
        assert max(len(z) for _t, z, _s, _k in w.samples) == 2
        assert min(len(z) for _t, z, _s, _k in w.samples) == 1

        # KSK rollover by double signature, through the registry
        ksk_two = chain.r53.create_key_signing_key(
            CallerReference="ksk_two", HostedZoneId=zid, Name="ksk_two", Status="ACTIVE",
            KeyManagementServiceArn=kms_arn("two"))
        assert wait_insync(chain.r53, ksk_two["ChangeInfo"]["Id"], timeout=30)
        ksk_two = ksk_two["KeySigningKey"]
        w.run(1)
        assert w.samples[-1][3] == tuple(sorted((ksk_one["KeyTag"], ksk_two["KeyTag"])))
        chain.associate_ds(DOMAIN, ksk_two)
        # the TLD still publishes the old key's DS: it cannot be deactivated
        with pytest.raises(chain.r53.exceptions.KeySigningKeyInParentDSRecord):
            chain.r53.deactivate_key_signing_key(HostedZoneId=zid, Name="ksk_one")
        w.run(2 * TTL + 1)  # caches now hold both DS records (and both KSKs)
        chain.disassociate_ds(DOMAIN, one_id)
        w.run(TTL + 1)  # no cache holds a DS set naming only the old KSK
        change = chain.r53.deactivate_key_signing_key(HostedZoneId=zid, Name="ksk_one")
        assert wait_insync(chain.r53, change["ChangeInfo"]["Id"], timeout=30)
        w.run(TTL + 1)
        change = chain.r53.delete_key_signing_key(HostedZoneId=zid, Name="ksk_one")
        assert wait_insync(chain.r53, change["ChangeInfo"]["Id"], timeout=30)
        w.run(TTL + 1)
        assert w.samples[-1][3] == (ksk_two["KeyTag"],)
        m = unbound.ask(DOMAIN + ".", "DS")
        ds = [rs for rs in m.answer if rs.rdtype == dns.rdatatype.DS]
        assert m.flags & dns.flags.AD and [r.key_tag for r in ds[0]] == [ksk_two["KeyTag"]]
        assert len(w.samples) >= 50 and w.asked == 3 * len(w.samples)
    finally:
        chain.close()


def test_deactivate_refuses_a_ksk_whose_ds_the_registry_holds(tmp_path, free_port):
    """DeactivateKeySigningKey answers KeySigningKeyInParentDSRecord (one of
    the operation's errors in botocore's Route 53 model) for a KSK whose DS
    the registry's TLD publishes, and only for that KSK: a second KSK without
    a DS there can be deactivated, and the first once its DS is gone."""
    chain = Chain(tmp_path, free_port)
    try:
        zid, ksk_one = chain.signed_domain(DOMAIN, [])
        one_id = [k["Id"] for k in chain.domains.get_domain_detail(DomainName=DOMAIN)[
            "DnssecKeys"] if k["PublicKey"] == ksk_one["PublicKey"]][0]
        chain.r53.create_key_signing_key(
            CallerReference="ksk_two", HostedZoneId=zid, Name="ksk_two", Status="ACTIVE",
            KeyManagementServiceArn=kms_arn("two"))
        with pytest.raises(chain.r53.exceptions.KeySigningKeyInParentDSRecord) as err:
            chain.r53.deactivate_key_signing_key(HostedZoneId=zid, Name="ksk_one")
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        statuses = {k["Name"]: k["Status"] for k in
                    chain.r53.get_dnssec(HostedZoneId=zid)["KeySigningKeys"]}
        assert statuses == {"ksk_one": "ACTIVE", "ksk_two": "ACTIVE"}  # nothing changed
        chain.r53.deactivate_key_signing_key(HostedZoneId=zid, Name="ksk_two")
        chain.r53.activate_key_signing_key(HostedZoneId=zid, Name="ksk_two")
        chain.disassociate_ds(DOMAIN, one_id)
        chain.r53.deactivate_key_signing_key(HostedZoneId=zid, Name="ksk_one")
        statuses = {k["Name"]: k["Status"] for k in
                    chain.r53.get_dnssec(HostedZoneId=zid)["KeySigningKeys"]}
        assert statuses == {"ksk_one": "INACTIVE", "ksk_two": "ACTIVE"}
    finally:
        chain.close()
