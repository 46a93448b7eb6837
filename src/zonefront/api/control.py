"""The control plane as one object: store + Route 53 API server + publisher.

`publish(zones)` (given by cli.py) swaps the zones into the DNS workers and
returns once they are served.  One publisher thread calls it, so calls never
overlap: after each commit the API wakes it; it notes the last committed
change, builds every hosted zone (unchanged ones come from a cache),
publishes, and only then marks the changes up to that point INSYNC.  A burst
of commits is covered by one publish.  Commits by other processes (`zonefront
zone import` while serving) are noticed through SQLite's data_version.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from .. import model
from ..config import Config
from ..store.sqlite import Store
from ..store.zones import ZoneCache
from .server import APIServer
from .service import Route53Service

log = logging.getLogger("zonefront.control")

POLL_INTERVAL = 0.5  # seconds between checks for commits made by other processes
RETRY_DELAY = 1.0  # seconds before retrying a publish that raised


class ControlPlane:
    def __init__(self, config: Config, publish: Callable[[list[model.Zone]], None]):
        self.config = config
        self._publish = publish
        self.store: Store | None = None
        self.service: Route53Service | None = None
        self._server: APIServer | None = None
        self._cache = ZoneCache()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._published_seq = 0
        self._seen_version = None
        self.publish_count = 0  # publishes done; tests and stats read it

    def start(self) -> None:
        if self.config.auth and not self.config.credentials:
            raise RuntimeError("the API requires credentials: set [api] access_key_id and "
                               "secret_access_key, or ZONEFRONT_ACCESS_KEY_ID and "
                               "ZONEFRONT_SECRET_ACCESS_KEY, or run with --no-auth")
        self.store = Store(self.config.data_dir)
        self.service = Route53Service(self.store, self.config, on_commit=self._wake.set,
                                      on_records=self._cache.note)
        self._publish_once()  # serve the committed state before accepting API calls
        self._server = APIServer(self.config, self.service)
        self._thread = threading.Thread(target=self._run, name="zonefront-publisher",
                                        daemon=True)
        self._thread.start()
        self._server.start()
        log.info("Route 53 API on %s:%d", *self.api_address)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.store is not None:
            self.store.close()

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

    def _publish_once(self) -> None:
        seq = self.store.last_change_seq()
        self._seen_version = self.store.data_version()
        zones = self._cache.zones(self.store)
        self._publish(zones)
        self.publish_count += 1
        self.store.mark_insync(seq)
        self._published_seq = seq

    def _run(self) -> None:
        while not self._stopping.is_set():
            woke = self._wake.wait(POLL_INTERVAL)
            if self._stopping.is_set():
                return
            self._wake.clear()
            if not woke:
                try:
                    if self.store.data_version() == self._seen_version:
                        continue
                except Exception:  # store closed under us during stop()
                    return
            try:
                self._publish_once()
            except Exception:
                log.exception("publishing zones failed; retrying in %.1fs", RETRY_DELAY)
                self._stopping.wait(RETRY_DELAY)
                self._wake.set()
