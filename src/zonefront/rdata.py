"""RDATA in presentation form <-> uncompressed wire form (RFC 1035 §5, RFC 3597).

The zone-file reader, the Route 53 API and zone export all go through here, so
the wire produced for a value does not depend on where it was typed in.  Every
type has a text parser and a wire reader; `to_text` re-reads the wire, which is
also how RFC 3597 generic rdata for a known type is validated (§5 requires it
to be valid rdata of that type).

Tokens are plain `str` with backslash escapes left in place, so that each
field decodes them its own way (a name keeps `\\.` inside a label, a
character-string turns `\\DDD` into one octet).  A token written in double
quotes is a `Quoted` so that `""` stays distinguishable from no token.
"""
from __future__ import annotations

import base64
import binascii
import re
import _socket as socket  # what socket.py wraps: inet_pton/ntop without its selectors and enums (~2 ms of the zone-file compiler child)
import time

from . import model
from .errors import InputError
from .rrtypes import TYPES as _TYPES
from .model import NameError_, name_from_text, name_to_text, read_name


class RdataError(InputError, ValueError):
    """Rdata that cannot be converted; the message says which field and why."""


class Quoted(str):
    """A token that was written between double quotes (content, escapes raw)."""

    __slots__ = ()


# --- type and class mnemonics --------------------------------------------

_TYPE_NAMES = {v: k for k, v in _TYPES.items()}
KNOWN_RRTYPES = frozenset(t for t in _TYPES.values() if t not in (41, 249, 250, 251, 252, 253, 254, 255))

_CLASSES = {"IN": 1, "CH": 3, "HS": 4, "NONE": 254, "ANY": 255}
_CLASS_NAMES = {v: k for k, v in _CLASSES.items()}


def _mnemonic_from_text(s: str, table: dict, prefix: str, what: str) -> int:
    v = table.get(s.upper())
    if v is not None:
        return v
    up = s.upper()
    if up.startswith(prefix) and up[len(prefix):].isdigit() and up[len(prefix):].isascii():
        v = int(up[len(prefix):])
        if v <= 0xFFFF:
            return v
        raise RdataError(f"{what} {s!r} out of range 0..65535")
    raise RdataError(f"unknown {what} {s!r}")


def rrtype_from_text(s: str) -> int:
    """Mnemonic (any case) or RFC 3597 §5 `TYPEnnn`."""
    return _mnemonic_from_text(s, _TYPES, "TYPE", "type")


def rrtype_to_text(t: int) -> str:
    return _TYPE_NAMES.get(t) or f"TYPE{t}"


def rrclass_from_text(s: str) -> int:
    """Mnemonic (any case) or RFC 3597 §5 `CLASSnnn`."""
    return _mnemonic_from_text(s, _CLASSES, "CLASS", "class")


def rrclass_to_text(c: int) -> str:
    return _CLASS_NAMES.get(c) or f"CLASS{c}"


def is_meta_type(t: int) -> bool:
    """Types that never hold data in a zone: OPT and the Q/meta range
    128..255 (RFC 6895 §3.1), plus the reserved type 0."""
    return t == 0 or t == model.TYPE_OPT or 128 <= t <= 255


# --- TTLs ----------------------------------------------------------------

MAX_TTL = 0x7FFFFFFF  # RFC 2181 §8
_TTL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_TTL_RE = re.compile(r"(?:[0-9]+[smhdwSMHDW])+\Z")
_TTL_PART = re.compile(r"([0-9]+)([smhdwSMHDW])")


def ttl_from_text(s: str, maximum: int = MAX_TTL, what: str = "TTL") -> int:
    """Seconds, or BIND units such as `1h30m`, `2d`, `1w3d` (no trailing
    bare number, as in dnspython and BIND)."""
    if s.isdigit() and s.isascii():
        v = int(s)
    elif _TTL_RE.match(s):
        v = sum(int(n) * _TTL_UNITS[u.lower()] for n, u in _TTL_PART.findall(s))
    else:
        raise RdataError(f"bad {what} {s!r}")
    if v > maximum:
        raise RdataError(f"{what} {s} out of range 0..{maximum}")
    return v


