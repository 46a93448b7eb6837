"""RFC 1035 §5 master files -> `model.Zone`, and `model.Zone` -> BIND-style text.

A zone is accepted whole or not at all: the first problem raises
`ZoneFileError` naming the file and line, and no partial zone escapes, since
serving half a zone is worse than serving the previous one.

The apex is the `origin` argument or else the SOA owner; `$ORIGIN` only
decides how relative names are completed.  Semantic rules enforced:
exactly one SOA, at the apex; nothing outside the apex (RFC 1034 §4.2);
CNAME alone at its owner apart from DNSSEC records (RFC 1034 §3.6.2,
RFC 2181 §10.1, RFC 4035 §2.5); one DNAME per owner and nothing below it
(RFC 6672 §2.4); class IN only.
"""
from __future__ import annotations

import gc
import os
import re
import socket

from . import model, rdata
from .model import (
    TYPE_CNAME, TYPE_DNAME, TYPE_NSEC, TYPE_RRSIG, TYPE_SOA, NameError_, RRset, Zone,
)
from .rdata import RdataError
from .errors import InputError

MAX_INCLUDE_DEPTH = 16

# A line needing the full tokenizer; everything else is whitespace-separated.
_NEEDS_SCANNER = re.compile(r'["();\\]').search

_PLAIN_LABEL = re.compile(r"[A-Za-z0-9_-]{1,63}").fullmatch
_LEN = [bytes((i,)) for i in range(64)]
_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")
_CLASS_WORDS = {"IN": 1, "CH": 3, "CS": 2, "HS": 4}
_SINGLETONS = {TYPE_SOA: "SOA", TYPE_CNAME: "CNAME", TYPE_DNAME: "DNAME"}
# May share an owner with a CNAME (RFC 4035 §2.5; NSEC3 lives at hashed owners).
_BESIDE_CNAME = {TYPE_CNAME, TYPE_RRSIG, TYPE_NSEC}


class ZoneFileError(InputError, ValueError):
    """A master file that cannot be loaded; `str()` is `file:line: reason`."""

    def __init__(self, filename: str, line: int, reason: str):
        self.filename = filename
        self.line = line
        self.reason = reason
        super().__init__(f"{filename}:{line}: {reason}")


