"""The control plane's health table as an edge holds it: an edge compiles
its zones (serving.build_engine, as `zonefront serve` does) against this
mirror, so routed answers read the same slots the control plane's do."""
from __future__ import annotations

from ..health.table import NO_SLOT, SLOTS


class MirrorHealth:
    """The same slot numbers (shipped with the zones), and a buffer
    overwritten in place with the control plane's (the core keeps its
    address, so it never moves)."""

    def __init__(self, slots: int = SLOTS):
        self.buffer = bytearray(b"\x01" * slots)
        self.slots: dict[str, int] = {}

    def slot(self, check_id: str) -> int:
        # a check the control plane has no slot for is served healthy, as there
        return self.slots.get(check_id, NO_SLOT)

    def update(self, raw: bytes) -> None:
        n = min(len(raw), len(self.buffer))
        self.buffer[:n] = raw[:n]
