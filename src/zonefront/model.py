"""Zone data as plain Python values: the common language of the zone-file
reader, the API store, the reference resolver and the snapshot compiler.

Names are absolute wire-format `bytes` (length-prefixed labels ending in the
root label b"\\x00").  Owner names and zone origins are kept lower-cased so
that they can be used as dictionary keys (DNS names compare case-insensitively,
RFC 4343); names inside rdata keep the case they were written with.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
import struct

from .errors import InputError
from .lightclass import dataclass, field

ROOT = b"\x00"
MAX_NAME_WIRE = 255
MAX_LABEL = 63

CLASS_IN = 1

TYPE_A = 1
TYPE_NS = 2
TYPE_CNAME = 5
TYPE_SOA = 6
TYPE_PTR = 12
TYPE_HINFO = 13
TYPE_MX = 15
TYPE_TXT = 16
TYPE_AAAA = 28
TYPE_SRV = 33
TYPE_NAPTR = 35
TYPE_DNAME = 39
TYPE_OPT = 41
TYPE_DS = 43
TYPE_RRSIG = 46
TYPE_NSEC = 47
TYPE_DNSKEY = 48
TYPE_IXFR = 251
TYPE_AXFR = 252
TYPE_MAILB = 253
TYPE_MAILA = 254
TYPE_ANY = 255


class NameError_(InputError, ValueError):
    """A domain name that cannot exist on the wire (too long, bad label)."""


def labels_of(name: bytes) -> list[bytes]:
    """Split an absolute wire name into its labels, root label excluded."""
    out = []
    i = 0
    while True:
        n = name[i]
        if n == 0:
            return out
        out.append(name[i + 1 : i + 1 + n])
        i += 1 + n


def name_from_labels(labels: list[bytes]) -> bytes:
    out = bytearray()
    for lab in labels:
        if not lab or len(lab) > MAX_LABEL:
            raise NameError_(f"label length {len(lab)} out of range 1..63")
        out.append(len(lab))
        out += lab
    out.append(0)
    if len(out) > MAX_NAME_WIRE:
        raise NameError_(f"name is {len(out)} octets long, more than 255")
    return bytes(out)


def name_lower(name: bytes) -> bytes:
    """ASCII-only lower-casing (RFC 4343): label length octets are < 0x40
    so translating A-Z in the whole buffer never touches them."""
    return name.translate(_LOWER)


_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")


def parent_of(name: bytes) -> bytes:
    """The name with its first label removed; the root is its own parent."""
    if name == ROOT:
        return ROOT
    return name[1 + name[0] :]


def is_subdomain(name: bytes, ancestor: bytes) -> bool:
    """True when `name` is `ancestor` or below it (both lower-cased)."""
    if ancestor == ROOT:
        return True
    if not name.endswith(ancestor):
        return False
    # the match must start on a label boundary
    i = 0
    cut = len(name) - len(ancestor)
    while i < cut:
        i += 1 + name[i]
    return i == cut


def label_count(name: bytes) -> int:
    return len(labels_of(name))


_TEXT_SAFE = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_*/+=")


def label_to_text(label: bytes) -> str:
    out = []
    for b in label:
        if b in _TEXT_SAFE:
            out.append(chr(b))
        elif 0x21 <= b <= 0x7E:
            out.append("\\" + chr(b))
        else:
            out.append("\\%03d" % b)
    return "".join(out)


def name_to_text(name: bytes) -> str:
    """Presentation form with a trailing dot; escapes per RFC 1035 §5.1."""
    labs = labels_of(name)
    if not labs:
        return "."
    return ".".join(label_to_text(lab) for lab in labs) + "."


def name_from_text(text: str, origin: bytes | None = ROOT) -> bytes:
    """Parse a presentation-form name (escapes `\\.` and `\\DDD` honoured).

    A name without a trailing dot is relative to `origin`; `@` is the origin.
    Case is preserved; lower-case it with `name_lower` for use as a key.
    """
    if text == "@":
        if origin is None:
            raise NameError_("'@' used with no origin")
        return origin
    if text == ".":
        return ROOT
    labels: list[bytes] = []
    cur = bytearray()
    i = 0
    n = len(text)
    absolute = False
    while i < n:
        c = text[i]
        if c == "\\":
            if len(text[i + 1 : i + 4]) == 3 and text[i + 1 : i + 4].isdigit():
                v = int(text[i + 1 : i + 4])
                if v > 255:
                    raise NameError_(f"escape \\{text[i + 1 : i + 4]} is over 255 in {text!r}")
                cur.append(v)
                i += 4
                continue
            if i + 1 >= n:
                raise NameError_(f"dangling backslash in {text!r}")
            cur += text[i + 1].encode("utf-8")
            i += 2
            continue
        if c == ".":
            if not cur:
                raise NameError_(f"empty label in {text!r}")
            labels.append(bytes(cur))
            cur = bytearray()
            if i == n - 1:
                absolute = True
            i += 1
            continue
        cur += c.encode("utf-8")
        i += 1
    if cur:
        labels.append(bytes(cur))
    rel = name_from_labels(labels)
    if absolute:
        return rel
    if origin is None:
        raise NameError_(f"relative name {text!r} with no origin")
    joined = rel[:-1] + origin
    if len(joined) > MAX_NAME_WIRE:
        raise NameError_(f"name {text!r} is longer than 255 octets with its origin")
    return joined


@dataclass(slots=True)
class RRset:
    """All records of one owner and type.  `rdatas` are uncompressed wire
    rdata in the order they were given (duplicates already removed)."""

    owner: bytes  # lower-cased absolute wire name
    rtype: int
    ttl: int
    rdatas: list[bytes] = field(default_factory=list)


@dataclass
class RoutedRRset:
    """One Route 53 record set that is chosen per query: it has a routing
    policy (SetIdentifier) and/or is an alias.  Several of them with one
    owner and type compete; the compiled core picks among them (routing policies).

    Exactly one policy field group is set for a SetIdentifier'd record set,
    as Route 53 requires; an alias has alias_name (and no rdatas).
    """

    owner: bytes  # lower-cased wire name
    rtype: int
    ttl: int
    rdatas: list[bytes] = field(default_factory=list)
    set_id: str | None = None
    weight: int | None = None  # weighted: 0..255
    region: str | None = None  # latency: an AWS region name such as "eu-west-1"
    geo_continent: str | None = None  # geolocation: AF AN AS EU OC NA SA
    geo_country: str | None = None  # ISO 3166 alpha-2, or "*" for the default
    geo_subdivision: str | None = None  # e.g. US state "WA"
    geoprox_region: str | None = None  # geoproximity: AWS region ...
    geoprox_lat: float | None = None  # ... or coordinates
    geoprox_lon: float | None = None
    geoprox_bias: int = 0  # -99..99
    failover: str | None = None  # "PRIMARY" or "SECONDARY"
    multivalue: bool = False
    cidr_collection: str | None = None  # IP-based: collection id ...
    cidr_location: str | None = None  # ... and location name, or "*"
    health_check: str | None = None  # HealthCheckId
    alias_name: bytes | None = None  # alias target (lower-cased wire name)
    alias_zone: str | None = None  # target hosted zone id
    alias_evaluate_health: bool = False
    # a traffic policy rule (Traffic Flow): when this candidate is chosen, the
    # choice goes on among these (same owner and type, each with its own
    # rule's policy field), so the core nests one pset per rule
    children: list | None = None

    def walk(self):
        """This record set and every one in its rule subtree."""
        yield self
        for c in self.children or ():
            yield from c.walk()


class OneType(Mapping):
    """The record sets of an owner with one type, as a read-only mapping
    rtype -> RRset: what RRsetMap keeps for most owners instead of a dict
    (a one-entry dict takes ~240 octets, this ~60)."""

    __slots__ = ("rrset", "rtype")

    def __init__(self, rtype: int, rrset) -> None:
        self.rtype = rtype
        self.rrset = rrset

    def __getitem__(self, rtype):
        if rtype == self.rtype:
            return self.rrset
        raise KeyError(rtype)

    def get(self, rtype, default=None):
        return self.rrset if rtype == self.rtype else default

    def __contains__(self, rtype) -> bool:
        return rtype == self.rtype

    def __iter__(self) -> Iterator:
        yield self.rtype

    def __len__(self) -> int:
        return 1

    def __bool__(self) -> bool:
        return True

    def keys(self):
        return (self.rtype,)

    def values(self):
        return (self.rrset,)

    def items(self):
        return ((self.rtype, self.rrset),)

    def __repr__(self) -> str:
        return f"OneType({self.rtype}, {self.rrset!r})"


# the packed form of one owner's plain record sets (RRsetMap, zoneset.Node):
# per type, rtype u16, TTL u32 and the rdata count u16, then each rdata as
# length u16 + octets, in the order the types were given.  One bytes object
# of ~50 octets instead of a mapping, an RRset, a list and a bytes per rdata
# (~250 octets): a million-owner zone is a million of these.
_PACK_HEAD = struct.Struct(">HIH")
_PACK_LEN = struct.Struct(">H")


def pack_rrsets(owner: bytes, by_type) -> bytes | None:
    """`by_type` (rtype -> RRset) as one packed value, or None when it holds
    something the form cannot say (not a plain RRset of this owner and type,
    a TTL or an rdata out of range): those owners stay objects."""
    parts = []
    try:
        for rtype, rrset in by_type.items():
            if (rrset.__class__ is not RRset or rrset.rtype != rtype
                    or rrset.owner != owner):
                return None
            parts.append(_PACK_HEAD.pack(rtype, rrset.ttl, len(rrset.rdatas)))
            for rd in rrset.rdatas:
                if rd.__class__ is not bytes:
                    return None
                parts.append(_PACK_LEN.pack(len(rd)))
                parts.append(rd)
    except struct.error:
        return None
    return b"".join(parts) if parts else None


def unpack_rrsets(owner: bytes, packed: bytes) -> dict:
    """rtype -> RRset from pack_rrsets' value: new objects, the caller's to keep."""
    out = {}
    pos, end = 0, len(packed)
    head, length = _PACK_HEAD.unpack_from, _PACK_LEN.unpack_from
    while pos < end:
        rtype, ttl, n = head(packed, pos)
        pos += 8
        rdatas = []
        for _ in range(n):
            (size,) = length(packed, pos)
            pos += 2
            rdatas.append(packed[pos:pos + size])
            pos += size
        out[rtype] = RRset(owner, rtype, ttl, rdatas)
    return out


def packed_types(packed: bytes) -> list[int]:
    """The types in a packed value, without building the record sets."""
    out = []
    pos, end = 0, len(packed)
    head, length = _PACK_HEAD.unpack_from, _PACK_LEN.unpack_from
    while pos < end:
        rtype, _ttl, n = head(packed, pos)
        out.append(rtype)
        pos += 8
        for _ in range(n):
            pos += 2 + length(packed, pos)[0]
    return out


def packed_records(packed: bytes) -> int:
    """The number of records (rdatas) in a packed value."""
    count = 0
    pos, end = 0, len(packed)
    head, length = _PACK_HEAD.unpack_from, _PACK_LEN.unpack_from
    while pos < end:
        n = head(packed, pos)[2]
        count += n
        pos += 8
        for _ in range(n):
            pos += 2 + length(packed, pos)[0]
    return count


def held_rrsets(owner: bytes, held):
    """An owner's record sets by type from what RRsetMap or a Node holds
    (a packed value, a OneType or a dict), as a mapping."""
    return unpack_rrsets(owner, held) if held.__class__ is bytes else held


def held_types(held):
    """The types an owner's held value (packed, a OneType or a dict) has
    record sets of, without decoding them."""
    return packed_types(held) if held.__class__ is bytes else held


def _hold(owner: bytes, by_type):
    """What RRsetMap keeps for an owner: packed when it can be, else a
    OneType for one type, else the dict."""
    packed = pack_rrsets(owner, by_type)
    if packed is not None:
        return packed
    if len(by_type) == 1:
        ((t, v),) = by_type.items()
        return OneType(t, v)
    return dict(by_type)


class RRsetMap(MutableMapping):
    """A zone's RRsets by (owner, rtype), kept in shards by owner so that a
    zone with a few owners changed is a new map sharing every untouched
    shard (`with_owners`): the API's zone cache hands every publish a new
    Zone, and copying a million-entry dict per change batch cost more than
    compiling the change.  Consumers that compare two versions of a zone
    visit only the shards that differ (`differing_shards`).

    A shard maps each owner to its record sets held in one value: packed
    bytes (pack_rrsets) for plain RRsets, the usual case, decoded on each
    access into new RRset objects; a OneType or dict for anything else.
    zoneset.ZoneSet takes those values as its nodes' record sets
    (`held_owners`) instead of building a mapping per name, so a compiled
    million-owner zone holds a million small bytes objects, not four million
    objects.  An RRset read from the map is a copy: changing it changes
    nothing; derive a new map (`with_owners`), which gives the changed owners
    new values.  Once handed on, neither the map nor its values change."""

    SHARDS = 1024
    __slots__ = ("_shards", "_len")

    def __init__(self, items=()):
        shards: list[dict] = [{} for _ in range(self.SHARDS)]
        mask = self.SHARDS - 1
        for (owner, rtype), v in (items.items() if hasattr(items, "items") else items):
            shards[hash(owner) & mask].setdefault(owner, {})[rtype] = v
        n = 0
        for shard in shards:
            for owner, by_type in shard.items():
                n += len(by_type)
                shard[owner] = _hold(owner, by_type)
        self._shards = shards
        self._len = n

    @classmethod
    def _shard(cls, owner: bytes) -> int:
        return hash(owner) & (cls.SHARDS - 1)

    def _of(self, owner: bytes):
        held = self._shards[hash(owner) & (self.SHARDS - 1)].get(owner)
        return None if held is None else held_rrsets(owner, held)

    def __getitem__(self, key):
        by_type = self._of(key[0])
        if by_type is None or key[1] not in by_type:
            raise KeyError(key)
        return by_type[key[1]]

    def get(self, key, default=None):
        by_type = self._of(key[0])
        return default if by_type is None else by_type.get(key[1], default)

    def __contains__(self, key) -> bool:
        held = self._shards[hash(key[0]) & (self.SHARDS - 1)].get(key[0])
        if held is None:
            return False
        return key[1] in held_types(held)

    def __setitem__(self, key, value) -> None:
        shard = self._shards[hash(key[0]) & (self.SHARDS - 1)]
        held = shard.get(key[0])
        by_type = {} if held is None else dict(held_rrsets(key[0], held).items())
        self._len += key[1] not in by_type
        by_type[key[1]] = value
        shard[key[0]] = _hold(key[0], by_type)

    def __delitem__(self, key) -> None:
        shard = self._shards[hash(key[0]) & (self.SHARDS - 1)]
        held = shard.get(key[0])
        by_type = None if held is None else dict(held_rrsets(key[0], held).items())
        if by_type is None or key[1] not in by_type:
            raise KeyError(key)
        del by_type[key[1]]
        if by_type:
            shard[key[0]] = _hold(key[0], by_type)
        else:
            del shard[key[0]]
        self._len -= 1

    def __iter__(self) -> Iterator:
        for shard in self._shards:
            for owner, held in shard.items():
                for rtype in held_types(held):
                    yield (owner, rtype)

    def __len__(self) -> int:
        return self._len

    def items(self):
        for shard in self._shards:
            for owner, held in shard.items():
                for rtype, v in held_rrsets(owner, held).items():
                    yield (owner, rtype), v

    def values(self):
        for shard in self._shards:
            for owner, held in shard.items():
                yield from held_rrsets(owner, held).values()

    def records(self) -> int:
        """Records (rdatas) in every RRset, without building them."""
        n = 0
        for shard in self._shards:
            for held in shard.values():
                n += (packed_records(held) if held.__class__ is bytes
                      else sum(len(r.rdatas) for r in held.values()))
        return n

    def __reduce__(self):  # shards follow hash(), which differs between processes
        return (RRsetMap, (dict(self.items()),))

    def owners(self):
        """(owner, rtype -> RRset) for every owner, decoded afresh."""
        for shard in self._shards:
            for owner, held in shard.items():
                yield owner, held_rrsets(owner, held)

    def held_owners(self):
        """(owner, held value) for every owner: packed bytes, a OneType or a
        dict (see held_rrsets), the map's own, never to be changed."""
        for shard in self._shards:
            yield from shard.items()

    def held(self, owner: bytes):
        """The value an owner's record sets are held in, or None."""
        return self._shards[self._shard(owner)].get(owner)

    def of_owner(self, owner: bytes) -> dict:
        """Every (owner, rtype) -> RRset of one owner."""
        by_type = self._of(owner)
        return {(owner, t): v for t, v in by_type.items()} if by_type else {}

    def with_owners(self, owners, rrsets) -> "RRsetMap":
        """A new map: this one with every RRset of `owners` replaced by those
        in `rrsets` ((owner, rtype) -> RRset).  Only the shards those owners
        fall in are copied, and those owners get new values; the rest is
        shared, and never changed again through either map (zones are built
        once, then only derived)."""
        fresh: dict[bytes, dict] = {}
        for k, v in rrsets.items():
            if k[0] not in owners:
                raise ValueError("with_owners: an RRset of an owner not named")
            fresh.setdefault(k[0], {})[k[1]] = v
        new = RRsetMap.__new__(RRsetMap)
        new._shards = list(self._shards)
        new._len = self._len
        for i in {self._shard(o) for o in owners}:
            old = new._shards[i]
            shard = {}
            for o, held in old.items():
                if o in owners:
                    new._len -= len(packed_types(held) if held.__class__ is bytes else held)
                else:
                    shard[o] = held
            new._shards[i] = shard
        for o, by_type in fresh.items():
            new._shards[self._shard(o)][o] = _hold(o, by_type)
            new._len += len(by_type)
        return new

    def differing_shards(self, other: "RRsetMap"):
        """(mine, theirs), each (owner, rtype) -> RRset, for the owners whose
        record sets the two maps do not share (in the shards they do not share)."""
        for a, b in zip(self._shards, other._shards):
            if a is not b:
                yield ({(o, t): v for o, d in a.items() if b.get(o) is not d
                        for t, v in held_rrsets(o, d).items()},
                       {(o, t): v for o, d in b.items() if a.get(o) is not d
                        for t, v in held_rrsets(o, d).items()})


