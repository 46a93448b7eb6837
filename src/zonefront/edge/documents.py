"""The documents the control plane ships to edges: source zones, deltas and
the health table, each one msgpack map with a magic, a format version and
the serial (and epoch) of the publish it describes.

Edges apply deltas to their own copy of the source zones (model.Zone), and
the control plane's patches (when a delta carries them) to their copy of its
image, so a one-record change in a million-record zone set travels as one
record, not as a compiled image.  The compiled image itself travels as
snapshot/format.py writes it (`GET .../zonefront/snapshot`), its private
views in the views document (`GET .../zonefront/views`).

zones (ZONES_MAGIC, version 1)::

    {"magic": "zonefront-zones", "version": 1, "epoch": str, "serial": int,
     "order": [key, ...],                  # zone keys in publish order
     "zones": [ZONE, ...],
     "slots": {check_id: slot},            # health-table slots the zones refer to
     "cidr": {collection_id: {location: [cidr, ...]}},
     "vpcs": {vpc_id: {"region": str, "cidrs": [cidr, ...]}},
     "fallback": [zone_id, ...],           # private zones with public DNS fallback (optional)
     "views": int,                         # serial of the views document that goes with
                                           # this serial; 0: no private zone (optional)
     "routed_fields": [name, ...]}         # the order of a ROUTED list's values

    ZONE   = {"key": str, "origin": bin, "source": str, "private": bool,
              "vpcs": [[region, vpc_id], ...],
              "rrsets": [RRSET, ...], "routed": [ROUTED, ...]}
    RRSET  = [owner: bin, rtype: int, ttl: int, [rdata: bin, ...]]
    ROUTED = [value, ...]                  # model.RoutedRRset fields, routed_fields order

delta (DELTA_MAGIC, version 1): the state at `serial` given the state at
`from`; "cidr", "vpcs" and "fallback" appear only when they changed; "image" only when
every publish in between patched the image of the compiler run "lineage"
(an edge holding that run's image applies the patches, serving.Built.patch,
instead of compiling the zones)::

    {"magic": "zonefront-delta", "version": 1, "epoch": str, "from": int,
     "serial": int, "lineage": str or nil,
     "image": {"lineage": str, "patches": [{"ends", "tail", "negatives", "serials",
               "updates", "zones"}, ...]} (optional),
     "order": [key, ...], "slots": {...}, "routed_fields": [...], "views": int,
     "zones": [{"key": k, "op": "put", "zone": ZONE}
               | {"key": k, "op": "delete"}
               | {"key": k, "op": "patch", "put": [RRSET, ...],
                  "remove": [[owner, rtype], ...],
                  "routed": [ROUTED, ...] or nil}],   # nil: routed unchanged
     "cidr": {...}, "vpcs": {...}}

views (VIEWS_MAGIC, version 1): the control plane's private views as its
DNS workers answer from them (serving.build_views), so that an edge with
private zones takes them instead of compiling the zones.  "serial" is the
publish that made them; a zones document or delta names the views serial
that goes with its own serial, and an edge pairs them only when they agree::

    {"magic": "zonefront-views", "version": 1, "epoch": str, "serial": int,
     "views": [{"cidrs": [cidr, ...],     # the networks answered from this view
                "image": bin}, ...]}       # the view, as snapshot/format.py writes it

health (HEALTH_MAGIC, version 1)::

    {"magic": "zonefront-health", "version": 1, "etag": str,
     "buffer": bin,                        # zlib of HealthTable.buffer (1 = healthy)
     "slots": {check_id: slot}, "states": {check_id: bool}}

A reader refuses a document whose magic or version it does not know.
"""
from __future__ import annotations

import dataclasses
from .. import lightclass
import gc
import re
import zlib
from contextlib import contextmanager

import msgpack

from .. import model
from ..errors import InputError

ZONES_MAGIC = "zonefront-zones"
DELTA_MAGIC = "zonefront-delta"
HEALTH_MAGIC = "zonefront-health"
VIEWS_MAGIC = "zonefront-views"
FORMAT_VERSION = 1
EDGE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")  # an edge's name in heartbeats

ROUTED_FIELDS = tuple(f.name for f in lightclass.fields(model.RoutedRRset))


class FormatError(InputError, ValueError):
    """A document an edge cannot apply: foreign, of another version, or corrupt."""


