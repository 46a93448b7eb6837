"""Snapshot files: a compiled image as it will sit in memory.

Loading is the restart path of every node, so a snapshot is a small msgpack
header followed by the image's arrays as raw, 64-octet aligned bytes.  A
reader maps the file and hands the engine views into the mapping, which it
copies once into its arena: no per-array Python object, no second copy, and
nothing left behind in the heap after the load.

  "ZFSNAP\\0", u8 version, u32 header length,
  (u64 offset, u64 length) per array in compiler.ARRAY_NAMES order,
  msgpack header {magic, version, serial, zones}, the arrays

A handoff file (`handoff=True`: the image a forked compiler child hands its
parent, serving.compile_in_child) is the same with "ZFHAND\\0" and the
header in `marshal`: neither process then imports msgpack on a zone file's
way to its first answer (6 ms of the server's start and 0.6 MB of its RSS,
bench/RESULTS.md §9, 2026-12-06 rss1m).  marshal is for data this very
Python wrote, which a handoff file is (0600, read back at once, deleted);
a file from disk or the network is always a snapshot.
"""
from __future__ import annotations

import marshal
import mmap
import os
import struct
import sys
import time

from .layout import ARRAY_NAMES
from ..errors import InputError

TYPE_CHECKING = False  # typing itself is not imported on the way to a first answer
if TYPE_CHECKING:
    from .compiler import CompiledArrays

MAGIC = "zonefront-snapshot"
FORMAT_VERSION = 8  # 2: routing policy tables; 3: node/block records, raw arrays; 4: zone rows;
# 5: SOA serials per zone row (serial fixups); 6: online-signing templates (layout.py BF_ONLINE);
# 7: a signed zone's SOA serial and RRSIG as rows (fixup kind G), which a build reading 6 would
# refuse with a confusing "serials do not match"; 8: NSEC3 proofs name their zone's row, whose
# root block holds the chain (nsec3.MODE_CHAIN), which a build reading 7 would call malformed
_LEAD = struct.Struct("<7sBI")
_LEAD_MAGIC = b"ZFSNAP\0"
_HANDOFF_MAGIC = b"ZFHAND\0"
_TABLE = struct.Struct(f"<{2 * len(ARRAY_NAMES)}Q")  # (offset, length) of each array
_ALIGN = 64
_MAX_HEADER = 64 << 20


class SnapshotError(InputError, ValueError):
    """A snapshot that cannot be served: unreadable, foreign or corrupt."""


def _pad(n: int) -> int:
    return -n % _ALIGN


def dumps(image: "CompiledArrays", serial: int | None = None, lineage: str | None = None) -> bytes:
    """`lineage`: the compiler run whose patches apply to these streams
    (serving.Built.lineage), for edges that apply them."""
    return b"".join(_chunks(image, serial, lineage))


def _chunks(image: "CompiledArrays", serial: int | None, lineage: str | None = None,
            handoff: bool = False):
    if sys.byteorder != "little":
        raise SnapshotError("snapshots are written on little-endian machines only")
    arrays = image.arrays()
    doc = {
        "magic": MAGIC,
        "version": FORMAT_VERSION,
        "serial": serial if serial is not None else int(time.time()),
        "zones": image.zones,
        "lineage": lineage,
    }
    if handoff:
        header = marshal.dumps(doc)
    else:
        import msgpack  # not on the zone-file start path (handoff)

        header = msgpack.packb(doc, use_bin_type=True)
    pos = _LEAD.size + _TABLE.size + len(header)
    pos += _pad(pos)
    table = []
    for k in ARRAY_NAMES:
        table += [pos, len(arrays[k])]
        pos += len(arrays[k]) + _pad(len(arrays[k]))
    magic = _HANDOFF_MAGIC if handoff else _LEAD_MAGIC
    head = _LEAD.pack(magic, FORMAT_VERSION, len(header)) + _TABLE.pack(*table) + header
    yield head
    yield bytes(_pad(len(head)))
    for k in ARRAY_NAMES:
        yield arrays[k]
        yield bytes(_pad(len(arrays[k])))


