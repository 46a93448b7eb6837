"""Patched signed images answer like a full compile of the same signed zones.

test_incremental.py's random zones and change batches, with the zones
signed (compact denial, and NSEC3): after
every batch the patched image must answer every name and type, with and
without DO, as an image compiled from scratch with the same keys, in both
engines, and without a full compile.  Both compiles sign through the same
ZoneKeys cache, so every signature made ahead of time is the same octets;
those made while answering (compact NXDOMAIN NSECs, wildcard RRsets) are
ECDSA and randomized, so responses are compared with signatures zeroed, and
the RRSIG over the SOA, which the patch takes from the zone's row
(blocks.py kind G), is compared whole and validated.
"""
from zonefront import lightclass
import importlib.util
import pathlib
import socket

import dns.dnssec
import dns.message
import dns.name
import dns.rdatatype
import dns.rrset
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zonefront.dnssec.keystore import SigningKey
from zonefront.dnssec.signer import ZoneKeys
from zonefront.model import TYPE_A, TYPE_AAAA, TYPE_SOA, RRset, name_from_text
from zonefront.snapshot.compiler import compile_zones
from zonefront.snapshot.incremental import IncrementalCompiler, NeedsFullCompile


def _module(path: pathlib.Path):
    """Another test file, for its helpers (its tests are collected there)."""
    spec = importlib.util.spec_from_file_location(f"signpatch_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


HERE = pathlib.Path(__file__).parent
base = _module(HERE / "test_incremental.py")  # zones and change batches
signed_answers = _module(HERE.parent / "unit" / "dnssec" / "test_signed_answers.py")
KSK, ZSK = SigningKey.generate(), SigningKey.generate()
# the negative TTL (the SOA minimum, 60) differs from the SOA's own (3600):
# negative answers and the SOA answer carry different RRSIGs over the SOA
SOA_TAIL = bytes(range(1, 13)) + (60).to_bytes(4, "big")


def signed_keys(origins, denial="compact") -> dict:
    return {name_from_text(o): ZoneKeys(name_from_text(o), [KSK], ZSK, 1764900000,
                                        1766100000, denial=denial) for o in origins}


class SignedState(base.State):
    def __init__(self, keys: dict):
        super().__init__()
        self.keys = keys

    def zones(self):
        out = []
        for z in super().zones():
            soa = z.rrsets[(z.origin, TYPE_SOA)]
            rd = soa.rdatas[0][:-20] + self.serial.to_bytes(4, "big") + SOA_TAIL
            z.rrsets[(z.origin, TYPE_SOA)] = RRset(z.origin, TYPE_SOA, soa.ttl, [rd])
            out.append(lightclass.replace(z, dnssec=self.keys.get(z.origin)))
        return out


def engines():
    from zonefront.core._engine import Image
    from zonefront.ref.engine import RefImage

    return [("compiled", Image), ("ref", RefImage)]


def queries():
    out = []
    for name in base.ALL_NAMES + [f"zz.{n}" for n in base.ALL_NAMES[:8]]:
        for qtype in base.QTYPES:
            for do in (True, False):
                q = dns.message.make_query(name, qtype, want_dnssec=do)
                q.id = 7
                out.append((q.to_wire(), do))
    return out


QUERIES = queries()


def soa_rrsigs(wire: bytes) -> list[bytes]:
    m = dns.message.from_wire(wire)
    return [rd.to_wire() for sec in (m.answer, m.authority) for rrset in sec
            if rrset.rdtype == dns.rdatatype.RRSIG for rd in rrset
            if rd.type_covered == dns.rdatatype.SOA]


def same_answer(got: bytes, want: bytes) -> bool:
    """Equal with signatures zeroed (test_signed_answers.py), and the RRSIGs
    over the SOA equal whole.  Equal octets need no parsing (most answers:
    the signatures made ahead come from the zone keys' cache in both)."""
    return got == want or signed_answers.same_but_signatures(got, want) and soa_rrsigs(got) == soa_rrsigs(want)


def validate_soa(wire: bytes, keys: dict) -> int:
    """How many SOA RRsets in `wire` validate against their zone's DNSKEY;
    raises dns.dnssec.ValidationFailure on one that does not."""
    m = dns.message.from_wire(wire)
    n = 0
    for sec in (m.answer, m.authority):
        for rrset in sec:
            if rrset.rdtype != dns.rdatatype.SOA:
                continue
            sig = next((r for r in sec if r.rdtype == dns.rdatatype.RRSIG
                        and r.name == rrset.name and r.covers == dns.rdatatype.SOA), None)
            if sig is None:  # an answer from an unsigned zone quoting it (a chain)
                continue
            dns.dnssec.validate(rrset, sig, {rrset.name: keys[rrset.name]},
                                now=1765000000)
            n += 1
    return n


def dnskey_rrsets(image, origins) -> dict:
    out = {}
    for o in origins:
        q = dns.message.make_query(o, "DNSKEY", want_dnssec=True)
        m = dns.message.from_wire(image.answer(q.to_wire()))
        out[dns.name.from_text(o)] = m.find_rrset(m.answer, dns.name.from_text(o),
                                                  dns.rdataclass.IN, dns.rdatatype.DNSKEY)
    return out


def run_batches(state, batches, image_class, label, full_fallback=False) -> int:
    """Apply `batches` to `state` through an IncrementalCompiler, checking
    every query against a full compile after each; returns how many
    batches needed a full compile (only allowed with `full_fallback`)."""
    zones = state.zones()
    ic = IncrementalCompiler(zones, image_class)
    mirror = image_class(ic.image.export_arrays(compact=False), growable=True)
    fulls = 0
    checked = 0
    for batch in batches:
        new_zones, changed = base.apply_batch(state, batch, zones)
        try:
            patched = ic.update(new_zones, changed)
            mirror = mirror.patch(*ic.last_patch_args)
        except NeedsFullCompile:
            if not full_fallback:
                raise
            fulls += 1
            ic = IncrementalCompiler(new_zones, image_class)
            patched = ic.image
            mirror = image_class(ic.image.export_arrays(compact=False), growable=True)
        full = image_class(compile_zones(new_zones).arrays())
        exported = image_class(patched.export_arrays())
        keys = dnskey_rrsets(full, [o for o in base.ORIGINS
                                    if name_from_text(o) in state.keys])
        for wire, do in QUERIES:
            want = full.answer(wire)
            for img in (patched, exported, mirror):
                got = img.answer(wire)
                assert same_answer(got, want), (label, dns.message.from_wire(wire).question)
            if keys and do:
                checked += validate_soa(got, keys)
        zones = new_zones
    assert checked or not state.keys
    return fulls


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(base.op_st, max_size=12),
       st.lists(st.lists(base.op_st, min_size=1, max_size=4), min_size=1, max_size=4),
       st.sampled_from([base.ORIGINS, base.ORIGINS[:1]]))