class _Reader:
    """State that lives across `$INCLUDE`d files of one zone."""

    def __init__(self, origin: bytes | None, default_ttl: int | None):
        self.apex = origin  # lower-cased zone origin, None until the SOA says
        self.dollar_ttl = default_ttl  # $TTL (RFC 2308 §4), or the caller's default
        self.last_ttl: int | None = None  # last explicit TTL (RFC 1035 §5.1)
        self.rrsets: dict[tuple[bytes, int], RRset] = {}
        # where each RRset first appeared: file index << 32 | line number
        self.where: dict[tuple[bytes, int], int] = {}
        self.files: list[str] = []
        self.unchecked: list[tuple[bytes, int]] = []  # owners read before the apex was known
        self.cname_owners: set[bytes] = set()
        self.dname_owners: set[bytes] = set()
        self.soa_key: tuple[bytes, int] | None = None
        self.stack: list[str] = []  # real paths of the files being read (loop check)

    def error_at(self, packed: int, reason: str) -> ZoneFileError:
        return ZoneFileError(self.files[packed >> 32], packed & 0xFFFFFFFF, reason)

    # -- the per-line loop ------------------------------------------------

    def read(self, text: str, filename: str, base_dir: str | None,
             origin: bytes | None, depth: int) -> int:
        """Read one file's records; returns its number of lines.

        This loop is the cost of loading a large zone, so the common case
        (plain owner, A/AAAA/CNAME/MX/TXT) avoids the general tokenizer and
        keeps its state in locals; see tools/gen_zone.py for the benchmark.
        """
        fileno = len(self.files) << 32
        self.files.append(filename)
        lines = text.split("\n")
        nlines = len(lines)
        rrsets = self.rrsets
        where = self.where
        needs_scanner = _NEEDS_SCANNER
        plain_label = _PLAIN_LABEL
        scan_line = rdata.scan_line
        from_tokens = rdata.from_tokens
        fast_name = rdata.fast_name_from_text
        name_lower = model.name_lower
        is_subdomain = model.is_subdomain
        types = rdata._TYPES
        classes = _CLASS_WORDS
        singletons = _SINGLETONS
        ttl_from_text = rdata.ttl_from_text
        lens = _LEN
        digits = "0123456789"
        Quoted = rdata.Quoted
        lower = _LOWER
        inet_pton = socket.inet_pton
        AF_INET = socket.AF_INET

        owner: bytes | None = None  # previous owner (RFC 1035 §5.1 blank owner)
        owner_text = None  # its text, while `origin` is unchanged
        # A plain label relative to an origin inside the zone needs no
        # out-of-zone check and no general name parser.
        origin_in_zone = self.origin_in_zone(origin)
        apex = self.apex
        dollar_ttl = self.dollar_ttl
        last_ttl = self.last_ttl
        i = 0
        while i < nlines:
            line = lines[i]
            i += 1
            lineno = i
            try:
                if needs_scanner(line):
                    toks, parens = scan_line(line, 0)
                    while parens:
                        if i >= nlines:
                            raise RdataError("'(' without matching ')'")
                        more, parens = scan_line(lines[i], parens)
                        i += 1
                        toks += more
                else:
                    toks = line.split()
                if not toks:
                    continue
                if line[0] in " \t":
                    if owner is None:
                        raise RdataError("no owner name, and no previous owner to reuse")
                    pos = 0
                else:
                    t = toks[0]
                    if t != owner_text:
                        if origin_in_zone and plain_label(t):
                            b = t.encode()
                            owner = (lens[len(b)] + b + origin).translate(lower)
                            if len(owner) > 255:
                                owner = fast_name(t, origin)  # raises the model's error
                        elif t[0] == "$" and not isinstance(t, Quoted):
                            self.last_ttl = last_ttl
                            origin, owner, owner_text = self.directive(
                                toks, filename, lineno, base_dir, origin, owner, owner_text,
                                depth,
                            )
                            origin_in_zone = self.origin_in_zone(origin)
                            apex = self.apex
                            dollar_ttl = self.dollar_ttl
                            last_ttl = self.last_ttl
                            continue
                        else:
                            owner = name_lower(fast_name(t, origin))
                            if apex is not None and not is_subdomain(owner, apex):
                                raise RdataError(
                                    f"{model.name_to_text(owner)} is out of zone "
                                    f"{model.name_to_text(apex)}"
                                )
                        owner_text = t
                    pos = 1

                # [TTL] [class] type, or [class] [TTL] type (RFC 1035 §5.1)
                ttl = None
                t = toks[pos]
                if t[0] in digits:
                    if t.isdigit() and t.isascii() and len(t) < 10:
                        ttl = int(t)
                    else:
                        ttl = ttl_from_text(t)
                    pos += 1
                    t = toks[pos]
                if t == "IN":
                    pos += 1
                    t = toks[pos]
                    if ttl is None and t[0] in digits:
                        ttl = ttl_from_text(t)
                        pos += 1
                        t = toks[pos]
                up = t.upper()
                rtype = types.get(up)
                if rtype is None:
                    if up in classes or up.startswith("CLASS"):
                        cls = classes.get(up) or rdata.rrclass_from_text(t)
                        if cls != 1:
                            raise RdataError(
                                f"class {rdata.rrclass_to_text(cls)} is not supported, only IN"
                            )
                        pos += 1
                        t = toks[pos]
                        if ttl is None and t[0] in digits:
                            ttl = ttl_from_text(t)
                            pos += 1
                            t = toks[pos]
                        up = t.upper()
                        rtype = types.get(up)
                    if rtype is None:
                        rtype = rdata.rrtype_from_text(t)
                if rtype == 1 and len(toks) == pos + 2:
                    try:
                        wire = inet_pton(AF_INET, toks[-1])
                    except (OSError, ValueError):  # ValueError: a NUL in the token
                        wire = from_tokens(rtype, toks[pos + 1 :], origin)  # for its error
                else:
                    wire = from_tokens(rtype, toks[pos + 1 :], origin)

                if ttl is None:
                    ttl = dollar_ttl
                    if ttl is None:
                        ttl = last_ttl
                        if ttl is None:
                            if rtype != TYPE_SOA:
                                raise RdataError("no TTL given, and no $TTL or earlier TTL to use")
                            # BIND's rule for a file without $TTL (RFC 2308 §4)
                            ttl = last_ttl = model.soa_minimum(wire)
                else:
                    last_ttl = ttl

                key = (owner, rtype)
                rs = rrsets.get(key)
                if rs is None:
                    rrsets[key] = RRset(owner, rtype, ttl, [wire])
                    where[key] = fileno | lineno
                    if apex is None or rtype in singletons:
                        self.first_of_kind(key, fileno | lineno)
                        if apex is None and self.apex is not None:
                            apex = self.apex
                            origin_in_zone = self.origin_in_zone(origin)
                elif wire not in rs.rdatas:
                    if rtype in singletons:
                        first = where[key] & 0xFFFFFFFF
                        raise RdataError(
                            f"more than one {singletons[rtype]} record at "
                            f"{model.name_to_text(owner)} (first at line {first})"
                        )
                    rs.rdatas.append(wire)
            except (RdataError, NameError_) as e:
                raise ZoneFileError(filename, lineno, str(e)) from None
            except IndexError:
                raise ZoneFileError(filename, lineno, "missing type or rdata") from None
        self.last_ttl = last_ttl
        return nlines - 1 if lines[-1] == "" else nlines

    def origin_in_zone(self, origin: bytes | None) -> bool:
        return (origin is not None and self.apex is not None
                and model.is_subdomain(model.name_lower(origin), self.apex))

    def first_of_kind(self, key: tuple[bytes, int], packed: int) -> None:
        """The first record of an RRset whose type has zone-wide rules."""
        owner, rtype = key
        if rtype == TYPE_SOA:
            if self.apex is not None and owner != self.apex:
                raise RdataError(
                    f"SOA is at {model.name_to_text(owner)}, not at the zone origin "
                    f"{model.name_to_text(self.apex)}"
                )
            if self.soa_key is not None:
                first = self.where[self.soa_key] & 0xFFFFFFFF
                raise RdataError(f"second SOA record (the first is at line {first})")
            self.soa_key = key
            if self.apex is None:
                self.apex = owner
                pending, self.unchecked = self.unchecked, []
                for k in pending:
                    self.check_in_zone(k)
        elif rtype == TYPE_CNAME:
            self.cname_owners.add(owner)
        elif rtype == TYPE_DNAME:
            self.dname_owners.add(owner)
        if self.apex is None:
            self.unchecked.append(key)

    def check_in_zone(self, key: tuple[bytes, int]) -> None:
        if not model.is_subdomain(key[0], self.apex):
            raise self.error_at(
                self.where[key],
                f"{model.name_to_text(key[0])} is out of zone {model.name_to_text(self.apex)}",
            )

    # -- directives ------------------------------------------------------

    def directive(self, toks, filename, lineno, base_dir, origin, owner, owner_text, depth):
        """$ORIGIN, $TTL and $INCLUDE; returns the new (origin, owner, owner_text)."""
        word = toks[0].upper()
        args = toks[1:]
        if word == "$ORIGIN":
            if len(args) != 1:
                raise RdataError("$ORIGIN takes exactly one name")
            return _dollar_name(args[0], origin), owner, None
        if word == "$TTL":
            if len(args) != 1:
                raise RdataError("$TTL takes exactly one TTL")
            self.dollar_ttl = rdata.ttl_from_text(args[0])
            return origin, owner, owner_text
        if word == "$INCLUDE":
            if not 1 <= len(args) <= 2:
                raise RdataError("$INCLUDE takes a file name and an optional origin")
            if base_dir is None:
                raise RdataError("$INCLUDE is not allowed here (no include base directory)")
            if depth >= MAX_INCLUDE_DEPTH:
                raise RdataError(f"$INCLUDE nested deeper than {MAX_INCLUDE_DEPTH} files")
            path = os.path.join(base_dir, rdata.unescape(args[0]).decode())
            sub_origin = _dollar_name(args[1], origin) if len(args) == 2 else origin
            real = os.path.realpath(path)
            if real in self.stack:
                raise RdataError(f"$INCLUDE loop: {args[0]} is already being read")
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except OSError as e:
                raise RdataError(f"cannot read $INCLUDE file {args[0]!r}: {e.strerror}") from None
            except UnicodeDecodeError as e:
                raise RdataError(f"$INCLUDE file {args[0]!r} is not UTF-8: {e.reason}") from None
            self.stack.append(real)
            self.read(text, path, os.path.dirname(path), sub_origin, depth + 1)
            self.stack.pop()
            # RFC 1035 §5.1: the including file's origin (and owner) carry on
            return origin, owner, owner_text
        raise RdataError(f"unsupported directive {toks[0]}")

    # -- whole-zone rules -------------------------------------------------

    def finish(self, filename: str, nlines: int) -> Zone:
        if self.soa_key is None:
            raise ZoneFileError(filename, nlines, "no SOA record")
        where = self.where
        problems: list[tuple[int, str]] = []
        if self.cname_owners:
            for key in self.rrsets:
                if key[0] in self.cname_owners and key[1] not in _BESIDE_CNAME:
                    later = max(where[key], where[(key[0], TYPE_CNAME)])
                    reason = f"CNAME and other data at {model.name_to_text(key[0])}"
                    problems.append((later, reason))
        if self.dname_owners:
            dnames = self.dname_owners
            for key in self.rrsets:
                name = key[0]
                while name != self.apex and name != model.ROOT:
                    name = model.parent_of(name)
                    if name in dnames:
                        problems.append((
                            max(where[key], where[(name, TYPE_DNAME)]),
                            f"{model.name_to_text(key[0])} is below the DNAME at "
                            f"{model.name_to_text(name)}",
                        ))
                        break
        if problems:
            packed, reason = min(problems, key=lambda p: (p[0] >> 32, p[0] & 0xFFFFFFFF))
            raise self.error_at(packed, reason)
        return Zone(self.apex, self.rrsets, filename)


