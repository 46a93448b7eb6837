"""Hosted zones from the store as model.Zone values for the data plane.

Until the routing issue gives the engine candidate tables, a record set with
a SetIdentifier (weighted, latency, geo, failover, multivalue, CIDR) adds its
records to the plain RRset of its name and type, so every candidate is
served together; the routing fields are kept in the store untouched.  An
alias whose target is a record set in one of our zones is served as a copy
of that record set's records (with the target's TTL); an alias to an AWS
resource (CloudFront, ELB, S3...) is stored but not served.
"""
from __future__ import annotations

from .. import model, rdata
from ..api import names
from .sqlite import Store, ZoneRow


class ZoneCache:
    """model.Zone per hosted zone, rebuilt only when its version moved."""

    def __init__(self) -> None:
        # zone id -> (version, zone without aliases, alias rows)
        self._by_id: dict[str, tuple[int, model.Zone, list]] = {}

    def zones(self, store: Store) -> list[model.Zone]:
        with store.lock:
            versions = store.zone_versions()
            for zid in list(self._by_id):
                if zid not in versions:
                    del self._by_id[zid]
            for zid, ver in versions.items():
                hit = self._by_id.get(zid)
                if hit is None or hit[0] != ver:
                    z = store.get_zone(zid)
                    zone, aliases = build_zone(store, z)
                    self._by_id[zid] = (ver, zone, aliases)
        return resolve_aliases({zid: (z, a) for zid, (_v, z, a) in self._by_id.items()})


def build_zone(store: Store, z: ZoneRow) -> tuple[model.Zone, list]:
    origin = names.name_from_text(z.name)
    zone = model.Zone(origin=origin, source=f"/hostedzone/{z.id}")
    aliases = []
    for r in store.list_rrsets(z.id):
        owner = names.name_from_text(r.rrset["Name"])
        if "AliasTarget" in r.rrset:
            aliases.append((owner, r.rtype, r.rrset["AliasTarget"]))
            continue
        rtype = rdata.rrtype_from_text(r.rtype)
        for w in r.wire:
            zone.add(owner, rtype, r.rrset["TTL"], w)
    return zone, aliases


def resolve_aliases(by_id: dict[str, tuple[model.Zone, list]]) -> list[model.Zone]:
    out = []
    for zid, (zone, aliases) in by_id.items():
        if not aliases:
            out.append(zone)
            continue
        copy = model.Zone(origin=zone.origin, rrsets=dict(zone.rrsets), source=zone.source)
        for owner, rtype_text, target in aliases:
            tz = by_id.get(target["HostedZoneId"])
            if tz is None:
                continue
            rtype = rdata.rrtype_from_text(rtype_text)
            src = tz[0].get(names.name_from_text(target["DNSName"]), rtype)
            if src is None:
                continue
            key = (owner, rtype)
            if key in copy.rrsets:
                merged = model.RRset(owner, rtype, copy.rrsets[key].ttl,
                                     list(copy.rrsets[key].rdatas))
                for w in src.rdatas:
                    if w not in merged.rdatas:
                        merged.rdatas.append(w)
                copy.rrsets[key] = merged
            else:
                copy.rrsets[key] = model.RRset(owner, rtype, src.ttl, list(src.rdatas))
        out.append(copy)
    return out
