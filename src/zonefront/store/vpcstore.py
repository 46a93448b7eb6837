"""Private hosted zones in the store: VPCs defined through the API, VPC
association authorizations, the account that owns each hosted zone, and
the VPC list of a zone (the zones table's `vpcs` column).  The tables are
created on first use, beside store/sqlite.py's schema, so that older data
directories gain them without a migration (as store/cidrstore.py does)."""
from __future__ import annotations

import json
import time

from .sqlite import Store, ZoneRow, _ZONE_COLS, _zone

_SCHEMA = """
CREATE TABLE IF NOT EXISTS vpcs (
    id       TEXT PRIMARY KEY,             -- VPCId
    region   TEXT NOT NULL,                -- VPCRegion
    cidrs    TEXT NOT NULL,                -- JSON list of canonical CIDR blocks
    account  TEXT NOT NULL,                -- owning account id
    created  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS vpc_authorizations (
    zone_id  TEXT NOT NULL,                -- hosted zone (bare id)
    region   TEXT NOT NULL,
    vpc_id   TEXT NOT NULL,
    created  REAL NOT NULL,
    PRIMARY KEY (zone_id, region, vpc_id)
);
-- the account that created a hosted zone: a zone without a row belongs to
-- api.account_id (zones made before accounts were recorded, or by import)
CREATE TABLE IF NOT EXISTS zone_accounts (
    zone_id  TEXT PRIMARY KEY,
    account  TEXT NOT NULL
);
"""


def ensure(store: Store) -> None:
    store.ensure_tables("vpc", _SCHEMA)


# -- VPC definitions -------------------------------------------------------

def _vpc(row) -> dict:
    return {"id": row[0], "region": row[1], "cidrs": json.loads(row[2]), "account": row[3]}


def list_vpcs(store: Store) -> list[dict]:
    """{id, region, cidrs, account} of every VPC defined through the API, by id."""
    ensure(store)
    with store.lock:
        rows = store.db.execute("SELECT id, region, cidrs, account FROM vpcs "
                                "ORDER BY id").fetchall()
    return [_vpc(r) for r in rows]


def get_vpc(store: Store, vpc_id: str) -> dict | None:
    ensure(store)
    with store.lock:
        row = store.db.execute("SELECT id, region, cidrs, account FROM vpcs WHERE id=?",
                               (vpc_id,)).fetchone()
    return _vpc(row) if row else None


def put_vpc(store: Store, vpc_id: str, region: str, cidrs: list[str], account: str) -> None:
    """Define or redefine a VPC; inside the caller's transaction."""
    ensure(store)
    cur = store.db.execute("UPDATE vpcs SET region=?, cidrs=? WHERE id=?",
                           (region, json.dumps(cidrs), vpc_id))
    if cur.rowcount == 0:
        store.db.execute("INSERT INTO vpcs (id, region, cidrs, account, created) "
                         "VALUES (?,?,?,?,?)", (vpc_id, region, json.dumps(cidrs), account,
                                                time.time()))


def delete_vpc(store: Store, vpc_id: str) -> None:
    ensure(store)
    store.db.execute("DELETE FROM vpcs WHERE id=?", (vpc_id,))


# -- zones and their VPCs --------------------------------------------------

def private_zones(store: Store) -> list[ZoneRow]:
    """Every private hosted zone, in creation order."""
    with store.lock:
        rows = store.db.execute(f"SELECT {_ZONE_COLS} FROM zones WHERE private=1 "
                                "ORDER BY seq").fetchall()
    return [_zone(r) for r in rows]


def zones_with_vpc(store: Store, region: str, vpc_id: str) -> list[ZoneRow]:
    """Private zones associated with the VPC, in creation order (few zones per
    VPC and a few hundred zones per account: a scan is cheap)."""
    return [z for z in private_zones(store) if has_vpc(z, region, vpc_id)]


def zones_with_vpc_id(store: Store, vpc_id: str) -> list[ZoneRow]:
    return [z for z in private_zones(store) if any(v.get("VPCId") == vpc_id for v in z.vpcs)]


def has_vpc(z: ZoneRow, region: str, vpc_id: str) -> bool:
    return any(v.get("VPCId") == vpc_id and v.get("VPCRegion") == region for v in z.vpcs)


def set_zone_vpcs(store: Store, zone_id: str, vpcs: list[dict]) -> None:
    store.db.execute("UPDATE zones SET vpcs=? WHERE id=?",
                     (json.dumps([{"VPCRegion": v["VPCRegion"], "VPCId": v["VPCId"]}
                                  for v in vpcs]), zone_id))


# -- zone owners -----------------------------------------------------------

def set_zone_account(store: Store, zone_id: str, account: str) -> None:
    ensure(store)
    store.db.execute("INSERT OR REPLACE INTO zone_accounts VALUES (?,?)", (zone_id, account))


def zone_account(store: Store, zone_id: str, default: str) -> str:
    ensure(store)
    with store.lock:
        row = store.db.execute("SELECT account FROM zone_accounts WHERE zone_id=?",
                               (zone_id,)).fetchone()
    return row[0] if row else default


def forget_zone(store: Store, zone_id: str) -> None:
    """A deleted hosted zone takes its authorizations and owner with it."""
    ensure(store)
    store.db.execute("DELETE FROM vpc_authorizations WHERE zone_id=?", (zone_id,))
    store.db.execute("DELETE FROM zone_accounts WHERE zone_id=?", (zone_id,))


# -- association authorizations -------------------------------------------

def authorizations(store: Store, zone_id: str) -> list[tuple[str, str]]:
    """(region, vpc id) authorized for the zone, in that order (the paging key)."""
    ensure(store)
    with store.lock:
        return [tuple(r) for r in store.db.execute(
            "SELECT region, vpc_id FROM vpc_authorizations WHERE zone_id=? "
            "ORDER BY region, vpc_id", (zone_id,)).fetchall()]


def is_authorized(store: Store, zone_id: str, region: str, vpc_id: str) -> bool:
    ensure(store)
    with store.lock:
        return store.db.execute("SELECT 1 FROM vpc_authorizations WHERE zone_id=? AND "
                                "region=? AND vpc_id=?", (zone_id, region, vpc_id)
                                ).fetchone() is not None


def authorize(store: Store, zone_id: str, region: str, vpc_id: str) -> None:
    ensure(store)
    store.db.execute("INSERT OR IGNORE INTO vpc_authorizations VALUES (?,?,?,?)",
                     (zone_id, region, vpc_id, time.time()))


def deauthorize(store: Store, zone_id: str, region: str, vpc_id: str) -> bool:
    ensure(store)
    cur = store.db.execute("DELETE FROM vpc_authorizations WHERE zone_id=? AND region=? AND "
                           "vpc_id=?", (zone_id, region, vpc_id))
    return cur.rowcount > 0
