"""Reference query parser: the readable twin of core/_engine.pyx's parse.

The outcome is either a Query or an instruction: drop the packet, or answer
FORMERR/NOTIMP with a bare header.  The rules, shared with the compiled
parser, are deliberately strict where RFCs require it and lenient where
real clients differ:
- fewer than 12 octets, or QR set: dropped (no one to answer);
- opcode other than QUERY: NOTIMP, header only;
- QDCOUNT != 1, a compressed or over-long qname, a truncated question or
  record, more than one OPT, an OPT not owned by the root, a malformed
  Client Subnet option, or octets after the last record: FORMERR;
- records in the answer and authority sections are skipped, not refused.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError
from ..model import TYPE_OPT

DROP = "drop"
FORMERR = "formerr"
NOTIMP = "notimp"

EDNS_OPT_ECS = 8
OUR_UDP_PAYLOAD = 1232  # DNS Flag Day 2020: no fragmentation on common paths


@dataclass
class Ecs:
    family: int
    source_prefix: int
    scope_prefix: int
    address: bytes  # as sent: ceil(source_prefix / 8) octets


@dataclass
class Query:
    id: int
    flags: int  # the request's flags word
    qname: bytes  # wire form as sent (case preserved)
    qtype: int
    qclass: int
    edns: bool = False
    edns_size: int = 512
    edns_version: int = 0
    edns_do: bool = False
    edns_co: bool = False  # RFC 9824 Compact Answers OK
    ecs: Ecs | None = None

    @property
    def opcode(self) -> int:
        return (self.flags >> 11) & 0xF


class Malformed(InputError):
    pass


def _read_name(buf: bytes, off: int, allow_pointers: bool) -> int:
    """Skip a wire name; returns the offset after it."""
    total = 0
    while True:
        if off >= len(buf):
            raise Malformed("name runs past the packet")
        n = buf[off]
        if n & 0xC0 == 0xC0:
            if not allow_pointers or off + 1 >= len(buf):
                raise Malformed("compression pointer")
            return off + 2
        if n & 0xC0:
            raise Malformed("bad label type")
        off += 1
        total += n + 1
        # RFC 1035 §2.3.4: 255 octets at most, the root label included; a
        # label that leaves no room for the root already makes it too long
        if total > 255 or (n and total >= 255):
            raise Malformed("name too long")
        if n == 0:
            return off
        off += n


def parse_query(buf: bytes) -> Query | str:
    if len(buf) < 12:
        return DROP
    flags = int.from_bytes(buf[2:4], "big")
    if flags & 0x8000:
        return DROP
    if (flags >> 11) & 0xF != 0:
        return NOTIMP
    qd, an, ns, ar = (int.from_bytes(buf[i : i + 2], "big") for i in (4, 6, 8, 10))
    if qd != 1:
        return FORMERR
    try:
        end = _read_name(buf, 12, allow_pointers=False)
        if end + 4 > len(buf):
            raise Malformed("question truncated")
        q = Query(
            id=int.from_bytes(buf[0:2], "big"),
            flags=flags,
            qname=bytes(buf[12:end]),
            qtype=int.from_bytes(buf[end : end + 2], "big"),
            qclass=int.from_bytes(buf[end + 2 : end + 4], "big"),
        )
        off = end + 4
        for _ in range(an + ns):
            off = _skip_rr(buf, off)
        for _ in range(ar):
            start = off
            off = _read_name(buf, off, allow_pointers=True)
            if off + 10 > len(buf):
                raise Malformed("record truncated")
            rtype = int.from_bytes(buf[off : off + 2], "big")
            rdlen = int.from_bytes(buf[off + 8 : off + 10], "big")
            if off + 10 + rdlen > len(buf):
                raise Malformed("rdata truncated")
            if rtype == TYPE_OPT:
                if q.edns or buf[start] != 0 or off != start + 1:
                    raise Malformed("second OPT or OPT not at root")
                q.edns = True
                q.edns_size = max(512, int.from_bytes(buf[off + 2 : off + 4], "big"))
                q.edns_version = buf[off + 5]
                q.edns_do = bool(buf[off + 6] & 0x80)
                q.edns_co = bool(buf[off + 6] & 0x40)
                _parse_options(q, buf[off + 10 : off + 10 + rdlen])
            off += 10 + rdlen
        if off != len(buf):
            raise Malformed("trailing octets")
    except Malformed:
        return FORMERR
    return q


def _skip_rr(buf: bytes, off: int) -> int:
    off = _read_name(buf, off, allow_pointers=True)
    if off + 10 > len(buf):
        raise Malformed("record truncated")
    rdlen = int.from_bytes(buf[off + 8 : off + 10], "big")
    if off + 10 + rdlen > len(buf):
        raise Malformed("rdata truncated")
    return off + 10 + rdlen


def _parse_options(q: Query, rdata: bytes) -> None:
    off = 0
    while off < len(rdata):
        if off + 4 > len(rdata):
            raise Malformed("option header truncated")
        code = int.from_bytes(rdata[off : off + 2], "big")
        olen = int.from_bytes(rdata[off + 2 : off + 4], "big")
        body = rdata[off + 4 : off + 4 + olen]
        if len(body) != olen:
            raise Malformed("option truncated")
        if code == EDNS_OPT_ECS:
            if q.ecs is not None or olen < 4:
                raise Malformed("ECS repeated or short")
            family = int.from_bytes(body[0:2], "big")
            src, scope = body[2], body[3]
            maxbits = {1: 32, 2: 128}.get(family)
            # RFC 7871 §6: exactly ceil(source/8) address octets, scope 0 in queries
            if maxbits is None or src > maxbits or scope != 0 or olen - 4 != (src + 7) // 8:
                raise Malformed("bad ECS")
            if src % 8 and body[-1] & (0xFF >> (src % 8)):
                raise Malformed("ECS address bits set beyond the source prefix")
            q.ecs = Ecs(family, src, scope, bytes(body[4:]))
        off += 4 + olen


def expand_name(msg: bytes, end: int, off: int) -> bytes:
    """csrc/zfwire.h zf_name_expand: the name at msg[off:end] written out
    whole, its compression pointers followed; b"" when it is not one (over
    255 octets, a reserved label type, past `end`, or a pointer that does
    not point before itself)."""
    out = b""
    while True:
        if off >= end:
            return b""
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if off + 1 >= end:
                return b""
            to = (n & 0x3F) << 8 | msg[off + 1]
            if to >= off:
                return b""
            end, off = off, to
            continue
        if n & 0xC0 or len(out) + n + 1 > 255 or off + 1 + n > end:
            return b""
        out += msg[off:off + 1 + n]
        off += 1 + n
        if n == 0:
            return out
