"""Which served zones are signed, and with what: the store's DNSSEC rows and
the key store turned into dnssec.signer.ZoneKeys attached to each signed
public Zone (`zone.dnssec`), for the compiler to sign with.

The zone-signing key is Route 53's to manage, not the user's: one P-256 key
per hosted zone in the key store (`zonefront:zsk:ZONEID`), made on first
use.  A zone whose KSK cannot be read (a key file lost, a token gone) is
served unsigned and GetDNSSEC reports INTERNAL_FAILURE with the reason.

A zone keeps the same signed Zone object while neither its records nor its
keys move, so the incremental compiler sees only real changes; signatures
are refreshed when a third of their validity has passed.

The ZSK rolls by pre-publication (rollover.py).  A replaced ZSK stays in the
DNSKEY RRset until the signatures it made have left caches: the TTLs they
carry are those of the zone served up to the switch, so the zone's largest
TTL is read once per switch (rollover.retire_interval).
"""
from __future__ import annotations

from .. import lightclass
import logging
import os
import time

from ..store import dnssecstore
from . import rollover
from .keystore import KeyStore, KeyStoreError
from .records import FLAG_ZSK
from .signer import DEFAULT_INCEPTION_SKEW, DEFAULT_VALIDITY, ZoneKeys

log = logging.getLogger("zonefront.dnssec")

ZSK_NAME = "zonefront:zsk:{}"


