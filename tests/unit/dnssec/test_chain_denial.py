"""Signed answers through CNAME chains (issue 14), both engines, both denial
modes: a chain ending in NODATA or at a name that does not exist carries
the proof for the chain's last name (the compact NSEC, NXNAME included, or
the matching NSEC3 / the closest-encloser proof), and a chain into a
multivalue answer carries the RRSIG over the values chosen, owned by the
chain's last name.  Every proof record is checked with dnspython's
validator and the NSEC/NSEC3 coverage rules, not only its presence."""
from __future__ import annotations

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest
from test_nsec3 import _covers, _hash, _types, check_closest_encloser_proof
from test_signed_answers import KSK, ZSK, ask, dnskeys, load, same_but_signatures, validated

from zonefront.dnssec.signer import ZoneKeys
from zonefront.zonefile import parse_zone_text

ZONE = """$ORIGIN example.com.
$TTL 300
@ 3600 IN SOA ns1 hostmaster 2024010101 3600 600 86400 60
@ NS ns1
ns1 A 192.0.2.53
www A 192.0.2.1
www AAAA 2001:db8::1
alias CNAME www
chain CNAME alias
dangling CNAME gone
deep CNAME x.y.www
towild CNAME x.wild
*.wild TXT "wild"
*.cn CNAME www
*.cnx CNAME gone
mvalias CNAME mv
mvchain CNAME mvalias
sub NS ns.sub
ns.sub A 192.0.2.9
todel CNAME host.sub
tocut CNAME sub
*.cd CNAME host.sub
*.wmv CNAME mv
*.wmv2 CNAME mvalias
sec NS ns.sec
ns.sec A 192.0.2.10
sec DS 4242 13 2 4242424242424242424242424242424242424242424242424242424242424242
tosec CNAME host.sec
*.cs CNAME host.sec
"""
N = dns.name.from_text


def chain_zones(values: int = 3):
    from zonefront.model import TYPE_A, RoutedRRset, name_from_text

    zone = parse_zone_text(ZONE, "example.com.")
    for i in range(values):
        zone.routed.append(RoutedRRset(owner=name_from_text("mv.example.com."), rtype=TYPE_A,
                                       ttl=60 + i % 2, rdatas=[bytes([10, 2, 0, i])],
                                       set_id=f"m{i}", multivalue=True))
    return [zone]


def compiled(denial: str, values: int = 3):
    from zonefront.snapshot.compiler import compile_zones

    zs = chain_zones(values)
    return compile_zones(zs, signing={zs[0].origin: ZoneKeys(zs[0].origin, [KSK], ZSK,
                                                             denial=denial)}).arrays()


@pytest.fixture(scope="module", params=["compact", "nsec3"])
def mode_arrays(request):
    return request.param, compiled(request.param)


@pytest.fixture
def image(impl, mode_arrays):
    return mode_arrays[0], load(impl, mode_arrays[1])


def check_signed_cname(m, keys, qname: str, target: str):
    cname = m.find_rrset(m.answer, N(qname), dns.rdataclass.IN, dns.rdatatype.CNAME)
    assert cname[0].target == N(target)
    assert validated(m, m.answer, keys) == len([r for r in m.answer
                                                if r.rdtype != dns.rdatatype.RRSIG])


def nsecs(m):
    return [rs for rs in m.authority if rs.rdtype == dns.rdatatype.NSEC]


def nsec3s(m):
    return [rs for rs in m.authority if rs.rdtype == dns.rdatatype.NSEC3]


