"""Reference routing decisions: the twin of the routing section of
core/_engine.pyx (choose, select_ref, pick_values), over the same arrays."""
from __future__ import annotations

import ipaddress
import math
import struct
from dataclasses import dataclass

from ..snapshot.policy import (
    C_CONTINENT,
    C_COUNTRY,
    C_DEFAULT,
    C_EVAL_TARGET,
    C_PRIMARY,
    C_SECONDARY,
    C_SUBDIVISION,
    CAND,
    COLL,
    KIND,
    NONE,
    P_VALUES,
    PSET,
    PSET_BIT,
)

M64 = (1 << 64) - 1
MAX_CANDS = 256
MAX_MULTIVALUE = 8
R4 = struct.Struct("<IIIB3x")
R6 = struct.Struct("<QQQQIB3x")
GEOLOC = struct.Struct("<HHIff")
K = {v: k for k, v in KIND.items()}
LOCATION_KINDS = {"latency", "geo", "geoproximity"}  # the routing that reads GeoIP data


def zf_hash(p: bytes) -> int:
    """csrc/zfhash.h in Python."""
    n = len(p)
    h = (0x9E3779B97F4A7C15 ^ n) & M64
    i = 0
    while n - i >= 8:
        w = int.from_bytes(p[i : i + 8], "little")
        h = ((h ^ w) * 0xFF51AFD7ED558CCD) & M64
        h ^= h >> 32
        i += 8
    w = int.from_bytes(p[i:], "little")
    h = ((h ^ w) * 0xC4CEB9FE1A85EC53) & M64
    h ^= h >> 29
    h = (h * 0x94D049BB133111EB) & M64
    h ^= h >> 31
    return h & 0xFFFFFFFF


@dataclass
class Client:
    family: int = 0
    bits: int = 0
    addr: int = 0  # v4 as 32 bits, v6 as 128 bits
    scope: int = 0
    geo_done: bool = False
    geoloc: int = NONE
    geoprefix: int = 0
    rnd: int = 0

    def next_rand(self) -> int:
        self.rnd = (self.rnd + 0x9E3779B97F4A7C15) & M64
        z = self.rnd
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)


def make_client(q, key: bytes, client: str | None, seed: int) -> Client:
    cl = Client()
    cl.rnd = ((seed << 32) ^ (q.id << 16) ^ zf_hash(key)) & M64
    if q.ecs is not None:
        addr = q.ecs.address + bytes(16 - len(q.ecs.address))
        cl.bits = q.ecs.source_prefix
        if q.ecs.family == 1:
            cl.family, cl.addr = 4, int.from_bytes(addr[:4], "big")
        else:
            cl.family, cl.addr = 6, int.from_bytes(addr, "big")
        return cl
    if client is None:
        return cl
    ip = ipaddress.ip_address(client)
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    cl.family, cl.bits, cl.addr = (4, 32, int(ip)) if ip.version == 4 else (6, 128, int(ip))
    return cl


def distance_km(lat1, lon1, lat2, lon2) -> float:
    r = 0.017453292519943295
    dlat, dlon = (lat2 - lat1) * r, (lon2 - lon1) * r
    a = math.sin(dlat / 2) * math.sin(dlat / 2) + math.cos(lat1 * r) * math.cos(lat2 * r) * math.sin(dlon / 2) * math.sin(dlon / 2)
    return 2 * 6371.0 * math.asin(math.sqrt(min(a, 1.0)))


def _find(ranges: list[tuple], addr: int) -> int:
    lo, hi = 0, len(ranges) - 1
    while lo <= hi:
        mid = (lo + hi) >> 1
        if addr < ranges[mid][0]:
            hi = mid - 1
        elif addr > ranges[mid][1]:
            lo = mid + 1
        else:
            return mid
    return -1


def locate(ranges: list[tuple], addr: int, top: int) -> tuple[int, int, int]:
    """(index or -1, lo, hi): the range holding addr, or the gap around it."""
    lo, hi = 0, len(ranges)
    while lo < hi:
        mid = (lo + hi) >> 1
        if ranges[mid][0] <= addr:
            lo = mid + 1
        else:
            hi = mid
    if lo > 0 and ranges[lo - 1][1] >= addr:
        return lo - 1, ranges[lo - 1][0], ranges[lo - 1][1]
    return -1, ranges[lo - 1][1] + 1 if lo > 0 else 0, ranges[lo][0] - 1 if lo < len(ranges) else top


