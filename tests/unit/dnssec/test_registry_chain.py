"""A chain of trust from a registry TLD to a registered domain: the
registry's TLD zone is signed (its DS, written to
DATA_DIR/dnssec-keys/corp.ds, is the only trust anchor), a hosted zone of a
domain registered here is signed through Route 53's API, its DS goes into
the TLD through Route 53 Domains' AssociateDelegationSignerToDomain, and
unbound, with a stub for the TLD alone, validates the domain's answers."""
from __future__ import annotations

import shutil

import dns.flags
import dns.rcode
import pytest
from helpers.registry_chain import Chain, wait_ad

pytestmark = pytest.mark.skipif(not shutil.which("unbound"), reason="unbound not installed")


def test_tld_to_domain_chain_validates(tmp_path, free_port):
    chain = Chain(tmp_path, free_port)
    try:
        zid, _ksk = chain.signed_domain("acme.corp", [
            {"Action": "CREATE", "ResourceRecordSet": {
                "Name": "www.acme.corp.", "Type": "A", "TTL": 60,
                "ResourceRecords": [{"Value": "192.0.2.80"}]}}])
        unbound = chain.unbound()
        m = wait_ad(unbound, "www.acme.corp.", "A")
        assert m.rcode() == dns.rcode.NOERROR and m.flags & dns.flags.AD, m.to_text()
        m = unbound.ask("acme.corp.", "DS")
        assert m.answer and m.flags & dns.flags.AD
        # the TLD still holds the DS: turning signing off would break the chain
        with pytest.raises(chain.r53.exceptions.KeySigningKeyInParentDSRecord):
            chain.r53.disable_hosted_zone_dnssec(HostedZoneId=zid)
    finally:
        chain.close()
