"""Change history (ADVANCED hosted zones) in the store: one row per
committed change batch, written in the batch's own transaction, so a batch
and its history commit or roll back together, on SQLite and PostgreSQL
alike.  Rows older than the configured retention are pruned as new ones are
written."""
from __future__ import annotations

import json

from .sqlite import Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS change_history (
    change_id    TEXT PRIMARY KEY,         -- the batch's ChangeInfo id (C...)
    zone_id      TEXT NOT NULL,
    submitted    REAL NOT NULL,            -- epoch seconds
    operation    TEXT NOT NULL,            -- ChangeHistoryOperation
    principal    TEXT,                     -- the access key's IAM user ARN
    request_id   TEXT,
    comment      TEXT,
    change_count INTEGER NOT NULL,
    changes      TEXT NOT NULL             -- JSON list of {Action, ResourceRecordSet}
)
"""

_COLS = ("change_id, zone_id, submitted, operation, principal, request_id, comment, "
         "change_count, changes")


def ensure(store: Store) -> None:
    store.ensure_tables("change_history", _SCHEMA)


def _row(r) -> dict:
    return {"change_id": r[0], "zone_id": r[1], "submitted": r[2], "operation": r[3],
            "principal": r[4], "request_id": r[5], "comment": r[6], "change_count": r[7],
            "changes": json.loads(r[8])}


def insert(store: Store, entry: dict, keep_after: float) -> None:
    """Inside the caller's transaction; drops the zone's entries submitted
    before `keep_after` (the retention period)."""
    ensure(store)
    store.db.execute(f"INSERT INTO change_history ({_COLS}) VALUES (?,?,?,?,?,?,?,?,?)",
                     (entry["change_id"], entry["zone_id"], entry["submitted"],
                      entry["operation"], entry["principal"], entry["request_id"],
                      entry["comment"], entry["change_count"],
                      json.dumps(entry["changes"], default=str)))
    store.db.execute("DELETE FROM change_history WHERE zone_id=? AND submitted < ?",
                     (entry["zone_id"], keep_after))


def get(store: Store, zone_id: str, change_id: str) -> dict | None:
    ensure(store)
    with store.lock:
        r = store.db.execute(f"SELECT {_COLS} FROM change_history WHERE zone_id=? AND "
                             "change_id=?", (zone_id, change_id)).fetchone()
    return _row(r) if r else None


def list_entries(store: Store, zone_id: str, after: float | None, before: float | None,
                 keep_after: float) -> list[dict]:
    """The zone's entries in submission order (oldest first) within the
    bounds and the retention period."""
    ensure(store)
    sql = f"SELECT {_COLS} FROM change_history WHERE zone_id=? AND submitted >= ?"
    args: list = [zone_id, keep_after]
    if after is not None:
        sql += " AND submitted >= ?"
        args.append(after)
    if before is not None:
        sql += " AND submitted <= ?"
        args.append(before)
    sql += " ORDER BY submitted, change_id"
    with store.lock:
        return [_row(r) for r in store.db.execute(sql, args).fetchall()]


def delete_zone(store: Store, zone_id: str) -> None:
    ensure(store)
    store.db.execute("DELETE FROM change_history WHERE zone_id=?", (zone_id,))
