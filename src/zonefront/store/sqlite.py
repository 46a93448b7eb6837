"""The embedded store: hosted zones, record sets, changes, tags and delegation
sets in one SQLite file (WAL, synchronous=FULL).

Durability: with journal_mode=WAL and synchronous=FULL, COMMIT returns only
after the WAL is fsynced, so an API call that answered 200 survives kill -9
(and power loss); a batch interrupted before COMMIT leaves nothing, because
each change batch is one `BEGIN IMMEDIATE ... COMMIT` transaction.

One connection is shared by the API threads behind a lock: SQLite serializes
writers anyway, and the control plane's throughput is bounded by fsync, not
by reads.  Other processes (`zonefront zone import` while the server runs)
open their own connection; the server notices through PRAGMA data_version.

Record sets are stored as Route 53 sees them (a JSON ResourceRecordSet with
routing-policy fields) next to the wire rdata the data plane needs, so
publishing never re-parses text.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from . import serials

DB_FILE = "zonefront.db"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- reusable delegation sets only; a zone without one uses the configured servers
CREATE TABLE IF NOT EXISTS delegation_sets (
    id          TEXT PRIMARY KEY,          -- bare id, 'N...'
    caller_ref  TEXT NOT NULL UNIQUE,
    nameservers TEXT NOT NULL,             -- JSON list of absolute names
    created     REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS zones (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,  -- creation order (ListHostedZones)
    id          TEXT NOT NULL UNIQUE,      -- bare id, 'Z...'
    name        TEXT NOT NULL,             -- Route 53 text form, lower case, trailing dot
    name_key    BLOB NOT NULL,             -- reversed-label key (ListHostedZonesByName)
    caller_ref  TEXT NOT NULL UNIQUE,
    comment     TEXT,                      -- NULL when HostedZoneConfig/Comment was omitted
    private     INTEGER NOT NULL DEFAULT 0,
    vpcs        TEXT NOT NULL DEFAULT '[]', -- JSON [{VPCRegion, VPCId}]
    deleg_id    TEXT REFERENCES delegation_sets(id),
    nameservers TEXT NOT NULL,             -- JSON list handed out in DelegationSet
    version     INTEGER NOT NULL DEFAULT 0, -- bumped on every record change
    created     REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS zones_by_name ON zones(name_key, id);
CREATE TABLE IF NOT EXISTS rrsets (
    zone_id   TEXT NOT NULL,
    name_key  BLOB NOT NULL,               -- reversed-label key: Route 53's list order
    rtype     TEXT NOT NULL,               -- 'A', 'AAAA', ... (sorts as Route 53 does)
    set_id    TEXT NOT NULL DEFAULT '',    -- SetIdentifier, '' for simple records
    rrset     TEXT NOT NULL,               -- JSON ResourceRecordSet as Route 53 returns it
    wire      TEXT NOT NULL,               -- JSON list of hex rdata ([] for aliases)
    PRIMARY KEY (zone_id, name_key, rtype, set_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    id        TEXT NOT NULL UNIQUE,        -- bare id, 'C...'
    status    TEXT NOT NULL,               -- PENDING until published, then INSYNC
    submitted REAL NOT NULL,
    comment   TEXT
);
CREATE TABLE IF NOT EXISTS tags (
    rtype     TEXT NOT NULL,               -- 'hostedzone' | 'healthcheck'
    rid       TEXT NOT NULL,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (rtype, rid, key)
);
-- rowid order is creation order (ListHealthChecks)
CREATE TABLE IF NOT EXISTS health_checks (
    id         TEXT PRIMARY KEY,           -- a UUID, as Route 53's
    caller_ref TEXT NOT NULL UNIQUE,
    config     TEXT NOT NULL,              -- JSON HealthCheckConfig with defaults filled in
    version    INTEGER NOT NULL DEFAULT 1, -- HealthCheckVersion
    created    REAL NOT NULL
);
-- CallerReferences of deleted checks: Route 53 refuses to reuse them
CREATE TABLE IF NOT EXISTS health_check_refs_used (
    caller_ref TEXT PRIMARY KEY
);
-- what `zonefront checker` processes (remote locations) saw; one row per
-- (check, location), replaced on every probe so seq only grows
CREATE TABLE IF NOT EXISTS health_observations (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    check_id  TEXT NOT NULL,
    location  TEXT NOT NULL,
    state     INTEGER NOT NULL,            -- the location's verdict after FailureThreshold
    ok        INTEGER NOT NULL,            -- the last probe's own result
    status    TEXT NOT NULL,               -- Route 53 style "Success: ..." / "Failure: ..."
    checked   REAL NOT NULL,               -- wall time of the probe
    ip        TEXT,                        -- the checker's source address
    latency   REAL,                        -- ms to connect, when measured
    fail_status TEXT,                      -- last failure seen from this location
    fail_time REAL,
    UNIQUE (check_id, location)
);
"""


