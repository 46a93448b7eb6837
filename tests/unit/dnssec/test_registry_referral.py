"""The registry's signed TLD zone refers to a registered domain served
elsewhere (issue 14): after AssociateDelegationSignerToDomain its referral
carries, with DO, the domain's DS and the TLD's RRSIG over it (RFC 4035
§3.1.4.1); without DO, the NS alone.  The domain's hosted zone is deleted,
so the TLD is what answers names below the domain."""
from __future__ import annotations

import time

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rdatatype
from helpers.registry_chain import Chain, wait_op

# the DS is made from RFC 6605 §6.1's example P-256 key (the child is never asked)
PUBLIC_KEY = ("mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L"
              "53eKGQ==")


def ask(port: int, name: str, rdtype: str, do: bool = True):
    q = dns.message.make_query(name, rdtype, want_dnssec=do)
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=3)


def test_tld_referral_carries_the_registered_domains_signed_ds(tmp_path, free_port):
    chain = Chain(tmp_path, free_port)
    try:
        zid = chain.register("away.corp")
        op = chain.domains.update_domain_nameservers(DomainName="away.corp", Nameservers=[
            {"Name": "ns1.away.corp", "GlueIps": ["192.0.2.53"]}])["OperationId"]
        assert wait_op(chain.domains, op)["Status"] == "SUCCESSFUL"
        chain.r53.delete_hosted_zone(Id=zid)  # served elsewhere: the TLD refers to it
        op = chain.domains.associate_delegation_signer_to_domain(
            DomainName="away.corp",
            SigningAttributes={"Algorithm": 13, "Flags": 257, "PublicKey": PUBLIC_KEY})["OperationId"]
        assert wait_op(chain.domains, op)["Status"] == "SUCCESSFUL"
        tld, cut = dns.name.from_text("corp."), dns.name.from_text("away.corp.")
        keys = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the DS reaches the TLD once published
            m = ask(chain.dns_port, "www.away.corp.", "A")
            if any(rs.rdtype == dns.rdatatype.DS for rs in m.authority):
                break
            time.sleep(0.2)
        assert not m.flags & dns.flags.AA and not m.answer
        assert [(rs.name, rs.rdtype, rs.covers) for rs in m.authority] == [
            (cut, dns.rdatatype.NS, dns.rdatatype.NONE),
            (cut, dns.rdatatype.DS, dns.rdatatype.NONE),
            (cut, dns.rdatatype.RRSIG, dns.rdatatype.DS)], m.to_text()
        k = ask(chain.dns_port, "corp.", "DNSKEY")
        keys = {tld: k.find_rrset(k.answer, tld, dns.rdataclass.IN, dns.rdatatype.DNSKEY)}
        ds = m.find_rrset(m.authority, cut, dns.rdataclass.IN, dns.rdatatype.DS)
        dns.dnssec.validate(ds, m.find_rrset(m.authority, cut, dns.rdataclass.IN,
                                             dns.rdatatype.RRSIG, dns.rdatatype.DS), keys)
        assert [rd.algorithm for rd in ds] == [13]
        assert [str(rs).lower() for rs in m.additional] == ["ns1.away.corp. 172800 in a 192.0.2.53"]
        plain = ask(chain.dns_port, "www.away.corp.", "A", do=False)
        assert [rs.rdtype for rs in plain.authority] == [dns.rdatatype.NS]
    finally:
        chain.close()
