"""Aliases to outside names, served as the addresses their targets resolve to.

Route 53 answers an alias to CloudFront, an S3 website, a load balancer...
with that endpoint's A/AAAA records under the alias's name and with their
TTL.  zonefront asks a recursive resolver (stub.py) and puts the answer into
the zones it publishes, never per query:

- `apply(zones)` (the publisher, before every publish) returns the zones
  with each outside alias (targets.is_outside) replaced by plain records:
  a simple alias becomes an RRset of the target's addresses, a routed one
  (SetIdentifier) a routed record set carrying them, so the core chooses
  among them as among any other; it also says which owner names changed
  since the previous call, for the incremental compiler
  (serving.ServedZones.publish);
- a thread refreshes every target before its TTL runs out (at half of it,
  within [min_refresh, max_refresh]); when the addresses change it wakes
  the publisher, which publishes just the owners that point at the target;
- when the resolver fails (timeout, SERVFAIL...), the last good answer keeps
  being served, and the target is asked again with a backoff;
- EvaluateTargetHealth applies to the resolution outcome: a routed alias
  that evaluates its target carries a health slot of its own
  ("zonefront:outside:<target>:<type>") that is healthy while the target has
  addresses (fresh, or the last good ones) and unhealthy after the
  target's authorities answered NXDOMAIN or NODATA, or before any answer;
  the bit flips in the health table without a recompile.  (An alias with a
  HealthCheckId of its own keeps that check instead.)

A target never resolved yet is left as the alias it was: the core answers
it NODATA, as before.  Only A and AAAA aliases are followed.
"""
from __future__ import annotations

import dataclasses
from .. import lightclass
import logging
import threading
import time
from collections.abc import Callable

from .. import model
from ..model import TYPE_A, TYPE_AAAA, RoutedRRset, RRset, RRsetMap, Zone
from . import stub
from .targets import is_outside

log = logging.getLogger("zonefront.outside")

Changes = dict[bytes, "set[bytes] | None"]


@dataclasses.dataclass
class Target:
    """What one (target name, type) resolves to, and when to ask again."""

    rdatas: tuple[bytes, ...] = ()  # the last good addresses (kept through failures)
    ttl: int = 0  # the TTL they are served with
    resolved: bool = False  # some authority answered (ok, nxdomain or nodata)
    due: float = 0.0  # monotonic time of the next question
    failures: int = 0  # resolver failures in a row (backoff)
    detail: str = ""  # the last failure, for logs

    @property
    def healthy(self) -> bool:
        return bool(self.rdatas)


def check_id(name: bytes, rtype: int) -> str:
    """The health-table id of an outside target (EvaluateTargetHealth)."""
    return f"zonefront:outside:{model.name_to_text(name)}:{rtype}"