@dataclass
class ZoneRow:
    id: str
    name: str
    name_key: bytes
    caller_ref: str
    comment: str | None
    private: bool
    vpcs: list
    deleg_id: str | None
    nameservers: list
    version: int
    created: float
    seq: int


@dataclass
class RRsetRow:
    name_key: bytes
    rtype: str
    set_id: str
    rrset: dict  # Route 53 ResourceRecordSet (Name, Type, TTL, ResourceRecords, ...)
    wire: list  # list[bytes]


@dataclass
class ChangeRow:
    seq: int
    id: str
    status: str
    submitted: float
    comment: str | None


_ZONE_COLS = ("id, name, name_key, caller_ref, comment, private, vpcs, deleg_id, "
              "nameservers, version, created, seq")


def _zone(row) -> ZoneRow:
    return ZoneRow(row[0], row[1], bytes(row[2]), row[3], row[4], bool(row[5]),
                   json.loads(row[6]), row[7], json.loads(row[8]), row[9], row[10], row[11])


def _health_check(row) -> dict:
    return {"id": row[0], "caller_ref": row[1], "config": json.loads(row[2]),
            "version": row[3]}


def _rrset(row) -> RRsetRow:
    return RRsetRow(bytes(row[0]), row[1], row[2], json.loads(row[3]),
                    [bytes.fromhex(h) for h in json.loads(row[4])])


