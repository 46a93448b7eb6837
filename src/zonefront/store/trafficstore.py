"""Traffic policies (their versions) and traffic policy instances in the store.

The tables are created on first use beside store/sqlite.py's schema (as
cidrstore's are), so older data directories gain them without a migration;
the SQL is the portable subset store/dialect.py carries to PostgreSQL.
An instance's record set itself is an ordinary row of `rrsets` (written by
api/traffic.py in the same transaction), so publishing, patching and edges
see it like any other record set.
"""
from __future__ import annotations

import time

from .sqlite import Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS traffic_policies (
    id          TEXT NOT NULL,             -- UUID, shared by every version
    version     INTEGER NOT NULL,          -- 1, 2, ... in creation order
    name        TEXT NOT NULL,
    rtype       TEXT NOT NULL,             -- the document's RecordType
    document    TEXT NOT NULL,             -- as the client sent it
    comment     TEXT,
    created     REAL NOT NULL,
    PRIMARY KEY (id, version)
);
CREATE TABLE IF NOT EXISTS traffic_instances (
    id          TEXT PRIMARY KEY,          -- UUID
    zone_id     TEXT NOT NULL,
    name        TEXT NOT NULL,             -- fully qualified, as listed
    name_key    BLOB NOT NULL,             -- aws.names.sort_key(owner): list order
    rtype       TEXT NOT NULL,
    ttl         INTEGER NOT NULL,
    policy_id   TEXT NOT NULL,
    version     INTEGER NOT NULL,
    state       TEXT NOT NULL,             -- Applied | Creating | Failed
    message     TEXT NOT NULL,
    created     REAL NOT NULL
)
"""

_POLICY_COLS = ("id", "version", "name", "rtype", "document", "comment")
_INSTANCE_COLS = ("id", "zone_id", "name", "name_key", "rtype", "ttl", "policy_id", "version",
                  "state", "message")


def ensure(store: Store) -> None:
    store.ensure_tables("traffic", _SCHEMA)


def _policy(row) -> dict:
    return dict(zip(_POLICY_COLS, row))


def _instance(row) -> dict:
    d = dict(zip(_INSTANCE_COLS, row))
    d["name_key"] = bytes(d["name_key"])
    return d


def insert_policy(store: Store, pid: str, version: int, name: str, rtype: str, document: str,
                  comment: str | None) -> None:
    ensure(store)
    store.db.execute("INSERT INTO traffic_policies VALUES (?,?,?,?,?,?,?)",
                     (pid, version, name, rtype, document, comment, time.time()))


def get_policy(store: Store, pid: str, version: int | None = None) -> dict | None:
    """A version of a policy, or its latest with version None."""
    ensure(store)
    sql = f"SELECT {', '.join(_POLICY_COLS)} FROM traffic_policies WHERE id=?"
    args: list = [pid]
    if version is not None:
        sql += " AND version=?"
        args.append(version)
    with store.lock:
        row = store.db.execute(sql + " ORDER BY version DESC LIMIT 1", args).fetchone()
    return _policy(row) if row else None


def policy_versions(store: Store, pid: str, after: int = 0, limit: int = -1) -> list[dict]:
    ensure(store)
    with store.lock:
        rows = store.db.execute(f"SELECT {', '.join(_POLICY_COLS)} FROM traffic_policies "
                                "WHERE id=? AND version > ? ORDER BY version LIMIT ?",
                                (pid, after, limit)).fetchall()
    return [_policy(r) for r in rows]


def policy_ids(store: Store, after: str = "", limit: int = -1) -> list[str]:
    ensure(store)
    with store.lock:
        return [r[0] for r in store.db.execute(
            "SELECT DISTINCT id FROM traffic_policies WHERE id > ? ORDER BY id LIMIT ?",
            (after, limit)).fetchall()]


def count_policies(store: Store) -> int:
    ensure(store)
    with store.lock:
        return store.db.execute("SELECT COUNT(DISTINCT id) FROM traffic_policies").fetchone()[0]


def count_versions(store: Store, pid: str) -> int:
    ensure(store)
    with store.lock:
        return store.db.execute("SELECT COUNT(*) FROM traffic_policies WHERE id=?",
                                (pid,)).fetchone()[0]


def max_version(store: Store, pid: str) -> int:
    """Version numbers are never reused, even after a version is deleted."""
    ensure(store)
    with store.lock:
        got = store.db.execute("SELECT MAX(version) FROM traffic_policies WHERE id=?",
                               (pid,)).fetchone()[0]
        seen = store.db.execute("SELECT MAX(version) FROM traffic_instances WHERE policy_id=?",
                                (pid,)).fetchone()[0]
    return max(got or 0, seen or 0)


def set_policy_comment(store: Store, pid: str, version: int, comment: str) -> None:
    store.db.execute("UPDATE traffic_policies SET comment=? WHERE id=? AND version=?",
                     (comment, pid, version))


def delete_policy(store: Store, pid: str, version: int) -> None:
    store.db.execute("DELETE FROM traffic_policies WHERE id=? AND version=?", (pid, version))


# -- instances --------------------------------------------------------------

def put_instance(store: Store, inst: dict) -> None:
    ensure(store)
    store.db.execute("DELETE FROM traffic_instances WHERE id=?", (inst["id"],))
    store.db.execute("INSERT INTO traffic_instances VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                     tuple(inst[c] for c in _INSTANCE_COLS) + (time.time(),))


def get_instance(store: Store, iid: str) -> dict | None:
    ensure(store)
    with store.lock:
        row = store.db.execute(f"SELECT {', '.join(_INSTANCE_COLS)} FROM traffic_instances "
                               "WHERE id=?", (iid,)).fetchone()
    return _instance(row) if row else None


def instance_at(store: Store, zone_id: str, name_key: bytes, rtype: str) -> dict | None:
    ensure(store)
    with store.lock:
        row = store.db.execute(f"SELECT {', '.join(_INSTANCE_COLS)} FROM traffic_instances "
                               "WHERE zone_id=? AND name_key=? AND rtype=?",
                               (zone_id, name_key, rtype)).fetchone()
    return _instance(row) if row else None


def delete_instance(store: Store, iid: str) -> None:
    store.db.execute("DELETE FROM traffic_instances WHERE id=?", (iid,))


def list_instances(store: Store, zone_id: str | None = None, policy: tuple | None = None,
                   start: tuple | None = None, limit: int = -1) -> list[dict]:
    """In (zone id, name_key, rtype) order, from `start` = (zone id, name_key,
    rtype) on (inclusive), optionally of one zone or one (policy id, version)."""
    ensure(store)
    sql = f"SELECT {', '.join(_INSTANCE_COLS)} FROM traffic_instances WHERE 1=1"
    args: list = []
    if zone_id is not None:
        sql += " AND zone_id=?"
        args.append(zone_id)
    if policy is not None:
        sql += " AND policy_id=? AND version=?"
        args += list(policy)
    if start is not None:
        z, k, t = start
        sql += (" AND (zone_id > ? OR (zone_id = ? AND (name_key > ? OR "
                "(name_key = ? AND rtype >= ?))))")
        args += [z, z, k, k, t]
    sql += " ORDER BY zone_id, name_key, rtype LIMIT ?"
    args.append(limit)
    with store.lock:
        return [_instance(r) for r in store.db.execute(sql, args).fetchall()]


def count_instances(store: Store, policy: tuple | None = None) -> int:
    ensure(store)
    sql, args = "SELECT COUNT(*) FROM traffic_instances", []
    if policy is not None:
        sql += " WHERE policy_id=? AND version=?"
        args = list(policy)
    with store.lock:
        return store.db.execute(sql, args).fetchone()[0]