class OutsideAliases:
    def __init__(self, resolver: tuple[str, int], health=None,
                 wake: Callable[[], None] = lambda: None, min_refresh: float = 1.0,
                 max_refresh: float = 3600.0, timeout: float = 2.0,
                 first_budget: float = 3.0):
        self.resolver = resolver
        self.health = health  # health.table.HealthTable, or None
        self.wake = wake  # tells the publisher that apply() has news
        self.min_refresh, self.max_refresh = min_refresh, max_refresh
        self.timeout = timeout
        self.first_budget = first_budget  # seconds apply() may spend on new targets
        self.targets: dict[tuple[bytes, int], Target] = {}
        self._moved: set[tuple[bytes, int]] = set()  # addresses changed since apply()
        self._lock = threading.Lock()
        self._kick = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # origin -> (input zone, the target states it was built with, output zone)
        self._built: dict[bytes, tuple[Zone, tuple, Zone]] = {}
        self.stats = {"asked": 0, "failed": 0, "changed": 0}

    # -- the refresh thread -----------------------------------------------------

    def start(self) -> OutsideAliases:
        self._thread = threading.Thread(target=self._run, name="zonefront-outside",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._kick.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            with self._lock:
                due = [k for k, t in self.targets.items() if t.due <= now]
                nxt = min((t.due for t in self.targets.values()), default=now + 1.0)
            moved = False
            for key in due:
                if self._stop.is_set():
                    return
                moved |= self.refresh(key)
            if moved:
                self.wake()
            if not due:
                self._kick.wait(max(0.05, min(1.0, nxt - time.monotonic())))
                self._kick.clear()

    def refresh(self, key: tuple[bytes, int]) -> bool:
        """Ask about one target now; True when its addresses changed."""
        out = stub.resolve(self.resolver, key[0], key[1], self.timeout)
        now = time.monotonic()
        with self._lock:
            self.stats["asked"] += 1
            t = self.targets.get(key)
            if t is None:
                return False
            before = (t.rdatas, t.ttl)
            was_healthy = t.healthy if t.resolved else None
            if out.status == stub.ERROR:
                self.stats["failed"] += 1
                t.failures += 1
                t.detail = out.detail
                t.due = now + min(30.0, self.min_refresh * 2 ** min(t.failures, 5))
                if t.failures == 1:
                    log.warning("alias target %s: resolver %s:%d failed (%s); serving the "
                                "last answer", model.name_to_text(key[0]), *self.resolver,
                                out.detail)
            else:
                t.failures, t.detail, t.resolved = 0, "", True
                if out.status == stub.OK:
                    if set(out.rdatas) != set(t.rdatas):
                        t.rdatas, t.ttl = out.rdatas, out.ttl
                    t.due = now + self._refresh_after(out.ttl)
                else:  # the target's authorities say it has none
                    t.rdatas, t.ttl = (), 0
                    t.due = now + self._refresh_after(self.min_refresh * 30)
            moved = (t.rdatas, t.ttl) != before
            if moved:
                self._moved.add(key)
                self.stats["changed"] += 1
            healthy = t.healthy
        if self.health is not None and (t.resolved and was_healthy != healthy):
            self.health.set(check_id(*key), healthy)
        return moved

    def _refresh_after(self, ttl: float) -> float:
        """Before the answer expires: at half its TTL, within the bounds."""
        return max(self.min_refresh, min(self.max_refresh, ttl / 2))

    # -- the publisher's side ---------------------------------------------------

    def apply(self, zones: list[Zone]) -> tuple[list[Zone], Changes]:
        """`zones` with outside aliases made records, and the owners whose
        answers moved since the last call for reasons the zones do not show
        (a target's addresses changed)."""
        ours = {z.source.rsplit("/", 1)[-1] for z in zones if z.source}
        wanted: dict[Zone, list[RoutedRRset]] = {}
        for z in zones:
            recs = [r for r in z.routed if r.alias_name is not None
                    and r.rtype in (TYPE_A, TYPE_AAAA) and is_outside(r.alias_zone, ours)]
            if recs:
                wanted[id(z)] = recs
        self._track({(r.alias_name, r.rtype) for recs in wanted.values() for r in recs})
        with self._lock:
            moved, self._moved = self._moved, set()
            states = {k: (t.rdatas, t.ttl, t.resolved) for k, t in self.targets.items()}
        out: list[Zone] = []
        changed: Changes = {}
        built: dict[bytes, tuple[Zone, tuple, Zone]] = {}
        for z in zones:
            recs = wanted.get(id(z))
            if not recs:
                out.append(z)
                continue
            keys = sorted({(r.alias_name, r.rtype) for r in recs})
            sig = tuple((k, states.get(k)) for k in keys)
            prev = self._built.get(z.origin)
            if prev is not None and prev[0] is z and prev[1] == sig:
                new = prev[2]
            else:
                new = self._expand(z, recs, states)
                owners = {r.owner for r in recs if (r.alias_name, r.rtype) in moved}
                if prev is not None and prev[0] is z:
                    # same records, other addresses: the owners pointing at them
                    owners |= {r.owner for r in recs
                               if dict(prev[1]).get((r.alias_name, r.rtype)) !=
                               states.get((r.alias_name, r.rtype))}
                if owners:
                    changed[z.origin] = owners
            built[z.origin] = (z, sig, new)
            out.append(new)
        self._built = built
        return out, changed

    def _track(self, keys: set[tuple[bytes, int]]) -> None:
        """Follow exactly `keys`; new ones are asked at once (within the
        budget), so a change that adds an alias is served resolved."""
        with self._lock:
            for k in list(self.targets):
                if k not in keys:
                    del self.targets[k]
            new = [k for k in keys if k not in self.targets]
            for k in new:
                self.targets[k] = Target(due=time.monotonic() + 3600)  # asked below
        deadline = time.monotonic() + self.first_budget
        for k in new:
            if time.monotonic() < deadline:
                self.refresh(k)
            with self._lock:
                t = self.targets.get(k)
                if t is not None and t.due > time.monotonic() + 3000:
                    t.due = time.monotonic()  # over budget: the thread asks
            if self.health is not None:
                with self._lock:
                    t = self.targets.get(k)
                    healthy = t is not None and t.healthy
                self.health.set(check_id(*k), healthy)
        if new:
            self._kick.set()

    def _expand(self, z: Zone, recs: list[RoutedRRset], states: dict) -> Zone:
        simple: dict[tuple[bytes, int], RRset] = {}
        replace: dict[int, RoutedRRset | None] = {}
        for r in recs:
            rdatas, ttl, resolved = states.get((r.alias_name, r.rtype), ((), 0, False))
            if not rdatas and not (resolved and r.set_id and r.alias_evaluate_health):
                continue  # never resolved, or nothing to serve: the alias stays (NODATA)
            if r.set_id is None:
                replace[id(r)] = None
                simple[(r.owner, r.rtype)] = RRset(r.owner, r.rtype, ttl, list(rdatas))
                continue
            health = r.health_check
            if health is None and r.alias_evaluate_health:
                health = check_id(r.alias_name, r.rtype)
                if self.health is not None:  # its slot may have been freed and made again
                    self.health.set(health, bool(rdatas))
            replace[id(r)] = lightclass.replace(
                r, rdatas=list(rdatas), ttl=ttl if rdatas else 60, alias_name=None,
                alias_zone=None, alias_evaluate_health=False, health_check=health)
        if not replace:
            return z
        routed = [replace.get(id(r), r) for r in z.routed]
        routed = [r for r in routed if r is not None]
        rrsets = z.rrsets
        if simple:
            owners = {o for o, _t in simple}
            base = rrsets if isinstance(rrsets, RRsetMap) else RRsetMap(rrsets)
            fresh = {}
            for o in owners:
                fresh.update(base.of_owner(o))
            fresh.update(simple)
            rrsets = base.with_owners(owners, fresh)
        return lightclass.replace(z, rrsets=rrsets, routed=routed)


def outside_aliases(config, health, wake) -> OutsideAliases | None:
    """The follower `config` asks for ([alias] resolver), started; None for
    "none", or "system" with no nameserver in /etc/resolv.conf."""
    from ..netaddr import parse_hostport

    if config.alias_resolver == "none":
        return None
    if config.alias_resolver == "system":
        server = stub.system_resolver()
        if server is None:
            log.warning("no nameserver in /etc/resolv.conf: aliases to outside names "
                        "answer NODATA ([alias] resolver sets one)")
            return None
    else:
        server = parse_hostport(config.alias_resolver, 53)
    return OutsideAliases(server, health, wake, min_refresh=config.alias_min_refresh).start()
