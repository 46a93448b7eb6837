"""Signed answers from compiled images (issue 14), both implementations:
DO queries copy a DO twin whose RRsets carry RRSIGs that dnspython's
validator accepts against the zone's DNSKEY RRset; NODATA carries the
RFC 9824 compact NSEC; queries without DO get the very bytes an unsigned
compile gives."""
from __future__ import annotations

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.rdatatype
import dns.rrset
import pytest

from zonefront.dnssec.keystore import SigningKey
from zonefront.dnssec.signer import ZoneKeys, label_count
from zonefront.zonefile import parse_zone_text

ZONE = """$ORIGIN example.com.
$TTL 300
@ 3600 IN SOA ns1 hostmaster 2024010101 3600 600 86400 60
@ NS ns1
@ MX 10 mail
ns1 A 192.0.2.53
mail A 192.0.2.25
www A 192.0.2.1
www AAAA 2001:db8::1
WWW2 A 192.0.2.2
alias CNAME www
*.wild TXT "wild"
sub NS ns.sub
ns.sub A 192.0.2.99
dsdeleg NS ns1
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
dsdeleg DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
"""
ORIGIN = dns.name.from_text("example.com.")
KSK, ZSK = SigningKey.generate(), SigningKey.generate()


def zones():
    return [parse_zone_text(ZONE, "example.com.")]


def load(impl, arrays):
    if impl == "ref":
        from zonefront.ref.engine import RefImage
        return RefImage(arrays)
    from zonefront.core._engine import Image
    return Image(arrays)


@pytest.fixture(scope="module")
def arrays():
    from zonefront.snapshot.compiler import compile_zones

    zs = zones()
    keys = {zs[0].origin: ZoneKeys(zs[0].origin, [KSK], ZSK)}
    return compile_zones(zs, signing=keys).arrays()


@pytest.fixture
def image(impl, arrays):
    return load(impl, arrays)


def ask(image, name, rdtype, do=True):
    q = dns.message.make_query(name, rdtype, use_edns=0, want_dnssec=do, payload=4096)
    q.id = 4660  # the same query bytes for every image compared
    wire = image.answer(q.to_wire(), False, "192.0.2.200", 0)
    return dns.message.from_wire(wire), wire


def dnskeys(image):
    m, _ = ask(image, "example.com.", "DNSKEY")
    keys = m.find_rrset(m.answer, ORIGIN, dns.rdataclass.IN, dns.rdatatype.DNSKEY)
    sig = m.find_rrset(m.answer, ORIGIN, dns.rdataclass.IN, dns.rdatatype.RRSIG,
                       dns.rdatatype.DNSKEY)
    dns.dnssec.validate(keys, sig, {ORIGIN: keys})  # signed by the KSK
    assert {k.flags for k in keys} == {256, 257}
    return {ORIGIN: keys}


def validated(m, section, keys) -> int:
    """Validate every RRset in `section` with its RRSIG; the count checked."""
    n = 0
    for rrset in section:
        if rrset.rdtype == dns.rdatatype.RRSIG:
            continue
        sig = m.find_rrset(section, rrset.name, rrset.rdclass, dns.rdatatype.RRSIG,
                           rrset.rdtype)
        dns.dnssec.validate(rrset, sig, keys)
        n += 1
    return n


def test_dnskey_rrset_is_signed_by_the_ksk(image):
    keys = dnskeys(image)
    tags = {dns.dnssec.key_id(k) for k in keys[ORIGIN]}
    m, _ = ask(image, "example.com.", "DNSKEY")
    sig = m.find_rrset(m.answer, ORIGIN, dns.rdataclass.IN, dns.rdatatype.RRSIG,
                       dns.rdatatype.DNSKEY)
    ksk_tag = [dns.dnssec.key_id(k) for k in keys[ORIGIN] if k.flags == 257][0]
    assert [s.key_tag for s in sig] == [ksk_tag] and ksk_tag in tags


