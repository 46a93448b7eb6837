"""TSIG (RFC 8945): HMAC keys, request verification, response and multi-message signing."""
from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time
from dataclasses import dataclass

from .. import model
from ..errors import InputError
from . import message as msg

ERR_BADSIG = 16
ERR_BADKEY = 17
ERR_BADTIME = 18
ERR_BADTRUNC = 22

FUDGE = 300  # seconds; RFC 8945 §10 recommends 300

# algorithm name (wire, lower case) -> hashlib constructor
ALGORITHMS = {
    model.name_from_text("hmac-sha256."): hashlib.sha256,
    model.name_from_text("hmac-sha1."): hashlib.sha1,
    model.name_from_text("hmac-sha224."): hashlib.sha224,
    model.name_from_text("hmac-sha384."): hashlib.sha384,
    model.name_from_text("hmac-sha512."): hashlib.sha512,
}


class TsigError(InputError, ValueError):
    pass


@dataclass(frozen=True)
class Key:
    name: bytes  # wire, lower case
    algorithm: bytes  # wire, lower case, one of ALGORITHMS
    secret: bytes

    @property
    def name_text(self) -> str:
        return model.name_to_text(self.name)

    @property
    def algorithm_text(self) -> str:
        return model.name_to_text(self.algorithm).rstrip(".")

    @classmethod
    def from_text(cls, text: str) -> "Key":
        """NAME:ALG:BASE64SECRET, e.g. xfr-key:hmac-sha256:c2VjcmV0..., or NAME:BASE64SECRET
        for hmac-sha256."""
        parts = text.split(":")
        if len(parts) == 2:
            name, alg, secret = parts[0], "hmac-sha256", parts[1]
        elif len(parts) == 3:
            name, alg, secret = parts
        else:
            raise TsigError(f"{text!r}: expected NAME:ALGORITHM:BASE64SECRET")
        alg_wire = model.name_lower(model.name_from_text(alg.lower().rstrip(".") + "."))
        if alg_wire not in ALGORITHMS:
            raise TsigError(f"{text!r}: algorithm {alg!r} is not one of "
                            + ", ".join(model.name_to_text(a).rstrip(".") for a in ALGORITHMS))
        try:
            raw = base64.b64decode(secret, validate=True)
        except ValueError:
            raise TsigError(f"key {name!r}: the secret is not base64") from None
        if not raw:
            raise TsigError(f"key {name!r}: empty secret")
        name_wire = model.name_lower(model.name_from_text(name.rstrip(".") + "."))
        return cls(name_wire, alg_wire, raw)

    def mac(self, data: bytes) -> bytes:
        return hmac.new(self.secret, data, ALGORITHMS[self.algorithm]).digest()


def keyring(keys) -> dict[bytes, Key]:
    return {k.name: k for k in keys}


@dataclass
class Tsig:
    """A TSIG RR's fields (RFC 8945 §4.2)."""

    name: bytes  # lower-cased
    algorithm: bytes  # lower-cased
    time_signed: int
    fudge: int
    mac: bytes
    original_id: int
    error: int
    other: bytes

    @classmethod
    def from_rr(cls, rr: msg.RR, wire: bytes) -> "Tsig":
        alg, off = msg.read_name(wire, rr.rdata_off)
        end = rr.rdata_off + len(rr.rdata)
        if off + 10 > end:
            raise msg.FormError("short TSIG")
        hi, lo, fudge, mac_len = struct.unpack_from("!HIHH", wire, off)
        off += 10
        mac = wire[off : off + mac_len]
        off += mac_len
        if off + 6 > end:
            raise msg.FormError("short TSIG")
        orig, error, olen = struct.unpack_from("!HHH", wire, off)
        off += 6
        other = wire[off : off + olen]
        if off + olen != end:
            raise msg.FormError("TSIG rdata length mismatch")
        return cls(model.name_lower(rr.owner), model.name_lower(alg), (hi << 32) | lo, fudge,
                   mac, orig, error, other)


def _variables(key_name: bytes, alg: bytes, t: int, fudge: int, error: int,
               other: bytes) -> bytes:
    """RFC 8945 §4.3.3, names in canonical (lower-case, uncompressed) form."""
    return (key_name + struct.pack("!HI", msg.CLASS_ANY, 0) + alg
            + struct.pack("!HIHHH", t >> 32, t & 0xFFFFFFFF, fudge, error, len(other)) + other)


def _timers(t: int, fudge: int) -> bytes:
    return struct.pack("!HIH", t >> 32, t & 0xFFFFFFFF, fudge)


def _strip(m: msg.Message, original_id: int) -> bytes:
    """The message as its signer saw it: without the TSIG, ARCOUNT one less, the original ID."""
    rr = m.tsig
    body = bytearray(m.wire[: rr.start])
    struct.pack_into("!H", body, 0, original_id)
    struct.pack_into("!H", body, 10, len(m.additional) - 1)
    return bytes(body)