def write(path: "str | int", image: "CompiledArrays", serial: int | None = None,
          durable: bool = True, handoff: bool = False) -> None:
    """Write atomically: a reader never sees half a snapshot.  `durable`
    (fsync before the rename) is for files that outlive this run; a
    snapshot handed from a compiler child to its parent skips it (5-10 ms
    of a 100k-name zone's way to its first answer), and is a `handoff`
    file (see the top).  `path` may be an open descriptor instead (the
    memfd a compiler child hands its image in, serving.compile_in_child):
    written from its start, never renamed nor synced, left open."""
    if isinstance(path, int):
        with open(path, "wb", closefd=False) as f:
            for chunk in _chunks(image, serial, handoff=handoff):
                f.write(chunk)
        return
    tmp = f"{path}.tmp.{os.getpid()}"
    # 0600: a signed zone's snapshot holds its ZSK (dnssec/online.py)
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        for chunk in _chunks(image, serial, handoff=handoff):
            f.write(chunk)
        if durable:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)


def loads(blob, source: str = "<snapshot>", handoff: bool = False) -> tuple[dict, dict]:
    """Returns (arrays, meta); arrays are memoryviews into `blob`, meta has
    serial and zones.  `handoff`: a handoff file (see the top), never
    anything read from disk or the network."""
    view = memoryview(blob).cast("B")
    if len(view) < _LEAD.size:
        raise SnapshotError(f"{source}: not a zonefront snapshot")
    magic, version, hlen = _LEAD.unpack_from(view, 0)
    if magic != (_HANDOFF_MAGIC if handoff else _LEAD_MAGIC):
        raise SnapshotError(f"{source}: not a zonefront snapshot")
    if version != FORMAT_VERSION:
        raise SnapshotError(f"{source}: snapshot format {version}, this zonefront reads {FORMAT_VERSION}")
    start = _LEAD.size + _TABLE.size
    if hlen > _MAX_HEADER or start + hlen > len(view):
        raise SnapshotError(f"{source}: snapshot header is truncated")
    try:
        if handoff:
            doc = marshal.loads(view[start : start + hlen])
        else:
            import msgpack

            doc = msgpack.unpackb(view[start : start + hlen], raw=False, strict_map_key=False)
    except Exception as e:  # msgpack raises several unrelated types
        raise SnapshotError(f"{source}: not a snapshot ({e})") from None
    if not isinstance(doc, dict) or doc.get("magic") != MAGIC or doc.get("version") != version:
        raise SnapshotError(f"{source}: not a zonefront snapshot")
    table = _TABLE.unpack_from(view, _LEAD.size)
    arrays = {}
    for i, k in enumerate(ARRAY_NAMES):
        off, length = table[2 * i], table[2 * i + 1]
        if off + length > len(view):
            raise SnapshotError(f"{source}: snapshot array {k!r} is truncated")
        arrays[k] = view[off : off + length]
    return arrays, {"serial": doc.get("serial", 0), "zones": doc.get("zones", []),
                    "lineage": doc.get("lineage")}


def read(path: "str | int", handoff: bool = False) -> tuple[dict, dict]:
    """Maps the file: the arrays are views of the page cache until the
    engine copies them.  `path` may be an open descriptor (a handoff
    memfd), which stays open."""
    if isinstance(path, int):
        return _read_fd(path, f"<descriptor {path}>", handoff)
    with open(path, "rb") as f:
        return _read_fd(f.fileno(), path, handoff)


def _read_fd(fd: int, source: str, handoff: bool) -> tuple[dict, dict]:
    size = os.fstat(fd).st_size
    if size == 0:
        raise SnapshotError(f"{source}: not a zonefront snapshot")
    mapped = mmap.mmap(fd, size, access=mmap.ACCESS_READ)
    return loads(mapped, source, handoff)