@pytest.mark.parametrize("qname,last,rdtype,present", [
    ("alias.example.com.", "www.example.com.", "TXT", {"A", "AAAA"}),
    ("chain.example.com.", "www.example.com.", "MX", {"A", "AAAA"}),  # two links
    ("ALIAS.Example.com.", "www.example.com.", "TXT", {"A", "AAAA"}),  # the client's case
])
def test_chain_to_nodata_proves_the_last_name_has_no_such_type(image, qname, last, rdtype,
                                                              present):
    mode, img = image
    keys = dnskeys(img)
    m, _ = ask(img, qname, rdtype)
    assert m.rcode() == dns.rcode.NOERROR
    assert validated(m, m.answer, keys) >= 1
    assert validated(m, m.authority, keys) == 2  # the SOA and the NSEC / NSEC3
    if mode == "compact":
        (nsec,) = nsecs(m)
        assert nsec.name == N(last)
        assert nsec[0].next == N("\\000." + last)  # RFC 9824 §3: covers the name only
        types = set(nsec[0].to_text().split()[1:])
        assert types == present | {"RRSIG", "NSEC"}
        assert rdtype not in types and "CNAME" not in types  # RFC 4035 §5.4
    else:
        (rs,) = nsec3s(m)
        assert rs.name.labels[0].decode() == _hash(last)  # RFC 5155 §7.2.3: it matches
        got = {dns.rdatatype.to_text(t) for t in _types(rs[0])}
        assert got == present | {"RRSIG"}


@pytest.mark.parametrize("qname,last,ce", [
    ("dangling.example.com.", "gone.example.com.", "example.com."),
    ("deep.example.com.", "x.y.www.example.com.", "www.example.com."),
])
def test_chain_to_a_nonexistent_name_proves_it_absent(image, qname, last, ce):
    mode, img = image
    keys = dnskeys(img)
    m, _ = ask(img, qname, "A")
    check_signed_cname(m, keys, qname, last)
    assert validated(m, m.authority, keys) >= 2
    if mode == "compact":
        # RFC 9824 §3: NXDOMAIN presented as NODATA, the NSEC owned by the name
        assert m.rcode() == dns.rcode.NOERROR
        (nsec,) = nsecs(m)
        assert nsec.name == N(last) and nsec[0].next == N("\\000." + last)
        assert set(nsec[0].to_text().split()[1:]) == {"RRSIG", "NSEC", "NXNAME"}
    else:
        assert m.rcode() == dns.rcode.NXDOMAIN  # RFC 6604: the last link's rcode
        check_closest_encloser_proof(m, last, ce)


def test_compact_chain_to_a_nonexistent_name_with_co_is_nxdomain(impl):
    """RFC 9824 §4: DO and CO give NXDOMAIN with the same records; no DO
    gives the unsigned NXDOMAIN."""
    img = load(impl, compiled("compact"))
    q = dns.message.make_query("dangling.example.com.", "A", use_edns=0, want_dnssec=True)
    q.ednsflags |= dns.flags.CO
    m = dns.message.from_wire(img.answer(q.to_wire(), False, None, 0))
    assert m.rcode() == dns.rcode.NXDOMAIN
    assert set(nsecs(m)[0][0].to_text().split()[1:]) == {"RRSIG", "NSEC", "NXNAME"}
    m, _ = ask(img, "dangling.example.com.", "A", do=False)
    assert m.rcode() == dns.rcode.NXDOMAIN and not nsecs(m) and not nsec3s(m)
    assert [rs.rdtype for rs in m.authority] == [dns.rdatatype.SOA]


def test_chain_to_a_wildcard_nodata_proves_the_wildcard_has_no_such_type(image):
    """towild -> x.wild, matched by *.wild (TXT only), asked for A: compact,
    the NSEC at x.wild with the wildcard's types; nsec3, RFC 5155 §7.2.5
    (closest encloser, the next closer name's cover, the wildcard's match)."""
    mode, img = image
    keys = dnskeys(img)
    m, _ = ask(img, "towild.example.com.", "A")
    assert m.rcode() == dns.rcode.NOERROR
    check_signed_cname(m, keys, "towild.example.com.", "x.wild.example.com.")
    assert validated(m, m.authority, keys) >= 2
    if mode == "compact":
        (nsec,) = nsecs(m)
        assert nsec.name == N("x.wild.example.com.")
        assert set(nsec[0].to_text().split()[1:]) == {"TXT", "RRSIG", "NSEC"}
    else:
        owners = {rs.name.labels[0].decode(): rs for rs in nsec3s(m)}
        assert set(owners) >= {_hash("wild.example.com."), _hash("*.wild.example.com.")}
        assert dns.rdatatype.A not in _types(owners[_hash("*.wild.example.com.")][0])
        assert any(_covers(rs[0], rs.name, _hash("x.wild.example.com.")) for rs in nsec3s(m))


