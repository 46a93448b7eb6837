"""Routing policies compiled into candidate tables (psets) for the core.

A reference ("ref", u32) names either a block or, with PSET_BIT set, a pset:
a routing decision among candidates, each of which is again a ref (an alias
to a weighted target is a pset whose candidate is a pset).  The core walks
refs until it reaches a block, deciding at each pset with the client's
address (EDNS Client Subnet or source), the health table and per-query
randomness (core/_engine.pyx: select_ref; ref/engine.py: the twin).

  psets  pset_t (20 octets): kind u8, flags u8, ncand u16, cand_off u32,
         prefix u32 (multivalue: block before the values, or NONE),
         nomatch u32 (ref when no candidate applies), coll u32 (CIDR)
  cands  cand_t (32 octets): ref u32, health u16 (slot, 0xFFFF = none),
         flags u8, pad u8, key u32, key2 u32, lat f32, lon f32, bias i32, pad u32
  colls  per CIDR collection: v4_off u32, v4_n u32, v6_off u32, v6_n u32
  cidr4  <IIIB3x start, end, location id, prefix    (sorted, disjoint)
  cidr6  <QQQQIB3x start_hi, start_lo, end_hi, end_lo, location id, prefix
  regions  <ff latitude, longitude of each AWS region (regions.REGIONS order)
"""
from __future__ import annotations

import struct

from ..zoneset import Choice

PSET_BIT = 0x80000000
NO_SLOT = 0xFFFF

KIND = {"weighted": 1, "failover": 2, "multivalue": 3, "latency": 4, "geo": 5,
        "geoproximity": 6, "cidr": 7, "alias": 8}

P_VALUES = 1  # pset flag: a traffic policy's multivalue rule, its values answered together

C_EVAL_TARGET = 1
C_DEFAULT = 2
C_PRIMARY = 4
C_SECONDARY = 8
C_CONTINENT = 16
C_COUNTRY = 32
C_SUBDIVISION = 64

PSET = struct.Struct("<BBHIIII")
CAND = struct.Struct("<IHBBIIffiI")
COLL = struct.Struct("<IIII")
NONE = 0xFFFFFFFF


def pack_code(code: str | None) -> int:
    """ASCII code -> int, big-endian: the same packing as geo.pack_code."""
    if not code:
        return 0
    v = 0
    for ch in code.encode("ascii"):
        v = (v << 8) | ch
    return v


