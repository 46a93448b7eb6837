"""GeoIP, AWS region coordinates and the latency table, flattened into
little-endian arrays that the compiled core binary-searches, with plain
Python lookups over the same arrays as the reference it is tested against.

Arrays (records are fixed-size, little-endian, sorted by start, disjoint):

    geo4     "<IIIB3x"    start u32, end u32 (inclusive), loc u32, prefix u8
    geo6     "<QQQQIB3x"  start_hi, start_lo, end_hi, end_lo, loc u32, prefix u8
    geolocs  "<HHIff"     continent u16, country u16, subdivision u32,
                          latitude f32, longitude f32 (NaN: no location)
    regions  "<ff"        latitude, longitude per AWS region, in region_index order
    lat4     "<IIIB3x"    start, end, row, prefix    (latency table networks)
    lat6     "<QQQQIB3x"  start_hi, start_lo, end_hi, end_lo, row, prefix
    latrows  "<f" * len(REGIONS) per row, row-major; NaN = RTT unknown
    latareas "<HHII"      continent, country, subdivision, row; sorted

Codes are packed by `pack_code`: int.from_bytes(ascii, "big"), so "US" is
0x5553 and "CA" 0x4341 whether stored in a u16 or a u32 (the leading bytes
are zero), and 0 means "none".

`prefix` is the prefix length of the MaxMind network (or configured block)
that placed the address: the ECS scope an answer decided by it may return.
An IPv4-mapped client address (::ffff:a.b.c.d) is looked up in geo4; an
IPv4 database's addresses live only in geo4.
"""
from __future__ import annotations

import array
import ipaddress
import math
import struct
import sys

from . import cidr
from .lightclass import dataclass
# the AWS regions live in regions.py (a zone-file server compiles them without GeoIP)
from .regions import REGION_NAMES, REGIONS, region_index, regions_array  # noqa: F401

LOC = struct.Struct("<HHIff")
AREA = struct.Struct("<HHII")
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_MAPPED_BASE = int(_MAPPED.network_address)
NAN = float("nan")
_M64 = (1 << 64) - 1


def pack_code(s: str) -> int:
    """ASCII code -> int, big-endian, zero-padded on the left: 'US' -> 0x5553,
    'ENG' -> 0x454E47.  '' -> 0 (no code).  At most 4 characters."""
    if not s:
        return 0
    b = s.encode("ascii")
    if len(b) > 4:
        raise ValueError(f"code {s!r} is longer than 4 characters")
    return int.from_bytes(b, "big")


def unpack_code(n: int) -> str:
    if n == 0:
        return ""
    return n.to_bytes(4, "big").lstrip(b"\x00").decode("ascii")


def _f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


@dataclass
class GeoLoc:
    """Where one client address is, as the arrays say (codes as text, ''
    when the database has none; lat/lon NaN when it has no location)."""

    continent: str
    country: str
    subdivision: str
    lat: float
    lon: float
    prefix: int

    @property
    def codes(self) -> tuple[int, int, int]:
        return pack_code(self.continent), pack_code(self.country), pack_code(self.subdivision)


def _record_loc(rec) -> tuple[int, int, int, float, float]:
    """The fields of a GeoLite2/GeoIP2 City or Country record we route on."""
    if not isinstance(rec, dict):
        return 0, 0, 0, NAN, NAN
    cont = rec.get("continent")
    country = rec.get("country")
    subs = rec.get("subdivisions")
    loc = rec.get("location")
    c = pack_code(cont.get("code") or "") if cont else 0
    k = pack_code(country.get("iso_code") or "") if country else 0
    s = pack_code(subs[0].get("iso_code") or "") if subs else 0
    lat = lon = NAN
    if loc and loc.get("latitude") is not None and loc.get("longitude") is not None:
        lat, lon = float(loc["latitude"]), float(loc["longitude"])
    return c, k, s, lat, lon


_HI = bytes(x >> 4 for x in range(256))
_LO = bytes(x & 15 for x in range(256))


def _u32_column(*cols: bytes) -> array.array:
    """Big-endian byte columns (most significant first, None = zero byte)
    -> array of native u32."""
    n = len(next(c for c in cols if c is not None))
    out = bytearray(4 * n)
    for i, c in enumerate(cols, 4 - len(cols)):
        if c is not None:
            out[i::4] = c
    a = array.array("I")
    a.frombytes(bytes(out))
    if sys.byteorder == "little":
        a.byteswap()
    return a


