"""A hosted zone's tier and features (UpdateHostedZoneTier,
UpdateHostedZoneFeatures) in the store.  A zone without a row is STANDARD
with every feature off and every guardrail disabled: the table is created on
first use, and zones made before it need no migration."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from .sqlite import Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS zone_features (
    zone_id          TEXT PRIMARY KEY,
    tier             TEXT NOT NULL,        -- STANDARD | ADVANCED
    advanced_since   REAL,                 -- change history is kept from here (ADVANCED)
    public_fallback  INTEGER NOT NULL,     -- EnablePublicDNSFallback (private zones)
    accelerated      INTEGER NOT NULL,     -- EnableAcceleratedRecovery
    guardrails       TEXT NOT NULL         -- JSON {name: ENABLED|DISABLED}
)
"""


@dataclass
class ZoneFeatures:
    tier: str = "STANDARD"
    advanced_since: float | None = None
    public_fallback: bool = False
    accelerated: bool = False
    guardrails: dict = field(default_factory=dict)
    stored: bool = False  # a row exists (the zone's tier or features were ever set)

    def guardrail(self, name: str) -> bool:
        return self.guardrails.get(name) == "ENABLED"


def ensure(store: Store) -> None:
    store.ensure_tables("zone_features", _SCHEMA)


def get(store: Store, zone_id: str) -> ZoneFeatures:
    ensure(store)
    with store.lock:
        row = store.db.execute("SELECT tier, advanced_since, public_fallback, accelerated, "
                               "guardrails FROM zone_features WHERE zone_id=?",
                               (zone_id,)).fetchone()
    if row is None:
        return ZoneFeatures()
    return ZoneFeatures(row[0], row[1], bool(row[2]), bool(row[3]), json.loads(row[4]), True)


def put(store: Store, zone_id: str, f: ZoneFeatures) -> None:
    """Inside the caller's transaction."""
    ensure(store)
    store.db.execute("DELETE FROM zone_features WHERE zone_id=?", (zone_id,))
    store.db.execute("INSERT INTO zone_features VALUES (?,?,?,?,?,?)",
                     (zone_id, f.tier, f.advanced_since, int(f.public_fallback),
                      int(f.accelerated), json.dumps(f.guardrails, sort_keys=True)))


def fallback_zones(store: Store) -> set[str]:
    """Ids of the zones with public DNS fallback enabled (the data plane's input)."""
    ensure(store)
    with store.lock:
        return {r[0] for r in store.db.execute(
            "SELECT zone_id FROM zone_features WHERE public_fallback=1").fetchall()}


def delete_zone(store: Store, zone_id: str) -> None:
    ensure(store)
    store.db.execute("DELETE FROM zone_features WHERE zone_id=?", (zone_id,))