@dataclass
class Zone:
    """One zone: its origin and every RRset in it, keyed by (owner, rtype).

    `source` names where it came from (a file path, a hosted zone id) so that
    errors can say which zone they are about.
    """

    origin: bytes  # lower-cased absolute wire name
    rrsets: dict[tuple[bytes, int], RRset] = field(default_factory=dict)
    source: str = ""
    private: bool = False  # a private hosted zone: never in the public view
    # (region, vpc id) pairs a private zone is associated with: it answers
    # only queries whose source address is in one of these VPCs' networks
    vpcs: list[tuple[str, str]] = field(default_factory=list)
    # record sets chosen per query (routing policies, aliases); see RoutedRRset
    routed: list[RoutedRRset] = field(default_factory=list)
    # dnssec.signer.ZoneKeys when the zone is served signed (DNSSEC signing)
    dnssec: object = None

    def add(self, owner: bytes, rtype: int, ttl: int, rdata: bytes) -> None:
        """Add one record; the first TTL given for an RRset is kept (as Knot
        and NSD do) and exact duplicate rdata is dropped (RFC 2181 §5)."""
        key = (name_lower(owner), rtype)
        rrset = self.rrsets.get(key)
        if rrset is None:
            self.rrsets[key] = RRset(key[0], rtype, ttl, [rdata])
        elif rdata not in rrset.rdatas:
            rrset.rdatas.append(rdata)
            if self.rrsets.__class__ is RRsetMap:  # it gave a copy: store it back
                self.rrsets[key] = rrset

    def add_rdatas(self, owner: bytes, rtype: int, ttl: int, rdatas) -> None:
        """`add` of several records of one RRset: an RRsetMap decodes and
        packs the owner once, not once per record."""
        key = (name_lower(owner), rtype)
        rrset = self.rrsets.get(key)
        if rrset is None:
            rrset = RRset(key[0], rtype, ttl, [])
        kept = rrset.rdatas
        n = len(kept)
        for rd in rdatas:
            if rd not in kept:
                kept.append(rd)
        if len(kept) != n:  # a map gave a copy (or there was none): store it
            self.rrsets[key] = rrset

    def get(self, owner: bytes, rtype: int) -> RRset | None:
        return self.rrsets.get((owner, rtype))

    @property
    def soa(self) -> RRset | None:
        return self.rrsets.get((self.origin, TYPE_SOA))

    @property
    def serial(self) -> int:
        soa = self.soa
        if soa is None:
            return 0
        return int.from_bytes(soa_fixed(soa.rdatas[0])[0:4], "big")


def read_name(buf: bytes, off: int) -> tuple[bytes, int]:
    """Read an uncompressed wire name from rdata; returns (name, next offset)."""
    start = off
    while True:
        if off >= len(buf):
            raise NameError_("name runs past the end of rdata")
        n = buf[off]
        if n == 0:
            return buf[start : off + 1], off + 1
        if n > MAX_LABEL:
            raise NameError_("compressed or invalid label in rdata")
        off += 1 + n


def soa_fixed(rdata: bytes) -> bytes:
    """The 20 octets after SOA's two names: serial, refresh, retry, expire, minimum."""
    _, off = read_name(rdata, 0)
    _, off = read_name(rdata, off)
    return rdata[off : off + 20]


def soa_minimum(rdata: bytes) -> int:
    return int.from_bytes(soa_fixed(rdata)[16:20], "big")
