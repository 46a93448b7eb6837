"""The registry's tables, in the control plane's SQLite file.

They sit beside the hosted-zone tables so that one `BEGIN IMMEDIATE ...
COMMIT` (Store.transaction) can change a registration, the hosted zone it
made and the `changes` row the publisher serves: a registration is either
all there or not at all, and survives kill -9 once the API answered.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from ..store.sqlite import Store

_SCHEMA = """
-- one row per name the registry holds (pending registrations reserve the name)
CREATE TABLE IF NOT EXISTS registry_domains (
    name        TEXT PRIMARY KEY,          -- A-labels, lower case, no trailing dot
    tld         TEXT NOT NULL,             -- the operator TLD it is registered under
    account     TEXT NOT NULL,             -- owning account id (12 digits)
    state       TEXT NOT NULL,             -- pending | active | expired | redemption
    roid        TEXT NOT NULL UNIQUE,      -- registry object id (RDAP handle)
    created     REAL NOT NULL,
    updated     REAL NOT NULL,
    expires     REAL NOT NULL,
    auto_renew  INTEGER NOT NULL DEFAULT 1,
    locked      INTEGER NOT NULL DEFAULT 1, -- clientTransferProhibited
    nameservers TEXT NOT NULL DEFAULT '[]', -- JSON [{Name, GlueIps}] of the delegation
    contacts    TEXT NOT NULL DEFAULT '{}', -- JSON {Admin|Registrant|Tech|Billing: ContactDetail}
    privacy     TEXT NOT NULL DEFAULT '{}', -- JSON {Admin|...: bool}
    auth_code   TEXT NOT NULL,
    zone_id     TEXT,                      -- hosted zone made at registration
    transfer    TEXT,                      -- JSON pending account-to-account transfer
    busy_op     TEXT                       -- operation in flight (DuplicateRequest)
);
CREATE INDEX IF NOT EXISTS registry_domains_by_account ON registry_domains(account, name);
CREATE TABLE IF NOT EXISTS registry_ds (
    domain      TEXT NOT NULL,
    id          TEXT NOT NULL,             -- DnssecKey Id handed back to the client
    key_tag     INTEGER NOT NULL,
    algorithm   INTEGER NOT NULL,
    flags       INTEGER NOT NULL,
    public_key  TEXT NOT NULL,             -- base64 as given
    digest_type INTEGER NOT NULL,
    digest      TEXT NOT NULL,             -- hex, upper case
    PRIMARY KEY (domain, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS registry_operations (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    account     TEXT NOT NULL,
    domain      TEXT NOT NULL,
    type        TEXT NOT NULL,             -- OperationType
    status      TEXT NOT NULL,             -- SUBMITTED | IN_PROGRESS | SUCCESSFUL | FAILED
    flag        TEXT,                      -- StatusFlag (PENDING_ACCEPTANCE)
    message     TEXT,
    params      TEXT NOT NULL DEFAULT '{}', -- JSON input the worker applies
    submitted   REAL NOT NULL,
    updated     REAL NOT NULL,
    change_id   TEXT                       -- changes.id whose INSYNC ends the operation
);
CREATE INDEX IF NOT EXISTS registry_operations_by_status ON registry_operations(status, seq);
CREATE TABLE IF NOT EXISTS registry_tags (
    domain      TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (domain, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS registry_billing (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    account     TEXT NOT NULL,
    domain      TEXT NOT NULL,
    operation   TEXT NOT NULL,
    invoice     TEXT NOT NULL,
    bill_date   REAL NOT NULL,
    price       REAL NOT NULL
);
-- one row per TLD: the SOA serial of its zone, bumped by every delegation change
CREATE TABLE IF NOT EXISTS registry_tlds (
    tld         TEXT PRIMARY KEY,
    serial      INTEGER NOT NULL
);
"""

_DOMAIN_COLS = ("name, tld, account, state, roid, created, updated, expires, auto_renew, "
                "locked, nameservers, contacts, privacy, auth_code, zone_id, transfer, busy_op")
_OP_COLS = ("seq, id, account, domain, type, status, flag, message, params, submitted, "
            "updated, change_id")


@dataclass
class DomainRow:
    name: str
    tld: str
    account: str
    state: str
    roid: str
    created: float
    updated: float
    expires: float
    auto_renew: bool
    locked: bool
    nameservers: list = field(default_factory=list)
    contacts: dict = field(default_factory=dict)
    privacy: dict = field(default_factory=dict)
    auth_code: str = ""
    zone_id: str | None = None
    transfer: dict | None = None
    busy_op: str | None = None


@dataclass
class OpRow:
    seq: int
    id: str
    account: str
    domain: str
    type: str
    status: str
    flag: str | None
    message: str | None
    params: dict
    submitted: float
    updated: float
    change_id: str | None


def _domain(r) -> DomainRow:
    return DomainRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]), bool(r[9]),
                     json.loads(r[10]), json.loads(r[11]), json.loads(r[12]), r[13], r[14],
                     json.loads(r[15]) if r[15] else None, r[16])


def _op(r) -> OpRow:
    return OpRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8]), r[9],
                 r[10], r[11])


class RegistryStore:
    """Queries over the registry tables; writes run inside store.transaction()."""

    def __init__(self, store: Store):
        self.store = store
        self.db = store.db
        with store.lock:
            self.db.executescript(_SCHEMA)

    def transaction(self):
        return self.store.transaction()

    # -- domains -----------------------------------------------------------

    def get(self, name: str) -> DomainRow | None:
        with self.store.lock:
            r = self.db.execute(f"SELECT {_DOMAIN_COLS} FROM registry_domains WHERE name=?",
                                (name,)).fetchone()
        return _domain(r) if r else None

    def domains(self, account: str | None = None, states=None) -> list[DomainRow]:
        sql = f"SELECT {_DOMAIN_COLS} FROM registry_domains"
        where, args = [], []
        if account is not None:
            where.append("account=?")
            args.append(account)
        if states:
            where.append("state IN (%s)" % ",".join("?" * len(states)))
            args += list(states)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY name"
        with self.store.lock:
            return [_domain(r) for r in self.db.execute(sql, args).fetchall()]

    def count(self, account: str) -> int:
        with self.store.lock:
            return self.db.execute("SELECT COUNT(*) FROM registry_domains WHERE account=?",
                                   (account,)).fetchone()[0]

    def put(self, d: DomainRow) -> None:
        self.db.execute(
            f"INSERT OR REPLACE INTO registry_domains ({_DOMAIN_COLS}) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (d.name, d.tld, d.account, d.state, d.roid, d.created, d.updated, d.expires,
             int(d.auto_renew), int(d.locked), json.dumps(d.nameservers),
             json.dumps(d.contacts), json.dumps(d.privacy), d.auth_code, d.zone_id,
             json.dumps(d.transfer) if d.transfer else None, d.busy_op))

    def delete(self, name: str) -> None:
        self.db.execute("DELETE FROM registry_ds WHERE domain=?", (name,))
        self.db.execute("DELETE FROM registry_tags WHERE domain=?", (name,))
        self.db.execute("DELETE FROM registry_domains WHERE name=?", (name,))

    def bump_tld(self, tld: str) -> None:
        """The TLD zone changed: new SOA serial (date-free, monotonic)."""
        self.db.execute("INSERT INTO registry_tlds VALUES (?, 1) ON CONFLICT(tld) "
                        "DO UPDATE SET serial = serial + 1", (tld,))

    def serials(self) -> dict[str, int]:
        with self.store.lock:
            return dict(self.db.execute("SELECT tld, serial FROM registry_tlds").fetchall())

    # -- DS ----------------------------------------------------------------

    def ds_of(self, name: str) -> list[dict]:
        with self.store.lock:
            rows = self.db.execute(
                "SELECT id, key_tag, algorithm, flags, public_key, digest_type, digest "
                "FROM registry_ds WHERE domain=? ORDER BY key_tag, id", (name,)).fetchall()
        return [{"Id": r[0], "KeyTag": r[1], "Algorithm": r[2], "Flags": r[3],
                 "PublicKey": r[4], "DigestType": r[5], "Digest": r[6]} for r in rows]

    def all_ds(self) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        with self.store.lock:
            rows = self.db.execute("SELECT domain FROM registry_ds").fetchall()
        for (name,) in rows:
            if name not in out:
                out[name] = self.ds_of(name)
        return out

    def add_ds(self, name: str, k: dict) -> None:
        self.db.execute("INSERT INTO registry_ds VALUES (?,?,?,?,?,?,?,?)",
                        (name, k["Id"], k["KeyTag"], k["Algorithm"], k["Flags"],
                         k["PublicKey"], k["DigestType"], k["Digest"]))

    def remove_ds(self, name: str, ds_id: str) -> int:
        return self.db.execute("DELETE FROM registry_ds WHERE domain=? AND id=?",
                               (name, ds_id)).rowcount

    # -- operations --------------------------------------------------------

    def add_op(self, op_id: str, account: str, domain: str, op_type: str, params: dict,
               status: str = "SUBMITTED", flag: str | None = None) -> None:
        now = time.time()
        self.db.execute(
            "INSERT INTO registry_operations (id, account, domain, type, status, flag, "
            "params, submitted, updated) VALUES (?,?,?,?,?,?,?,?,?)",
            (op_id, account, domain, op_type, status, flag, json.dumps(params), now, now))

    def get_op(self, op_id: str) -> OpRow | None:
        with self.store.lock:
            r = self.db.execute(f"SELECT {_OP_COLS} FROM registry_operations WHERE id=?",
                                (op_id,)).fetchone()
        return _op(r) if r else None

    def set_op(self, op_id: str, status: str, message: str | None = None,
               change_id: str | None = None, flag: str | None = None) -> None:
        self.db.execute("UPDATE registry_operations SET status=?, message=?, change_id=?, "
                        "flag=?, updated=? WHERE id=?",
                        (status, message, change_id, flag, time.time(), op_id))

    def ops(self, account: str | None = None, statuses=None) -> list[OpRow]:
        sql = f"SELECT {_OP_COLS} FROM registry_operations"
        where, args = [], []
        if account is not None:
            where.append("account=?")
            args.append(account)
        if statuses:
            where.append("status IN (%s)" % ",".join("?" * len(statuses)))
            args += list(statuses)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq"
        with self.store.lock:
            return [_op(r) for r in self.db.execute(sql, args).fetchall()]

    def count_open_ops(self, account: str) -> int:
        with self.store.lock:
            return self.db.execute(
                "SELECT COUNT(*) FROM registry_operations WHERE account=? AND status IN "
                "('SUBMITTED','IN_PROGRESS') AND flag IS NULL", (account,)).fetchone()[0]

    def ops_waiting_for_changes(self) -> list[tuple[str, str]]:
        """(operation id, change status) of operations that wait to be served."""
        with self.store.lock:
            return self.db.execute(
                "SELECT o.id, c.status FROM registry_operations o JOIN changes c "
                "ON c.id = o.change_id WHERE o.status='IN_PROGRESS'").fetchall()

    # -- tags, billing -----------------------------------------------------

    def tags(self, name: str) -> list[tuple[str, str]]:
        with self.store.lock:
            return self.db.execute("SELECT key, value FROM registry_tags WHERE domain=? "
                                   "ORDER BY key", (name,)).fetchall()

    def set_tag(self, name: str, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO registry_tags VALUES (?,?,?)", (name, key, value))

    def remove_tag(self, name: str, key: str) -> None:
        self.db.execute("DELETE FROM registry_tags WHERE domain=? AND key=?", (name, key))

    def bill(self, account: str, domain: str, operation: str, invoice: str,
             price: float) -> None:
        self.db.execute("INSERT INTO registry_billing (account, domain, operation, invoice, "
                        "bill_date, price) VALUES (?,?,?,?,?,?)",
                        (account, domain, operation, invoice, time.time(), price))

    def billing(self, account: str, start: float, end: float) -> list[dict]:
        with self.store.lock:
            rows = self.db.execute(
                "SELECT domain, operation, invoice, bill_date, price FROM registry_billing "
                "WHERE account=? AND bill_date >= ? AND bill_date < ? ORDER BY seq",
                (account, start, end)).fetchall()
        return [{"DomainName": r[0], "Operation": r[1], "InvoiceId": r[2], "BillDate": r[3],
                 "Price": r[4]} for r in rows]
