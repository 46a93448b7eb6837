"""A big zone set's first full compile in a forked child, handed back through a memfd.

The full compile of a million record sets makes hundreds of megabytes of
short-lived Python objects (resolutions, blocks and their dedup keys) among
the few that outlive it (the dependency index, the referral offsets).
CPython's arenas and malloc's heap stay mapped while one long-lived object
sits in them, so the control plane kept ~475 MB it no longer used
(bench/RESULTS.md §9).  Here the parent builds the ZoneSet (long-lived),
forks, and the child compiles and writes what the incremental compiler
needs afterwards into a memfd; the parent checks it and rebuilds only that.
The child's temporaries go with the child.

The handoff is our own format, never pickle: a header (magic, version, the
ZoneSet's node count, payload length, CRC-32 of the payload), then

  meta    u64 length + a msgpack map: the arrays' names and lengths, the
          zone rows, compiler state (zone negatives, referral and DNAME
          offsets, pset and candidate counts, CIDR collection indexes)
  arrays  the image arrays, raw, in the order meta lists them
  deps    msgpack objects: the DependencyIndex's two maps, each as a count
          then key, value pairs

A name is sent as its position in the ZoneSet's node dict (the child is a
fork: both sides hold the same dict, in the same order), or as its bytes
when it is not a node, so the parent's index shares the nodes' own name
objects instead of a second copy of every name.

A child that dies, hangs past the timeout or sends anything that does not
check out raises HandoffError and nothing of the compiler changes;
`ForkedCompile` then compiles in this process.  A zone the compiler refuses
raises ValueError, as it does in process.  Signed zone sets are compiled in
process: the signer's key store is not to be used from a fork.
"""
from __future__ import annotations

import gc
import logging
import mmap
import os
import select
import signal
import struct
import time
import zlib

import msgpack

from ..errors import ServiceError
from ..model import Zone

log = logging.getLogger("zonefront.snapshot.handoff")

MAGIC = b"ZFHANDOF"
VERSION = 1
HEAD = struct.Struct("<8sIIQI4x")  # magic, version, nodes, payload length, crc32
U64 = struct.Struct("<Q")
# record sets from which a full compile is forked: below it the compile's
# temporaries are a few MB and the fork (page tables, copied pages) costs more
THRESHOLD = 100_000
TIMEOUT = 1800.0  # seconds: a child stuck this long (a lock held at fork) is killed
_CHUNK = 8 << 20  # octets per write() of an array

# image arrays a full compile yields, in the order they are written
ARRAY_NAMES = ("nodes", "blocks", "negatives", "dnames", "serials", "live", "psets", "cands",
               "colls", "cidr4", "cidr6", "regions")


class HandoffError(ServiceError):
    """The compile child died, timed out or handed back something that is
    not a valid handoff; nothing was changed."""


def wanted(zones: list[Zone], threshold: int | None = None) -> bool:
    """Whether a full compile of `zones` goes to a child: at least
    `threshold` record sets (None: THRESHOLD), this platform has fork and
    memfd, and no zone is signed."""
    if threshold is None:
        threshold = THRESHOLD
    if not (hasattr(os, "fork") and hasattr(os, "memfd_create")):
        return False
    if any(getattr(z, "dnssec", None) is not None for z in zones):
        return False
    return sum(len(z.rrsets) for z in zones) >= threshold


class ForkedCompile:
    """IncrementalCompiler's `full`: the full compile in a child, or in this
    process when the child fails (`forked` says which it was)."""

    def __init__(self, timeout: float = TIMEOUT):
        self.timeout = timeout
        self.forked = False

    def __call__(self, c, deps):
        try:
            out = compile_forked(c, deps, self.timeout)
            self.forked = True
            return out
        except HandoffError as e:
            log.warning("compiling in this process: %s", e)
        c.on_trace = deps.add
        return c.full()


