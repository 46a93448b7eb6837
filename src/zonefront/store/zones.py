"""Hosted zones from the store as model.Zone values for the data plane.

A record set with a SetIdentifier (weighted, latency, geolocation,
geoproximity, failover, multivalue, IP-based) and every alias record set
(with or without a SetIdentifier) becomes a model.RoutedRRset in
`zone.routed`, carrying every Route 53 field the compiled core chooses on;
simple record sets stay in `zone.rrsets`.  Alias targets are not resolved
here: the core answers an alias from its target per query (the target may
itself be routed), and an alias to an AWS resource (CloudFront, ELB, S3...)
is handed on like any other, for the core to answer NODATA.
"""
from __future__ import annotations

from .. import lightclass
import json
import re
import threading

from .. import model, rdata, trafficflow
from ..aws import names
from .sqlite import Store, ZoneRow

# Local Zone groups are named after their parent region ("us-west-2-lax-1")
_LOCAL_ZONE_GROUP = re.compile(r"^([a-z]+(?:-[a-z]+)+-\d+)-[a-z]+-\d+[a-z]?$")


class ZoneCache:
    """model.Zone per hosted zone, kept in step with the store.

    A zone whose version moved is patched when every version in between came
    with the owner names it touched (`note()`, from the API after commit):
    only those names are re-read.  Otherwise (first load, another process
    wrote) the zone is rebuilt whole.  Zones handed to publish() are never
    mutated afterwards: a patch works on a copy.

    Every zone carries its `private` flag and `vpcs` as committed.  A VPC
    association change leaves the version alone (no record changes), so
    they are compared on every call and a zone whose VPCs moved is handed
    over as a new Zone sharing the unchanged record sets.

    `take_changed()` says what moved since it was last called, for the
    publisher to pass on (serving.ServedZones.publish): per zone origin the
    owner names the patches re-read, or None for a zone built whole, gone,
    or moved between views.
    """

    def __init__(self) -> None:
        # zone id -> (version, zone)
        self._by_id: dict[str, tuple[int, model.Zone]] = {}
        # zone id -> version -> owner names (wire) that version touched
        self._touched: dict[str, dict[int, set[bytes]]] = {}
        self._lock = threading.Lock()
        # origin (lower-cased wire) -> owners touched since take_changed(), or None
        self._changed: dict[bytes, set[bytes] | None] = {}
        self.rebuilds = 0  # whole-zone rebuilds (stats, tests)
        self.patches = 0

    def note(self, zone_id: str, version: int, owners: set[bytes]) -> None:
        with self._lock:
            self._touched.setdefault(zone_id, {})[version] = set(owners)

    def take_changed(self) -> dict[bytes, set[bytes] | None]:
        """zone origin (lower-cased wire) -> owner names (lower-cased wire)
        touched since the previous call, or None when the zone was built
        whole, removed, or changed its private flag or VPCs (it moves
        between views).  Zones not named are the same objects as before."""
        with self._lock:
            changed, self._changed = self._changed, {}
        return changed

    def _touch(self, origin: bytes, owners: set[bytes] | None) -> None:
        key = model.name_lower(origin)
        with self._lock:
            if key in self._changed and self._changed[key] is None:
                return
            if owners is None:
                self._changed[key] = None
            else:
                self._changed.setdefault(key, set()).update(owners)

    def zones(self, store: Store) -> list[model.Zone]:
        with store.lock:
            versions = store.zone_versions()
            views = zone_views(store)
            for zid in list(self._by_id):
                if zid not in versions:
                    self._touch(self._by_id.pop(zid)[1].origin, None)
            for zid, ver in versions.items():
                hit = self._by_id.get(zid)
                if hit is not None and hit[0] == ver:
                    private, vpcs = views.get(zid, (False, []))
                    if hit[1].private != private or hit[1].vpcs != vpcs:
                        self._by_id[zid] = (ver, lightclass.replace(
                            hit[1], private=private, vpcs=vpcs))
                        self._touch(hit[1].origin, None)
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
                    zone = build_zone(store, store.get_zone(zid))
                    self.rebuilds += 1
                else:
                    zone = patch_zone(store, zid, hit[1], owners, views.get(zid))
                    self.patches += 1
                    if (zone.private, zone.vpcs) != (hit[1].private, hit[1].vpcs):
                        owners = None
                self._touch(zone.origin, owners)
                self._by_id[zid] = (ver, zone)
        return [z for (_v, z) in self._by_id.values()]


def zone_views(store: Store) -> dict[str, tuple[bool, list[tuple[str, str]]]]:
    """zone id -> (private, [(region, vpc id)]) for every hosted zone."""
    with store.lock:
        rows = store.db.execute("SELECT id, private, vpcs FROM zones").fetchall()
    return {r[0]: (bool(r[1]), _vpc_pairs(json.loads(r[2]))) for r in rows}


def _vpc_pairs(vpcs: list) -> list[tuple[str, str]]:
    return [(v["VPCRegion"], v["VPCId"]) for v in vpcs]


