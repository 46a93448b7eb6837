"""Response sections pre-encoded once, relocated per query.

A block is the answer, authority and additional sections of one response,
encoded with name compression as if they followed a question whose qname we
do not know yet.  Every compression pointer is recorded as a fixup:

- kind Q (qname suffix): points into the question at 12 + qlen - s, where
  the qname is known to end with the s-octet suffix (s = 0: the whole qname);
- kind B (block offset): points at an earlier name in the block itself,
  at (where the block starts) + offset;
- kind S (serial): not a pointer but the four-octet SOA serial of a zone,
  read from the image's serials array at the zone's row when answering;
- kind G (signature): the RDATA of a signed zone's RRSIG over its SOA,
  copied from the block record that the serials array's signature part
  names at the zone's row (layout.py); bit SIG_NEGATIVE picks the RRSIG
  of the SOA at its negative TTL.  A change raises the serial, and the
  SOA's RRSIG with it; every DO twin that quotes a signed SOA (negative
  answers, compact and NSEC3 denials, the apex SOA) takes both from the
  rows, so a change re-signs the SOA once instead of recompiling them all
  (snapshot/incremental.py).

So one block serves every qname that shares those suffixes: all names under
a wildcard, every NXDOMAIN of a zone, every name below a cut.  The compiled
core copies the block and patches the fixups, one 16-bit store each.
"""
from __future__ import annotations

import struct
from ..lightclass import dataclass

from ..model import (
    TYPE_CNAME,
    TYPE_MX,
    TYPE_NS,
    TYPE_PTR,
    TYPE_RRSIG,
    TYPE_SOA,
    read_name,
)
from ..zoneset import QNAME, RR, Resolution

_COVERS_SOA = struct.pack(">H", TYPE_SOA)  # an RRSIG's type-covered field

FIX_BLOCK = 0x8000  # in a fixup's value: set for kind B
FIX_SERIAL = 0x4000  # in a fixup's value: kind S, the low 14 bits a zone row
# both bits: kind G, the low 14 bits a zone row (a block offset, kind B, never
# reaches 0x4000: MAX_BLOCK_TARGET)
FIX_SOASIG = FIX_BLOCK | FIX_SERIAL
SIG_NEGATIVE = 0x2000  # in a kind G value: the negative answers' RRSIG, not the SOA answer's
MAX_SIG_ROWS = 0x2000  # kind G rows (13 bits); beyond, a signed SOA's RRSIG is inline
MAX_SERIAL_ROWS = 0x4000  # zones in rows beyond this carry their serial inline
# the furthest a block may start: after the largest question, a DNAME RR and
# a synthesized CNAME (a chased DNAME answer)
MAX_POINTER_BASE = 12 + 255 + 4 + 2 * (255 + 10 + 255)
MAX_BLOCK_TARGET = 0x3FFF - MAX_POINTER_BASE  # a pointer holds 14 bits
MAX_BLOCK = 65535 - MAX_POINTER_BASE - 64

_HDR = struct.Struct(">HHIH")


@dataclass(frozen=True)
class Block:
    data: bytes
    fixups: tuple[int, ...]  # pos | value << 16
    an: int
    ns: int
    ar: int
    ar_start: int  # offset where the additional section starts
    ar_ends: tuple[int, ...]  # end offset of each additional RR
    ar_required: int
    rcode: int
    aa: bool


def suffixes_of(name: bytes) -> dict[bytes, int]:
    """Every suffix of `name` (itself included), mapped to its length."""
    out = {}
    i = 0
    while name[i] != 0:
        out[name[i:]] = len(name) - i
        i += 1 + name[i]
    return out


