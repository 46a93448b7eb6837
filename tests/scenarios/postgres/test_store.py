"""PostgresStore directly: the SQLite dialect it translates, Route 53's
byte order, REPLACE semantics, and data_version across connections."""
from __future__ import annotations

from zonefront.store import dialect
from zonefront.store.backend import open_store
from zonefront.store.postgres import PostgresStore
from zonefront.store.sqlite import RRsetRow, ZoneRow
from zonefront.config import Config


def test_translation_of_the_sqlite_dialect():
    ddl, info = dialect.translate_create_table(
        "CREATE TABLE IF NOT EXISTS t (seq INTEGER PRIMARY KEY AUTOINCREMENT, -- c; x\n"
        " k TEXT NOT NULL, v BLOB, r REAL, UNIQUE (k))")
    assert "BIGSERIAL PRIMARY KEY" in ddl and 'TEXT COLLATE "C"' in ddl and "BYTEA" in ddl
    assert info.key == ["k"] and info.serial == "seq"
    sql, ret = dialect.translate_dml("INSERT OR REPLACE INTO t (k, v) VALUES (?, ?)",
                                     {"t": info})
    assert sql.startswith("INSERT INTO t (k, v) VALUES (%s, %s) ON CONFLICT (k) DO UPDATE SET "
                          "seq = EXCLUDED.seq")
    assert ret == "seq"
    sql, _ = dialect.translate_dml("SELECT k FROM t WHERE k LIKE ? AND v = '?%' LIMIT ?", {})
    assert sql == "SELECT k FROM t WHERE k ILIKE %s AND v = '?%%' LIMIT NULLIF(%s::bigint, -1)"


def test_store_basics(fresh_dsn):
    s = open_store(Config(store_backend="postgresql", store_dsn=fresh_dsn))
    other = PostgresStore(fresh_dsn)
    try:
        assert isinstance(s, PostgresStore)
        v0 = other.data_version()
        with s.transaction():
            s.insert_zone(ZoneRow("Z1", "a.test.", b"test\0a\0", "ref", None, False, [], None,
                                  ["ns1.x."], 0, 1.0, 0))
            for key in (b"test\0a\0\xff", b"test\0a\0B", b"test\0a\0a"):
                s.put_rrset("Z1", RRsetRow(key, "A", "", {"Name": "x", "Type": "A"},
                                           [b"\x01\x02\x03\x04"]))
            c1 = s.insert_change("C1", None)
            c2 = s.insert_change("C2", "two")
        assert c2.seq == c1.seq + 1
        assert other.data_version() == v0 + 1  # the other connection sees one commit
        assert s.data_version() == 0  # ...and s does not count its own
        keys = [r.name_key for r in s.list_rrsets("Z1", limit=-1)]
        assert keys == sorted(keys)  # bytewise, as SQLite's BLOB order
        assert [r.name_key for r in s.list_rrsets("Z1", limit=1)] == keys[:1]
        assert s.get_zone("Z1").name == "a.test." and s.zone_versions() == {"Z1": 0}
        # a replaced observation row gets a fresh seq (remote checkers rely on it)
        row = ("hc", "loc", 1, 1, "Success", 1.0, None, None, None, None)
        s.put_observations([row])
        first = s.observations_since(0)[-1][0]
        s.put_observations([row])
        obs = s.observations_since(0)
        assert len(obs) == 1 and obs[0][0] > first
        s.insert_health_check  # exists on the shared interface
        with s.transaction():
            s.insert_health_check("h1", "r1", {"Type": "TCP"})
            s.insert_health_check("h2", "r2", {"Type": "TCP"})
        assert [h["id"] for h in s.list_health_checks("h2")] == ["h2"]
        with s.transaction():
            s.delete_health_check("h1")
        assert s.health_check_ref_used("r1")
        s.mark_insync(c2.seq)
        assert s.get_change("C1").status == "INSYNC"
    finally:
        s.close()
        other.close()


def test_registry_tables_on_postgres(fresh_dsn):
    from zonefront.domains.store import RegistryStore

    s = PostgresStore(fresh_dsn)
    try:
        rs = RegistryStore(s)
        with s.transaction():
            rs.bump_tld("corp")
            rs.bump_tld("corp")
            rs.set_tag("a.corp", "k", "v1")
            rs.set_tag("a.corp", "k", "v2")
            s.db.execute("SAVEPOINT registry_op")
            rs.bump_tld("lab")
            s.db.execute("ROLLBACK TO registry_op")
            s.db.execute("RELEASE registry_op")
        assert rs.serials() == {"corp": 2}
        assert rs.tags("a.corp") == [("k", "v2")]
    finally:
        s.close()