@contextmanager
def no_gc():
    """Millions of small objects are made at once: the cyclic collector
    would walk them all several times over (measured: 3x slower decoding)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def zone_key(zone: model.Zone) -> str:
    """What names a zone across publishes: its hosted zone id (source), or
    its origin for a zone without one."""
    return zone.source or "origin:" + model.name_to_text(zone.origin)


def keyed(zones: list[model.Zone]) -> list[tuple[str, model.Zone]]:
    out, seen = [], set()
    for z in zones:
        k = base = zone_key(z)
        n = 1
        while k in seen:  # two zones of one source: keep both, in order
            n += 1
            k = f"{base}#{n}"
        seen.add(k)
        out.append((k, z))
    return out


def rrset_doc(r: model.RRset) -> list:
    return [r.owner, r.rtype, r.ttl, r.rdatas]


def routed_doc(r: model.RoutedRRset) -> list:
    doc = [getattr(r, f) for f in ROUTED_FIELDS]
    if r.children:  # a traffic policy rule: its subtree, packed the same way
        doc[_CHILDREN] = [routed_doc(c) for c in r.children]
    return doc


def zone_doc_head(key: str, z: model.Zone) -> dict:
    """A ZONE without its record sets."""
    return {"key": key, "origin": z.origin, "source": z.source, "private": z.private,
            "vpcs": [list(v) for v in z.vpcs]}


def zone_doc(key: str, z: model.Zone) -> dict:
    return dict(zone_doc_head(key, z), rrsets=[rrset_doc(r) for r in z.rrsets.values()],
                routed=[routed_doc(r) for r in z.routed])


def routed_from_doc(values: list, fields: list[str]) -> model.RoutedRRset:
    kw = {f: v for f, v in zip(fields, values) if f in _ROUTED_SET}
    r = model.RoutedRRset(**kw)
    r.rdatas = list(r.rdatas)
    if r.children:
        r.children = [routed_from_doc(c, fields) for c in r.children]
    return r


_ROUTED_SET = frozenset(ROUTED_FIELDS)
_CHILDREN = ROUTED_FIELDS.index("children")


def zone_from_doc(d: dict, fields: list[str]) -> model.Zone:
    RRset = model.RRset
    z = model.Zone(origin=d["origin"], source=d.get("source", ""),
                   private=bool(d.get("private")),
                   vpcs=[tuple(v) for v in d.get("vpcs", [])])
    z.rrsets = model.RRsetMap(((o, t), RRset(o, t, ttl, rd)) for o, t, ttl, rd in d["rrsets"])
    z.routed = [routed_from_doc(v, fields) for v in d.get("routed", [])]
    return z


def _check(doc, magic: str, what: str) -> dict:
    if not isinstance(doc, dict) or doc.get("magic") != magic:
        raise FormatError(f"{what}: not a {magic} document")
    if doc.get("version") != FORMAT_VERSION:
        raise FormatError(f"{what}: {magic} version {doc.get('version')!r}, this zonefront "
                          f"reads {FORMAT_VERSION}")
    return doc


def unpack(blob: bytes, magic: str, what: str = "document") -> dict:
    try:
        with no_gc():
            doc = msgpack.unpackb(blob, raw=False, strict_map_key=False)
    except Exception as e:  # msgpack raises several unrelated types
        raise FormatError(f"{what}: not msgpack ({e})") from None
    return _check(doc, magic, what)


def pack(doc: dict) -> bytes:
    return msgpack.packb(doc, use_bin_type=True)


# -- zones ----------------------------------------------------------------

def signed_keys(kz: list[tuple[str, model.Zone]]) -> list[str]:
    """The keys of the zones the control plane serves signed.  Their keys
    never leave it, so an edge serves them only from its compiled image
    (its snapshot or its patches), never from a compile of its own."""
    return [k for k, z in kz if z.dnssec is not None]


def dumps_zones(epoch: str, serial: int, zones: list[model.Zone], slots: dict,
                cidr: dict, vpcs: dict, fallback=(), signed=None, views: int = 0) -> bytes:
    """The zones document, packed a record set at a time: one packb call over
    a million-record zone would hold the GIL for seconds, stalling an edge's
    sync and heartbeat threads (or the control plane's API) meanwhile.
    `signed`: the signed zones' keys, when `zones` no longer carry their
    signing keys (an edge's copy); by default the zones say it."""
    kz = keyed(zones)
    packer = msgpack.Packer(use_bin_type=True)
    head = {"magic": ZONES_MAGIC, "version": FORMAT_VERSION, "epoch": epoch,
            "serial": serial, "order": [k for k, _ in kz], "slots": slots, "cidr": cidr,
            "vpcs": vpcs, "fallback": sorted(fallback), "routed_fields": list(ROUTED_FIELDS),
            "signed": sorted(signed_keys(kz) if signed is None else signed),
            "views": views}
    out = [packer.pack_map_header(len(head) + 1)]
    for k, v in head.items():
        out += [packer.pack(k), packer.pack(v)]
    out += [packer.pack("zones"), packer.pack_array_header(len(kz))]
    for key, z in kz:
        doc = zone_doc_head(key, z)
        out.append(packer.pack_map_header(len(doc) + 2))
        for k, v in doc.items():
            out += [packer.pack(k), packer.pack(v)]
        out += [packer.pack("rrsets"), packer.pack_array_header(len(z.rrsets))]
        out += [packer.pack(rrset_doc(r)) for r in z.rrsets.values()]
        out += [packer.pack("routed"), packer.pack([routed_doc(r) for r in z.routed])]
    return b"".join(out)


@dataclasses.dataclass
class EdgeZones:
    """An edge's copy of the published source zones at one serial.  Zones
    are never mutated once built: a delta makes new Zone objects for the
    zones it touches, so a list handed out stays consistent."""

    epoch: str
    serial: int
    order: list[str]
    zones: dict[str, model.Zone]
    slots: dict[str, int]
    cidr: dict
    vpcs: dict
    # what the delta that made this copy changed: zone origin -> owner names,
    # or None for a zone put whole or deleted (serving.ServedZones.publish)
    changed: dict = dataclasses.field(default_factory=dict)
    # the control plane's compiler run and, when every publish in the delta
    # was a patch of it, those patches (hub.delta_doc "image")
    lineage: str | None = None
    image: dict | None = None
    # hosted zone ids of the private zones with public DNS fallback (serving.build_views)
    fallback: frozenset = frozenset()
    # keys of the zones served signed (signed_keys): never compiled on an edge
    signed: frozenset = frozenset()
    # serial of the views document that goes with this serial (0: no private zone)
    views: int = 0

    def zone_list(self) -> list[model.Zone]:
        return [self.zones[k] for k in self.order]

    def dumps(self) -> bytes:
        return dumps_zones(self.epoch, self.serial, self.zone_list(), self.slots, self.cidr,
                           self.vpcs, self.fallback, self.signed, self.views)


def loads_zones(blob: bytes, what: str = "zones") -> EdgeZones:
    doc = unpack(blob, ZONES_MAGIC, what)
    fields = doc.get("routed_fields") or list(ROUTED_FIELDS)
    try:
        with no_gc():
            zones = {d["key"]: zone_from_doc(d, fields) for d in doc["zones"]}
        order = list(doc["order"])
        if set(order) != set(zones):
            raise FormatError(f"{what}: order and zones disagree")
        return EdgeZones(doc["epoch"], int(doc["serial"]), order, zones, dict(doc["slots"]),
                       doc.get("cidr") or {}, doc.get("vpcs") or {},
                       fallback=frozenset(doc.get("fallback") or ()),
                       signed=frozenset(doc.get("signed") or ()),
                       views=int(doc.get("views") or 0))
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, FormatError):
            raise
        raise FormatError(f"{what}: malformed ({e!r})") from None


# -- deltas -----------------------------------------------------------------

def apply_delta(zs: EdgeZones, blob: bytes, what: str = "delta") -> EdgeZones:
    """A new EdgeZones: `zs` with the delta applied.  `zs` is left unchanged.
    Raises FormatError when the delta does not start at zs's serial."""
    doc = unpack(blob, DELTA_MAGIC, what)
    if doc.get("epoch") != zs.epoch or doc.get("from") != zs.serial:
        raise FormatError(f"{what}: starts at {doc.get('epoch')}/{doc.get('from')}, "
                          f"this copy is {zs.epoch}/{zs.serial}")
    fields = doc.get("routed_fields") or list(ROUTED_FIELDS)
    zones = dict(zs.zones)
    changed: dict = {}
    RRset = model.RRset
    try:
        with no_gc():
            for ch in doc["zones"]:
                key, op = ch["key"], ch["op"]
                if op == "delete":
                    gone = zones.pop(key, None)
                    if gone is not None:
                        changed[gone.origin] = None
                elif op == "put":
                    zones[key] = zone_from_doc(ch["zone"], fields)
                    changed[zones[key].origin] = None
                elif op == "patch":
                    old = zones[key]
                    routed = ch.get("routed")
                    new_routed = old.routed if routed is None \
                        else [routed_from_doc(v, fields) for v in routed]
                    owners = {o for o, _t in ch.get("remove", ())}
                    owners.update(o for o, *_ in ch.get("put", ()))
                    owners.update(_routed_owners_changed(old.routed, new_routed))
                    # copy on write: the old zone stays as served, sharing the rest
                    base = old.rrsets if isinstance(old.rrsets, model.RRsetMap) \
                        else model.RRsetMap(old.rrsets)
                    entries = {}
                    for o in owners:
                        entries.update(base.of_owner(o))
                    for owner, rtype in ch.get("remove", ()):
                        entries.pop((owner, rtype), None)
                    for o, t, ttl, rd in ch.get("put", ()):
                        entries[(o, t)] = RRset(o, t, ttl, rd)
                    zones[key] = model.Zone(
                        origin=old.origin, source=old.source, private=old.private,
                        vpcs=list(old.vpcs), rrsets=base.with_owners(owners, entries),
                        routed=new_routed)
                    if changed.get(old.origin, set()) is not None:
                        changed.setdefault(old.origin, set()).update(owners)
                else:
                    raise FormatError(f"{what}: unknown zone operation {op!r}")
        order = list(doc["order"])
        if set(order) != set(zones):
            raise FormatError(f"{what}: the zones after the delta are not the ones listed")
        slots = dict(zs.slots)
        slots.update(doc.get("slots") or {})
        return EdgeZones(zs.epoch, int(doc["serial"]), order, zones, slots,
                       doc["cidr"] if "cidr" in doc else zs.cidr,
                       doc["vpcs"] if "vpcs" in doc else zs.vpcs, changed,
                       doc.get("lineage"), doc.get("image"),
                       frozenset(doc["fallback"]) if "fallback" in doc else zs.fallback,
                       frozenset(doc.get("signed") or ()), int(doc.get("views") or 0))
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, FormatError):
            raise
        raise FormatError(f"{what}: malformed ({e!r})") from None


