"""The SQLite dialect the store modules write, spoken to PostgreSQL: one
psycopg 3 connection behind sqlite3.Connection's surface (execute,
executemany, executescript, in_transaction, cursor.lastrowid/rowcount).

The store's query code (store/sqlite.py, serials.py, cidrstore.py,
domains/store.py) is shared by both backends rather than duplicated; this
layer rewrites, once per distinct statement (cached):

- placeholders: `?` -> `%s` outside string literals, and every `%` -> `%%`;
- DDL: INTEGER -> BIGINT, REAL -> DOUBLE PRECISION, BLOB -> BYTEA,
  TEXT -> TEXT COLLATE "C" (SQLite compares text bytewise; Route 53's list
  order depends on it), `INTEGER PRIMARY KEY AUTOINCREMENT` -> BIGSERIAL,
  `WITHOUT ROWID` dropped, and tables that have a rowid in SQLite get an
  explicit `rowid BIGSERIAL` column (ListHealthChecks orders by it);
- `INSERT OR REPLACE` -> `ON CONFLICT (key) DO UPDATE SET` every other
  column from EXCLUDED, so columns left out take their defaults and a
  replaced row gets a fresh serial, as SQLite's delete-then-insert does;
  `INSERT OR IGNORE` -> `ON CONFLICT DO NOTHING`;
- `LIMIT ?` -> `LIMIT NULLIF(?, -1)` (SQLite's -1 means "no limit");
- `LIKE` -> `ILIKE` (SQLite's LIKE ignores ASCII case);
- an INSERT into a table with a serial column gets `RETURNING` it, which
  fills `lastrowid`.

Table shapes (columns, keys) are learnt from the CREATE TABLE statements
that run through here; every store module runs its `CREATE TABLE IF NOT
EXISTS` before using a table, so a second process learns them too.
"""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field

import psycopg
from psycopg.pq import TransactionStatus

from ..errors import InputError

# every schema change and write transaction holds this advisory lock (see postgres.py)
WRITE_LOCK_KEY = 0x7A6F6E65  # 'zone'

log = logging.getLogger("zonefront.store")


class DialectError(InputError, ValueError):
    """A statement this layer cannot translate (a store module used an
    SQLite-only feature); the message names it."""


@dataclass
class TableInfo:
    name: str
    columns: list[str]  # in declaration order
    key: list[str]  # conflict target of INSERT OR REPLACE
    serial: str | None = None  # BIGSERIAL column (AUTOINCREMENT or the added rowid)
    uniques: list[list[str]] = field(default_factory=list)


class Result:
    """What sqlite3's cursor offers the store modules, rows fetched eagerly."""

    __slots__ = ("_rows", "_pos", "rowcount", "lastrowid")

    def __init__(self, rows: list, rowcount: int, lastrowid):
        self._rows = rows
        self._pos = 0
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchone(self):
        if self._pos >= len(self._rows):
            return None
        self._pos += 1
        return self._rows[self._pos - 1]

    def fetchall(self) -> list:
        rows = self._rows[self._pos:]
        self._pos = len(self._rows)
        return rows

    def __iter__(self):
        return iter(self.fetchall())


# -- lexing -------------------------------------------------------------------

