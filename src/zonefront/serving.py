"""Where zones become served: compile -> publish -> swap, in one place.

`zonefront serve` (zone files, a snapshot, the API's hosted zones),
`zonefront edge` (zones pulled from a control plane) and the control plane
(control/plane.py) all reach the DNS workers through `ServedZones`:

    source = ZoneSource(zone_files, snapshot, udp_max, geo)
    served = ServedZones(source)
    engine = served.load().engine           # the first build, before any socket
    server = DnsServer(..., image=engine.image); served.attach(server)
    served.on_swap(xfr.update)              # zone transfers follow every swap
    served.publish(zones, changed)          # compile and swap, or raise

`publish` compiles off the hot path and swaps one pointer
(DnsServer.reload); when compiling fails it raises and the old zones keep
serving.  `changed` says what moved since the previous publish, per zone
origin, so that an incremental compiler can recompile only that; the build
step is one method (`ServedZones.compile`), a full compile for now.

The compile rule itself (`build_engine`) is shared by every caller: the
public zones (a private zone never answers the public; of several public
zones of one origin the first wins) make one image, and the private zones
make one view per set of VPCs sharing a network (`build_views`).
"""
from __future__ import annotations

import gc
import os
import sys
import threading
import time

from . import model
from .lazylog import get_logger
from .lightclass import dataclass
from .core.engine import Engine, image_class
from .netaddr import DEFAULT_UDP_MAX

log = get_logger("zonefront.serving")

TYPE_CHECKING = False  # typing itself is not imported on the way to a first answer
if TYPE_CHECKING:
    from typing import Callable
    from .snapshot.compiler import CompiledArrays

# The compiler and the zone-file parser are imported when first used:
# serving a snapshot needs neither, and they cost 4 MB of RSS (measured).

# zone origin (lower-cased wire) -> owner names (lower-cased wire) touched
# since the previous publish, or None: the zone is new, gone or rebuilt whole
Changes = dict[bytes, "set[bytes] | None"]


def demo_zone_path() -> str:
    from importlib import resources  # ~15 ms cold; only the demo zone needs it

    return str(resources.files("zonefront").joinpath("data/demo.zone"))


def load_zone_files(paths: list[str]) -> list[model.Zone]:
    from .zonefile import parse_zone_file

    return [parse_zone_file(p) for p in paths]


def compile_zones(zones: list[model.Zone], health=None, cidr: dict | None = None) -> "CompiledArrays":
    from .snapshot.compiler import compile_zones as compile_image

    return compile_image(zones, health, cidr)


# -- the compile rule --------------------------------------------------------


class LiveImage:
    """A served image as snapshot/format.py writes it (`arrays()`, `zones`):
    its live records, exported when asked (an edge saving its copy, the
    control plane shipping a snapshot), not on every change."""

    def __init__(self, image, raw: bool = False, views: list = ()):
        self._image = image
        self.zones = image.zones
        self.raw = raw
        # [(view image, CIDR blocks)] served with it (build_views), for edges
        # (edge/hub.py); the same list object until a private view changes
        self.views = views

    def arrays(self) -> dict:
        """The live records; with `raw`, the streams as they are with the
        live index, so that a copy loaded from them takes the patches made
        after this image (edges)."""
        return self._image.export_arrays(compact=not self.raw)

    def as_raw(self) -> "LiveImage":
        return LiveImage(self._image, raw=True, views=self.views)


@dataclass
class Built:
    """One compile's result."""

    engine: Engine
    image: "CompiledArrays | LiveImage | None"  # the public image, to write as a snapshot; None when loaded from one
    zones: list[model.Zone]  # the public zones in it (zone transfers read them)
    # the compiler run this image descends from (a new one per full compile),
    # and the patch that made it from the previous image of that run, as an
    # edge holding that image applies it (edge/hub.py ships it)
    lineage: str | None = None
    patch: dict | None = None


