#!/usr/bin/env python3
"""`zonefront serve --api` in this process, over a copy of a kept data
directory, and where its memory is once the hosted zones are served.

The directory is one that `insync.py --keep` left (`/tmp/zfbench-insync-*/1M`:
its `data/` and `zonefront.toml`); the copy has no `served.snap`, so the start
compiles as a fresh one does.  After the control plane's first publish it
prints RSS, the Python objects by type (count and getsizeof, gc-tracked
only: bytes are not), the big buffers they hold, the engine images, the
largest mappings of the address space, the record-set maps' shards and
packed values (bytes, not gc-tracked), and RSS after malloc_trim(0).

    python3 bench/compile/serve_memory.py /tmp/zfbench-insync-XXXX/100k
    PYTHONPATH=/other/checkout/src python3 bench/compile/serve_memory.py DIR   # another tree

Serving runs in a thread here (signals are not installed); DNS and API
listen on 127.0.0.1 port 0.
"""
from __future__ import annotations

import argparse
import collections
import ctypes
import gc
import os
import shutil
import signal
import sys
import tempfile
import threading
import time

if not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src"))


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kept", help="a size directory insync.py --keep left (data/, zonefront.toml)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds to wait for the publish")
    ap.add_argument("--types", type=int, default=12)
    args = ap.parse_args(argv)
    work = tempfile.mkdtemp(prefix="zfbench-servemem-")
    try:
        shutil.copytree(args.kept, os.path.join(work, "kept"))
        d = os.path.join(work, "kept")
        snap = os.path.join(d, "data", "served.snap")
        if os.path.exists(snap):
            os.remove(snap)
        return measure(d, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(d: str, args) -> int:
    signal.signal = lambda *a: None  # serve installs handlers; not from a thread
    from zonefront import cli
    from zonefront.control import plane

    published = threading.Event()
    first = plane.ControlPlane._publish_once

    def publish_once(self):
        first(self)
        published.set()

    plane.ControlPlane._publish_once = publish_once
    argv = ["serve", "--data-dir", os.path.join(d, "data"), "--config",
            os.path.join(d, "zonefront.toml"), "--api", "--api-listen", "127.0.0.1:0",
            "--dns-listen", "127.0.0.1:0", "--workers", "1", "--no-demo"]
    print(f"before serve: RSS {rss_mb():.1f} MB", flush=True)
    t0 = time.monotonic()
    threading.Thread(target=cli.main, args=(argv,), daemon=True).start()
    if not published.wait(args.timeout):
        print("no publish in time", flush=True)
        return 1
    time.sleep(3)
    gc.unfreeze()  # serving freezes what it built; count it too
    gc.collect()
    print(f"first publish after {time.monotonic() - t0:.1f} s: RSS {rss_mb():.1f} MB", flush=True)
    objs = gc.get_objects()
    count = collections.Counter(type(o).__name__ for o in objs)
    size = collections.Counter()
    for o in objs:
        size[type(o).__name__] += sys.getsizeof(o)
    print("objects (gc-tracked) by getsizeof:")
    for name, n in size.most_common(args.types):
        print(f"  {name:<24} {count[name]:>10,}  {n / 1e6:8.1f} MB")
    seen = set()
    for o in objs:
        if type(o).__name__ in ("Image", "RefImage"):
            print(f"  engine image: {o.memory() / 1e6:.1f} MB")
        for r in gc.get_referents(o):
            if isinstance(r, (bytes, bytearray)) and len(r) > 1 << 20 and id(r) not in seen:
                seen.add(id(r))
                print(f"  buffer {type(r).__name__} {len(r) / 1e6:.1f} MB in {type(o).__name__}")
    held_report(objs)
    del objs
    maps = []
    with open("/proc/self/smaps") as f:
        cur = None
        for line in f:
            fields = line.split()
            if "-" in fields[0] and not fields[0].endswith(":"):
                cur = [line.strip()[:100], 0]
                maps.append(cur)
            elif fields[0] == "Rss:" and cur is not None:
                cur[1] = int(fields[1])
    print("largest mappings (RSS):")
    for text, kb in sorted(maps, key=lambda m: -m[1])[:8]:
        print(f"  {kb / 1024:8.1f} MB  {text}")
    before = rss_mb()
    ctypes.CDLL(None).malloc_trim(0)
    print(f"malloc_trim(0): {before:.1f} -> {rss_mb():.1f} MB", flush=True)
    # the server's threads are not stopped, so main's cleanup never runs: the copy goes here
    shutil.rmtree(os.path.dirname(d), ignore_errors=True)
    os._exit(0)


def held_report(objs) -> None:
    """The record-set maps (model.RRsetMap): their shard dicts and the values
    they hold per owner, counted once however many maps share them.  Packed
    values are bytes and a shard holding only bytes is not gc-tracked, so
    neither shows in the list above."""
    from zonefront import model

    shards: dict[int, int] = {}
    held: dict[int, tuple[str, int]] = {}
    for o in objs:
        if type(o) is model.RRsetMap:
            for shard in o._shards:
                shards[id(shard)] = sys.getsizeof(shard)
            # before packing (RRsetMap without held_owners) owners() gave the held mappings
            for _owner, v in getattr(o, "held_owners", o.owners)():
                held[id(v)] = (type(v).__name__, sys.getsizeof(v))
    by_kind = collections.Counter()
    octets = collections.Counter()
    for kind, n in held.values():
        by_kind[kind] += 1
        octets[kind] += n
    print(f"record-set maps: {len(shards):,} shard dicts {sum(shards.values()) / 1e6:.1f} MB; held "
          + ", ".join(f"{k} {by_kind[k]:,} {octets[k] / 1e6:.1f} MB" for k in sorted(by_kind)))


if __name__ == "__main__":
    sys.exit(main())