_TOKEN = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\?|%|[^'"?%-]+|-""")


def _placeholders(sql: str) -> str:
    out = []
    for m in _TOKEN.finditer(sql):
        t = m.group(0)
        if t == "?":
            out.append("%s")
        elif t == "%":
            out.append("%%")
        elif t.startswith("--"):
            continue
        else:
            out.append(t.replace("%", "%%"))  # psycopg reads % inside literals too
    return "".join(out)


def _strip_comments(sql: str) -> str:
    return "".join(t for t in (m.group(0) for m in _TOKEN.finditer(sql))
                   if not t.startswith("--"))


def split_script(script: str) -> list[str]:
    """Statements of an executescript() text (semicolons outside literals)."""
    out, cur = [], []
    for m in _TOKEN.finditer(_strip_comments(script)):
        t = m.group(0)
        if t[0] not in "'\"" and ";" in t:
            parts = t.split(";")
            cur.append(parts[0])
            for p in parts[1:]:
                out.append("".join(cur))
                cur = [p]
        else:
            cur.append(t)
    out.append("".join(cur))
    return [s.strip() for s in out if s.strip()]


def _split_top(body: str) -> list[str]:
    """Comma-separated items of a parenthesised list, nested parens kept."""
    items, depth, cur = [], 0, []
    for ch in body:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            items.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        items.append("".join(cur).strip())
    return items


def _names(text: str) -> list[str]:
    return [c.strip().strip('"').lower() for c in text.split(",") if c.strip()]


# -- DDL ------------------------------------------------------------------------

_CREATE_TABLE = re.compile(
    r"^\s*CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\((.*)\)\s*(WITHOUT\s+ROWID)?\s*$",
    re.I | re.S)
_TYPES = {"INTEGER": "BIGINT", "INT": "BIGINT", "REAL": "DOUBLE PRECISION", "BLOB": "BYTEA",
          "TEXT": 'TEXT COLLATE "C"'}


def translate_create_table(sql: str) -> tuple[str, TableInfo] | None:
    m = _CREATE_TABLE.match(_strip_comments(sql))
    if m is None:
        return None
    ine, table, body, without_rowid = m.group(1), m.group(2).lower(), m.group(3), m.group(4)
    cols, key, uniques, serial, items = [], [], [], None, []
    for item in _split_top(body):
        words = item.split()
        head = words[0].upper()
        if head in ("PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "CONSTRAINT"):
            inner = re.search(r"\((.*)\)", item, re.S)
            if head == "PRIMARY":
                key = _names(inner.group(1))
            elif head == "UNIQUE":
                uniques.append(_names(inner.group(1)))
            items.append(item)
            continue
        name = words[0].strip('"').lower()
        cols.append(name)
        rest = " ".join(words[2:]) if len(words) > 2 else ""
        ctype = words[1].upper() if len(words) > 1 else ""
        upper_rest = rest.upper()
        if "PRIMARY KEY" in upper_rest and "AUTOINCREMENT" in upper_rest or \
                (ctype == "INTEGER" and "PRIMARY KEY" in upper_rest):
            serial = name
            key = [name]
            items.append(f"{name} BIGSERIAL PRIMARY KEY")
            continue
        if "PRIMARY KEY" in upper_rest:
            key = [name]
        if re.search(r"\bUNIQUE\b", upper_rest):
            uniques.append([name])
        items.append(f"{name} {_TYPES.get(ctype, words[1] if len(words) > 1 else '')} {rest}"
                     .rstrip())
    if not without_rowid and serial is None:
        serial = "rowid"
        cols.append("rowid")
        items.append("rowid BIGSERIAL")
    info = TableInfo(table, cols, key, serial, uniques)
    if info.key == [serial] or not info.key:
        # REPLACE conflicts on the natural key when the key is just a counter
        info.key = uniques[0] if uniques else []
    ddl = f"CREATE TABLE {'IF NOT EXISTS ' if ine else ''}{table} (\n    " + \
        ",\n    ".join(items) + "\n)"
    return ddl, info


# -- DML ------------------------------------------------------------------------

_INSERT = re.compile(r"^\s*INSERT\s+(?:OR\s+(REPLACE|IGNORE)\s+)?INTO\s+(\w+)\b", re.I)
_LIMIT = re.compile(r"\bLIMIT\s+\?", re.I)
_LIKE = re.compile(r"\bLIKE\b", re.I)


def translate_dml(sql: str, tables: dict[str, TableInfo]) -> tuple[str, str | None]:
    """(PostgreSQL text, serial column RETURNING fills lastrowid from, or None)."""
    sql = _strip_comments(sql).strip()
    returning = None
    m = _INSERT.match(sql)
    if m is not None:
        verb, table = (m.group(1) or "").upper(), m.group(2).lower()
        info = tables.get(table)
        if info is None:
            raise DialectError(f"INSERT into {table}: table not created through this store "
                               "connection (its CREATE TABLE must run first)")
        sql = f"INSERT INTO {table}" + sql[m.end():]
        if verb == "IGNORE":
            sql += " ON CONFLICT DO NOTHING"
        elif verb == "REPLACE":
            if not info.key:
                raise DialectError(f"INSERT OR REPLACE into {table}: no key to conflict on")
            others = [c for c in info.columns if c not in info.key]
            if others:
                sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in others)
                sql += f" ON CONFLICT ({', '.join(info.key)}) DO UPDATE SET {sets}"
            else:
                sql += f" ON CONFLICT ({', '.join(info.key)}) DO NOTHING"
        else:
            # `SET col = col + 1` is ambiguous to PostgreSQL (EXCLUDED has it too)
            up = re.search(r"\bDO\s+UPDATE\s+SET\b", sql, re.I)
            if up is not None:
                head, tail = sql[:up.end()], sql[up.end():]
                for c in info.columns:
                    tail = re.sub(rf"(=\s*[^,]*?)(?<![\w.]){c}\b", rf"\1{table}.{c}", tail)
                sql = head + tail
        if info.serial is not None and not re.search(r"\bRETURNING\b", sql, re.I):
            sql += f" RETURNING {info.serial}"
            returning = info.serial
    sql = _LIMIT.sub("LIMIT NULLIF(?::bigint, -1)", sql)
    sql = _LIKE.sub("ILIKE", sql)
    if re.match(r"^\s*PRAGMA\b", sql, re.I):
        raise DialectError(f"SQLite PRAGMA on PostgreSQL: {sql!r}")
    return _placeholders(sql), returning


_DML = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.I)
_DDL = re.compile(r"^\s*(CREATE|DROP|ALTER)\b", re.I)