@pytest.mark.parametrize("name,rdtype", [("www.example.com.", "A"), ("www.example.com.", "AAAA"),
                                         ("example.com.", "MX"), ("example.com.", "SOA"),
                                         ("alias.example.com.", "A"),
                                         ("wWw2.ExAmPlE.com.", "A")])
def test_positive_answers_validate(image, name, rdtype):
    keys = dnskeys(image)
    m, _ = ask(image, name, rdtype)
    assert m.rcode() == 0 and m.answer
    assert validated(m, m.answer, keys) == len([r for r in m.answer
                                                if r.rdtype != dns.rdatatype.RRSIG])


def test_nodata_carries_a_signed_compact_nsec(image):
    keys = dnskeys(image)
    m, _ = ask(image, "www.example.com.", "TXT")
    assert m.rcode() == 0 and not m.answer
    assert validated(m, m.authority, keys) == 2  # SOA and NSEC
    nsec = m.find_rrset(m.authority, dns.name.from_text("www.example.com."), dns.rdataclass.IN,
                        dns.rdatatype.NSEC)
    assert nsec[0].next == dns.name.from_text("\\000.www.example.com.")
    types = set(nsec[0].to_text().split()[1:])
    assert types == {"A", "AAAA", "RRSIG", "NSEC"}


def test_unsigned_delegation_proves_no_ds(image):
    keys = dnskeys(image)
    m, _ = ask(image, "host.sub.example.com.", "A")
    assert not m.flags & dns.flags.AA and not m.answer
    nsec = m.find_rrset(m.authority, dns.name.from_text("sub.example.com."), dns.rdataclass.IN,
                        dns.rdatatype.NSEC)
    assert "DS" not in nsec[0].to_text() and "NS" in nsec[0].to_text().split()
    sig = m.find_rrset(m.authority, nsec.name, nsec.rdclass, dns.rdatatype.RRSIG,
                       dns.rdatatype.NSEC)
    dns.dnssec.validate(nsec, sig, keys)
    # the NS of a referral is the child's and stays unsigned (RFC 4035 §2.2)
    assert not [r for r in m.authority if r.rdtype == dns.rdatatype.RRSIG
                and r.covers == dns.rdatatype.NS]


def test_secure_delegation_has_signed_ds(image):
    keys = dnskeys(image)
    m, _ = ask(image, "dsdeleg.example.com.", "DS")
    assert validated(m, m.answer, keys) == 1


@pytest.mark.parametrize("qname", ["dsdeleg.example.com.", "host.dsdeleg.example.com.",
                                   "a.b.DsDeleg.example.com."])
def test_secure_referral_with_do_carries_the_signed_ds(image, qname):
    """RFC 4035 §3.1.4.1: a referral to a delegation that has a DS carries,
    with DO, the NS RRset and the DS RRset with its RRSIG (no NSEC: the DS
    is the proof), so a validator following it needs no DS query of its own."""
    keys = dnskeys(image)
    m, _ = ask(image, qname, "A")
    assert m.rcode() == 0 and not m.answer and not m.flags & dns.flags.AA
    cut = dns.name.from_text("dsdeleg.example.com.")
    assert [(rs.name, rs.rdtype, rs.covers) for rs in m.authority] == [
        (cut, dns.rdatatype.NS, dns.rdatatype.NONE), (cut, dns.rdatatype.DS, dns.rdatatype.NONE),
        (cut, dns.rdatatype.RRSIG, dns.rdatatype.DS)]
    ds = m.find_rrset(m.authority, cut, dns.rdataclass.IN, dns.rdatatype.DS)
    assert [(rd.key_tag, rd.algorithm, rd.digest_type) for rd in ds] == [(12345, 13, 2)]
    sig = m.find_rrset(m.authority, cut, dns.rdataclass.IN, dns.rdatatype.RRSIG,
                       dns.rdatatype.DS)
    dns.dnssec.validate(ds, sig, keys)
    assert sig[0].signer == ORIGIN and sig[0].labels == 3


