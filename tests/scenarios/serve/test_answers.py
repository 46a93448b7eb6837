"""Answers per RFC 1034 §4.3.2, RFC 2308, RFC 4592, RFC 6672 and RFC 8482, checked
exactly (rcode, AA/TC, every RR of every section with its TTL) over UDP and TCP.

The expected RRs are written by hand from tests/scenarios/serve/zones/*.zone and the RFCs; they
are never copied from a server's output."""
from __future__ import annotations

import dns.flags
import dns.name
import dns.rcode
import dns.rdatatype
import pytest

from helpers import dnsquery as dnsutil
from .conftest import TARGET, knot_differs
from helpers.dnsquery import assert_response, query

NOERROR, NXDOMAIN, REFUSED, YXDOMAIN = (dns.rcode.NOERROR, dns.rcode.NXDOMAIN,
                                        dns.rcode.REFUSED, dns.rcode.YXDOMAIN)

# Negative answers carry the SOA with TTL = min(SOA TTL, SOA MINIMUM) (RFC 2308 §3, §5).
SOA_NEG = {
    "example.test.": "example.test. 300 IN SOA ns1.example.test. hostmaster.example.test. "
                     "2024010101 7200 3600 1209600 300",      # min(3600, 300)
    "served.example.test.": "served.example.test. 900 IN SOA ns1.example.test. "
                            "hostmaster.example.test. 7 7200 3600 1209600 900",  # min(1000, 900)
    "other.test.": "other.test. 60 IN SOA ns.other.test. admin.other.test. "
                   "1 7200 3600 1209600 600",                # min(60, 600)
}

# The optional zone NS RRset a server may add to the authority section of a positive
# answer, with the in-zone addresses of those name servers.
APEX_NS = {
    "example.test.": (["example.test. 3600 IN NS ns1.example.test.",
                       "example.test. 3600 IN NS ns2.example.test."],
                      ["ns1.example.test. 3600 IN A 192.0.2.1",
                       "ns1.example.test. 3600 IN AAAA 2001:db8::1",
                       "ns2.example.test. 3600 IN A 192.0.2.2"]),
    "served.example.test.": (["served.example.test. 1000 IN NS ns1.example.test."],
                             ["ns1.example.test. 3600 IN A 192.0.2.1",
                              "ns1.example.test. 3600 IN AAAA 2001:db8::1"]),
    "other.test.": (["other.test. 60 IN NS ns.other.test."],
                    ["ns.other.test. 60 IN A 203.0.113.1"]),
}

WWW_A = ["www.example.test. 300 IN A 192.0.2.10", "www.example.test. 300 IN A 192.0.2.11"]

CHILD_NS = ["child.example.test. 1800 IN NS ns.child.example.test.",
            "child.example.test. 1800 IN NS ns.elsewhere.invalid."]
CHILD_GLUE = ["ns.child.example.test. 1800 IN A 192.0.2.53",
              "ns.child.example.test. 1800 IN AAAA 2001:db8::53"]
SECURE_NS = ["secure.example.test. 1801 IN NS ns.secure.example.test."]
SECURE_GLUE = ["ns.secure.example.test. 1801 IN A 192.0.2.54"]


def positive(zone="example.test.", answer=(), additional=(), apex_ns=True, **kw):
    return dict(rcode=NOERROR, aa=True, answer=list(answer), additional=list(additional),
                allow_apex_ns=APEX_NS[zone] if apex_ns else None, **kw)


def nodata(zone="example.test.", answer=()):
    return dict(rcode=NOERROR, aa=True, answer=list(answer), authority=[SOA_NEG[zone]])


def nxdomain(zone="example.test.", answer=()):
    return dict(rcode=NXDOMAIN, aa=True, answer=list(answer), authority=[SOA_NEG[zone]])


def referral(ns, glue):
    # RFC 1034 §4.3.2 step 3b: no AA, NS of the cut in authority, glue in additional.
    return dict(rcode=NOERROR, aa=False, authority=list(ns), additional=list(glue))


REFUSED_EMPTY = dict(rcode=REFUSED, aa=False)

