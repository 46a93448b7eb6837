"""Health check sources (private endpoint health checks) in the store: the
sources, and the `zonefront checker --source ID` processes that registered
for them.  A source is CREATE_PENDING until a checker registered, then
CREATE_COMPLETED; the checker writes its registration from inside the
source's network, so the status says a checker really runs there."""
from __future__ import annotations

import json
import time

from .sqlite import Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hc_sources (
    id          TEXT PRIMARY KEY,
    caller_ref  TEXT NOT NULL UNIQUE,
    vpc_id      TEXT NOT NULL,             -- a [vpcs] / zonefront VPC id
    config      TEXT NOT NULL,             -- HealthCheckSourceConfig, JSON
    created     REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS hc_source_checkers (
    source_id   TEXT NOT NULL,
    location    TEXT NOT NULL,             -- the checker's location name (source:<id>)
    host        TEXT NOT NULL,             -- where it runs (host name, pid)
    registered  REAL NOT NULL,
    PRIMARY KEY (source_id, host)
)
"""


def ensure(store: Store) -> None:
    store.ensure_tables("hc_sources", _SCHEMA)


def location_of(source_id: str) -> str:
    """The checker location name a source's checkers report as."""
    return f"source:{source_id}"


def _row(r) -> dict:
    return {"id": r[0], "caller_ref": r[1], "vpc_id": r[2], "config": json.loads(r[3]),
            "created": r[4]}


def get(store: Store, source_id: str) -> dict | None:
    ensure(store)
    with store.lock:
        r = store.db.execute("SELECT id, caller_ref, vpc_id, config, created FROM hc_sources "
                             "WHERE id=?", (source_id,)).fetchone()
    return _row(r) if r else None


def by_caller_ref(store: Store, ref: str) -> dict | None:
    ensure(store)
    with store.lock:
        r = store.db.execute("SELECT id FROM hc_sources WHERE caller_ref=?", (ref,)).fetchone()
    return get(store, r[0]) if r else None


def list_sources(store: Store) -> list[dict]:
    ensure(store)
    with store.lock:
        rows = store.db.execute("SELECT id, caller_ref, vpc_id, config, created FROM "
                                "hc_sources ORDER BY id").fetchall()
    return [_row(r) for r in rows]


def insert(store: Store, source_id: str, caller_ref: str, vpc_id: str, config: dict) -> None:
    ensure(store)
    store.db.execute("INSERT INTO hc_sources VALUES (?,?,?,?,?)",
                     (source_id, caller_ref, vpc_id, json.dumps(config), time.time()))


def delete(store: Store, source_id: str) -> None:
    ensure(store)
    store.db.execute("DELETE FROM hc_source_checkers WHERE source_id=?", (source_id,))
    store.db.execute("DELETE FROM hc_sources WHERE id=?", (source_id,))


def register_checker(store: Store, source_id: str, host: str) -> bool:
    """A checker started for the source says it runs; False: no such source."""
    with store.transaction():
        if get(store, source_id) is None:
            return False
        store.db.execute("DELETE FROM hc_source_checkers WHERE source_id=? AND host=?",
                         (source_id, host))
        store.db.execute("INSERT INTO hc_source_checkers VALUES (?,?,?,?)",
                         (source_id, location_of(source_id), host, time.time()))
    return True


def checkers(store: Store, source_id: str) -> list[str]:
    ensure(store)
    with store.lock:
        return [r[0] for r in store.db.execute(
            "SELECT host FROM hc_source_checkers WHERE source_id=?", (source_id,)).fetchall()]
