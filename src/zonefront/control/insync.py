"""When a committed change is INSYNC: decided here and only here.

GetChange reports INSYNC once the change is answered everywhere it is
served.  The publisher calls `served(seq, serial)` after the local DNS
workers answer from a publish (ServedZones.publish returned) that covers
every change up to `seq`, and that the edges know as `serial`; the change
turns INSYNC at once when no edge is live, and otherwise once every live
edge reports that serial or a later one (edge/hub.py keeps the reports and
calls `evaluate` when they move).  Marks are made in order, each once.
"""
from __future__ import annotations

import collections
import logging
import threading
from typing import Callable, Protocol

log = logging.getLogger("zonefront.control")


class EdgeReports(Protocol):
    def served_serial(self) -> int | None:
        """The oldest serial every live edge serves; None with no live edge."""


class InsyncGate:
    def __init__(self, mark_insync: Callable[[int], None], edges: EdgeReports | None = None):
        self.mark_insync = mark_insync  # store.mark_insync: changes up to seq are INSYNC
        self.edges = edges
        self._pending: collections.deque[tuple[int, int]] = collections.deque()  # (serial, seq)
        self._lock = threading.Lock()
        self._mark_lock = threading.Lock()  # marks in order, one at a time
        self.insync_seq = 0  # changes up to here are marked INSYNC

    def served(self, seq: int, serial: int) -> None:
        """The local workers answer from publish `serial`, covering changes up
        to `seq`."""
        with self._lock:
            self._pending.append((serial, seq))
        self.evaluate()

    def evaluate(self) -> None:
        """Mark INSYNC what every live edge serves (everything pending when
        none is live)."""
        edge_serial = self.edges.served_serial() if self.edges is not None else None
        upto = None
        with self._lock:
            while self._pending and (edge_serial is None or self._pending[0][0] <= edge_serial):
                upto = self._pending.popleft()[1]
        if upto is None:
            return
        with self._mark_lock:
            if upto > self.insync_seq:
                try:
                    self.mark_insync(upto)
                    self.insync_seq = upto
                except Exception:  # the store closing under a late edge report
                    log.exception("marking changes up to %d INSYNC failed", upto)
