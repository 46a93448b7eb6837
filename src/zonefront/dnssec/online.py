"""Templates for signatures made while answering: RFC 9824 compact denial
for names that do not exist, and RRSIGs over wildcard-synthesized RRsets.

Both depend on the qname, so they cannot be made at compile time.  The
compiler puts a template in the DO twin of the block (snapshot/layout.py
BF_ONLINE); the engine copies the twin and appends what the template
describes, signed for this qname with the zone's ZSK (csrc/zfdeny.c, with a
per-worker cache; `put` below is the reference engine's copy of it).

  u8 kind, u8 0, u16 hlen, u32 ttl, u64 fingerprint, 32 private, 65 public,
  RRSIG rdata head (hlen octets: the labels octet is the qname's, written
  while answering; no signature)
  NSEC:  u16 bitmap length, the NSEC type bitmap
  RRSIG: u16 n, n x (u16 length, type class ttl rdlength rdata), canonical order
  RRSET: u16 0; the RRs are the values a multivalue answer chose (put_set)

Integers are little-endian except inside DNS data.  A nonexistent name is
answered NOERROR with the SOA and an NSEC owned by the qname whose next name
is `\\000.qname` and whose types are RRSIG, NSEC and NXNAME (RFC 9824 §3.2):
"NXDOMAIN presented as NODATA".  A wildcard match is answered as if the name
existed: the synthesized RRset is signed with owner = qname and the full
label count, so no proof that the qname is absent is needed (RFC 4035
§5.3.4 only asks for one when the labels field says the RRset was expanded);
its NODATA carries the compact NSEC at the qname with the wildcard's types.
"""
from __future__ import annotations

import hashlib
import struct

from ..errors import ServiceError
from . import records
from .signer import TYPE_NSEC, TYPE_NXNAME, TYPE_RRSIG, ZoneKeys, canonical_rdata, type_bitmap

KIND_NSEC = 1
KIND_RRSIG = 2
KIND_RRSET = 3
HEAD = struct.Struct("<BBHIQ")  # kind, 0, hlen, ttl, fingerprint
FIXED = HEAD.size + 32 + 65  # == ZFDENY_HEAD in csrc/zfdeny.h
MAX_DATA = 12288  # ZFDENY_MAX_DATA


class OnlineSignError(ServiceError):
    """A template's key cannot sign (zfdeny's -2): the answer is SERVFAIL."""


def zsk_raw(zk: ZoneKeys) -> tuple[bytes, bytes] | None:
    """(private scalar, 0x04 || X || Y) of the zone's ZSK, or None when the
    key cannot leave its store (then the zone keeps its old, unproven
    answers for nonexistent names)."""
    raw = getattr(zk.zsk, "raw_private", None)
    if raw is None:
        return None
    return raw(), b"\x04" + zk.zsk.public_key


def _rrsig_head(zk: ZoneKeys, rtype: int, ttl: int) -> bytes:
    tag = records.key_tag(records.dnskey_rdata(records.FLAG_ZSK, zk.zsk.public_key))
    return struct.pack(">HBBIIIH", rtype, records.ALGORITHM, 0, ttl, zk.expiration,
                       zk.inception, tag) + zk.origin.lower()


def _template(kind: int, ttl: int, key: tuple[bytes, bytes], head: bytes, body: bytes) -> bytes:
    rest = key[0] + key[1] + head + body
    fp = int.from_bytes(hashlib.blake2b(bytes([kind]) + struct.pack("<I", ttl) + rest,
                                        digest_size=8).digest(), "little") or 1
    return HEAD.pack(kind, 0, len(head), ttl, fp) + rest


def nsec_template(zk: ZoneKeys, ttl: int, types) -> bytes | None:
    """The compact NSEC at the qname: `types` present there (NXNAME for a
    name that does not exist), plus RRSIG and NSEC."""
    key = zsk_raw(zk)
    if key is None:
        return None
    bitmap = type_bitmap(set(types) | {TYPE_RRSIG, TYPE_NSEC})
    return _template(KIND_NSEC, ttl, key, _rrsig_head(zk, TYPE_NSEC, ttl),
                     struct.pack("<H", len(bitmap)) + bitmap)


def nxname_template(zk: ZoneKeys, ttl: int) -> bytes | None:
    return nsec_template(zk, ttl, {TYPE_NXNAME})