def test_wildcard_cname_to_a_nonexistent_name(image):
    """*.cnx CNAME gone: the CNAME signed for the qname (compact) or over
    the wildcard with the next closer name covered (nsec3), and the proof
    that gone.example.com does not exist."""
    mode, img = image
    keys = dnskeys(img)
    m, _ = ask(img, "q.cnx.example.com.", "A")
    check_signed_cname(m, keys, "q.cnx.example.com.", "gone.example.com.")
    assert validated(m, m.authority, keys) >= 2
    if mode == "compact":
        assert m.rcode() == dns.rcode.NOERROR
        (nsec,) = nsecs(m)
        assert nsec.name == N("gone.example.com.")
        assert "NXNAME" in nsec[0].to_text().split()
    else:
        assert m.rcode() == dns.rcode.NXDOMAIN
        check_closest_encloser_proof_among(m, "gone.example.com.", "example.com.")
        assert any(_covers(rs[0], rs.name, _hash("q.cnx.example.com.")) for rs in nsec3s(m))


def check_closest_encloser_proof_among(m, qname: str, ce: str):
    """check_closest_encloser_proof, where other NSEC3s may be present too."""
    own = [(rs.name, rd) for rs in nsec3s(m) for rd in rs]
    labels = N(qname).labels
    nxt = dns.name.Name(labels[-(len(N(ce).labels) + 1):]).to_text()
    assert any(o.labels[0].decode() == _hash(ce) for o, _ in own)
    assert any(_covers(rd, o, _hash(nxt)) for o, rd in own)
    assert any(_covers(rd, o, _hash("*." + ce)) for o, rd in own)


def test_nsec3_wildcard_cname_answer_covers_the_next_closer_name(impl):
    """RFC 5155 §7.2.6 for a wildcard CNAME: the CNAME's RRSIG is the
    wildcard's (labels one short) and an NSEC3 covers c.cn.example.com."""
    img = load(impl, compiled("nsec3"))
    keys = dnskeys(img)
    m, _ = ask(img, "c.cn.example.com.", "A")
    assert m.rcode() == dns.rcode.NOERROR
    sig = m.find_rrset(m.answer, N("c.cn.example.com."), dns.rdataclass.IN, dns.rdatatype.RRSIG,
                       dns.rdatatype.CNAME)
    assert sig[0].labels == 3
    assert validated(m, m.answer, keys) == 2  # the CNAME and www's A
    assert validated(m, m.authority, keys) == 1
    assert any(_covers(rs[0], rs.name, _hash("c.cn.example.com.")) for rs in nsec3s(m))


def values_answers(impl, qname: str, values: int, links: int):
    """(mode, keys, message) of DO queries for `qname` A (four seeds) in
    both modes, each checked: NOERROR, min(values, 8) values owned by
    mv.example.com, the `links` CNAMEs and the values validated; and
    without DO, exactly the unsigned zone's bytes."""
    from zonefront.snapshot.compiler import compile_zones

    for mode in ("compact", "nsec3"):
        img = load(impl, compiled(mode, values))
        keys = dnskeys(img)
        for seed in range(4):
            q = dns.message.make_query(qname, "A", use_edns=0, want_dnssec=True, payload=4096)
            q.id = seed
            m = dns.message.from_wire(img.answer(q.to_wire(), False, "192.0.2.9", seed))
            assert m.rcode() == dns.rcode.NOERROR
            a = m.find_rrset(m.answer, N("mv.example.com."), dns.rdataclass.IN, dns.rdatatype.A)
            assert len(a) == min(values, 8)
            assert validated(m, m.answer, keys) == links + 1
            yield mode, keys, m
        plain = load(impl, compile_zones(chain_zones(values)).arrays())
        q = dns.message.make_query(qname, "A", use_edns=0, payload=4096)
        assert img.answer(q.to_wire(), False, "192.0.2.9", 1) == \
            plain.answer(q.to_wire(), False, "192.0.2.9", 1)


