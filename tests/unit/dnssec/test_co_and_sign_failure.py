"""Two RFC answers of compact denial (issue 14), both engines: a DO query
that also sets CO (RFC 9824 "Compact Answers OK", EDNS flag 0x4000) gets
NXDOMAIN for a nonexistent name, with the same NXNAME NSEC, while DO alone
keeps NOERROR; and an online signature that cannot be made gives SERVFAIL
with no records (RFC 4035 §3.1), over UDP and TCP sizes alike, never TC or
an unsigned answer."""
from __future__ import annotations

import subprocess
import sys

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
from test_signed_answers import KSK, ZSK, dnskeys, load, same_but_signatures, validated, zones

from helpers.procs import child_env, stop, wait_ready

from zonefront.dnssec import online
from zonefront.dnssec.signer import ZoneKeys


def compiled(bad_key: bool = False):
    """The test zone signed; with `bad_key` its online templates carry a
    public point off the curve, so the signer cannot load the key."""
    from zonefront.snapshot.compiler import compile_zones

    zs = zones()
    keys = {zs[0].origin: ZoneKeys(zs[0].origin, [KSK], ZSK)}
    if not bad_key:
        return compile_zones(zs, signing=keys)
    good = online.zsk_raw
    online.zsk_raw = lambda zk: (good(zk)[0], b"\x04" + bytes(64))
    try:
        return compile_zones(zs, signing=keys)
    finally:
        online.zsk_raw = good


@pytest.fixture(scope="module")
def arrays():
    return compiled().arrays()


@pytest.fixture(scope="module")
def bad_arrays():
    return compiled(bad_key=True).arrays()


def ask(image, name, rdtype, co=False, do=True, tcp=False):
    q = dns.message.make_query(name, rdtype, use_edns=0, want_dnssec=do, payload=4096)
    if co:
        q.ednsflags |= dns.flags.CO
    q.id = 4660
    wire = image.answer(q.to_wire(), tcp, "192.0.2.200", 0)
    return dns.message.from_wire(wire), wire


@pytest.mark.parametrize("name", ["nx.example.com.", "a.b.nx.example.com."])
def test_co_makes_compact_denial_nxdomain(impl, arrays, name):
    image = load(impl, arrays)
    keys = dnskeys(image)
    plain, _ = ask(image, name, "A")
    assert plain.rcode() == dns.rcode.NOERROR
    m, _ = ask(image, name, "A", co=True)
    assert m.rcode() == dns.rcode.NXDOMAIN and m.flags & dns.flags.AA and not m.answer
    nsec = [r for r in m.authority if r.rdtype == dns.rdatatype.NSEC][0]
    assert nsec[0].to_text().split()[1:] == ["RRSIG", "NSEC", "NXNAME"]
    assert validated(m, m.authority, keys) == 2  # SOA, NSEC: the same proof


@pytest.mark.parametrize("name,rdtype", [
    ("www.example.com.", "A"), ("www.example.com.", "TXT"), ("x.wild.example.com.", "TXT"),
    ("x.wild.example.com.", "A"),
])
def test_co_changes_nothing_for_names_that_exist(impl, arrays, name, rdtype):
    image = load(impl, arrays)
    _, a = ask(image, name, rdtype)
    _, b = ask(image, name, rdtype, co=True)
    assert same_but_signatures(a, b)


def test_co_without_do_is_the_plain_answer(impl, arrays):
    image = load(impl, arrays)
    m, _ = ask(image, "nx.example.com.", "A", co=True, do=False)
    assert m.rcode() == dns.rcode.NXDOMAIN
    assert not any(r.rdtype in (dns.rdatatype.NSEC, dns.rdatatype.RRSIG) for r in m.authority)


@pytest.mark.parametrize("co", [False, True])
def test_engines_agree_on_co(arrays, co):
    for name in ("nx.example.com.", "www.example.com.", "q.wild.example.com."):
        _, a = ask(load("ref", arrays), name, "A", co=co)
        _, b = ask(load("c", arrays), name, "A", co=co)
        assert same_but_signatures(a, b), name


@pytest.mark.parametrize("tcp", [False, True])
@pytest.mark.parametrize("name,rdtype", [
    ("nx.example.com.", "A"),           # compact NSEC signed while answering
    ("x.wild.example.com.", "TXT"),     # wildcard RRset signed for the qname
    ("x.wild.example.com.", "A"),       # wildcard NODATA
])
def test_unsignable_answer_is_servfail(impl, bad_arrays, name, rdtype, tcp):
    image = load(impl, bad_arrays)
    m, wire = ask(image, name, rdtype, tcp=tcp)
    assert m.rcode() == dns.rcode.SERVFAIL, m.to_text()
    assert not m.flags & (dns.flags.TC | dns.flags.AA)
    assert not m.answer and not m.authority and not m.additional
    other, _ = ask(load("ref" if impl != "ref" else "c", bad_arrays), name, rdtype,
                   tcp=tcp)
    assert other.to_wire() == wire


