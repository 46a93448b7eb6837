"""ZSK rollover by pre-publication (dnssec/rollover.py, RFC 7583 §3.2) with
shortened timings: the plan's stages, and through the signing state and the
compiler, the property that makes it safe: at every step the answers
validate both against the DNSKEY RRset served then and against the one
served a step earlier (what a validator may still hold in its cache)."""
from __future__ import annotations

import dns.dnssec
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


def answer(image, name, rdtype):
    q = dns.message.make_query(name, rdtype, use_edns=0, want_dnssec=True)
    return dns.message.from_wire(image.answer(q.to_wire(), False, None, 0))


def test_zsk_rollover_keeps_validating(tmp_path, monkeypatch):
    import zonefront.dnssec.zonekeys as zk

    store = Store(str(tmp_path))
    arn = "arn:aws:kms:us-east-1:111122223333:key/roll"
    key = KeyStore(str(tmp_path)).get(arn, create=True)
    with store.transaction():
        dnssecstore.insert_ksk(store, "ZROLL", "ksk_roll", "r", arn, key.public_key, "ACTIVE")
        dnssecstore.set_signing(store, "ZROLL", True)
    zone = parse_zone_text(ZONE, "roll.test.")
    zone.source = "/hostedzone/ZROLL"
    clock = [1_000_000.0]
    monkeypatch.setattr(zk.time, "time", lambda: clock[0])
    state = SigningState(store, str(tmp_path), validity=3600, zsk_lifetime=100, zsk_lead=10)
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