class _Writer:
    def __init__(self, qname_suffixes: dict[bytes, int], serial_rows: dict[bytes, int] | None):
        self.serial_rows = serial_rows or {}  # zone origin -> row, for kind S fixups
        self.qname = None  # the one name QNAME stands for, if the block answers one name
        self.buf = bytearray()
        self.register = True  # off: names written are not compression targets
        self.fixups: list[int] = []
        self.soa_minimum = None  # of the SOA written last: which RRSIG follows it
        self.targets: dict[bytes, int] = {}  # lower-cased suffix -> fixup value
        for suffix, s in qname_suffixes.items():
            self.targets[suffix] = s

    def pointer(self, value: int) -> None:
        self.fixups.append(len(self.buf) | (value << 16))
        self.buf += b"\xc0\x00"

    def name(self, name: bytes, compress: bool = True) -> None:
        if name == QNAME:
            self.pointer(0)
            return
        lower = name.lower()
        i = 0
        while name[i] != 0:
            if compress:
                hit = self.targets.get(lower[i:])
                if hit is not None:
                    self._emit_labels(name, 0, i)
                    self.pointer(hit)
                    return
            i += 1 + name[i]
        # no suffix known: write the name out, remembering where each suffix starts
        self._emit_labels(name, 0, len(name) - 1)
        self.buf.append(0)

    def _emit_labels(self, name: bytes, start: int, end: int) -> None:
        lower = name.lower()
        i = start
        while i < end:
            off = len(self.buf)
            if self.register and off <= MAX_BLOCK_TARGET and lower[i:] not in self.targets:
                self.targets[lower[i:]] = FIX_BLOCK | off
            n = name[i]
            self.buf += name[i : i + 1 + n]
            i += 1 + n

    def rr(self, rr: RR) -> None:
        self.name(rr.owner)
        start = len(self.buf)
        self.buf += _HDR.pack(rr.rtype, 1, rr.ttl, 0)
        rd_start = len(self.buf)
        self.rdata(rr.rtype, rr.rdata)
        struct.pack_into(">H", self.buf, start + 8, len(self.buf) - rd_start)
        row = None
        if rr.rtype == TYPE_SOA or (rr.rtype == TYPE_RRSIG and rr.rdata[:2] == _COVERS_SOA):
            row = self.serial_rows.get(self.qname if rr.owner == QNAME else rr.owner)
        if row is None:
            pass
        elif rr.rtype == TYPE_SOA:
            # the serial is the first of the five numbers that end the rdata
            pos = len(self.buf) - 20
            self.buf[pos : pos + 4] = bytes(4)
            self.fixups.append(pos | ((FIX_SERIAL | row) << 16))
            self.soa_minimum = struct.unpack(">I", rr.rdata[-4:])[0]
        else:
            if row >= MAX_SIG_ROWS or self.soa_minimum is None:
                # its serial went out as a fixup: the signature must follow it
                raise ValueError("an SOA RRSIG without its fixup row")
            # the whole RRSIG rdata (its length stays while the ZSK does).  A
            # negative answer's SOA has the TTL min(SOA TTL, minimum) (RFC
            # 2308 §3), the SOA's own answer the SOA TTL: an RRSIG whose TTL
            # is the minimum is the negative one (when the two TTLs agree,
            # so do both signatures)
            negative = SIG_NEGATIVE if rr.ttl == self.soa_minimum else 0
            self.buf[rd_start:] = bytes(len(self.buf) - rd_start)
            self.fixups.append(rd_start | ((FIX_SOASIG | negative | row) << 16))

    def rdata(self, rtype: int, rdata: bytes) -> None:
        # RFC 3597 §4: only the RFC 1035 types may be compressed
        if rtype in (TYPE_NS, TYPE_CNAME, TYPE_PTR):
            self.name(rdata)
        elif rtype == TYPE_MX:
            self.buf += rdata[:2]
            self.name(rdata[2:])
        elif rtype == TYPE_SOA:
            mname, off = read_name(rdata, 0)
            rname, off2 = read_name(rdata, off)
            self.name(mname)
            self.name(rname)
            self.buf += rdata[off2:]
        else:
            self.buf += rdata


def encode_block(res: Resolution, qname_suffixes: dict[bytes, int],
                 serial_rows: dict[bytes, int] | None = None,
                 qname: bytes | None = None) -> Block:
    """Encode the sections of `res` for a qname known to end with each of
    `qname_suffixes` (lower-cased suffix -> its length); the SOA of a zone
    in `serial_rows` (origin -> row) gets a serial fixup, also when owned by
    the qname where the block answers exactly `qname` (not a wildcard)."""
    w = _Writer(qname_suffixes, serial_rows)
    w.qname = qname
    for rr in res.answer:
        w.rr(rr)
    for rr in res.authority:
        w.rr(rr)
    ar_start = len(w.buf)
    ar_ends = []
    for rr in res.additional:
        w.rr(rr)
        ar_ends.append(len(w.buf))
    if len(w.buf) > MAX_BLOCK:
        raise ValueError("response sections larger than a DNS message can hold")
    return Block(
        data=bytes(w.buf),
        fixups=tuple(w.fixups),
        an=len(res.answer),
        ns=len(res.authority),
        ar=len(res.additional),
        ar_start=ar_start,
        ar_ends=tuple(ar_ends),
        ar_required=res.additional_required,
        rcode=res.rcode,
        aa=res.aa,
    )


def encode_multivalue(prefix: Resolution, parts: list[list[RR]],
                      qname_suffixes: dict[bytes, int],
                      serial_rows: dict[bytes, int] | None = None) -> tuple[Block, list[Block]]:
    """A multivalue answer: the records before the values (a CNAME chain,
    usually empty) and one part per value.  Parts may point into the question
    and into the prefix but never into themselves, so the core can append any
    subset of them, in any order, right after the prefix: their kind-B fixups
    are relative to where the prefix starts."""
    w = _Writer(qname_suffixes, serial_rows)
    for rr in prefix.answer:
        w.rr(rr)
    head = Block(bytes(w.buf), tuple(w.fixups), len(prefix.answer), 0, 0, len(w.buf), (), 0,
                 prefix.rcode, prefix.aa)
    w.register = False
    out = []
    for rrs in parts:
        start, nfix = len(w.buf), len(w.fixups)
        for rr in rrs:
            w.rr(rr)
        data = bytes(w.buf[start:])
        fixups = tuple((fx - start) for fx in w.fixups[nfix:])  # pos lives in the low 16 bits
        out.append(Block(data, fixups, len(rrs), 0, 0, len(data), (), 0, 0, True))
        del w.buf[start:]
        del w.fixups[nfix:]
    return head, out
