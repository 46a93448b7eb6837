"""From per-location observations to one healthy/unhealthy bit per check,
written to the HealthTable the data plane reads.

Route 53's rule: an endpoint check is healthy when more than 18% of the
checker locations that probe it report it healthy (each location's report
is its own verdict after FailureThreshold consecutive probes).  Then, in
this order: a `zonefront:state` tag sets the state outright; Disabled means
healthy; Inverted flips the result.  A CALCULATED check is healthy when at
least HealthThreshold of its children are (a child that no longer exists
counts as healthy, as a record whose check was deleted does); a change in
a child re-evaluates its parents at once.

In-process locations that have not probed yet count as healthy (checkers
start healthy).  Remote locations count only while their reports are
fresh, so a stopped `zonefront checker` drops out of the vote instead of
freezing it.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from .probe import Result
from .spec import CheckSpec
from .table import HealthTable

HEALTHY_FRACTION = 0.18  # Route 53: healthy when MORE than 18% of checkers say so


def stale_after(spec: CheckSpec) -> float:
    """Seconds after which a remote location's report no longer votes."""
    return 3 * spec.interval + 5.0


@dataclass
class Observation:
    location: str
    state: bool  # the location's verdict (after FailureThreshold)
    ok: bool  # the last probe's own result
    status: str
    checked: float  # wall time
    ip: str | None = None
    latency_ms: float | None = None


class _Check:
    __slots__ = ("spec", "locations", "obs", "failures", "healthy")

    def __init__(self, spec: CheckSpec, locations: list[str]):
        self.spec = spec
        self.locations = locations  # in-process locations that probe this check
        self.obs: dict[str, Observation] = {}
        self.failures: dict[str, tuple[str, float, str | None]] = {}  # loc -> (text, when, ip)
        self.healthy = True


class HealthState:
    def __init__(self, table: HealthTable, remote_locations: list[str] = ()):
        self.table = table
        self.remote = set(remote_locations)
        self._checks: dict[str, _Check] = {}
        self._parents: dict[str, set[str]] = {}  # child id -> calculated checks using it
        self._lock = threading.RLock()
        self.source_ips: set[str] = set()  # addresses in-process probes left from

    # -- checks ------------------------------------------------------------

    def put(self, spec: CheckSpec, locations: list[str]) -> None:
        with self._lock:
            c = self._checks.get(spec.id)
            if c is None:
                c = self._checks[spec.id] = _Check(spec, locations)
                self.table.slot(spec.id)
            else:
                for child in c.spec.children:
                    self._parents.get(child, set()).discard(spec.id)
                c.spec, c.locations = spec, locations
                for loc in [loc for loc in c.obs if loc not in locations
                            and loc not in self.remote]:
                    del c.obs[loc]
            for child in spec.children:
                self._parents.setdefault(child, set()).add(spec.id)
            self._evaluate(spec.id)

    def remove(self, check_id: str) -> None:
        with self._lock:
            c = self._checks.pop(check_id, None)
            if c is None:
                return
            for child in c.spec.children:
                self._parents.get(child, set()).discard(check_id)
            self.table.retire(check_id)
            for parent in list(self._parents.get(check_id, ())):
                self._evaluate(parent)

    def ids(self) -> set[str]:
        with self._lock:
            return set(self._checks)

    def creates_cycle(self, check_id: str, children: list[str]) -> bool:
        """Would `check_id` with these children reach itself?"""
        with self._lock:
            todo, seen = list(children), set()
            while todo:
                c = todo.pop()
                if c == check_id:
                    return True
                if c in seen:
                    continue
                seen.add(c)
                hit = self._checks.get(c)
                if hit is not None:
                    todo.extend(hit.spec.children)
            return False

    # -- observations ------------------------------------------------------

    def observe(self, check_id: str, location: str, state: bool, result: Result,
                checked: float) -> None:
        """A probe's outcome from one location (pool sink, remote poller)."""
        with self._lock:
            c = self._checks.get(check_id)
            if c is None:
                return
            prev = c.obs.get(location)
            c.obs[location] = Observation(location, state, result.ok, result.status, checked,
                                          result.source_ip, result.latency_ms)
            if not result.ok:
                c.failures[location] = (result.status, checked, result.source_ip)
            if result.source_ip and location not in self.remote:
                self.source_ips.add(result.source_ip)
            if c.spec.measure_latency and result.latency_ms is not None:
                self.table.set_latency(check_id, result.latency_ms)
            if prev is None or prev.state != state or location in self.remote:
                self._evaluate(check_id)

    def observe_remote_failure(self, check_id: str, location: str, status: str,
                               when: float, ip: str | None) -> None:
        with self._lock:
            c = self._checks.get(check_id)
            if c is not None:
                c.failures[location] = (status, when, ip)

    def expire_remote(self) -> None:
        """Re-vote checks whose remote reports went stale (called periodically)."""
        if not self.remote:
            return
        now = time.time()
        with self._lock:
            for cid, c in list(self._checks.items()):
                if any(loc in self.remote and now - o.checked > stale_after(c.spec)
                       for loc, o in c.obs.items()):
                    self._evaluate(cid)

    # -- queries -----------------------------------------------------------

    def healthy(self, check_id: str) -> bool | None:
        with self._lock:
            c = self._checks.get(check_id)
            return None if c is None else c.healthy

    def observations(self, check_id: str) -> list[Observation]:
        with self._lock:
            c = self._checks.get(check_id)
            return [] if c is None else sorted(c.obs.values(), key=lambda o: o.location)

    def failures(self, check_id: str) -> list[tuple[str, str, float, str | None]]:
        with self._lock:
            c = self._checks.get(check_id)
            if c is None:
                return []
            return sorted((loc, *f) for loc, f in c.failures.items())

    def children_summary(self, check_id: str) -> tuple[int, int]:
        """(healthy children, children) of a calculated check."""
        with self._lock:
            c = self._checks.get(check_id)
            kids = c.spec.children if c else ()
            return sum(1 for k in kids if self._child_healthy(k)), len(kids)

    # -- the vote ----------------------------------------------------------

    def _child_healthy(self, child: str) -> bool:
        hit = self._checks.get(child)
        return True if hit is None else hit.healthy

    def _measured(self, c: _Check) -> bool:
        spec = c.spec
        if spec.type == "CALCULATED":
            healthy = sum(1 for k in spec.children if self._child_healthy(k))
            return healthy >= spec.health_threshold
        if spec.type == "CLOUDWATCH_METRIC":
            return spec.insufficient != "Unhealthy"  # no CloudWatch here: always no data
        if spec.type == "RECOVERY_CONTROL":
            return True  # set it with the zonefront:state tag
        now = time.time()
        votes = [o.state if (o := c.obs.get(loc)) else True for loc in c.locations]
        for loc, o in c.obs.items():
            if loc in self.remote and now - o.checked <= stale_after(spec):
                votes.append(o.state)
        if not votes:
            return True  # nobody probes it: no evidence against it
        return sum(votes) / len(votes) > HEALTHY_FRACTION

    def _compute(self, c: _Check) -> bool:
        spec = c.spec
        if spec.forced is not None:
            return spec.forced
        if spec.disabled:
            return True
        return self._measured(c) != spec.inverted

    def _evaluate(self, check_id: str, depth: int = 0) -> None:
        c = self._checks.get(check_id)
        if c is None or depth > 64:
            return
        new = self._compute(c)
        if new == c.healthy and self.table.get(check_id) == new:
            return
        c.healthy = new
        self.table.set(check_id, new)
        for parent in list(self._parents.get(check_id, ())):
            self._evaluate(parent, depth + 1)