CASES = {
    # -- exact matches, with additional-section processing for NS/MX/SRV targets
    "a": ("www.example.test.", "A", positive(answer=WWW_A)),
    "aaaa": ("www.example.test.", "AAAA",
             positive(answer=["www.example.test. 600 IN AAAA 2001:db8::10"])),
    "mx+additional": ("example.test.", "MX", positive(
        answer=["example.test. 3600 IN MX 10 mail.example.test.",
                "example.test. 3600 IN MX 20 mail.elsewhere.invalid."],
        additional=["mail.example.test. 3600 IN A 192.0.2.25"])),
    "txt": ("txt.example.test.", "TXT",
            positive(answer=['txt.example.test. 120 IN TXT "hello world" "second; string"'])),
    "apex-txt": ("example.test.", "TXT",
                 positive(answer=['example.test. 3600 IN TXT "v=spf1 -all"'])),
    "srv+additional": ("_sip._tcp.example.test.", "SRV", positive(
        answer=["_sip._tcp.example.test. 900 IN SRV 10 60 5060 sipserver.example.test."],
        additional=["sipserver.example.test. 900 IN A 192.0.2.50"])),
    "caa": ("example.test.", "CAA",
            positive(answer=['example.test. 3600 IN CAA 0 issue "letsencrypt.org"'])),
    "hinfo": ("host.example.test.", "HINFO",
              positive(answer=['host.example.test. 3600 IN HINFO "PDP-11" "UNIX"'])),
    "soa": ("example.test.", "SOA", positive(
        answer=["example.test. 3600 IN SOA ns1.example.test. hostmaster.example.test. "
                "2024010101 7200 3600 1209600 300"])),
    "ns+additional": ("example.test.", "NS", positive(
        answer=APEX_NS["example.test."][0], additional=APEX_NS["example.test."][1],
        apex_ns=False)),
    "ns-host-aaaa": ("ns1.example.test.", "AAAA",
                     positive(answer=["ns1.example.test. 3600 IN AAAA 2001:db8::1"])),
    # -- CNAME (RFC 1034 §3.6.2, §4.3.2 step 3a; RFC 6604 for the rcode of a chain)
    "cname": ("alias.example.test.", "A", positive(
        answer=["alias.example.test. 100 IN CNAME www.example.test."] + WWW_A)),
    "cname-aaaa": ("alias.example.test.", "AAAA", positive(
        answer=["alias.example.test. 100 IN CNAME www.example.test.",
                "www.example.test. 600 IN AAAA 2001:db8::10"])),
    "cname-qtype-cname": ("alias.example.test.", "CNAME", positive(
        answer=["alias.example.test. 100 IN CNAME www.example.test."])),
    "cname-target-nodata": ("alias.example.test.", "MX", nodata(
        answer=["alias.example.test. 100 IN CNAME www.example.test."])),
    "cname-chain": ("chain1.example.test.", "A", positive(answer=[
        "chain1.example.test. 101 IN CNAME chain2.example.test.",
        "chain2.example.test. 102 IN CNAME chain3.example.test.",
        "chain3.example.test. 103 IN CNAME www.example.test."] + WWW_A)),
    "cname-chain-mid": ("chain2.example.test.", "AAAA", positive(answer=[
        "chain2.example.test. 102 IN CNAME chain3.example.test.",
        "chain3.example.test. 103 IN CNAME www.example.test.",
        "www.example.test. 600 IN AAAA 2001:db8::10"])),
    "cname-dangling": ("dangling.example.test.", "A", nxdomain(
        answer=["dangling.example.test. 104 IN CNAME nothere.example.test."])),
    "cname-out-of-zone": ("ext.example.test.", "A", positive(
        answer=["ext.example.test. 107 IN CNAME target.elsewhere.invalid."])),
    # -- wildcards (RFC 4592)
    "wild": ("foo.wild.example.test.", "A",
             positive(answer=["foo.wild.example.test. 200 IN A 192.0.2.100"])),
    "wild-deep": ("a.b.c.wild.example.test.", "A",
                  positive(answer=["a.b.c.wild.example.test. 200 IN A 192.0.2.100"])),
    "wild-nodata": ("foo.wild.example.test.", "AAAA", nodata()),
    "wild-literal": ("*.wild.example.test.", "A",
                     positive(answer=["*.wild.example.test. 200 IN A 192.0.2.100"])),
    "wild-literal-nodata": ("*.wild.example.test.", "TXT", nodata()),
    "wild-existing-name": ("sub.wild.example.test.", "A",
                           positive(answer=["sub.wild.example.test. 201 IN A 192.0.2.101"])),
    "wild-existing-name-nodata": ("sub.wild.example.test.", "AAAA", nodata()),
    "wild-below-existing-name": ("x.sub.wild.example.test.", "A", nxdomain()),   # §2.2.1
    "wild-not-at-ent": ("ent.wild.example.test.", "A", nodata()),
    "wild-below-ent": ("x.ent.wild.example.test.", "A", nxdomain()),
    "wild-parent-is-ent": ("wild.example.test.", "A", nodata()),
    "wild-cname": ("foo.wcname.example.test.", "A", positive(
        answer=["foo.wcname.example.test. 203 IN CNAME www.example.test."] + WWW_A)),
    "wild-cname-qtype-cname": ("foo.wcname.example.test.", "CNAME", positive(
        answer=["foo.wcname.example.test. 203 IN CNAME www.example.test."])),
    # -- empty non-terminals: NODATA, not NXDOMAIN (RFC 8020 context, RFC 4592 §2.2.2)
    "ent": ("c.ent.example.test.", "A", nodata()),
    "ent-deeper": ("b.c.ent.example.test.", "TXT", nodata()),
    "ent-top": ("ent.example.test.", "AAAA", nodata()),
    "ent-leaf": ("a.b.c.ent.example.test.", "A",
                 positive(answer=["a.b.c.ent.example.test. 204 IN A 192.0.2.104"])),
    "ent-nx-below": ("x.c.ent.example.test.", "A", nxdomain()),
    # -- DNAME (RFC 6672 §2.2, §3.2): DNAME + synthesised CNAME (TTL of the DNAME)
    "dname": ("host.dname.example.test.", "A", positive(answer=[
        "dname.example.test. 500 IN DNAME dtarget.example.test.",
        "host.dname.example.test. 500 IN CNAME host.dtarget.example.test.",
        "host.dtarget.example.test. 501 IN A 192.0.2.150"])),
    "dname-deep-nx": ("a.b.dname.example.test.", "A", nxdomain(answer=[
        "dname.example.test. 500 IN DNAME dtarget.example.test.",
        "a.b.dname.example.test. 500 IN CNAME a.b.dtarget.example.test."])),
    "dname-qtype-dname": ("dname.example.test.", "DNAME", positive(
        answer=["dname.example.test. 500 IN DNAME dtarget.example.test."])),
    "dname-owner-nodata": ("dname.example.test.", "A", nodata()),
    "dname-target-ent": ("dtarget.example.test.", "A", nodata()),
    # -- delegations: referral at and below the cut, for any qtype (RFC 1034 §4.3.2 3b)
    "referral-cut": ("child.example.test.", "A", referral(CHILD_NS, CHILD_GLUE)),
    "referral-cut-ns": ("child.example.test.", "NS", referral(CHILD_NS, CHILD_GLUE)),
    "referral-cut-soa": ("child.example.test.", "SOA", referral(CHILD_NS, CHILD_GLUE)),
    "referral-below": ("www.child.example.test.", "A", referral(CHILD_NS, CHILD_GLUE)),
    "referral-deep": ("a.b.c.child.example.test.", "MX", referral(CHILD_NS, CHILD_GLUE)),
    "referral-glue-name": ("ns.child.example.test.", "A", referral(CHILD_NS, CHILD_GLUE)),
    "referral-ds-below-cut": ("x.child.example.test.", "DS", referral(CHILD_NS, CHILD_GLUE)),
    "referral-other-cut": ("x.secure.example.test.", "A", referral(SECURE_NS, SECURE_GLUE)),
    # DS belongs to the parent side of the cut (RFC 4035 §3.1.4.1, RFC 4034 §5)
    "ds-at-cut": ("secure.example.test.", "DS", positive(answer=[
        "secure.example.test. 1801 IN DS 12345 13 2 "
        "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"])),
    "ds-at-cut-absent": ("child.example.test.", "DS", nodata()),
    # -- NXDOMAIN / NODATA (RFC 2308)
    "nxdomain": ("nx.example.test.", "A", nxdomain()),
    "nxdomain-deep": ("a.b.nx.example.test.", "TXT", nxdomain()),
    "nodata": ("www.example.test.", "MX", nodata()),
    "nodata-apex": ("example.test.", "AAAA", nodata()),
    "other-positive": ("www.other.test.", "A",
                       positive("other.test.", answer=["www.other.test. 60 IN A 203.0.113.80"])),
    "other-nodata-ttl": ("www.other.test.", "AAAA", nodata("other.test.")),
    "other-nxdomain-ttl": ("nx.other.test.", "A", nxdomain("other.test.")),
    # -- parent and child zone both served: the child is authoritative below its apex
    "child-zone-answer": ("www.served.example.test.", "A", positive(
        "served.example.test.", answer=["www.served.example.test. 1000 IN A 198.51.100.7"])),
    "child-zone-soa": ("served.example.test.", "SOA", positive(
        "served.example.test.", answer=["served.example.test. 1000 IN SOA ns1.example.test. "
                                        "hostmaster.example.test. 7 7200 3600 1209600 900"])),
    "child-zone-ns": ("served.example.test.", "NS", positive(
        "served.example.test.", answer=APEX_NS["served.example.test."][0], apex_ns=False,
        additional_optional=APEX_NS["served.example.test."][1])),
    "child-zone-nxdomain": ("nx.served.example.test.", "A", nxdomain("served.example.test.")),
    "child-zone-ds-from-parent": ("served.example.test.", "DS", nodata("example.test.")),
    # -- not ours: REFUSED, no AA, nothing else (RFC 1035 §4.1.1)
    "refused": ("www.nowhere.invalid.", "A", REFUSED_EMPTY),
    "refused-parent-of-zone": ("test.", "SOA", REFUSED_EMPTY),
    "refused-root": (".", "NS", REFUSED_EMPTY),
    "refused-suffix-lookalike": ("www.notexample.test.", "A", REFUSED_EMPTY),
}