class SigningState:
    def __init__(self, store, data_dir: str, validity: int = DEFAULT_VALIDITY,
                 zsk_lifetime: float = rollover.DEFAULT_LIFETIME,
                 zsk_lead: float = rollover.DEFAULT_LEAD, denial: str = "compact",
                 dnskey_ttl: int = rollover.DEFAULT_DNSKEY_TTL,
                 propagation: float = rollover.DEFAULT_PROPAGATION):
        self.store = store
        self.denial = denial  # "compact" or "nsec3" (config.py DNSSECSettings.denial)
        self.zsk_lifetime, self.zsk_lead = zsk_lifetime, zsk_lead
        self.dnskey_ttl = dnskey_ttl  # TTL of every signed zone's DNSKEY RRset
        self.propagation = propagation  # seconds until every edge serves a publish
        # zone source -> (generation whose start retired the oldest published
        # one, the largest TTL the retiring key's signatures may carry)
        self._switch: dict[str, tuple[int, int]] = {}
        self.keystore = KeyStore(data_dir)
        self.validity = validity
        # signatures start this far back, for validators with slow clocks
        self.skew = min(DEFAULT_INCEPTION_SKEW, validity // 4)
        self._made: dict[str, tuple] = {}  # zone source -> (zone in, key state, zone out)

    def due(self) -> bool:
        """Whether a signed zone's signatures are due for refreshing: the
        publisher then publishes even though no record moved, so that
        signatures never run out on a zone nobody changes."""
        now = int(time.time())
        return any(self._stale(m[2].dnssec, now) or now >= m[3] for m in self._made.values())

    def _stale(self, keys: ZoneKeys, now: int) -> bool:
        return now >= keys.inception + self.skew + self.validity // 3

    def apply(self, zones: list) -> list:
        """`zones` with each signed public zone replaced by a copy carrying
        its ZoneKeys; the others as they are."""
        signing = dnssecstore.signing_zones(self.store)
        if not signing and not self._made and not any(
                (z.source or "").startswith("registry:") for z in zones):
            return zones
        return [self._one(z, signing) for z in zones]

    def _one(self, zone, signing: dict):
        src = zone.source or ""
        if src.startswith("registry:") and not zone.private:
            return self._registry(zone, src[len("registry:"):])
        if zone.private or not src.startswith("/hostedzone/"):
            return zone
        zid = src.rsplit("/", 1)[1]
        if zid not in signing:
            self._made.pop(src, None)
            return zone
        state = {"message": signing[zid]}
        now = int(time.time())
        zplan = self._zsk_plan(zid, now, src, zone)
        active = (tuple((k["name"], k["kms_arn"]) for k in dnssecstore.ksks(self.store, zid)
                        if k["status"] == "ACTIVE"), zplan.active, zplan.published)
        made = self._made.get(src)
        fresh = made is not None and made[1] == active and \
            not self._stale(made[2].dnssec, now)
        if fresh and made[0] is zone:
            return made[2]
        if fresh:  # the records moved, the keys did not: their signatures are reused
            out = lightclass.replace(zone, dnssec=made[2].dnssec)
            self._made[src] = (zone, active, out, zplan.next_event)
            return out
        try:
            ksks = [self.keystore.get(arn) for _n, arn in active[0]]
            if not ksks:
                raise KeyStoreError("KeySigningKeyWithActiveStatusNotFound",
                                    "no ACTIVE key-signing key")
            zsk = self.keystore.get_internal(zsk_name(zid, zplan.active))
            others = [self.keystore.get_internal(zsk_name(zid, g)).public_key
                      for g in zplan.published if g != zplan.active]
        except KeyStoreError as e:
            with self.store.transaction():
                dnssecstore.set_signing(self.store, zid, True, f"Signing failed: {e}")
            if made is not None:
                # the last good keys are still in memory: go on signing with
                # them (never half-signed), and report the failure
                log.error("zone %s: %s; signing with the keys it had", src, e)
                out = lightclass.replace(zone, dnssec=made[2].dnssec)
                self._made[src] = (zone, made[1], out, made[3])
                return out
            log.error("zone %s served unsigned: %s", src, e)
            return zone
        if state["message"]:
            with self.store.transaction():
                dnssecstore.set_signing(self.store, zid, True, None)
        keys = ZoneKeys(zone.origin, ksks, zsk, now - self.skew, now + self.validity,
                        [(FLAG_ZSK, k) for k in others], denial=self.denial,
                        dnskey_ttl=self.dnskey_ttl)
        if made is not None and made[2].dnssec.zsk.public_key == zsk.public_key and \
                made[1][0] == active[0] and not self._stale(made[2].dnssec, now):
            keys.inception, keys.expiration = made[2].dnssec.inception, made[2].dnssec.expiration
            keys.cache = made[2].dnssec.cache  # only the DNSKEY RRset is new
        out = lightclass.replace(zone, dnssec=keys)
        self._made[src] = (zone, active, out, zplan.next_event)
        return out

    def _registry(self, zone, tld: str):
        """The registry's TLD zones are signed with keys of their own (one
        KSK, one ZSK per TLD, in the key store), so a chain of trust runs from
        the TLD's DS, written to DATA_DIR/dnssec-keys/TLD.ds as a resolver's
        trust anchor, through the DS records AssociateDelegationSignerToDomain
        publishes, to the registered domains' signed zones."""
        src = zone.source
        made = self._made.get(src)
        now = int(time.time())
        if made is not None and not self._stale(made[2].dnssec, now):
            if made[0] is zone:
                return made[2]
            out = lightclass.replace(zone, dnssec=made[2].dnssec)
            self._made[src] = (zone, made[1], out, float("inf"))
            return out
        try:
            ksk = self.keystore.get_internal(f"zonefront:registry:ksk:{tld}")
            zsk = self.keystore.get_internal(f"zonefront:registry:zsk:{tld}")
        except KeyStoreError as e:
            log.error("registry zone %s served unsigned: %s", tld, e)
            return zone
        keys = ZoneKeys(zone.origin, [ksk], zsk, now - self.skew, now + self.validity,
                        denial=self.denial, dnskey_ttl=self.dnskey_ttl)
        self._write_anchor(tld, zone.origin, ksk)
        out = lightclass.replace(zone, dnssec=keys)
        self._made[src] = (zone, (), out, float("inf"))
        return out

    def _write_anchor(self, tld: str, origin: bytes, ksk) -> None:
        from .records import FLAG_KSK, ds_text

        text = f"{tld.rstrip('.')}. DS {ds_text(origin, FLAG_KSK, ksk.public_key)}\n"
        path = os.path.join(self.keystore.dir, f"{tld.rstrip('.')}.ds")
        try:
            with open(path) as f:
                if f.read() == text:
                    return
        except OSError:
            pass
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
        log.info("registry TLD %s signed; trust anchor: %s", tld, text.strip())

    def _zsk_plan(self, zid: str, now: int, src: str = "", zone=None) -> rollover.Plan:
        """Where the zone's ZSK rollover stands; the store follows the plan
        until it asks for nothing more (a drop can make a creation due at
        the same instant: stopping after one step would leave a plan that
        never wakes the publisher again)."""
        gens = dnssecstore.zsks(self.store, zid)
        if not gens:
            gens = [(0, now)]
            with self.store.transaction():
                dnssecstore.add_zsk(self.store, zid, 0, now)
        for _ in range(8):
            p = rollover.plan(gens, now, self.zsk_lifetime, self.zsk_lead,
                              self._retire_after(src, zone, gens, now))
            if not (p.create or p.drop):
                return p
            with self.store.transaction():
                for g in p.drop:
                    dnssecstore.drop_zsk(self.store, zid, g)
                if p.create:
                    dnssecstore.add_zsk(self.store, zid, gens[-1][0] + 1, now)
            gens = dnssecstore.zsks(self.store, zid)
        raise RuntimeError(f"zone {zid}: the ZSK rollover plan does not settle")

    def _retire_after(self, src: str, zone, gens: list[tuple[int, float]], now: int) -> float:
        """Seconds the oldest published ZSK stays after its successor signs."""
        lead = self.zsk_lead
        if zone is None or len(gens) < 2 or rollover.activation(gens, 1, lead) > now:
            self._switch.pop(src, None)  # nothing is retiring
            return lead
        held = self._switch.get(src)
        if held is None or held[0] != gens[1][0]:
            # the zone as served up to the switch (the previous publish's
            # input) and as it is now; after a restart, only the latter
            made = self._made.get(src)
            ttl = largest_ttl(zone)
            if made is not None:
                ttl = max(ttl, largest_ttl(made[0]))
            held = self._switch[src] = (gens[1][0], ttl)
        return rollover.retire_interval(lead, held[1], self.propagation)


def largest_ttl(zone) -> int:
    """The largest TTL of the zone's RRsets (routing-policy candidates
    included): how long a signature over one of them may be cached."""
    ttl = max((rs.ttl for rs in zone.rrsets.values()), default=0)
    for top in zone.routed:
        for r in top.walk():
            ttl = max(ttl, r.ttl)
    return ttl


def zsk_name(zid: str, gen: int) -> str:
    """Key store name of a zone's ZSK generation (generation 0 keeps the
    plain name it had before rollovers existed)."""
    return ZSK_NAME.format(zid) if gen == 0 else f"{ZSK_NAME.format(zid)}:{gen}"