def _tree_records(tree: bytes, record_size: int):
    """The search tree's (left, right) records as two u32 arrays, built with
    slicing (C speed) rather than a Python loop per node."""
    if record_size == 32:
        return (_u32_column(*(tree[i::8] for i in range(4))),
                _u32_column(*(tree[i::8] for i in range(4, 8))))
    if record_size == 24:
        return (_u32_column(*(tree[i::6] for i in range(3))),
                _u32_column(*(tree[i::6] for i in range(3, 6))))
    if record_size == 28:
        mid = tree[3::7]
        return (_u32_column(mid.translate(_HI), tree[0::7], tree[1::7], tree[2::7]),
                _u32_column(mid.translate(_LO), tree[4::7], tree[5::7], tree[6::7]))
    raise ValueError(f"unknown MaxMind DB record size {record_size}")


class _Builder:
    """Collects networks in address order into the packed arrays."""

    def __init__(self):
        self.v4 = bytearray()
        self.v6 = bytearray()
        self.mapped: list[tuple[int, int, int, int]] = []
        self.locs: dict[bytes, int] = {}

    def loc(self, fields) -> int:
        key = LOC.pack(*fields)
        i = self.locs.get(key)
        if i is None:
            i = self.locs[key] = len(self.locs)
        return i

    def add(self, start: int, plen: int, bits: int, loc: int) -> None:
        """One network of a 32-bit (IPv4) or 128-bit tree."""
        if bits == 32:
            self.v4 += cidr.V4.pack(start, start + (1 << (32 - plen)) - 1, loc, plen)
            return
        end = start + (1 << (128 - plen)) - 1
        if end <= 0xFFFFFFFF and plen >= 96:  # the IPv4 subtree at ::/96
            self.v4 += cidr.V4.pack(start, end, loc, plen - 96)
        elif _MAPPED_BASE <= start and end <= _MAPPED_BASE + 0xFFFFFFFF:
            self.mapped.append((start - _MAPPED_BASE, end - _MAPPED_BASE, loc, plen - 96))
        else:
            self.v6 += cidr.V6.pack(start >> 64, start & _M64, end >> 64, end & _M64, loc, plen)

    def finish(self, description: str) -> GeoDB:
        v4, v6 = bytes(self.v4), bytes(self.v6)
        self.v4 = self.v6 = bytearray()
        if self.mapped:
            t = cidr.RangeTable(v4, False)
            own = [t.row(i) for i in range(len(t))]
            v4 = cidr.pack_v4(cidr.paint(own + self.mapped))
        return GeoDB(v4, v6, b"".join(self.locs), description)


