"""Precomputed NSEC3 denial (issue 14, `[dnssec] denial = "nsec3"`): the
chain a zone's transfer copy carries, checked against dnspython's RFC 5155
hash and accepted by BIND's dnssec-verify; the config option."""
from __future__ import annotations

import base64
import shutil
import subprocess

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zone
import pytest
from test_signed_answers import KSK, ZSK, zones

from zonefront.dnssec import nsec3
from zonefront.dnssec.signer import ZoneKeys
from zonefront.dnssec.zonesign import signed_copy


def nsec3_copy(denial="nsec3"):
    z = zones()[0]
    z.dnssec = ZoneKeys(z.origin, [KSK], ZSK, denial=denial)
    return signed_copy(z)


def to_dns_zone(zone) -> dns.zone.Zone:
    origin = dns.name.from_wire(zone.origin, 0)[0]
    out = dns.zone.Zone(origin, relativize=False)
    for (owner, rtype), rs in zone.rrsets.items():
        name = dns.name.from_wire(owner, 0)[0]
        for rd in rs.rdatas:
            r = dns.rdata.from_wire(dns.rdataclass.IN, rtype, rd, 0, len(rd))
            covers = r.type_covered if rtype == dns.rdatatype.RRSIG else dns.rdatatype.NONE
            out.find_rdataset(name, rtype, covers=covers, create=True).add(r, rs.ttl)
    return out


def nsec3_names(zone) -> dict[str, dns.rdata.Rdata]:
    out = {}
    for (owner, rtype), rs in zone.rrsets.items():
        if rtype == nsec3.TYPE_NSEC3:
            out[dns.name.from_wire(owner, 0)[0].to_text()] = \
                dns.rdata.from_wire(dns.rdataclass.IN, rtype, rs.rdatas[0], 0, len(rs.rdatas[0]))
    return out


def test_chain_covers_authoritative_names_and_empty_non_terminals_only():
    got = nsec3_names(nsec3_copy())
    expect = {"example.com.", "ns1.example.com.", "mail.example.com.", "www.example.com.",
              "www2.example.com.", "alias.example.com.", "*.wild.example.com.",
              "wild.example.com.",  # an empty non-terminal
              "sub.example.com.", "dsdeleg.example.com.", "big.example.com."}
    # ns.sub.example.com. is glue below the cut: not in the chain
    hashed = {dns.dnssec.nsec3_hash(n, salt=None, iterations=0, algorithm=1).lower()
              + ".example.com.": n for n in expect}
    assert set(got) == set(hashed)
    for rd in got.values():
        assert (rd.algorithm, rd.flags, rd.iterations, rd.salt) == (1, 0, 0, b"")
    bitmap = {hashed[o]: {dns.rdatatype.to_text(t) for t in _types(rd)} for o, rd in got.items()}
    assert bitmap["wild.example.com."] == set()
    assert bitmap["sub.example.com."] == {"NS"}  # insecure delegation: no RRSIG, no DS
    assert bitmap["dsdeleg.example.com."] == {"NS", "DS", "RRSIG"}
    assert bitmap["example.com."] == {"SOA", "NS", "MX", "DNSKEY", "NSEC3PARAM", "RRSIG"}
    assert bitmap["www.example.com."] == {"A", "AAAA", "RRSIG"}
    # the chain is one cycle in hash order
    order = sorted(got)
    for i, o in enumerate(order):
        nxt = order[(i + 1) % len(order)].split(".")[0]
        assert base64.b32hexencode(got[o].next).decode().lower() == nxt


def _types(rd):
    out = set()
    for window, bits in rd.windows:
        for i, octet in enumerate(bits):
            for b in range(8):
                if octet & (0x80 >> b):
                    out.add(window * 256 + i * 8 + b)
    return out


def test_nsec3_mode_has_param_and_no_nsec():
    z = nsec3_copy()
    types = {t for (_o, t) in z.rrsets}
    assert nsec3.TYPE_NSEC3PARAM in types and 47 not in types
    assert z.rrsets[(z.origin, nsec3.TYPE_NSEC3PARAM)].rdatas == [b"\x01\x00\x00\x00\x00"]
    compact = nsec3_copy("compact")
    assert {t for (_o, t) in compact.rrsets} >= {47} and nsec3.TYPE_NSEC3 not in \
        {t for (_o, t) in compact.rrsets}


