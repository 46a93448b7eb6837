"""RRSIGs made ahead of time (RFC 4034 §3, RFC 6605), and the signed form of
a compiled answer.

The compiler (snapshot/compiler.py) encodes every answer block of a signed
zone twice: as today, and a DO twin whose RRsets are each followed by their
RRSIG.  A query with the DO bit copies the twin, so a positive answer never
signs while answering.  Signatures are over the name the block answers: the
node's own name, or for a wildcard node the wildcard itself with the labels
field one short (RFC 4035 §5.3.2 lets the validator rebuild it).

Denial of existence at an existing name (NODATA) is RFC 9824's compact
form: one NSEC owned by the name, next name `\\000.name`, the types present
plus RRSIG and NSEC; it too depends on the name only, so it is signed here.
"""
from __future__ import annotations

import os
import struct
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..model import (
    TYPE_CNAME,
    TYPE_MX,
    TYPE_NS,
    TYPE_PTR,
    TYPE_SOA,
    TYPE_SRV,
    read_name,
)
from ..zoneset import QNAME, RR, Resolution
from . import records
from .rollover import DEFAULT_DNSKEY_TTL

if TYPE_CHECKING:  # keys come from keystore.py; the compiler of an unsigned zone
    # never loads `cryptography` (~20 ms of a zone file's way to its first answer)
    from .keystore import SigningKey

TYPE_DNAME = 39
TYPE_DS = 43
TYPE_RRSIG = 46
TYPE_NSEC = 47
TYPE_DNSKEY = 48
TYPE_NSEC3 = 50
TYPE_NXNAME = 128  # RFC 9824 §3.2

DEFAULT_VALIDITY = 14 * 86400  # signatures last two weeks ...
DEFAULT_INCEPTION_SKEW = 3600  # ... and start an hour back, for slow clocks
# RFC 4034 §6.2: rdata names lower-cased in the canonical form (those we hold)
_NAME_AT = {TYPE_NS: 0, TYPE_CNAME: 0, TYPE_PTR: 0, TYPE_DNAME: 0, TYPE_MX: 2, TYPE_SRV: 6}


@dataclass
class ZoneKeys:
    """What signs one zone: its origin (lower-cased wire), the active KSKs
    (sign the DNSKEY RRset), the ZSK (signs everything else) and the
    validity window written into every RRSIG."""

    origin: bytes
    ksks: list[SigningKey]
    zsk: SigningKey
    inception: int = 0
    expiration: int = 0
    published: list[tuple[int, bytes]] = field(default_factory=list)  # extra (flags, key)
    # RRset -> RRSIG rdata, kept with the keys so that the next compile of the
    # zone (every change to a signed zone compiles it in full) signs only the
    # RRsets that changed: most are found here
    cache: dict = field(default_factory=dict, repr=False, compare=False)
    denial: str = "compact"  # or "nsec3": config.py DNSSECSettings.denial, nsec3.py
    # TTL of the DNSKEY RRset (config.py DNSSECSettings.dnskey_ttl): how long a
    # validator may hold a DNSKEY RRset without a key that was pre-published
    dnskey_ttl: int = DEFAULT_DNSKEY_TTL

    def __post_init__(self) -> None:
        if not self.inception:
            now = int(time.time())
            self.inception = now - DEFAULT_INCEPTION_SKEW
            self.expiration = now + DEFAULT_VALIDITY

    def dnskey_rdatas(self) -> list[bytes]:
        out = [records.dnskey_rdata(records.FLAG_KSK, k.public_key) for k in self.ksks]
        out.append(records.dnskey_rdata(records.FLAG_ZSK, self.zsk.public_key))
        out += [records.dnskey_rdata(f, k) for f, k in self.published]
        return out


def label_count(owner: bytes) -> int:
    """RFC 4034 §3.1.3: labels of the owner, the root and a leading `*` not counted."""
    n, i = 0, 0
    while owner[i] != 0:
        n += 1
        i += 1 + owner[i]
    if owner.startswith(b"\x01*"):
        n -= 1
    return n


def canonical_rdata(rtype: int, rdata: bytes) -> bytes:
    if rtype == TYPE_SOA:
        mname, off = read_name(rdata, 0)
        rname, off2 = read_name(rdata, off)
        return mname.lower() + rname.lower() + rdata[off2:]
    at = _NAME_AT.get(rtype)
    if at is None:
        return rdata
    name, end = read_name(rdata, at)
    return rdata[:at] + name.lower() + rdata[end:]


