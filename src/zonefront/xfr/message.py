"""DNS messages for the transfer slow path: parse a query, write responses with owner-name compression."""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

from .. import model
from ..errors import InputError
from ..zoneset import (  # noqa: F401  (re-exported: the rcodes transfers answer with)
    RCODE_FORMERR,
    RCODE_NOERROR,
    RCODE_NOTIMP,
    RCODE_NXDOMAIN,
    RCODE_REFUSED,
    RCODE_SERVFAIL,
)

CLASS_ANY = 255
TYPE_TSIG = 250
OPCODE_QUERY = 0
OPCODE_NOTIFY = 4
RCODE_NOTAUTH = 9
FLAG_QR = 0x8000
FLAG_AA = 0x0400
FLAG_RD = 0x0100

# RFC 5936 §2.2: as big as TCP allows; the reserve leaves room for a TSIG
# (key and algorithm names of up to 255 octets each, a 64-octet MAC).
MAX_MESSAGE = 65535
TSIG_RESERVE = 700


class FormError(InputError, ValueError):
    """A message we cannot parse; answered with FORMERR when the header is readable."""


def read_name(msg: bytes, off: int) -> tuple[bytes, int]:
    """The (possibly compressed) name at off as uncompressed wire, and the offset after it."""
    out = bytearray()
    end = -1
    hops = 0
    while True:
        if off >= len(msg):
            raise FormError("name runs past the end of the message")
        n = msg[off]
        if n >= 0xC0:
            if off + 1 >= len(msg):
                raise FormError("truncated compression pointer")
            if end < 0:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            hops += 1
            if hops > 127:
                raise FormError("compression loop")
            continue
        if n > 63:
            raise FormError("bad label type")
        if n == 0:
            out.append(0)
            if len(out) > model.MAX_NAME_WIRE:
                raise FormError("name longer than 255 octets")
            return bytes(out), (end if end >= 0 else off + 1)
        out += msg[off : off + 1 + n]
        off += 1 + n


@dataclass
class RR:
    owner: bytes  # uncompressed wire, case as sent
    rtype: int
    rclass: int
    ttl: int
    rdata: bytes  # as sent (names inside may be compressed for old types)
    rdata_off: int  # offset of rdata in the message
    start: int  # offset where the RR begins


@dataclass
class Message:
    wire: bytes
    id: int
    flags: int
    qname: bytes = b""  # as sent
    qtype: int = 0
    qclass: int = 0
    answer: list[RR] = field(default_factory=list)
    authority: list[RR] = field(default_factory=list)
    additional: list[RR] = field(default_factory=list)
    question_end: int = 12

    @property
    def opcode(self) -> int:
        return (self.flags >> 11) & 0xF

    @property
    def rcode(self) -> int:
        return self.flags & 0xF

    @property
    def tsig(self) -> RR | None:
        if self.additional and self.additional[-1].rtype == TYPE_TSIG:
            return self.additional[-1]
        return None


def parse(wire: bytes) -> Message:
    if len(wire) < 12:
        raise FormError("short header")
    qid, flags, qd, an, ns, ar = struct.unpack_from("!HHHHHH", wire)
    m = Message(wire, qid, flags)
    off = 12
    if qd > 1:
        raise FormError("more than one question")
    if qd == 1:
        m.qname, off = read_name(wire, off)
        if off + 4 > len(wire):
            raise FormError("truncated question")
        m.qtype, m.qclass = struct.unpack_from("!HH", wire, off)
        off += 4
    m.question_end = off
    for count, section in ((an, m.answer), (ns, m.authority), (ar, m.additional)):
        for _ in range(count):
            start = off
            owner, off = read_name(wire, off)
            if off + 10 > len(wire):
                raise FormError("truncated RR")
            rtype, rclass, ttl, rdlen = struct.unpack_from("!HHIH", wire, off)
            off += 10
            if off + rdlen > len(wire):
                raise FormError("rdata past the end")
            section.append(RR(owner, rtype, rclass, ttl, wire[off : off + rdlen], off, start))
            off += rdlen
    for rr in m.additional[:-1]:
        if rr.rtype == TYPE_TSIG:
            raise FormError("TSIG not last (RFC 8945 §5.1)")
    return m


def header(qid: int, flags: int, qd: int, an: int, ns: int, ar: int) -> bytes:
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


class Writer:
    """One response message: header, the question, then RRs until full.

    Owner names are compressed against earlier owners (and the qname);
    rdata goes out as stored, uncompressed, which RFC 3597 §4 allows."""

    __slots__ = ("buf", "count", "limit", "_suffixes", "qid", "flags", "qd")

    def __init__(self, qid: int, flags: int, question: tuple[bytes, int, int] | None,
                 limit: int = MAX_MESSAGE - TSIG_RESERVE):
        self.qid = qid
        self.flags = flags
        self.buf = bytearray(12)
        self.count = 0
        self.limit = limit
        self._suffixes: dict[bytes, int] = {}
        self.qd = 0
        if question is not None:
            qname, qtype, qclass = question
            self.buf += qname
            self.buf += struct.pack("!HH", qtype, qclass)
            self.qd = 1

    def _owner(self, owner: bytes) -> bytes:
        """owner (lower-cased wire) compressed against the owners already written."""
        sfx = self._suffixes
        at = len(self.buf)
        i = 0
        while owner[i]:
            hit = sfx.get(owner[i:])
            if hit is not None:
                return owner[:i] + struct.pack("!H", 0xC000 | hit)
            if at + i < 0x3FFF:
                sfx[owner[i:]] = at + i
            i += 1 + owner[i]
        return owner

    def add(self, owner: bytes, rtype: int, ttl: int, rdata: bytes,
            rclass: int = model.CLASS_IN) -> bool:
        """Appends one RR; False (and nothing written) when it might not fit.
        The first RR always goes in: a message holds at least one."""
        if len(self.buf) + len(owner) + 10 + len(rdata) > self.limit and self.count:
            return False
        self.buf += self._owner(owner)
        self.buf += struct.pack("!HHIH", rtype, rclass, ttl, len(rdata))
        self.buf += rdata
        self.count += 1
        return True

    def finish(self, an: int | None = None) -> bytes:
        """The message, with every RR counted in the answer section (transfers)."""
        struct.pack_into("!HHHHHH", self.buf, 0, self.qid, self.flags, self.qd,
                         self.count if an is None else an, 0, 0)
        return bytes(self.buf)


def error_response(q: Message, rcode: int) -> bytes:
    """Header and question of q with rcode: REFUSED, NOTAUTH, FORMERR..."""
    flags = FLAG_QR | (q.flags & (0x7800 | FLAG_RD)) | rcode
    if q.qname:
        return header(q.id, flags, 1, 0, 0, 0) + q.qname + struct.pack("!HH", q.qtype, q.qclass)
    return header(q.id, flags, 0, 0, 0, 0)
