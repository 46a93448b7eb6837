"""Each NSEC3 (and its RRSIG) once per answer (RFC 2181 §5, RFC 5155):
precomputed proofs in a block and the template's proof appended while
answering must not repeat an RR.  Counted on the raw wire (NSCOUNT), since
dnspython merges repeated RRs into one RRset when parsing."""
from __future__ import annotations

import struct

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import pytest
from test_chain_denial import check_closest_encloser_proof_among
from test_nsec3 import _covers, _hash
from test_signed_answers import KSK, ZONE, ZSK, ask, dnskeys, load, validated

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
# pick the same NSEC3 (with a small chain, about one query in five; these four
# do, which the test checks first).  Each NSEC3 is written once, and the one
# both use still proves both.
DUPLICATED = [("q3.w5.example.com.", "A"), ("q7.w5.example.com.", "A"),
              ("q11.w5.example.com.", "A"), ("q26.w5.example.com.", "A")]


def nsec3_rrsets(m):
    return [rs for rs in m.authority if rs.rdtype == dns.rdatatype.NSEC3]


@pytest.mark.parametrize("qname,rdtype", DUPLICATED)
def test_wildcard_cname_into_nxdomain_sends_each_nsec3_once(impl, once_arrays, qname, rdtype):
    img = load(impl, once_arrays)
    m, _wire = ask(img, qname, rdtype)
    cover = [rs for rs in nsec3_rrsets(m) if _covers(rs[0], rs.name, _hash(qname))]
    proves_target = {rs.name for rs in nsec3_rrsets(m)
                     if rs.name.labels[0].decode() == _hash("example.com.")
                     or _covers(rs[0], rs.name, _hash("nope2.example.com."))
                     or _covers(rs[0], rs.name, _hash("*.example.com."))}
    assert cover and cover[0].name in proves_target  # the overlap this test is about
    test_no_authority_rr_is_sent_twice(impl, once_arrays, qname, rdtype)
    assert m.rcode() == dns.rcode.NXDOMAIN
    check_closest_encloser_proof_among(m, "nope2.example.com.", "example.com.")
    assert validated(m, m.authority, dnskeys(img)) == len(m.authority) // 2


@pytest.mark.parametrize("first", [0, 20])
def test_wildcard_cname_into_nxdomain_counts_match_records_for_many_names(impl, once_arrays,
                                                                         first):
    """The sweep the pinned names above come from: every qname under the
    wildcard, overlapping or not, keeps the cover and the target's proof,
    and NSCOUNT is the records the client parses."""
    img = load(impl, once_arrays)
    for i in range(first, first + 20):
        qname = f"q{i}.w5.example.com."
        m, wire = ask(img, qname, "A")
        assert struct.unpack("!H", wire[8:10])[0] == sum(len(rs) for rs in m.authority), qname
        assert any(_covers(rs[0], rs.name, _hash(qname)) for rs in nsec3_rrsets(m)), qname
        check_closest_encloser_proof_among(m, "nope2.example.com.", "example.com.")


@pytest.fixture(scope="module")
def compact_arrays():
    from zonefront.snapshot.compiler import compile_zones

    zs = [parse_zone_text(ZONE + EXTRA, "example.com.")]
    keys = {zs[0].origin: ZoneKeys(zs[0].origin, [KSK], ZSK, denial="compact")}
    return compile_zones(zs, signing=keys).arrays()


@pytest.mark.parametrize("first", [0, 20])
def test_compact_wildcard_cname_into_nxdomain_sends_each_record_once(impl, compact_arrays,
                                                                    first):
    """Compact denial (RFC 9824) for the same shape: the CNAME signed for the
    qname while answering, then the target's NXNAME NSEC made ahead; no
    section repeats a record, and the one NSEC is the target's."""
    img = load(impl, compact_arrays)
    for i in range(first, first + 20):
        qname = f"q{i}.w5.example.com."
        m, wire = ask(img, qname, "A")
        ancount, nscount = struct.unpack("!HH", wire[6:10])
        assert ancount == sum(len(rs) for rs in m.answer), qname
        assert nscount == sum(len(rs) for rs in m.authority), qname
        (nsec,) = [rs for rs in m.authority if rs.rdtype == dns.rdatatype.NSEC]
        assert nsec.name == dns.name.from_text("nope2.example.com.")
        assert "NXNAME" in nsec[0].to_text().split()
