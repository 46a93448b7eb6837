"""The NSEC3 chain of a zone in `denial = "nsec3"` mode (RFC 5155), with
RFC 9276's parameters: SHA-1, no extra iterations, no salt, no opt-out.

Compact denial (online.py) signs one NSEC per unique nonexistent qname
while answering; a chain made here is signed once at compile time, so a
flood of random names costs SHA-1 hashes and binary searches, no
signature.  The price is that the hashed owner names can be collected by
walking the chain and guessed offline (README "DNSSEC signing").

One NSEC3 per authoritative name and per empty non-terminal (§7.1):
delegation points are in the chain, names below a cut (glue) are not.
"""
from __future__ import annotations

import base64
import hashlib
import struct

from .. import model
from .signer import TYPE_DS, TYPE_NSEC3, TYPE_RRSIG, type_bitmap

TYPE_NSEC3PARAM = 51
HASH_SHA1 = 1  # RFC 5155 §11: the only hash algorithm defined
# algorithm, flags (no opt-out), iterations 0, salt length 0 (RFC 9276 §3.1)
PARAM_RDATA = bytes([HASH_SHA1, 0, 0, 0, 0])


def hash_name(name: bytes) -> bytes:
    """RFC 5155 §5 IH(salt, name, 0) with the empty salt: SHA-1 of the
    canonical (lower-cased) wire name."""
    return hashlib.sha1(name.lower()).digest()


def hashed_owner(digest: bytes, origin: bytes) -> bytes:
    """The NSEC3 owner: the base32hex (RFC 4648 §7) label of the digest
    under the zone's origin, lower case as it sorts and as resolvers write it."""
    label = base64.b32hexencode(digest).lower()
    return bytes([len(label)]) + label + origin.lower()


def nsec3_rdata(next_digest: bytes, types) -> bytes:
    return PARAM_RDATA + bytes([len(next_digest)]) + next_digest + type_bitmap(types)


def negative_ttl(soa_ttl: int, soa_rdata: bytes) -> int:
    """RFC 9077: an NSEC3's TTL is the SOA's negative TTL, capped by its own."""
    return min(soa_ttl, int.from_bytes(soa_rdata[-4:], "big"))


def zone_types(zone) -> tuple[dict[bytes, set[int]], set[bytes]]:
    """(lower-cased owner -> types held, delegation points) of a model.Zone,
    its routed (policy) records included, as the chain describes them."""
    origin = zone.origin.lower()
    types: dict[bytes, set[int]] = {}
    for (owner, rtype), rs in zone.rrsets.items():
        if rs.rdatas:
            types.setdefault(owner.lower(), set()).add(rtype)
    for r in zone.routed:
        types.setdefault(r.owner.lower(), set()).add(r.rtype)
    cuts = {o for o, held in types.items() if model.TYPE_NS in held and o != origin}
    return types, cuts


def chain_names(origin: bytes, types: dict[bytes, set[int]], cuts: set[bytes]
                ) -> dict[bytes, set[int]]:
    """Every name the chain covers -> the types its bitmap lists (§7.1).

    `types` maps the zone's owners (lower case) to the types they hold; the
    apex's DNSKEY and NSEC3PARAM are expected among them.  Names below a cut
    are left out; an empty non-terminal has an empty bitmap.  RRSIG is
    listed where an RRset is signed: at a delegation only the DS is."""
    def below_cut(name: bytes) -> bool:
        return any(name != c and model.is_subdomain(name, c) for c in cuts)

    out: dict[bytes, set[int]] = {}
    for owner, held in types.items():
        if below_cut(owner):
            continue
        signed = TYPE_DS in held if owner in cuts else bool(held)
        out[owner] = set(held) | ({TYPE_RRSIG} if signed else set())
        name = owner
        while name != origin and model.is_subdomain(name, origin):
            name = model.parent_of(name)
            out.setdefault(name, set())  # an empty non-terminal, unless it holds data
    return out


def chain(origin: bytes, types: dict[bytes, set[int]], cuts: set[bytes]
          ) -> list[tuple[bytes, bytes, bytes, bytes]]:
    """The chain in hash order: (digest, name, hashed owner, NSEC3 rdata)
    each, the last one's next hashed owner being the first's."""
    named = chain_names(origin, types, cuts)
    ordered = sorted((hash_name(n), n) for n in named)
    out = []
    for i, (digest, name) in enumerate(ordered):
        nxt = ordered[(i + 1) % len(ordered)][0]
        out.append((digest, name, hashed_owner(digest, origin), nsec3_rdata(nxt, named[name])))
    return out


