"""A stub resolver: one question to a recursive resolver (RD set), UDP then
TCP when truncated, and the addresses at the end of the answer's CNAME chain.

Only what alias-following needs: the outcome ("ok", "nxdomain", "nodata"
are answers from the target's authorities; "error" is the resolver failing:
timeout, SERVFAIL, REFUSED, garbage), the A or AAAA rdatas, and the TTL to
serve them with (the smallest along the chain, as a cache would hold them).
"""
from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass

from ..dnsmsg import FLAG_TC, answer_records, make_query
from ..model import TYPE_CNAME, name_lower
from ..netaddr import recv_exact

OK, NXDOMAIN, NODATA, ERROR = "ok", "nxdomain", "nodata", "error"


@dataclass(frozen=True)
class Outcome:
    status: str
    rdatas: tuple[bytes, ...] = ()
    ttl: int = 0
    detail: str = ""


def system_resolver(path: str = "/etc/resolv.conf") -> tuple[str, int] | None:
    """The first `nameserver` of resolv.conf, port 53."""
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    return parts[1].split("%")[0], 53
    except OSError:
        pass
    return None


def _exchange(server: tuple[str, int], query: bytes, timeout: float, tcp: bool) -> bytes:
    family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
    kind = socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM
    with socket.socket(family, kind) as s:
        s.settimeout(timeout)
        s.connect(server)
        if not tcp:
            s.send(query)
            while True:  # skip stray datagrams (another id): RFC 5452 §9.1
                data = s.recv(65535)
                if data[:2] == query[:2]:
                    return data
        s.sendall(struct.pack(">H", len(query)) + query)
        head = recv_exact(s, 2)
        return recv_exact(s, struct.unpack(">H", head)[0])


def resolve(server: tuple[str, int], qname: bytes, qtype: int, timeout: float = 2.0) -> Outcome:
    """Ask `server` for qname/qtype (lower-cased wire name)."""
    query = make_query(qname, qtype, rd=True, qid=int.from_bytes(os.urandom(2), "big"))
    try:
        wire = _exchange(server, query, timeout, tcp=False)
        if struct.unpack_from(">H", wire, 2)[0] & FLAG_TC:
            wire = _exchange(server, query, timeout, tcp=True)
        rcode, _flags, records = answer_records(wire)
    except (OSError, ValueError, IndexError, struct.error) as e:
        return Outcome(ERROR, detail=str(e) or type(e).__name__)
    if rcode == 3:
        return Outcome(NXDOMAIN)
    if rcode != 0:
        return Outcome(ERROR, detail=f"rcode {rcode}")
    # follow the chain as written: the owner of each step is the last target
    name, ttl, found = name_lower(qname), None, []
    for _ in range(16):
        step = [(t, tl, rd) for o, t, tl, rd in records if name_lower(o) == name]
        addrs = [(tl, rd) for t, tl, rd in step if t == qtype]
        if addrs:
            found = [rd for _tl, rd in addrs]
            low = min(tl for tl, _rd in addrs)
            ttl = low if ttl is None else min(ttl, low)
            break
        cname = [(tl, rd) for t, tl, rd in step if t == TYPE_CNAME]
        if not cname:
            break
        ttl = cname[0][0] if ttl is None else min(ttl, cname[0][0])
        name = name_lower(cname[0][1])
    if not found:
        return Outcome(NODATA)
    return Outcome(OK, tuple(sorted(set(found))), ttl or 0)
