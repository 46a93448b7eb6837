"""`zonefront checker`: one checker location in its own process.

It reads the health checks from the control plane's store (following
changes through SQLite's data_version), probes them as location NAME, and
writes one observation row per probe back to the store in batches; the
control plane (with NAME in [health] remote_locations) reads them.  The
store file must be shared, so remote checkers run on the control plane's
host (to spread load over cores or processes) or on a shared volume; with
the PostgreSQL store ([store] backend = "postgresql" in the checker's
--config) they run on any host that reaches the database.
"""
from __future__ import annotations

import logging
import threading
import time

from ..config import HealthSettings
from ..store.sqlite import Store
from .pool import CheckerPool
from .probe import Result
from .spec import CheckSpec

log = logging.getLogger("zonefront.checker")

FLUSH = 0.2  # seconds between batched writes of observations
RELOAD = 0.5  # seconds between looks at the store for changed checks


class RemoteChecker:
    def __init__(self, settings: HealthSettings, data_dir: str, location: str,
                 store: Store | None = None, source: str | None = None):
        self.settings = settings
        self.location = location
        self.source = source  # a health check source's id: probe only its checks
        # store: the configured one (PostgreSQL lets checkers run on other hosts)
        self.store = store if store is not None else Store(data_dir)
        self.pool = CheckerPool([location], self._sink, threads=settings.threads,
                                max_sockets=settings.max_sockets,
                                connect_timeout=settings.connect_timeout,
                                read_timeout=settings.read_timeout)
        self._rows: list[tuple] = []
        self._fails: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._specs: dict[str, tuple[int, CheckSpec]] = {}
        self._version = None
        self.stop_event = threading.Event()

    def _sink(self, check_id: str, location: str, state: bool, r: Result,
              checked: float) -> None:
        with self._lock:
            if not r.ok:
                self._fails[check_id] = (r.status, checked)
            fail = self._fails.get(check_id, (None, None))
            self._rows.append((check_id, location, int(state), int(r.ok), r.status, checked,
                               r.source_ip, r.latency_ms, fail[0], fail[1]))

    def flush(self) -> int:
        with self._lock:
            rows, self._rows = self._rows, []
        if rows:
            self.store.put_observations(rows)
        return len(rows)

    def reload(self) -> None:
        version = self.store.data_version()
        if version == self._version:
            return
        self._version = version
        seen = set()
        for row in self.store.list_health_checks():
            seen.add(row["id"])
            old = self._specs.get(row["id"])
            if old is not None and old[0] == row["version"]:
                continue
            spec = CheckSpec.from_config(row["id"], row["config"])
            self._specs[row["id"]] = (row["version"], spec)
            if self.source is not None or spec.source:
                # a source's checker probes exactly the checks naming its source
                if spec.probed and spec.source == self.source:
                    self.pool.put(spec)
                else:
                    self.pool.remove(spec.id)
            elif spec.probed and (not spec.regions or self.location in spec.regions
                                or not any(r in spec.regions for r in self._all_locations())):
                self.pool.put(spec)
            else:
                self.pool.remove(spec.id)
        for cid in [c for c in self._specs if c not in seen]:
            del self._specs[cid]
            self.pool.remove(cid)

    def _all_locations(self) -> list[str]:
        return list(self.settings.locations) + list(self.settings.remote_locations)

    def run(self) -> None:
        self.reload()
        self.pool.start()
        log.info("checker location %s: %d checks", self.location, len(self._specs))
        next_reload = time.monotonic() + RELOAD
        try:
            while not self.stop_event.wait(FLUSH):
                self.flush()
                if time.monotonic() >= next_reload:
                    self.reload()
                    next_reload = time.monotonic() + RELOAD
        finally:
            self.pool.stop()
            self.flush()
            self.store.close()