# ---- the chain in a compiled image ------------------------------------------
#
# Each NSEC3 and its RRSIG are one block record's data in the block stream
# (owners written in full, so the octets are copied as they are).  The
# chain's entries, in hash order, are cut in segments, each a block record's
# data too; a twin that proves from the chain carries a template (snapshot/
# layout.py BF_ONLINE) that is the segments' directory:
#
#   u8 KIND_NSEC3, u8 mode, u16 nseg, u32 0, u64 0   (online.py's head, unsigned)
#   nseg x (20 octets first digest, u32 offset, u16 count)
#   a segment: count x (20 octets SHA-1, u32 offset, u16 length) of the pairs
#
# While answering (csrc/zfnsec3.c, `put` below), a nonexistent qname gets
# RFC 5155 §7.2.2's closest-encloser proof: its suffixes are hashed from the
# longest down until one is in the chain (the closest encloser, CE); then the
# NSEC3 matching CE, the one covering the next closer name (the suffix one
# label longer) and the one covering (or, for a wildcard's NODATA, matching)
# *.CE, each once, in that order.  A wildcard's answer (MODE_COVER) gets
# only the NSEC3 covering the next closer name.
#
# Only one template per zone holds the directory (MODE_CHAIN: it adds no
# records): the DO twin of the block the zone's row in the image's negatives
# array names as its NODATA (the "root", compiler.py nsec3_root; the NODATA
# answer itself is the zone's usual one).  Every other twin's template has
# no segments (nseg 0) and names the zone's row instead (`row_template`),
# so a change to the chain (snapshot/nsec3patch.py) appends the segments it
# moved and a new root, and points the row at it: the blocks and names that
# quote the chain this way are not compiled again.  (Not the NXDOMAIN slot:
# nodes carry the zone's NXDOMAIN block too, and the per-zone counters and
# fallback.py find a zone's row by it.)

