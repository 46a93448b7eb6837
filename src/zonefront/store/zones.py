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

import threading

from .. import model, rdata
from ..api import names
from .sqlite import Store, ZoneRow


class ZoneCache:
    """model.Zone per hosted zone, kept in step with the store.

    A zone whose version moved is patched when every version in between came
    with the owner names it touched (`note()`, from the API after commit):
    only those names are re-read.  Otherwise (first load, another process
    wrote) the zone is rebuilt whole.  Zones handed to publish() are never
    mutated afterwards: a patch works on a copy.
    """

    def __init__(self) -> None:
        # zone id -> (version, zone without aliases, alias rows)
        self._by_id: dict[str, tuple[int, model.Zone, list]] = {}
        # zone id -> version -> owner names (wire) that version touched
        self._touched: dict[str, dict[int, set[bytes]]] = {}
        self._lock = threading.Lock()
        self.rebuilds = 0  # whole-zone rebuilds (stats, tests)
        self.patches = 0

    def note(self, zone_id: str, version: int, owners: set[bytes]) -> None:
        with self._lock:
            self._touched.setdefault(zone_id, {})[version] = set(owners)

    def zones(self, store: Store) -> list[model.Zone]:
        with store.lock:
            versions = store.zone_versions()
            for zid in list(self._by_id):
                if zid not in versions:
                    del self._by_id[zid]
            for zid, ver in versions.items():
                hit = self._by_id.get(zid)
                if hit is not None and hit[0] == ver:
                    continue
                with self._lock:
                    log = self._touched.get(zid, {})
                    owners: set[bytes] | None = set()
                    if hit is None:
                        owners = None
                    else:
                        for v in range(hit[0] + 1, ver + 1):
                            if v not in log:
                                owners = None
                                break
                            owners |= log[v]
                    for v in [v for v in log if v <= ver]:
                        del log[v]
                    if owners is not None:
                        owners.add(hit[1].origin)  # bump_zone raised the SOA serial
                if owners is None:
                    zone, aliases = build_zone(store, store.get_zone(zid))
                    self.rebuilds += 1
                else:
                    zone, aliases = patch_zone(store, zid, hit[1], hit[2], owners)
                    self.patches += 1
                self._by_id[zid] = (ver, zone, aliases)
        return resolve_aliases({zid: (z, a) for zid, (_v, z, a) in self._by_id.items()})


def _add_rows(zone: model.Zone, aliases: list, rows) -> None:
    for r in rows:
        owner = names.name_from_text(r.rrset["Name"])
        if "AliasTarget" in r.rrset:
            aliases.append((owner, r.rtype, r.rrset["AliasTarget"]))
            continue
        rtype = rdata.rrtype_from_text(r.rtype)
        for w in r.wire:
            zone.add(owner, rtype, r.rrset["TTL"], w)


def patch_zone(store: Store, zone_id: str, zone: model.Zone, aliases: list,
               owners: set[bytes]) -> tuple[model.Zone, list]:
    new = model.Zone(origin=zone.origin, source=zone.source, private=zone.private,
                     rrsets={k: v for k, v in zone.rrsets.items() if k[0] not in owners})
    new_aliases = [a for a in aliases if a[0] not in owners]
    for owner in owners:
        _add_rows(new, new_aliases, store.rrsets_at(zone_id, names.sort_key(owner)))
    return new, new_aliases


def build_zone(store: Store, z: ZoneRow) -> tuple[model.Zone, list]:
    zone = model.Zone(origin=names.name_from_text(z.name), source=f"/hostedzone/{z.id}",
                      private=bool(z.private))
    aliases: list = []
    _add_rows(zone, aliases, store.list_rrsets(z.id))
    return zone, aliases


def resolve_aliases(by_id: dict[str, tuple[model.Zone, list]]) -> list[model.Zone]:
    out = []
    for zid, (zone, aliases) in by_id.items():
        if not aliases:
            out.append(zone)
            continue
        copy = model.Zone(origin=zone.origin, rrsets=dict(zone.rrsets), source=zone.source,
                          private=zone.private)
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
