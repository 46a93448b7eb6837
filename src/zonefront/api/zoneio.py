"""`zonefront zone import` / `zone export`: BIND master files in and out of
the store, usable with or without a running server.

Import replaces every record set of the hosted zone with the file's, in one
transaction (a file that fails to parse, or holds a type Route 53 cannot
store, changes nothing).  The file's SOA (the parser requires one) and apex
NS replace the zone's; a file without apex NS keeps the zone's NS.  A running server sees the commit
through SQLite's data_version and publishes it within half a second; the
import also records a change (GetChange works for it like for any other).
"""
from __future__ import annotations

import time

from .. import model, rdata, zonefile
from ..aws import names
from ..aws._route53_model import SHAPES
from ..aws.ids import bare_id, new_id
from ..aws.route53_errors import Route53Error
from ..config import Config
from ..errors import InputError
from ..store.backend import open_store
from ..store.sqlite import RRsetRow, Store, ZoneRow
from ..store.zones import build_zone
from .service import Context, Route53Service

ROUTE53_TYPES = set(SHAPES["RRType"]["enum"])


class ZoneIOError(InputError, ValueError):
    """Import or export refused; the message says why (file errors are
    zonefile.ZoneFileError, which carries .line and .reason)."""


def find_zone(store: Store, zone: str) -> ZoneRow | None:
    """A hosted zone by id ('Z...', '/hostedzone/Z...') or by name."""
    z = store.get_zone(bare_id(zone, "hostedzone"))
    if z is not None:
        return z
    try:
        name = names.name_to_text(names.name_from_text(zone))
    except names.BadName:
        return None
    found = store.zones_by_name(name)
    if len(found) > 1:
        ids = ", ".join(f.id for f in found)
        raise ZoneIOError(f"{name} names {len(found)} hosted zones ({ids}); give the id")
    return found[0] if found else None


def import_zone(data_dir: str, zone_name_or_id: str, path: str,
                config: Config | None = None) -> dict:
    """Load the master file at `path` into the hosted zone (created when no
    zone has that name).  Returns {"zone_id", "name", "rrsets", "change_id"}.
    Raises zonefile.ZoneFileError (with .line, .reason) or ZoneIOError.
    """
    config = config or Config(data_dir=data_dir)
    store = open_store(config)
    try:
        z = find_zone(store, zone_name_or_id)
        origin_text = z.name if z is not None else zone_name_or_id
        try:
            origin = names.name_from_text(origin_text)
        except names.BadName as e:
            raise ZoneIOError(f"{zone_name_or_id!r} is neither a hosted zone id nor a "
                              f"domain name: {e}") from None
        parsed = zonefile.parse_zone_file(path, origin)
        rows = _rows_from_zone(parsed, path)
        if z is None:
            svc = Route53Service(store, config)
            svc.CreateHostedZone({"Name": names.name_to_text(origin),
                                  "CallerReference": f"zonefront-import-{new_id('')}",
                                  "HostedZoneConfig": {"Comment": f"imported from {path}"}},
                                 Context("http://localhost"))
            z = find_zone(store, names.name_to_text(origin))
        if len(rows) > config.max_rrsets_per_zone:
            raise ZoneIOError(f"{path}: {len(rows)} record sets, more than the zone's limit "
                              f"of {config.max_rrsets_per_zone}")
        with store.transaction():
            keep = [r for r in store.rrsets_at(z.id, z.name_key)
                    if r.rtype in ("SOA", "NS") and not r.set_id]
            have = {(r.name_key, r.rtype) for r in rows}
            _check_protections(store, z, keep, rows)
            store.delete_all_rrsets(z.id)
            for r in keep:
                if (r.name_key, r.rtype) not in have:
                    store.put_rrset(z.id, r)
            for r in rows:
                store.put_rrset(z.id, r)
            store.bump_zone(z.id)
            change = store.insert_change(new_id("C"), f"zone import from {path}")
        return {"zone_id": z.id, "name": z.name, "rrsets": store.count_rrsets(z.id),
                "change_id": change.id}
    finally:
        store.close()


def _check_protections(store: Store, z: ZoneRow, keep: list, rows: list) -> None:
    """An import replaces every record set: refuse it when it would change a
    protected one (other records or TTL, removed, or added where none was)."""
    from . import protections

    def content(rs) -> dict:
        out: dict = {}
        for r in rs:
            key = protections.canonical(r.rrset["Name"], r.rtype)
            out.setdefault(key, set()).add(
                (r.set_id, r.rrset.get("TTL"), tuple(sorted(bytes(w) for w in r.wire))))
        return out

    before = content(store.list_rrsets(z.id))
    after = content(rows)
    for key, value in content(keep).items():
        after.setdefault(key, value)
    changed = [k for k in set(before) | set(after) if before.get(k) != after.get(k)]
    try:
        protections.check(store, z.id, changed)
    except Route53Error as e:
        raise ZoneIOError(f"import refused: {e}") from None


def _rows_from_zone(zone: model.Zone, path: str) -> list[RRsetRow]:
    rows = []
    for (owner, rtype), rrset in sorted(zone.rrsets.items(),
                                        key=lambda kv: (names.sort_key(kv[0][0]), kv[0][1])):
        tname = rdata.rrtype_to_text(rtype)
        name = names.name_to_text(owner)
        if tname not in ROUTE53_TYPES:
            raise ZoneIOError(f"{path}: {name} {tname}: Route 53 cannot store records of "
                              f"type {tname} (it accepts {', '.join(sorted(ROUTE53_TYPES))})")
        if tname == "CNAME" and owner == zone.origin:
            raise ZoneIOError(f"{path}: {name} CNAME: a CNAME is not permitted at the apex")
        values = [rdata.to_text(rtype, w) for w in rrset.rdatas]
        rows.append(RRsetRow(names.sort_key(owner), tname, "",
                             {"Name": name, "Type": tname, "TTL": rrset.ttl,
                              "ResourceRecords": [{"Value": v} for v in values]},
                             list(rrset.rdatas)))
    return rows


def export_zone(data_dir: str, zone: str, config: Config | None = None) -> str:
    """The hosted zone as a BIND master file.

    Record sets with routing policies come out merged into plain RRsets (a
    master file cannot say "weighted"); aliases come out as comments.
    """
    store = open_store(config or Config(data_dir=data_dir))
    try:
        z = find_zone(store, zone)
        if z is None:
            raise ZoneIOError(f"no hosted zone {zone!r}")
        mz = build_zone(store, z)
        head = [f"; hosted zone /hostedzone/{z.id} ({z.name}) exported by zonefront "
                f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}"]
        for r in mz.routed:
            owner_text = names.name_to_text(r.owner)
            rtype_text = rdata.rrtype_to_text(r.rtype)
            if r.alias_name is not None:
                head.append(f"; alias {owner_text} {rtype_text} -> "
                            f"{names.name_to_text(r.alias_name)} (zone {r.alias_zone}): "
                            "not representable, omitted")
                continue
            head.append(f"; {owner_text} {rtype_text} set-identifier={r.set_id!r}: "
                        "routing policy not representable, records merged below")
            for w in (w for leaf in r.walk() for w in leaf.rdatas):  # rule trees: every endpoint
                mz.add(r.owner, r.rtype, r.ttl, w)
        return "\n".join(head) + "\n" + zonefile.zone_to_text(mz)
    finally:
        store.close()
