"""A DNS message's small needs outside the hot path: build a query and read
a response's answer section (names decompressed, rdata uncompressed) for
TestDNSAnswer (api/testanswer.py) and the stub resolver that follows alias
targets outside our zones (outside/)."""
from __future__ import annotations

import ipaddress
import secrets
import struct

from . import model

EDNS_PAYLOAD = 1232  # what a resolver of today advertises (DNS Flag Day 2020)
OPT_ECS = 8
FLAG_TC = 0x0200

# types whose rdata holds names the encoder may compress (RFC 3597 §4):
# the offsets of (name, name, ...) after fixed fields, as (prefix octets, names)
_NAMED = {model.TYPE_CNAME: (0, 1), model.TYPE_NS: (0, 1), model.TYPE_PTR: (0, 1),
          model.TYPE_DNAME: (0, 1), model.TYPE_MX: (2, 1), model.TYPE_SRV: (6, 1),
          model.TYPE_SOA: (0, 2)}


def make_query(qname: bytes, qtype: int, ecs: tuple[str, int] | None = None,
               rd: bool = False, qid: int | None = None) -> bytes:
    """A query with EDNS (payload EDNS_PAYLOAD), maybe ECS (RFC 7871): RD
    clear as a resolver asks an authority, set for a stub asking a resolver."""
    qid = secrets.randbits(16) if qid is None else qid
    header = struct.pack(">HHHHHH", qid, 0x0100 if rd else 0, 1, 0, 0, 1)
    options = b""
    if ecs is not None:
        ip = ipaddress.ip_address(ecs[0])
        plen = ecs[1]
        family = 1 if ip.version == 4 else 2
        net = ipaddress.ip_network(f"{ip}/{plen}", strict=False).network_address.packed
        addr = net[:(plen + 7) // 8]
        body = struct.pack(">HBB", family, plen, 0) + addr
        options = struct.pack(">HH", OPT_ECS, len(body)) + body
    opt = b"\x00" + struct.pack(">HHIH", model.TYPE_OPT, EDNS_PAYLOAD, 0, len(options)) + options
    return header + qname + struct.pack(">HH", qtype, 1) + opt


def _name_at(msg: bytes, off: int) -> tuple[bytes, int]:
    """An uncompressed wire name read at `off` (pointers followed), and the
    offset after it in the record."""
    out = bytearray()
    end = None
    hops = 0
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            hops += 1
            if hops > 128:
                raise ValueError("compression loop")
            continue
        out += msg[off:off + 1 + n]
        off += 1 + n
        if n == 0:
            return bytes(out), (end if end is not None else off)


def answer_records(msg: bytes) -> tuple[int, int, list[tuple[bytes, int, int, bytes]]]:
    """(rcode, flags, [(owner, type, ttl, uncompressed rdata)]) of the answer
    section; raises ValueError (or IndexError, struct.error) on a bad message."""
    _id, flags, qd, an, _ns, _ar = struct.unpack_from(">HHHHHH", msg)
    off = 12
    for _ in range(qd):
        off = _name_at(msg, off)[1] + 4
    out = []
    for _ in range(an):
        owner, off = _name_at(msg, off)
        rtype, _cls, ttl, rdlen = struct.unpack_from(">HHIH", msg, off)
        off += 10
        raw = msg[off:off + rdlen]
        if rtype in _NAMED:
            prefix, count = _NAMED[rtype]
            pos = off + prefix
            parts = [msg[off:pos]]
            for _ in range(count):
                name, pos = _name_at(msg, pos)
                parts.append(name)
            parts.append(msg[pos:off + rdlen])
            raw = b"".join(parts)
        out.append((owner, rtype, ttl, raw))
        off += rdlen
    return flags & 0xF, flags, out
