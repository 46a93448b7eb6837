"""Snapshot files: one msgpack document holding a compiled image.

Loading is the restart path of every node, so the document keeps the image
as a handful of large binary fields: unpacking costs one copy per array and
the only per-name work left is building the hash table, in C.
"""
from __future__ import annotations

import os
import sys
import time

import msgpack

from .compiler import ARRAY_NAMES, Image

MAGIC = "zonefront-snapshot"
FORMAT_VERSION = 2  # 2: routing policy tables


class SnapshotError(ValueError):
    """A snapshot that cannot be served: unreadable, foreign or corrupt."""


def dumps(image: Image, serial: int | None = None) -> bytes:
    if sys.byteorder != "little":
        raise SnapshotError("snapshots are written on little-endian machines only")
    doc = {
        "magic": MAGIC,
        "version": FORMAT_VERSION,
        "serial": serial if serial is not None else int(time.time()),
        "zones": image.zones,
        "image": image.arrays(),
    }
    return msgpack.packb(doc, use_bin_type=True)


def write(path: str, image: Image, serial: int | None = None) -> None:
    """Write atomically: a reader never sees half a snapshot."""
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(dumps(image, serial))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def loads(blob: bytes, source: str = "<snapshot>") -> tuple[dict, dict]:
    """Returns (arrays, meta); meta has serial and zones."""
    try:
        doc = msgpack.unpackb(blob, raw=False, strict_map_key=False)
    except Exception as e:  # msgpack raises several unrelated types
        raise SnapshotError(f"{source}: not a snapshot ({e})") from None
    if not isinstance(doc, dict) or doc.get("magic") != MAGIC:
        raise SnapshotError(f"{source}: not a zonefront snapshot")
    if doc.get("version") != FORMAT_VERSION:
        raise SnapshotError(
            f"{source}: snapshot format {doc.get('version')!r}, this zonefront reads {FORMAT_VERSION}"
        )
    arrays = doc.get("image")
    if not isinstance(arrays, dict) or any(not isinstance(arrays.get(k), bytes) for k in ARRAY_NAMES):
        raise SnapshotError(f"{source}: snapshot image is incomplete")
    return arrays, {"serial": doc.get("serial", 0), "zones": doc.get("zones", [])}


def read(path: str) -> tuple[dict, dict]:
    with open(path, "rb") as f:
        return loads(f.read(), path)