@pytest.mark.parametrize("qname,links", [("mvalias.example.com.", 1), ("mvchain.example.com.", 2)])
@pytest.mark.parametrize("values", [3, 10])
def test_chain_into_multivalue_is_signed(impl, qname, links, values):
    """The chain's CNAMEs with their precomputed RRSIGs, the values chosen
    per query owned by mv.example.com and signed as one RRset for that
    name; without DO, exactly the unsigned zone's bytes."""
    assert len(list(values_answers(impl, qname, values, links))) == 8


@pytest.mark.parametrize("qname,target,links", [
    ("x.wmv.example.com.", "mv.example.com.", 1),
    ("A.b.Wmv.example.com.", "mv.example.com.", 1),
    ("x.wmv2.example.com.", "mvalias.example.com.", 2),  # then mvalias CNAME mv
])
@pytest.mark.parametrize("values", [3, 10])
def test_wildcard_cname_into_multivalue_is_signed(impl, qname, target, links, values):
    """*.wmv CNAME mv, mv multivalue: the values chosen per query signed as
    mv's RRset and the CNAME signed too, for the qname (compact: labels the
    qname's, so no proof is needed) or as the wildcard's with the NSEC3
    covering the next closer name (nsec3, RFC 5155 §7.2.6); without DO,
    exactly the unsigned zone's bytes."""
    nxt = dns.name.Name(N(qname).labels[-5:]).to_text()  # the next closer name
    for mode, keys, m in values_answers(impl, qname, values, links):
        check_signed_cname(m, keys, qname, target)
        sig = m.find_rrset(m.answer, N(qname), dns.rdataclass.IN, dns.rdatatype.RRSIG,
                           dns.rdatatype.CNAME)
        if mode == "compact":
            assert sig[0].labels == len(N(qname).labels) - 1
            assert not m.authority
        else:
            assert sig[0].labels == 3  # *.wmv.example.com: an expansion, proved below
            assert validated(m, m.authority, keys) == len(nsec3s(m)) >= 1
            assert any(_covers(rs[0], rs.name, _hash(nxt)) for rs in nsec3s(m))


@pytest.mark.parametrize("mode", ["compact", "nsec3"])
def test_wildcard_cname_into_multivalue_that_does_not_fit_sets_tc(impl, mode):
    """RFC 4035 §3.1.1: the CNAME and the values with both RRSIGs (and the
    cover, nsec3), or TC; never part of them.  The long qname makes the
    last record, made for it, the one that does not fit at 512 octets."""
    img = load(impl, compiled(mode, 8))
    qname = "x" * 60 + "." + "y" * 60 + ".wmv.example.com."
    truncated = set()
    for payload in range(512, 1000, 24):
        q = dns.message.make_query(qname, "A", use_edns=0, want_dnssec=True, payload=payload)
        m = dns.message.from_wire(img.answer(q.to_wire(), False, "192.0.2.9", 0))
        truncated.add(bool(m.flags & dns.flags.TC))
        if m.flags & dns.flags.TC:
            assert not m.answer and not m.authority
            continue
        covered = {rs.covers for rs in m.answer if rs.rdtype == dns.rdatatype.RRSIG}
        assert covered == {dns.rdatatype.A, dns.rdatatype.CNAME}
        assert bool(nsec3s(m)) == (mode == "nsec3")
    assert truncated == {True, False}


def test_wildcard_cname_into_multivalue_unsignable_is_servfail(impl, monkeypatch):
    """The CNAME's RRSIG cannot be made while answering (its template's key
    is off the curve; the values' template is sound): SERVFAIL with no
    records (RFC 4035 §3.1), never the values signed and the CNAME not."""
    from zonefront.dnssec import online

    good = online.rrsig_template

    def bad(zk, *args):
        raw = online.zsk_raw
        online.zsk_raw = lambda zk: (raw(zk)[0], b"\x04" + bytes(64))
        try:
            return good(zk, *args)
        finally:
            online.zsk_raw = raw

    monkeypatch.setattr(online, "rrsig_template", bad)
    img = load(impl, compiled("compact"))
    m, _ = ask(img, "x.wmv.example.com.", "A")
    assert m.rcode() == dns.rcode.SERVFAIL
    assert not m.answer and not m.authority and not m.flags & dns.flags.TC
    m, _ = ask(img, "mvalias.example.com.", "A")  # the values alone still sign
    assert m.rcode() == dns.rcode.NOERROR and validated(m, m.answer, dnskeys(img)) == 2