# --- tokens --------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"""
    (?P<q>"(?:[^"\\]|\\.)*")
  | (?P<w>(?:[^\s"();\\]|\\.)+(?:"(?:[^"\\]|\\.)*"(?:[^\s"();\\]|\\.)*)*)
  | (?P<o>\()
  | (?P<c>\))
  | (?P<x>;)
  | (?P<bad>["\\])
    """,
    re.X | re.S,
)
_EMBEDDED_QUOTE = re.compile(r'(\\.)|"', re.S)


def scan_line(line: str, depth: int = 0) -> tuple[list[str], int]:
    """Split one physical line into tokens, dropping the comment and the
    parentheses of RFC 1035 §5.1 (their nesting depth is carried in and out,
    so the caller knows whether the record continues on the next line).

    `key="a b"` (RFC 9460 Appendix A) comes back as one plain token with the
    quotes removed and the escapes kept.
    """
    out: list[str] = []
    for m in _TOKEN_RE.finditer(line):
        kind = m.lastgroup
        if kind == "w":
            w = m.group()
            if '"' in w:
                w = _EMBEDDED_QUOTE.sub(lambda mm: mm.group(1) or "", w)
            out.append(w)
        elif kind == "q":
            out.append(Quoted(m.group()[1:-1]))
        elif kind == "o":
            depth += 1
        elif kind == "c":
            if depth == 0:
                raise RdataError("')' without matching '('")
            depth -= 1
        elif kind == "x":
            break
        elif m.group() == '"':
            raise RdataError("unterminated quoted string")
        else:
            raise RdataError("backslash at end of line")
    return out, depth


def tokenize(text: str) -> list[str]:
    """All tokens of a whole rdata text; newlines only matter inside ( )."""
    toks: list[str] = []
    depth = 0
    for line in text.split("\n"):
        more, depth = scan_line(line, depth)
        toks += more
    if depth:
        raise RdataError("'(' without matching ')'")
    return toks


# --- character-strings ---------------------------------------------------

_DDD = re.compile(r"\\(?:([0-9]{3})|(.))", re.S)


def unescape(raw: str) -> bytes:
    """Decode `\\X` and `\\DDD` (RFC 1035 §5.1); other text is UTF-8."""
    if "\\" not in raw:
        return raw.encode()
    out = bytearray()
    pos = 0
    for m in _DDD.finditer(raw):
        out += raw[pos:m.start()].encode()
        if m.group(1) is not None:
            v = int(m.group(1))
            if v > 255:
                raise RdataError(f"escape \\{m.group(1)} is over 255")
            out.append(v)
        elif m.group(2).isdigit():
            raise RdataError(f"bad escape {m.group()!r}: \\DDD needs three digits")
        else:
            out += m.group(2).encode()
        pos = m.end()
    tail = raw[pos:]
    if tail.endswith("\\"):
        raise RdataError("dangling backslash")
    out += tail.encode()
    return bytes(out)


def cstr_from_text(raw: str) -> bytes:
    """One <character-string>: length octet + data; never split silently."""
    b = unescape(raw)
    if len(b) > 255:
        raise RdataError(f"character-string longer than 255 octets ({len(b)})")
    return bytes((len(b),)) + b


_CSTR_ESC = {c: chr(c) for c in range(0x20, 0x7F)}
_CSTR_ESC[0x22] = '\\"'
_CSTR_ESC[0x5C] = "\\\\"
for _c in list(range(0, 0x20)) + list(range(0x7F, 0x100)):
    _CSTR_ESC[_c] = "\\%03d" % _c


_NO_ESCAPE = re.compile(rb"[ !#-\[\]-~]*").fullmatch


def quote(data: bytes) -> str:
    """Presentation form of octets between double quotes."""
    if _NO_ESCAPE(data):
        return '"' + data.decode("ascii") + '"'
    return '"' + "".join([_CSTR_ESC[c] for c in data]) + '"'


# --- scalar fields -------------------------------------------------------

def _int(tok: str, bits: int, what: str) -> int:
    if not (tok.isdigit() and tok.isascii()):
        raise RdataError(f"{what} {tok!r} is not a decimal number")
    v = int(tok)
    top = (1 << bits) - 1
    if v > top:
        raise RdataError(f"{what} {v} out of range 0..{top}")
    return v


_LEN = [bytes((i,)) for i in range(64)]


def fast_name_from_text(text: str, origin: bytes | None = model.ROOT) -> bytes:
    """`model.name_from_text` with a fast path for plain names (no escapes),
    which are nearly all names in a large zone; anything unusual, and every
    error, goes through the model's parser so the rules stay in one place."""
    if "\\" in text or text == "@" or text == "." or not text or ".." in text:
        return name_from_text(text, origin)
    b = text.encode()
    if b[-1] == 0x2E:
        parts = b[:-1].split(b".")
        tail = model.ROOT
    elif origin is None:
        return name_from_text(text, origin)
    else:
        parts = b.split(b".")
        tail = origin
    try:
        out = b"".join([_LEN[len(p)] + p for p in parts]) + tail
    except IndexError:  # a label over 63 octets
        return name_from_text(text, origin)
    if len(out) > model.MAX_NAME_WIRE or b[0] == 0x2E:
        return name_from_text(text, origin)
    return out


_SAFE_LABEL = re.compile(rb"[A-Za-z0-9*/+=_-]+").fullmatch


def label_to_text(label: bytes) -> str:
    """`model.label_to_text` with a fast path for labels needing no escape."""
    if _SAFE_LABEL(label):
        return label.decode("ascii")
    return model.label_to_text(label)


def labels_to_text(labels: list[bytes]) -> str:
    return ".".join([label_to_text(lab) for lab in labels])


def fast_name_to_text(name: bytes) -> str:
    """`model.name_to_text`, faster for export of large zones."""
    if name == model.ROOT:
        return "."
    return labels_to_text(model.labels_of(name)) + "."


def _name(tok: str, origin: bytes | None, what: str) -> bytes:
    try:
        return fast_name_from_text(tok, origin)
    except NameError_ as e:
        raise RdataError(f"bad {what} {tok!r}: {e}") from None


def ipv4_from_text(tok: str) -> bytes:
    try:
        return socket.inet_pton(socket.AF_INET, tok)
    except (OSError, ValueError):
        raise RdataError(f"bad IPv4 address {tok!r}") from None


def ipv6_from_text(tok: str) -> bytes:
    try:
        return socket.inet_pton(socket.AF_INET6, tok)
    except (OSError, ValueError):
        raise RdataError(f"bad IPv6 address {tok!r}") from None


_ALGORITHMS = {
    "RSAMD5": 1, "DH": 2, "DSA": 3, "RSASHA1": 5, "DSA-NSEC3-SHA1": 6,
    "RSASHA1-NSEC3-SHA1": 7, "RSASHA256": 8, "RSASHA512": 10, "ECC-GOST": 12,
    "ECDSAP256SHA256": 13, "ECDSAP384SHA384": 14, "ED25519": 15, "ED448": 16,
    "INDIRECT": 252, "PRIVATEDNS": 253, "PRIVATEOID": 254,
}
_CERT_TYPES = {
    "PKIX": 1, "SPKI": 2, "PGP": 3, "IPKIX": 4, "ISPKI": 5, "IPGP": 6,
    "ACPKIX": 7, "IACPKIX": 8, "URI": 253, "OID": 254,
}


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode(), validate=True)
    except (binascii.Error, ValueError):
        raise RdataError(f"bad base64 in {what}") from None


def _hex(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise RdataError(f"bad hex in {what} {text!r}") from None


def _time_from_text(tok: str, what: str) -> int:
    """RRSIG times: YYYYMMDDHHmmSS in UTC, or seconds (RFC 4034 §3.2)."""
    if len(tok) == 14 and tok.isdigit():
        import calendar  # RRSIG text only: not on every zone file's way (it loads locale)

        try:
            t = time.strptime(tok, "%Y%m%d%H%M%S")
        except ValueError:
            raise RdataError(f"bad {what} {tok!r}") from None
        v = calendar.timegm(t)
        if not 0 <= v <= 0xFFFFFFFF:
            raise RdataError(f"{what} {tok} out of range")
        return v
    return _int(tok, 32, what)


def _bitmap_from_types(types: set[int]) -> bytes:
    """NSEC/NSEC3/CSYNC type bit maps: windows of 256 types (RFC 4034 §4.1.2)."""
    out = bytearray()
    windows: dict[int, bytearray] = {}
    for t in sorted(types):
        w = windows.setdefault(t >> 8, bytearray(32))
        w[(t & 0xFF) >> 3] |= 0x80 >> (t & 7)
    for win in sorted(windows):
        bits = windows[win].rstrip(b"\x00")
        out += bytes((win, len(bits))) + bits
    return bytes(out)


def _bitmap_to_types(wire: bytes, what: str) -> list[int]:
    types = []
    i = 0
    last = -1
    while i < len(wire):
        if i + 2 > len(wire):
            raise RdataError(f"{what}: truncated type bit map")
        win, n = wire[i], wire[i + 1]
        if win <= last or not 1 <= n <= 32 or i + 2 + n > len(wire):
            raise RdataError(f"{what}: malformed type bit map")
        last = win
        for j, octet in enumerate(wire[i + 2 : i + 2 + n]):
            for bit in range(8):
                if octet & (0x80 >> bit):
                    types.append(win * 256 + j * 8 + bit)
        i += 2 + n
    return types


# --- field kinds: (text -> wire) and (wire -> text, next offset) ---------
#
# A type is a list of (field name, kind).  "Rest" kinds take every remaining
# token and every remaining octet, so they only appear last.

_REST_KINDS = {"cstrs", "hex", "b64", "bitmap", "rawstr"}


def _field_from_text(kind: str, tok, origin: bytes | None, what: str) -> bytes:
    """`tok` is one token, or the list of remaining tokens for rest kinds."""
    if kind == "name":
        return _name(tok, origin, what)
    if kind == "u16":
        return _int(tok, 16, what).to_bytes(2, "big")
    if kind == "u8":
        return bytes((_int(tok, 8, what),))
    if kind == "u32":
        return _int(tok, 32, what).to_bytes(4, "big")
    if kind == "ttl32":
        return ttl_from_text(tok, 0xFFFFFFFF, what).to_bytes(4, "big")
    if kind == "ipv4":
        return ipv4_from_text(tok)
    if kind == "ipv6":
        return ipv6_from_text(tok)
    if kind == "cstr":
        try:
            return cstr_from_text(tok)
        except RdataError as e:
            raise RdataError(f"{what}: {e}") from None
    if kind == "cstrs":
        try:
            return b"".join([cstr_from_text(t) for t in tok])
        except RdataError as e:
            raise RdataError(f"{what}: {e}") from None
    if kind == "alg":
        v = _ALGORITHMS.get(tok.upper())
        return bytes((v if v is not None else _int(tok, 8, what),))
    if kind == "certtype":
        v = _CERT_TYPES.get(tok.upper())
        return (v if v is not None else _int(tok, 16, what)).to_bytes(2, "big")
    if kind == "rrtype":
        try:
            return rrtype_from_text(tok).to_bytes(2, "big")
        except RdataError as e:
            raise RdataError(f"{what}: {e}") from None
    if kind == "time":
        return _time_from_text(tok, what).to_bytes(4, "big")
    if kind == "hex":
        data = _hex("".join(tok), what)
        if not data:
            raise RdataError(f"{what} is empty")
        return data
    if kind == "b64":
        data = _b64("".join(tok), what)
        return data
    if kind == "bitmap":
        return _bitmap_from_types({rrtype_from_text(t) for t in tok})
    if kind == "caatag":
        tag = tok.encode()
        if not tag or len(tag) > 255 or not tag.isalnum() or isinstance(tok, Quoted):
            raise RdataError(f"bad {what} {tok!r}: letters and digits only, 1..255")
        return bytes((len(tag),)) + tag
    if kind == "rawstr":
        if len(tok) != 1:
            raise RdataError(f"{what} must be one (quoted) string")
        return unescape(tok[0])
    if kind == "salt":
        if tok == "-":
            return b"\x00"
        data = _hex(tok, what)
        if len(data) > 255:
            raise RdataError(f"{what} longer than 255 octets")
        return bytes((len(data),)) + data
    if kind == "b32hex":
        try:
            data = base64.b32hexdecode(tok.upper() + "=" * (-len(tok) % 8))
        except (binascii.Error, ValueError):
            raise RdataError(f"bad base32hex in {what}") from None
        if not data or len(data) > 255:
            raise RdataError(f"{what} length out of range 1..255")
        return bytes((len(data),)) + data
    raise AssertionError(kind)


def _need(wire: bytes, off: int, n: int, what: str) -> None:
    if off + n > len(wire):
        raise RdataError(f"rdata too short for {what}")


def _field_to_text(kind: str, wire: bytes, off: int, what: str) -> tuple[str, int]:
    if kind == "name":
        try:
            name, end = read_name(wire, off)
        except NameError_ as e:
            raise RdataError(f"{what}: {e}") from None
        return fast_name_to_text(name), end
    if kind in ("u16", "certtype", "rrtype"):
        _need(wire, off, 2, what)
        v = int.from_bytes(wire[off : off + 2], "big")
        return (rrtype_to_text(v) if kind == "rrtype" else str(v)), off + 2
    if kind in ("u8", "alg"):
        _need(wire, off, 1, what)
        return str(wire[off]), off + 1
    if kind in ("u32", "ttl32"):
        _need(wire, off, 4, what)
        return str(int.from_bytes(wire[off : off + 4], "big")), off + 4
    if kind == "time":
        _need(wire, off, 4, what)
        v = int.from_bytes(wire[off : off + 4], "big")
        return time.strftime("%Y%m%d%H%M%S", time.gmtime(v)), off + 4
    if kind == "ipv4":
        _need(wire, off, 4, what)
        return socket.inet_ntop(socket.AF_INET, wire[off : off + 4]), off + 4
    if kind == "ipv6":
        _need(wire, off, 16, what)
        return socket.inet_ntop(socket.AF_INET6, wire[off : off + 16]), off + 16
    if kind in ("cstr", "caatag", "salt", "b32hex"):
        _need(wire, off, 1, what)
        n = wire[off]
        _need(wire, off + 1, n, what)
        data = wire[off + 1 : off + 1 + n]
        if kind == "cstr":
            text = quote(data)
        elif kind == "caatag":
            if not data or not data.isalnum():
                raise RdataError(f"bad {what} in rdata")
            text = data.decode()
        elif kind == "salt":
            text = data.hex().upper() if data else "-"
        else:
            if not data:
                raise RdataError(f"empty {what}")
            text = base64.b32hexencode(data).decode().rstrip("=")
        return text, off + 1 + n
    if kind == "cstrs":
        parts = []
        if off >= len(wire):
            raise RdataError(f"{what}: no character-string")
        while off < len(wire):
            t, off = _field_to_text("cstr", wire, off, what)
            parts.append(t)
        return " ".join(parts), off
    rest = wire[off:]
    if kind == "hex":
        if not rest:
            raise RdataError(f"empty {what}")
        return rest.hex().upper(), len(wire)
    if kind == "b64":
        if not rest:
            raise RdataError(f"empty {what}")
        return base64.b64encode(rest).decode(), len(wire)
    if kind == "rawstr":
        return quote(rest), len(wire)
    if kind == "bitmap":
        return " ".join(rrtype_to_text(t) for t in _bitmap_to_types(rest, what)), len(wire)
    raise AssertionError(kind)


_SCHEMAS: dict[int, list[tuple[str, str]]] = {
    1: [("address", "ipv4")],
    2: [("nsdname", "name")],
    5: [("cname", "name")],
    6: [("mname", "name"), ("rname", "name"), ("serial", "u32"), ("refresh", "ttl32"),
        ("retry", "ttl32"), ("expire", "ttl32"), ("minimum", "ttl32")],
    12: [("ptrdname", "name")],
    13: [("cpu", "cstr"), ("os", "cstr")],
    14: [("rmailbx", "name"), ("emailbx", "name")],
    15: [("preference", "u16"), ("exchange", "name")],
    16: [("strings", "cstrs")],
    17: [("mbox", "name"), ("txtdname", "name")],
    18: [("subtype", "u16"), ("hostname", "name")],
    21: [("preference", "u16"), ("intermediate", "name")],
    28: [("address", "ipv6")],
    33: [("priority", "u16"), ("weight", "u16"), ("port", "u16"), ("target", "name")],
    35: [("order", "u16"), ("preference", "u16"), ("flags", "cstr"), ("services", "cstr"),
         ("regexp", "cstr"), ("replacement", "name")],
    36: [("preference", "u16"), ("exchanger", "name")],
    37: [("type", "certtype"), ("key tag", "u16"), ("algorithm", "alg"),
         ("certificate", "b64")],
    39: [("target", "name")],
    43: [("key tag", "u16"), ("algorithm", "alg"), ("digest type", "u8"), ("digest", "hex")],
    44: [("algorithm", "u8"), ("fingerprint type", "u8"), ("fingerprint", "hex")],
    46: [("type covered", "rrtype"), ("algorithm", "alg"), ("labels", "u8"),
         ("original TTL", "u32"), ("expiration", "time"), ("inception", "time"),
         ("key tag", "u16"), ("signer", "name"), ("signature", "b64")],
    47: [("next", "name"), ("types", "bitmap")],
    48: [("flags", "u16"), ("protocol", "u8"), ("algorithm", "alg"), ("public key", "b64")],
    49: [("data", "b64")],
    50: [("hash algorithm", "u8"), ("flags", "u8"), ("iterations", "u16"), ("salt", "salt"),
         ("next hashed owner", "b32hex"), ("types", "bitmap")],
    51: [("hash algorithm", "u8"), ("flags", "u8"), ("iterations", "u16"), ("salt", "salt")],
    52: [("usage", "u8"), ("selector", "u8"), ("matching type", "u8"),
         ("certificate data", "hex")],
    61: [("public key", "b64")],
    63: [("serial", "u32"), ("scheme", "u8"), ("hash algorithm", "u8"), ("digest", "hex")],
    256: [("priority", "u16"), ("weight", "u16"), ("target", "rawstr")],
    257: [("flags", "u8"), ("tag", "caatag"), ("value", "rawstr")],
}
_SCHEMAS[99] = _SCHEMAS[16]  # SPF (RFC 7208 §3.1 keeps TXT's format)
_SCHEMAS[53] = _SCHEMAS[52]  # SMIMEA
_SCHEMAS[59] = _SCHEMAS[43]  # CDS
_SCHEMAS[60] = _SCHEMAS[48]  # CDNSKEY
_SCHEMAS[32769] = _SCHEMAS[43]  # DLV


_DS_DIGEST_LEN = {1: 20, 2: 32, 4: 48}  # SHA-1, SHA-256 (RFC 4509), SHA-384 (RFC 6605)


def _check_ds(tname: str, wire: bytes) -> None:
    want = _DS_DIGEST_LEN.get(wire[3])
    if want is not None and len(wire) - 4 != want:
        raise RdataError(
            f"{tname} digest is {len(wire) - 4} octets, digest type {wire[3]} needs {want}"
        )


def _check_sshfp(tname: str, wire: bytes) -> None:
    want = {1: 20, 2: 32}.get(wire[1])  # SHA-1, SHA-256 (RFC 6594)
    if want is not None and len(wire) - 2 != want:
        raise RdataError(
            f"{tname} fingerprint is {len(wire) - 2} octets, "
            f"fingerprint type {wire[1]} needs {want}"
        )


_CHECKS = {43: _check_ds, 59: _check_ds, 32769: _check_ds, 44: _check_sshfp}


def _schema_from_tokens(rtype: int, schema, toks: list[str], origin) -> bytes:
    tname = rrtype_to_text(rtype)
    parts = []
    n = len(toks)
    for i, (fname, kind) in enumerate(schema):
        what = f"{tname} {fname}"
        if kind in _REST_KINDS:
            rest = toks[i:]
            if not rest and kind != "bitmap":
                raise RdataError(f"{tname}: missing {fname}")
            parts.append(_field_from_text(kind, rest, origin, what))
            break
        if i >= n:
            raise RdataError(f"{tname}: missing {fname}")
        parts.append(_field_from_text(kind, toks[i], origin, what))
    else:
        if n > len(schema):
            raise RdataError(f"{tname}: unexpected {toks[len(schema)]!r} after the last field")
    wire = b"".join(parts)
    check = _CHECKS.get(rtype)
    if check is not None:
        check(tname, wire)
    return wire


def _schema_to_text(rtype: int, schema, wire: bytes) -> str:
    tname = rrtype_to_text(rtype)
    out = []
    off = 0
    for fname, kind in schema:
        text, off = _field_to_text(kind, wire, off, f"{tname} {fname}")
        out.append(text)
    if off != len(wire):
        raise RdataError(f"{tname}: {len(wire) - off} octets of trailing rdata")
    check = _CHECKS.get(rtype)
    if check is not None:
        check(tname, wire)
    return " ".join(out)


# --- SVCB / HTTPS (RFC 9460) ----------------------------------------------

_SVC_KEYS = {"mandatory": 0, "alpn": 1, "no-default-alpn": 2, "port": 3,
             "ipv4hint": 4, "ech": 5, "ipv6hint": 6}
_SVC_NAMES = {v: k for k, v in _SVC_KEYS.items()}


def _svc_key_from_text(s: str) -> int:
    k = _SVC_KEYS.get(s)
    if k is not None:
        return k
    if s.startswith("key") and s[3:].isdigit() and s[3:].isascii():
        k = int(s[3:])
        if k > 65534:
            raise RdataError(f"SvcParamKey {s!r} out of range (key65535 is reserved)")
        return k
    raise RdataError(f"unknown SvcParamKey {s!r}")


def _svc_key_to_text(k: int) -> str:
    return _SVC_NAMES.get(k) or f"key{k}"


def _value_list(data: bytes) -> list[bytes]:
    """RFC 9460 Appendix A.1: split on ',' with `\\,` and `\\\\` escaping."""
    items = []
    cur = bytearray()
    i = 0
    while i < len(data):
        c = data[i]
        if c == 0x5C:
            if i + 1 >= len(data):
                raise RdataError("dangling backslash in value list")
            cur.append(data[i + 1])
            i += 2
            continue
        if c == 0x2C:
            items.append(bytes(cur))
            cur = bytearray()
        else:
            cur.append(c)
        i += 1
    items.append(bytes(cur))
    return items


def _svc_value_from_text(key: int, raw: str | None) -> bytes:
    kname = _svc_key_to_text(key)
    if key == 2:
        if raw:
            raise RdataError("no-default-alpn takes no value")
        return b""
    if raw is None or (raw == "" and key <= 6):
        if key > 6:
            return b""
        raise RdataError(f"SvcParam {kname} needs a value")
    data = unescape(raw)
    if key == 0:
        keys = []
        for item in data.decode(errors="replace").split(","):
            k = _svc_key_from_text(item)
            if k == 0:
                raise RdataError("mandatory must not list 'mandatory'")
            keys.append(k)
        if len(set(keys)) != len(keys):
            raise RdataError("duplicate key in mandatory")
        return b"".join(k.to_bytes(2, "big") for k in sorted(keys))
    if key == 1:
        out = bytearray()
        for item in _value_list(data):
            if not 1 <= len(item) <= 255:
                raise RdataError(f"alpn id length {len(item)} out of range 1..255")
            out += bytes((len(item),)) + item
        return bytes(out)
    if key == 3:
        return _int(data.decode(errors="replace"), 16, "port").to_bytes(2, "big")
    if key in (4, 6):
        conv = ipv4_from_text if key == 4 else ipv6_from_text
        return b"".join(conv(a) for a in data.decode(errors="replace").split(","))
    if key == 5:
        ech = _b64(data.decode(errors="replace"), "ech")
        _check_ech(ech)
        return ech
    return data


def _check_ech(val: bytes) -> None:
    """Only the framing of an ECHConfigList (RFC 9460 §7.3; the ECH draft
    §4): a 2-octet length, then (version, length, contents) entries."""
    ok = len(val) >= 2 and int.from_bytes(val[:2], "big") == len(val) - 2 and len(val) > 2
    off = 2
    while ok and off < len(val):
        if off + 4 > len(val):
            ok = False
            break
        off += 4 + int.from_bytes(val[off + 2 : off + 4], "big")
        ok = off <= len(val)
    if not ok:
        raise RdataError("malformed ECHConfigList")


def _svc_value_to_text(key: int, val: bytes) -> str | None:
    if key == 0:
        if not val or len(val) % 2:
            raise RdataError("malformed mandatory")
        ks = [int.from_bytes(val[i : i + 2], "big") for i in range(0, len(val), 2)]
        if ks != sorted(set(ks)) or 0 in ks:
            raise RdataError("malformed mandatory")
        return ",".join(_svc_key_to_text(k) for k in ks)
    if key == 1:
        items = []
        i = 0
        while i < len(val):
            n = val[i]
            if n == 0 or i + 1 + n > len(val):
                raise RdataError("malformed alpn")
            items.append(val[i + 1 : i + 1 + n].replace(b"\\", b"\\\\").replace(b",", b"\\,"))
            i += 1 + n
        if not items:
            raise RdataError("empty alpn")
        return quote(b",".join(items))
    if key == 2:
        if val:
            raise RdataError("no-default-alpn with a value")
        return None
    if key == 3:
        if len(val) != 2:
            raise RdataError("malformed port")
        return str(int.from_bytes(val, "big"))
    if key in (4, 6):
        size, fam = (4, socket.AF_INET) if key == 4 else (16, socket.AF_INET6)
        if not val or len(val) % size:
            raise RdataError(f"malformed {_svc_key_to_text(key)}")
        return ",".join(socket.inet_ntop(fam, val[i : i + size]) for i in range(0, len(val), size))
    if key == 5:
        _check_ech(val)
        return base64.b64encode(val).decode()
    return quote(val) if val else None


def _svc_from_tokens(rtype: int, toks: list[str], origin) -> bytes:
    tname = rrtype_to_text(rtype)
    if len(toks) < 2:
        raise RdataError(f"{tname}: needs SvcPriority and TargetName")
    prio = _int(toks[0], 16, f"{tname} priority")
    target = _name(toks[1], origin, f"{tname} target")
    params: dict[int, bytes] = {}
    for tok in toks[2:]:
        kname, eq, raw = tok.partition("=")
        key = _svc_key_from_text(kname)
        if key in params:
            raise RdataError(f"{tname}: duplicate SvcParam {kname}")
        try:
            params[key] = _svc_value_from_text(key, raw if eq else None)
        except RdataError as e:
            raise RdataError(f"{tname} {kname}: {e}") from None
    if prio == 0 and params:
        raise RdataError(f"{tname}: AliasMode (priority 0) takes no SvcParams")
    _svc_check(tname, params)
    out = [prio.to_bytes(2, "big"), target]
    for key in sorted(params):
        val = params[key]
        if len(val) > 0xFFFF:
            raise RdataError(f"{tname}: SvcParam value too long")
        out.append(key.to_bytes(2, "big") + len(val).to_bytes(2, "big") + val)
    return b"".join(out)


def _svc_check(tname: str, params: dict[int, bytes]) -> None:
    """RFC 9460 §8: mandatory keys must be present; no-default-alpn needs alpn."""
    m = params.get(0)
    if m is not None:
        for i in range(0, len(m), 2):
            k = int.from_bytes(m[i : i + 2], "big")
            if k not in params:
                raise RdataError(f"{tname}: mandatory key {_svc_key_to_text(k)} is missing")
    if 2 in params and 1 not in params:
        raise RdataError(f"{tname}: no-default-alpn without alpn")


def _svc_to_text(rtype: int, wire: bytes) -> str:
    tname = rrtype_to_text(rtype)
    _need(wire, 0, 2, f"{tname} priority")
    prio = int.from_bytes(wire[0:2], "big")
    try:
        target, off = read_name(wire, 2)
    except NameError_ as e:
        raise RdataError(f"{tname} target: {e}") from None
    out = [str(prio), name_to_text(target)]
    params: dict[int, bytes] = {}
    last = -1
    while off < len(wire):
        _need(wire, off, 4, f"{tname} SvcParam")
        key = int.from_bytes(wire[off : off + 2], "big")
        n = int.from_bytes(wire[off + 2 : off + 4], "big")
        _need(wire, off + 4, n, f"{tname} SvcParam")
        if key <= last or key == 65535:
            raise RdataError(f"{tname}: SvcParamKeys not in strictly increasing order")
        last = key
        params[key] = val = wire[off + 4 : off + 4 + n]
        try:
            text = _svc_value_to_text(key, val)
        except RdataError as e:
            raise RdataError(f"{tname}: {e}") from None
        kname = _svc_key_to_text(key)
        out.append(kname if text is None else f"{kname}={text}")
        off += 4 + n
    if prio == 0 and params:
        raise RdataError(f"{tname}: AliasMode (priority 0) takes no SvcParams")
    _svc_check(tname, params)
    return " ".join(out)


# --- LOC (RFC 1876) --------------------------------------------------------

_LOC_EQUATOR = 1 << 31  # latitude/longitude 0 on the wire (§2)
_LOC_ALT_BASE = 10_000_000  # altitude 0 m on the wire, in cm (100 km below WGS 84)
_LOC_NUM = re.compile(r"(-?)([0-9]+)(?:\.([0-9]{1,2}))?[mM]?\Z")
_LOC_SEC = re.compile(r"([0-9]+)(?:\.([0-9]{1,3}))?\Z")


def _loc_cm(tok: str, what: str, low: int, high: int) -> int:
    """Metres with up to two decimals and an optional `m`, as centimetres."""
    m = _LOC_NUM.match(tok)
    if not m:
        raise RdataError(f"bad LOC {what} {tok!r}")
    cm = int(m.group(2)) * 100 + int((m.group(3) or "0").ljust(2, "0"))
    if m.group(1):
        cm = -cm
    if not low <= cm <= high:
        raise RdataError(f"LOC {what} {tok} out of range")
    return cm


def _loc_size(tok: str, what: str) -> int:
    """Size and precisions are mantissa * 10**exponent cm in one octet;
    truncating like BIND and dnspython."""
    cm = _loc_cm(tok, what, 0, 9_000_000_000)
    exp = len(str(cm)) - 1 if cm else 0
    return (cm // 10**exp) << 4 | exp


def _loc_angle(toks: list[str], i: int, hemis: str, limit: int, what: str) -> tuple[int, int]:
    """`d [m [s.sss]] H` -> (wire value, next token index)."""
    parts = []
    while i < len(toks) and toks[i].upper() not in hemis and len(parts) < 3:
        parts.append(toks[i])
        i += 1
    if not parts or i >= len(toks) or toks[i].upper() not in hemis:
        raise RdataError(
            f"LOC {what}: expected degrees [minutes [seconds]] then {hemis[0]}/{hemis[1]}"
        )
    deg = _int(parts[0], 8, f"LOC {what} degrees")
    mins = _int(parts[1], 8, f"LOC {what} minutes") if len(parts) > 1 else 0
    ms = 0
    if len(parts) > 2:
        m = _LOC_SEC.match(parts[2])
        if not m:
            raise RdataError(f"bad LOC {what} seconds {parts[2]!r}")
        ms = int(m.group(1)) * 1000 + int((m.group(2) or "0").ljust(3, "0"))
    if deg > limit or mins > 59 or ms >= 60_000 or (deg == limit and (mins or ms)):
        raise RdataError(f"LOC {what} out of range")
    v = (deg * 3600 + mins * 60) * 1000 + ms
    if toks[i].upper() == hemis[1]:
        v = -v
    return _LOC_EQUATOR + v, i + 1


def _loc_from_tokens(toks: list[str]) -> bytes:
    lat, i = _loc_angle(toks, 0, "NS", 90, "latitude")
    lon, i = _loc_angle(toks, i, "EW", 180, "longitude")
    if i >= len(toks):
        raise RdataError("LOC: missing altitude")
    alt = _loc_cm(toks[i], "altitude", -_LOC_ALT_BASE, 0xFFFFFFFF - _LOC_ALT_BASE)
    sizes = [0x12, 0x16, 0x13]  # defaults 1 m, 10 km, 10 m (§3)
    extra = toks[i + 1 :]
    if len(extra) > 3:
        raise RdataError(f"LOC: unexpected {extra[3]!r} after vertical precision")
    for j, tok in enumerate(extra):
        sizes[j] = _loc_size(tok, ("size", "horizontal precision", "vertical precision")[j])
    return (bytes((0, *sizes)) + lat.to_bytes(4, "big") + lon.to_bytes(4, "big")
            + (alt + _LOC_ALT_BASE).to_bytes(4, "big"))


def _loc_to_text(wire: bytes) -> str:
    if len(wire) != 16 or wire[0] != 0:
        raise RdataError("LOC rdata must be 16 octets of version 0")
    sizes = []
    for b in wire[1:4]:
        if b >> 4 > 9 or b & 15 > 9:
            raise RdataError("LOC size or precision out of range")
        cm = (b >> 4) * 10 ** (b & 15)
        sizes.append(f"{cm // 100}.{cm % 100:02d}m")
    out = []
    for raw, hemis in ((wire[4:8], "NS"), (wire[8:12], "EW")):
        v = int.from_bytes(raw, "big") - _LOC_EQUATOR
        limit = 90 if hemis == "NS" else 180
        if abs(v) > limit * 3_600_000:
            raise RdataError("LOC latitude or longitude out of range")
        a = abs(v)
        out.append(f"{a // 3_600_000} {a // 60_000 % 60} {a // 1000 % 60}.{a % 1000:03d} "
                   f"{hemis[v < 0]}")
    alt = int.from_bytes(wire[12:16], "big") - _LOC_ALT_BASE
    sign = "-" if alt < 0 else ""
    out.append(f"{sign}{abs(alt) // 100}.{abs(alt) % 100:02d}m")
    return " ".join(out + sizes)


# --- public entry points -------------------------------------------------

def _generic_from_tokens(rtype: int, toks: list[str]) -> bytes:
    """RFC 3597 §5: `\\# <length> <hex...>`, hex possibly split over tokens."""
    if len(toks) < 2:
        raise RdataError("generic rdata needs a length after \\#")
    n = _int(toks[1], 16, "generic rdata length")
    data = _hex("".join(toks[2:]), "generic rdata")
    if len(data) != n:
        raise RdataError(f"generic rdata length {n} does not match {len(data)} octets of hex")
    if rtype in _SCHEMAS or rtype in (29, 64, 65):
        to_text(rtype, data)  # RFC 3597 §5: must be valid rdata of the known type
    return data


def _fast_a(toks, origin):
    if len(toks) != 1:
        raise RdataError(f"A: expected one address, got {len(toks)} tokens")
    try:
        return socket.inet_pton(socket.AF_INET, toks[0])
    except (OSError, ValueError):
        raise RdataError(f"bad IPv4 address {toks[0]!r}") from None


def _fast_aaaa(toks, origin):
    if len(toks) != 1:
        raise RdataError(f"AAAA: expected one address, got {len(toks)} tokens")
    try:
        return socket.inet_pton(socket.AF_INET6, toks[0])
    except (OSError, ValueError):
        raise RdataError(f"bad IPv6 address {toks[0]!r}") from None


def _fast_txt(toks, origin):
    out = []
    for t in toks:
        if "\\" in t:
            b = unescape(t)
        else:
            b = t.encode()
        if len(b) > 255:
            raise RdataError(f"TXT string longer than 255 octets ({len(b)})")
        out.append(bytes((len(b),)))
        out.append(b)
    if not out:
        raise RdataError("TXT: missing strings")
    return b"".join(out)


def _fast_one_name(rtype):
    what = f"{rrtype_to_text(rtype)} {_SCHEMAS[rtype][0][0]}"

    def parse(toks, origin):
        if len(toks) != 1:
            return _schema_from_tokens(rtype, _SCHEMAS[rtype], toks, origin)
        return _name(toks[0], origin, what)
    return parse


def _fast_mx(toks, origin):
    if len(toks) != 2 or not (toks[0].isdigit() and toks[0].isascii()) or len(toks[0]) > 5:
        return _schema_from_tokens(15, _SCHEMAS[15], toks, origin)
    pref = int(toks[0])
    if pref > 0xFFFF:
        raise RdataError(f"MX preference {pref} out of range 0..65535")
    return pref.to_bytes(2, "big") + _name(toks[1], origin, "MX exchange")


_FAST = {1: _fast_a, 28: _fast_aaaa, 16: _fast_txt, 99: _fast_txt, 15: _fast_mx}
for _t in (2, 5, 12, 39):
    _FAST[_t] = _fast_one_name(_t)


def from_tokens(rtype: int, tokens: list[str], origin: bytes | None = model.ROOT) -> bytes:
    """Tokens of one rdata (as from `scan_line`) -> uncompressed wire rdata.

    Relative names are completed with `origin`; `None` makes them an error.
    """
    if tokens and tokens[0] == "\\#" and not isinstance(tokens[0], Quoted):
        if is_meta_type(rtype):
            raise RdataError(f"{rrtype_to_text(rtype)} is a meta-type and has no rdata")
        return _generic_from_tokens(rtype, tokens)
    fast = _FAST.get(rtype)
    if fast is not None:
        return fast(tokens, origin)
    schema = _SCHEMAS.get(rtype)
    if schema is not None:
        return _schema_from_tokens(rtype, schema, tokens, origin)
    if rtype in (64, 65):
        return _svc_from_tokens(rtype, tokens, origin)
    if rtype == 29:
        return _loc_from_tokens(tokens)
    if is_meta_type(rtype):
        raise RdataError(f"{rrtype_to_text(rtype)} is a meta-type and has no rdata")
    raise RdataError(
        f"type {rrtype_to_text(rtype)} can only be given in RFC 3597 generic form (\\# len hex)"
    )


def from_text(rtype: int, text: str, origin: bytes | None = model.ROOT) -> bytes:
    """One rdata in presentation form -> uncompressed wire rdata."""
    return from_tokens(rtype, tokenize(text), origin)


def generic_to_text(wire: bytes) -> str:
    if not wire:
        return "\\# 0"
    return f"\\# {len(wire)} {wire.hex().upper()}"


def _a_to_text(wire: bytes) -> str:
    if len(wire) != 4:
        raise RdataError(f"A rdata is {len(wire)} octets, not 4")
    return socket.inet_ntop(socket.AF_INET, wire)


def _aaaa_to_text(wire: bytes) -> str:
    if len(wire) != 16:
        raise RdataError(f"AAAA rdata is {len(wire)} octets, not 16")
    return socket.inet_ntop(socket.AF_INET6, wire)


_FAST_TO_TEXT = {1: _a_to_text, 28: _aaaa_to_text}


def to_text(rtype: int, wire: bytes) -> str:
    """Wire rdata -> presentation form (names absolute, strings quoted).

    Types without a presentation parser here come out in RFC 3597 generic
    form, which `from_text` reads back to the same octets.
    """
    fast = _FAST_TO_TEXT.get(rtype)
    if fast is not None:
        return fast(wire)
    schema = _SCHEMAS.get(rtype)
    if schema is not None:
        return _schema_to_text(rtype, schema, wire)
    if rtype in (64, 65):
        return _svc_to_text(rtype, wire)
    if rtype == 29:
        return _loc_to_text(wire)
    return generic_to_text(wire)