def fit(addr: int, lo: int, hi: int, bits: int) -> int:
    """The shortest prefix whose network around addr lies in [lo, hi]."""
    full = (1 << bits) - 1
    for k in range(bits + 1):
        mask = (full << (bits - k)) & full
        net = addr & mask
        if net >= lo and (net | (~mask & full)) <= hi:
            return k
    return bits


def _ranges4(blob: bytes) -> list[tuple]:
    return [R4.unpack_from(blob, i) for i in range(0, len(blob), R4.size)]


def _ranges6(blob: bytes) -> list[tuple]:
    out = []
    for i in range(0, len(blob), R6.size):
        sh, sl, eh, el, loc, prefix = R6.unpack_from(blob, i)
        out.append(((sh << 64) | sl, (eh << 64) | el, loc, prefix))
    return out


def nth_usable(c, ok, r: int, otherwise: int) -> int:
    """The (r mod usable)-th usable candidate's ref: a uniform pick."""
    usable = [x for x, o in zip(c, ok) if o]
    return usable[r % len(usable)][0] if usable else otherwise


class Policy:
    def __init__(self, arrays: dict):
        self.psets = [PSET.unpack_from(arrays["psets"], i) for i in range(0, len(arrays["psets"]), PSET.size)]
        self.cands = [CAND.unpack_from(arrays["cands"], i) for i in range(0, len(arrays["cands"]), CAND.size)]
        self.colls = [COLL.unpack_from(arrays["colls"], i) for i in range(0, len(arrays["colls"]), COLL.size)]
        self.cidr4 = _ranges4(arrays["cidr4"])
        self.cidr6 = _ranges6(arrays["cidr6"])
        r = arrays["regions"]
        self.regions = [struct.unpack_from("<ff", r, i) for i in range(0, len(r), 8)]
        self.geo4: list = []
        self.geo6: list = []
        self.geolocs: list = []
        self.health: bytearray | None = None

    def uses_location(self) -> bool:
        """Whether a latency, geolocation or geoproximity pset is here."""
        return any(K.get(p[0]) in LOCATION_KINDS for p in self.psets)

    def attach(self, geo=None, health=None) -> None:
        if geo is not None and getattr(geo, "lazy", False) and not self.uses_location():
            geo = None  # geodefault.LazyGeo: loaded only for location routing
        arrays = None if geo is None else geo if isinstance(geo, dict) else geo.arrays()
        if arrays is not None:
            self.geo4 = _ranges4(arrays["geo4"])
            self.geo6 = _ranges6(arrays["geo6"])
            g = arrays["geolocs"]
            self.geolocs = [GEOLOC.unpack_from(g, i) for i in range(0, len(g), GEOLOC.size)]
        if health is not None:
            self.health = health.buffer if hasattr(health, "buffer") else health

    # ---- the same decisions as the C code -----------------------------------

    def health_ok(self, slot: int) -> bool:
        if slot == 0xFFFF or self.health is None or slot >= len(self.health):
            return True
        return self.health[slot] != 0

    def ref_healthy(self, ref: int, depth: int) -> bool:
        if ref == NONE or not ref & PSET_BIT or depth > 8:
            return True
        kind, _, ncand, cand_off, _, _, _ = self.psets[ref & ~PSET_BIT]
        return any(self.cand_healthy(self.cands[cand_off + i], depth + 1) for i in range(ncand))

    def cand_healthy(self, c, depth: int) -> bool:
        if not self.health_ok(c[1]):
            return False
        if c[2] & C_EVAL_TARGET:
            return self.ref_healthy(c[0], depth)
        return True

    def client_geo(self, cl: Client):
        if not cl.geo_done:
            cl.geo_done = True
            ranges = self.geo4 if cl.family == 4 else self.geo6 if cl.family == 6 else []
            i = _find(ranges, cl.addr) if ranges else -1
            if i >= 0 and ranges[i][2] < len(self.geolocs):
                cl.geoloc, cl.geoprefix = ranges[i][2], ranges[i][3]
        if cl.geoloc == NONE:
            return None
        cl.scope = max(cl.scope, cl.geoprefix)
        return self.geolocs[cl.geoloc]

    def choose(self, ps, cl: Client, depth: int) -> int:
        kind, _, ncand, cand_off, _, nomatch, coll = ps
        n = min(ncand, MAX_CANDS)
        c = self.cands[cand_off : cand_off + n]
        if n == 0:
            return nomatch
        ok = [self.cand_healthy(x, depth) for x in c]
        healthy = sum(ok)
        kind = K[kind]
        if healthy == 0 and kind not in ("geo", "cidr"):
            ok = [True] * n
        if kind == "alias":
            return c[0][0]
        if kind == "weighted":
            total = sum(x[4] for x, o in zip(c, ok) if o)
            r = cl.next_rand()
            if total > 0:
                r %= total
                for x, o in zip(c, ok):
                    if o and x[4]:
                        if r < x[4]:
                            return x[0]
                        r -= x[4]
            return nth_usable(c, ok, r, nomatch)  # all usable weigh 0: equal chances
        if kind == "failover":
            for want in (C_PRIMARY, C_SECONDARY):
                for x, o in zip(c, ok):
                    if x[2] & want and o:
                        return x[0]
            return nomatch
        if kind == "multivalue":  # one value, where only one fits (nested)
            return nth_usable(c, ok, cl.next_rand(), nomatch)
        if kind in ("latency", "geoproximity"):
            g = self.client_geo(cl)
            best, bestd = None, 0.0
            for x, o in zip(c, ok):
                if not o:
                    continue
                if g is None or math.isnan(g[3]):
                    return x[0]
                if kind == "latency":
                    if x[4] >= len(self.regions):
                        continue
                    d = distance_km(g[3], g[4], *self.regions[x[4]])
                else:
                    d = distance_km(g[3], g[4], x[6], x[7]) * (1.0 - x[8] / 100.0)
                if best is None or d < bestd:
                    best, bestd = x, d
            return best[0] if best is not None else nomatch
        if kind == "geo":
            g = self.client_geo(cl)
            for pass_ in (0, 1):
                for level in range(4):
                    for x, o in zip(c, ok):
                        if pass_ == 0 and not o:
                            continue
                        if level == 0 and g is not None and x[2] & C_SUBDIVISION:
                            if x[4] == g[1] and x[5] == g[2]:
                                return x[0]
                        elif level == 1 and g is not None and x[2] & C_COUNTRY:
                            if x[4] == g[1]:
                                return x[0]
                        elif level == 2 and g is not None and x[2] & C_CONTINENT:
                            if x[4] == g[0]:
                                return x[0]
                        elif level == 3 and x[2] & C_DEFAULT:
                            return x[0]
            return nomatch
        if kind == "cidr":
            loc = NONE
            if coll != NONE and cl.family in (4, 6):
                v4_off, v4_n, v6_off, v6_n = self.colls[coll]
                bits = 32 if cl.family == 4 else 128
                ranges = (self.cidr4[v4_off : v4_off + v4_n] if cl.family == 4
                          else self.cidr6[v6_off : v6_off + v6_n])
                j, lo, hi = locate(ranges, cl.addr, (1 << bits) - 1)
                if j >= 0:
                    loc = ranges[j][2]
                cl.scope = max(cl.scope, fit(cl.addr, lo, hi, bits))
            for pass_ in (0, 1):
                for x, o in zip(c, ok):
                    if (pass_ == 0 and not o) or x[2] & C_DEFAULT:
                        continue
                    if loc != NONE and x[4] == loc:
                        return x[0]
                for x, o in zip(c, ok):
                    if (pass_ == 1 or o) and x[2] & C_DEFAULT:
                        return x[0]
            return nomatch
        return nomatch

    def select_ref(self, ref: int, cl: Client) -> int:
        depth = 0
        while ref != NONE and ref & PSET_BIT:
            depth += 1
            if depth > 8 or (ref & ~PSET_BIT) >= len(self.psets):
                return NONE
            ref = self.choose(self.psets[ref & ~PSET_BIT], cl, depth)
        return ref

    def select_to_values(self, ref: int, cl: Client) -> int:
        """select_ref, stopping at a multivalue pset whose values are answered
        together: the answer's own (depth 1) or a traffic policy's
        multivalue rule (P_VALUES); an alias's multivalue target gives one."""
        depth = 0
        while ref != NONE and ref & PSET_BIT:
            depth += 1
            if depth > 8 or (ref & ~PSET_BIT) >= len(self.psets):
                return NONE
            ps = self.psets[ref & ~PSET_BIT]
            if ps[0] == 3 and ps[4] != NONE and (depth == 1 or ps[1] & P_VALUES):
                return ref
            ref = self.choose(ps, cl, depth)
        return ref

    def pick_values(self, ps, cl: Client) -> list[int]:
        _, _, ncand, cand_off, _, _, _ = ps
        n = min(ncand, MAX_CANDS)
        idx = [i for i in range(n) if self.cand_healthy(self.cands[cand_off + i], 1)]
        if not idx:
            idx = list(range(n))
        k = len(idx)
        out = []
        for i in range(min(k, MAX_MULTIVALUE)):
            j = i + cl.next_rand() % (k - i)
            idx[i], idx[j] = idx[j], idx[i]
            out.append(self.cands[cand_off + idx[i]][0])
        return out