def _routed_owners_changed(old: list, new: list) -> set[bytes]:
    """Owners whose routed record sets differ between two lists."""
    if old is new:
        return set()
    by_owner: dict[bytes, list] = {}
    for r in old:
        by_owner.setdefault(r.owner, [[], []])[0].append(r)
    for r in new:
        by_owner.setdefault(r.owner, [[], []])[1].append(r)
    return {o for o, (a, b) in by_owner.items() if a != b}


# -- views ------------------------------------------------------------------

def dumps_views(epoch: str, serial: int, views: list[tuple[bytes, list[str]]]) -> bytes:
    """`views`: [(snapshot bytes, CIDR blocks)], in the order they were compiled."""
    return pack({"magic": VIEWS_MAGIC, "version": FORMAT_VERSION, "epoch": epoch,
                 "serial": serial,
                 "views": [{"cidrs": list(cidrs), "image": snap} for snap, cidrs in views]})


def loads_views(blob: bytes, what: str = "views") -> tuple[str, int, list[tuple[bytes, list]]]:
    """(epoch, serial, [(snapshot bytes, CIDR blocks)])."""
    doc = unpack(blob, VIEWS_MAGIC, what)
    try:
        views = [(v["image"], [str(c) for c in v["cidrs"]]) for v in doc["views"]]
        if not all(isinstance(snap, bytes) for snap, _c in views):
            raise FormatError(f"{what}: a view image is not binary")
        return str(doc["epoch"]), int(doc["serial"]), views
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, FormatError):
            raise
        raise FormatError(f"{what}: malformed ({e!r})") from None


# -- health -----------------------------------------------------------------

def dumps_health(etag: str, buffer: bytes, slots: dict[str, int]) -> bytes:
    states = {cid: bool(buffer[i]) for cid, i in slots.items() if i < len(buffer)}
    return pack({"magic": HEALTH_MAGIC, "version": FORMAT_VERSION, "etag": etag,
                 "buffer": zlib.compress(bytes(buffer), 1), "slots": slots, "states": states})


def loads_health(blob: bytes, what: str = "health") -> dict:
    doc = unpack(blob, HEALTH_MAGIC, what)
    try:
        doc["buffer"] = zlib.decompress(doc["buffer"])
    except (KeyError, TypeError, zlib.error) as e:
        raise FormatError(f"{what}: bad buffer ({e})") from None
    return doc
