"""CIDR blocks -> disjoint sorted address ranges, so that the compiled core
finds the longest-prefix match with one binary search (IP-based routing, the
latency table's networks, GeoIP).

Array formats (little-endian, fixed-size records, sorted by start, ranges
never overlap; a gap means "no block covers these addresses"):

    v4: "<IIIB3x"     start u32, end u32 (inclusive), value u32, prefix u8
    v6: "<QQQQIB3x"   start_hi, start_lo, end_hi, end_lo, value u32, prefix u8

`value` is the caller's location id (or table row); `prefix` is the prefix
length of the block that won there, which is also the ECS scope prefix an
answer decided by it may carry (RFC 7871 §7.2.1).

IPv6 blocks inside ::ffff:0:0/96 (IPv4-mapped) are stored as the IPv4 block
they map (prefix - 96): the core looks a mapped client address up in v4.
"""
from __future__ import annotations

import bisect
import ipaddress
import struct

V4 = struct.Struct("<IIIB3x")
V6 = struct.Struct("<QQQQIB3x")
_MASK64 = (1 << 64) - 1
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_MAPPED_BASE = int(_MAPPED.network_address)


def parse_block(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A CIDR block, strictly (no host bits); a mapped IPv6 block becomes IPv4.
    ValueError names the text."""
    try:
        net = ipaddress.ip_network(text.strip(), strict=True)
    except (ValueError, TypeError, AttributeError) as e:
        raise ValueError(f"invalid CIDR block {text!r}: {e}") from None
    if "/" not in text:
        raise ValueError(f"invalid CIDR block {text!r}: no prefix length")
    if net.version == 6 and net.prefixlen >= 96 and net.subnet_of(_MAPPED):
        net = ipaddress.IPv4Network((int(net.network_address) - _MAPPED_BASE,
                                     net.prefixlen - 96))
    return net


def paint(items: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Nested-or-disjoint ranges (start, end, value, prefix) -> disjoint
    ranges where the innermost (longest-prefix) one wins.  Items with the
    same start and prefix: the first given wins."""
    order = sorted(range(len(items)), key=lambda i: (items[i][0], items[i][3], i))
    out: list[tuple[int, int, int, int]] = []
    stack: list[tuple[int, int, int]] = []  # (end, value, prefix), innermost last
    pos = 0
    last = None
    for i in order:
        s, e, v, p = items[i]
        if last == (s, p):
            continue  # same block again: the first wins
        last = (s, p)
        while stack and stack[-1][0] < s:
            end, tv, tp = stack.pop()
            if pos <= end:
                out.append((pos, end, tv, tp))
                pos = end + 1
        if stack and pos < s:
            out.append((pos, s - 1, stack[-1][1], stack[-1][2]))
        pos = s
        stack.append((e, v, p))
    while stack:
        end, tv, tp = stack.pop()
        if pos <= end:
            out.append((pos, end, tv, tp))
            pos = end + 1
    return out


def pack_v4(ranges) -> bytes:
    return b"".join(V4.pack(s, e, v, p) for s, e, v, p in ranges)


def pack_v6(ranges) -> bytes:
    return b"".join(V6.pack(s >> 64, s & _MASK64, e >> 64, e & _MASK64, v, p)
                    for s, e, v, p in ranges)


def flatten(blocks: list[tuple[str, int]]) -> dict[str, bytes]:
    """[(cidr text, location id)] -> {"v4": bytes, "v6": bytes} (formats above).

    The same block twice with the same id is fine; with two ids it is a
    ValueError, as is any block that does not parse."""
    v4: list[tuple[int, int, int, int]] = []
    v6: list[tuple[int, int, int, int]] = []
    seen: dict[tuple[int, int, int], int] = {}
    for text, loc in blocks:
        net = parse_block(text)
        start = int(net.network_address)
        key = (net.version, start, net.prefixlen)
        if key in seen:
            if seen[key] != loc:
                raise ValueError(f"CIDR block {text!r} is given for two locations "
                                 f"({seen[key]} and {loc})")
            continue
        seen[key] = loc
        item = (start, start + net.num_addresses - 1, loc, net.prefixlen)
        (v4 if net.version == 4 else v6).append(item)
    return {"v4": pack_v4(paint(v4)), "v6": pack_v6(paint(v6))}


class RangeTable:
    """Binary search over one packed array (v4 or v6 format) without
    unpacking it whole: the reference lookup the C code is tested against."""

    def __init__(self, data: bytes, v6: bool):
        self.data = memoryview(data)
        self.rec = V6 if v6 else V4
        self.v6 = v6
        if len(data) % self.rec.size:
            raise ValueError(f"range array length {len(data)} is not a multiple of "
                             f"{self.rec.size}")
        self.n = len(data) // self.rec.size

    def __len__(self) -> int:
        return self.n

    def row(self, i: int) -> tuple[int, int, int, int]:
        """(start, end, value, prefix) with 128-bit ints for v6."""
        t = self.rec.unpack_from(self.data, i * self.rec.size)
        if self.v6:
            return ((t[0] << 64) | t[1], (t[2] << 64) | t[3], t[4], t[5])
        return t

    def _start(self, i: int) -> int:
        if self.v6:
            hi, lo = struct.unpack_from("<QQ", self.data, i * self.rec.size)
            return (hi << 64) | lo
        return struct.unpack_from("<I", self.data, i * self.rec.size)[0]

    def find(self, addr: int) -> tuple[int, int] | None:
        """(value, prefix) of the range holding `addr`, or None."""
        i = bisect.bisect_right(_Starts(self), addr) - 1
        if i < 0:
            return None
        s, e, v, p = self.row(i)
        return (v, p) if s <= addr <= e else None


class _Starts:
    """A sequence view of a RangeTable's start column, for bisect."""

    def __init__(self, t: RangeTable):
        self.t = t

    def __len__(self) -> int:
        return self.t.n

    def __getitem__(self, i: int) -> int:
        return self.t._start(i)


def client_key(ip: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> tuple[int, int]:
    """(version, integer) of a client address; an IPv4-mapped IPv6 address
    is looked up as the IPv4 address it carries."""
    a = ip if not isinstance(ip, str) else ipaddress.ip_address(ip)
    if a.version == 6 and a.ipv4_mapped is not None:
        return 4, int(a.ipv4_mapped)
    return a.version, int(a)


def lookup(arrays: dict[str, bytes], ip) -> tuple[int, int] | None:
    """Longest-prefix match of `ip` in flatten()'s arrays: (location id, prefix)."""
    version, n = client_key(ip)
    return RangeTable(arrays["v4" if version == 4 else "v6"], version == 6).find(n)
