"""DNSSEC state in the store: each hosted zone's key-signing keys
and whether it is signed.  Tables are created on first use beside
store/sqlite.py's schema (as cidrstore.py does), so SQLite and PostgreSQL
data directories gain them without a migration.  Private keys are never
here: a KSK row holds its key's ARN and public half only (dnssec/keystore.py)."""
from __future__ import annotations

import time

from .sqlite import Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dnssec_ksks (
    zone_id     TEXT NOT NULL,
    name        TEXT NOT NULL,             -- KSK name, unique within the zone
    caller_ref  TEXT NOT NULL,
    kms_arn     TEXT NOT NULL,             -- key store name (arn:aws:kms:... or pkcs11:)
    public_key  BLOB NOT NULL,             -- 64 octets X || Y (RFC 6605)
    status      TEXT NOT NULL,             -- ACTIVE, INACTIVE, ACTION_NEEDED, ...
    message     TEXT,                      -- StatusMessage, when a key failed
    created     REAL NOT NULL,
    modified    REAL NOT NULL,
    PRIMARY KEY (zone_id, name)
);
CREATE TABLE IF NOT EXISTS dnssec_zsks (
    zone_id     TEXT NOT NULL,
    gen         INTEGER NOT NULL,          -- 0, 1, 2...: key store name zonefront:zsk:ID[:gen]
    created     REAL NOT NULL,             -- drives the rollover (dnssec/rollover.py)
    PRIMARY KEY (zone_id, gen)
);
CREATE TABLE IF NOT EXISTS dnssec_zones (
    zone_id     TEXT PRIMARY KEY,
    signing     INTEGER NOT NULL,          -- 1 once EnableHostedZoneDNSSEC committed
    message     TEXT,                      -- StatusMessage of a failure to sign
    modified    REAL NOT NULL
);
"""
_KSK_COLUMNS = ("zone_id", "name", "caller_ref", "kms_arn", "public_key", "status", "message",
                "created", "modified")


def ensure(store: Store) -> None:
    store.ensure_tables("dnssec", _SCHEMA)


def _ksk(row) -> dict:
    out = dict(zip(_KSK_COLUMNS, row))
    out["public_key"] = bytes(out["public_key"])
    return out


def ksks(store: Store, zone_id: str) -> list[dict]:
    ensure(store)
    with store.lock:
        rows = store.db.execute(f"SELECT {', '.join(_KSK_COLUMNS)} FROM dnssec_ksks "
                                "WHERE zone_id=? ORDER BY created, name", (zone_id,)).fetchall()
    return [_ksk(r) for r in rows]


def ksk_by_caller_ref(store: Store, caller_ref: str) -> dict | None:
    ensure(store)
    with store.lock:
        row = store.db.execute(f"SELECT {', '.join(_KSK_COLUMNS)} FROM dnssec_ksks "
                               "WHERE caller_ref=?", (caller_ref,)).fetchone()
    return _ksk(row) if row else None


def insert_ksk(store: Store, zone_id: str, name: str, caller_ref: str, kms_arn: str,
               public_key: bytes, status: str) -> None:
    ensure(store)
    now = time.time()
    store.db.execute("INSERT INTO dnssec_ksks VALUES (?,?,?,?,?,?,?,?,?)",
                     (zone_id, name, caller_ref, kms_arn, public_key, status, None, now, now))


def set_ksk_status(store: Store, zone_id: str, name: str, status: str,
                   message: str | None = None) -> None:
    store.db.execute("UPDATE dnssec_ksks SET status=?, message=?, modified=? "
                     "WHERE zone_id=? AND name=?", (status, message, time.time(), zone_id, name))


def delete_ksk(store: Store, zone_id: str, name: str) -> None:
    store.db.execute("DELETE FROM dnssec_ksks WHERE zone_id=? AND name=?", (zone_id, name))


def zone_state(store: Store, zone_id: str) -> dict:
    ensure(store)
    with store.lock:
        row = store.db.execute("SELECT signing, message FROM dnssec_zones WHERE zone_id=?",
                               (zone_id,)).fetchone()
    return {"signing": bool(row[0]) if row else False, "message": row[1] if row else None}


def signing_zones(store: Store) -> dict[str, str | None]:
    """zone id -> StatusMessage for every zone signing (one query per publish)."""
    ensure(store)
    with store.lock:
        rows = store.db.execute("SELECT zone_id, message FROM dnssec_zones WHERE signing=1"
                                ).fetchall()
    return {r[0]: r[1] for r in rows}


def set_signing(store: Store, zone_id: str, signing: bool, message: str | None = None) -> None:
    ensure(store)
    store.db.execute("DELETE FROM dnssec_zones WHERE zone_id=?", (zone_id,))
    store.db.execute("INSERT INTO dnssec_zones VALUES (?,?,?,?)",
                     (zone_id, 1 if signing else 0, message, time.time()))


def zsks(store: Store, zone_id: str) -> list[tuple[int, float]]:
    ensure(store)
    with store.lock:
        rows = store.db.execute("SELECT gen, created FROM dnssec_zsks WHERE zone_id=? "
                                "ORDER BY gen", (zone_id,)).fetchall()
    return [(int(g), float(c)) for g, c in rows]


def add_zsk(store: Store, zone_id: str, gen: int, created: float) -> None:
    ensure(store)
    store.db.execute("INSERT INTO dnssec_zsks VALUES (?,?,?)", (zone_id, gen, created))


def drop_zsk(store: Store, zone_id: str, gen: int) -> None:
    store.db.execute("DELETE FROM dnssec_zsks WHERE zone_id=? AND gen=?", (zone_id, gen))


def forget_zone(store: Store, zone_id: str) -> None:
    ensure(store)
    store.db.execute("DELETE FROM dnssec_zsks WHERE zone_id=?", (zone_id,))
    store.db.execute("DELETE FROM dnssec_ksks WHERE zone_id=?", (zone_id,))
    store.db.execute("DELETE FROM dnssec_zones WHERE zone_id=?", (zone_id,))