class Store:
    """All persistent state of the control plane."""

    def __init__(self, data_dir: str):
        os.makedirs(data_dir, exist_ok=True)
        self.path = os.path.join(data_dir, DB_FILE)
        self._rrset_counts: dict[str, tuple[int, int]] = {}  # zone id -> (version, count)
        self.lock = threading.RLock()
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                  timeout=30.0)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        with self.lock:
            self.db.executescript(_SCHEMA)  # CREATE ... IF NOT EXISTS: idempotent
            self.db.executescript(serials.SCHEMA)
        self._check_schema_version()

    def _check_schema_version(self) -> None:
        """Records the schema version in a new store; refuses another one's."""
        with self.transaction():
            row = self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if row is None:
                self.db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) != SCHEMA_VERSION:
                raise RuntimeError(f"{self.path}: schema version {row[0]}, "
                                   f"this zonefront reads {SCHEMA_VERSION}")

    def ensure_tables(self, name: str, schema: str) -> None:
        """Creates a module's own tables on first use (CREATE ... IF NOT
        EXISTS, one statement at a time), so older data directories gain them
        without a migration.  Inside a transaction the DDL is part of it
        (executescript would COMMIT it), so `name` is only remembered as done
        when it ran on its own."""
        done = self.__dict__.setdefault("_tables_ensured", set())
        if name in done:
            return
        with self.lock:
            for stmt in schema.split(";"):
                if stmt.strip():
                    self.db.execute(stmt)
            if not self.db.in_transaction:
                done.add(name)

    def close(self) -> None:
        with self.lock:
            self.db.close()

    @contextmanager
    def transaction(self):
        """One atomic write: BEGIN IMMEDIATE takes the write lock up front so
        validation reads and the writes see the same state."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def data_version(self) -> int:
        """Changes when another connection (another process) commits."""
        with self.lock:
            return self.db.execute("PRAGMA data_version").fetchone()[0]

    # -- zones -------------------------------------------------------------

    def insert_zone(self, z: ZoneRow) -> None:
        self.db.execute(
            "INSERT INTO zones (id, name, name_key, caller_ref, comment, private, vpcs, "
            "deleg_id, nameservers, version, created) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (z.id, z.name, z.name_key, z.caller_ref, z.comment, int(z.private),
             json.dumps(z.vpcs), z.deleg_id, json.dumps(z.nameservers), z.version, z.created))
        serials.created(self.db, z.id)

    def get_zone(self, zone_id: str) -> ZoneRow | None:
        with self.lock:
            row = self.db.execute(f"SELECT {_ZONE_COLS} FROM zones WHERE id=?",
                                  (zone_id,)).fetchone()
        return _zone(row) if row else None

    def zone_by_caller_ref(self, ref: str) -> ZoneRow | None:
        with self.lock:
            row = self.db.execute(f"SELECT {_ZONE_COLS} FROM zones WHERE caller_ref=?",
                                  (ref,)).fetchone()
        return _zone(row) if row else None

    def zones_by_name(self, name: str) -> list[ZoneRow]:
        with self.lock:
            rows = self.db.execute(f"SELECT {_ZONE_COLS} FROM zones WHERE name=? ORDER BY seq",
                                   (name,)).fetchall()
        return [_zone(r) for r in rows]

    def list_zones(self, after_seq: int = 0, limit: int = -1, deleg_id: str | None = None,
                   private: bool | None = None) -> list[ZoneRow]:
        sql = f"SELECT {_ZONE_COLS} FROM zones WHERE seq >= ?"
        args: list = [after_seq]
        if deleg_id is not None:
            sql += " AND deleg_id = ?"
            args.append(deleg_id)
        if private is not None:
            sql += " AND private = ?"
            args.append(int(private))
        sql += " ORDER BY seq LIMIT ?"
        args.append(limit)
        with self.lock:
            return [_zone(r) for r in self.db.execute(sql, args).fetchall()]

    def list_zones_by_name(self, start_key: bytes | None, start_id: str | None,
                           limit: int) -> list[ZoneRow]:
        sql = f"SELECT {_ZONE_COLS} FROM zones"
        args: list = []
        if start_key is not None and start_id is not None:
            sql += " WHERE (name_key > ?) OR (name_key = ? AND id >= ?)"
            args += [start_key, start_key, start_id]
        elif start_key is not None:
            sql += " WHERE name_key >= ?"
            args.append(start_key)
        sql += " ORDER BY name_key, id LIMIT ?"
        args.append(limit)
        with self.lock:
            return [_zone(r) for r in self.db.execute(sql, args).fetchall()]

    def count_zones(self, deleg_id: str | None = None) -> int:
        with self.lock:
            if deleg_id is None:
                return self.db.execute("SELECT COUNT(*) FROM zones").fetchone()[0]
            return self.db.execute("SELECT COUNT(*) FROM zones WHERE deleg_id=?",
                                   (deleg_id,)).fetchone()[0]

    def update_zone_comment(self, zone_id: str, comment: str | None) -> None:
        self.db.execute("UPDATE zones SET comment=? WHERE id=?", (comment, zone_id))

    def set_zone_deleg(self, zone_id: str, deleg_id: str) -> None:
        self.db.execute("UPDATE zones SET deleg_id=? WHERE id=?", (deleg_id, zone_id))

    def bump_zone(self, zone_id: str) -> None:
        """Once per committed change batch, inside its transaction: a new
        version, and a higher SOA serial so secondaries follow (store/serials.py)."""
        self.db.execute("UPDATE zones SET version = version + 1 WHERE id=?", (zone_id,))
        serials.bump(self.db, zone_id)

    def zone_version(self, zone_id: str) -> int:
        with self.lock:
            return self.db.execute("SELECT version FROM zones WHERE id=?",
                                   (zone_id,)).fetchone()[0]

    def delete_zone(self, zone_id: str) -> None:
        self.db.execute("DELETE FROM rrsets WHERE zone_id=?", (zone_id,))
        self.db.execute("DELETE FROM tags WHERE rtype='hostedzone' AND rid=?", (zone_id,))
        serials.deleted(self.db, zone_id)
        self.db.execute("DELETE FROM zones WHERE id=?", (zone_id,))

    def zone_versions(self) -> dict[str, int]:
        with self.lock:
            return dict(self.db.execute("SELECT id, version FROM zones").fetchall())

    # -- record sets -------------------------------------------------------

    def count_rrsets(self, zone_id: str) -> int:
        """Record sets in a zone.  Counting a million rows costs 100 ms, so
        the count a committed change batch left (note_rrset_count) answers
        while the zone's version is still the one it was noted for."""
        with self.lock:
            row = self.db.execute("SELECT version FROM zones WHERE id=?", (zone_id,)).fetchone()
            hit = self._rrset_counts.get(zone_id)
            if row is not None and hit is not None and hit[0] == row[0]:
                return hit[1]
            n = self.db.execute("SELECT COUNT(*) FROM rrsets WHERE zone_id=?",
                                (zone_id,)).fetchone()[0]
            if row is not None:
                self._rrset_counts[zone_id] = (row[0], n)
            return n

    def note_rrset_count(self, zone_id: str, version: int, count: int) -> None:
        """After a change batch committed: the zone holds `count` record
        sets at `version` (every record change raises the version)."""
        with self.lock:
            self._rrset_counts[zone_id] = (version, count)

    def rrsets_at(self, zone_id: str, name_key: bytes) -> list[RRsetRow]:
        """Every record set at one owner name (all types and set ids)."""
        with self.lock:
            rows = self.db.execute(
                "SELECT name_key, rtype, set_id, rrset, wire FROM rrsets "
                "WHERE zone_id=? AND name_key=? ORDER BY rtype, set_id",
                (zone_id, name_key)).fetchall()
        return [_rrset(r) for r in rows]

    def list_rrsets(self, zone_id: str, start: tuple | None = None,
                    limit: int = -1) -> list[RRsetRow]:
        """Record sets in Route 53's order from `start` = (name_key, rtype,
        set_id) inclusive; any trailing part of `start` may be None."""
        sql = "SELECT name_key, rtype, set_id, rrset, wire FROM rrsets WHERE zone_id=?"
        args: list = [zone_id]
        if start is not None:
            key, rtype, set_id = start
            if rtype is None:
                sql += " AND name_key >= ?"
                args.append(key)
            elif set_id is None:
                sql += " AND (name_key > ? OR (name_key = ? AND rtype >= ?))"
                args += [key, key, rtype]
            else:
                sql += (" AND (name_key > ? OR (name_key = ? AND rtype > ?)"
                        " OR (name_key = ? AND rtype = ? AND set_id >= ?))")
                args += [key, key, rtype, key, rtype, set_id]
        sql += " ORDER BY name_key, rtype, set_id LIMIT ?"
        args.append(limit)
        with self.lock:
            return [_rrset(r) for r in self.db.execute(sql, args).fetchall()]

    def put_rrset(self, zone_id: str, r: RRsetRow) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO rrsets (zone_id, name_key, rtype, set_id, rrset, wire) "
            "VALUES (?,?,?,?,?,?)",
            (zone_id, r.name_key, r.rtype, r.set_id, json.dumps(r.rrset, separators=(",", ":")),
             json.dumps([w.hex() for w in r.wire])))

    def delete_rrset(self, zone_id: str, name_key: bytes, rtype: str, set_id: str) -> None:
        self.db.execute("DELETE FROM rrsets WHERE zone_id=? AND name_key=? AND rtype=? "
                        "AND set_id=?", (zone_id, name_key, rtype, set_id))

    def delete_all_rrsets(self, zone_id: str) -> None:
        self.db.execute("DELETE FROM rrsets WHERE zone_id=?", (zone_id,))

    # -- changes -----------------------------------------------------------

    def insert_change(self, change_id: str, comment: str | None) -> ChangeRow:
        now = time.time()
        cur = self.db.execute(
            "INSERT INTO changes (id, status, submitted, comment) VALUES (?, 'PENDING', ?, ?)",
            (change_id, now, comment))
        return ChangeRow(cur.lastrowid, change_id, "PENDING", now, comment)

    def get_change(self, change_id: str) -> ChangeRow | None:
        with self.lock:
            row = self.db.execute("SELECT seq, id, status, submitted, comment FROM changes "
                                  "WHERE id=?", (change_id,)).fetchone()
        return ChangeRow(*row) if row else None

    def last_change_seq(self) -> int:
        with self.lock:
            row = self.db.execute("SELECT MAX(seq) FROM changes").fetchone()
        return row[0] or 0

    def mark_insync(self, upto_seq: int) -> None:
        """Every change up to `upto_seq` is now served."""
        with self.transaction():
            self.db.execute("UPDATE changes SET status='INSYNC' WHERE seq <= ? "
                            "AND status='PENDING'", (upto_seq,))

    # -- delegation sets ---------------------------------------------------

    def insert_deleg(self, deleg_id: str, caller_ref: str, nameservers: list) -> None:
        self.db.execute("INSERT INTO delegation_sets VALUES (?,?,?,?)",
                        (deleg_id, caller_ref, json.dumps(nameservers), time.time()))

    def get_deleg(self, deleg_id: str) -> dict | None:
        with self.lock:
            row = self.db.execute("SELECT id, caller_ref, nameservers FROM delegation_sets "
                                  "WHERE id=?", (deleg_id,)).fetchone()
        return {"id": row[0], "caller_ref": row[1], "nameservers": json.loads(row[2])} \
            if row else None

    def deleg_by_caller_ref(self, ref: str) -> dict | None:
        with self.lock:
            row = self.db.execute("SELECT id FROM delegation_sets WHERE caller_ref=?",
                                  (ref,)).fetchone()
        return self.get_deleg(row[0]) if row else None

    def list_delegs(self, start_id: str | None, limit: int) -> list[dict]:
        with self.lock:
            rows = self.db.execute(
                "SELECT id FROM delegation_sets WHERE id >= ? ORDER BY id LIMIT ?",
                (start_id or "", limit)).fetchall()
        return [self.get_deleg(r[0]) for r in rows]

    def count_delegs(self) -> int:
        with self.lock:
            return self.db.execute("SELECT COUNT(*) FROM delegation_sets").fetchone()[0]

    def delete_deleg(self, deleg_id: str) -> None:
        self.db.execute("DELETE FROM delegation_sets WHERE id=?", (deleg_id,))

    # -- tags and health checks -------------------------------------------

    def tags_of(self, rtype: str, rid: str) -> list[tuple[str, str]]:
        with self.lock:
            return self.db.execute("SELECT key, value FROM tags WHERE rtype=? AND rid=? "
                                   "ORDER BY key", (rtype, rid)).fetchall()

    def set_tag(self, rtype: str, rid: str, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO tags VALUES (?,?,?,?)", (rtype, rid, key, value))

    def remove_tag(self, rtype: str, rid: str, key: str) -> None:
        self.db.execute("DELETE FROM tags WHERE rtype=? AND rid=? AND key=?", (rtype, rid, key))

    def insert_health_check(self, hc_id: str, caller_ref: str, config: dict) -> None:
        self.db.execute("INSERT INTO health_checks (id, caller_ref, config, version, created) "
                        "VALUES (?,?,?,1,?)", (hc_id, caller_ref, json.dumps(config),
                                               time.time()))

    def get_health_check(self, hc_id: str) -> dict | None:
        """{id, caller_ref, config, version} or None."""
        with self.lock:
            row = self.db.execute("SELECT id, caller_ref, config, version FROM health_checks "
                                  "WHERE id=?", (hc_id,)).fetchone()
        return _health_check(row) if row else None

    def health_check_by_caller_ref(self, ref: str) -> dict | None:
        with self.lock:
            row = self.db.execute("SELECT id, caller_ref, config, version FROM health_checks "
                                  "WHERE caller_ref=?", (ref,)).fetchone()
        return _health_check(row) if row else None

    def health_check_ref_used(self, ref: str) -> bool:
        """A deleted check had this CallerReference."""
        with self.lock:
            return self.db.execute("SELECT 1 FROM health_check_refs_used WHERE caller_ref=?",
                                   (ref,)).fetchone() is not None

    def list_health_checks(self, start_id: str | None = None, limit: int = -1) -> list[dict]:
        """In creation order, from `start_id` inclusive."""
        sql = "SELECT id, caller_ref, config, version FROM health_checks"
        args: list = []
        if start_id is not None:
            sql += " WHERE rowid >= (SELECT rowid FROM health_checks WHERE id=?)"
            args.append(start_id)
        sql += " ORDER BY rowid LIMIT ?"
        args.append(limit)
        with self.lock:
            return [_health_check(r) for r in self.db.execute(sql, args).fetchall()]

    def update_health_check(self, hc_id: str, config: dict) -> int:
        """Store a new config; returns the new HealthCheckVersion."""
        self.db.execute("UPDATE health_checks SET config=?, version=version+1 WHERE id=?",
                        (json.dumps(config), hc_id))
        return self.db.execute("SELECT version FROM health_checks WHERE id=?",
                               (hc_id,)).fetchone()[0]

    def delete_health_check(self, hc_id: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO health_check_refs_used SELECT caller_ref "
                        "FROM health_checks WHERE id=?", (hc_id,))
        self.db.execute("DELETE FROM health_checks WHERE id=?", (hc_id,))
        self.db.execute("DELETE FROM tags WHERE rtype='healthcheck' AND rid=?", (hc_id,))
        self.db.execute("DELETE FROM health_observations WHERE check_id=?", (hc_id,))

    def put_observations(self, rows: list[tuple]) -> None:
        """Rows of (check_id, location, state, ok, status, checked, ip, latency,
        fail_status, fail_time), one transaction (a remote checker's flush)."""
        with self.transaction():
            self.db.executemany(
                "INSERT OR REPLACE INTO health_observations (check_id, location, state, ok, "
                "status, checked, ip, latency, fail_status, fail_time) "
                "VALUES (?,?,?,?,?,?,?,?,?,?)", rows)

    def observations_since(self, seq: int, limit: int = 10000) -> list[tuple]:
        """(seq, check_id, location, state, ok, status, checked, ip, latency,
        fail_status, fail_time) written after `seq`, oldest first."""
        with self.lock:
            return self.db.execute(
                "SELECT seq, check_id, location, state, ok, status, checked, ip, latency, "
                "fail_status, fail_time FROM health_observations WHERE seq > ? ORDER BY seq "
                "LIMIT ?", (seq, limit)).fetchall()

    def health_check_exists(self, hc_id: str) -> bool:
        with self.lock:
            return self.db.execute("SELECT 1 FROM health_checks WHERE id=?",
                                   (hc_id,)).fetchone() is not None

    def count_health_checks(self) -> int:
        with self.lock:
            return self.db.execute("SELECT COUNT(*) FROM health_checks").fetchone()[0]
