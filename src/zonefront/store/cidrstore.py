"""CIDR collections (IP-based routing) in the store: collections, and the
blocks of each named location.  A location exists while it has blocks, as
in Route 53.  The tables are created on first use, beside store/sqlite.py's
schema, so that older data directories gain them without a migration."""
from __future__ import annotations

import time

from .sqlite import Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cidr_collections (
    id          TEXT PRIMARY KEY,          -- UUID
    name        TEXT NOT NULL UNIQUE,
    caller_ref  TEXT NOT NULL UNIQUE,
    version     INTEGER NOT NULL,          -- 1 at creation, +1 per ChangeCidrCollection
    created     REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS cidr_blocks (
    collection_id TEXT NOT NULL,
    location      TEXT NOT NULL,
    cidr          TEXT NOT NULL,           -- canonical text (ipaddress)
    PRIMARY KEY (collection_id, location, cidr)
) WITHOUT ROWID;
"""


def ensure(store: Store) -> None:
    store.ensure_tables("cidr", _SCHEMA)


def get_collection(store: Store, cid: str) -> dict | None:
    ensure(store)
    with store.lock:
        row = store.db.execute("SELECT id, name, caller_ref, version FROM cidr_collections "
                               "WHERE id=?", (cid,)).fetchone()
    return dict(zip(("id", "name", "caller_ref", "version"), row)) if row else None


def collection_by(store: Store, column: str, value: str) -> dict | None:
    assert column in ("name", "caller_ref")
    ensure(store)
    with store.lock:
        row = store.db.execute(f"SELECT id FROM cidr_collections WHERE {column}=?",
                               (value,)).fetchone()
    return get_collection(store, row[0]) if row else None


def list_collections(store: Store, after_id: str, limit: int) -> list[dict]:
    ensure(store)
    with store.lock:
        rows = store.db.execute("SELECT id FROM cidr_collections WHERE id > ? ORDER BY id "
                                "LIMIT ?", (after_id, limit)).fetchall()
    return [get_collection(store, r[0]) for r in rows]


def count_collections(store: Store) -> int:
    ensure(store)
    with store.lock:
        return store.db.execute("SELECT COUNT(*) FROM cidr_collections").fetchone()[0]


def insert_collection(store: Store, cid: str, name: str, caller_ref: str) -> None:
    ensure(store)
    store.db.execute("INSERT INTO cidr_collections VALUES (?,?,?,1,?)",
                     (cid, name, caller_ref, time.time()))


def bump_collection(store: Store, cid: str) -> None:
    store.db.execute("UPDATE cidr_collections SET version = version + 1 WHERE id=?", (cid,))


def delete_collection(store: Store, cid: str) -> None:
    store.db.execute("DELETE FROM cidr_blocks WHERE collection_id=?", (cid,))
    store.db.execute("DELETE FROM cidr_collections WHERE id=?", (cid,))


def locations(store: Store, cid: str) -> list[str]:
    ensure(store)
    with store.lock:
        return [r[0] for r in store.db.execute(
            "SELECT DISTINCT location FROM cidr_blocks WHERE collection_id=? ORDER BY location",
            (cid,)).fetchall()]


def blocks(store: Store, cid: str, location: str | None = None) -> list[tuple[str, str]]:
    """(cidr, location) in (location, cidr) order."""
    ensure(store)
    sql = "SELECT cidr, location FROM cidr_blocks WHERE collection_id=?"
    args: list = [cid]
    if location is not None:
        sql += " AND location=?"
        args.append(location)
    with store.lock:
        return [tuple(r) for r in store.db.execute(sql + " ORDER BY location, cidr",
                                                    args).fetchall()]


def put_block(store: Store, cid: str, location: str, block: str) -> None:
    store.db.execute("INSERT OR IGNORE INTO cidr_blocks VALUES (?,?,?)", (cid, location, block))


def delete_block(store: Store, cid: str, location: str, block: str) -> None:
    store.db.execute("DELETE FROM cidr_blocks WHERE collection_id=? AND location=? AND cidr=?",
                     (cid, location, block))


def all_collections(store: Store) -> dict[str, dict[str, list[str]]]:
    """collection id -> location -> CIDR blocks, for publishing."""
    ensure(store)
    out: dict[str, dict[str, list[str]]] = {}
    with store.lock:
        for (cid,) in store.db.execute("SELECT id FROM cidr_collections").fetchall():
            out[cid] = {}
        for cid, loc, block in store.db.execute(
                "SELECT collection_id, location, cidr FROM cidr_blocks "
                "ORDER BY collection_id, location, cidr").fetchall():
            out.setdefault(cid, {}).setdefault(loc, []).append(block)
    return out


def rrsets_using(store: Store, cid: str, location: str | None = None) -> list[tuple[str, str]]:
    """(zone id, record set name) of record sets routed by this collection
    (and location, when given)."""
    pattern = f'%"CollectionId":"{cid}"%'
    with store.lock:
        rows = store.db.execute("SELECT zone_id, rrset FROM rrsets WHERE rrset LIKE ?",
                                (pattern,)).fetchall()
    import json

    out = []
    for zid, text in rows:
        cfg = json.loads(text).get("CidrRoutingConfig") or {}
        if cfg.get("CollectionId") == cid and (location is None or
                                               cfg.get("LocationName") == location):
            out.append((zid, json.loads(text)["Name"]))
    return out
