"""The checker pool: probes every (check, location) pair at its interval.

Bounded by construction: `threads` asyncio loops (checks are sharded over
them by id), and per loop a semaphore of `max_sockets` probes in flight,
each holding one socket.  A probe's connect and read timeouts are scaled
down to fit in its interval, so a (check, location) never has two probes
running and a hung target costs one timeout per round.

The schedule is fixed-rate: the n-th probe of a pair is due at
first_due + n * interval, whatever the previous probe took.  The pairs of
one check start at evenly spread offsets, so the target is probed about
every interval / locations seconds, as Route 53's checkers spread out.
`stats()` reports the lag between due time and the actual start; a pool
that cannot keep up shows it there, and in `skipped` (rounds dropped
because the previous probe of the pair was still running).

Each location keeps Route 53's per-checker verdict: it changes only after
FailureThreshold consecutive probes disagree with it.  Every probe goes to
`sink(check_id, location, state, result, checked_wall_time)`, called on
the loop thread.
"""
from __future__ import annotations

import asyncio
import heapq
import logging
import threading
import time
import zlib
from collections import deque
from typing import Callable

from .probe import Result, probe
from .spec import CheckSpec

log = logging.getLogger("zonefront.health")

LAG_SAMPLES = 200_000  # recent lags kept for percentiles


class _Pair:
    """One check probed from one location."""

    __slots__ = ("spec", "location", "gen", "running", "state", "streak", "due")

    def __init__(self, spec: CheckSpec, location: str):
        self.spec = spec
        self.location = location
        self.gen = 0  # bumped when the schedule changes; stale heap entries are skipped
        self.running = False
        self.state = True  # Route 53's checkers start out healthy
        self.streak = 0  # consecutive probes that disagree with `state`
        self.due = 0.0

    def record(self, ok: bool) -> None:
        if ok == self.state:
            self.streak = 0
            return
        self.streak += 1
        if self.streak >= self.spec.threshold:
            self.state = ok
            self.streak = 0


def probe_timeouts(interval: float, connect: float, read: float) -> tuple[float, float]:
    """Connect and read timeouts scaled to fit in one interval (with 10% spare)."""
    budget = interval * 0.9
    if connect + read <= budget:
        return connect, read
    scale = budget / (connect + read)
    return connect * scale, read * scale


class _Shard:
    """One asyncio loop thread and the pairs hashed to it."""

    def __init__(self, pool: CheckerPool, index: int):
        self.pool = pool
        self.index = index
        self.loop = asyncio.new_event_loop()
        self.pairs: dict[tuple[str, str], _Pair] = {}
        self.heap: list[tuple[float, int, tuple[str, str], int]] = []
        self.seq = 0
        self.wake: asyncio.Event | None = None
        self.sem: asyncio.Semaphore | None = None
        self.inflight = 0
        self.thread = threading.Thread(target=self._main, name=f"zonefront-checker-{index}",
                                       daemon=True)
        self.stopping = False

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.wake = asyncio.Event()
        self.sem = asyncio.Semaphore(self.pool.max_sockets)
        try:
            self.loop.run_until_complete(self._schedule())
        finally:
            for t in asyncio.all_tasks(self.loop):
                t.cancel()
            self.loop.run_until_complete(asyncio.sleep(0))
            self.loop.close()

    def call(self, fn, *args) -> None:
        try:
            self.loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # loop closed: the pool is stopping
            pass

    # -- on the loop thread ------------------------------------------------

    def put(self, spec: CheckSpec, locations: list[str]) -> None:
        now = time.monotonic()
        want = set(locations) if spec.probed else set()
        for key in [k for k in self.pairs if k[0] == spec.id and k[1] not in want]:
            self.pairs.pop(key).gen += 1
        n = len(locations)
        base = (zlib.crc32(spec.id.encode()) % 1000) / 1000.0
        for i, loc in enumerate(locations):
            if loc not in want:
                continue
            key = (spec.id, loc)
            pair = self.pairs.get(key)
            if pair is not None:
                old = pair.spec
                pair.spec = spec
                if old.interval == spec.interval:
                    continue
                pair.gen += 1
            else:
                pair = self.pairs[key] = _Pair(spec, loc)
            offset = ((base + i / n) % 1.0) * spec.interval
            pair.due = now + offset
            self._push(pair)
        self.wake.set()

    def remove(self, check_id: str) -> None:
        for key in [k for k in self.pairs if k[0] == check_id]:
            self.pairs.pop(key).gen += 1

    def _push(self, pair: _Pair) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (pair.due, self.seq, (pair.spec.id, pair.location),
                                   pair.gen))

    async def _schedule(self) -> None:
        while not self.stopping:
            now = time.monotonic()
            while self.heap and self.heap[0][0] <= now:
                due, _s, key, gen = heapq.heappop(self.heap)
                pair = self.pairs.get(key)
                if pair is None or pair.gen != gen:
                    continue
                if pair.running:
                    self.pool.skipped += 1
                else:
                    pair.running = True
                    self.loop.create_task(self._probe(pair, due))
                nxt = due + pair.spec.interval
                while nxt <= now:  # fell a whole interval behind: drop rounds, keep phase
                    nxt += pair.spec.interval
                    self.pool.skipped += 1
                pair.due = nxt
                self._push(pair)
            delay = self.heap[0][0] - now if self.heap else 1.0
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), max(delay, 0.0))
            except TimeoutError:
                pass

    async def _probe(self, pair: _Pair, due: float) -> None:
        pool = self.pool
        spec = pair.spec
        try:
            async with self.sem:
                pool.note_lag(time.monotonic() - due)
                self.inflight += 1
                pool.note_inflight(self.inflight)
                try:
                    ct, rt = probe_timeouts(spec.interval, pool.connect_timeout,
                                            pool.read_timeout)
                    result = await probe(spec, pair.location, ct, rt)
                finally:
                    self.inflight -= 1
            if self.pairs.get((spec.id, pair.location)) is not pair:
                return  # removed while probing
            pair.record(result.ok)
            pool.probes += 1
            try:
                pool.sink(spec.id, pair.location, pair.state, result, time.time())
            except Exception:
                log.exception("health sink failed for %s", spec.id)
        finally:
            pair.running = False


