"""SOA serials of hosted zones: raised by every committed change batch so secondaries follow (RFC 1982)."""
from __future__ import annotations

import json
import sqlite3

SCHEMA = """
-- the SOA serial last given to each hosted zone (0..2^32-1)
CREATE TABLE IF NOT EXISTS zone_serials (
    zone_id   TEXT PRIMARY KEY,
    serial    INTEGER NOT NULL
);
"""

# Route 53's default SOA (api/service.py DEFAULT_SOA_TIMERS) starts at 1
INITIAL = 1


def serial_lt(a: int, b: int) -> bool:
    """RFC 1982 serial number arithmetic, 32 bits."""
    return a != b and ((b - a) & 0xFFFFFFFF) < 0x80000000


def _skip_name(wire: bytes, off: int) -> int:
    while wire[off]:
        off += 1 + wire[off]
    return off + 1


def created(db: sqlite3.Connection, zone_id: str) -> None:
    db.execute("INSERT OR REPLACE INTO zone_serials VALUES (?, ?)", (zone_id, INITIAL))


def deleted(db: sqlite3.Connection, zone_id: str) -> None:
    db.execute("DELETE FROM zone_serials WHERE zone_id=?", (zone_id,))


def bump(db: sqlite3.Connection, zone_id: str) -> int | None:
    """Inside a change batch's transaction: the apex SOA's serial goes one
    past the last one given, or stays at the serial the batch itself wrote
    when that is higher still.  Returns the new serial (None: no SOA)."""
    row = db.execute(
        "SELECT r.name_key, r.rrset, r.wire FROM rrsets r JOIN zones z "
        "ON r.zone_id = z.id AND r.name_key = z.name_key "
        "WHERE z.id=? AND r.rtype='SOA' AND r.set_id=''", (zone_id,)).fetchone()
    if row is None:
        return None
    name_key, rrset, hexes = bytes(row[0]), json.loads(row[1]), json.loads(row[2])
    wire = bytes.fromhex(hexes[0])
    off = _skip_name(wire, _skip_name(wire, 0))
    current = int.from_bytes(wire[off : off + 4], "big")
    last = db.execute("SELECT serial FROM zone_serials WHERE zone_id=?", (zone_id,)).fetchone()
    if last is not None and serial_lt(last[0], current):
        new = current  # the batch raised it itself
    else:
        new = ((last[0] if last is not None else current) + 1) & 0xFFFFFFFF
    if new != current:
        wire = wire[:off] + new.to_bytes(4, "big") + wire[off + 4 :]
        value = rrset["ResourceRecords"][0]["Value"].split()
        value[2] = str(new)
        rrset["ResourceRecords"][0]["Value"] = " ".join(value)
        db.execute("UPDATE rrsets SET rrset=?, wire=? WHERE zone_id=? AND name_key=? "
                   "AND rtype='SOA' AND set_id=''",
                   (json.dumps(rrset, separators=(",", ":")), json.dumps([wire.hex()]),
                    zone_id, name_key))
    db.execute("INSERT OR REPLACE INTO zone_serials VALUES (?, ?)", (zone_id, new))
    return new


def get(db: sqlite3.Connection, zone_id: str) -> int | None:
    row = db.execute("SELECT serial FROM zone_serials WHERE zone_id=?", (zone_id,)).fetchone()
    return row[0] if row else None
