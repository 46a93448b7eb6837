"""Domain names as Route 53 spells them: trailing dot optional on input,
always present on output, lower case, and every octet outside a-z 0-9 - _
written as a three-digit *octal* escape (`*` comes back as `\\052`).

See "DNS domain name format" in the Route 53 developer guide; the octal
escapes differ from RFC 1035's decimal `\\DDD`, so model.name_from_text is
not used for API input.
"""
from __future__ import annotations

from .. import model
from ..errors import InputError

_PLAIN = set(b"abcdefghijklmnopqrstuvwxyz0123456789-_")


class BadName(InputError, ValueError):
    pass


def name_from_text(text: str) -> bytes:
    """API text -> lower-cased absolute wire name."""
    if not text or text == ".":
        if text == ".":
            return model.ROOT
        raise BadName("empty domain name")
    labels: list[bytes] = []
    cur = bytearray()
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            digits = text[i + 1:i + 4]
            if len(digits) == 3 and all(d in "01234567" for d in digits):
                v = int(digits, 8)
                if v > 255:
                    raise BadName(f"escape \\{digits} is out of range")
                cur.append(v)
                i += 4
                continue
            if i + 1 >= n:
                raise BadName("dangling backslash")
            cur += text[i + 1].encode("utf-8")
            i += 2
            continue
        if c == ".":
            if not cur:
                raise BadName("empty label")
            labels.append(bytes(cur))
            cur = bytearray()
            i += 1
            continue
        cur += c.encode("utf-8")
        i += 1
    if cur:
        labels.append(bytes(cur))
    try:
        return model.name_lower(model.name_from_labels(labels))
    except model.NameError_ as e:
        raise BadName(str(e)) from None


def label_to_text(label: bytes) -> str:
    return "".join(chr(b) if b in _PLAIN else "\\%03o" % b for b in label.lower())


def name_to_text(wire: bytes) -> str:
    labs = model.labels_of(wire)
    if not labs:
        return "."
    return ".".join(label_to_text(lab) for lab in labs) + "."


def sort_key(wire: bytes) -> bytes:
    """Route 53's ListResourceRecordSets order: labels reversed
    (com.example.www), compared label by label."""
    return b"".join(lab + b"\x00" for lab in reversed(model.labels_of(model.name_lower(wire))))

