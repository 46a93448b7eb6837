"""ZSK rollover by pre-publication (dnssec/rollover.py, RFC 7583 §3.2) with
shortened timings: the plan's stages and timing rules (a new key published
for the pre-publication interval before it signs, the old one kept until the
zone's largest TTL plus the propagation delay has passed, rolls that go on
after the first), the [dnssec] keys that set them, and through the signing
state and the compiler, the property that makes it safe: at every step the
answers validate both against the DNSKEY RRset served then and against the
one served a step earlier (what a validator may still hold in its cache).
tests/unit/dnssec/test_rollover_live.py runs rollovers under unbound."""
from __future__ import annotations

import dns.dnssec
import pytest
import dns.message
import dns.name
import dns.rdatatype

from zonefront.dnssec import rollover
from zonefront.dnssec.keystore import KeyStore
from zonefront.dnssec.zonekeys import SigningState
from zonefront.ref.engine import RefImage
from zonefront.snapshot.compiler import compile_zones
from zonefront.store import dnssecstore
from zonefront.store.sqlite import Store
from zonefront.zonefile import parse_zone_text

ORIGIN = dns.name.from_text("roll.test.")
ZONE = """$ORIGIN roll.test.
$TTL 60
@ IN SOA ns1 hostmaster 1 3600 600 86400 60
@ NS ns1
ns1 A 192.0.2.53
www A 192.0.2.1
"""


def test_plan_stages():
    L, P = 100, 10
    gens = [(0, 0.0)]
    assert rollover.plan(gens, 50, L, P) == rollover.Plan(0, (0,), False, (), 90)
    p = rollover.plan(gens, 90, L, P)
    assert p.create and p.active == 0
    gens.append((1, 90.0))
    p = rollover.plan(gens, 95, L, P)  # the new key is published, the old one signs
    assert (p.active, p.published, p.create, p.next_event) == (0, (0, 1), False, 100)
    p = rollover.plan(gens, 100, L, P)  # the new key signs, the old one stays published
    assert (p.active, p.published, p.drop) == (1, (0, 1), ())
    p = rollover.plan(gens, 110, L, P)  # the old key's signatures have left caches
    assert (p.active, p.published, p.drop) == (1, (1,), (0,))


def test_plan_goes_on_rolling_after_the_first_roll():
    """Once generation 0 is dropped, generation 1 is first in the list but
    still began signing `lead` after it was created: its successor is due
    `lifetime` after that, and the plan always names a next wake-up."""
    L, P = 100, 10
    p = rollover.plan([(1, 90.0)], 110, L, P)
    assert (p.active, p.published, p.create, p.drop, p.next_event) == (1, (1,), False, (), 190)
    p = rollover.plan([(1, 90.0)], 190, L, P)
    assert p.create and p.next_event == 190  # due now, and it still wakes the publisher
    gens, now, signed_by, created = [(0, 0.0)], 0.0, [], {}
    while now <= 5 * L:  # the store following each plan, as SigningState does
        p = rollover.plan(gens, now, L, P)
        while p.create or p.drop:
            gens = [g for g in gens if g[0] not in p.drop]
            if p.create:
                gens.append((gens[-1][0] + 1, now))
                created[gens[-1][0]] = now
            p = rollover.plan(gens, now, L, P)
        assert p.next_event > now
        if not signed_by or signed_by[-1][1] != p.active:
            signed_by.append((now, p.active))
        now += 1
    # a new key every lifetime, each signing `P` after it was published
    assert signed_by == [(0, 0), (100, 1), (200, 2), (300, 3), (400, 4), (500, 5)]
    assert all(t - created[g] == P for t, g in signed_by[1:])


def test_retire_interval_covers_the_largest_ttl():
    assert rollover.retire_interval(lead=10, largest_ttl=3, propagation=2) == 10
    assert rollover.retire_interval(lead=10, largest_ttl=300, propagation=60) == 360
    gens = [(0, 0.0), (1, 90.0)]  # generation 1 signs from 100
    p = rollover.plan(gens, 110, 1000, 10, retire=360)
    assert (p.published, p.drop, p.next_event) == ((0, 1), (), 460)
    p = rollover.plan(gens, 459, 1000, 10, retire=360)
    assert (p.published, p.drop) == ((0, 1), ())
    p = rollover.plan(gens, 460, 1000, 10, retire=360)
    assert (p.published, p.drop) == ((1,), (0,))