class Handed:
    """A full compile's result read from a handoff: what IncrementalCompiler
    takes from Compiler.full() (`arrays()`, `zones`).  The arrays are views
    of the mapping, valid while this object lives."""

    def __init__(self, arrays: dict, zones: list[dict], node_count: int):
        self._arrays = arrays
        self.zones = zones
        self.node_count = node_count

    def arrays(self) -> dict:
        return dict(self._arrays)


# ---- the child's side -------------------------------------------------------


class _Slots:
    """The health table as the child sees it: the slots the parent assigned
    before forking.  The real table takes a lock another thread may have held
    at the fork, and a slot assigned in the child would never reach the parent."""

    def __init__(self, slots: dict[str, int]):
        self._slots = slots

    def slot(self, check_id: str) -> int:
        return self._slots[check_id]


def health_slots(c) -> dict[str, int]:
    """Every health check the zones' routed record sets name, with its slot
    (assigned here, in the parent, when new)."""
    health = c.b.policy.health
    out: dict[str, int] = {}
    if health is None:
        return out
    for zone in c.zs.zones:
        for top in zone.routed:
            for r in top.walk():
                if r.health_check and r.health_check not in out:
                    out[r.health_check] = health.slot(r.health_check)
    return out


def write_handoff(fd: int, c, deps, image) -> None:
    """The compiled `image` (Compiler.full's) and what the incremental
    compiler keeps of `c` and `deps`, into `fd` at its start."""
    index = {name: i for i, name in enumerate(c.zs.nodes)}

    def ref(name: bytes):
        i = index.get(name)
        return name if i is None else i

    arrays = image.arrays()
    policy = c.b.policy
    meta = {
        "arrays": [[k, len(arrays[k])] for k in ARRAY_NAMES],
        "zones": image.zones,
        "node_count": image.node_count,
        "zone_blocks": [[o, *v] for o, v in c.zone_blocks.items()],
        "referrals": [[ref(n), off] for n, off in c.referral_blocks.items()],
        "dname_index": [[ref(n), i] for n, i in c.dname_index.items()],
        "npsets": policy.npsets,
        "coll_index": [[k, idx, locs] for k, (idx, locs) in policy.coll_index.items()],
    }
    packer = msgpack.Packer(use_bin_type=True)
    crc = 0
    os.lseek(fd, HEAD.size, os.SEEK_SET)

    def put(data) -> None:
        nonlocal crc
        view = memoryview(data)
        for pos in range(0, len(view), _CHUNK):
            part = view[pos:pos + _CHUNK]
            crc = zlib.crc32(part, crc)
            while part:
                part = part[os.write(fd, part):]

    blob = packer.pack(meta)
    put(U64.pack(len(blob)))
    put(blob)
    for k in ARRAY_NAMES:
        put(arrays[k])
    for table in (deps.exact, deps.under):
        out = bytearray(packer.pack(len(table)))
        for key, value in table.items():
            out += packer.pack(ref(key))
            out += packer.pack(ref(value) if isinstance(value, bytes)
                               else [ref(v) for v in value])
            if len(out) >= _CHUNK:
                put(out)
                out = bytearray()
        put(out)
    length = os.lseek(fd, 0, os.SEEK_CUR) - HEAD.size
    os.pwrite(fd, HEAD.pack(MAGIC, VERSION, len(index), length, crc), 0)


def compile_forked(c, deps, timeout: float = TIMEOUT) -> Handed:
    """Compiler `c`'s full compile (tracing into `deps`) in a forked child;
    `c` and `deps` are then as if it had run here.  Raises ValueError (a
    zone the compiler refuses) or HandoffError (nothing changed)."""
    slots = health_slots(c)
    fd = os.memfd_create("zonefront-handoff", os.MFD_CLOEXEC)
    try:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            _child(r, w, fd, c, deps, slots)
        os.close(w)
        status, reason = _wait(pid, r, timeout)
        if status != "K":
            if status == "V":
                raise ValueError(reason)
            raise HandoffError(reason)
        return read_handoff(fd, c, deps)
    finally:
        os.close(fd)