def rrsig_rdata(owner: bytes, rtype: int, ttl: int, rdatas, key: SigningKey, signer: bytes,
                inception: int, expiration: int) -> bytes:
    """The RRSIG rdata over one RRset (RFC 4034 §3.1.8.1)."""
    tag = records.key_tag(records.dnskey_rdata(
        records.FLAG_KSK if rtype == TYPE_DNSKEY else records.FLAG_ZSK, key.public_key))
    return _rrsig_with_tag(owner, rtype, ttl, rdatas, key, tag, signer, inception, expiration)


def _rrsig_with_tag(owner, rtype, ttl, rdatas, key, tag, signer, inception, expiration) -> bytes:
    head, data = _to_sign(owner, rtype, ttl, rdatas, tag, signer, inception, expiration)
    return head + key.sign(data)


def _to_sign(owner, rtype, ttl, rdatas, tag, signer, inception, expiration):
    """(RRSIG rdata head, the octets its signature covers)."""
    head = struct.pack(">HBBIIIH", rtype, records.ALGORITHM, label_count(owner), ttl,
                       expiration, inception, tag) + signer.lower()
    owner_c = owner.lower()
    rrs = sorted(set(canonical_rdata(rtype, rd) for rd in rdatas))
    data = bytearray(head)
    for rd in rrs:
        data += owner_c + struct.pack(">HHIH", rtype, 1, ttl, len(rd)) + rd
    return head, bytes(data)


def prefill(zk: ZoneKeys, rrsets) -> int:
    """Sign many RRsets (owner, rtype, ttl, rdatas) with the zone's ZSK in
    one batch, into the cache `Signer` consults, so that compiling the zone
    then finds their RRSIGs made: a first compile's signatures come from
    the C signer without the GIL, on up to four threads (dnssec/_sign.pyx sign_many)
    instead of one Python call each.  Returns how many it signed; 0 when
    the key cannot leave its store or the engine is not built."""
    raw = getattr(zk.zsk, "raw_private", None)
    if raw is None:
        return 0
    try:
        from ._sign import sign_many
    except ImportError:
        return 0
    tag = records.key_tag(records.dnskey_rdata(records.FLAG_ZSK, zk.zsk.public_key))
    keys, heads, datas = [], [], []
    for owner, rtype, ttl, rdatas in rrsets:
        ck = (owner.lower(), rtype, ttl, tuple(sorted(rdatas)), zk.zsk.public_key)
        if ck in zk.cache:
            continue
        head, data = _to_sign(owner, rtype, ttl, rdatas, tag, zk.origin, zk.inception,
                              zk.expiration)
        keys.append(ck)
        heads.append(head)
        datas.append(data)
    threads = min(4, os.cpu_count() or 1) if len(datas) >= 1000 else 1
    sigs = sign_many(raw(), b"\x04" + zk.zsk.public_key, datas, threads)
    for ck, head, sig in zip(keys, heads, sigs):
        zk.cache[ck] = head + sig
    return len(sigs)


def type_bitmap(types) -> bytes:
    """RFC 4034 §4.1.2: window blocks of present types."""
    out = bytearray()
    windows: dict[int, bytearray] = {}
    for t in sorted(set(types)):
        w = windows.setdefault(t >> 8, bytearray(32))
        w[(t & 0xFF) >> 3] |= 0x80 >> (t & 7)
    for win in sorted(windows):
        bits = windows[win].rstrip(b"\x00")
        out += bytes([win, len(bits)]) + bits
    return bytes(out)


def compact_nsec_rdata(owner: bytes, types) -> bytes:
    """RFC 9824 §3: next name `\\000.owner`, the types plus RRSIG and NSEC."""
    return b"\x01\x00" + owner.lower() + type_bitmap(set(types) | {TYPE_RRSIG, TYPE_NSEC})