@pytest.mark.skipif(not shutil.which("dnssec-verify"), reason="bind9-utils not installed")
def test_dnssec_verify_accepts_the_nsec3_copy(tmp_path):
    path = tmp_path / "example.com.zone"
    to_dns_zone(nsec3_copy()).to_file(str(path), relativize=False)
    out = subprocess.run(["dnssec-verify", "-o", "example.com.", str(path)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Zone fully signed" in out.stdout + out.stderr


def test_unchanged_nsec3_records_are_not_signed_again():
    z = zones()[0]
    z.dnssec = ZoneKeys(z.origin, [KSK], ZSK, denial="nsec3")
    signed_copy(z)
    before = len(z.dnssec.cache)
    signed_copy(z)
    assert len(z.dnssec.cache) == before


@pytest.mark.parametrize("value", ['"nsec"', '"NSEC3 "', "3", "true"])
def test_bad_denial_values_are_refused(tmp_path, value):
    from zonefront.config import ConfigError, load_config

    path = tmp_path / "zonefront.toml"
    path.write_text(f"[dnssec]\ndenial = {value}\n")
    with pytest.raises(ConfigError, match="dnssec.denial"):
        load_config(str(path))
    path.write_text('[dnssec]\ndenial = "nsec3"\n')
    assert load_config(str(path)).dnssec.denial == "nsec3"
    path.write_text("")
    assert load_config(str(path)).dnssec.denial == "compact"


# ---- answers from a compiled image (both engines) ---------------------------

@pytest.fixture(scope="module")
def nsec3_arrays():
    from zonefront.snapshot.compiler import compile_zones

    zs = zones()
    keys = {zs[0].origin: ZoneKeys(zs[0].origin, [KSK], ZSK, denial="nsec3")}
    return compile_zones(zs, signing=keys).arrays()


def _hash(name: str) -> str:
    return dns.dnssec.nsec3_hash(name, salt=None, iterations=0, algorithm=1).lower()


def _covers(rd, owner: dns.name.Name, h: str) -> bool:
    lo = owner.labels[0].decode()
    hi = base64.b32hexencode(rd.next).decode().lower()
    return lo < h < hi or (hi <= lo and (h > lo or h < hi))


def check_closest_encloser_proof(m, qname: str, ce: str):
    """RFC 5155 §7.2.2, checked against dnspython's hash: one NSEC3 matches
    the closest encloser, one covers the next closer name, one covers *.ce."""
    nsec3s = [(rs.name, rd) for rs in m.authority if rs.rdtype == dns.rdatatype.NSEC3
              for rd in rs]
    labels = dns.name.from_text(qname).labels
    nxt = dns.name.Name(labels[-(len(dns.name.from_text(ce).labels) + 1):]).to_text()
    assert any(o.labels[0].decode() == _hash(ce) for o, _ in nsec3s)
    assert any(_covers(rd, o, _hash(nxt)) for o, rd in nsec3s)
    assert any(_covers(rd, o, _hash("*." + ce)) for o, rd in nsec3s)
    assert len(nsec3s) == len({o for o, _ in nsec3s}) <= 3  # deduplicated


@pytest.mark.parametrize("qname,ce", [("nope.example.com.", "example.com."),
                                      ("a.b.www.example.com.", "www.example.com."),
                                      ("Deep.X.Y.MAIL.example.com.", "mail.example.com.")])
def test_nxdomain_is_rcode_3_with_signed_closest_encloser_proof(impl, nsec3_arrays, qname, ce):
    from test_signed_answers import ask, dnskeys, load, validated

    image = load(impl, nsec3_arrays)
    m, _ = ask(image, qname, "A")
    assert m.rcode() == dns.rcode.NXDOMAIN and not m.answer
    keys = dnskeys(image)
    assert validated(m, m.authority, keys) >= 2  # the SOA and each NSEC3
    check_closest_encloser_proof(m, qname.lower(), ce)
    m, _ = ask(image, qname, "A", do=False)  # without DO: no DNSSEC records
    assert m.rcode() == dns.rcode.NXDOMAIN
    assert all(rs.rdtype == dns.rdatatype.SOA for rs in m.authority)


def test_nxdomain_proof_that_does_not_fit_sets_tc(impl, nsec3_arrays):
    from test_signed_answers import load

    q = dns.message.make_query("a.b.www.example.com.", "A", use_edns=0, want_dnssec=True,
                               payload=512)
    wire = load(impl, nsec3_arrays).answer(q.to_wire(), False, "192.0.2.200", 0)
    assert dns.message.from_wire(wire).flags & dns.flags.TC


def test_engines_agree_byte_for_byte(nsec3_arrays):
    pytest.importorskip("zonefront.core._engine")
    import random

    import dns.message
    from test_signed_answers import load

    ref, comp = load("ref", nsec3_arrays), load("compiled", nsec3_arrays)
    rnd = random.Random(5155)
    names = [f"{rnd.getrandbits(40):x}.{rnd.choice(['', 'www.', 'X.mail.', 'a.b.big.', 'wild.', 'b.Wild.'])}"
             "Example.com." for _ in range(60)] + ["example.com.", "www.example.com."]
    for name in names:
        for rdtype in ("A", "TXT", "DS"):
            for payload in (512, 1232, 4096):
                q = dns.message.make_query(name, rdtype, use_edns=0, want_dnssec=True,
                                           payload=payload)
                q.id = 9
                a = ref.answer(q.to_wire(), False, None, 0)
                assert a == comp.answer(q.to_wire(), False, None, 0), (name, rdtype, payload)


@pytest.mark.parametrize("qname,rdtype", [("www.example.com.", "TXT"), ("wild.example.com.", "A"),
                                          ("sub.example.com.", "DS"), ("example.com.", "TXT"),
                                          ("ns.sub.example.com.", "A")])
def test_nodata_ent_and_insecure_delegation_carry_the_matching_nsec3(impl, nsec3_arrays, qname,
                                                                      rdtype):
    """RFC 5155 §7.2.3 (NODATA, empty non-terminal) and §7.2.4 (no DS at an
    insecure delegation, in the DS NODATA and in the referral)."""
    from test_signed_answers import ask, dnskeys, load

    image = load(impl, nsec3_arrays)
    m, _ = ask(image, qname, rdtype)
    assert m.rcode() == dns.rcode.NOERROR and not m.answer
    owner = "sub.example.com." if qname.endswith("sub.example.com.") else qname
    nsec3s = [rs for rs in m.authority if rs.rdtype == dns.rdatatype.NSEC3]
    assert [rs.name.labels[0].decode() for rs in nsec3s] == [_hash(owner)]
    assert dns.rdatatype.from_text(rdtype) not in _types(nsec3s[0][0])
    keys = dnskeys(image)
    for rs in nsec3s:
        dns.dnssec.validate(rs, m.find_rrset(m.authority, rs.name, rs.rdclass,
                                             dns.rdatatype.RRSIG, rs.rdtype), keys)
    assert not any(rs.rdtype == dns.rdatatype.NSEC for rs in m.authority)


@pytest.mark.parametrize("qname", ["x.wild.example.com.", "A.b.WILD.example.com."])
def test_wildcard_answer_has_the_wildcards_signature_and_covers_the_next_closer_name(
        impl, nsec3_arrays, qname):
    """RFC 5155 §7.2.6: the RRSIG's labels field says the RRset was expanded
    (precomputed over the wildcard); one NSEC3 covers the next closer name."""
    from test_signed_answers import ask, dnskeys, load, validated

    image = load(impl, nsec3_arrays)
    m, _ = ask(image, qname, "TXT")
    assert m.rcode() == dns.rcode.NOERROR and m.answer[0].name.to_text() == qname
    sig = m.find_rrset(m.answer, m.answer[0].name, dns.rdataclass.IN, dns.rdatatype.RRSIG,
                       dns.rdatatype.TXT)
    assert sig[0].labels == 3
    keys = dnskeys(image)
    assert validated(m, m.answer, keys) == 1 and validated(m, m.authority, keys) == 1
    (rs,) = [rs for rs in m.authority if rs.rdtype == dns.rdatatype.NSEC3]
    labels = dns.name.from_text(qname.lower()).labels
    assert _covers(rs[0], rs.name, _hash(dns.name.Name(labels[-5:]).to_text()))


def test_wildcard_nodata_matches_encloser_and_wildcard_and_covers_next_closer(impl, nsec3_arrays):
    """RFC 5155 §7.2.5."""
    from test_signed_answers import ask, load

    m, _ = ask(load(impl, nsec3_arrays), "a.b.wild.example.com.", "A")
    assert m.rcode() == dns.rcode.NOERROR and not m.answer
    owners = {rs.name.labels[0].decode() for rs in m.authority
              if rs.rdtype == dns.rdatatype.NSEC3}
    assert {_hash("wild.example.com."), _hash("*.wild.example.com.")} <= owners
    assert len(owners) == 3


# ---- a change ---------------------------------------------------------------

def _nsec3_signatures(zk) -> set:
    return {k for k in zk.cache if k[1] == nsec3.TYPE_NSEC3}


@pytest.mark.parametrize("change,expect", [("add", 2), ("delete", 1)])
def test_a_change_re_signs_only_the_nsec3s_it_moves(change, expect):
    """Adding a name makes its NSEC3 and changes its predecessor's next
    hash; deleting one changes its predecessor's: only those are signed
    again, the rest of the chain comes from the ZoneKeys cache."""
    from zonefront import lightclass

    from test_signed_answers import ask, dnskeys, validated

    from zonefront.model import TYPE_A, RRset
    from zonefront.ref.engine import RefImage
    from zonefront.snapshot.compiler import compile_zones

    zone = zones()[0]
    zk = ZoneKeys(zone.origin, [KSK], ZSK, denial="nsec3")
    compile_zones([zone], signing={zone.origin: zk})
    before = _nsec3_signatures(zk)
    rrsets = dict(zone.rrsets)
    name = b"\x05added\x07example\x03com\x00" if change == "add" else \
        b"\x04mail\x07example\x03com\x00"
    if change == "add":
        rrsets[(name, TYPE_A)] = RRset(name, TYPE_A, 300, [bytes([192, 0, 2, 77])])
    else:
        del rrsets[(name, TYPE_A)]
    changed = lightclass.replace(zone, rrsets=rrsets)
    image = RefImage(compile_zones([changed], signing={zone.origin: zk}).arrays())
    assert len(_nsec3_signatures(zk) - before) == expect
    m, _ = ask(image, "x.added.example.com." if change == "add" else "mail.example.com.", "A")
    assert m.rcode() == dns.rcode.NXDOMAIN
    assert validated(m, m.authority, dnskeys(image)) >= 2
    check_closest_encloser_proof(m, "x.added.example.com." if change == "add"
                                 else "mail.example.com.",
                                 "added.example.com." if change == "add" else "example.com.")


def big_zone_arrays(n: int):
    from zonefront.snapshot.compiler import compile_zones
    from zonefront.zonefile import parse_zone_text

    text = "$ORIGIN big.test.\n$TTL 300\n@ SOA ns1 host 1 3600 600 86400 60\n@ NS ns1\n" + \
        "".join(f"h{i} A 192.0.2.{i % 250}\n" for i in range(n)) + "*.w TXT \"w\"\n"
    zone = parse_zone_text(text, "big.test.")
    return compile_zones([zone], signing={zone.origin: ZoneKeys(zone.origin, [KSK], ZSK,
                                                                denial="nsec3")}).arrays()


def test_a_chain_of_several_segments_answers_alike_in_both_engines():
    """More names than one segment holds (nsec3.SEGMENT): the directory
    finds the segment, both engines pick the same NSEC3s."""
    import random

    pytest.importorskip("zonefront.core._engine")
    from test_signed_answers import load

    arrays = big_zone_arrays(nsec3.SEGMENT * 2 + 100)
    ref, comp = load("ref", arrays), load("compiled", arrays)
    rnd = random.Random(9276)
    for i in range(300):
        name = f"{rnd.getrandbits(40):x}.{rnd.choice(['', f'h{i}.', 'a.w.'])}big.test."
        q = dns.message.make_query(name, "A", use_edns=0, want_dnssec=True, payload=4096)
        q.id = 1
        a = ref.answer(q.to_wire(), False, None, 0)
        assert a == comp.answer(q.to_wire(), False, None, 0), name
        m = dns.message.from_wire(a)
        if not name.startswith(("a.w.",)) and ".w." not in name:
            labels = dns.name.from_text(name).labels
            ce = "big.test." if len(labels) == 4 else dns.name.Name(labels[1:]).to_text()
            check_closest_encloser_proof(m, name, ce)


def test_a_template_out_of_order_is_refused():
    pytest.importorskip("zonefront.core._engine")
    from zonefront.core._engine import Image

    from zonefront.snapshot.layout import decode_block, decode_stream

    arrays = big_zone_arrays(50)
    blocks = bytearray(arrays["blocks"])
    for blk in decode_stream(bytes(blocks), decode_block).values():
        if blk.online[:1] == bytes([nsec3.KIND_NSEC3]) and nsec3.template_row(blk.online) is None:
            seg = nsec3.ENTRY.unpack_from(blk.online, nsec3.TMPL_HEAD.size)[1]
            blocks[seg:seg + 20] = b"\xff" * 20  # the first digest no longer the directory's
            break
    else:
        pytest.fail("no NSEC3 template")
    Image(arrays)
    with pytest.raises(ValueError):
        Image(dict(arrays, blocks=bytes(blocks)))