def _child(r: int, w: int, fd: int, c, deps, slots: dict) -> None:
    """Compile, write, report on `w` and leave by _exit (no cleanup of the
    parent's objects, no flush of its buffers)."""
    code = 1
    try:
        os.close(r)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)  # the server's handlers are the parent's
        # a pass of the cyclic collector would write to every object's
        # header, copying every page the parent shares with this child
        gc.disable()
        if c.b.policy.health is not None:
            c.b.policy.health = _Slots(slots)
        c.on_trace = deps.add
        write_handoff(fd, c, deps, c.full())
        os.write(w, b"K")
        code = 0
    except (ValueError, OverflowError) as e:  # a zone the compiler refuses
        os.write(w, b"V" + str(e).encode("utf-8", "replace")[:8192])
    except BaseException as e:  # noqa: BLE001 (reported to the parent, not lost)
        os.write(w, b"X" + f"{type(e).__name__}: {e}".encode("utf-8", "replace")[:8192])
    finally:
        os._exit(code)


def _wait(pid: int, r: int, timeout: float) -> tuple[str, str]:
    """The child's report ("K", "V" + reason, "X" + reason), or ("", why)
    when it died or timed out; the child is reaped either way."""
    deadline = time.monotonic() + timeout
    got = bytearray()
    poll = select.poll()  # not select(): a server's descriptors may pass FD_SETSIZE
    poll.register(r, select.POLLIN)
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not poll.poll(left * 1000):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return "", f"the compile child took more than {timeout:g} s"
            part = os.read(r, 65536)
            if not part:
                break
            got += part
    finally:
        os.close(r)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    text = bytes(got[1:]).decode("utf-8", "replace")
    if got[:1] == b"K" and code == 0:
        return "K", ""
    if got[:1] in (b"V", b"X"):
        return got[:1].decode(), text
    how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
    return "", f"the compile child {how} without handing back its image"


# ---- the parent's side ------------------------------------------------------


def read_handoff(fd: int, c, deps) -> Handed:
    """Check the handoff in `fd` and set `c` and `deps` from it, all or
    nothing; raises HandoffError."""
    size = os.fstat(fd).st_size
    if size < HEAD.size + U64.size:
        raise HandoffError(f"the handoff is {size} octets, too short")
    mm = mmap.mmap(fd, size, prot=mmap.PROT_READ)
    view = memoryview(mm)
    try:
        magic, version, nodes, length, crc = HEAD.unpack_from(view, 0)
        if magic != MAGIC or version != VERSION:
            raise HandoffError("the handoff has no known header")
        if nodes != len(c.zs.nodes):
            raise HandoffError(f"the handoff is of {nodes} names, not {len(c.zs.nodes)}")
        if length != size - HEAD.size:
            raise HandoffError(f"the handoff says {length} octets, holds {size - HEAD.size}")
        if zlib.crc32(view[HEAD.size:]) != crc:
            raise HandoffError("the handoff's checksum does not match")
        names = list(c.zs.nodes)
        pos = HEAD.size
        (mlen,) = U64.unpack_from(view, pos)
        pos += U64.size
        try:
            meta = msgpack.unpackb(view[pos:pos + mlen], raw=False)
        except (ValueError, msgpack.UnpackException) as e:
            raise HandoffError(f"the handoff's metadata: {e}") from e
        pos += mlen
        state, arrays, pos = _parse_meta(meta, view, pos, size, names)
        exact, under = _read_deps(mm, pos, names)
    except (TypeError, KeyError, IndexError, ValueError, AttributeError, struct.error) as e:
        raise HandoffError(f"the handoff is malformed: {type(e).__name__}: {e}") from e
    finally:
        view.release()
    _adopt(c, state, arrays)
    deps.exact, deps.under = exact, under
    return Handed(arrays, meta["zones"], meta["node_count"])