def test_chain_into_multivalue_that_does_not_fit_sets_tc(impl):
    """RFC 4035 §3.1.1: never the values without their RRSIG."""
    img = load(impl, compiled("compact", 8))
    q = dns.message.make_query("mvchain.example.com.", "A", use_edns=0, want_dnssec=True,
                               payload=512)
    m = dns.message.from_wire(img.answer(q.to_wire(), False, "192.0.2.9", 0))
    rrsig_of_a = [rs for rs in m.answer if rs.rdtype == dns.rdatatype.RRSIG
                  and rs.covers == dns.rdatatype.A]
    assert m.flags & dns.flags.TC or rrsig_of_a


@pytest.mark.parametrize("qname", ["todel.example.com.", "tocut.example.com."])
def test_chain_into_an_insecure_delegation_proves_no_ds(image, qname):
    """The referral a chain ends in carries the cut's NSEC (NS, no DS) or
    the NSEC3 matching the cut, signed, as a direct query below the cut
    gets (RFC 4035 §3.1.4.1, RFC 5155 §7.2.7): the same authority."""
    mode, img = image
    keys = dnskeys(img)
    m, _ = ask(img, qname, "A")
    direct, _ = ask(img, "host.sub.example.com.", "A")
    assert m.rcode() == dns.rcode.NOERROR
    assert validated(m, m.answer, keys) == 1  # the CNAME
    ns = m.find_rrset(m.authority, N("sub.example.com."), dns.rdataclass.IN,
                      dns.rdatatype.NS)
    assert ns[0].target == N("ns.sub.example.com.")
    (proof,) = nsecs(m) + nsec3s(m)  # the child's NS is not signed, the proof is
    dns.dnssec.validate(proof, m.find_rrset(m.authority, proof.name, dns.rdataclass.IN,
                                            dns.rdatatype.RRSIG, proof.rdtype), keys)
    if mode == "compact":
        (nsec,) = nsecs(m)
        assert nsec.name == N("sub.example.com.")
        types = set(nsec[0].to_text().split()[1:])
        assert "NS" in types and "DS" not in types and "SOA" not in types
    else:
        (rs,) = nsec3s(m)
        assert rs.name.labels[0].decode() == _hash("sub.example.com.")  # it matches the cut
        got = {dns.rdatatype.to_text(t) for t in _types(rs[0])}
        assert "NS" in got and "DS" not in got and "SOA" not in got
    assert sorted(map(str, m.authority)) == sorted(map(str, direct.authority))


@pytest.mark.parametrize("qname", ["q.cd.example.com.", "A.b.cd.example.com."])
def test_wildcard_cname_into_an_insecure_delegation_proves_no_ds_and_the_expansion(image,
                                                                                   qname):
    """*.cd CNAME host.sub: the referral carries the cut's NSEC, or in nsec3
    mode the NSEC3 matching the cut (RFC 5155 §7.2.7) and, since the CNAME's
    RRSIG is the wildcard's, the NSEC3 covering the next closer name
    (§7.2.6); the glue still follows in the additional section."""
    mode, img = image
    keys = dnskeys(img)
    m, _ = ask(img, qname, "A")
    assert m.rcode() == dns.rcode.NOERROR
    assert validated(m, m.answer, keys) == 1  # the CNAME
    sig = m.find_rrset(m.answer, N(qname), dns.rdataclass.IN, dns.rdatatype.RRSIG,
                       dns.rdatatype.CNAME)
    ns = m.find_rrset(m.authority, N("sub.example.com."), dns.rdataclass.IN, dns.rdatatype.NS)
    assert ns[0].target == N("ns.sub.example.com.")
    assert [str(rs) for rs in m.additional] == ["ns.sub.example.com. 300 IN A 192.0.2.9"]
    if mode == "compact":
        assert sig[0].labels == len(N(qname).labels) - 1  # signed as the qname's own
        (nsec,) = nsecs(m)
        assert nsec.name == N("sub.example.com.")
        assert "DS" not in nsec[0].to_text().split()
    else:
        assert sig[0].labels == 3  # *.cd.example.com: the answer is an expansion
        owners = {rs.name.labels[0].decode(): rs for rs in nsec3s(m)}
        cut = owners[_hash("sub.example.com.")]
        got = {dns.rdatatype.to_text(t) for t in _types(cut[0])}
        assert "NS" in got and "DS" not in got and "SOA" not in got
        nxt = dns.name.Name(N(qname).labels[-5:]).to_text()  # the next closer name
        assert any(_covers(rs[0], rs.name, _hash(nxt)) for rs in nsec3s(m))
    for proof in nsecs(m) + nsec3s(m):  # the child's NS is not signed, the proofs are
        dns.dnssec.validate(proof, m.find_rrset(m.authority, proof.name, dns.rdataclass.IN,
                                                dns.rdatatype.RRSIG, proof.rdtype), keys)