class CheckerPool:
    def __init__(self, locations: list[str],
                 sink: Callable[[str, str, bool, Result, float], None],
                 threads: int = 1, max_sockets: int = 512, connect_timeout: float = 4.0,
                 read_timeout: float = 2.0):
        self.locations = list(locations)
        self.sink = sink
        self.max_sockets = max_sockets
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.shards = [_Shard(self, i) for i in range(max(1, threads))]
        self.lags: deque[float] = deque(maxlen=LAG_SAMPLES)
        self.probes = 0
        self.skipped = 0
        self.max_inflight = 0
        self._lock = threading.Lock()
        self._started = False

    def start(self) -> None:
        for s in self.shards:
            s.thread.start()
        # the loops create their Event/Semaphore on their own thread first
        for s in self.shards:
            while s.wake is None:
                time.sleep(0.001)
        self._started = True

    def stop(self) -> None:
        for s in self.shards:
            s.stopping = True
            if s.wake is not None:
                s.call(s.wake.set)
        for s in self.shards:
            s.thread.join(timeout=5)

    def _shard(self, check_id: str) -> _Shard:
        return self.shards[zlib.crc32(check_id.encode()) % len(self.shards)]

    def locations_for(self, spec: CheckSpec) -> list[str]:
        """Regions pick among the configured locations; a check whose Regions
        name none of them is probed from all of them."""
        if spec.regions:
            picked = [loc for loc in self.locations if loc in spec.regions]
            if picked:
                return picked
        return list(self.locations)

    def put(self, spec: CheckSpec) -> None:
        shard = self._shard(spec.id)
        shard.call(shard.put, spec, self.locations_for(spec))

    def remove(self, check_id: str) -> None:
        shard = self._shard(check_id)
        shard.call(shard.remove, check_id)

    # -- stats -------------------------------------------------------------

    def note_lag(self, lag: float) -> None:
        self.lags.append(lag)

    def note_inflight(self, n: int) -> None:
        if n > self.max_inflight:
            self.max_inflight = n

    def stats(self) -> dict:
        lags = sorted(self.lags)

        def pct(p: float) -> float:
            return lags[min(len(lags) - 1, int(p * len(lags)))] if lags else 0.0

        return {"probes": self.probes, "skipped": self.skipped, "threads": len(self.shards),
                "max_inflight": self.max_inflight, "lag_samples": len(lags),
                "lag_p50": pct(0.50), "lag_p99": pct(0.99), "lag_max": lags[-1] if lags else 0.0,
                "pairs": sum(len(s.pairs) for s in self.shards)}

    def reset_stats(self) -> None:
        self.lags.clear()
        self.probes = self.skipped = self.max_inflight = 0
