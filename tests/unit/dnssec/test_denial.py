"""Compact denial of existence (RFC 9824) and wildcard answers signed while
answering (issue 14), in both engines: a nonexistent name under DO is
NOERROR with the SOA and an NSEC owned by the qname (next `\\000.qname`,
types RRSIG NSEC NXNAME) signed by the ZSK, never the KSK; the signer's
cache is bounded; the compiled and reference engines agree except for the
randomized signature octets."""
from __future__ import annotations

import random

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.rdatatype
import pytest
from test_signed_answers import ZSK, KSK, ask, dnskeys, load, same_but_signatures, validated, zones

from zonefront.dnssec import records
from zonefront.dnssec.signer import ZoneKeys


@pytest.fixture(scope="module")
def arrays():
    from zonefront.snapshot.compiler import compile_zones

    zs = zones()
    return compile_zones(zs, signing={zs[0].origin: ZoneKeys(zs[0].origin, [KSK], ZSK)}).arrays()


@pytest.fixture
def image(impl, arrays):
    return load(impl, arrays)


def nsec_of(m, name):
    return m.find_rrset(m.authority, dns.name.from_text(name), dns.rdataclass.IN,
                        dns.rdatatype.NSEC)


def zsk_tag() -> int:
    return records.key_tag(records.dnskey_rdata(records.FLAG_ZSK, ZSK.public_key))


@pytest.mark.parametrize("name", ["nx.example.com.", "A.b.NX.example.com.",
                                  "x" * 60 + ".deep." + "y" * 60 + ".example.com."])
def test_nonexistent_name_is_nodata_with_nxname(image, name):
    keys = dnskeys(image)
    m, _ = ask(image, name, "A")
    assert m.rcode() == 0 and not m.answer and m.flags & dns.flags.AA
    assert validated(m, m.authority, keys) == 2  # SOA, NSEC
    nsec = nsec_of(m, name)
    assert nsec[0].next == dns.name.from_text("\\000." + name.lower())
    assert nsec[0].to_text().split()[1:] == ["RRSIG", "NSEC", "NXNAME"]
    sig = m.find_rrset(m.authority, nsec.name, nsec.rdclass, dns.rdatatype.RRSIG,
                       dns.rdatatype.NSEC)
    assert [s.key_tag for s in sig] == [zsk_tag()]  # the ZSK signs online, never the KSK
    assert sig[0].labels == len(dns.name.from_text(name)) - 1


def test_without_do_a_nonexistent_name_is_nxdomain(image):
    for edns in (-1, 0):
        q = dns.message.make_query("nx.example.com.", "A", use_edns=edns)
        m = dns.message.from_wire(image.answer(q.to_wire(), False, None, 0))
        assert m.rcode() == 3 and not any(r.rdtype == dns.rdatatype.NSEC for r in m.authority)


@pytest.mark.parametrize("name,types", [("a.wild.example.com.", ["TXT", "RRSIG", "NSEC"]),
                                        ("wild.example.com.", ["RRSIG", "NSEC"])])
def test_wildcard_and_empty_non_terminal_nodata(image, name, types):
    keys = dnskeys(image)
    m, _ = ask(image, name, "A")
    assert m.rcode() == 0 and not m.answer
    assert validated(m, m.authority, keys) == 2
    assert nsec_of(m, name)[0].to_text().split()[1:] == types


def test_wildcard_answer_keeps_the_clients_case_and_validates(image):
    keys = dnskeys(image)
    m, _ = ask(image, "MiXeD.wild.example.com.", "TXT")
    assert str(m.answer[0].name) == "MiXeD.wild.example.com."
    assert validated(m, m.answer, keys) == 1


def test_denial_that_does_not_fit_sets_tc(image):
    """RFC 4035 §3.1.1: with no room for the NSEC and its RRSIG the
    response is truncated, never sent without them."""
    name = ".".join(["z" * 60] * 3) + ".example.com."
    q = dns.message.make_query(name, "A", use_edns=0, want_dnssec=True, payload=512)
    m = dns.message.from_wire(image.answer(q.to_wire(), False, None, 0))
    assert m.flags & dns.flags.TC and not m.authority
    m = dns.message.from_wire(image.answer(q.to_wire(), True, None, 0))  # TCP: room
    assert not m.flags & dns.flags.TC and nsec_of(m, name)