@dataclass
class Verified:
    """The outcome of checking a request's TSIG."""

    key: Key | None  # the key that signed it (None when unsigned or unknown)
    tsig: Tsig | None  # the request's TSIG, when there is one
    error: int = 0  # 0 or ERR_BADKEY / ERR_BADSIG / ERR_BADTIME


def verify_request(m: msg.Message, keys: dict[bytes, Key], now: float | None = None) -> Verified:
    rr = m.tsig
    if rr is None:
        return Verified(None, None)
    t = Tsig.from_rr(rr, m.wire)
    key = keys.get(t.name)
    if key is None or key.algorithm != t.algorithm:
        return Verified(None, t, ERR_BADKEY)
    expect = key.mac(_strip(m, t.original_id)
                     + _variables(t.name, t.algorithm, t.time_signed, t.fudge, t.error, t.other))
    # RFC 8945 §5.2.2.1: a truncated MAC is accepted down to half the hash (and 10 octets)
    if len(t.mac) > len(expect) or len(t.mac) < max(10, len(expect) // 2):
        return Verified(None, t, ERR_BADSIG)
    if not hmac.compare_digest(expect[: len(t.mac)], t.mac):
        return Verified(None, t, ERR_BADSIG)
    now = time.time() if now is None else now
    if abs(int(now) - t.time_signed) > t.fudge:
        return Verified(key, t, ERR_BADTIME)
    return Verified(key, t)


def _append(wire: bytes, key_name: bytes, alg: bytes, t: int, fudge: int, mac: bytes,
            original_id: int, error: int, other: bytes) -> bytes:
    rdata = (alg + struct.pack("!HIHH", t >> 32, t & 0xFFFFFFFF, fudge, len(mac)) + mac
             + struct.pack("!HHH", original_id, error, len(other)) + other)
    out = bytearray(wire)
    (ar,) = struct.unpack_from("!H", out, 10)
    struct.pack_into("!H", out, 10, ar + 1)
    out += key_name + struct.pack("!HHIH", msg.TYPE_TSIG, msg.CLASS_ANY, 0, len(rdata)) + rdata
    return bytes(out)




def unsigned_error(wire: bytes, t: Tsig, error: int) -> bytes:
    """BADKEY / BADSIG answer (RFC 8945 §5.3.2): a TSIG with the error, no MAC."""
    (qid,) = struct.unpack_from("!H", wire, 0)
    return _append(wire, t.name, t.algorithm, t.time_signed, t.fudge, b"", qid, error, b"")


class Signer:
    """Signs the responses to one request, in order (RFC 8945 §5.3.1: every
    message signed; the first over the request MAC and all variables, later
    ones over the previous MAC and the timers only)."""

    def __init__(self, key: Key, request_mac: bytes, now: float | None = None):
        self.key = key
        self.prev = request_mac
        self.first = True
        self.time = int(time.time() if now is None else now)

    def sign(self, wire: bytes, error: int = 0, other: bytes = b"") -> bytes:
        k = self.key
        (qid,) = struct.unpack_from("!H", wire, 0)
        lead = struct.pack("!H", len(self.prev)) + self.prev
        if self.first:
            data = lead + wire + _variables(k.name, k.algorithm, self.time, FUDGE, error, other)
        else:
            data = lead + wire + _timers(self.time, FUDGE)
        mac = k.mac(data)
        self.prev = mac
        self.first = False
        return _append(wire, k.name, k.algorithm, self.time, FUDGE, mac, qid, error, other)


def sign_request(wire: bytes, key: Key, now: float | None = None) -> tuple[bytes, bytes]:
    """A signed request (NOTIFY) and its MAC, to check the reply with."""
    t = int(time.time() if now is None else now)
    mac = key.mac(wire + _variables(key.name, key.algorithm, t, FUDGE, 0, b""))
    (qid,) = struct.unpack_from("!H", wire, 0)
    return _append(wire, key.name, key.algorithm, t, FUDGE, mac, qid, 0, b""), mac


def verify_response(m: msg.Message, key: Key, request_mac: bytes) -> bool:
    """True when a single-message response is signed by key over request_mac."""
    rr = m.tsig
    if rr is None:
        return False
    try:
        t = Tsig.from_rr(rr, m.wire)
    except msg.FormError:
        # a TSIG that does not parse signs nothing; raising here stopped the
        # NOTIFY receiver on one forged reply (found by tests/fuzz xfr)
        return False
    if t.name != key.name or t.algorithm != key.algorithm or t.error:
        return False
    data = (struct.pack("!H", len(request_mac)) + request_mac + _strip(m, t.original_id)
            + _variables(t.name, t.algorithm, t.time_signed, t.fudge, t.error, t.other))
    return hmac.compare_digest(key.mac(data)[: len(t.mac)], t.mac) and len(t.mac) >= 10