def _dollar_name(text: str, origin: bytes | None) -> bytes:
    return rdata.fast_name_from_text(text, origin)


def _origin_arg(origin: bytes | str | None) -> bytes | None:
    if origin is None:
        return None
    if isinstance(origin, str):
        origin = model.name_from_text(origin if origin.endswith(".") else origin + ".")
    return model.name_lower(origin)


def parse_zone_text(
    text: str,
    origin: bytes | str | None,
    filename: str = "<string>",
    default_ttl: int | None = None,
    include_base: str | None = None,
) -> Zone:
    """Parse master-file text into a Zone.

    `origin` (wire bytes or text) fixes the apex; with None the SOA owner is
    the apex and relative names need a `$ORIGIN` first.  `default_ttl` acts
    like a `$TTL` line before the text.  `$INCLUDE` is refused unless
    `include_base` names the directory that relative include paths start
    from, so text arriving through the API can never read server files.
    """
    try:
        apex = _origin_arg(origin)
    except NameError_ as e:
        raise ZoneFileError(filename, 0, f"bad origin {origin!r}: {e}") from None
    reader = _Reader(apex, default_ttl)
    if include_base is not None and filename != "<string>":
        reader.stack.append(os.path.realpath(filename))
    # A million-record zone allocates millions of containers and none of them
    # form cycles; the cyclic collector's repeated full passes over them
    # cost about a third of the load time.
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        nlines = reader.read(text, filename, include_base, apex, 0)
        return reader.finish(filename, nlines)
    finally:
        if gc_was_on:
            gc.enable()