def answer(image, name, rdtype):
    q = dns.message.make_query(name, rdtype, use_edns=0, want_dnssec=True)
    return dns.message.from_wire(image.answer(q.to_wire(), False, None, 0))


def test_zsk_rollover_keeps_validating(tmp_path, monkeypatch):
    zone = parse_zone_text(ZONE, "roll.test.")
    zone.source = "/hostedzone/ZROLL"
    clock = [1_000_000.0]
    store, state = signing_state(tmp_path, monkeypatch, clock, validity=3600, zsk_lifetime=100,
                                 zsk_lead=10, propagation=5)
    previous = None
    zsk_tags = []
    for step in range(0, 240, 5):
        clock[0] = 1_000_000.0 + step
        signed = state.apply([zone])[0]
        image = RefImage(compile_zones([signed]).arrays())
        m = answer(image, "roll.test.", "DNSKEY")
        dnskey = m.find_rrset(m.answer, ORIGIN, dns.rdataclass.IN, dns.rdatatype.DNSKEY)
        zsks = sorted(dns.dnssec.key_id(k) for k in dnskey if k.flags == 256)
        a = answer(image, "www.roll.test.", "A")
        rrset = a.find_rrset(a.answer, dns.name.from_text("www.roll.test."), dns.rdataclass.IN,
                             dns.rdatatype.A)
        sig = a.find_rrset(a.answer, rrset.name, rrset.rdclass, dns.rdatatype.RRSIG,
                           dns.rdatatype.A)
        dns.dnssec.validate(rrset, sig, {ORIGIN: dnskey})
        if previous is not None:
            dns.dnssec.validate(rrset, sig, {ORIGIN: previous})  # a cached DNSKEY RRset
        previous = dnskey
        zsk_tags.append((tuple(zsks), sig[0].key_tag))
    signing = [t for _z, t in zsk_tags]
    # the ZSK changed at least twice, and each new one was published before it signed
    assert len(set(signing)) >= 3
    for i in range(1, len(zsk_tags)):
        if signing[i] != signing[i - 1]:
            assert signing[i] in zsk_tags[i - 1][0]
    assert max(len(z) for z, _t in zsk_tags) == 2 and min(len(z) for z, _t in zsk_tags) == 1
    store.close()


def zsk_tags(signed) -> tuple[list[int], int]:
    """(ZSK tags in the DNSKEY RRset, TTL of that RRset) of a signed zone as served."""
    image = RefImage(compile_zones([signed]).arrays())
    m = answer(image, "roll.test.", "DNSKEY")
    dnskey = m.find_rrset(m.answer, ORIGIN, dns.rdataclass.IN, dns.rdatatype.DNSKEY)
    return sorted(dns.dnssec.key_id(k) for k in dnskey if k.flags == 256), dnskey.ttl


def signing_state(tmp_path, monkeypatch, clock, validity=86400, **kw):
    """(store, SigningState) for zone ZROLL with one ACTIVE KSK, signing
    on, its clock read from `clock[0]`."""
    import zonefront.dnssec.zonekeys as zk

    store = Store(str(tmp_path))
    arn = "arn:aws:kms:us-east-1:111122223333:key/roll"
    key = KeyStore(str(tmp_path)).get(arn, create=True)
    with store.transaction():
        dnssecstore.insert_ksk(store, "ZROLL", "ksk_roll", "r", arn, key.public_key, "ACTIVE")
        dnssecstore.set_signing(store, "ZROLL", True)
    monkeypatch.setattr(zk.time, "time", lambda: clock[0])
    return store, SigningState(store, str(tmp_path), validity=validity, **kw)


def roll_zone(www_ttl: int):
    zone = parse_zone_text(ZONE.replace("www A", f"www {www_ttl} A"), "roll.test.")
    zone.source = "/hostedzone/ZROLL"
    return zone