@pytest.mark.parametrize("qname", ["dsdeleg.example.com.", "host.dsdeleg.example.com."])
def test_secure_referral_without_do_has_no_ds(image, qname):
    """RFC 4035 §3.1.4.1 asks for the DS only with DO: without it the
    referral is the NS alone, as an unsigned compile gives."""
    m, _ = ask(image, qname, "A", do=False)
    assert not m.flags & dns.flags.AA and not m.answer
    assert [rs.rdtype for rs in m.authority] == [dns.rdatatype.NS]


def test_secure_referral_that_does_not_fit_sets_tc(impl):
    """RFC 4035 §3.1.1: the DS RRset and its RRSIG fit or the referral is
    truncated (TC, no records), never sent without them; at the same sizes
    the referral without DO is the NS alone and always fits.  Eight
    SHA-384 DS records make the signed referral pass 512 octets."""
    from zonefront.snapshot.compiler import compile_zones

    text = "\n".join(ZONE.splitlines()[:4] + [
        f"big NS ns1\nbig DS {1000 + i} 13 4 {bytes([i]) .hex() * 48}" for i in range(8)])
    zone = parse_zone_text(text + "\n", "example.com.")
    img = load(impl, compile_zones([zone], signing={zone.origin: ZoneKeys(zone.origin, [KSK],
                                                                          ZSK)}).arrays())
    seen = set()
    for payload in range(512, 1232, 16):
        for do in (True, False):
            q = dns.message.make_query("host.big.example.com.", "A", use_edns=0,
                                       want_dnssec=do, payload=payload)
            m = dns.message.from_wire(img.answer(q.to_wire(), False, None, 0))
            types = [rs.rdtype for rs in m.authority]
            if m.flags & dns.flags.TC:
                assert do and not m.authority
                seen.add("tc")
            elif do:
                assert types == [dns.rdatatype.NS, dns.rdatatype.DS, dns.rdatatype.RRSIG]
                assert len(m.find_rrset(m.authority, dns.name.from_text("big.example.com."),
                                        dns.rdataclass.IN, dns.rdatatype.DS)) == 8
                seen.add("fits")
            else:
                assert types == [dns.rdatatype.NS]
    assert seen == {"tc", "fits"}


def test_wildcard_answer_is_signed_as_the_qname(image):
    """Signed while answering (dnssec/online.py): the labels field is the
    qname's, so no proof that the qname is absent is needed."""
    keys = dnskeys(image)
    m, _ = ask(image, "a.b.wild.example.com.", "TXT")
    sig = [r for r in m.answer if r.rdtype == dns.rdatatype.RRSIG]
    assert sig and sig[0][0].labels == label_count(b"\x01a\x01b\x04wild\x07example\x03com\x00") == 5
    rrset = [r for r in m.answer if r.rdtype == dns.rdatatype.TXT][0]
    dns.dnssec.validate(rrset, sig[0], keys)


@pytest.mark.parametrize("name,rdtype", [("www.example.com.", "A"), ("www.example.com.", "TXT"),
                                         ("nx.example.com.", "A"), ("x.sub.example.com.", "A"),
                                         ("sub.example.com.", "DS"),
                                         ("x.dsdeleg.example.com.", "A"),
                                         ("example.com.", "ANY"), ("a.wild.example.com.", "TXT")])
def test_without_do_the_bytes_are_the_unsigned_ones(impl, arrays, name, rdtype):
    from zonefront.snapshot.compiler import compile_zones

    plain = load(impl, compile_zones(zones()).arrays())
    signed = load(impl, arrays)
    assert ask(signed, name, rdtype, do=False)[1] == ask(plain, name, rdtype, do=False)[1]