def parse_zone_file(path: str | os.PathLike, origin: bytes | str | None = None) -> Zone:
    """Read a master file from disk; `$INCLUDE` paths are relative to it."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ZoneFileError(path, 0, f"cannot read zone file: {e.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise ZoneFileError(path, line, f"not UTF-8: {e.reason}") from None
    return parse_zone_text(text, origin, path, include_base=os.path.dirname(path) or ".")


# --- export ----------------------------------------------------------------

def canonical_key(name: bytes) -> tuple[bytes, ...]:
    """RFC 4034 §6.1 order: compare labels from the root down, as octets of
    the lower-cased label (owners in a Zone are lower-cased already)."""
    return tuple(reversed(model.labels_of(name)))


def zone_to_text(zone: Zone) -> str:
    """BIND-style text: `$ORIGIN`, the SOA, then owners in canonical order and
    types by number; `parse_zone_text` of the result gives an equal Zone.

    Owners under the origin are written relative to it (`@` for the apex);
    names inside rdata are always absolute.
    """
    origin = zone.origin
    origin_labels = model.labels_of(origin)
    k = len(origin_labels)
    origin_rev = origin_labels[::-1]
    soa_key = (origin, TYPE_SOA)
    order = []
    for key in zone.rrsets:
        labels = model.labels_of(key[0])
        labels.reverse()
        order.append((key != soa_key, labels, key[1], key))
    order.sort()
    out = [f"$ORIGIN {model.name_to_text(origin)}\n"]
    rtext = rdata.to_text
    last_owner = None
    for _, rev, rtype, key in order:
        rs = zone.rrsets[key]
        if rs.owner != last_owner:
            last_owner = rs.owner
            if len(rev) == k:
                owner = "@" if rs.owner == origin else rdata.fast_name_to_text(rs.owner)
            elif rev[:k] == origin_rev:
                owner = rdata.labels_to_text(rev[:k - 1:-1] if k else rev[::-1])
            else:
                owner = rdata.fast_name_to_text(rs.owner)
        head = f"{owner} {rs.ttl} IN {rdata.rrtype_to_text(rtype)} "
        for wire in rs.rdatas:
            out.append(head + rtext(rtype, wire) + "\n")
    return "".join(out)