def test_patched_signed_image_answers_like_a_full_compile(base_ops, batches, signed):
    keys = signed_keys(signed)
    for label, image_class in engines():
        state = SignedState(keys)
        for op in base_ops:
            state.apply(op)
        assert run_batches(state, batches, image_class, label) == 0


def _nsec3_state():
    keys = signed_keys(base.ORIGINS, denial="nsec3")
    state = SignedState(keys)
    for i, label in enumerate(("a", "b", "www", "a.sub")):
        owner = name_from_text(f"{label}.example.com.")
        state.rrsets["example.com."][(owner, TYPE_A)] = RRset(owner, TYPE_A, 300,
                                                              [bytes([192, 0, 2, i])])
    return state


@pytest.mark.parametrize("label,image_class", engines())
def test_nsec3_change_that_keeps_the_chain_is_patched(label, image_class):
    """Upserting an existing RRset changes no NSEC3 bitmap: patched."""
    state = _nsec3_state()
    batches = [[("upsert", "a.example.com.", "A", v, "a.example.com.")] for v in (1, 2)]
    batches.append([("upsert", "www.example.com.", "A", 3, "a.example.com."),
                    ("upsert", "a.sub.example.com.", "A", 1, "a.example.com.")])
    assert run_batches(state, batches, image_class, label) == 0


@pytest.mark.parametrize("op", [("upsert", "new.example.com.", "A", 1, "a.example.com."),
                                ("upsert", "a.example.com.", "AAAA", 1, "a.example.com."),
                                ("delete", "b.example.com.", "A", 0, "a.example.com.")])
def test_nsec3_change_to_the_chain_is_patched(op):
    """A name added or removed, or a bitmap changed: the chain's links it
    moves are patched in (snapshot/nsec3patch.py), no full compile; the
    answers are a full compile's (tests/unit/dnssec/test_nsec3_patch.py
    checks the proofs near the change)."""
    from zonefront.core._engine import Image

    assert run_batches(_nsec3_state(), [[op]], Image, "compiled") == 0


def test_a_key_change_compiles_in_full():
    from zonefront.core._engine import Image

    state = SignedState(signed_keys(base.ORIGINS))
    zones = state.zones()
    ic = IncrementalCompiler(zones, Image)
    state.keys = signed_keys(base.ORIGINS)  # new ZoneKeys: refreshed signatures
    state.serial += 1
    new = state.zones()
    with pytest.raises(NeedsFullCompile):
        ic.update(new, {z.origin: {z.origin} for z in new})
    assert not ic.broken


