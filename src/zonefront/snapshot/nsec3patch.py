"""A change to a zone's NSEC3 chain patched into a compiled image (incremental.py).

A name created or deleted, an empty non-terminal (RFC 5155 §7.1) appearing
or going, or a name's type bitmap changing moves a few links of the chain:
the name's own NSEC3 and its predecessor's in hash order (whose next hashed
owner it is).  Only those are made again and signed (dnssec/nsec3.py
sign_chain, through the ZoneKeys cache); the image's chain (segments of
the root template, nsec3.py) gets the segments holding them appended anew,
then a new root (the zone's NODATA block again, its DO twin holding the
directory: compiler.py nsec3_root) whose row in negatives the patch
replaces.  The names whose
pre-encoded answers quote a moved NSEC3 (their own NODATA, a cut's DS
denial, a CNAME chain's closest-encloser proof) are returned for the
caller to recompile; every other answer proves from the root through its
zone's row and is not touched.
"""
from __future__ import annotations

import bisect

from ..dnssec import nsec3
from ..model import TYPE_DS, TYPE_NS, TYPE_RRSIG, parent_of
from .layout import BLOCK_HEAD, NEGATIVE, NONE, BlockRec, decode_block, pack_block

_E = nsec3.ENTRY.size
_NEXT = len(nsec3.PARAM_RDATA) + 1  # where an NSEC3 rdata's next hashed owner starts