def test_cd_bit_changes_nothing(image):
    for flags in (0, dns.flags.CD):
        q = dns.message.make_query("nx.example.com.", "A", want_dnssec=True)
        q.flags |= flags
        m = dns.message.from_wire(image.answer(q.to_wire(), False, None, 0))
        assert m.rcode() == 0 and nsec_of(m, "nx.example.com.")
        assert bool(m.flags & dns.flags.CD) == bool(flags) and not m.flags & dns.flags.AD


def test_engines_agree_but_for_signatures(arrays):
    pytest.importorskip("zonefront.core._engine")
    ref, comp = load("ref", arrays), load("compiled", arrays)
    rnd = random.Random(14)
    names = ["nx.example.com.", "a.wild.example.com.", "Q.b.wild.example.com.", "wild.example.com."]
    names += [f"{rnd.getrandbits(40):x}.{rnd.choice(['', 'wild.', 'www.'])}example.com."
              for _ in range(40)]
    for name in names:
        for rdtype in ("A", "TXT", "DS", "ANY"):
            for payload in (512, 1232):
                q = dns.message.make_query(name, rdtype, use_edns=0, want_dnssec=True,
                                           payload=payload)
                q.id = 9
                a, b = ref.answer(q.to_wire(), False, None, 0), comp.answer(q.to_wire(), False,
                                                                            None, 0)
                assert same_but_signatures(a, b), (name, rdtype, payload)


def test_cache_returns_the_same_signature_and_counts_hits(arrays):
    from zonefront.core._engine import Image, deny_cache_stats

    image = Image(arrays)
    first = ask(image, "cached.example.com.", "A")[1]
    hits, misses = deny_cache_stats()
    again = ask(image, "CACHED.example.com.", "A")[1]
    assert deny_cache_stats() == (hits + 1, misses)
    assert first.lower() == again.lower()  # the qname's case aside: the same octets


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        return int([line for line in f if line.startswith("VmRSS")][0].split()[1])


def test_a_flood_of_unique_names_keeps_memory_flat(arrays):
    """The cache is a fixed table per thread: after it has filled, 30,000
    more unique names (each a miss that signs) add no memory."""
    from zonefront.core._engine import Image, deny_cache_stats

    image = Image(arrays)
    q = dns.message.make_query("x.example.com.", "A", use_edns=0, want_dnssec=True)
    q.id = 1
    wire = q.to_wire()
    assert wire[12:14] == b"\x01x"

    def flood(n, start):
        for i in range(start, start + n):
            r = image.answer(wire[:12] + b"\x08" + b"%08x" % i + wire[14:], False, None, 0)
            assert r[3] & 0xF == 0 and len(r) > 200

    flood(6000, 0)
    before = rss_kib()
    _, misses = deny_cache_stats()
    flood(30000, 10**6)
    assert deny_cache_stats()[1] - misses == 30000  # every one signed: unique names
    assert rss_kib() - before < 1024, (before, rss_kib())


def multivalue_arrays(n_values: int):
    from zonefront.model import TYPE_A, RoutedRRset, name_from_text
    from zonefront.snapshot.compiler import compile_zones

    zs = zones()
    for i in range(n_values):
        zs[0].routed.append(RoutedRRset(owner=name_from_text("mv.example.com."), rtype=TYPE_A,
                                        ttl=60 + i % 2, rdatas=[bytes([10, 2, 0, i])],
                                        set_id=f"m{i}", multivalue=True))
    keys = {zs[0].origin: ZoneKeys(zs[0].origin, [KSK], ZSK)}
    return compile_zones(zs, signing=keys).arrays()


@pytest.mark.parametrize("n_values", [3, 10])
def test_multivalue_answers_are_signed_over_the_values_chosen(impl, n_values):
    """Up to eight values in random order: the RRSIG is made for the set
    chosen (canonical order, the smallest TTL as its original TTL)."""
    image = load(impl, multivalue_arrays(n_values))
    keys = dnskeys(image)
    for seed in range(6):
        q = dns.message.make_query("mv.example.com.", "A", use_edns=0, want_dnssec=True)
        q.id = seed
        m = dns.message.from_wire(image.answer(q.to_wire(), False, "192.0.2.9", seed))
        assert len(m.answer[0]) == min(n_values, 8)
        assert validated(m, m.answer, keys) == 1
    q = dns.message.make_query("mv.example.com.", "A", use_edns=0)
    m = dns.message.from_wire(image.answer(q.to_wire(), False, None, 0))
    assert len(m.answer) == 1 and m.answer[0].rdtype == dns.rdatatype.A  # no DO: no RRSIG


