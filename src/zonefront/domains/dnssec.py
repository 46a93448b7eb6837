"""DS records from the DNSKEY a registrant hands over (RFC 4034 §5, RFC 4509).

Route 53 Domains takes the public key, flags and algorithm of a key-signing
key and publishes a DS for it in the parent; the digest is SHA-256 (digest
type 2) over the owner name in wire form followed by the DNSKEY rdata, and
the key tag is the one's-complement sum of RFC 4034 Appendix B.
"""
from __future__ import annotations

import base64
import binascii
import hashlib

from ..dnssec.records import key_tag  # RFC 4034 Appendix B
from ..errors import InputError

# DNSSEC algorithms Route 53 Domains accepts (IANA numbers)
ALGORITHMS = {5, 7, 8, 10, 13, 14, 15, 16}
FLAGS = {256, 257}  # ZSK, KSK (SEP bit)
DIGEST_SHA256 = 2


class KeyError_(InputError, ValueError):
    pass


def dnskey_rdata(flags: int, algorithm: int, public_key_b64: str) -> bytes:
    try:
        key = base64.b64decode("".join(public_key_b64.split()), validate=True)
    except (binascii.Error, ValueError):
        raise KeyError_("PublicKey is not valid base64") from None
    if not key:
        raise KeyError_("PublicKey is empty")
    return flags.to_bytes(2, "big") + bytes([3, algorithm]) + key


def owner_wire(name: str) -> bytes:
    out = bytearray()
    for lab in name.rstrip(".").split("."):
        out.append(len(lab))
        out += lab.encode("ascii")
    out.append(0)
    return bytes(out)


def make_ds(name: str, flags: int, algorithm: int, public_key_b64: str) -> dict:
    """DnssecKey fields (without Id) for `name`'s DNSKEY; raises KeyError_."""
    if algorithm not in ALGORITHMS:
        raise KeyError_(f"Algorithm {algorithm} is not supported "
                        f"(supported: {', '.join(map(str, sorted(ALGORITHMS)))})")
    if flags not in FLAGS:
        raise KeyError_(f"Flags must be 257 (KSK) or 256 (ZSK), not {flags}")
    rd = dnskey_rdata(flags, algorithm, public_key_b64)
    digest = hashlib.sha256(owner_wire(name.lower()) + rd).hexdigest().upper()
    return {"KeyTag": key_tag(rd), "Algorithm": algorithm, "Flags": flags,
            "PublicKey": public_key_b64, "DigestType": DIGEST_SHA256, "Digest": digest}


def ds_rdata(k: dict) -> bytes:
    return (k["KeyTag"].to_bytes(2, "big") + bytes([k["Algorithm"], k["DigestType"]])
            + bytes.fromhex(k["Digest"]))
