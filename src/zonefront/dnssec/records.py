"""DNSKEY and DS records of algorithm 13 (ECDSA P-256 / SHA-256) as Route 53
reports them: DNSKEYRecord `257 3 13 BASE64`, DSRecord `KEYTAG 13 2 HEX`.

RFC 4034 §2 (DNSKEY), §5 (DS), Appendix B (key tag); RFC 6605 (the
algorithm: the public key is the 64-octet X || Y point, uncompressed,
without the 0x04 prefix; signatures are the 64-octet r || s).
"""
from __future__ import annotations

import base64
import hashlib

ALGORITHM = 13  # ECDSAP256SHA256
ALGORITHM_MNEMONIC = "ECDSAP256SHA256"
DIGEST_TYPE = 2  # SHA-256
DIGEST_MNEMONIC = "SHA-256"
FLAG_KSK = 257  # zone key + secure entry point
FLAG_ZSK = 256
PROTOCOL = 3


def dnskey_rdata(flags: int, public_key: bytes) -> bytes:
    """`public_key`: the 64-octet X || Y of a P-256 point."""
    if len(public_key) != 64:
        raise ValueError("an algorithm 13 public key is 64 octets")
    return flags.to_bytes(2, "big") + bytes([PROTOCOL, ALGORITHM]) + public_key


def key_tag(rdata: bytes) -> int:
    """RFC 4034 Appendix B: the one's-complement style sum of the rdata."""
    acc = 0
    for i, b in enumerate(rdata):
        acc += b << 8 if i % 2 == 0 else b
    acc += (acc >> 16) & 0xFFFF
    return acc & 0xFFFF


def ds_digest(owner_wire: bytes, rdata: bytes) -> bytes:
    """RFC 4034 §5.1.4 with SHA-256 (RFC 4509): over the canonical (lower
    case) owner and the DNSKEY rdata."""
    return hashlib.sha256(owner_wire.lower() + rdata).digest()


def ds_rdata(owner_wire: bytes, rdata: bytes) -> bytes:
    return key_tag(rdata).to_bytes(2, "big") + bytes([ALGORITHM, DIGEST_TYPE]) + \
        ds_digest(owner_wire, rdata)


def dnskey_text(flags: int, public_key: bytes) -> str:
    return f"{flags} {PROTOCOL} {ALGORITHM} {base64.b64encode(public_key).decode()}"


def ds_text(owner_wire: bytes, flags: int, public_key: bytes) -> str:
    rd = dnskey_rdata(flags, public_key)
    return f"{key_tag(rd)} {ALGORITHM} {DIGEST_TYPE} {ds_digest(owner_wire, rd).hex().upper()}"
