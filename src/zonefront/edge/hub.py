"""The control plane's side of the edges: what was published (serial, zones,
a bounded history of what each publish touched), who the edges are and
which serial each serves.

Serials: one per publish, max(previous + 1, milliseconds since the epoch),
so they keep increasing across control-plane restarts.  The `epoch` (random
per process) names the history a serial belongs to: a delta is only ever
computed for an edge of the same epoch; any other edge gets a full copy.

INSYNC is not decided here but by the control plane's publisher
(control/insync.py), from `served_serial()`: the oldest serial every live
edge serves (an edge of another epoch serves nothing of this one), or None
when no edge is live.  `on_report` is called whenever that may have moved
(a heartbeat, an edge removed or gone stale).  An edge is live while its
heartbeats are younger than `stale_after`.  The registered edges are kept
in <data_dir>/edges.json so that a restarted control plane holds changes
for them until they report (or go stale).

The hub is mounted on the API port as itself (`claims`, `serve`): the
endpoints are http.py's.
"""
from __future__ import annotations

import collections
import dataclasses
import json
import logging
import os
import secrets
import threading
import time
import zlib
from typing import Callable

from .. import model
from ..config import EdgeSettings
from ..serving import LiveImage, build_views, compile_public, public_zones
from ..snapshot import format as snapshot_format
from . import documents
from . import http as edge_http

log = logging.getLogger("zonefront.edges")

TICK = 0.05  # seconds between looks at the health table and at edge staleness
EDGE_ID = documents.EDGE_ID


@dataclasses.dataclass
class EdgeInfo:
    id: str
    address: str = ""  # where it answers DNS (as it reports it)
    serial: int = 0  # the serial it serves
    epoch: str = ""  # ... of this epoch
    health: str = ""  # the health etag it applied
    last_seen: float = 0.0  # monotonic time of the last heartbeat
    last_seen_wall: float = 0.0  # time.time() of the same
    version: str = ""
    heartbeats: int = 0
    # how it took the changes so far: full copies, deltas, and of those the
    # ones applied as the control plane's own patches (no compile there)
    updates: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class _Publish:
    serial: int
    # zone key -> "put" | "delete" | (rrset keys touched, routed touched)
    changes: dict
    meta: bool  # cidr collections or VPCs changed
    lineage: str | None = None  # the control plane's compiler run (serving.Built)
    patch: dict | None = None  # how its image was patched from the previous publish's


def plain_vpcs(vpcs: dict) -> dict:
    out = {}
    for vid, v in (vpcs or {}).items():
        if isinstance(v, dict):
            out[vid] = {"region": v.get("region"), "cidrs": list(v.get("cidrs", []))}
        else:
            out[vid] = {"region": getattr(v, "region", None),
                        "cidrs": list(getattr(v, "cidrs", []))}
    return out


def diff_zone(old: model.Zone, new: model.Zone):
    """(rrset keys that differ, routed differs), or "put" when the zone's
    identity fields changed.  Unchanged RRsets are usually the very same
    objects (store.zones.ZoneCache patches a copy), so `is` settles most."""
    if (old.origin != new.origin or old.private != new.private
            or list(old.vpcs) != list(new.vpcs)):
        return "put"
    keys = set()
    o_rr, n_rr = old.rrsets, new.rrsets
    if o_rr is not n_rr:
        if isinstance(o_rr, model.RRsetMap) and isinstance(n_rr, model.RRsetMap):
            pairs = o_rr.differing_shards(n_rr)  # a patched zone shares the rest
        else:
            pairs = [(o_rr, n_rr)]
        for o_sh, n_sh in pairs:
            added = 0
            for k, v in n_sh.items():
                ov = o_sh.get(k)
                if ov is not v and ov != v:
                    keys.add(k)
                    added += ov is None
            if len(o_sh) + added != len(n_sh):  # some were removed
                keys.update(k for k in o_sh if k not in n_sh)
    routed = old.routed is not new.routed and (
        len(old.routed) != len(new.routed)
        or any(a is not b and a != b for a, b in zip(old.routed, new.routed)))
    return keys, routed