class PolicyTables:
    """Accumulates psets, candidates and CIDR tables while compiling."""

    def __init__(self, health=None, cidr_collections: dict | None = None):
        self.health = health
        self.psets = bytearray()
        self.cands = bytearray()
        self.npsets = 0  # psets made so far, those already in the image included
        self.cand_base = 0  # candidates before `cands` (already in the image)
        self.colls = bytearray()
        self.cidr4 = bytearray()
        self.cidr6 = bytearray()
        self.coll_index: dict[str, tuple[int, dict[str, int]]] = {}
        self.cidr_collections = cidr_collections or {}

    def slot(self, check_id: str | None) -> int:
        if not check_id or self.health is None:
            return NO_SLOT
        return self.health.slot(check_id)

    def collection(self, coll_id: str) -> tuple[int, dict[str, int]]:
        """Index of a CIDR collection and its location ids; flattened once."""
        got = self.coll_index.get(coll_id)
        if got is not None:
            return got
        from ..cidr import flatten

        locations = self.cidr_collections.get(coll_id, {})
        loc_ids = {name: i for i, name in enumerate(sorted(locations))}
        blocks = [(cidr, loc_ids[name]) for name, cidrs in locations.items() for cidr in cidrs]
        flat = flatten(blocks) if blocks else {"v4": b"", "v6": b""}
        idx = len(self.colls) // COLL.size
        self.colls += COLL.pack(len(self.cidr4) // 16, len(flat["v4"]) // 16,
                                len(self.cidr6) // 40, len(flat["v6"]) // 40)
        self.cidr4 += flat["v4"]
        self.cidr6 += flat["v6"]
        got = self.coll_index[coll_id] = (idx, loc_ids)
        return got

    def add(self, choice: Choice, option_refs: list[int], nomatch: int, prefix: int) -> int:
        kind = KIND[choice.kind]
        coll = NONE
        loc_ids: dict[str, int] = {}
        if choice.kind == "cidr":
            coll, loc_ids = self.collection(choice.records[0].cidr_collection)
        cand_off = self.cand_base + len(self.cands) // CAND.size
        for rec, ref in zip(choice.records, option_refs):
            # a rule's candidate is healthy while its subtree has a healthy
            # endpoint (Traffic Flow always evaluates a rule it refers to)
            flags = C_EVAL_TARGET if (rec.children or (rec.alias_name is not None
                                                       and rec.alias_evaluate_health)) else 0
            key = key2 = 0
            lat = lon = 0.0
            bias = 0
            if choice.kind == "weighted":
                key = rec.weight or 0
            elif choice.kind == "failover":
                flags |= C_PRIMARY if (rec.failover or "").upper() == "PRIMARY" else C_SECONDARY
            elif choice.kind == "latency":
                key = _region_index(rec.region)
            elif choice.kind == "geo":
                if rec.geo_country == "*":
                    flags |= C_DEFAULT
                elif rec.geo_subdivision:
                    flags |= C_SUBDIVISION
                    key, key2 = pack_code(rec.geo_country or "US"), pack_code(rec.geo_subdivision)
                elif rec.geo_country:
                    flags |= C_COUNTRY
                    key = pack_code(rec.geo_country)
                else:
                    flags |= C_CONTINENT
                    key = pack_code(rec.geo_continent)
            elif choice.kind == "geoproximity":
                if rec.geoprox_lat is not None:
                    lat, lon = rec.geoprox_lat, rec.geoprox_lon
                else:
                    lat, lon = _region_coords(rec.geoprox_region)
                bias = rec.geoprox_bias or 0
            elif choice.kind == "cidr":
                if rec.cidr_location == "*":
                    flags |= C_DEFAULT
                else:
                    key = loc_ids.get(rec.cidr_location, NONE)
            self.cands += CAND.pack(ref, self.slot(rec.health_check), flags, 0, key, key2,
                                    lat, lon, bias, 0)
        idx = self.npsets
        self.npsets += 1
        pflags = P_VALUES if choice.values and prefix != NONE else 0
        self.psets += PSET.pack(kind, pflags, len(option_refs), cand_off, prefix, nomatch, coll)
        return PSET_BIT | idx

    def take_tail(self) -> dict[str, bytes]:
        """The psets and candidates made since the last call, to append to
        an image's streams; later ones are numbered after them."""
        out = {"psets": bytes(self.psets), "cands": bytes(self.cands)}
        self.cand_base += len(self.cands) // CAND.size
        self.psets = bytearray()
        self.cands = bytearray()
        return out

    def arrays(self) -> dict[str, bytes]:
        return {
            "psets": bytes(self.psets),
            "cands": bytes(self.cands),
            "colls": bytes(self.colls),
            "cidr4": bytes(self.cidr4),
            "cidr6": bytes(self.cidr6),
            "regions": _regions_array(),
        }


def _region_index(name: str | None) -> int:
    from ..regions import region_index

    try:
        return region_index(name or "")
    except (KeyError, ValueError):
        raise ValueError(f"unknown AWS region {name!r} in a latency record set") from None


def _region_coords(name: str | None) -> tuple[float, float]:
    from ..regions import REGIONS

    try:
        return REGIONS[name]
    except KeyError:
        raise ValueError(f"unknown AWS region {name!r} in a geoproximity record set") from None


def _regions_array() -> bytes:
    from ..regions import regions_array

    return regions_array()