@pytest.mark.parametrize("mode", ["compact", "nsec3"])
def test_engines_agree_on_chains_but_for_signatures(mode):
    pytest.importorskip("zonefront.core._engine")
    arrays = compiled(mode, 10)
    ref, comp = load("ref", arrays), load("compiled", arrays)
    names = ["alias", "chain", "dangling", "deep", "towild", "q.cnx", "c.cn", "mvalias",
             "mvchain", "MvChain", "todel", "tocut", "q.cd", "A.b.cd", "x.wmv", "A.b.Wmv",
             "x.wmv2", "tosec", "q.cs", "host.sec", "sec", "host.sub"]
    for name in names:
        for rdtype in ("A", "TXT", "AAAA"):
            for payload in (512, 1232, 4096):
                for seed in range(3):
                    q = dns.message.make_query(f"{name}.example.com.", rdtype, use_edns=0,
                                               want_dnssec=True, payload=payload)
                    q.id = seed
                    a = ref.answer(q.to_wire(), False, "192.0.2.9", seed)
                    b = comp.answer(q.to_wire(), False, "192.0.2.9", seed)
                    assert same_but_signatures(a, b), (name, rdtype, payload, seed)


def check_signed_ds(m, keys, cut: str) -> None:
    """The DS RRset of `cut` and its RRSIG in the authority section, valid."""
    ds = m.find_rrset(m.authority, N(cut), dns.rdataclass.IN, dns.rdatatype.DS)
    assert [rd.key_tag for rd in ds] == [4242]
    dns.dnssec.validate(ds, m.find_rrset(m.authority, N(cut), dns.rdataclass.IN,
                                         dns.rdatatype.RRSIG, dns.rdatatype.DS), keys)


@pytest.mark.parametrize("qname", ["sec.example.com.", "host.sec.example.com.",
                                   "a.b.SEC.example.com."])
def test_secure_delegation_beside_an_insecure_one(image, qname):
    """RFC 4035 §3.1.4.1: the referral to `sec` (with a DS) carries with DO
    the NS, the DS and its RRSIG and no denial; the referral to `sub` (no
    DS) beside it carries the proof of no DS and no DS RRset; the glue
    follows both.  Without DO, both are the NS and the glue alone."""
    mode, img = image
    keys = dnskeys(img)
    m, _ = ask(img, qname, "A")
    assert m.rcode() == dns.rcode.NOERROR and not m.answer and not m.flags & dns.flags.AA
    assert [(rs.name, rs.rdtype, rs.covers) for rs in m.authority] == [
        (N("sec.example.com."), dns.rdatatype.NS, dns.rdatatype.NONE),
        (N("sec.example.com."), dns.rdatatype.DS, dns.rdatatype.NONE),
        (N("sec.example.com."), dns.rdatatype.RRSIG, dns.rdatatype.DS)]
    check_signed_ds(m, keys, "sec.example.com.")
    # (names compressed against the question keep the client's case)
    assert [str(rs).lower() for rs in m.additional] == ["ns.sec.example.com. 300 in a 192.0.2.10"]
    insecure, _ = ask(img, "host.sub.example.com.", "A")
    assert not [rs for rs in insecure.authority if rs.rdtype == dns.rdatatype.DS]
    (proof,) = nsecs(insecure) + nsec3s(insecure)
    dns.dnssec.validate(proof, insecure.find_rrset(insecure.authority, proof.name,
                                                   dns.rdataclass.IN, dns.rdatatype.RRSIG,
                                                   proof.rdtype), keys)
    for name in (qname, "host.sub.example.com."):
        plain, _ = ask(img, name, "A", do=False)
        assert [rs.rdtype for rs in plain.authority] == [dns.rdatatype.NS]
        assert len(plain.additional) == 1


