"""The byte layout of the two record streams a compiled image answers from.

A query touches one node and one block.  Each is a single variable-length
record, so the name, the type table, the block header, its fixups and its
bytes sit in the same one or two cache lines, and a record costs only the
fields it uses.  Records are referred to by their byte offset in their
stream; core/_engine.pyx reads them in place and ref/engine.py decodes them
with the functions below.  All integers are little-endian and unaligned.

node record (stream "nodes"):
  u8 name_len, u8 flags, u16 ntypes,
  u16 zone                       if F_ZONE_NEG: the zone's row in "negatives"
  u32 default_block, u32 nx_block  otherwise
  [u32 any_block]  unless F_ANY_FIRST (the first type's block answers ANY)
  [u32 redirect]   if flags & REDIRECT_FLAGS (referral block or dnames index)
  [u32 wild]       if F_WILD (the "*" child node)
  name             name_len octets, the lower-cased wire name
  types            ntypes x (u16 qtype, u32 block), sorted by qtype

block record (stream "blocks"):
  u16 len, u16 nfix, u16 an, u16 ns, u16 ar, u8 rcode, u8 flags (1: AA),
  fixups           nfix x u32: pos | value << 16 (blocks.py)
  data             len octets
  [u16 ar_start, u16 ar_required, ar x u16 ar_end]   if ar > 0
  [u32 signed]     if flags & BF_SIGNED: the DO twin, the same answer with
                   each RRset's RRSIGs (dnssec/signer.py), for DO queries
  [u32 prefix]     if flags & BF_PREFIX (a twin only): a block copied before
                   this one's data, the zone's signed SOA that every name's
                   signed NODATA starts with, held once instead of per name;
                   a multivalue prefix's twin behind a wildcard CNAME names
                   instead a block with no data whose template goes after
                   the values' RRSIG (compiler.py wildcard_part)
  [u16 tlen, tlen octets]  if flags & BF_ONLINE (a twin, or such a prefix):
                   what to sign for the qname while answering
                   (dnssec/online.py), appended after the data: the compact
                   NSEC of a name that does not exist, or the RRSIG of a
                   wildcard-synthesized RRset

negatives: per zone (u32 nodata_block, u32 nxdomain_block); most names answer
a missing type and a missing child with their zone's two blocks, so they
name the zone in two octets instead of carrying both references.

live: u32 node offsets, the names the image answers; empty when every node
record is one.  A patched image's node stream also holds the records its
changes replaced; shipped as it is (an edge then applies the same patches as
the control plane), it names its live records here.

serials: per zone row (u32), the SOA serial.  Every committed change raises
it, so blocks that carry the zone's SOA (negative answers, chains that end
in one) hold zeros there and a serial fixup (blocks.py FIX_SERIAL) naming
the row: a change rewrites four octets of this array instead of every block
that quotes the SOA.  When a zone is signed the serials are followed by two
more u32 per row: the block record (its data an RRSIG rdata) holding the
RRSIG over the zone's SOA at the SOA's TTL, then, row by row again, at the
negative TTL (NONE for an unsigned zone), for blocks.py's kind G fixups;
12 octets a row instead of 4.
"""
from __future__ import annotations

import struct
from ..lightclass import dataclass

NONE = 0xFFFFFFFF

# an image's arrays, in snapshot order
ARRAY_NAMES = ("nodes", "blocks", "negatives", "dnames", "psets", "cands", "colls", "cidr4",
               "cidr6", "regions", "serials", "live")

F_CUT = 1
F_OCCLUDED = 2
F_BELOW_DNAME = 4
F_HAS_DNAME = 8
F_APEX = 16
F_WILD = 32
F_ANY_FIRST = 64
F_ZONE_NEG = 128
REDIRECT_FLAGS = F_CUT | F_OCCLUDED | F_BELOW_DNAME | F_HAS_DNAME

NODE_HEAD = struct.Struct("<BBH")
NEGATIVE = struct.Struct("<II")
BLOCK_HEAD = struct.Struct("<HHHHHBB")
TYPE_ENTRY = struct.Struct("<HI")
U32 = struct.Struct("<I")
# a block reference is a byte offset below this bit (PSET_BIT marks psets)
MAX_STREAM = 0x80000000
BF_AA = 1  # block flags
BF_SIGNED = 2
BF_PREFIX = 4
BF_ONLINE = 8  # a twin with an online-signing template (dnssec/online.py)
BF_DEFER = 16  # a fallback zone's NXDOMAIN, set by fallback.mark_deferred (zfdefer.h)


@dataclass(frozen=True)
class NodeRec:
    name: bytes
    flags: int
    types: tuple[tuple[int, int], ...]  # (qtype, block)
    default_block: int
    any_block: int
    redirect: int
    wild: int
    nx_block: int


@dataclass(frozen=True)
class BlockRec:
    data: bytes
    fixups: tuple[int, ...]
    an: int
    ns: int
    ar: int
    ar_start: int
    ar_required: int
    ar_ends: tuple[int, ...]
    rcode: int
    aa: bool
    signed: int = NONE  # the DO twin's offset, or NONE
    prefix: int = NONE  # a twin's shared first part (BF_PREFIX), or NONE
    online: bytes = b""  # a twin's online-signing template (BF_ONLINE), or empty
    defer: bool = False  # BF_DEFER: the recursive fallback answers this NXDOMAIN


