"""What the registry adds to the served DNS: one zone per operator TLD, and
the rule that decides which hosted zones below those TLDs are reachable.

A TLD zone holds its SOA and NS, and for every registered domain that is
not in redemption its delegation: NS (glue-free, or with A/AAAA glue for
in-domain name servers) and DS when keys are associated.

Route 53 serves every hosted zone from its own name servers, and a resolver
only reaches one through the parent's delegation.  Here the TLD and the
hosted zones share one server, which would answer a hosted zone below a
registry TLD with or without a delegation; so such a zone is published only
while its domain is registered here and delegated to the name servers the
zone itself lists.  A deleted, expired or re-delegated domain therefore
stops resolving through zonefront, as it would on the Internet.
"""
from __future__ import annotations

import threading

from .. import model, rdata
from ..aws import names as r53names
from ..config import Config
from . import dnssec
from .store import RegistryStore

SOA_TIMERS = "1800 900 604800 86400"  # refresh retry expire minimum (RFC 1912 §2.2)
DELEGATED = ("active", "expired")  # states whose delegation is in the TLD zone


def _wire(text: str) -> bytes:
    return r53names.name_from_text(text)


def _host(wire: bytes) -> str:
    return r53names.name_to_text(wire).rstrip(".").lower()


class RegistryZones:
    """Builds the TLD zones (cached per TLD serial) and filters hosted zones."""

    def __init__(self, rs: RegistryStore, config: Config):
        self.rs = rs
        self.config = config
        self.rc = config.registry
        self._cache: dict[str, tuple[int, model.Zone]] = {}
        self._lock = threading.Lock()

    def tld_zones(self) -> list[model.Zone]:
        serials = self.rs.serials()
        out = []
        with self._lock:
            stale = [t for t in self.rc.tlds
                     if t not in self._cache or self._cache[t][0] != serials.get(t, 0)]
            if stale:
                domains = self.rs.domains(states=DELEGATED)
                ds = self.rs.all_ds()
                for tld in stale:
                    mine = [d for d in domains if d.tld == tld]
                    self._cache[tld] = (serials.get(tld, 0),
                                        self._build(tld, serials.get(tld, 0), mine, ds))
            for tld in self.rc.tlds:
                out.append(self._cache[tld][1])
        return out

    def _build(self, tld: str, serial: int, domains, ds: dict) -> model.Zone:
        origin = _wire(tld + ".")
        zone = model.Zone(origin=origin, source=f"registry:{tld}")
        ns = self.rc.nameservers or self.config.nameservers
        soa = f"{ns[0]} hostmaster.{tld}. {serial + 1} {SOA_TIMERS}"
        zone.add(origin, model.TYPE_SOA, 900, rdata.from_text(model.TYPE_SOA, soa, model.ROOT))
        for n in ns:
            zone.add(origin, model.TYPE_NS, self.rc.delegation_ttl,
                     rdata.from_text(model.TYPE_NS, n, model.ROOT))
        ttl = self.rc.delegation_ttl
        for d in domains:
            owner = _wire(d.name + ".")
            for entry in d.nameservers:
                host = entry["Name"].rstrip(".") + "."
                zone.add(owner, model.TYPE_NS, ttl, rdata.from_text(model.TYPE_NS, host,
                                                                    model.ROOT))
                for ip in entry.get("GlueIps") or []:
                    rtype = model.TYPE_AAAA if ":" in ip else model.TYPE_A
                    zone.add(_wire(host), rtype, ttl, rdata.from_text(rtype, ip, model.ROOT))
            for k in ds.get(d.name, []):
                zone.add(owner, model.TYPE_DS, self.rc.ds_ttl, dnssec.ds_rdata(k))
        return zone

    def served(self, hosted: list[model.Zone]) -> list[model.Zone]:
        """Hosted zones that stay published, then the TLD zones."""
        if not self.rc.tlds:
            return hosted
        tlds = [(t, _wire(t + ".")) for t in self.rc.tlds]
        delegated = {d.name: {e["Name"].rstrip(".").lower() for e in d.nameservers}
                     for d in self.rs.domains(states=DELEGATED)}
        apex_ns: dict[str, set[str]] = {}
        for z in hosted:
            if not z.private:
                ns = z.get(z.origin, model.TYPE_NS)
                if ns is not None:
                    apex_ns.setdefault(_host(z.origin), set()).update(
                        _host(model.read_name(r, 0)[0]) for r in ns.rdatas)
        out = []
        for z in hosted:
            if z.private:
                out.append(z)
                continue
            under = [(t, w) for t, w in tlds if model.is_subdomain(z.origin, w)]
            if not under:
                out.append(z)
                continue
            tld, tld_wire = max(under, key=lambda tw: len(tw[1]))
            if z.origin == tld_wire:
                continue  # the registry's own zone wins
            labels = _host(z.origin).split(".")
            domain = ".".join(labels[-(len(tld.split(".")) + 1):])
            ours = apex_ns.get(domain) or {n.rstrip(".").lower()
                                           for n in self.config.nameservers}
            if delegated.get(domain, set()) & ours:
                out.append(z)
        return out + self.tld_zones()