def test_secure_delegation_is_proved_to_have_its_ds(image):
    """The denial records of the zone name the DS at `sec` (so a query for
    it is answered, not denied) and not at `sub`: the DS query at each cut
    gives the signed DS and the signed proof of none respectively."""
    mode, img = image
    keys = dnskeys(img)
    m, _ = ask(img, "sec.example.com.", "DS")
    assert m.flags & dns.flags.AA and validated(m, m.answer, keys) == 1
    m, _ = ask(img, "sub.example.com.", "DS")
    assert m.flags & dns.flags.AA and not m.answer
    assert validated(m, m.authority, keys) == 2  # the SOA and the NSEC / NSEC3
    if mode == "compact":
        (nsec,) = nsecs(m)
        assert "DS" not in nsec[0].to_text().split() and "NS" in nsec[0].to_text().split()
    else:
        (rs,) = nsec3s(m)
        assert rs.name.labels[0].decode() == _hash("sub.example.com.")
        assert dns.rdatatype.DS not in _types(rs[0])


def test_chain_into_a_secure_delegation_carries_the_ds(image):
    """tosec CNAME host.sec: the chain ends in the referral to `sec`, which
    carries the DS and its RRSIG as a direct query below the cut gets."""
    mode, img = image
    keys = dnskeys(img)
    m, _ = ask(img, "tosec.example.com.", "A")
    direct, _ = ask(img, "host.sec.example.com.", "A")
    assert m.rcode() == dns.rcode.NOERROR
    check_signed_cname(m, keys, "tosec.example.com.", "host.sec.example.com.")
    check_signed_ds(m, keys, "sec.example.com.")
    assert not nsecs(m) and not nsec3s(m)
    assert sorted(map(str, m.authority)) == sorted(map(str, direct.authority))
    plain, _ = ask(img, "tosec.example.com.", "A", do=False)
    assert [rs.rdtype for rs in plain.authority] == [dns.rdatatype.NS]


@pytest.mark.parametrize("qname", ["q.cs.example.com.", "A.b.cs.example.com."])
def test_wildcard_cname_into_a_secure_delegation_carries_the_ds(image, qname):
    """*.cs CNAME host.sec: the DS and its RRSIG after the NS; in nsec3 mode
    also the NSEC3 covering the next closer name (the CNAME's RRSIG is the
    wildcard's, RFC 5155 §7.2.6), never a proof about the cut."""
    mode, img = image
    keys = dnskeys(img)
    m, _ = ask(img, qname, "A")
    assert m.rcode() == dns.rcode.NOERROR
    assert validated(m, m.answer, keys) == 1  # the CNAME
    check_signed_ds(m, keys, "sec.example.com.")
    assert not nsecs(m)
    assert [str(rs) for rs in m.additional] == ["ns.sec.example.com. 300 IN A 192.0.2.10"]
    if mode == "nsec3":
        nxt = dns.name.Name(N(qname).labels[-5:]).to_text()
        assert any(_covers(rs[0], rs.name, _hash(nxt)) for rs in nsec3s(m))
        assert _hash("sec.example.com.") not in {rs.name.labels[0].decode() for rs in nsec3s(m)}
        for rs in nsec3s(m):
            dns.dnssec.validate(rs, m.find_rrset(m.authority, rs.name, dns.rdataclass.IN,
                                                 dns.rdatatype.RRSIG, rs.rdtype), keys)
    else:
        assert not nsec3s(m)
