"""The store on PostgreSQL (psycopg 3): the same Store interface and query
code as the SQLite store, for several control-plane processes on one
database.

Consistency between processes:

- Every write transaction (`transaction()`: a change batch, a zone
  creation, a publish marking changes INSYNC, a checker's flush) takes one
  transaction-level advisory lock before its first read, the equivalent of
  SQLite's `BEGIN IMMEDIATE`: write transactions of all processes run one
  after the other, so a change batch's validation reads and its writes see
  the same state, concurrent batches on one zone are applied in some order,
  each whole or not at all, and `changes.seq` commits in increasing order
  (a publisher that read `MAX(seq)` never marks INSYNC a change that commits
  later with a smaller seq).  Throughput is bounded by commit latency (one
  WAL flush per batch), as it is for SQLite; reads never wait for the lock.
- A one-row counter (`store_version`) is raised by every transaction that
  changed rows, and a NOTIFY on channel `zonefront` goes out at its COMMIT.
  `data_version()` returns the number of raises made by *other*
  connections, which is what SQLite's PRAGMA data_version means, so the
  publisher's poll (control/plane.py) notices other processes' commits and
  not its own; `subscribe()` wakes it on their NOTIFY at once.
- Durability: COMMIT returns after the WAL is flushed (synchronous_commit
  on, the server default), so an API call that answered survives kill -9 of
  the API process (and of the server).

Health-checker locations share the work through the same tables as with
SQLite (`health_observations`): a `zonefront checker` process writes its
observations here, the control planes read them.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager

import psycopg

from . import serials
from .dialect import WRITE_LOCK_KEY, PgConnection
from .sqlite import _SCHEMA, Store

log = logging.getLogger("zonefront.store.postgres")

CHANNEL = "zonefront"

_VERSION_SCHEMA = """
CREATE TABLE IF NOT EXISTS store_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
) WITHOUT ROWID;
"""


class PostgresStore(Store):
    """Store (store/sqlite.py) whose `db` is a PgConnection."""

    def __init__(self, dsn: str):
        self.path = _redacted(dsn)
        self.dsn = dsn
        self._rrset_counts: dict[str, tuple[int, int]] = {}  # zone id -> (version, count)
        self.lock = threading.RLock()
        self.db = PgConnection(dsn)
        self._own_bumps = 0  # store_version raises made by this connection
        self._listener: threading.Thread | None = None
        self._closing = threading.Event()
        with self.lock:
            self.db.executescript(_SCHEMA)
            self.db.executescript(serials.SCHEMA)
            self.db.executescript(_VERSION_SCHEMA)
            self.db.execute("INSERT OR IGNORE INTO store_version VALUES (1, 0)")
        self._check_schema_version()

    def close(self) -> None:
        self._closing.set()
        with self.lock:
            self.db.close()
        if self._listener is not None:
            self._listener.join(timeout=2)

    @contextmanager
    def transaction(self):
        with self.lock:
            self.db.reconnect_if_broken()
            self.db.execute("BEGIN")
            self.db.dirty = False
            try:
                self.db.conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
                yield self
                bumped = self.db.dirty
                if bumped:
                    self.db.conn.execute("UPDATE store_version SET version = version + 1 "
                                         "WHERE id = 1")
                    self.db.conn.execute(f"NOTIFY {CHANNEL}")
            except BaseException:
                if not self.db.conn.closed:
                    try:
                        self.db.execute("ROLLBACK")
                    except psycopg.Error:
                        pass
                raise
            self.db.execute("COMMIT")
            if bumped:
                self._own_bumps += 1

    def data_version(self) -> int:
        """Commits that changed rows, made by other connections."""
        with self.lock:
            row = self.db.execute("SELECT version FROM store_version WHERE id = 1").fetchone()
        return row[0] - self._own_bumps

    def subscribe(self, callback) -> None:
        """Call `callback()` (from a thread of its own) soon after another
        connection commits a change: LISTEN on its own connection.  Polling
        data_version() stays the fallback when the listener's connection
        drops; it reconnects."""
        def run() -> None:
            while not self._closing.is_set():
                try:
                    with psycopg.connect(self.dsn, autocommit=True) as conn:
                        conn.execute(f"LISTEN {CHANNEL}")
                        while not self._closing.is_set():
                            for n in conn.notifies(timeout=0.5):
                                if n.pid != self.db.backend_pid:
                                    callback()
                except psycopg.Error:
                    if self._closing.wait(1.0):
                        return
                    log.warning("LISTEN connection to the store lost; reconnecting")
        self._listener = threading.Thread(target=run, name="zonefront-store-listen", daemon=True)
        self._listener.start()


def _redacted(dsn: str) -> str:
    """The DSN for messages, without a password."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.Error:
        return "postgresql"
    info.pop("password", None)
    return "postgresql://{user}@{host}:{port}/{dbname}".format(
        user=info.get("user", ""), host=info.get("host", ""), port=info.get("port", ""),
        dbname=info.get("dbname", ""))