class GeoDB:
    """A MaxMind database flattened for the core (formats above)."""

    def __init__(self, geo4: bytes, geo6: bytes, geolocs: bytes, description: str = ""):
        self.geo4 = geo4
        self.geo6 = geo6
        self.geolocs = geolocs
        self.description = description  # database type and build date, for logs
        self._t4 = cidr.RangeTable(geo4, False)
        self._t6 = cidr.RangeTable(geo6, True)

    @classmethod
    def from_mmdb(cls, path: str) -> GeoDB:
        """Flatten a City or Country database.

        The reader's own iterator decodes every network's record into nested
        dicts (~28 us each: 88 s for a 3.1M-network City database), though
        networks share few records.  So the search tree is walked here from
        its raw records (the same walk as Reader.__iter__, aliases of the
        IPv4 subtree skipped), and each distinct record is decoded once,
        through the reader, at the first address that uses it.
        `from_mmdb_iter` is the plain iterator version; tests check that both
        give the same arrays."""
        import maxminddb

        with maxminddb.open_database(path) as reader:
            meta = reader.metadata()
            with open(path, "rb") as f:
                tree = f.read(meta.node_count * meta.record_size // 4)
            if len(tree) != meta.node_count * meta.record_size // 4:
                raise ValueError(f"{path}: search tree runs past the end of the file")
            left, right = _tree_records(tree, meta.record_size)
            del tree
            b = _Builder()
            bits = 128 if meta.ip_version == 6 else 32
            nodes = meta.node_count
            v4_start = 0
            if bits == 128:
                for _ in range(96):
                    if v4_start >= nodes:
                        break
                    v4_start = left[v4_start]
            by_value: dict[int, int] = {}
            get = reader.get
            ip6 = ipaddress.IPv6Address
            ip4 = ipaddress.IPv4Address
            add = b.add
            # explicit stack of (record value, depth, address bits so far):
            # go left without pushing, push the right child for later, so
            # networks come out in address order with one push per node
            stack = [(0, 0, 0)]
            pop, push = stack.pop, stack.append
            while stack:
                node, depth, acc = pop()
                while node < nodes:
                    if acc and node == v4_start:
                        node = nodes  # ::ffff:0:0/96 or 2002::/16 aliasing the IPv4 tree
                        break
                    acc <<= 1
                    depth += 1
                    r = right[node]
                    if r != nodes:
                        push((r, depth, acc | 1))
                    node = left[node]
                if node == nodes:
                    continue  # no data here
                start = acc << (bits - depth)
                loc = by_value.get(node)
                if loc is None:
                    rec = get(ip6(start) if bits == 128 else ip4(start))
                    loc = by_value[node] = b.loc(_record_loc(rec))
                add(start, depth, bits, loc)
            return b.finish(f"{meta.database_type} built {meta.build_epoch}")

    @classmethod
    def from_mmdb_iter(cls, path: str) -> GeoDB:
        """The same arrays through maxminddb's iterator (slow, simple)."""
        import maxminddb

        b = _Builder()
        with maxminddb.open_database(path) as reader:
            meta = reader.metadata()
            for net, rec in reader:
                bits = 32 if net.version == 4 else 128
                start = int(net.network_address)
                plen = net.prefixlen
                if bits == 32 and meta.ip_version == 6:
                    start, plen, bits = start, plen + 96, 128  # back to the ::/96 form
                b.add(start, plen, bits, b.loc(_record_loc(rec)))
        return b.finish(f"{meta.database_type} built {meta.build_epoch}")

    def arrays(self) -> dict[str, bytes]:
        return {"geo4": self.geo4, "geo6": self.geo6, "geolocs": self.geolocs}

    def loc(self, i: int) -> tuple[str, str, str, float, float]:
        c, k, s, lat, lon = LOC.unpack_from(self.geolocs, i * LOC.size)
        return unpack_code(c), unpack_code(k), unpack_code(s), lat, lon

    def __len__(self) -> int:
        return len(self._t4) + len(self._t6)

    def lookup(self, ip) -> GeoLoc | None:
        version, n = cidr.client_key(ip)
        hit = (self._t4 if version == 4 else self._t6).find(n)
        if hit is None:
            return None
        c, k, s, lat, lon = self.loc(hit[0])
        return GeoLoc(c, k, s, lat, lon, hit[1])


# -- distances ---------------------------------------------------------------

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in km: the reference formula for the C code."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


# -- latency table -----------------------------------------------------------

class LatencyTable:
    """The operator's measured round-trip times: client network or geo area
    -> AWS region -> RTT in ms.  Configuration (TOML under [latency], or the
    same dict):

        [latency.networks."198.51.100.0/24"]   # longest prefix wins
        us-east-1 = 12.5
        eu-west-1 = 81
        [latency.continents.EU]                # continent code
        eu-west-1 = 20
        [latency.countries.US]                 # ISO 3166 alpha-2
        us-east-1 = 40
        [latency.subdivisions."US-WA"]         # country-subdivision
        us-west-2 = 10

    A client's row: the network that holds its address, else its
    subdivision, else its country, else its continent (from GeoIP).  A row
    lists the regions it knows; the others are NaN.  When no row matches,
    the core falls back to geography (great_circle_km from the client's
    coordinates to each region in REGIONS).

    Area rows are matched through `latareas` / `area_rows`, keyed by packed
    codes (continent, country, subdivision): a continent area is (C, 0, 0),
    a country (0, K, 0), a subdivision (0, K, S).  Continent and country
    codes overlap ("NA"), hence the separate fields.
    """

    def __init__(self, rows: list[list[float]], networks: list[tuple[str, int]],
                 area_rows: dict[tuple[int, int, int], int]):
        self.rows = rows  # per row, len(REGIONS) RTTs (NaN unknown)
        self.networks = networks  # (cidr, row)
        self.area_rows = area_rows  # (continent, country, subdivision) codes -> row
        self._arrays: dict[str, bytes] | None = None

    @classmethod
    def from_config(cls, cfg: dict | None) -> LatencyTable:
        cfg = cfg or {}
        unknown = set(cfg) - {"networks", "continents", "countries", "subdivisions"}
        if unknown:
            raise ValueError(f"latency table: unknown section(s) {sorted(unknown)}; expected "
                             "networks, continents, countries, subdivisions")
        rows: list[list[float]] = []
        networks: list[tuple[str, int]] = []
        areas: dict[tuple[int, int, int], int] = {}

        def add_row(what: str, rtts) -> int:
            if not isinstance(rtts, dict) or not rtts:
                raise ValueError(f"latency table: {what} needs a table of region = RTT ms")
            row = [NAN] * len(REGION_NAMES)
            for region, ms in rtts.items():
                if region not in REGIONS:
                    raise ValueError(f"latency table: {what}: unknown AWS region {region!r}")
                if isinstance(ms, bool) or not isinstance(ms, (int, float)) or \
                        not (ms >= 0 and math.isfinite(ms)):
                    raise ValueError(f"latency table: {what}: RTT for {region} must be a "
                                     f"number of ms >= 0, not {ms!r}")
                row[region_index(region)] = float(ms)
            rows.append(row)
            return len(rows) - 1

        for net, rtts in (cfg.get("networks") or {}).items():
            cidr.parse_block(net)
            networks.append((net, add_row(f"network {net}", rtts)))
        for code, rtts in (cfg.get("continents") or {}).items():
            if code not in CONTINENTS:
                raise ValueError(f"latency table: unknown continent code {code!r}")
            areas[(pack_code(code), 0, 0)] = add_row(f"continent {code}", rtts)
        for code, rtts in (cfg.get("countries") or {}).items():
            if not (len(code) == 2 and code.isascii() and code.isalpha() and code.isupper()):
                raise ValueError(f"latency table: {code!r} is not an ISO 3166 country code")
            areas[(0, pack_code(code), 0)] = add_row(f"country {code}", rtts)
        for code, rtts in (cfg.get("subdivisions") or {}).items():
            country, _, sub = code.partition("-")
            if len(country) != 2 or not 1 <= len(sub) <= 3 or not code.isascii():
                raise ValueError(f"latency table: {code!r} is not COUNTRY-SUBDIVISION "
                                 "(e.g. US-WA)")
            areas[(0, pack_code(country), pack_code(sub))] = add_row(f"subdivision {code}",
                                                                     rtts)
        table = cls(rows, networks, areas)
        table.arrays()  # validate the networks now (two rows for one block)
        return table

    def arrays(self) -> dict[str, bytes]:
        if self._arrays is None:
            flat = cidr.flatten(self.networks)
            self._arrays = {
                "lat4": flat["v4"], "lat6": flat["v6"],
                "latrows": b"".join(struct.pack(f"<{len(REGION_NAMES)}f", *r)
                                    for r in self.rows),
                "latareas": b"".join(AREA.pack(c, k, s, row)
                                     for (c, k, s), row in sorted(self.area_rows.items())),
            }
        return self._arrays

    def row_for(self, ip, geoloc: GeoLoc | None) -> tuple[int, int] | None:
        """(row, prefix) for a client: its network, else its geo area (the
        prefix is then the GeoIP network's), else None."""
        hit = cidr.lookup({"v4": self.arrays()["lat4"], "v6": self.arrays()["lat6"]}, ip)
        if hit is not None:
            return hit
        if geoloc is None:
            return None
        c, k, s = geoloc.codes
        for key, ok in (((0, k, s), k and s), ((0, k, 0), k), ((c, 0, 0), c)):
            if ok and key in self.area_rows:
                return self.area_rows[key], geoloc.prefix
        return None

    def lookup_rtts(self, ip, geoloc: GeoLoc | None) -> dict[str, float] | None:
        """The known RTTs (ms) of the client's row, or None when no row
        matches (then the default is geography: great_circle_km)."""
        hit = self.row_for(ip, geoloc)
        if hit is None:
            return None
        row = self.rows[hit[0]]
        return {r: _f32(row[i]) for i, r in enumerate(REGION_NAMES) if not math.isnan(row[i])}


CONTINENTS = {"AF": "Africa", "AN": "Antarctica", "AS": "Asia", "EU": "Europe",
              "NA": "North America", "OC": "Oceania", "SA": "South America"}
