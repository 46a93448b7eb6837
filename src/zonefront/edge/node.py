"""One edge: the data plane (DnsServer) fed from a control plane over HTTP.

Two threads talk to the control plane and never to the DNS workers'
sockets, so nothing they wait for can stop the edge from answering:

- sync: long-polls GET .../zonefront/state; on a new serial applies a
  delta to its copy of the source zones (or takes a full copy when the
  control plane's history does not reach back, or on another epoch),
  applies the control plane's patches to its copy of the control plane's
  image (or, when the delta carries none, compiles as `zonefront serve`
  does, serving.ServedZones), takes the control plane's private views
  when they changed (views.py), swaps the image in and saves it to disk;
  on a new health etag copies the health buffer in place.  Failures back
  off (0.2 s doubling to 5 s) and the last image keeps serving.
- heartbeat: PUT .../zonefront/edges/{id} every second and at once after
  a swap, reporting the (epoch, serial) served; the control plane turns
  changes INSYNC from these reports.

At start the last good image on disk (disk.py) is served before the
control plane is asked anything.
"""
from __future__ import annotations

import http.client
import logging
import threading
import time

from .. import __version__
from ..core.engine import Engine
from ..dataplane.server import DnsServer
from ..serving import Built, LiveImage, QuietSaver, ServedZones, ZoneSource, public_zones
from ..snapshot import format as snapshot_format
from . import disk as edisk
from . import documents
from . import views as eviews
from .client import Client, ControlPlaneError
from .mirror import MirrorHealth

log = logging.getLogger("zonefront.edge")

API = "/2013-04-01/zonefront"
BACKOFF_FIRST, BACKOFF_MAX = 0.2, 5.0  # seconds between attempts while unreachable
NET_ERRORS = (OSError, http.client.HTTPException, ControlPlaneError)
SAVE_QUIET = 2.0  # a big image is saved once no change came for this long ...
SAVE_LATEST = 60.0  # ... or this long after the first change not on disk yet
SAVE_AT_ONCE = 32 << 20  # images up to this size are saved by the delta that made them
FULL_TRIES = 5  # snapshot-then-zones fetches before a publish between them means a compile here


