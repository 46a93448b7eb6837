"""Public DNS fallback for private zones, decided when the views are
compiled, not per query.

Route 53's rule: for a private hosted zone with public DNS fallback enabled,
a query from inside the VPC for a name the private zone does not have (an
NXDOMAIN answer; a name that exists with other types stays NODATA) is
answered from public DNS.  Here public DNS is the public zones this server
serves: `with_public_fallback` returns the private zone plus the record sets
of the deepest public zone covering it whose owners would be NXDOMAIN in the
private zone (not existing there, not empty non-terminals of it, not matched
by one of its wildcards, not below one of its delegations).  The view built
from that zone answers those names as the public zone does, in C, with no
per-query switch; every other name keeps the private answer.

Where no public zone served here covers the private zone, public DNS is a
configured recursive resolver ([alias] fallback_resolver): `mark_deferred`
flags such a zone's NXDOMAIN block (layout.BF_DEFER) in the compiled view,
and the socket loops hand those queries to dataplane/forwarder.py instead
of answering (csrc/zfdefer.h).  With no resolver configured the flag is
never looked at and the private NXDOMAIN stands.
"""
from __future__ import annotations

from . import lightclass

from . import model
from .snapshot.layout import BF_DEFER, NEGATIVE, NONE

BLOCK_FLAGS_AT = 11  # the flags octet of a block record (layout.BLOCK_HEAD)


def _existing(zone: model.Zone) -> set[bytes]:
    """Owner names of the zone and their ancestors down to the apex (empty
    non-terminals exist: RFC 8020 NXDOMAIN means nothing below either)."""
    out: set[bytes] = {zone.origin}
    owners = {o for o, _t in zone.rrsets} | {r.owner for r in zone.routed}
    for owner in owners:
        n = owner
        while n not in out and model.is_subdomain(n, zone.origin):
            out.add(n)
            n = model.parent_of(n)
    return out


def _nxdomain_in(zone: model.Zone, existing: set[bytes], wild_parents: set[bytes],
                 cuts: set[bytes], owner: bytes) -> bool:
    if owner in existing or not model.is_subdomain(owner, zone.origin):
        return False
    n = model.parent_of(owner)
    while n not in existing:  # up to the closest encloser
        n = model.parent_of(n)
    if n in wild_parents:
        return False  # the private zone's wildcard answers it
    while n != zone.origin:
        if n in cuts:
            return False  # delegated from the private zone: a referral
        n = model.parent_of(n)
    return True


def covered(private: model.Zone, public: list[model.Zone]) -> bool:
    """A public zone served here covers the private zone's names."""
    return any(model.is_subdomain(private.origin, p.origin) for p in public)


def mark_deferred(arrays: dict, zones: list[dict], origins: set[bytes]) -> dict:
    """The view's arrays with the NXDOMAIN block of each zone in `origins`
    flagged BF_DEFER.  `zones` is the image's zone list, in row order (the
    rows of "negatives")."""
    rows = [i for i, z in enumerate(zones) if z["origin"] in origins]
    if not rows:
        return arrays
    blocks = bytearray(arrays["blocks"])
    for row in rows:
        _nodata, nx = NEGATIVE.unpack_from(arrays["negatives"], row * NEGATIVE.size)
        if nx != NONE:
            blocks[nx + BLOCK_FLAGS_AT] |= BF_DEFER
    return dict(arrays, blocks=bytes(blocks))


def with_public_fallback(private: model.Zone, public: list[model.Zone]) -> model.Zone:
    covering = [p for p in public if model.is_subdomain(private.origin, p.origin)]
    if not covering:
        return private
    pub = max(covering, key=lambda p: model.label_count(p.origin))
    existing = _existing(private)
    owners = {o for o, _t in private.rrsets} | {r.owner for r in private.routed}
    wild_parents = {model.parent_of(o) for o in owners if model.labels_of(o)[:1] == [b"*"]}
    cuts = {o for o, t in private.rrsets if t == model.TYPE_NS and o != private.origin}

    def falls_back(owner: bytes) -> bool:
        return _nxdomain_in(private, existing, wild_parents, cuts, owner)

    rrsets = dict(private.rrsets)
    for key, rrset in pub.rrsets.items():
        if falls_back(key[0]):
            rrsets[key] = rrset
    routed = list(private.routed) + [r for r in pub.routed if falls_back(r.owner)]
    return lightclass.replace(private, rrsets=rrsets, routed=routed)