KIND_NSEC3 = 4  # online.py's kinds are 1..3
MODE_NXDOMAIN = 1  # the closest-encloser proof (also a wildcard NODATA's, §7.2.5)
MODE_COVER = 2  # only the NSEC3 covering the next closer name: a wildcard answer's (§7.2.6)
MODE_CHAIN = 3  # proves nothing: the zone's root, holding the directory for row templates
TMPL_HEAD = struct.Struct("<BBHIQ")
ENTRY = struct.Struct("<20sIH")
SEGMENT = 0xFFFF // ENTRY.size  # entries per segment: a block's data is at most 64 KiB
MAX_ENTRIES = SEGMENT * ((0xFFFF - TMPL_HEAD.size) // ENTRY.size)  # ~6.3 million names


def sign_chain(zk, links, ttl: int) -> list[bytes]:
    """The RRSIG rdata over each NSEC3 of `links` (as
    chain() gives), made in one batch (signer.py prefill) and kept in the
    ZoneKeys cache: a recompile signs only the NSEC3s whose content moved."""
    from .signer import Signer, prefill

    prefill(zk, [(owner, TYPE_NSEC3, ttl, [rdata]) for _d, _n, owner, rdata in links])
    return [Signer._cached(zk, zk.zsk, owner, TYPE_NSEC3, ttl, [rdata])
            for _d, _n, owner, rdata in links]


def pair_octets(owner: bytes, ttl: int, rdata: bytes, rrsig: bytes) -> bytes:
    """An NSEC3 RR and its RRSIG RR, each with its owner in full."""
    return owner + struct.pack(">HHIH", TYPE_NSEC3, 1, ttl, len(rdata)) + rdata + \
        owner + struct.pack(">HHIH", TYPE_RRSIG, 1, ttl, len(rrsig)) + rrsig


def segment_octets(entries: list[tuple[bytes, int, int]]) -> bytes:
    """One segment: `entries` (digest, offset, length), in hash order."""
    return b"".join(ENTRY.pack(d, off, n) for d, off, n in entries)


def template(mode: int, directory: list[tuple[bytes, int, int]]) -> bytes:
    """`directory`: (first digest, offset, count) of each segment, in hash order."""
    return TMPL_HEAD.pack(KIND_NSEC3, mode, len(directory), 0, 0) + segment_octets(directory)


def row_template(mode: int, row: int) -> bytes:
    """A template without segments: the chain is the one the root of the
    zone at `row` (in the image's negatives) holds when the query comes."""
    return TMPL_HEAD.pack(KIND_NSEC3, mode, 0, row, 0)


def template_row(tmpl: bytes) -> int | None:
    """The zone row a row_template names; None for a template with segments."""
    _kind, _mode, nseg, row, _f = TMPL_HEAD.unpack_from(tmpl, 0)
    return row if nseg == 0 else None


def read_directory(tmpl) -> list[tuple[bytes, int, int]]:
    """A root template's directory: (first digest, offset, count) per segment."""
    nseg = TMPL_HEAD.unpack_from(tmpl, 0)[2]
    return [ENTRY.unpack_from(tmpl, TMPL_HEAD.size + ENTRY.size * i) for i in range(nseg)]


def read_template(tmpl: bytes, blocks) -> tuple[int, list[tuple[bytes, int, int]]]:
    """(mode, every entry of the chain in hash order)."""
    _kind, mode, nseg, _z, _f = TMPL_HEAD.unpack_from(tmpl, 0)
    entries = []
    for i in range(nseg):
        _first, off, count = ENTRY.unpack_from(tmpl, TMPL_HEAD.size + ENTRY.size * i)
        entries += [ENTRY.unpack_from(blocks, off + ENTRY.size * k) for k in range(count)]
    return mode, entries


def _suffixes(name: bytes) -> list[bytes]:
    out = [name]
    while name != b"\x00":
        name = name[1 + name[0]:]
        out.append(name)
    return out


def _find(entries: list, h: bytes) -> tuple[int, bool]:
    """(index of the entry matching or covering `h`, whether it matches):
    the last digest (each entry's first item) not above `h`, the last of all
    when `h` is below the first."""
    lo, hi = 0, len(entries)
    while lo < hi:
        mid = (lo + hi) // 2
        if entries[mid][0] <= h:
            lo = mid + 1
        else:
            hi = mid
    i = lo - 1 if lo else len(entries) - 1
    return i, entries[i][0] == h


def proof_key(name: bytes) -> bytes:
    """The dependency a precomputed proof quoting `name`'s NSEC3 is traced
    under (compiler.py nsec3_proof, snapshot/incremental.py): not `name`
    itself, which every change to its data would hit (the apex, the closest
    encloser of most proofs, changes with each serial)."""
    return b"\x00" + name


def proof(mode: int, entries: list, qname: bytes) -> list[int]:
    """The entries (indexes) the proof for `qname` appends, in order."""
    digests = entries  # each entry's digest first: no list of them per proof (O(chain))
    if not digests or mode not in (MODE_NXDOMAIN, MODE_COVER):
        return []
    names = _suffixes(qname.lower())
    for i, name in enumerate(names):
        ce, hit = _find(digests, hash_name(name))
        if hit:
            break
    else:
        return []
    if mode == MODE_COVER:
        return [_find(digests, hash_name(names[i - 1]))[0]] if i > 0 else []
    out = [ce]
    if i > 0:
        out.append(_find(digests, hash_name(names[i - 1]))[0])
        out.append(_find(digests, hash_name(b"\x01*" + name))[0])
    return list(dict.fromkeys(out))


def pair_nsec3(pair: bytes) -> tuple[bytes, bytes]:
    """(owner lower-cased, rdata) of the NSEC3 RR an entry's octets
    (pair_octets) begin with."""
    n = 0
    while pair[n]:
        n += 1 + pair[n]
    n += 1
    rdlen = struct.unpack_from(">H", pair, n + 8)[0]
    return pair[:n].lower(), pair[n + 10:n + 10 + rdlen]


def put(tmpl: bytes, blocks, qname: bytes, room: int, root: bytes | None = None,
        sent: set[tuple[bytes, bytes]] | frozenset = frozenset()):
    """The reference engine's zfnsec3_put: (octets, 0 answer RRs, authority
    RRs) appended, or None when they do not fit in `room`.  `root`: the
    zone's root template, whose chain a row_template `tmpl` proves from.
    `sent`: (owner lower-cased, rdata) of the NSEC3 RRs the response
    already holds (a CNAME target's proof before a wildcard's cover),
    which are not written again (RFC 2181 §5: an RRset once)."""
    mode = tmpl[1]
    _mode, entries = read_template(tmpl if root is None else root, blocks)
    pairs = [bytes(blocks[entries[i][1]:entries[i][1] + entries[i][2]])
             for i in proof(mode, entries, qname)]
    pairs = [p for p in pairs if pair_nsec3(p) not in sent]
    out = b"".join(pairs)
    if len(out) > room:
        return None
    return out, 0, 2 * len(pairs)