class Edge:
    def __init__(self, control_plane: str, access_key: str | None, secret: str | None,
                 listen: list[tuple[str, int]], workers: int, data_dir: str, edge_id: str,
                 address: str | None = None, geo=None, udp_max: int = 1232,
                 wait: float = 10.0, heartbeat: float = 1.0, tcp_idle_timeout: float = 10.0,
                 tcp_max_connections: int = 1000, emit=None, counters: bool = False,
                 xdp: str | None = None, fallback=None):
        self.url = control_plane
        # a dataplane.forwarder.Forwarder (not started) for the private zones'
        # recursive fallback, as `serve --api` has; None: their NXDOMAIN stands
        self.fallback = fallback
        self.counters = counters  # per-worker counters for --metrics-listen
        self.xdp = xdp  # "IFACE[:QUEUES]": AF_XDP on that interface too
        self.client = Client(control_plane, access_key, secret, timeout=300.0)
        self.hb_client = Client(control_plane, access_key, secret, timeout=5.0)
        self.listen, self.workers = listen, workers
        self.disk = edisk.EdgeDisk(data_dir)
        self.edge_id = edge_id
        self.address = address
        self.geo, self.udp_max = geo, udp_max
        self.wait, self.heartbeat_every = wait, heartbeat
        self.tcp_idle_timeout, self.tcp_max_connections = tcp_idle_timeout, tcp_max_connections
        self.emit = emit or (lambda text: None)  # one-line progress reports (stderr)
        self.health = MirrorHealth()
        self.health_etag = ""
        self.source = ZoneSource([], None, udp_max, geo)
        self.source.health = self.health
        self.serving = ServedZones(self.source)  # compiles and swaps what the workers answer
        self.zs: documents.EdgeZones | None = None  # source zones of the served image
        self.served = ("", 0)  # (epoch, serial) of the image the workers answer from
        self.describe = "nothing yet"
        self.server = None
        self.ready = threading.Event()
        self.connected = threading.Event()  # the control plane answered at least once
        self._stop = threading.Event()
        self._hb_wake = threading.Event()
        self._threads: list[threading.Thread] = []
        # "compiled": zone sets compiled here; "views": views documents taken
        self.stats = {"deltas": 0, "full": 0, "health": 0, "failures": 0, "patched": 0,
                      "compiled": 0, "views": 0}
        self.views: eviews.HeldViews | None = None  # the control plane's views served
        self.lineage: str | None = None  # the control plane's compiler run, while patching
        # the newest (zones, image, zones blob) not yet on disk: written by the
        # saver thread, not by the delta that made it (exporting and writing a
        # big image costs far more than patching it)
        self._unsaved = None
        self._save_lock = threading.Lock()
        self._saver: QuietSaver | None = None

    # -- life ------------------------------------------------------------------

    def start(self) -> None:
        t0 = time.monotonic()
        loaded = False
        state = self.disk.state()
        raw = self.disk.read(edisk.HEALTH)
        if raw:
            self.health.update(raw)
            self.health_etag = str(state.get("health", ""))
        snap = self.disk.read(edisk.SNAPSHOT)
        if snap is not None:
            try:
                arrays, meta = snapshot_format.loads(snap, self.disk.path(edisk.SNAPSHOT))
                # saved as the control plane's streams: its later patches apply here too
                self.lineage = meta.get("lineage")
                engine = Engine(arrays, meta["zones"], meta["serial"], self.udp_max,
                                growable=self.lineage is not None)
                engine.attach(self.geo, self.health)
                epoch = str(state.get("epoch", "")) if state.get("serial") == meta["serial"] \
                    else ""
                if epoch and state.get("views"):
                    self._disk_views(engine, epoch, int(state["views"]))
                self.serving.install(Built(engine, None, []), [])
                self.served = (epoch, int(meta["serial"]))
                self.describe = self._describe(len(meta["zones"])) + " from disk"
                loaded = True
            except (snapshot_format.SnapshotError, ValueError) as e:
                self.emit(f"edge: disk snapshot unusable, waiting for the control plane: {e}")
        if not loaded:
            self.serving.load()  # nothing yet: every query is REFUSED
        self.server = DnsServer(self.listen, workers=self.workers,
                                image=self.serving.engine.image,
                                tcp_idle_timeout=self.tcp_idle_timeout,
                                tcp_max_connections=self.tcp_max_connections,
                                counters=self.counters, xdp=self.xdp,
                                fallback=self.fallback)
        self.server.start()
        self.serving.attach(self.server)
        if self.address is None:
            self.address = " ".join(f"{h}:{p}" for h, p in self.server.addresses)
        self.load_s = time.monotonic() - t0
        if loaded and self.served[1]:
            self.ready.set()
        self._saver = QuietSaver(self._save_pending, SAVE_QUIET, SAVE_LATEST,
                                 name="zonefront-edge-saver")
        for target, name in ((self._sync_loop, "zonefront-edge-sync"),
                             (self._heartbeat_loop, "zonefront-edge-heartbeat")):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def _disk_views(self, engine: Engine, epoch: str, serial: int) -> None:
        """The views saved with the disk snapshot, attached to it; without
        them (an older edge's disk, a bad file) the sync thread compiles."""
        blob = self.disk.read(edisk.VIEWS)
        if blob is None:
            return
        try:
            held = eviews.load(blob, self.udp_max, self.geo, self.health,
                               self.disk.path(edisk.VIEWS))
        except (documents.FormatError, snapshot_format.SnapshotError, ValueError) as e:
            self.emit(f"edge: disk views unusable: {e}")
            return
        if (held.epoch, held.serial) == (epoch, serial):
            held.blob = None  # on disk already
            engine.image.set_views(held.images)
            self.views = held

    def stop(self) -> None:
        self._stop.set()
        self._hb_wake.set()
        # the sync thread may sit in a long poll; it is a daemon and holds no lock
        for t in self._threads:
            t.join(timeout=0.5)
        if self._saver is not None:
            self._saver.stop()  # what was served last is on disk for the next start
        if self.server is not None:
            self.server.stop()
        self.client.close()
        self.hb_client.close()

    # -- sync -------------------------------------------------------------------

    def _sync_loop(self) -> None:
        failures = 0
        try:
            self._load_disk_zones()
        except Exception as e:  # a bad file must not stop the edge
            self.emit(f"edge: disk zones unusable ({e}); taking a full copy")
            self.zs = None
        while not self._stop.is_set():
            try:
                self._sync_once()
                if failures:
                    self.emit(f"edge: control plane {self.url} reachable again")
                failures = 0
            except (*NET_ERRORS, documents.FormatError, snapshot_format.SnapshotError,
                    ValueError) as e:
                failures += 1
                self.stats["failures"] += 1
                if failures == 1 or failures % 20 == 0:
                    self.emit(f"edge: control plane {self.url}: {e}; serving serial "
                              f"{self.served[1]}, retrying")
                if isinstance(e, (ValueError, documents.FormatError)) and not isinstance(
                        e, ControlPlaneError):
                    self.zs = None  # take a full copy next
                self._stop.wait(min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (failures - 1)))
            except Exception as e:  # keep serving whatever happens here
                failures += 1
                log.exception("edge sync failed")
                self.emit(f"edge: sync failed: {e!r}")
                self.zs = None
                self._stop.wait(BACKOFF_MAX)

    def _sync_once(self) -> None:
        if self.zs is None:
            self._fetch_health()
            self._full()
            return
        st = self.client.json("GET", API + "/state",
                              {"epoch": self.zs.epoch, "serial": self.zs.serial,
                               "health": self.health_etag, "wait": self.wait},
                              timeout=self.wait + 30)
        self.connected.set()
        if st["health"] != self.health_etag:
            self._fetch_health()
        if (st["epoch"], st["serial"]) != (self.zs.epoch, self.zs.serial):
            self._update(st)

    def _load_disk_zones(self) -> None:
        """The source zones that go with the disk snapshot, so the first
        change after a restart is a delta, not a full copy."""
        epoch, serial = self.served
        blob = self.disk.read(edisk.ZONES) if epoch else None
        if blob is None:
            return
        zs = documents.loads_zones(blob, self.disk.path(edisk.ZONES))
        if (zs.epoch, zs.serial) != (epoch, serial):
            return
        self.health.slots = dict(zs.slots)
        self.zs = zs
        if any(z.private for z in zs.zones.values()) and not self._views_match(zs):
            self._compile(zs, save=False)  # no views on disk (an older edge's): make them

    def _update(self, st: dict) -> None:
        if st["epoch"] != self.zs.epoch:
            self._full()
            return
        status, _h, blob = self.client.call("GET", API + "/delta",
                                            {"since": self.zs.serial, "epoch": self.zs.epoch},
                                            ok=(200, 410))
        if status == 410:
            self._full()
            return
        zs = documents.apply_delta(self.zs, blob)
        if zs.lineage != self.lineage and (self.lineage is not None or zs.views):
            # the control plane compiled afresh, or private zones were compiled
            # here (an older edge's disk): its image and views, not a compile here
            self._full()
            return
        self._install(zs)
        self.stats["deltas"] += 1

    def _full(self) -> None:
        """The compiled image first (served at once), then the source zones,
        then the private views that go with them.  A publish between the
        requests is met by asking again: compiled here instead, signed zones
        would be served unsigned (their keys stay on the control plane)."""
        views = None
        for _try in range(FULL_TRIES):
            _s, hdrs, snap = self.client.call("GET", API + "/snapshot")
            self.connected.set()
            arrays, meta = snapshot_format.loads(snap, "control plane snapshot")
            epoch = hdrs.get("x-zonefront-epoch", "")
            serial = int(meta["serial"])
            _s, _h, blob = self.client.call("GET", API + "/zones")
            zs = documents.loads_zones(blob, "control plane zones")
            if (zs.epoch, zs.serial) == (epoch, serial):
                views = self._views_for(zs)
                if views is not False:
                    break
        self.health.slots = dict(zs.slots)
        self.stats["full"] += 1
        if (zs.epoch, zs.serial) == (epoch, serial) and views is not False:
            # streams shipped as the control plane holds them take its patches
            self.lineage = meta.get("lineage")
            engine = Engine(arrays, meta["zones"], serial, self.udp_max,
                            growable=self.lineage is not None)
            engine.attach(self.geo, self.health)
            if views is not None:
                engine.image.set_views(views.images)
            self.serving.install(Built(engine, None, []), zs.zone_list())
            self.views = views
            self._served_now(zs, self._describe(len(meta["zones"])))
            self._save(zs, snap, blob, views)
        else:  # publishes in between all along: compile the zones here
            self._compile(zs, zones_blob=blob)

    def _views_match(self, zs: documents.EdgeZones) -> bool:
        return self.views is not None and (self.views.epoch, self.views.serial) == (
            zs.epoch, zs.views)

    def _views_for(self, zs: documents.EdgeZones):
        """The control plane's private views that go with `zs`: those held
        when they are the ones, else fetched; None when no zone is private;
        False when the control plane's views moved past `zs` (a publish
        since: ask again)."""
        if not zs.views:
            return None
        if self._views_match(zs):
            return self.views
        _s, _h, blob = self.client.call("GET", API + "/views")
        held = eviews.load(blob, self.udp_max, self.geo, self.health, "control plane views")
        self.stats["views"] += 1
        if (held.epoch, held.serial) != (zs.epoch, zs.views):
            return False
        return held

    def _describe(self, zones: int) -> str:
        if self.views is None or not self.views.images:
            return f"{zones} zone(s)"
        return f"{zones} zone(s), {len(self.views.images)} private view(s)"

    def _install(self, zs: documents.EdgeZones, save: bool = True, zones_blob: bytes | None = None):
        """Serve `zs`: the control plane's patches applied to the image held
        (with its private views, taken again when they changed), else its
        full image when a zone is signed, else a compile here."""
        old = self.zs
        same_meta = old is not None and (old.cidr, old.vpcs, old.fallback) == (
            zs.cidr, zs.vpcs, zs.fallback)
        done = self._apply_patches(zs)
        if done is None:
            self._full()  # its views moved on since this delta: take what it serves now
        if done is not False:
            return
        if zs.signed:
            self._full()  # signed zones are compiled on the control plane only
            return
        self._compile(zs, save, zones_blob, changed=zs.changed if same_meta else None)

    def _compile(self, zs: documents.EdgeZones, save: bool = True,
                 zones_blob: bytes | None = None, changed: dict | None = None) -> None:
        """Compile `zs` here and swap it in.  The zones a delta left alone are
        the same objects as before (format.apply_delta copies on write), which
        is how ServedZones tells the changed ones (`changed`); new CIDR
        collections or VPCs may change any zone."""
        self.health.slots = dict(zs.slots)
        self.lineage = None  # compiled here from now on
        self.views = None  # and so are the private views
        self.stats["compiled"] += 1
        if zs.signed:
            self.emit(f"edge: serial {zs.serial}: compiled here, {len(zs.signed)} signed "
                      "zone(s) are served unsigned until the control plane's image is taken")
        self.source.cidr_collections = lambda: zs.cidr
        self.source.vpcs = lambda: zs.vpcs
        self.source.public_fallback = lambda: zs.fallback
        built = self.serving.publish(zs.zone_list(), changed)
        self._served_now(zs, f"{len(built.image.zones)} zone(s)")
        if save:
            self._save_served(zs, built, zones_blob)

    def _save_served(self, zs: documents.EdgeZones, built: Built, zones_blob: bytes | None) -> None:
        with self._save_lock:
            self._unsaved = (zs, built.image, zones_blob, self.lineage, self.views)
        if built.engine.memory() <= SAVE_AT_ONCE or self._saver is None:
            self._save_pending()  # on disk before the next change is even asked for
        else:
            self._saver.changed()

    def _apply_patches(self, zs: documents.EdgeZones) -> bool | None:
        """Apply the control plane's own patches to the served image (the
        same streams, loaded from its snapshot) and attach its private
        views: no compile at all.  False when the delta carries none for
        this image; then the zones are compiled here.  None when the views
        that go with the delta are no longer the control plane's (nothing
        changed: take a full copy)."""
        if self.lineage is None or zs.image is None or zs.image.get("lineage") != self.lineage:
            return False
        views = self._views_for(zs)
        if views is False:
            return None
        image = self.serving.engine.image
        try:
            for p in zs.image["patches"]:
                if image.stream_ends() != p["ends"]:
                    return False
                image = image.patch(p["tail"], p["negatives"], p["serials"],
                                    [(k, o) for k, o in p["updates"]], p["zones"])
        except (ValueError, OverflowError, KeyError, TypeError) as e:
            self.emit(f"edge: cannot apply the control plane's patches ({e}); compiling")
            return False
        # a patched image keeps the views of the one it was patched from
        if views is not self.views:
            image.set_views(views.images if views is not None else [])
        zones = zs.zone_list()
        built = Built(Engine.from_image(image, image.zones, zs.serial), LiveImage(image),
                      public_zones(zones), self.lineage)
        self.serving.install(built, zones)
        self.views = views
        self.stats["patched"] += 1
        self._served_now(zs, self._describe(len(image.zones)))
        self._save_served(zs, built, None)
        return True

    def _save_pending(self) -> None:
        with self._save_lock:
            pending, self._unsaved = self._unsaved, None
            if pending is None:
                return
            zs, image, zones_blob, lineage, views = pending
            if lineage is not None and isinstance(image, LiveImage):
                # the control plane's streams as patched here, so that after a
                # restart its next patches apply without compiling
                image = image.as_raw()
            self._save(zs, snapshot_format.dumps(image, zs.serial, lineage), zones_blob, views)

    def _served_now(self, zs: documents.EdgeZones, describe: str) -> None:
        """The workers answer from `zs` (ServedZones swapped it in)."""
        self.zs = zs
        self.served = (zs.epoch, zs.serial)
        self.describe = describe
        self._hb_wake.set()
        if not self.ready.is_set():
            self.ready.set()
        else:
            self.emit(f"edge: serving serial {zs.serial}: {describe}")

    def _save(self, zs: documents.EdgeZones, snapshot: bytes, zones_blob: bytes | None,
              views: eviews.HeldViews | None = None) -> None:
        """`views`: the control plane's views served with the snapshot (None:
        none, or compiled here; the disk then names none and a restart
        compiles them)."""
        try:
            self.disk.save(zs.epoch, zs.serial, snapshot,
                           zones_blob if zones_blob is not None else zs.dumps(),
                           views.blob if views is not None else None,
                           views.serial if views is not None else 0)
            if views is not None:
                views.blob = None  # on disk: the next save names it only
        except OSError as e:  # a full disk must not stop the edge from answering
            self.emit(f"edge: cannot save serial {zs.serial} to {self.disk.dir}: {e}")

    def _fetch_health(self) -> None:
        hdrs = {"If-None-Match": f'"{self.health_etag}"'} if self.health_etag else None
        status, _h, blob = self.client.call("GET", API + "/health", headers=hdrs,
                                            ok=(200, 304))
        if status == 304:
            return
        doc = documents.loads_health(blob)
        etag = str(doc.get("etag", ""))
        try:  # on disk before it is answered: an edge killed after answering restarts with it
            self.disk.save_health(etag, doc["buffer"])
        except OSError as e:
            self.emit(f"edge: cannot save the health table: {e}")
        self.health.update(doc["buffer"])
        self.health_etag = etag
        self.stats["health"] += 1
        self._hb_wake.set()

    # -- heartbeat ----------------------------------------------------------------

    def _heartbeat_loop(self) -> None:
        down = False
        every = self.heartbeat_every
        while not self._stop.is_set():
            epoch, serial = self.served
            try:
                st = self.hb_client.json(
                    "PUT", f"{API}/edges/{self.edge_id}",
                    doc={"address": self.address, "epoch": epoch, "serial": serial,
                         "health": self.health_etag, "version": __version__,
                         "updates": {k: self.stats[k] for k in ("full", "deltas", "patched",
                                                                 "compiled", "views")}},
                    timeout=5.0)
                every = min(self.heartbeat_every, float(st.get("stale_after", 10.0)) / 4)
                down = False
            except NET_ERRORS + (ValueError,) as e:
                if not down:
                    log.info("heartbeat failed: %s", e)
                down = True
            self._hb_wake.wait(every)
            self._hb_wake.clear()