def test_a_one_name_change_to_a_signed_zone_compiles_one_name():
    """The signed twin of test_incremental's: one address changed recompiles
    that name and the apex; the NXDOMAIN of a name never touched quotes
    the new serial under a valid RRSIG."""
    from zonefront.core._engine import Image

    state = SignedState(signed_keys(base.ORIGINS))
    for i in range(200):
        owner = name_from_text(f"h{i}.example.com.")
        state.rrsets["example.com."][(owner, TYPE_A)] = RRset(
            owner, TYPE_A, 300, [bytes([10, 0, i // 256, i % 256])])
    zones = state.zones()
    ic = IncrementalCompiler(zones, Image)
    owner = name_from_text("h7.example.com.")
    state.rrsets["example.com."][(owner, TYPE_A)] = RRset(
        owner, TYPE_A, 300, [socket.inet_aton("192.0.2.77")])
    state.serial += 1
    new = state.zones()
    new[1] = zones[1]
    image = ic.update(new, {new[0].origin: {owner, new[0].origin}})
    assert ic.last_patch["names"] == 2
    keys = dnskey_rrsets(image, base.ORIGINS[:1])
    for name, qtype in (("nope.example.com.", "A"), ("h8.example.com.", "TXT"),
                        ("example.com.", "SOA")):
        wire = image.answer(dns.message.make_query(name, qtype, want_dnssec=True).to_wire())
        m = dns.message.from_wire(wire)
        soa = next(r for r in m.answer + m.authority if r.rdtype == dns.rdatatype.SOA)
        assert soa[0].serial == 2
        assert validate_soa(wire, keys) == 1
    q = dns.message.make_query("h7.example.com.", "A", want_dnssec=True)
    m = dns.message.from_wire(image.answer(q.to_wire()))
    a = m.find_rrset(m.answer, dns.name.from_text("h7.example.com."), dns.rdataclass.IN,
                     dns.rdatatype.A)
    sig = m.find_rrset(m.answer, a.name, dns.rdataclass.IN, dns.rdatatype.RRSIG,
                       dns.rdatatype.A)
    dns.dnssec.validate(a, sig, keys, now=1765000000)
    assert a[0].address == "192.0.2.77"


DS_SETUP = [("upsert", "sub.example.com.", "NS", 0, "ns.sub.example.com."),
            ("upsert", "ns.sub.example.com.", "A", 1, "a.example.com."),
            ("upsert", "a.sub.example.com.", "TXT", 1, "a.example.com."),
            ("upsert", "www.example.com.", "CNAME", 0, "a.sub.example.com.")]
# (the batch, the DS key tag the referral must then carry, None: no DS)
DS_BATCHES = [([("upsert", "sub.example.com.", "DS", 1, "ns.sub.example.com.")], 1),
              ([("upsert", "sub.example.com.", "DS", 2, "ns.sub.example.com.")], 2),
              ([("delete", "sub.example.com.", "DS", 0, "ns.sub.example.com.")], None)]


@pytest.mark.parametrize("denial", ["compact", "nsec3"])
@pytest.mark.parametrize("label,image_class", engines())
def test_ds_made_and_removed_at_a_cut_patches_every_referral_below_it(label, image_class,
                                                                      denial):
    """A change batch that makes, changes or removes the DS at an existing
    delegation is patched in (no full compile), and then every referral to
    it (at the cut, for a name below it with or without a node, through a
    CNAME chain) carries with DO the new DS under a valid RRSIG, or the
    proof of none, as a full compile answers; without DO, never a DS."""
    state = SignedState(signed_keys(base.ORIGINS, denial=denial))
    for op in DS_SETUP:
        state.apply(op)
    zones = state.zones()
    ic = IncrementalCompiler(zones, image_class)
    names = ("sub.example.com.", "a.sub.example.com.", "zz.a.sub.example.com.",
             "ns.sub.example.com.", "www.example.com.")
    for batch, tag in DS_BATCHES:
        new_zones, changed = base.apply_batch(state, batch, zones)
        patched = ic.update(new_zones, changed)
        full = image_class(compile_zones(new_zones).arrays())
        keys = dnskey_rrsets(full, ["example.com."])
        for wire, _do in QUERIES:
            assert same_answer(patched.answer(wire), full.answer(wire)), \
                (label, dns.message.from_wire(wire).question)
        for name in names:
            for do in (True, False):
                q = dns.message.make_query(name, "A", want_dnssec=do)
                q.id = 7
                got = patched.answer(q.to_wire())
                assert same_answer(got, full.answer(q.to_wire()))
                m = dns.message.from_wire(got)
                sub = dns.name.from_text("sub.example.com.")
                assert m.find_rrset(m.authority, sub, dns.rdataclass.IN, dns.rdatatype.NS)
                ds = [rs for rs in m.authority if rs.rdtype == dns.rdatatype.DS]
                if not do or tag is None:
                    assert not ds, (name, do)
                    continue
                (ds,) = ds
                assert ds.name == sub and [rd.key_tag for rd in ds] == [tag]
                sig = m.find_rrset(m.authority, sub, dns.rdataclass.IN, dns.rdatatype.RRSIG,
                                   dns.rdatatype.DS)
                dns.dnssec.validate(ds, sig, keys, now=1765000000)
        zones = new_zones