def test_old_zsk_stays_until_the_largest_ttl_at_the_switch_has_passed(tmp_path, monkeypatch):
    """lifetime 1000 s, pre-publication 10 s, propagation 20 s, www's TTL 300 s
    when the new key starts signing (t=1000): the old key stays in the DNSKEY
    RRset until 1000 + 300 + 20, even though www's TTL drops to 30 in the very
    publish that switches (signatures served before it still carry 300)."""
    t0 = 1_000_000.0
    clock = [t0]
    store, state = signing_state(tmp_path, monkeypatch, clock, zsk_lifetime=1000, zsk_lead=10,
                                 propagation=20, dnskey_ttl=5)
    zone = roll_zone(300)
    seen = {}
    for step in (0, 989, 990, 999, 1000, 1001, 1010, 1319, 1320, 1321):
        clock[0] = t0 + step
        if step == 1000:
            zone = roll_zone(30)
        seen[step] = zsk_tags(state.apply([zone])[0])
    old, ttl = seen[0]
    assert ttl == 5 and len(old) == 1  # dnskey_ttl is the RRset's TTL
    assert seen[989][0] == old
    new = [t for t in seen[990][0] if t not in old]
    assert len(new) == 1 and sorted(old + new) == seen[990][0]  # published, not signing yet
    for step in (999, 1000, 1001, 1010, 1319):
        assert seen[step][0] == seen[990][0], step
    assert seen[1320][0] == seen[1321][0] == new
    assert all(t == 5 for _z, t in seen.values())
    store.close()


def test_old_zsk_stays_the_prepublish_interval_when_ttls_are_short(tmp_path, monkeypatch):
    t0 = 1_000_000.0
    clock = [t0]
    store, state = signing_state(tmp_path, monkeypatch, clock, zsk_lifetime=1000, zsk_lead=100,
                                 propagation=20)
    zone = roll_zone(30)  # largest TTL 60 (the SOA and $TTL): 60 + 20 < 100
    seen = {}
    for step in (0, 900, 1000, 1099, 1100):
        clock[0] = t0 + step
        seen[step], _ttl = zsk_tags(state.apply([zone])[0])
    assert len(seen[0]) == 1 and len(seen[900]) == 2
    assert seen[1000] == seen[1099] == seen[900]
    assert seen[1100] == [t for t in seen[900] if t not in seen[0]]
    store.close()


def test_dnssec_timing_keys_of_the_configuration(tmp_path):
    from zonefront.config import ConfigError, load_config

    path = tmp_path / "zonefront.toml"
    path.write_text("[dnssec]\nzsk_lifetime = 30\nzsk_prepublish = 3\ndnskey_ttl = 2\n"
                    "propagation_delay = 1\n")
    cfg = load_config(str(path))
    assert (cfg.dnssec.zsk_prepublish, cfg.dnssec.dnskey_ttl,
            cfg.dnssec.propagation_delay) == (3, 2, 1)
    path.write_text("")
    cfg = load_config(str(path))
    assert (cfg.dnssec.dnskey_ttl, cfg.dnssec.propagation_delay) == (3600, 60)
    # a new ZSK must be published for the DNSKEY TTL (plus the propagation
    # delay) before it signs, or cached DNSKEY RRsets lack it
    for bad, names in (("zsk_prepublish = 3000", ("dnssec.zsk_prepublish", "dnssec.dnskey_ttl")),
                       ("zsk_prepublish = 10\ndnskey_ttl = 10\npropagation_delay = 1",
                        ("dnssec.zsk_prepublish", "dnssec.propagation_delay")),
                       ("dnskey_ttl = 0", ("dnssec.dnskey_ttl",)),
                       ("propagation_delay = -1", ("dnssec.propagation_delay",)),
                       ("dnskey_ttl = \"1h\"", ("dnssec.dnskey_ttl",))):
        path.write_text(f"[dnssec]\n{bad}\n")
        with pytest.raises(ConfigError) as err:
            load_config(str(path))
        assert all(n in str(err.value) for n in names), (bad, str(err.value))
