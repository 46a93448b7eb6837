"""Registrable domain names: IDNA (RFC 5890-5893) and LDH label rules.

A name given to the API may be Unicode (U-labels) or ASCII (LDH or
xn-- A-labels), any case, with or without the trailing dot.  It comes out as
its lower-case A-label form (what the TLD zone holds) and its Unicode form
(what RDAP shows as unicodeName).  IDNA2008 with UTS #46 mapping comes from
the `idna` package when it is installed; otherwise Python's IDNA2003 codec
does the conversion and the LDH checks below still apply.
"""
from __future__ import annotations

import re

from .errors import DomainsError, invalid_input

try:  # IDNA2008 (RFC 5891) with UTS #46 mapping
    import idna as _idna
except ImportError:  # pragma: no cover - stdlib fallback (IDNA2003)
    _idna = None

_LDH = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
MAX_NAME_TEXT = 253  # 255 octets on the wire minus the first length octet and the root


class Name:
    """A validated name: `ldh` (A-labels, lower case, no trailing dot),
    `unicode` (U-labels), `idn` (any label is an A-label)."""

    __slots__ = ("ldh", "unicode", "idn")

    def __init__(self, ldh: str, unicode: str, idn: bool):
        self.ldh = ldh
        self.unicode = unicode
        self.idn = idn

    @property
    def labels(self) -> list[str]:
        return self.ldh.split(".")

    def __repr__(self) -> str:
        return f"Name({self.ldh!r})"


def _bad(text: str, why: str) -> DomainsError:
    return invalid_input(f"The domain name {text!r} is not valid: {why}.")


def _to_alabel(label: str, text: str) -> str:
    try:
        if _idna is not None:
            return _idna.encode(label, uts46=True).decode("ascii")
        return label.encode("idna").decode("ascii")
    except (UnicodeError, ValueError) as e:  # idna.IDNAError is a UnicodeError
        raise _bad(text, f"label {label!r} is not a valid internationalized label ({e})") \
            from None


def _to_ulabel(label: str, text: str) -> str:
    try:
        if _idna is not None:
            return _idna.decode(label)
        return label.encode("ascii").decode("idna")
    except (UnicodeError, ValueError) as e:
        raise _bad(text, f"label {label!r} is not a valid A-label ({e})") from None


def parse(text: str) -> Name:
    """Validate any DNS name as IDNA; raises InvalidInput with the reason."""
    if not isinstance(text, str) or not text.strip():
        raise invalid_input("The domain name is empty.")
    t = text.strip()
    if t.endswith("."):
        t = t[:-1]
    if not t:
        raise _bad(text, "the root is not a registrable name")
    # full stops that IDNA maps to '.' (RFC 3490 §3.1)
    t = re.sub("[\u3002\uff0e\uff61]", ".", t)
    ldh_labels, uni_labels = [], []
    idn = False
    for label in t.split("."):
        if not label:
            raise _bad(text, "it has an empty label")
        if not label.isascii():
            alabel = _to_alabel(label, text)
            idn = True
        else:
            alabel = label.lower()
        if len(alabel) > 63:
            raise _bad(text, f"label {alabel!r} is longer than 63 characters")
        if not _LDH.match(alabel):
            if alabel.startswith("-") or alabel.endswith("-"):
                raise _bad(text, f"label {alabel!r} starts or ends with a hyphen")
            raise _bad(text, f"label {alabel!r} has a character other than a-z, 0-9 and "
                             "hyphen")
        if alabel[2:4] == "--":
            # RFC 5891 §4.2.3.1: "??--" is reserved; only a valid xn-- A-label may use it
            if not alabel.startswith("xn--"):
                raise _bad(text, f"label {alabel!r} has hyphens in the third and fourth "
                                 "positions")
            ulabel = _to_ulabel(alabel, text)
            if _to_alabel(ulabel, text) != alabel:
                raise _bad(text, f"label {alabel!r} is not in its canonical A-label form")
            idn = True
            uni_labels.append(ulabel)
        else:
            uni_labels.append(label.lower() if label.isascii() else _to_ulabel(alabel, text))
        ldh_labels.append(alabel)
    ldh = ".".join(ldh_labels)
    if len(ldh) > MAX_NAME_TEXT:
        raise _bad(text, f"it is {len(ldh)} characters long, more than {MAX_NAME_TEXT}")
    return Name(ldh, ".".join(uni_labels), idn)


def split(name: Name, tlds: list[str]) -> tuple[str | None, str]:
    """(the operator TLD it falls under or None, the TLD as written)."""
    best = None
    for tld in tlds:
        if name.ldh == tld or name.ldh.endswith("." + tld):
            if best is None or len(tld) > len(best):
                best = tld
    return best, (best or name.labels[-1])