# Known zonefront bugs, reported; strict so that a fix makes the mark go.
KNOWN_BUGS: dict[str, str] = {}


def case_params():
    return [pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[c])
                         if c in KNOWN_BUGS and TARGET == "zonefront" else ())
            for c in CASES]


@pytest.fixture(params=["udp", "tcp"])
def transport(request):
    return request.param


def exchange(server, q, transport):
    fn = dnsutil.udp if transport == "udp" else dnsutil.tcp
    return fn(server.addr, q)


@pytest.mark.parametrize("case", case_params())
def test_answer(server, transport, case):
    qname, qtype, want = CASES[case]
    resp = exchange(server, query(qname, qtype), transport)
    assert resp.question[0].name == dns.name.from_text(qname)
    assert resp.question[0].rdtype == dns.rdatatype.from_text(qtype)
    assert resp.opt is None, "OPT in a response to a query without EDNS (RFC 6891 §7)"
    assert_response(resp, **want)


# A qname whose DNAME substitution overflows 255 octets (RFC 6672 §2.2): the query is
# 105 octets, the owner `longd.example.test.` 20, the target 183: 105 - 20 + 183 = 268.
LONG_QNAME = "q" * 63 + "." + "r" * 20 + ".longd.example.test."
LONG_TARGET = "x" * 63 + "." + "y" * 63 + "." + "z" * 40 + ".example.test."