def _parse_meta(meta, view, pos: int, size: int, names: list) -> tuple[dict, dict, int]:
    if not isinstance(meta, dict):
        raise HandoffError("the handoff's metadata is not a map")
    listed = [(k, n) for k, n in meta["arrays"]]
    if [k for k, _n in listed] != list(ARRAY_NAMES):
        raise HandoffError("the handoff lists other arrays")
    arrays = {}
    for k, n in listed:
        if not isinstance(n, int) or n < 0 or pos + n > size:
            raise HandoffError(f"the handoff's {k} array runs past its end")
        arrays[k] = view.obj[pos:pos + n] if n <= 4096 else memoryview(view.obj)[pos:pos + n]
        pos += n
    zones = meta["zones"]
    if not isinstance(zones, list) or not all(
            isinstance(z, dict) and isinstance(z.get("origin"), bytes) for z in zones):
        raise HandoffError("the handoff's zones are malformed")
    state = {
        "zone_blocks": {_bytes(o): (_int(nx), _int(nd), _int(row))
                        for o, nx, nd, row in meta["zone_blocks"]},
        "referrals": {_name(n, names): _int(off) for n, off in meta["referrals"]},
        "dname_index": {_name(n, names): _int(i) for n, i in meta["dname_index"]},
        "npsets": _int(meta["npsets"]),
        "coll_index": {k: (_int(idx), {str(loc): _int(i) for loc, i in locs.items()})
                       for k, idx, locs in meta["coll_index"]},
    }
    if not isinstance(meta["node_count"], int):
        raise HandoffError("the handoff's node count is not a number")
    return state, arrays, pos


def _read_deps(mm, pos: int, names: list) -> tuple[dict, dict]:
    mm.seek(pos)
    u = msgpack.Unpacker(mm, raw=False, read_size=1 << 20)
    out = []
    try:
        for _table in range(2):
            table: dict = {}
            for _ in range(_int(u.unpack())):
                key = _name(u.unpack(), names)
                value = u.unpack()
                table[key] = (_name(value, names) if not isinstance(value, list)
                              else {_name(v, names) for v in value})
            out.append(table)
        if u.tell() != len(mm) - pos:
            raise HandoffError("the handoff has data after its dependency index")
    except (msgpack.OutOfData, ValueError, msgpack.UnpackException) as e:
        raise HandoffError(f"the handoff's dependency index: {e}") from e
    return out[0], out[1]


def _adopt(c, state: dict, arrays: dict) -> None:
    """`c` as its own full() would have left it, everything it made counted
    as already in the image (IncrementalCompiler._settle then moves nothing)."""
    from .compiler import DNAME
    from .policy import CAND

    policy = c.b.policy
    c.zone_blocks = state["zone_blocks"]
    c.referral_blocks = state["referrals"]
    c.dname_index = state["dname_index"]
    c.negatives = bytearray(arrays["negatives"])
    c.b.base = len(arrays["blocks"])
    c.b.blocks = bytearray()
    c.dname_base = len(arrays["dnames"]) // DNAME.size
    c.dnames = bytearray()
    policy.npsets = state["npsets"]
    policy.cand_base = len(arrays["cands"]) // CAND.size
    policy.psets, policy.cands = bytearray(), bytearray()
    policy.colls = bytearray(arrays["colls"])
    policy.cidr4 = bytearray(arrays["cidr4"])
    policy.cidr6 = bytearray(arrays["cidr6"])
    policy.coll_index = state["coll_index"]


def _int(v) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise HandoffError(f"the handoff holds {v!r} where a count or offset belongs")
    return v


def _bytes(v) -> bytes:
    if not isinstance(v, bytes):
        raise HandoffError(f"the handoff holds {v!r} where a name belongs")
    return v


def _name(v, names: list) -> bytes:
    """A name as sent: a position in the node dict, or the name itself."""
    if isinstance(v, bytes):
        return v
    return names[_int(v)]