class ChainImage:
    """A zone's chain as the image holds it: the segments' octets (entries
    in hash order) and where each is in the block stream.  `firsts[k]` is
    a lower bound of segment k's digests (its first, or what it was while
    an edit empties it)."""

    def __init__(self, segs: list[bytearray], offs: list[int], root: tuple[BlockRec, BlockRec]):
        self.segs = segs
        self.offs = offs
        self.root = root  # the root's block and DO twin, made again with each new directory
        self.firsts = [bytes(s[:20]) for s in segs]
        self.dirty: set[int] = set()

    @classmethod
    def from_arrays(cls, arrays: dict, row: int) -> ChainImage | None:
        """The chain the root of the zone at `row` names in a full compile's
        arrays (compiler.py nsec3_root), or None when it has none."""
        negatives = arrays["negatives"]
        if NEGATIVE.size * (row + 1) > len(negatives):
            return None
        nodata = NEGATIVE.unpack_from(negatives, NEGATIVE.size * row)[0]
        blocks = arrays["blocks"]
        if nodata == NONE or nodata >= len(blocks):
            return None
        blk, _ = decode_block(blocks, nodata)
        if blk.signed == NONE:
            return None
        twin, _ = decode_block(blocks, blk.signed)
        if twin.online[:1] != bytes([nsec3.KIND_NSEC3]) or nsec3.template_row(twin.online) \
                is not None:
            return None
        directory = nsec3.read_directory(twin.online)
        return cls([bytearray(blocks[off:off + count * _E]) for _d, off, count in directory],
                   [off for _d, off, _c in directory], (blk, twin))

    def put(self, digest: bytes, entry: bytes | None) -> None:
        """Set (or with None remove) the entry of `digest`."""
        k = max(bisect.bisect_right(self.firsts, digest) - 1, 0)
        seg = self.segs[k]
        lo, hi = 0, len(seg) // _E
        while lo < hi:
            mid = (lo + hi) // 2
            if seg[mid * _E:mid * _E + 20] < digest:
                lo = mid + 1
            else:
                hi = mid
        here = seg[lo * _E:lo * _E + 20] == digest
        if entry is None:
            if here:
                del seg[lo * _E:(lo + 1) * _E]
        else:
            seg[lo * _E:(lo + 1) * _E if here else lo * _E] = entry
            if digest < self.firsts[k]:
                self.firsts[k] = digest
        self.dirty.add(k)

    def flush(self, append) -> list[tuple[bytes, int, int]]:
        """Append the segments edited since the last flush (`append(octets)`
        gives a block record's offset), cutting one grown past a block's
        64 KiB in two and dropping an emptied one; the new directory."""
        segs, offs = [], []
        for k, seg in enumerate(self.segs):
            if k not in self.dirty:
                segs.append(seg)
                offs.append(self.offs[k])
                continue
            n = len(seg) // _E
            parts = -(-n // nsec3.SEGMENT)
            for p in range(parts):
                part = seg[(p * n // parts) * _E:((p + 1) * n // parts) * _E]
                segs.append(bytearray(part))
                offs.append(append(pack_block(bytes(part), (), 0, 0, 0, len(part), 0, (), 0, True))
                            + BLOCK_HEAD.size)
        if len(segs) > (0xFFFF - nsec3.TMPL_HEAD.size) // _E:
            raise ValueError("the NSEC3 chain outgrew its template")
        self.segs, self.offs, self.dirty = segs, offs, set()
        self.firsts = [bytes(s[:20]) for s in segs]
        return [(bytes(s[:20]), off, len(s) // _E) for s, off in zip(segs, offs)]


def bitmap(zs, origin: bytes, name: bytes) -> set[int] | None:
    """The types `name`'s NSEC3 lists (nsec3.chain_names), None when the
    chain has no NSEC3 for it: not a name of the zone, or below a cut."""
    node = zs.nodes.get(name)
    if node is None or node.zone.origin != origin or node.cut_above is not None:
        return None
    held = {t for t, rs in node.rrsets.items() if rs.rdatas} | set(node.routed)
    if name != origin and TYPE_NS in held:  # a delegation: only the DS is signed
        return held | ({TYPE_RRSIG} if TYPE_DS in held else set())
    return held | ({TYPE_RRSIG} if held else set())


def relink(links: list, by_name: dict, origin: bytes, ttl: int,
           bitmaps: dict[bytes, set[int] | None]) -> tuple[dict, dict]:
    """Apply the new bitmaps (None: out of the chain) of some names to the
    chain `links` (hash order, nsec3.chain's) and `by_name` (name ->
    (owner, rdata, TTL)) in place.  Returns (name -> new link, for every
    NSEC3 made or changed; name -> digest, for every NSEC3 gone)."""
    gone: dict[bytes, bytes] = {}
    redo: set[bytes] = set()  # digests whose rdata is made again
    for name, types in sorted(bitmaps.items()):
        had = by_name.get(name)
        digest = nsec3.hash_name(name)
        i = bisect.bisect_left(links, digest, key=lambda link: link[0])
        if types is None:
            if had is not None:
                del links[i]
                del by_name[name]
                gone[name] = digest
            continue
        if had is None:
            links.insert(i, (digest, name, nsec3.hashed_owner(digest, origin), b""))
        redo.add(digest)
    n = len(links)
    if not n:
        raise ValueError("an NSEC3 chain cannot be empty")
    for digest in list(redo) + list(gone.values()):  # the predecessor's next hashed owner moves
        i = bisect.bisect_left(links, digest, key=lambda link: link[0])
        redo.add(links[(i - 1) % n][0])
    made: dict[bytes, tuple] = {}
    for digest in redo:
        i = bisect.bisect_left(links, digest, key=lambda link: link[0])
        _d, name, owner, rdata = links[i]
        nxt = links[(i + 1) % n][0]
        if name in bitmaps:
            new = nsec3.nsec3_rdata(nxt, bitmaps[name])
        else:  # its types are as they were
            new = rdata[:_NEXT] + nxt + rdata[_NEXT + len(nxt):]
        if new != rdata:
            links[i] = (digest, name, owner, new)
            by_name[name] = (owner, new, ttl)
            made[name] = links[i]
    return made, gone


def patch_chain(c, chain: ChainImage, zone, names: set[bytes]) -> tuple[dict, dict]:
    """Make the NSEC3s of `names` (touched names of `zone` and the names
    above them, after the ZoneSet holds the change) and of their
    predecessors again in compiler `c`'s chain; append them, signed, with
    the segments and the root that hold them; point the zone's row at the
    new root.  Returns relink's (made, gone)."""
    origin = zone.origin
    zs, b = c.zs, c.b
    links, by_name = b.nsec3_chain(origin)
    ttl = next(iter(by_name.values()))[2]
    made, gone = relink(links, by_name, origin.lower(), ttl,
                        {n: bitmap(zs, origin, n) for n in names})
    if len(links) > nsec3.MAX_ENTRIES:
        raise ValueError("the NSEC3 chain outgrew its template")
    zk = b.signer.zone_keys(origin)
    ordered = sorted(made.values())
    for link, sig in zip(ordered, nsec3.sign_chain(zk, ordered, ttl)):
        digest, _name, owner, rdata = link
        pair = nsec3.pair_octets(owner, ttl, rdata, sig)
        off = b._append(pack_block(pair, (), 0, 2, 0, len(pair), 0, (), 0, True))
        chain.put(digest, nsec3.ENTRY.pack(digest, off + BLOCK_HEAD.size, len(pair)))
    for digest in gone.values():
        chain.put(digest, None)
    directory = chain.flush(b._append)
    root = root_block(*chain.root, nsec3.template(nsec3.MODE_CHAIN, directory), b._append)
    row = c.rows[origin]
    NEGATIVE.pack_into(c.negatives, NEGATIVE.size * row, root,
                       NEGATIVE.unpack_from(c.negatives, NEGATIVE.size * row)[1])
    return made, gone


def root_block(plain: BlockRec, twin: BlockRec, tmpl: bytes, append) -> int:
    """A zone's NODATA block `plain` and its DO twin `twin` written again,
    the twin with the root template `tmpl` (nsec3.MODE_CHAIN: its answer
    unchanged); the new block's offset (`append(record)` gives offsets)."""
    t = twin
    new_twin = append(pack_block(t.data, t.fixups, t.an, t.ns, t.ar, t.ar_start, t.ar_required,
                                 t.ar_ends, t.rcode, t.aa, NONE, t.prefix, tmpl))
    p = plain
    return append(pack_block(p.data, p.fixups, p.an, p.ns, p.ar, p.ar_start, p.ar_required,
                             p.ar_ends, p.rcode, p.aa, new_twin))


def above(name: bytes, origin: bytes) -> list[bytes]:
    """`name` and the names above it up to `origin`: the empty non-terminals
    a change at `name` may make or leave (RFC 5155 §7.1)."""
    out = [name]
    while name != origin and len(name) > len(origin):
        name = parent_of(name)
        out.append(name)
    return out
