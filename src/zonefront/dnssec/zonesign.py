"""A signed zone as secondaries take it by AXFR/IXFR.

Answers are signed per block (signer.py) and deny with compact NSECs made
for each answer, which a secondary cannot make.  A transferred copy is
therefore a conventionally signed zone (RFC 4035 §2): the DNSKEY RRset, an
RRSIG over every authoritative RRset and an NSEC chain over the names in
canonical order (RFC 4034 §6.1), so NSD, Knot or BIND serve it as it is
and `dnssec-verify` accepts it.  Signatures come from the zone's ZoneKeys
cache, so the RRsets the compiled answers signed are not signed again.  A
zone in `denial = "nsec3"` mode carries its NSEC3 chain (nsec3.py) and
NSEC3PARAM instead of the NSEC chain.
"""
from __future__ import annotations

from .. import lightclass

from .. import model
from . import nsec3
from .signer import TYPE_DNSKEY, TYPE_NSEC, TYPE_RRSIG, Signer, prefill, type_bitmap

def canonical_key(name: bytes) -> tuple[bytes, ...]:
    return tuple(reversed([lab.lower() for lab in model.labels_of(name)]))


def signed_copy(zone: model.Zone) -> model.Zone:
    """`zone` (with `zone.dnssec`) as a plain Zone holding its signatures."""
    keys = zone.dnssec
    origin = zone.origin
    rrsets: dict[tuple[bytes, int], model.RRset] = {}
    for key, rs in zone.rrsets.items():
        rrsets[key] = model.RRset(rs.owner, rs.rtype, rs.ttl, list(rs.rdatas))
    for r in zone.routed:  # a secondary serves every candidate (xfr/history.py)
        key = (r.owner, r.rtype)
        rs = rrsets.setdefault(key, model.RRset(r.owner, r.rtype, r.ttl, []))
        rs.rdatas += [rd for rd in r.rdatas if rd not in rs.rdatas]
    rrsets = {k: v for k, v in rrsets.items() if v.rdatas}
    if (origin, TYPE_DNSKEY) not in rrsets:
        rrsets[(origin, TYPE_DNSKEY)] = model.RRset(origin, TYPE_DNSKEY, keys.dnskey_ttl,
                                                   keys.dnskey_rdatas())
    cuts = {o for (o, t) in rrsets if t == model.TYPE_NS and o != origin}

    def below_cut(name: bytes) -> bool:
        return any(name != c and model.is_subdomain(name, c) for c in cuts)

    def authoritative(name: bytes, rtype: int) -> bool:
        if below_cut(name):
            return False
        return not (name in cuts and rtype not in (model.TYPE_DS, TYPE_NSEC))

    signer = Signer({origin: keys}, lambda name, rtype=0: origin, authoritative)
    soa = rrsets[(origin, model.TYPE_SOA)]
    nsec_ttl = nsec3.negative_ttl(soa.ttl, soa.rdatas[0])
    if keys.denial == "nsec3":
        _add_nsec3(rrsets, origin, cuts, nsec_ttl)
        prefill(keys, [(o, t, rs.ttl, rs.rdatas) for (o, t), rs in rrsets.items()
                       if t == nsec3.TYPE_NSEC3])
    else:
        _add_nsec(rrsets, below_cut, nsec_ttl)
    sigs: dict[bytes, list[bytes]] = {}
    ttls: dict[bytes, int] = {}
    for (o, t), rs in rrsets.items():
        got = signer.rrsigs(o, t, rs.ttl, rs.rdatas)
        if got:
            sigs.setdefault(o, []).extend(got)
            ttls[o] = min(ttls.get(o, rs.ttl), rs.ttl)
    for o, rds in sigs.items():
        # one RRSIG "RRset" per owner for the transfer; each record keeps its
        # covered type's TTL in its original-TTL field, which validators use
        rrsets[(o, TYPE_RRSIG)] = model.RRset(o, TYPE_RRSIG, ttls[o], rds)
    return lightclass.replace(zone, rrsets=rrsets, routed=[], dnssec=None)


def _add_nsec(rrsets: dict, below_cut, ttl: int) -> None:
    owners = sorted({o for (o, _t) in rrsets if not below_cut(o)}, key=canonical_key)
    types: dict[bytes, set[int]] = {}
    for (o, t) in rrsets:
        types.setdefault(o, set()).add(t)
    for i, owner in enumerate(owners):
        nxt = owners[(i + 1) % len(owners)]
        rd = nxt + type_bitmap(types[owner] | {TYPE_RRSIG, TYPE_NSEC})
        rrsets[(owner, TYPE_NSEC)] = model.RRset(owner, TYPE_NSEC, ttl, [rd])


def _add_nsec3(rrsets: dict, origin: bytes, cuts: set[bytes], ttl: int) -> None:
    rrsets.setdefault((origin, nsec3.TYPE_NSEC3PARAM), model.RRset(
        origin, nsec3.TYPE_NSEC3PARAM, ttl, [nsec3.PARAM_RDATA]))
    types: dict[bytes, set[int]] = {}
    for (o, t) in rrsets:
        types.setdefault(o.lower(), set()).add(t)
    for _digest, _name, owner, rdata in nsec3.chain(origin.lower(), types,
                                             {c.lower() for c in cuts}):
        rrsets[(owner, nsec3.TYPE_NSEC3)] = model.RRset(owner, nsec3.TYPE_NSEC3, ttl, [rdata])


class TransferCopies:
    """The signed copy of each signed zone, made once per served Zone object
    (so the transfer service sees the same object until the zone moves)."""

    def __init__(self):
        self._made: dict[bytes, tuple] = {}

    def __call__(self, zone: model.Zone) -> model.Zone:
        if getattr(zone, "dnssec", None) is None:
            return zone
        hit = self._made.get(zone.origin)
        if hit is not None and hit[0] is zone:
            return hit[1]
        out = signed_copy(zone)
        self._made[zone.origin] = (zone, out)
        return out