def _param(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, memoryview):
        return bytes(v)
    return v


class PgConnection:
    """sqlite3.Connection's surface over one autocommit psycopg connection.

    Not thread-safe by itself: the store's `lock` (an RLock) serializes its
    users, as it does for the SQLite connection.  `dirty` is set when a
    statement inside a transaction changed rows, so the store can bump its
    version counter at COMMIT only when something changed.
    """

    def __init__(self, dsn: str, connect_timeout: float = 10.0):
        self.dsn = dsn
        self.connect_timeout = connect_timeout
        self.tables: dict[str, TableInfo] = {}
        self._cache: dict[str, tuple[str, str | None]] = {}
        self._mu = threading.Lock()
        self.dirty = False
        self.conn = self._connect()

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(self.dsn, autocommit=True,
                               connect_timeout=max(1, int(self.connect_timeout)))

    def reconnect_if_broken(self) -> bool:
        if self.conn.broken or self.conn.closed:
            try:
                self.conn.close()
            except (psycopg.Error, OSError) as e:  # it is broken already; a new one follows
                log.debug("closing a broken PostgreSQL connection: %s", e)
            self.conn = self._connect()
            return True
        return False

    @property
    def in_transaction(self) -> bool:
        return self.conn.info.transaction_status != TransactionStatus.IDLE

    @property
    def backend_pid(self) -> int:
        return self.conn.info.backend_pid

    def close(self) -> None:
        self.conn.close()

    # -- statements ------------------------------------------------------------

    def _translate(self, sql: str) -> tuple[str, str | None]:
        hit = self._cache.get(sql)
        if hit is not None:
            return hit
        if _DDL.match(_strip_comments(sql)):
            made = translate_create_table(sql)
            if made is not None:
                ddl, info = made
                self.tables[info.name] = info
                out = (ddl, None)
            else:
                out = (_placeholders(sql), None)
        else:
            out = translate_dml(sql, self.tables)
        with self._mu:
            self._cache[sql] = out
        return out

    def execute(self, sql: str, params=()) -> Result:
        word = sql.lstrip()[:8].upper()
        if word.startswith(("BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            if word.startswith("BEGIN"):
                sql = "BEGIN"  # IMMEDIATE / DEFERRED: the write lock is the store's business
            self.conn.execute(sql)
            return Result([], -1, None)
        pg, returning = self._translate(sql)
        if _DDL.match(pg) and not self.in_transaction:
            with self.conn.transaction():  # concurrent CREATE IF NOT EXISTS can collide
                self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
                self.conn.execute(pg)
            return Result([], -1, None)
        args = [_param(p) for p in params] if params else None
        try:
            cur = self.conn.execute(pg, args)
        except psycopg.OperationalError:
            if self.in_transaction or not self.reconnect_if_broken():
                raise
            cur = self.conn.execute(pg, args)  # one retry after the server came back
        rows = cur.fetchall() if cur.description is not None else []
        lastrowid = None
        if returning is not None:
            lastrowid = rows[0][0] if rows else None
            rows = []
        if cur.rowcount > 0 and _DML.match(pg):
            self.dirty = True
        return Result(rows, cur.rowcount, lastrowid)

    def executemany(self, sql: str, seq_of_params) -> Result:
        pg, _returning = self._translate(sql)
        if _returning is not None:
            pg = pg[: pg.rindex(" RETURNING ")]
        rows = [[_param(p) for p in params] for params in seq_of_params]
        if not rows:
            return Result([], 0, None)
        with self.conn.cursor() as cur:
            cur.executemany(pg, rows)
            if cur.rowcount != 0:
                self.dirty = True
            return Result([], cur.rowcount, None)

    def executescript(self, script: str) -> None:
        for stmt in split_script(script):
            self.execute(stmt)