def test_dname_overflow_is_yxdomain(server, transport):
    assert len(dns.name.from_text(LONG_QNAME).to_wire()) == 105
    resp = exchange(server, query(LONG_QNAME, "A"), transport)
    with knot_differs("Knot 3.2 answers NXDOMAIN + SOA instead of YXDOMAIN"):
        assert_response(resp, rcode=YXDOMAIN, aa=True,
                        answer=[f"longd.example.test. 502 IN DNAME {LONG_TARGET}"])


def test_dname_just_fits(server, transport):
    # Prefix of 72 octets (41 + 31) + 183-octet target = exactly 255: no YXDOMAIN; the
    # synthesised target does not exist, so the chain ends in NXDOMAIN (RFC 6604).
    qname = "a" * 40 + "." + "b" * 30 + ".longd.example.test."
    target = "a" * 40 + "." + "b" * 30 + "." + LONG_TARGET
    assert len(dns.name.from_text(target).to_wire()) == 255
    # about 700 octets: EDNS so that UDP does not truncate it
    resp = exchange(server, query(qname, "A", use_edns=0, payload=4096), transport)
    assert_response(resp, rcode=NXDOMAIN, aa=True, answer=[
        f"longd.example.test. 502 IN DNAME {LONG_TARGET}",
        f"{qname} 502 IN CNAME {target}"], authority=[SOA_NEG["example.test."]])


def test_cname_loop_is_bounded(server, transport):
    """loop1 -> loop2 -> loop1: the server must answer (promptly) without repeating the
    chain; NOERROR with both CNAMEs (what the RFC 1034 algorithm yields once loops are
    cut) or SERVFAIL are the only sane results."""
    resp = exchange(server, query("loop1.example.test.", "A"), transport)
    assert resp.rcode() in (NOERROR, dns.rcode.SERVFAIL), resp
    if resp.rcode() == NOERROR:
        assert_response(resp, rcode=NOERROR, aa=True, answer=[
            "loop1.example.test. 105 IN CNAME loop2.example.test.",
            "loop2.example.test. 106 IN CNAME loop1.example.test."],
            allow_apex_ns=APEX_NS["example.test."])
    else:
        assert dnsutil.header_counts(resp.wire)[1] <= 2