def public_zones(zones: list[model.Zone]) -> list[model.Zone]:
    """A private zone is never public, and of several public zones of one
    origin the first is served."""
    out, seen = [], set()
    for z in zones:
        if z.origin not in seen and not z.private:
            seen.add(z.origin)
            out.append(z)
    return out


def compile_public(zones: list[model.Zone], health, cidr: dict) -> "CompiledArrays":
    return compile_zones(public_zones(zones), health, cidr)


def build_views(private: list[model.Zone], vpcs: dict, health, cidr: dict, geo=None,
                udp_max: int = DEFAULT_UDP_MAX, fallback=frozenset(),
                public: list[model.Zone] = ()) -> list:
    """[(image, CIDR blocks)]: one compiled view per set of VPCs sharing a
    network, holding the private zones associated with any of them.
    `vpcs`: VPC id -> {"cidrs": [block, ...], ...}.  A private zone whose
    source (hosted zone id) is in `fallback` is compiled with the `public`
    names it lacks (fallback.py: public DNS fallback)."""
    if not private:
        return []
    deferred: set[bytes] = set()  # fallback zones no public zone here covers: the resolver's
    if fallback:
        from .fallback import covered, with_public_fallback

        deferred = {z.origin for z in private if z.source.rsplit("/", 1)[-1] in fallback
                    and not covered(z, public)}
        private = [with_public_fallback(z, public) if z.source.rsplit("/", 1)[-1] in fallback
                   else z for z in private]
    by_cidr: dict[str, set] = {}
    for vpc_id, vpc in vpcs.items():
        for block in vpc.get("cidrs", []):
            by_cidr.setdefault(block, set()).add(vpc_id)
    groups: dict[frozenset, list[str]] = {}
    for block, ids in by_cidr.items():
        groups.setdefault(frozenset(ids), []).append(block)
    views = []
    for ids, blocks in sorted(groups.items(), key=lambda kv: sorted(kv[1])):
        zones, seen = [], set()
        for z in private:
            if z.origin not in seen and any(vpc in ids for _region, vpc in z.vpcs):
                seen.add(z.origin)
                zones.append(z)
        if zones:
            image = compile_zones(zones, health, cidr)
            arrays = image.arrays()
            if deferred:
                from .fallback import mark_deferred

                arrays = mark_deferred(arrays, image.zones, deferred)
            view = Engine(arrays, image.zones, udp_max=udp_max)
            view.attach(geo, health)
            views.append((view.image, blocks))
    return views


def build_engine(zones: list[model.Zone], health, cidr: dict, vpcs: dict, geo=None,
                 udp_max: int = DEFAULT_UDP_MAX, fallback=frozenset()) -> Built:
    """The public image of `zones` plus the views of their private zones.
    Raises ValueError (a zone that cannot be compiled)."""
    public = public_zones(zones)
    image = compile_zones(public, health, cidr)
    engine = Engine(image.arrays(), image.zones, udp_max=udp_max)
    engine.attach(geo, health)
    views = build_views([z for z in zones if z.private], vpcs, health, cidr, geo, udp_max,
                        fallback, public)
    if views:
        engine.image.set_views(views)
    return Built(engine, image, public)


def compile_files(zone_files: list[str], udp_max: int = DEFAULT_UDP_MAX) -> Engine:
    """The zone files' engine.  The first build (this process has one
    thread: no socket or worker yet) compiles them right here with the C
    compiler, and the image answers from its streams where they lie: no
    fork, no handoff written and copied again (a 100k-name zone file came
    to its first answer ~25 ms sooner, bench/compile/load.py).  Files the C
    compiler would hand to the Python one (a fault, anything unusual), and
    every later build (a reload, with workers running), go to
    compile_in_child: CPython keeps the memory of a zone's objects."""
    if threading.active_count() == 1:
        engine = _compile_here(zone_files, udp_max)
        if engine is not None:
            return engine
    return compile_in_child(zone_files, udp_max)


