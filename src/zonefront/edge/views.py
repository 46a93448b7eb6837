"""The private views an edge serves, as the control plane compiled them
(documents.py's views document), so that private zones cost an edge no
compile: not when it joins, not when a private zone changes, not when it
restarts from disk."""
from __future__ import annotations

import dataclasses

from ..core.engine import Engine
from ..snapshot import format as snapshot_format
from . import documents


@dataclasses.dataclass
class HeldViews:
    """The views document of one publish (epoch, serial), loaded."""

    epoch: str
    serial: int
    images: list  # [(core Image, CIDR blocks)]: what Image.set_views takes
    blob: bytes | None  # the document as fetched, until it is on disk (then None)


def load(blob: bytes, udp_max: int, geo, health, what: str = "views") -> HeldViews:
    """Each view loaded as an image of its own, reading the edge's geo data
    and health mirror as the public image does.  Raises FormatError or
    SnapshotError: nothing is served from a document that does not load."""
    epoch, serial, docs = documents.loads_views(blob, what)
    images = []
    for i, (snap, cidrs) in enumerate(docs):
        arrays, meta = snapshot_format.loads(snap, f"{what}: view {i}")
        engine = Engine(arrays, meta["zones"], serial, udp_max)
        engine.attach(geo, health)
        images.append((engine.image, cidrs))
    return HeldViews(epoch, serial, images, blob)
