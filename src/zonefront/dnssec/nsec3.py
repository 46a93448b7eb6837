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

from .. import model
from .signer import TYPE_DS, TYPE_RRSIG, type_bitmap

TYPE_NSEC3 = 50
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
          ) -> list[tuple[bytes, bytes, bytes]]:
    """The chain in hash order: (digest, hashed owner, NSEC3 rdata) each,
    the last one's next hashed owner being the first's."""
    named = chain_names(origin, types, cuts)
    ordered = sorted((hash_name(n), n) for n in named)
    out = []
    for i, (digest, name) in enumerate(ordered):
        nxt = ordered[(i + 1) % len(ordered)][0]
        out.append((digest, hashed_owner(digest, origin), nsec3_rdata(nxt, named[name])))
    return out