def _compile_here(zone_files: list[str], udp_max: int) -> Engine | None:
    """The C compiler's image of `zone_files`, or None where it would need
    the Python path."""
    from .snapshot.fastcompile import Unsupported, compile_zone_files

    collecting = gc.isenabled()
    gc.disable()  # a handful of objects: the collector's passes over the imports are waste
    try:
        image = compile_zone_files(zone_files, python_fallback=False)
    except Unsupported:
        return None
    finally:
        if collecting:
            gc.enable()
    return Engine.from_compiled(image, int(time.time()), udp_max)


def compile_in_child(zone_files: list[str], udp_max: int = DEFAULT_UDP_MAX) -> Engine:
    """`zonefront compile` in a child process, then load its snapshot.  The
    Python objects of a big zone cost several times the compiled image and
    CPython keeps the memory; the server then only maps the arrays.

    While this process has a single thread (a first build whose files
    the C compiler cannot take whole, before any socket or worker) the
    child is a fork, which starts in a millisecond with everything
    imported; a fresh interpreter costs ~0.15 s.  Later (a reload, with
    workers running) it is a fresh interpreter, never a fork of threads.

    The forked child hands its image over in a memfd (`handoff_memfd`): no
    file is created, renamed or unlinked in a directory, nothing is left
    behind if either process dies, and no other process can open it.
    Where memfd_create is missing (not Linux, an old kernel, a seccomp
    filter) it is a 0600 temporary file, as the fresh interpreter's is."""
    forked = hasattr(os, "fork") and threading.active_count() == 1
    memfd = handoff_memfd() if forked else None
    if memfd is not None:
        try:
            return _load_forked(zone_files, memfd, udp_max)
        finally:
            os.close(memfd)
    import tempfile  # memfd's fallback; not imported where memfd serves

    fd, tmp = tempfile.mkstemp(prefix="zonefront-", suffix=".snap")
    os.close(fd)
    try:
        if forked:
            return _load_forked(zone_files, tmp, udp_max)
        import subprocess  # not imported on the way to a first answer

        proc = subprocess.run(
            [sys.executable, "-m", "zonefront.cli", "compile", *zone_files, "-o", tmp,
             "--serial", str(int(time.time()))],
            capture_output=True, text=True)
        if proc.returncode != 0:
            lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
            msg = lines[-1] if lines else f"compiler exited with {proc.returncode}"
            raise ValueError(msg.removeprefix("zonefront: "))
        return Engine.from_snapshot(tmp, udp_max)
    finally:
        os.unlink(tmp)


def _load_forked(zone_files: list[str], out: "str | int", udp_max: int) -> Engine:
    """The image a forked child compiles into `out` (a memfd or a 0600
    file of ours), loaded while the child exits, then the child reaped.
    A fork of this very process wrote it, so it is loaded trusted: the
    checks against hostile snapshots (~46M instructions for 100k names)
    guard nothing here, and its header is marshal's (snapshot/format.py:
    handoff), so msgpack is never imported."""
    child = _compile_forked(zone_files, out)
    try:
        return Engine.from_snapshot(out, udp_max, trusted=True, handoff=True)
    finally:
        os.waitpid(child, 0)


def handoff_memfd() -> int | None:
    """An anonymous, close-on-exec memory file for a forked compiler
    child's image, or None where this system has none."""
    create = getattr(os, "memfd_create", None)
    if create is None:
        return None
    try:
        return create("zonefront-image", os.MFD_CLOEXEC)
    except OSError:  # ENOSYS (old kernel, seccomp), EMFILE: a temporary file serves
        return None


# what the forked compiler child says once its image is whole, before its
# exit unmaps its memory (~2.5 ms at 100k names), which then overlaps the load
_IMAGE_WHOLE = b"\0"