# -- 0x20: the question is echoed byte for byte (RFC 1035 §4.1.1; draft-vixie-dnsext-dns0x20)

@pytest.mark.parametrize("qname,qtype,rcode", [
    ("WwW.ExAmPlE.TeSt.", "A", NOERROR),
    ("AlIaS.eXaMpLe.TEST.", "A", NOERROR),
    ("FoO.WiLd.ExAmPlE.tEsT.", "A", NOERROR),
    ("nX.ExAmPlE.tEsT.", "A", NXDOMAIN),
    ("wWw.ChIlD.eXaMpLe.TeSt.", "A", NOERROR),
    ("HoSt.DnAmE.eXaMpLe.TeSt.", "A", NOERROR),
    ("NOWHERE.INVALID.", "A", REFUSED),
])
def test_0x20_case_echoed(server, transport, qname, qtype, rcode):
    q = query(qname, qtype)
    resp = exchange(server, q, transport)
    assert resp.rcode() == rcode
    sent = q.to_wire()
    assert dnsutil.qname_wire_of_question(resp.wire) == dnsutil.qname_wire_of_question(sent), (
        "question name not echoed with the client's case")
    assert resp.wire[12 + len(dnsutil.qname_wire_of_question(sent)):][:4] == \
        sent[12 + len(dnsutil.qname_wire_of_question(sent)):][:4]
    if resp.answer:
        # the qname owns an answer RRset (the first, or the CNAME after a DNAME);
        # dnspython names compare case-insensitively (RFC 4343)
        assert dns.name.from_text(qname) in [r.name for r in resp.answer]


def test_0x20_answer_matches_reference(server, transport):
    lower = exchange(server, query("www.example.test.", "A"), transport)
    mixed = exchange(server, query("WWW.EXAMPLE.TEST.", "A"), transport)
    assert sorted(dnsutil.rrs_of(mixed.answer)) == sorted(dnsutil.rrs_of(lower.answer))
    assert_response(mixed, **CASES["a"][2])


# -- qtype ANY (RFC 8482): one RRset (or a synthesised HINFO), never all of them

ALL_RRSETS = {
    "www.example.test.": {"A": WWW_A, "AAAA": ["www.example.test. 600 IN AAAA 2001:db8::10"]},
    "example.test.": {
        "SOA": CASES["soa"][2]["answer"], "NS": APEX_NS["example.test."][0],
        "MX": CASES["mx+additional"][2]["answer"], "CAA": CASES["caa"][2]["answer"],
        "TXT": CASES["apex-txt"][2]["answer"]},
}


@pytest.mark.parametrize("qname", list(ALL_RRSETS))
def test_any_minimal(server, transport, qname):
    resp = exchange(server, query(qname, "ANY"), transport)
    assert resp.rcode() == NOERROR and resp.flags & dns.flags.AA, resp
    assert len(resp.answer) == 1, f"ANY must be answered with one RRset (RFC 8482 §4.1):\n{resp}"
    rrset = resp.answer[0]
    assert rrset.name == dns.name.from_text(qname)
    if rrset.rdtype == dns.rdatatype.HINFO and "HINFO" not in ALL_RRSETS[qname]:
        assert len(rrset) == 1  # RFC 8482 §4.2 synthesised HINFO
        want = [(rrset.name.canonicalize(), rrset.ttl, rrset.rdclass, rrset.rdtype,
                 rrset[0].to_digestable())]
    else:
        rdtype = dns.rdatatype.to_text(rrset.rdtype)
        assert rdtype in ALL_RRSETS[qname], f"{rdtype} is not an RRset of {qname}"
        want = [dnsutil.rr(x) for x in ALL_RRSETS[qname][rdtype]]
    assert sorted(dnsutil.rrs_of(resp.answer)) == sorted(want)
    assert dnsutil.header_counts(resp.wire)[1] == len(want)


@pytest.mark.parametrize("qname,want", [
    ("nx.example.test.", nxdomain()),
    ("c.ent.example.test.", nodata()),
    ("www.child.example.test.", referral(CHILD_NS, CHILD_GLUE)),
    ("www.nowhere.invalid.", REFUSED_EMPTY),
])
def test_any_negative(server, transport, qname, want):
    assert_response(exchange(server, query(qname, "ANY"), transport), **want)