def test_multivalue_engines_agree_but_for_signatures():
    pytest.importorskip("zonefront.core._engine")
    arrays = multivalue_arrays(10)
    ref, comp = load("ref", arrays), load("compiled", arrays)
    for seed in range(20):
        for payload in (512, 1232):
            q = dns.message.make_query("mv.example.com.", "A", use_edns=0, want_dnssec=True,
                                       payload=payload)
            q.id = seed
            a = ref.answer(q.to_wire(), False, "192.0.2.9", seed)
            b = comp.answer(q.to_wire(), False, "192.0.2.9", seed)
            assert same_but_signatures(a, b), seed


def online_templates(blocks: bytes):
    """(offset of the u16 length, length) of every BF_ONLINE template."""
    from zonefront.snapshot.layout import BF_ONLINE, decode_block

    out, off = [], 0
    while off < len(blocks):
        rec, nxt = decode_block(blocks, off)
        if blocks[off + 11] & BF_ONLINE:
            out.append((nxt - len(rec.online) - 2, len(rec.online)))
        off = nxt
    return out


@pytest.mark.parametrize("damage", ["kind", "hlen", "length"])
def test_a_malformed_online_template_is_refused(arrays, damage):
    """A hostile or corrupt snapshot: the compiled image refuses it at load
    (zfdeny_check), before any answer reads the template."""
    from zonefront.core._engine import Image

    blocks = bytearray(arrays["blocks"])
    found = online_templates(bytes(blocks))
    assert found
    at, tlen = found[0]
    if damage == "kind":
        blocks[at + 2] = 9
    elif damage == "hlen":
        blocks[at + 2 + 2:at + 2 + 4] = (tlen).to_bytes(2, "little")
    else:
        blocks[at:at + 2] = (0xFFF0).to_bytes(2, "little")
    with pytest.raises(ValueError, match="block records are malformed"):
        Image(dict(arrays, blocks=bytes(blocks)))


@pytest.mark.parametrize("threads", [1, 3])
def test_bulk_signatures_verify(threads):
    """dnssec._sign.sign_many (bulk signing at compile time): every
    signature, from any thread's stripe, verifies with the public key."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    from zonefront.dnssec._sign import sign_many

    datas = [bytes([i]) * (i + 1) for i in range(40)]
    sigs = sign_many(ZSK.raw_private(), b"\x04" + ZSK.public_key, datas, threads)
    pub = ec.EllipticCurvePublicNumbers(int.from_bytes(ZSK.public_key[:32], "big"),
                                        int.from_bytes(ZSK.public_key[32:], "big"),
                                        ec.SECP256R1()).public_key()
    for d, s in zip(datas, sigs):
        pub.verify(encode_dss_signature(int.from_bytes(s[:32], "big"), int.from_bytes(s[32:], "big")),
                   d, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(ValueError):
        sign_many(b"\x00" * 31, b"\x04" + ZSK.public_key, datas)


def test_snapshot_files_are_private(arrays, tmp_path):
    """A signed zone's snapshot holds its ZSK in the online templates: the
    file is readable by its owner only, like the key store."""
    import os
    import stat

    from zonefront.edge.disk import write_atomic
    from zonefront.snapshot import format as snapshot_format
    from zonefront.snapshot.compiler import compile_zones

    zs = zones()
    image = compile_zones(zs, signing={zs[0].origin: ZoneKeys(zs[0].origin, [KSK], ZSK)})
    path = tmp_path / "z.snap"
    snapshot_format.write(str(path), image)
    write_atomic(str(tmp_path / "edge.zfs"), b"x")
    for p in (path, tmp_path / "edge.zfs"):
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    assert ZSK.raw_private() in path.read_bytes() and KSK.raw_private() not in path.read_bytes()