def _compile_forked(zone_files: list[str], out: "str | int") -> int:
    """Compile `zone_files` into the handoff `out` (a path, or a memfd the
    child inherits) in a forked child; raises ValueError with the child's
    reason (`file:line: reason`).  The compiler is imported in the child
    only: the server never holds it.  Returns the child's pid as soon as the
    image is whole: the caller loads it, then reaps the child (waitpid)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compile, write, leave without running any cleanup
        code = 1
        try:
            os.close(r)
            # a process that lives for one compile and leaves by _exit: the
            # cyclic collector's passes over the imports cost ~3% of it
            gc.disable()
            from .snapshot import format as snapshot_format
            from .snapshot.fastcompile import compile_zone_files

            snapshot_format.write(out, compile_zone_files(zone_files), int(time.time()),
                                  durable=False, handoff=True)  # read back at once, then deleted
            os.write(w, _IMAGE_WHOLE)
            code = 0
        except (ValueError, OSError) as e:  # ZoneFileError is a ValueError
            os.write(w, str(e).encode("utf-8", "replace")[:8192])
        except BaseException as e:  # noqa: BLE001 (reported to the parent, not lost)
            os.write(w, f"{type(e).__name__}: {e}".encode("utf-8", "replace")[:8192])
        finally:
            try:
                os.close(w)  # the parent reads to the end now, not once this exit is done
            finally:
                os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        said = f.read()
    if said == _IMAGE_WHOLE:
        return pid
    _, status = os.waitpid(pid, 0)
    reason = said.decode("utf-8", "replace")
    raise ValueError(reason or f"compiler exited with status {os.waitstatus_to_exitcode(status)}")


def describe(engine: Engine) -> str:
    """'N zone(s): a. (serial 1), ...' for the ready: and reloaded: lines."""
    zones = ", ".join(
        f"{_origin_text(z['origin'])} (serial {z['serial']})" for z in engine.zones[:5])
    more = f" and {len(engine.zones) - 5} more" if len(engine.zones) > 5 else ""
    return f"{len(engine.zones)} zone(s): {zones}{more}"


def _origin_text(origin) -> str:
    return model.name_to_text(origin) if isinstance(origin, bytes) else str(origin)


# -- what is served ------------------------------------------------------------


class ZoneSource:
    """Where the served zones come from: zone files, a snapshot and/or zones
    handed over by a publisher (the API's hosted zones, an edge's copy).
    `build(zones)` compiles them into a Built or raises."""

    def __init__(self, zone_files: list[str], snapshot: str | None,
                 udp_max: int = DEFAULT_UDP_MAX, geo=None):
        self.udp_max = udp_max
        self.zone_files = zone_files
        self.snapshot = snapshot
        self.geo = geo  # geo.GeoDB for latency/geolocation/geoproximity routing
        self.health = None  # health.table.HealthTable (control plane) or an edge's mirror
        self.cidr_collections: Callable[[], dict] = lambda: {}
        self.vpcs: Callable[[], dict] = lambda: {}  # vpc id -> {"region", "cidrs"}: views
        # hosted zone ids of the private zones with public DNS fallback enabled
        self.public_fallback: Callable[[], frozenset] = lambda: frozenset()
        # Zone files alone are compiled by the C compiler (compile_files), in a
        # child process after the first build; as objects in this process when
        # published zones or zone transfers need them.
        self.in_process = False
        self._file_zones: list[model.Zone] | None = None  # parsed once, again on reread

    def reread(self) -> None:
        """Parse the zone files again at the next build (SIGHUP)."""
        self._file_zones = None

    def build(self, published: list[model.Zone] | None = None) -> Built:
        """Compile the zone files (or load the snapshot) plus `published`:
        a published zone replaces a file zone of the same name."""
        published = list(published or ())
        if self.snapshot and not published and not self.zone_files:
            engine = Engine.from_snapshot(self.snapshot, self.udp_max)
            return Built(engine.attach(self.geo, self.health), None, [])
        if self.snapshot:
            # a snapshot holds compiled arrays only; it cannot be merged
            raise ValueError("--snapshot cannot be combined with --zone-file or API zones")
        if self.zone_files and not self.in_process and not published:
            engine = compile_files(self.zone_files, self.udp_max)
            return Built(engine.attach(self.geo, self.health), None, [])
        return build_engine(self.in_process_zones(published), self.health,
                            self.cidr_collections(), self.vpcs(), self.geo, self.udp_max,
                            self.public_fallback())

    def in_process_zones(self, published: list[model.Zone]) -> list[model.Zone] | None:
        """Every zone to compile here (zone files, then `published`, which
        replaces a file zone of the same name), or None when build() would
        load a snapshot or compile in a child process instead."""
        if self.snapshot or (self.zone_files and not self.in_process and not published):
            return None
        if self._file_zones is None:
            self._file_zones = load_zone_files(self.zone_files)
        shadowed = {z.origin for z in published if not z.private}
        return [z for z in self._file_zones if z.origin not in shadowed] + list(published)


class ServedZones:
    """The zones the DNS workers answer from, and the one way to change
    them.  Owns the current engine, the server's swap, the hooks run after
    every swap (zone transfers) and the lock that keeps publishes in order."""

    def __init__(self, source: ZoneSource, server=None):
        self.source = source
        self.server = server  # dataplane.server.DnsServer, once it exists
        self.engine: Engine | None = None
        self.built: Built | None = None
        self.published: list[model.Zone] = []  # the zones last handed to publish()
        self.last_changed: Changes | None = None  # what the last compile was told
        # changes handed to publishes that failed: the next publish carries them
        self._unserved: Changes | None = {}
        self._hooks: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._compiler = None  # IncrementalCompiler of the public zones compiled here
        self._compiler_meta = None  # (cidr collections, vpcs) it was compiled with
        self._lineage: str | None = None  # names the compiler run (Built.lineage)
        self._views: list = []  # private views, rebuilt when a private zone changes
        self._views_meta = None
        self._private: list[model.Zone] = []
        self.stats = {"patched": 0, "full": 0, "forked": 0}  # compiles of each kind (tests, metrics)
        # record sets from which a full compile runs in a forked child
        # (snapshot/handoff.py); None: handoff.THRESHOLD
        self.fork_threshold: int | None = None

    @property
    def current(self) -> list[model.Zone]:
        """The public zones served now (zone transfers read them)."""
        return self.built.zones if self.built is not None else []

    def on_swap(self, hook: Callable[[], None]) -> None:
        self._hooks.append(hook)

    def persist(self, path: str) -> "ImageSaver":
        """Keep the public image served last in `path` (a snapshot), written
        from a thread of its own once publishes pause, so that a restart
        answers from it at once instead of REFUSED while the zones compile
        again.  Returns the saver (stop() writes what is pending)."""
        saver = ImageSaver(path, lambda: self.built)
        self.on_swap(saver.changed)
        return saver

    def attach(self, server) -> None:
        self.server = server

    def load(self) -> Built:
        """The first build, before the DNS server exists (swaps if it does)."""
        with self._lock:
            built = self.compile(self.published, None)
            self._swap(built)
            return built

    def publish(self, zones: list[model.Zone], changed: Changes | None = None) -> Built:
        """Compile `zones` (with the source's zone files) and swap them in;
        returns once the workers answer from them.  `changed` (origin ->
        touched owners or None) covers the zones whose objects differ from
        the previous publish; None as a whole means anything may have
        changed.  Raises when compiling fails: the old zones keep serving."""
        with self._lock:
            zones = list(zones)
            changed = merge_changes(self._unserved, changed)
            self._unserved = changed  # until served: the next publish covers them too
            settled = settle_changes(self.published, zones, changed)
            built = self.compile(zones, settled)
            self.published = zones
            self._unserved = {}
            self._swap(built)
            return built

    def resume(self, path: str) -> Engine | None:
        """Serve the snapshot a previous run left (ImageSaver) until the first
        publish replaces it, or None when there is none or it cannot be read
        (then load() as usual).  Its routing reads no health table: every
        candidate counts as healthy until the first publish, since the
        previous run's health slots are not this run's."""
        from .snapshot.format import SnapshotError

        if not path or not os.path.exists(path):
            return None
        try:
            engine = Engine.from_snapshot(path, self.source.udp_max)
        except (SnapshotError, OSError, ValueError) as e:
            log.warning("not resuming from %s: %s", path, e)
            return None
        engine.attach(self.source.geo, None)
        with self._lock:
            self._swap(Built(engine, None, []))
        return engine

    def reload(self) -> Built:
        """Read the zone files again and swap (SIGHUP); raises like publish."""
        with self._lock:
            self.source.reread()
            built = self.compile(self.published, None)
            self._swap(built)
            return built

    def install(self, built: Built, zones: list[model.Zone]) -> None:
        """Swap in an engine compiled elsewhere (an edge's copy of the control
        plane's snapshot) that serves `zones`."""
        with self._lock:
            self.published = list(zones)
            self._compiler = None  # its image is no longer the one served
            self._views_meta = None  # nor are the views compiled here
            self._swap(built)

    def compile(self, zones: list[model.Zone], changed: Changes | None) -> Built:
        """The build step.  Zones compiled in this process keep their
        compiler (snapshot/incremental.py): a change patches the served
        image with the names it reaches, so it costs what it changes, and a
        small zone's change never waits for a big zone beside it.  What
        cannot be patched (zones added or removed, new CIDR collections or
        VPCs, an SOA change beyond its serial...) is compiled in full, as
        are snapshots and zone files compiled in a child process."""
        self.last_changed = changed
        everything = self.source.in_process_zones(zones)
        if everything is None:  # a snapshot, or zone files compiled in a child
            self._compiler = None
            return self.source.build(zones)
        from .snapshot import handoff
        from .snapshot.incremental import IncrementalCompiler, NeedsFullCompile

        src = self.source
        public = public_zones(everything)
        private = [z for z in everything if z.private]
        meta = (src.cidr_collections(), src.vpcs())
        image = None
        inc = self._compiler
        patch = None
        if inc is not None and changed is not None and meta == self._compiler_meta:
            try:
                ends = inc.image.stream_ends()
                image = inc.update(public, changed)
                if getattr(src.geo, "lazy", False):  # the first location record loads it
                    image.attach(src.geo)
                tail, negatives, serials, updates, info = inc.last_patch_args
                patch = {"ends": ends, "tail": tail, "negatives": negatives,
                         "serials": serials, "updates": updates, "zones": info}
                self.stats["patched"] += 1
            except NeedsFullCompile as e:
                log.info("compiling in full: %s", e)
        if image is None:
            inc = self._compiler = None  # the old one's memory goes before the new one's
            gc.unfreeze()  # what it left in cycles becomes collectable again
            full = None
            if handoff.wanted(public, self.fork_threshold):
                # its temporaries die with the child instead of pinning this
                # process's heap (snapshot/handoff.py)
                full = handoff.ForkedCompile()
            inc = IncrementalCompiler(public, image_class(), src.health, meta[0], src.udp_max,
                                      full=full)
            if full is not None and full.forked:
                self.stats["forked"] += 1
            image = inc.image.attach(src.geo, src.health)
            self._compiler, self._compiler_meta = inc, meta
            self._lineage = os.urandom(16).hex()  # uuid4's randomness, without uuid's import
            self.stats["full"] += 1
            # the compiler's millions of objects live as long as it does: kept
            # out of the cyclic collector's full passes, which would otherwise
            # stall a later change for as long as a pass over all of them takes
            gc.freeze()
        changed_private = changed is None or any(
            z.origin in changed for z in private) or len(private) != len(self._private)
        fallback = frozenset(src.public_fallback())
        if fallback and changed:  # fallback views copy public names: follow public changes
            changed_private = True
        views_meta = meta + (fallback,)
        if changed_private or views_meta != self._views_meta:
            self._views = build_views(private, meta[1], src.health, meta[0], src.geo,
                                      src.udp_max, fallback, public)
            self._views_meta = views_meta
        self._private = private
        if self._views or changed_private:
            image.set_views(self._views)
        engine = Engine.from_image(image, image.zones)
        return Built(engine, LiveImage(image, views=self._views), public, self._lineage, patch)

    def _swap(self, built: Built) -> None:
        if self.server is not None:
            self.server.reload(built.engine.image)
        self.built, self.engine = built, built.engine
        for hook in self._hooks:
            hook()


class QuietSaver:
    """Runs `save` from a thread of its own once changes pause: no `changed()`
    for `quiet` seconds, or `latest` seconds after the first unsaved one;
    then at most 1/`duty` of the time goes to saving (a big image's save
    shares the interpreter with the threads applying changes, so a burst is
    not slowed by saves).  stop() saves what is pending."""

    def __init__(self, save: Callable[[], None], quiet: float = 1.0, latest: float = 30.0,
                 duty: float = 20.0, least: float = 1.0, name: str = "zonefront-saver"):
        self._save = save
        self.quiet, self.latest, self.duty, self.least = quiet, latest, duty, least
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def changed(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            first = time.monotonic()
            while not self._stop.is_set():
                self._wake.clear()
                if not self._wake.wait(self.quiet) or time.monotonic() - first >= self.latest:
                    break
            if self._stop.is_set():
                return
            t0 = time.monotonic()
            self._save()
            self._stop.wait(max(self.least, self.duty * (time.monotonic() - t0)))

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)
        self._save()


class ImageSaver(QuietSaver):
    """The served public image, kept in a snapshot file (ServedZones.persist)."""

    def __init__(self, path: str, current: Callable[[], "Built | None"]):
        self.path = path
        self._current = current
        self._lock = threading.Lock()
        self._dirty = False  # a swap happened since the last save
        self.saves = 0
        super().__init__(self.save, name="zonefront-image-saver")

    def changed(self) -> None:
        self._dirty = True
        super().changed()

    def save(self) -> None:
        from .snapshot import format as snapshot_format

        with self._lock:
            built = self._current()
            if not self._dirty or built is None or not isinstance(built.image, LiveImage):
                return
            self._dirty = False
            try:
                snapshot_format.write(self.path, built.image, int(time.time()))
                self.saves += 1
            except OSError as e:  # a full disk must not stop the publisher
                log.warning("cannot save the served image to %s: %s", self.path, e)


def settle_changes(before: list[model.Zone], after: list[model.Zone],
                   changed: Changes | None) -> Changes | None:
    """`changed` completed against the zones themselves: an origin whose
    zone objects differ from the previous publish and that `changed` does not
    name is rebuilt whole (None), as is an origin that appeared or went.
    Zones are never mutated once published (store/zones.py), so the same
    objects mean the same records."""
    if changed is None:
        return None
    old, new = _ids_by_origin(before), _ids_by_origin(after)
    out: Changes = {}
    for origin in old.keys() | new.keys():
        if origin not in old or origin not in new:
            out[origin] = None
        elif origin in changed:
            owners = changed[origin]
            out[origin] = None if owners is None else set(owners)
        elif old[origin] != new[origin]:
            out[origin] = None
    return out


def merge_changes(a: Changes | None, b: Changes | None) -> Changes | None:
    """Both sets of changes as one (None, "unknown", absorbs)."""
    if a is None or b is None:
        return None
    out: Changes = {k: (None if v is None else set(v)) for k, v in a.items()}
    for origin, owners in b.items():
        if origin in out and out[origin] is None:
            continue
        if owners is None:
            out[origin] = None
        else:
            out.setdefault(origin, set()).update(owners)
    return out


def _ids_by_origin(zones: list[model.Zone]) -> dict[bytes, tuple[int, ...]]:
    out: dict[bytes, tuple[int, ...]] = {}
    for z in zones:
        key = model.name_lower(z.origin)
        out[key] = out.get(key, ()) + (id(z),)
    return out
