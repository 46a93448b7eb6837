"""Health bits shared between the checker threads and the compiled data plane.

The checkers (health/) write one octet per health check; the routing code in
core/ reads it with no lock, accepting a value up to one batch old
(a health change is seconds apart; a lock per query would cost every answer).
The buffer is allocated once and never resized, so the C side can keep its
address for the life of the process.  1 = healthy, 0 = unhealthy.  A check
that has no slot (deleted, or unknown to this process) counts as healthy,
as Route 53 treats a record whose health check was deleted.

A deleted check is *retired* rather than released: its slot reads healthy
but stays reserved until a publish has replaced every compiled zone that
could still hold the slot number (`collect()`, called by the control plane
after each publish).  Releasing at once would let a new check reuse the
slot while a served zone still points at it.

`latency` holds the last measured connect time per slot in milliseconds
(0 = not measured), for checks with MeasureLatency.
"""
from __future__ import annotations

import threading
from array import array
from typing import Callable

SLOTS = 65536
NO_SLOT = 0xFFFF  # what the compiler stores for "no health check": healthy


class HealthTable:
    def __init__(self, slots: int = SLOTS):
        self.buffer = bytearray(b"\x01" * slots)
        self._slots: dict[str, int] = {}
        self._free: list[int] = list(range(slots - 1, -1, -1))
        self._lock = threading.Lock()
        self._listeners: list[Callable[[str, bool], None]] = []
        self._retired: set[str] = set()  # deleted checks whose slot is still reserved
        self.latency = array("H", bytes(2 * slots))  # ms, saturating at 65535

    def slot(self, check_id: str) -> int:
        """The slot of a check, assigned on first use (compiler and checkers
        both call this; the answer is the same for the life of the check)."""
        with self._lock:
            got = self._slots.get(check_id)
            if got is None:
                if not self._free:
                    raise RuntimeError("health table full")
                got = self._slots[check_id] = self._free.pop()
                self.buffer[got] = 1
            return got

    def set(self, check_id: str, healthy: bool) -> bool:
        """Record a state; returns True when it changed."""
        i = self.slot(check_id)
        new = 1 if healthy else 0
        if self.buffer[i] == new:
            return False
        self.buffer[i] = new
        for cb in list(self._listeners):
            cb(check_id, healthy)
        return True

    def get(self, check_id: str) -> bool:
        with self._lock:
            i = self._slots.get(check_id)
        return True if i is None else bool(self.buffer[i])

    def release(self, check_id: str) -> None:
        """A deleted check: its records are served as healthy from now on."""
        with self._lock:
            i = self._slots.pop(check_id, None)
            self._retired.discard(check_id)
            if i is not None:
                self.buffer[i] = 1
                self.latency[i] = 0
                self._free.append(i)

    def retire(self, check_id: str) -> None:
        """A deleted check: healthy from now on; the slot is freed by collect()."""
        with self._lock:
            if check_id not in self._slots:
                return
            self._retired.add(check_id)
        self.set(check_id, True)

    def collect(self, keep: set[str] | frozenset = frozenset(),
                live: set[str] | None = None) -> int:
        """Free the slots of retired checks (and, given `live`, of ids that are
        not live checks) that no served record refers to (`keep`).  Call only
        after a publish has made `keep` the complete set of referenced ids.
        Returns the number of slots freed."""
        with self._lock:
            drop = [c for c in self._retired if c not in keep]
            if live is not None:
                drop += [c for c in self._slots
                         if c not in live and c not in keep and c not in self._retired]
            for c in drop:
                self._retired.discard(c)
                i = self._slots.pop(c, None)
                if i is not None:
                    self.buffer[i] = 1
                    self.latency[i] = 0
                    self._free.append(i)
            return len(drop)

    def set_latency(self, check_id: str, ms: float) -> None:
        self.latency[self.slot(check_id)] = max(0, min(65535, int(round(ms))))

    def get_latency(self, check_id: str) -> int:
        with self._lock:
            i = self._slots.get(check_id)
        return 0 if i is None else self.latency[i]

    def states(self) -> dict[str, bool]:
        with self._lock:
            return {k: bool(self.buffer[i]) for k, i in self._slots.items()}

    def on_change(self, callback: Callable[[str, bool], None]) -> None:
        self._listeners.append(callback)