def pack_node(name: bytes, flags: int, types: list[tuple[int, int]], default_block: int,
              any_block: int, redirect: int, wild: int, nx_block: int,
              zone: int | None = None) -> bytes:
    """One node record; `flags` must not carry F_WILD, F_ANY_FIRST or
    F_ZONE_NEG, they follow from `wild`, `any_block` and `zone` (the row in
    negatives holding exactly default_block and nx_block, when they are the
    zone's own)."""
    flags &= ~(F_WILD | F_ANY_FIRST | F_ZONE_NEG)
    if wild != NONE:
        flags |= F_WILD
    if types and types[0][1] == any_block:
        flags |= F_ANY_FIRST
    if zone is not None and zone <= 0xFFFF:
        flags |= F_ZONE_NEG
    out = bytearray(NODE_HEAD.pack(len(name), flags, len(types)))
    if flags & F_ZONE_NEG:
        out += struct.pack("<H", zone)
    else:
        out += NEGATIVE.pack(default_block, nx_block)
    if not flags & F_ANY_FIRST:
        out += U32.pack(any_block)
    if flags & REDIRECT_FLAGS:
        out += U32.pack(redirect)
    if flags & F_WILD:
        out += U32.pack(wild)
    out += name
    for qtype, blk in types:
        out += TYPE_ENTRY.pack(qtype, blk)
    return bytes(out)


def pack_block(data: bytes, fixups, an: int, ns: int, ar: int, ar_start: int, ar_required: int,
               ar_ends, rcode: int, aa: bool, signed: int = NONE,
               prefix: int = NONE, online: bytes = b"") -> bytes:
    if max(len(data), len(fixups), an, ns, ar, len(online)) > 0xFFFF:
        raise ValueError("answer block too large")
    flags = (BF_AA if aa else 0) | (BF_SIGNED if signed != NONE else 0) | \
        (BF_PREFIX if prefix != NONE else 0) | (BF_ONLINE if online else 0)
    out = bytearray(BLOCK_HEAD.pack(len(data), len(fixups), an, ns, ar, rcode, flags))
    if fixups:
        out += struct.pack(f"<{len(fixups)}I", *fixups)
    out += data
    if ar:
        out += struct.pack(f"<{2 + ar}H", ar_start, ar_required, *ar_ends)
    if signed != NONE:
        out += U32.pack(signed)
    if prefix != NONE:
        out += U32.pack(prefix)
    if online:
        out += struct.pack("<H", len(online)) + online
    return bytes(out)


def decode_node(buf, off: int, negatives=None) -> tuple[NodeRec, int]:
    """The node at `off` and the offset just past it; `negatives` (the
    array) resolves F_ZONE_NEG nodes' blocks, else they read as NONE."""
    name_len, flags, ntypes = NODE_HEAD.unpack_from(buf, off)
    p = off + NODE_HEAD.size
    if flags & F_ZONE_NEG:
        zone = struct.unpack_from("<H", buf, p)[0]
        p += 2
        default_block = nx_block = NONE
        if negatives is not None:
            default_block, nx_block = NEGATIVE.unpack_from(negatives, zone * NEGATIVE.size)
    else:
        default_block, nx_block = NEGATIVE.unpack_from(buf, p)
        p += NEGATIVE.size
    any_block = redirect = wild = NONE
    if not flags & F_ANY_FIRST:
        any_block = U32.unpack_from(buf, p)[0]
        p += 4
    if flags & REDIRECT_FLAGS:
        redirect = U32.unpack_from(buf, p)[0]
        p += 4
    if flags & F_WILD:
        wild = U32.unpack_from(buf, p)[0]
        p += 4
    name = bytes(buf[p : p + name_len])
    p += name_len
    types = tuple(TYPE_ENTRY.unpack_from(buf, p + 6 * i) for i in range(ntypes))
    p += 6 * ntypes
    if flags & F_ANY_FIRST:
        any_block = types[0][1]
    return NodeRec(name, flags, types, default_block, any_block, redirect, wild, nx_block), p


def decode_block(buf, off: int) -> tuple[BlockRec, int]:
    length, nfix, an, ns, ar, rcode, flags = BLOCK_HEAD.unpack_from(buf, off)
    p = off + BLOCK_HEAD.size
    fixups = struct.unpack_from(f"<{nfix}I", buf, p)
    p += 4 * nfix
    data = bytes(buf[p : p + length])
    p += length
    ar_start = length
    ar_required = 0
    ends: tuple[int, ...] = ()
    if ar:
        ar_start, ar_required, *rest = struct.unpack_from(f"<{2 + ar}H", buf, p)
        ends = tuple(rest)
        p += 2 * (2 + ar)
    signed = NONE
    if flags & BF_SIGNED:
        signed = U32.unpack_from(buf, p)[0]
        p += 4
    prefix = NONE
    if flags & BF_PREFIX:
        prefix = U32.unpack_from(buf, p)[0]
        p += 4
    online = b""
    if flags & BF_ONLINE:
        tlen = struct.unpack_from("<H", buf, p)[0]
        online = bytes(buf[p + 2 : p + 2 + tlen])
        p += 2 + tlen
    return BlockRec(data, fixups, an, ns, ar, ar_start, ar_required, ends, rcode,
                    bool(flags & BF_AA), signed, prefix, online, bool(flags & BF_DEFER)), p


def decode_stream(buf, decode, *extra) -> dict:
    """Every record of a stream by its offset."""
    out = {}
    off = 0
    while off < len(buf):
        rec, nxt = decode(buf, off, *extra)
        out[off] = rec
        off = nxt
    return out


def wild_field(record: bytes) -> int:
    """Where a packed node record (with F_WILD) keeps its wild reference, so
    a compiler can patch it once every node's offset is known."""
    flags = record[1]
    pos = NODE_HEAD.size + (2 if flags & F_ZONE_NEG else 8) + (0 if flags & F_ANY_FIRST else 4) + \
        (4 if flags & REDIRECT_FLAGS else 0)
    if not flags & F_WILD:
        raise ValueError("node has no wildcard field")
    return pos