class EdgeHub:
    def __init__(self, settings: EdgeSettings, health=None, data_dir: str | None = None,
                 on_report: Callable[[], None] | None = None,
                 cidr: Callable[[], dict] | None = None,
                 vpcs: Callable[[], dict] | None = None,
                 fallback: Callable[[], frozenset] | None = None):
        self.settings = settings
        self.health = health  # health.table.HealthTable
        self.on_report = on_report  # served_serial() may have moved
        self._cidr_fn = cidr or (lambda: {})
        self._vpcs_fn = vpcs or (lambda: {})
        self._fallback_fn = fallback or (lambda: frozenset())  # public DNS fallback zone ids
        self.epoch = secrets.token_hex(8)
        self.serial = 0
        self._keyed: list[tuple[str, model.Zone]] = []
        self._image = None  # the control plane's image of _keyed, when it has one
        self._lineage: str | None = None  # its compiler run
        self._by_key: dict[str, model.Zone] = {}
        self._slots: dict[str, int] = {}
        self._cidr: dict = {}
        self._vpcs: dict = {}
        self._fallback: frozenset = frozenset()
        # the private views: the control plane's own ([(image, CIDR blocks)])
        # or None (compiled here when asked), and the serial of the publish
        # that last changed them (0: no private zone, no views document)
        self._views = None
        self._views_serial = 0
        self._history: collections.deque[_Publish] = collections.deque(maxlen=settings.history)
        self._reported: int | None = None  # served_serial() when on_report last ran
        self.edges: dict[str, EdgeInfo] = {}
        self._cond = threading.Condition()
        self._cache: dict[str, tuple[int, bytes]] = {}  # "zones"/"snapshot"/"views" -> (serial, doc)
        self._build_lock = threading.Lock()
        self._health_etag = ""
        self._health_crc = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._path = os.path.join(data_dir, "edges.json") if data_dir else None
        self._load_edges()

    # -- life ----------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="zonefront-edges", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(TICK):
            try:
                self._tick_health()
                self._tick_served()
            except Exception:
                log.exception("edge bookkeeping failed")

    # -- publishing ----------------------------------------------------------

    def offer(self, zones: list[model.Zone], image=None, lineage: str | None = None,
              patch: dict | None = None) -> int:
        """Offer the edges what the control plane published (after its own
        workers serve it), for them to fetch; returns its serial.  `image`: what the
        control plane serves for these zones (serving.LiveImage), shipped as
        the snapshot instead of compiling the zones again; `lineage` and
        `patch` (serving.Built): an edge holding that compiler run's previous
        image applies the patch instead of compiling the delta's zones."""
        cidr = self._cidr_fn() or {}
        vpcs = plain_vpcs(self._vpcs_fn())
        fallback = frozenset(self._fallback_fn())
        keyed = documents.keyed(zones)
        by_key = dict(keyed)
        changes: dict = {}
        for k, z in keyed:
            old = self._by_key.get(k)
            if old is None:
                changes[k] = "put"
            elif old is not z:
                d = diff_zone(old, z)
                if d == "put" or d[0] or d[1]:
                    changes[k] = d
        for k in self._by_key:
            if k not in by_key:
                changes[k] = "delete"
        slots = {}
        if self.health is not None:
            for z in zones:
                for r in (r for top in z.routed for r in top.walk()):
                    if r.health_check and r.health_check not in slots:
                        slots[r.health_check] = self.health.slot(r.health_check)
        with self._cond:
            meta = cidr != self._cidr or vpcs != self._vpcs or fallback != self._fallback
            self.serial = max(self.serial + 1, int(time.time() * 1000))
            self._keyed, self._by_key = keyed, by_key
            self._image, self._lineage = image, (lineage if image is not None else None)
            self._slots, self._cidr, self._vpcs = slots, cidr, vpcs
            self._fallback = fallback
            self._offer_views(zones, image, changes, meta)
            self._history.append(_Publish(self.serial, changes, meta, self._lineage,
                                          patch if image is not None else None))
            serial = self.serial
            self._cond.notify_all()
        return serial

    def _offer_views(self, zones: list[model.Zone], image, changes: dict, meta: bool) -> None:
        """The views that go with the publish at self.serial: a new views
        serial when they may differ from the previous publish's.  The
        control plane's views are the same list object until it rebuilds
        them (serving.ServedZones.compile); without them, the views are
        compiled here from the zones when asked, and any change to a private
        zone, to the VPCs or to the public DNS fallback set may move them."""
        private = {documents.zone_key(z) for z in zones if z.private}
        views = getattr(image, "views", None) if image is not None else None
        if not private:
            self._views, self._views_serial = views, 0
            return
        if views is not None:
            moved = views is not self._views
        else:
            moved = self._views is not None or meta or bool(self._fallback) or any(
                k in private or ch == "delete" for k, ch in changes.items())
        if moved or not self._views_serial:
            self._views_serial = self.serial
        self._views = views

    def zones_doc(self) -> tuple[int, bytes]:
        with self._build_lock:
            with self._cond:
                serial, keyed = self.serial, self._keyed
                slots, cidr, vpcs = self._slots, self._cidr, self._vpcs
                fallback, views_serial = self._fallback, self._views_serial
            hit = self._cache.get("zones")
            if hit is None or hit[0] != serial:
                blob = documents.dumps_zones(self.epoch, serial, [z for _k, z in keyed], slots,
                                       cidr, vpcs, fallback, views=views_serial)
                self._cache["zones"] = hit = (serial, blob)
            return hit

    def snapshot_doc(self) -> tuple[int, bytes]:
        """The public image compiled as `zonefront serve` compiles it (with
        this process's health slots), in snapshot/format.py's document;
        compiled on first request for a serial."""
        with self._build_lock:
            with self._cond:
                serial, keyed, cidr = self.serial, self._keyed, self._cidr
                image, lineage = self._image, self._lineage
            hit = self._cache.get("snapshot")
            if hit is None or hit[0] != serial:
                if image is None:
                    image = compile_public([z for _k, z in keyed], self.health, cidr)
                else:  # the streams as served, so that later patches apply to the copy
                    image = image.as_raw()
                self._cache["snapshot"] = hit = (serial, snapshot_format.dumps(
                    image, serial, lineage if getattr(image, "raw", False) else None))
            return hit

    def views_doc(self) -> tuple[int, bytes]:
        """(views serial, the views document): the private views served with
        the current publish, each exported as a snapshot, made once per
        views serial.  The control plane's own views when it has them (an
        edge then answers exactly as its workers do), else compiled here as
        `zonefront serve` compiles them."""
        with self._build_lock:
            with self._cond:
                serial, views, keyed = self._views_serial, self._views, self._keyed
                cidr, vpcs, fallback = self._cidr, self._vpcs, self._fallback
            hit = self._cache.get("views")
            if hit is None or hit[0] != serial:
                if views is None:
                    zones = [z for _k, z in keyed]
                    views = build_views([z for z in zones if z.private], vpcs, self.health,
                                        cidr, fallback=fallback, public=public_zones(zones))
                blob = documents.dumps_views(self.epoch, serial, [
                    (snapshot_format.dumps(LiveImage(img), serial), blocks)
                    for img, blocks in views])
                self._cache["views"] = hit = (serial, blob)
            return hit

    def delta_doc(self, since: int, epoch: str) -> bytes | None:
        """The changes from `since` to the current serial, or None when the
        history does not reach back that far (the edge takes a full copy)."""
        with self._cond:
            if epoch != self.epoch:
                return None
            if since == self.serial:
                entries = []
            else:
                idx = next((i for i, p in enumerate(self._history) if p.serial == since), None)
                if idx is None:
                    return None
                entries = list(self._history)[idx + 1:]
            by_key, order = self._by_key, [k for k, _z in self._keyed]
            doc = {"magic": documents.DELTA_MAGIC, "version": documents.FORMAT_VERSION,
                   "epoch": self.epoch, "from": since, "serial": self.serial,
                   "lineage": self._lineage,
                   "order": order, "slots": self._slots,
                   "signed": documents.signed_keys(self._keyed),
                   "views": self._views_serial,
                   "routed_fields": list(documents.ROUTED_FIELDS)}
            if any(p.meta for p in entries):
                doc["cidr"], doc["vpcs"] = self._cidr, self._vpcs
                doc["fallback"] = sorted(self._fallback)
            if entries and all(p.patch is not None and p.lineage == self._lineage
                               for p in entries):
                # an edge holding this run's image at `since` applies these
                # instead of compiling the zones below
                doc["image"] = {"lineage": self._lineage,
                                "patches": [p.patch for p in entries]}
        merged: dict = {}
        for p in entries:
            for k, ch in p.changes.items():
                prev = merged.get(k)
                if ch in ("put", "delete") or prev in ("put", "delete"):
                    merged[k] = "put"  # settled by what exists now
                elif prev is None:
                    merged[k] = (set(ch[0]), ch[1])
                else:
                    prev[0].update(ch[0])
                    merged[k] = (prev[0], prev[1] or ch[1])
        out = []
        for k, ch in merged.items():
            z = by_key.get(k)
            if z is None:
                out.append({"key": k, "op": "delete"})
            elif ch == "put":
                out.append({"key": k, "op": "put", "zone": documents.zone_doc(k, z)})
            else:
                keys, routed = ch
                put, remove = [], []
                for key in keys:
                    r = z.rrsets.get(key)
                    if r is None:
                        remove.append(list(key))
                    else:
                        put.append(documents.rrset_doc(r))
                out.append({"key": k, "op": "patch", "put": put, "remove": remove,
                            "routed": ([documents.routed_doc(r) for r in z.routed]
                                       if routed else None)})
        doc["zones"] = out
        return documents.pack(doc)

    # -- health ----------------------------------------------------------------

    def _tick_health(self) -> None:
        if self.health is None:
            return
        crc = zlib.crc32(self.health.buffer)
        slots = self._health_slots()
        crc = zlib.crc32(json.dumps(slots, sort_keys=True).encode(), crc)
        if crc != self._health_crc:
            with self._cond:
                self._health_crc = crc
                self._health_etag = f"{crc:08x}"
                self._cond.notify_all()

    def _health_slots(self) -> dict[str, int]:
        h = self.health
        lock, slots = getattr(h, "_lock", None), getattr(h, "_slots", None)
        if lock is None or slots is None:  # another table: the slots we compiled with
            return dict(self._slots)
        with lock:
            return dict(slots)

    def health_doc(self) -> tuple[str, bytes]:
        if self.health is None:
            return "", documents.dumps_health("", b"", {})
        self._tick_health()
        buf = bytes(self.health.buffer)
        return self._health_etag, documents.dumps_health(self._health_etag, buf,
                                                   self._health_slots())

    # -- edges -------------------------------------------------------------------

    def state(self) -> dict:
        with self._cond:
            return {"epoch": self.epoch, "serial": self.serial, "health": self._health_etag,
                    "stale_after": self.settings.stale_after}

    def heartbeat(self, edge_id: str, report: dict) -> dict:
        now = time.monotonic()
        with self._cond:
            e = self.edges.get(edge_id)
            new = e is None
            if new:
                e = self.edges[edge_id] = EdgeInfo(edge_id)
            moved = e.address != str(report.get("address", ""))
            e.address = str(report.get("address", ""))
            e.serial = int(report.get("serial") or 0)
            e.epoch = str(report.get("epoch") or "")
            e.health = str(report.get("health") or "")
            e.version = str(report.get("version") or "")
            stats = report.get("updates")
            if isinstance(stats, dict):
                e.updates = {str(k): int(v) for k, v in stats.items() if isinstance(v, int)}
            e.last_seen, e.last_seen_wall = now, time.time()
            e.heartbeats += 1
        if new:
            log.info("edge %s registered (%s)", edge_id, e.address)
        if new or moved:
            self._save_edges()
        self._report()
        return self.state()

    def remove(self, edge_id: str) -> bool:
        with self._cond:
            gone = self.edges.pop(edge_id, None) is not None
        if gone:
            self._save_edges()
            self._report()
        return gone

    def wait(self, epoch: str, serial: int, health: str, timeout: float) -> dict:
        """Block until the published state differs from what the caller has
        (a long poll), or `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while (self.epoch == epoch and self.serial == serial
                   and self._health_etag == health and not self._stop.is_set()):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
        return self.state()

    def live(self, e: EdgeInfo, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        return now - e.last_seen <= self.settings.stale_after

    def list(self) -> list[dict]:
        now, wall = time.monotonic(), time.time()
        with self._cond:
            return [{"Id": e.id, "Address": e.address, "Serial": e.serial,
                     "Current": e.epoch == self.epoch and e.serial >= self.serial,
                     "Epoch": e.epoch, "Health": e.health,
                     "State": "LIVE" if self.live(e, now) else "STALE",
                     "LastSeen": round(wall - (now - e.last_seen), 3) if e.heartbeats else None,
                     "Heartbeats": e.heartbeats, "Version": e.version, "Updates": e.updates}
                    for e in sorted(self.edges.values(), key=lambda e: e.id)]

    def served_serial(self) -> int | None:
        """The oldest serial every live edge serves (0 for an edge of another
        epoch: it serves nothing of this one); None when no edge is live."""
        now = time.monotonic()
        served = None
        with self._cond:
            for e in self.edges.values():
                if self.live(e, now):
                    s = e.serial if e.epoch == self.epoch else 0
                    served = s if served is None else min(served, s)
        return served

    def _report(self) -> None:
        self._reported = self.served_serial()
        if self.on_report is not None:
            self.on_report()

    def _tick_served(self) -> None:
        """Edges going stale move served_serial() without any report."""
        if self.served_serial() != self._reported:
            self._report()

    # -- the HTTP mount (api/server.py) ----------------------------------------------

    paths = f"{edge_http.PREFIX}{{{','.join(edge_http.ROUTES)}}}"  # what edge keys may call

    def claims(self, raw_path: str) -> bool:
        return edge_http.is_edge_path(raw_path)

    def serve(self, handler, method: str, raw_path: str, raw_query: str, body: bytes,
              request_id: str, readonly: bool = False) -> None:
        edge_http.serve(handler, self, method, raw_path, raw_query, body, request_id, readonly)

    # -- edges.json -------------------------------------------------------------

    def _load_edges(self) -> None:
        if self._path is None:
            return
        try:
            with open(self._path) as f:
                saved = json.load(f).get("edges", [])
        except FileNotFoundError:
            return
        except (OSError, ValueError) as e:
            log.warning("%s: ignored (%s)", self._path, e)
            return
        now = time.monotonic()  # known edges get stale_after to report again
        for d in saved:
            if isinstance(d, dict) and EDGE_ID.match(str(d.get("id", ""))):
                self.edges[d["id"]] = EdgeInfo(d["id"], str(d.get("address", "")),
                                               last_seen=now, last_seen_wall=time.time())

    def _save_edges(self) -> None:
        if self._path is None:
            return
        with self._cond:
            doc = {"edges": [{"id": e.id, "address": e.address}
                             for e in sorted(self.edges.values(), key=lambda e: e.id)]}
        tmp = f"{self._path}.tmp.{os.getpid()}.{threading.get_ident()}"
        try:
            with open(tmp, "w") as f:
                json.dump(doc, f)
            os.replace(tmp, self._path)
        except OSError as e:
            log.warning("cannot save %s: %s", self._path, e)