def test_unsignable_zone_still_answers_what_was_signed_ahead(impl, bad_arrays):
    image = load(impl, bad_arrays)
    m, _ = ask(image, "www.example.com.", "A")
    assert m.rcode() == dns.rcode.NOERROR and m.answer
    m, _ = ask(image, "nx.example.com.", "A", do=False)
    assert m.rcode() == dns.rcode.NXDOMAIN


def test_unsignable_answer_is_servfail_on_real_sockets(tmp_path, free_port):
    """`zonefront serve --snapshot` of such a zone: SERVFAIL over UDP and
    TCP for a DO query whose answer needs an online signature."""
    from zonefront.snapshot import format as snapformat

    snap = tmp_path / "bad.snap"
    snapformat.write(str(snap), compiled(bad_key=True))
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "zonefront.cli", "serve", "--no-api", "--workers", "1",
         "--snapshot", str(snap), "--dns-listen", f"127.0.0.1:{port}"],
        stderr=subprocess.PIPE, text=True, env=child_env())
    try:
        wait_ready(proc)
        for name in ("nx.example.com.", "y.wild.example.com."):
            q = dns.message.make_query(name, "TXT", want_dnssec=True)
            for m in (dns.query.udp(q, "127.0.0.1", port=port, timeout=3),
                      dns.query.tcp(q, "127.0.0.1", port=port, timeout=3)):
                assert m.rcode() == dns.rcode.SERVFAIL, m.to_text()
                assert not m.flags & dns.flags.TC and not m.answer and not m.authority
        m = dns.query.udp(dns.message.make_query("www.example.com.", "A", want_dnssec=True),
                          "127.0.0.1", port=port, timeout=3)
        assert m.rcode() == dns.rcode.NOERROR and m.answer
    finally:
        stop(proc)


WILD_ZONE = """$ORIGIN example.com.
$TTL 300
@ 3600 IN SOA ns1 hostmaster 2024010101 3600 600 86400 60
@ NS ns1
ns1 A 192.0.2.53
mail A 192.0.2.25
mail AAAA 2001:db8::25
srvhost A 192.0.2.26
www A 192.0.2.1
*.mx MX 10 mail
*.srv SRV 0 0 443 srvhost
*.cn CNAME www
"""


@pytest.fixture(scope="module")
def wild_arrays():
    from zonefront.snapshot.compiler import compile_zones
    from zonefront.zonefile import parse_zone_text

    zs = [parse_zone_text(WILD_ZONE, "example.com.")]
    return compile_zones(zs, signing={zs[0].origin: ZoneKeys(zs[0].origin, [KSK], ZSK)}).arrays()


@pytest.mark.parametrize("name,rdtype,sections", [
    ("a.mx.example.com.", "MX", (1, 0, 2)),     # MX, its target's A and AAAA in additional
    ("b.c.srv.example.com.", "SRV", (1, 0, 1)),
    ("x.cn.example.com.", "A", (2, 0, 0)),      # wildcard CNAME into the zone
])
def test_wildcard_answers_with_other_sections_validate(impl, wild_arrays, name, rdtype,
                                                       sections):
    image = load(impl, wild_arrays)
    keys = dnskeys(image)
    m, wire = ask(image, name, rdtype)
    assert m.rcode() == dns.rcode.NOERROR, m.to_text()
    # answer and authority RRsets all carry valid RRSIGs; additional RRs
    # travel unsigned, as in every signed answer (signer.py, RFC 4035 §3.1.1)
    assert validated(m, m.answer, keys) == sections[0], m.to_text()
    assert validated(m, m.authority, keys) == sections[1], m.to_text()
    assert len(m.additional) == sections[2], m.to_text()  # (dnspython keeps OPT apart)
    qname = dns.name.from_text(name)
    sigs = [r for r in m.answer if r.rdtype == dns.rdatatype.RRSIG and r.name == qname]
    # signed as the qname's own RRset: no expansion a validator must see disproved
    assert sigs and all(s.labels == len(qname) - 1 for s in sigs[0]), m.to_text()
    other, owire = ask(load("ref" if impl != "ref" else "c", wild_arrays), name, rdtype)
    assert same_but_signatures(wire, owire)
