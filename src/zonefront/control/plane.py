"""The control plane as one object: store + Route 53 API server + publisher.

It publishes through one interface, `served.publish(zones, changed)`
(serving.ServedZones in `zonefront serve`), which swaps the zones into the
DNS workers and returns once they are served.  One publisher thread calls
it, so calls never overlap: after each commit the API wakes it; it notes
the last committed change, builds every hosted zone (unchanged ones come
from a cache, which also says which owner names each changed zone had
touched), publishes, records the publish for the edges (edge/hub.py) and
hands (change seq, serial) to the INSYNC gate (insync.py): the changes up
to that point turn INSYNC at once with no live edge, else once every live
edge serves the publish.  A burst of commits is covered by one publish.
Commits by other processes (`zonefront zone import` while serving) are
noticed through SQLite's data_version; with the PostgreSQL store ([store]
backend = "postgresql", several API processes on one database) through its
version counter, and at once through its NOTIFY (store/postgres.py).

The registry (domains/) rides on the same path: its TLD zones are added to
every publish, hosted zones below its TLDs are published only while
delegated, and its worker thread learns after each publish which of its
operations are now served.

Health: the control plane owns one HealthTable (`self.health`, made here
or passed as `health_table=`) for the life of the process; the data plane
compiles record sets with `health.slot(check_id)` and reads
`health.buffer`.  `start()` starts the checkers (`self.health_checks`, a
HealthManager) and `stop()` stops them.  After each publish, table slots
that no served record and no live check refers to are freed.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Protocol

from .. import model
from ..api.server import APIServer
from ..api.service import Route53Service
from ..api.vpcapi import startup_problems
from ..config import Config
from ..dnssec.zonekeys import SigningState
from ..domains.service import Registry
from ..domains.worker import Worker
from ..domains.zones import RegistryZones
from ..edge.hub import EdgeHub
from ..health.manager import HealthManager
from ..health.table import HealthTable
from ..outside.aliases import outside_aliases
from ..serving import Changes, merge_changes
from ..store import cidrstore, zonefeatures
from ..store.backend import open_store
from ..store.sqlite import Store
from ..store.zones import ZoneCache
from .insync import InsyncGate
from .mounts import mount_table

log = logging.getLogger("zonefront.control")

POLL_INTERVAL = 0.5  # seconds between checks for commits made by other processes
RETRY_DELAY = 1.0  # seconds before retrying a publish that raised


class Publisher(Protocol):
    def publish(self, zones: list[model.Zone], changed: Changes | None) -> object:
        """Serve `zones` (returns once the DNS workers answer from them) or raise."""


class _PublishFunction:
    """A bare `publish(zones)` function as a Publisher: the control plane
    embedded without a DNS server (tests, benchmarks)."""

    def __init__(self, fn: Callable[[list[model.Zone]], object]):
        self.fn = fn

    def publish(self, zones: list[model.Zone], changed: Changes | None) -> object:
        return self.fn(zones)


class ControlPlane:
    def __init__(self, config: Config, served: Publisher | Callable[[list[model.Zone]], object],
                 health_table: HealthTable | None = None):
        self.config = config
        self.served: Publisher = served if hasattr(served, "publish") else \
            _PublishFunction(served)
        self.health = health_table if health_table is not None else HealthTable()
        self.health_checks: HealthManager | None = None
        self.store: Store | None = None
        self.service: Route53Service | None = None
        self.registry: Registry | None = None
        self.registry_worker: Worker | None = None
        self._registry_zones: RegistryZones | None = None
        self._server: APIServer | None = None
        self.edges: EdgeHub | None = None  # `zonefront edge` processes (edge/hub.py)
        self.insync: InsyncGate | None = None  # decides when changes are INSYNC
        self._cache = ZoneCache()
        self._routing_inputs = None  # (CIDR collections, VPCs) of the last publish
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._published_seq = 0
        self._seen_version = None
        self.publish_count = 0  # publishes done; tests and stats read it
        self.outside = None  # outside.aliases.OutsideAliases ([alias] resolver)

    def start(self) -> None:
        if self.config.auth and not self.config.credentials:
            raise RuntimeError("the API requires credentials: set [api] access_key_id and "
                               "secret_access_key, or ZONEFRONT_ACCESS_KEY_ID and "
                               "ZONEFRONT_SECRET_ACCESS_KEY, or run with --no-auth")
        self.store = open_store(self.config)
        if hasattr(self.store, "subscribe"):
            self.store.subscribe(self._wake.set)  # other processes' commits
        self.health_checks = HealthManager(self.config.health, self.health, self.store)
        self.health_checks.start()
        self.service = Route53Service(self.store, self.config, on_commit=self._wake.set,
                                      on_records=self._cache.note, health=self.health_checks)
        # TestDNSAnswer asks the engine the DNS workers serve (None: no DNS here)
        self.service.engine = lambda: getattr(self.served, "engine", None)
        errors, warnings = startup_problems(self.service)
        for w in warnings:
            log.warning("%s", w)
        if errors:
            self.health_checks.stop()
            self.store.close()
            raise RuntimeError("; ".join(errors))
        ds = self.config.dnssec
        self._signing = SigningState(self.store, self.config.data_dir, ds.signature_validity,
                                     ds.zsk_lifetime, ds.zsk_prepublish, ds.denial,
                                     ds.dnskey_ttl, ds.propagation_delay)
        self.registry = Registry(self.store, self.config)
        self.registry_worker = Worker(self.registry, on_commit=self._wake.set)
        self.registry.on_submit = self.registry_worker.wake.set
        self._registry_zones = RegistryZones(self.registry.rs, self.config)
        self.outside = outside_aliases(self.config, self.health, self._wake.set)
        self.edges = EdgeHub(self.config.edges, self.health, self.config.data_dir,
                             cidr=self.cidr_collections, vpcs=self.vpcs,
                             fallback=self.public_fallback)
        self.insync = InsyncGate(self.store.mark_insync, self.edges)
        self.edges.on_report = self.insync.evaluate  # an edge caught up, or went stale
        self.edges.start()
        self._publish_once()  # serve the committed state before accepting API calls
        self.registry_worker.start()
        self._server = APIServer(self.config, self.service,
                                 mount_table(self.config, self.registry, self.edges),
                                 edge_paths=self.edges.paths if self.edges is not None else None)
        self._thread = threading.Thread(target=self._run, name="zonefront-publisher",
                                        daemon=True)
        self._thread.start()
        self._server.start()
        log.info("Route 53 API on %s:%d", *self.api_address)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        if self.registry_worker is not None:
            self.registry_worker.stop()
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.edges is not None:
            self.edges.stop()
        if self.outside is not None:
            self.outside.stop()
        if self.health_checks is not None:
            self.health_checks.stop()
        if self.store is not None:
            self.store.close()

    def cidr_collections(self) -> dict[str, dict[str, list[str]]]:
        """CIDR collection id -> location name -> CIDR blocks, as committed.
        publish() reads it; a ChangeCidrCollection wakes the publisher like
        a record change does (the zones handed over may then be unchanged)."""
        return cidrstore.all_collections(self.store)

    def public_fallback(self) -> frozenset:
        """Ids of the private hosted zones with public DNS fallback enabled
        (UpdateHostedZoneFeatures), as committed; publish() reads it."""
        return frozenset(zonefeatures.fallback_zones(self.store))

    def vpcs(self) -> dict[str, dict]:
        """VPC id -> {"region": str, "cidrs": [str]} for every defined VPC
        ([vpcs] in the configuration, then those defined through the API),
        as committed.  publish() reads it to map source addresses to VPCs;
        the networks of different VPCs never overlap.  A VPC definition
        change is a Change and wakes the publisher like a record change."""
        if self.service is not None:
            defs = self.service.vpc_defs()
        else:
            defs = self.config.vpcs
        return {vid: {"region": d.region, "cidrs": list(d.cidrs)}
                for vid, d in sorted(defs.items())}

    @property
    def api_address(self) -> tuple[str, int]:
        assert self._server is not None, "start() first"
        return self._server.address

    def wait_published(self, timeout: float = 10.0) -> bool:
        """Block until everything committed so far is served (for tests, import)."""
        deadline = time.monotonic() + timeout
        target = self.store.last_change_seq()
        self._wake.set()
        while self._published_seq < target:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _shippable(self, built):
        """The image just served, when it is exactly the published zones (no
        zone files of this process beside them): the edges' full copy is
        then an export of it, not a second compile."""
        source = getattr(self.served, "source", None)
        if built is None or source is None or source.zone_files:
            return None
        return built.image

    def _publish_once(self) -> None:
        seq = self.store.last_change_seq()
        self._seen_version = self.store.data_version()
        zones = self._cache.zones(self.store)
        changed: Changes | None = self._cache.take_changed()
        if self.outside is not None:  # aliases to outside names, as their addresses
            zones, moved = self.outside.apply(zones)
            changed = merge_changes(changed, moved)
        if self._registry_zones is not None:
            zones = self._registry_zones.served(zones)
        zones = self._signing.apply(zones)  # DNSSEC keys on signed zones
        routing = (self.cidr_collections(), self.vpcs())
        if routing != self._routing_inputs:
            changed = None  # policy tables and views may move answers in any zone
        built = self.served.publish(zones, changed)  # raises: the old zones keep serving
        self._routing_inputs = routing
        self.publish_count += 1
        if self.health_checks is not None:
            self.health_checks.collect({r.health_check for z in zones
                                        for top in getattr(z, "routed", ()) for r in top.walk()
                                        if r.health_check})
        image = self._shippable(built)
        serial = self.edges.offer(zones, image, getattr(built, "lineage", None),
                                      getattr(built, "patch", None))
        self.insync.served(seq, serial)  # INSYNC now, or once the live edges serve it
        self._published_seq = seq
        if self.registry_worker is not None:
            self.registry_worker.wake.set()  # operations waiting for this publish finish

    def _run(self) -> None:
        while not self._stopping.is_set():
            woke = self._wake.wait(POLL_INTERVAL)
            if self._stopping.is_set():
                return
            self._wake.clear()
            if not woke:
                try:
                    if self.store.data_version() == self._seen_version and \
                            not self._signing.due():
                        continue
                except Exception as e:  # noqa: BLE001 (store closed under us during stop())
                    log.debug("publisher stops: store unreadable (%s)", e)
                    return
            try:
                self._publish_once()
            except Exception:
                log.exception("publishing zones failed; retrying in %.1fs", RETRY_DELAY)
                self._stopping.wait(RETRY_DELAY)
                self._wake.set()
