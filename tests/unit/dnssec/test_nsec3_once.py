"""Each NSEC3 (and its RRSIG) once per answer (RFC 2181 §5, RFC 5155):
precomputed proofs in a block and the template's proof appended while
answering must not repeat an RR.  Counted on the raw wire (NSCOUNT), since
dnspython merges repeated RRs into one RRset when parsing."""
from __future__ import annotations

import struct

import dns.message
import pytest
from test_signed_answers import KSK, ZONE, ZSK, ask, load

from zonefront.dnssec.signer import ZoneKeys
from zonefront.zonefile import parse_zone_text

# wildcard CNAMEs into a wildcard, chains ending at nonexistent and wildcard names
EXTRA = """
*.w2 CNAME x.wild
alias2 CNAME foo.wild
alias3 CNAME nope
alias4 CNAME a.b.wild
*.w3 TXT "w3"
*.w5 CNAME nope2
"""

QUERIES = [("a.w2.example.com.", "TXT"), ("q.r.w2.example.com.", "TXT"),
           ("a.w2.example.com.", "A"), ("alias2.example.com.", "TXT"),
           ("alias3.example.com.", "A"), ("alias4.example.com.", "TXT"),
           ("foo.wild.example.com.", "TXT"), ("foo.wild.example.com.", "A"),
           ("a.b.w3.example.com.", "TXT"), ("x.y.w3.example.com.", "A"),
           ("nope.example.com.", "A")]


@pytest.fixture(scope="module")
def once_arrays():
    from zonefront.snapshot.compiler import compile_zones

    zs = [parse_zone_text(ZONE + EXTRA, "example.com.")]
    keys = {zs[0].origin: ZoneKeys(zs[0].origin, [KSK], ZSK, denial="nsec3")}
    return compile_zones(zs, signing=keys).arrays()


@pytest.mark.parametrize("qname,rdtype", QUERIES)
def test_no_authority_rr_is_sent_twice(impl, once_arrays, qname, rdtype):
    m, wire = ask(load(impl, once_arrays), qname, rdtype)
    nscount = struct.unpack("!H", wire[8:10])[0]
    distinct = sum(len(rs) for rs in dns.message.from_wire(wire).authority)
    assert nscount == distinct


# A wildcard CNAME into a nonexistent name: the block's closest-encloser proof
# for the target and the template's cover of the qname's next closer name can
# pick the same NSEC3 (with a small chain, about one query in five).  Known
# defect, still open: strict, so the fix turns these into failures to unmark.
DUPLICATED = [("q3.w5.example.com.", "A"), ("q7.w5.example.com.", "A"),
              ("q11.w5.example.com.", "A"), ("q26.w5.example.com.", "A")]


@pytest.mark.xfail(strict=True, reason="wildcard CNAME to a nonexistent name repeats an NSEC3")
@pytest.mark.parametrize("qname,rdtype", DUPLICATED)
def test_wildcard_cname_into_nxdomain_sends_each_nsec3_once(impl, once_arrays, qname, rdtype):
    test_no_authority_rr_is_sent_twice(impl, once_arrays, qname, rdtype)