class Signer:
    """Signs the RRsets of compiled answers for the zones in `keys`
    (origin -> ZoneKeys); `zone_of(name)` gives the origin of the zone a
    name belongs to and `authoritative(name, rtype)` whether that zone holds
    the data (not a referral's NS, not glue)."""

    def __init__(self, keys: dict[bytes, ZoneKeys], zone_of, authoritative):
        self.keys = keys
        self.zone_of = zone_of
        self.authoritative = authoritative
        # origin -> {name: (NSEC3 owner, rdata, TTL)} for zones in denial = "nsec3"
        # mode (dnssec/nsec3.py), set by the compiler; None: compact NSECs only
        self.nsec3_links = None

    def zone_keys(self, name: bytes, rtype: int = 0) -> ZoneKeys | None:
        origin = self.zone_of(name, rtype)
        return self.keys.get(origin) if origin is not None else None

    def rrsigs(self, owner: bytes, rtype: int, ttl: int, rdatas) -> list[bytes]:
        zk = self.zone_keys(owner, rtype)
        if zk is None or rtype == TYPE_RRSIG or not self.authoritative(owner, rtype):
            return []
        signers = zk.ksks if rtype == TYPE_DNSKEY else [zk.zsk]
        out = []
        for key in signers:
            out.append(self._cached(zk, key, owner, rtype, ttl, rdatas))
        return out

    @staticmethod
    def _cached(zk: ZoneKeys, key: SigningKey, owner: bytes, rtype: int, ttl: int,
                rdatas) -> bytes:
        """An RRset is signed once per key and validity window, whatever
        block quotes it and however many compiles see it."""
        ck = (owner.lower(), rtype, ttl, tuple(sorted(rdatas)), key.public_key)
        sig = zk.cache.get(ck)
        if sig is None:
            sig = zk.cache[ck] = rrsig_rdata(owner, rtype, ttl, rdatas, key, zk.origin,
                                             zk.inception, zk.expiration)
        return sig

    def nsec_rrs(self, res: Resolution, qname: bytes, nodata_types,
                 nsec_owner: bytes | None = None) -> list[RR]:
        """The compact NSEC of `nsec_owner` (or of the qname, written as
        QNAME) and its RRSIG; the TTL is the SOA's negative TTL (RFC 9077)."""
        name = nsec_owner or qname
        rr_owner = QNAME if nsec_owner is None else nsec_owner
        soa = [r for r in res.authority if r.rtype == TYPE_SOA]
        ttl = min([soa[0].ttl, struct.unpack(">I", soa[0].rdata[-4:])[0]]) if soa else 3600
        zk = self.zone_keys(name, TYPE_DS)
        if zk is not None and zk.denial == "nsec3" and self.nsec3_links is not None:
            # RFC 5155 §7.2.3/§7.2.4: the NSEC3 matching the name, from the chain
            link = self.nsec3_links(zk.origin).get(name.lower())
            if link is not None:
                owner, rdata, ttl = link
                sig = self._cached(zk, zk.zsk, owner, TYPE_NSEC3, ttl, [rdata])
                return [RR(owner, TYPE_NSEC3, ttl, rdata), RR(owner, TYPE_RRSIG, ttl, sig)]
        nsec = compact_nsec_rdata(name, nodata_types)
        sigs = self._nsec_sigs(name, ttl, nsec)
        if not sigs:
            return []
        return [RR(rr_owner, TYPE_NSEC, ttl, nsec)] + [RR(rr_owner, TYPE_RRSIG, ttl, sig)
                                                        for sig in sigs]

    def _nsec_sigs(self, name: bytes, ttl: int, nsec: bytes) -> list[bytes]:
        """An NSEC is the zone's own data even at a delegation point."""
        zk = self.zone_keys(name, TYPE_DS)
        if zk is None:
            return []
        return [self._cached(zk, zk.zsk, name, TYPE_NSEC, ttl, [nsec])]

    def sign_section(self, rrs: list[RR], qname: bytes) -> list[RR]:
        """`rrs` with each RRset (a run of one owner and type) followed by its
        RRSIGs; QNAME owners stand for `qname`."""
        out: list[RR] = []
        i = 0
        while i < len(rrs):
            j = i
            while j < len(rrs) and rrs[j].owner == rrs[i].owner and rrs[j].rtype == rrs[i].rtype:
                j += 1
            run = rrs[i:j]
            out += run
            owner = qname if run[0].owner == QNAME else run[0].owner
            for sig in self.rrsigs(owner, run[0].rtype, run[0].ttl, [r.rdata for r in run]):
                out.append(RR(run[0].owner, TYPE_RRSIG, run[0].ttl, sig))
            i = j
        return out

    def sign(self, res: Resolution, qname: bytes, nodata_types=None,
             nsec_owner: bytes | None = None) -> Resolution:
        """The DO twin of `res` answered for `qname`; with `nodata_types`
        (the types present at qname, or at `nsec_owner` when the block
        answers names below it, as a referral does), the compact NSEC
        proving the asked type absent goes in the authority section."""
        out = Resolution(res.rcode, res.aa)
        out.answer = self.sign_section(res.answer, qname)
        out.authority = self.sign_section(res.authority, qname)
        if nodata_types is not None:
            out.authority += self.nsec_rrs(res, qname, nodata_types, nsec_owner)
        # additional RRs travel unsigned: RFC 4035 §3.1.1 lets a server
        # leave their RRSIGs out, and the required ones (glue) have none
        out.additional = list(res.additional)
        out.additional_required = res.additional_required
        return out
