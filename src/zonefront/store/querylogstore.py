"""Query logging configurations in the store: one per public hosted zone,
naming the CloudWatch Logs group its queries go to (api/querylog.py; the
data plane's sink, dataplane/querylog.py, maps the group to a file).  The
table is created on first use, like store/cidrstore.py's."""
from __future__ import annotations

import time

from .sqlite import Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS query_logging_configs (
    id          TEXT PRIMARY KEY,          -- UUID
    zone_id     TEXT NOT NULL UNIQUE,      -- one configuration per hosted zone
    log_group   TEXT NOT NULL,             -- CloudWatchLogsLogGroupArn as given
    created     REAL NOT NULL
);
"""

FIELDS = ("id", "zone_id", "log_group")


def ensure(store: Store) -> None:
    store.ensure_tables("querylog", _SCHEMA)


def get(store: Store, qid: str) -> dict | None:
    ensure(store)
    with store.lock:
        row = store.db.execute("SELECT id, zone_id, log_group FROM query_logging_configs "
                               "WHERE id=?", (qid,)).fetchone()
    return dict(zip(FIELDS, row)) if row else None


def for_zone(store: Store, zone_id: str) -> dict | None:
    ensure(store)
    with store.lock:
        row = store.db.execute("SELECT id, zone_id, log_group FROM query_logging_configs "
                               "WHERE zone_id=?", (zone_id,)).fetchone()
    return dict(zip(FIELDS, row)) if row else None


def all_configs(store: Store) -> list[dict]:
    """Every configuration, by id (listing order)."""
    ensure(store)
    with store.lock:
        rows = store.db.execute("SELECT id, zone_id, log_group FROM query_logging_configs "
                                "ORDER BY id").fetchall()
    return [dict(zip(FIELDS, r)) for r in rows]


def insert(store: Store, qid: str, zone_id: str, log_group: str) -> None:
    ensure(store)
    store.db.execute("INSERT INTO query_logging_configs VALUES (?,?,?,?)",
                     (qid, zone_id, log_group, time.time()))


def delete(store: Store, qid: str) -> None:
    store.db.execute("DELETE FROM query_logging_configs WHERE id=?", (qid,))


def delete_for_zone(store: Store, zone_id: str) -> None:
    ensure(store)
    store.db.execute("DELETE FROM query_logging_configs WHERE zone_id=?", (zone_id,))
