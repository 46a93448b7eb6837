"""Record-set protections in the store: one row per protected owner name and
type of a hosted zone.  Created on first use beside store/sqlite.py's schema
(as cidrstore does), so older data directories gain the table without a
migration; the same statements run on PostgreSQL through store/dialect.py."""
from __future__ import annotations

from .sqlite import Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rrset_protections (
    zone_id     TEXT NOT NULL,
    owner_text  TEXT NOT NULL,             -- canonical API text: lower case, final dot
    rtype       TEXT NOT NULL,             -- RRType mnemonic
    comment     TEXT,
    created     REAL NOT NULL,
    PRIMARY KEY (zone_id, owner_text, rtype)
)
"""


def ensure(store: Store) -> None:
    store.ensure_tables("rrset_protections", _SCHEMA)


def protected(store: Store, zone_id: str, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of `keys` ((owner_text, rtype), canonical) are protected."""
    ensure(store)
    if not keys:
        return set()
    with store.lock:
        rows = store.db.execute("SELECT owner_text, rtype FROM rrset_protections "
                                "WHERE zone_id=?", (zone_id,)).fetchall()
    have = {(r[0], r[1]) for r in rows}
    return {k for k in keys if k in have}


def list_protections(store: Store, zone_id: str) -> list[dict]:
    ensure(store)
    with store.lock:
        rows = store.db.execute("SELECT owner_text, rtype, comment FROM rrset_protections "
                                "WHERE zone_id=?", (zone_id,)).fetchall()
    return [{"owner_text": r[0], "rtype": r[1], "comment": r[2]} for r in rows]


def count(store: Store, zone_id: str) -> int:
    ensure(store)
    with store.lock:
        return store.db.execute("SELECT COUNT(*) FROM rrset_protections WHERE zone_id=?",
                                (zone_id,)).fetchone()[0]


def insert(store: Store, zone_id: str, owner_text: str, rtype: str, comment: str | None,
           now: float) -> None:
    """Inside the caller's transaction."""
    ensure(store)
    store.db.execute("INSERT INTO rrset_protections VALUES (?,?,?,?,?)",
                     (zone_id, owner_text, rtype, comment, now))


def delete(store: Store, zone_id: str, owner_text: str, rtype: str) -> None:
    store.db.execute("DELETE FROM rrset_protections WHERE zone_id=? AND owner_text=? "
                     "AND rtype=?", (zone_id, owner_text, rtype))


def delete_zone(store: Store, zone_id: str) -> None:
    ensure(store)
    store.db.execute("DELETE FROM rrset_protections WHERE zone_id=?", (zone_id,))
