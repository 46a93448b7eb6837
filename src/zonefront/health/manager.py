"""The control plane's health service: loads checks from the store, runs the
in-process checker locations, reads the reports of remote ones, and keeps
the HealthTable the data plane reads.

The API calls `reload(id)` after committing a create, update, delete or a
tag change, so a new setting is in force before the API call returns.
Remote locations (`zonefront checker` processes) write their observations
into the store; a poller reads them every POLL seconds, so their results
reach the table within a second of the probe.
"""
from __future__ import annotations

import logging
import threading
import time

from ..config import HealthSettings
from .pool import CheckerPool
from .probe import Result
from .spec import CheckSpec, forced_from_tags
from .state import HealthState, Observation
from .table import HealthTable

log = logging.getLogger("zonefront.health")

POLL = 0.25  # seconds between reads of remote locations' reports
SOURCE_PREFIX = "source:"  # location names of health check sources' checkers


class HealthManager:
    def __init__(self, settings: HealthSettings, table: HealthTable, store=None):
        self.settings = settings
        self.table = table
        self.store = store
        self.state = HealthState(table, settings.remote_locations)
        locations = settings.locations if settings.enabled else []
        self.pool = CheckerPool(locations, self.state.observe, threads=settings.threads,
                                max_sockets=settings.max_sockets,
                                connect_timeout=settings.connect_timeout,
                                read_timeout=settings.read_timeout)
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._remote_seq = 0

    # -- life --------------------------------------------------------------

    def start(self) -> None:
        if self.store is not None:
            for row in self.store.list_health_checks():
                self._put(row)
        self.pool.start()
        if self.store is not None:  # remote locations, and health check sources' checkers
            self._poller = threading.Thread(target=self._poll_remote, daemon=True,
                                            name="zonefront-health-remote")
            self._poller.start()

    def stop(self) -> None:
        self._stop.set()
        self.pool.stop()
        if self._poller is not None:
            self._poller.join(timeout=5)

    # -- checks ------------------------------------------------------------

    def _put(self, row: dict) -> CheckSpec:
        forced = forced_from_tags(self.store.tags_of("healthcheck", row["id"])) \
            if self.store is not None else None
        spec = CheckSpec.from_config(row["id"], row["config"], forced)
        self.put(spec)
        return spec

    def put(self, spec: CheckSpec) -> None:
        """Start (or update) checking one check."""
        if spec.source:
            # a private endpoint: only the source's checkers (remote, inside
            # its network) reach it, so no in-process location votes
            self.state.remote.add(SOURCE_PREFIX + spec.source)
            self.state.put(spec, [])
            self.pool.remove(spec.id)
            return
        locations = self.pool.locations_for(spec) if spec.probed else []
        self.state.put(spec, locations if self.pool.locations else [])
        if spec.probed and self.pool.locations:
            self.pool.put(spec)
        else:
            self.pool.remove(spec.id)

    def remove(self, check_id: str) -> None:
        self.pool.remove(check_id)
        self.state.remove(check_id)

    def reload(self, check_id: str) -> None:
        """The store changed for this check (API commit): follow it."""
        row = self.store.get_health_check(check_id)
        if row is None:
            self.remove(check_id)
        else:
            self._put(row)

    def collect(self, referenced: set[str]) -> int:
        """After a publish: free table slots nothing refers to any more."""
        return self.table.collect(referenced, live=self.state.ids())

    # -- queries for the API -----------------------------------------------

    def healthy(self, check_id: str) -> bool | None:
        return self.state.healthy(check_id)

    def observations(self, check_id: str) -> list[Observation]:
        return self.state.observations(check_id)

    def failures(self, check_id: str):
        return self.state.failures(check_id)

    def children_summary(self, check_id: str) -> tuple[int, int]:
        return self.state.children_summary(check_id)

    def checker_ip_ranges(self) -> list[str]:
        ranges = list(self.settings.checker_ip_ranges)
        for ip in sorted(self.state.source_ips):
            cidr = f"{ip}/128" if ":" in ip else f"{ip}/32"
            if cidr not in ranges:
                ranges.append(cidr)
        return ranges

    def stats(self) -> dict:
        return self.pool.stats()

    # -- remote locations --------------------------------------------------

    def _poll_remote(self) -> None:
        wanted = set(self.settings.remote_locations)
        while not self._stop.wait(POLL):
            try:
                rows = self.store.observations_since(self._remote_seq)
            except Exception:  # the store is closing under us
                if self._stop.is_set():
                    return
                log.exception("reading remote health reports failed")
                continue
            for (seq, cid, loc, state, ok, status, checked, ip, latency, fstatus,
                 ftime) in rows:
                self._remote_seq = seq
                if loc not in wanted and not loc.startswith(SOURCE_PREFIX):
                    continue
                self.state.observe(cid, loc, bool(state), Result(bool(ok), status, latency, ip),
                                   checked)
                if fstatus:
                    self.state.observe_remote_failure(cid, loc, fstatus, ftime, ip)
            self.state.expire_remote()


def wait_until(pred, timeout: float, step: float = 0.01) -> bool:
    """Poll `pred` until true or `timeout` seconds pass (tests, tools)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return bool(pred())
