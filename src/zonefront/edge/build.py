"""Published zones -> the engine an edge serves, the same way `zonefront
serve` builds it (cli.ZoneSource): one public image from the public zones
(first zone of an origin wins) plus per-VPC views of the private zones.

The public image is returned too, so that the edge can keep it on disk as a
snapshot (snapshot/format.py) and serve it at once after a restart.
"""
from __future__ import annotations

from .. import model
from ..health.table import NO_SLOT, SLOTS
from ..snapshot.compiler import Image, compile_zones


class MirrorHealth:
    """The control plane's health table as an edge sees it: the same slot
    numbers (shipped with the zones), and a buffer overwritten in place with
    the control plane's (the core keeps its address, so it never moves)."""

    def __init__(self, slots: int = SLOTS):
        self.buffer = bytearray(b"\x01" * slots)
        self.slots: dict[str, int] = {}

    def slot(self, check_id: str) -> int:
        # a check the control plane has no slot for is served healthy, as there
        return self.slots.get(check_id, NO_SLOT)

    def update(self, raw: bytes) -> None:
        n = min(len(raw), len(self.buffer))
        self.buffer[:n] = raw[:n]


def public_zones(zones: list[model.Zone]) -> list[model.Zone]:
    """cli.ZoneSource.build's rule: a private zone is never public, and of
    several public zones of one origin the first is served."""
    out, seen = [], set()
    for z in zones:
        if z.origin not in seen and not z.private:
            seen.add(z.origin)
            out.append(z)
    return out


def compile_public(zones: list[model.Zone], health, cidr: dict) -> Image:
    return compile_zones(public_zones(zones), health, cidr)


def build_engine(zones: list[model.Zone], health, cidr: dict, vpcs: dict, geo=None,
                 udp_max: int = 1232):
    """(Engine, public Image).  Raises ValueError (old engine keeps serving)."""
    from ..cli import ZoneSource
    from ..core.engine import Engine

    image = compile_public(zones, health, cidr)
    engine = Engine(image.arrays(), image.zones, udp_max=udp_max)
    engine.attach(geo, health)
    if any(z.private for z in zones):
        src = ZoneSource([], None, udp_max, geo)
        src.api_zones = list(zones)
        src.health = health
        src.vpcs = lambda: vpcs
        views = src.build_views(cidr) if hasattr(src, "build_views") else []
        if views:
            engine.image.set_views(views)
    return engine, image