def rrsig_template(zk: ZoneKeys, rtype: int, ttl: int, rdatas) -> bytes | None:
    """An RRSIG over the RRset (rtype, ttl, rdatas) owned by the qname."""
    key = zsk_raw(zk)
    if key is None:
        return None
    rrs = sorted(set(canonical_rdata(rtype, rd) for rd in rdatas))
    tails = [struct.pack(">HHIH", rtype, 1, ttl, len(rd)) + rd for rd in rrs]
    head = _rrsig_head(zk, rtype, ttl)
    if len(head) + sum(255 + len(t) for t in tails) + 256 > MAX_DATA:
        return None
    body = struct.pack("<H", len(tails)) + b"".join(struct.pack("<H", len(t)) + t for t in tails)
    return _template(KIND_RRSIG, ttl, key, head, body)


def rrset_template(zk: ZoneKeys, rtype: int, ttl: int) -> bytes | None:
    """An RRSIG over whichever values of a multivalue answer are chosen."""
    key = zsk_raw(zk)
    if key is None:
        return None
    return _template(KIND_RRSET, ttl, key, _rrsig_head(zk, rtype, ttl), struct.pack("<H", 0))


def put_set(tmpl: bytes, name: bytes, name_off: int, rrs: list[bytes], room: int):
    """The reference engine's zfdeny_put_set: the RRSIG (octets) over the
    RRs written (each a pointer to the qname, then type class ttl rdlength
    rdata), or None when it does not fit; OnlineSignError when the
    template's key cannot sign."""
    kind, _, hlen, ttl, _fp = HEAD.unpack_from(tmpl, 0)
    priv, pub = tmpl[HEAD.size:HEAD.size + 32], tmpl[HEAD.size + 32:FIXED]
    head = bytearray(tmpl[FIXED:FIXED + hlen])
    lc = name.lower()
    head[3] = _labels(lc)
    data = bytes(head)
    for rdata in sorted({rr[12:] for rr in rrs}):
        data += lc + rrs[0][2:6] + struct.pack(">IH", ttl, len(rdata)) + rdata
    out = struct.pack(">HHHIH", 0xC000 | name_off, TYPE_RRSIG, 1, ttl, hlen + 64) + bytes(head) + \
        sign_raw(priv, data, pub)
    return out if len(out) <= room else None


def _labels(name: bytes) -> int:
    n, i = 0, 0
    while name[i] != 0:
        n += 1
        i += 1 + name[i]
    return n


def put(tmpl: bytes, name: bytes, name_off: int, room: int):
    """The reference engine's zfdeny_put: (octets, answer RRs, authority
    RRs) appended for the qname `name` (as in the response, at `name_off`),
    or None when they do not fit in `room`; OnlineSignError when the
    template's key cannot sign."""
    kind, _, hlen, ttl, _fp = HEAD.unpack_from(tmpl, 0)
    priv, pub = tmpl[HEAD.size:HEAD.size + 32], tmpl[HEAD.size + 32:FIXED]
    head = bytearray(tmpl[FIXED:FIXED + hlen])
    rest = tmpl[FIXED + hlen:]
    lc = name.lower()
    head[3] = _labels(lc)
    ptr = struct.pack(">H", 0xC000 | name_off)
    out = b""
    if kind == KIND_NSEC:
        blen = struct.unpack_from("<H", rest)[0]
        rdata = b"\x01\x00" + lc + rest[2:2 + blen]
        rr = struct.pack(">HHIH", TYPE_NSEC, 1, ttl, len(rdata)) + rdata
        out = ptr + rr
        data = bytes(head) + lc + rr
    else:
        n = struct.unpack_from("<H", rest)[0]
        pos, data = 2, bytes(head)
        for _ in range(n):
            tl = struct.unpack_from("<H", rest, pos)[0]
            data += lc + rest[pos + 2:pos + 2 + tl]
            pos += 2 + tl
    out += ptr + struct.pack(">HHIH", TYPE_RRSIG, 1, ttl, hlen + 64) + bytes(head) + \
        sign_raw(priv, data, pub)
    if len(out) > room:
        return None
    return (out, 0, 2) if kind == KIND_NSEC else (out, 1, 0)


def sign_raw(priv: bytes, data: bytes, pub: bytes | None = None) -> bytes:
    """r || s over `data`; with `pub`, the key pair is checked as
    zfdeny's pkey_from_raw does (a point off the curve, a scalar out of
    range: OnlineSignError)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    try:
        key = ec.derive_private_key(int.from_bytes(priv, "big"), ec.SECP256R1())
        if pub is not None and ec.EllipticCurvePublicKey.from_encoded_point(
                ec.SECP256R1(), pub).public_numbers() != key.public_key().public_numbers():
            raise ValueError("public key is not the private key's")
    except ValueError as exc:
        raise OnlineSignError(f"online signing key unusable: {exc}") from None
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")