def routed_from_rrset(owner: bytes, rtype: int, rrs: dict, wire: list[bytes]) -> model.RoutedRRset:
    """A stored Route 53 ResourceRecordSet (already validated) as the core's model."""
    r = model.RoutedRRset(owner=owner, rtype=rtype, ttl=int(rrs.get("TTL") or 0),
                          rdatas=list(wire), set_id=rrs.get("SetIdentifier"))
    if rrs.get("Weight") is not None:
        r.weight = int(rrs["Weight"])
    r.region = rrs.get("Region")
    geo = rrs.get("GeoLocation")
    if geo is not None:
        r.geo_continent = geo.get("ContinentCode")
        r.geo_country = geo.get("CountryCode")
        r.geo_subdivision = geo.get("SubdivisionCode")
    prox = rrs.get("GeoProximityLocation")
    if prox is not None:
        r.geoprox_bias = int(prox.get("Bias") or 0)
        if prox.get("AWSRegion"):
            r.geoprox_region = prox["AWSRegion"]
        elif prox.get("Coordinates"):
            r.geoprox_lat = float(prox["Coordinates"]["Latitude"])
            r.geoprox_lon = float(prox["Coordinates"]["Longitude"])
        elif prox.get("LocalZoneGroup"):
            # served from its parent region's coordinates (no Local Zone table here)
            m = _LOCAL_ZONE_GROUP.match(prox["LocalZoneGroup"])
            r.geoprox_region = m.group(1) if m else None
    r.failover = rrs.get("Failover")
    r.multivalue = bool(rrs.get("MultiValueAnswer"))
    cfg = rrs.get("CidrRoutingConfig")
    if cfg is not None:
        r.cidr_collection = cfg["CollectionId"]
        r.cidr_location = cfg["LocationName"]
    r.health_check = rrs.get("HealthCheckId")
    alias = rrs.get("AliasTarget")
    if alias is not None:
        r.alias_name = names.name_from_text(alias["DNSName"])  # lower-cased wire
        r.alias_zone = alias["HostedZoneId"]
        r.alias_evaluate_health = bool(alias.get("EvaluateTargetHealth"))
        r.rdatas = []
    return r


def _add_rows(zone: model.Zone, rows) -> None:
    for r in rows:
        owner = names.name_from_text(r.rrset["Name"])
        rtype = rdata.rrtype_from_text(r.rtype)
        if trafficflow.PRIVATE in r.rrset:  # a traffic policy instance: its rule tree
            zone.routed.extend(trafficflow.compile_stored(r.rrset, owner))
            continue
        if r.set_id or "AliasTarget" in r.rrset:
            zone.routed.append(routed_from_rrset(owner, rtype, r.rrset, r.wire))
            continue
        zone.add_rdatas(owner, rtype, r.rrset["TTL"], r.wire)


def patch_zone(store: Store, zone_id: str, zone: model.Zone, owners: set[bytes],
               view: tuple[bool, list[tuple[str, str]]] | None = None) -> model.Zone:
    """`view`: the zone's current (private, vpcs); None keeps the old zone's."""
    private, vpcs = view if view is not None else (zone.private, list(zone.vpcs))
    owners = {model.name_lower(o) for o in owners}
    fresh = model.Zone(origin=zone.origin, rrsets=model.RRsetMap())  # the owners' rows
    for owner in sorted(owners, key=names.sort_key):
        _add_rows(fresh, store.rrsets_at(zone_id, names.sort_key(owner)))
    old = zone.rrsets if isinstance(zone.rrsets, model.RRsetMap) else model.RRsetMap(zone.rrsets)
    new = model.Zone(origin=zone.origin, source=zone.source, private=private, vpcs=vpcs,
                     rrsets=old.with_owners(owners, dict(fresh.rrsets.items())),
                     routed=[r for r in zone.routed if r.owner not in owners] + fresh.routed)
    new.routed.sort(key=_routed_order)
    return new


def _routed_order(r: model.RoutedRRset):
    return (names.sort_key(r.owner), r.rtype, r.set_id or "")


def build_zone(store: Store, z: ZoneRow) -> model.Zone:
    zone = model.Zone(origin=names.name_from_text(z.name), source=f"/hostedzone/{z.id}",
                      private=bool(z.private), vpcs=_vpc_pairs(z.vpcs),
                      rrsets=model.RRsetMap())  # patch_zone shares its shards
    _add_rows(zone, _paged_rrsets(store, z.id))
    zone.routed.sort(key=_routed_order)
    return zone


# rows read at a time when a zone is built whole.  All of a million-record-set
# zone's rows at once (each with its parsed JSON) were ~1 GB that, once freed,
# the allocator could not give back: the kept record sets sat among them
BUILD_PAGE = 2048


def _paged_rrsets(store: Store, zone_id: str, page: int | None = None):
    """Every stored record set of a zone in Route 53's order, `page` rows
    per query.  A page starts at the last name read (`name_key >= ?`, an
    index seek: the three-part start list_rrsets also takes made SQLite scan
    the zone from its first row for every page) and skips as many rows as
    were read of that name (the store's order, whatever its collation)."""
    page = page or BUILD_PAGE
    name, done = None, 0  # the last name read, and how many of its rows
    while True:
        rows = store.list_rrsets(zone_id, None if name is None else (name, None, None), page)
        for r in rows[done:]:
            yield r
            if r.name_key == name:
                done += 1
            else:
                name, done = r.name_key, 1
        if len(rows) < page:
            return
        if len(rows) <= done and all(r.name_key == name for r in rows):
            page *= 2  # one name has more rows than a page