"""Per-zone change history for IXFR (RFC 1995): what each published serial removed and added."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from .. import model

log = logging.getLogger("zonefront.xfr")

# (owner wire lower-case, rtype, ttl, rdata wire)
Record = tuple[bytes, int, int, bytes]


def serial_lt(a: int, b: int) -> bool:
    """RFC 1982 serial number arithmetic, 32 bits."""
    return a != b and ((b - a) & 0xFFFFFFFF) < 0x80000000


@dataclass
class Delta:
    """One published change: SOA before and after, and the records in between (SOA excluded)."""

    old_serial: int
    new_serial: int
    old_soa: tuple[int, bytes]  # (ttl, rdata)
    new_soa: tuple[int, bytes]
    removed: list[Record]
    added: list[Record]

    @property
    def size(self) -> int:
        return len(self.removed) + len(self.added) + 2


def records(zone: model.Zone):
    """Every record of zone except its SOA, for transfers: plain RRsets, then
    routed record sets merged per owner and type (a secondary cannot choose
    per query; it serves every candidate)."""
    soa_key = (zone.origin, model.TYPE_SOA)
    for key, rrset in _rrset_map(zone).items():
        if key == soa_key:
            continue
        owner, rtype, ttl = rrset.owner, rrset.rtype, rrset.ttl
        for rd in rrset.rdatas:
            yield owner, rtype, ttl, rd


def _rrset_map(zone: model.Zone) -> dict:
    """zone.rrsets plus the routed record sets merged the way records() sends them."""
    if not zone.routed:
        return zone.rrsets
    out = dict(zone.rrsets)
    for r in zone.routed:
        key = (r.owner, r.rtype)
        if key in zone.rrsets:
            continue
        rs = out.get(key)
        if rs is None:
            rs = out[key] = model.RRset(r.owner, r.rtype, r.ttl, [])
        # a traffic policy instance: every endpoint of its rule tree
        rs.rdatas += [rd for leaf in r.walk() for rd in leaf.rdatas if rd not in rs.rdatas]
    return out


def diff(old: model.Zone, new: model.Zone) -> tuple[list[Record], list[Record]]:
    """(removed, added) between two versions of a zone, SOA left out.  RRsets
    the publisher carried over unchanged are the same objects, so most of a
    big zone costs one identity test per RRset."""
    removed: list[Record] = []
    added: list[Record] = []
    soa_keys = {(old.origin, model.TYPE_SOA), (new.origin, model.TYPE_SOA)}
    if (isinstance(old.rrsets, model.RRsetMap) and isinstance(new.rrsets, model.RRsetMap)
            and not old.routed and not new.routed):
        pairs = old.rrsets.differing_shards(new.rrsets)  # a patched zone shares the rest
    else:
        pairs = [(_rrset_map(old), _rrset_map(new))]
    for a, b in pairs:
        _diff_maps(a, b, soa_keys, removed, added)
    return removed, added


def _diff_maps(a: dict, b: dict, soa_keys: set, removed: list, added: list) -> None:
    for key, ra in a.items():
        if key in soa_keys:
            continue
        rb = b.get(key)
        if rb is ra:
            continue
        if rb is None:
            removed += [(ra.owner, ra.rtype, ra.ttl, rd) for rd in ra.rdatas]
        elif rb.ttl != ra.ttl:
            # a TTL change is a remove and an add of every record (RFC 1995 §4)
            removed += [(ra.owner, ra.rtype, ra.ttl, rd) for rd in ra.rdatas]
            added += [(rb.owner, rb.rtype, rb.ttl, rd) for rd in rb.rdatas]
        elif rb.rdatas != ra.rdatas:
            sb = set(rb.rdatas)
            sa = set(ra.rdatas)
            removed += [(ra.owner, ra.rtype, ra.ttl, rd) for rd in ra.rdatas if rd not in sb]
            added += [(rb.owner, rb.rtype, rb.ttl, rd) for rd in rb.rdatas if rd not in sa]
    for key, rb in b.items():
        if key in soa_keys or key in a:
            continue
        added += [(rb.owner, rb.rtype, rb.ttl, rd) for rd in rb.rdatas]


class History:
    """Deltas per zone origin, oldest first, bounded in records per zone
    (oldest dropped first; an IXFR from before them falls back to AXFR)."""

    def __init__(self, max_records: int = 1_000_000, max_deltas: int = 1000):
        self.max_records = max_records
        self.max_deltas = max_deltas
        self._by_origin: dict[bytes, list[Delta]] = {}
        self._lock = threading.Lock()

    def add(self, origin: bytes, delta: Delta) -> None:
        with self._lock:
            deltas = self._by_origin.setdefault(origin, [])
            if deltas and deltas[-1].new_serial != delta.old_serial:
                deltas.clear()  # a gap: older deltas cannot chain to the new serial
            deltas.append(delta)
            total = sum(d.size for d in deltas)
            while deltas and (total > self.max_records or len(deltas) > self.max_deltas):
                total -= deltas.pop(0).size

    def forget(self, origin: bytes) -> None:
        with self._lock:
            self._by_origin.pop(origin, None)

    def chain(self, origin: bytes, from_serial: int, to_serial: int) -> list[Delta] | None:
        """The deltas leading from from_serial to to_serial, or None if they are not all kept."""
        with self._lock:
            deltas = list(self._by_origin.get(origin, ()))
        for i, d in enumerate(deltas):
            if d.old_serial == from_serial:
                out = deltas[i:]
                if out[-1].new_serial != to_serial:
                    return None
                return out
        return None

    def serials(self, origin: bytes) -> list[int]:
        with self._lock:
            deltas = self._by_origin.get(origin, [])
            return [d.old_serial for d in deltas] + ([deltas[-1].new_serial] if deltas else [])