def test_ref_and_compiled_give_the_same_signed_bytes():
    pytest.importorskip("zonefront.core._engine")
    from zonefront.core._engine import Image

    from zonefront.ref.engine import RefImage
    from zonefront.snapshot.compiler import compile_zones

    zone = parse_zone_text(ZONE, "example.com.")
    keys = {zone.origin: ZoneKeys(zone.origin, [SigningKey.generate()], SigningKey.generate())}
    arrays = compile_zones([zone], signing=keys).arrays()
    ref, comp = RefImage(arrays), Image(arrays)
    for name in ("www.example.com.", "example.com.", "alias.example.com.", "x.sub.example.com.",
                 "nx.example.com.", "a.wild.example.com.", "dsdeleg.example.com.",
                 "x.dsdeleg.example.com."):
        for rdtype in ("A", "AAAA", "TXT", "DS", "DNSKEY", "ANY", "MX", "NS"):
            for payload in (512, 1232, 4096):
                q = dns.message.make_query(name, rdtype, use_edns=0, want_dnssec=True,
                                           payload=payload)
                q.id = 7
                wire = q.to_wire()
                assert same_but_signatures(ref.answer(wire, False, None, 0),
                                           comp.answer(wire, False, None, 0)), \
                    (name, rdtype, payload)


def same_but_signatures(a: bytes, b: bytes) -> bool:
    """Equal responses, except the signatures of RRSIGs made while answering
    (ECDSA is randomized): the same length, and the same bytes once every
    RRSIG's signature field is zeroed."""
    return len(a) == len(b) and masked(a) == masked(b)


def masked(wire: bytes) -> bytes:
    out = bytearray(wire)
    m = dns.message.from_wire(wire)
    for section in (m.answer, m.authority):
        for rrset in section:
            if rrset.rdtype == dns.rdatatype.RRSIG:
                for rd in rrset:
                    at = out.find(rd.signature)
                    assert at > 0
                    out[at:at + len(rd.signature)] = bytes(len(rd.signature))
    return bytes(out)


def test_signed_answer_that_does_not_fit_sets_tc(image):
    """RFC 4035 §3.1.1: an answer whose RRSIGs do not fit is truncated, not
    sent without them; the unsigned answer to the same size still fits."""
    for do, truncated in ((False, False), (True, True)):
        q = dns.message.make_query("big.example.com.", "TXT", use_edns=0, want_dnssec=do,
                                   payload=512)
        m = dns.message.from_wire(image.answer(q.to_wire(), False, None, 0))
        assert bool(m.flags & dns.flags.TC) == truncated
        assert bool(m.answer) != truncated


def test_do_and_cd_are_echoed_and_ad_is_never_set(image):
    """RFC 4035 §3.1.6 and §3.2: an authoritative server copies CD, echoes
    DO in its OPT record and leaves AD to resolvers."""
    for flags in (0, dns.flags.CD):
        q = dns.message.make_query("www.example.com.", "A", want_dnssec=True, payload=1232)
        q.flags |= flags
        m = dns.message.from_wire(image.answer(q.to_wire(), False, None, 0))
        assert m.ednsflags & dns.flags.DO
        assert bool(m.flags & dns.flags.CD) == bool(flags)
        assert not m.flags & dns.flags.AD
        assert any(r.rdtype == dns.rdatatype.RRSIG for r in m.answer)


def test_fast_signed_path_gives_the_same_octets(monkeypatch):
    """Signed plain names compile through Blocks.add_signed_* (bulk
    signing); the general path must give the very same image (the same
    ZoneKeys, so the same cached signatures)."""
    from zonefront.snapshot import compiler

    zone = parse_zone_text(ZONE, "example.com.")
    keys = {zone.origin: ZoneKeys(zone.origin, [KSK], ZSK)}
    fast = compiler.compile_zones([zone], signing=keys).arrays()
    monkeypatch.setattr(compiler, "FAST_SIGNED", False)
    slow = compiler.compile_zones([zone], signing=keys).arrays()
    assert fast == slow
