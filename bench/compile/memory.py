#!/usr/bin/env python3
"""Where the control plane's memory goes with one big hosted zone.

Builds, in this one process and in the order `serve --api` does, the
pieces that hold a hosted zone's data: the zone as the API's ZoneCache
hands it over (model.Zone over an RRsetMap, from the zone file cut to
--rrsets record sets by harness.cut_zone), then the IncrementalCompiler
(its zone copies, the Compiler's ZoneSet and block caches, the dependency
index, the growable image).  After each step it prints RSS and the bytes
tracemalloc saw allocated, and at the end the Python objects by type.

    python3 bench/compile/memory.py --rrsets 100k
    python3 bench/compile/memory.py --rrsets 1M --no-tracemalloc   # RSS only, faster

The figures are the process's own; `serve --api` adds the store, the API,
the interpreter's imports and the data-plane threads (bench/compile/insync.py
reports that whole process's RSS).
"""
from __future__ import annotations

import argparse
import collections
import gc
import os
import sys
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "src"))

import harness


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def size(text: str) -> int:
    text = text.lower().replace("_", "")
    mult = {"k": 1000, "m": 1000_000}.get(text[-1], 1)
    return int(text.rstrip("km")) * mult


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rrsets", default="100k")
    ap.add_argument("--seed", type=int, default=53)
    ap.add_argument("--no-tracemalloc", action="store_true")
    ap.add_argument("--trim", action="store_true", help="malloc_trim(0) before each reading")
    ap.add_argument("--types", type=int, default=25, help="object types to list")
    ap.add_argument("--cache-dir", default=harness.DEFAULT_CACHE)
    args = ap.parse_args(argv)
    n = size(args.rrsets)
    path = harness.zone_with_rrsets(args.cache_dir, n, args.seed)

    from zonefront.core._engine import Image

    from zonefront import model, serving
    from zonefront.snapshot.incremental import IncrementalCompiler

    steps = []
    trace = not args.no_tracemalloc
    if trace:
        tracemalloc.start()
    base = rss_mb()
    last = [base, 0]

    import ctypes
    libc = ctypes.CDLL(None)

    def step(what: str) -> None:
        gc.collect()
        r0 = rss_mb()
        if args.trim:
            libc.malloc_trim(0)
        r = rss_mb()
        if args.trim:
            print(f"  (malloc_trim: {r0:.1f} -> {r:.1f} MB)")
        t = tracemalloc.get_traced_memory()[0] if trace else 0
        steps.append((what, r, r - last[0], (t - last[1]) / 1e6))
        print(f"{what:<44} RSS {r:8.1f} MB  +{r - last[0]:7.1f} MB"
              + (f"  traced +{(t - last[1]) / 1e6:7.1f} MB" if trace else ""), flush=True)
        last[0], last[1] = r, t

    step("imports")
    t0 = time.monotonic()
    (parsed,) = serving.load_zone_files([path])
    zone = model.Zone(origin=parsed.origin, source="/hostedzone/Z1",
                      rrsets=model.RRsetMap(parsed.rrsets), routed=list(parsed.routed))
    del parsed
    step(f"zone cache: model.Zone, {len(zone.rrsets):,} record sets")
    inc = IncrementalCompiler([zone], Image)
    step(f"IncrementalCompiler ({time.monotonic() - t0:.1f} s)")
    img = inc.image
    print(f"image arrays: {sum(len(a) for a in img.arrays()) / 1e6 if hasattr(img, 'arrays') else 0:.1f} MB")
    parts = {
        "inc.copies (zone copies' rrsets dicts)": [z.rrsets for z in inc.copies.values()],
        "ZoneSet.nodes": [inc.c.zs.nodes],
        "deps.exact": [inc.deps.exact],
        "deps.under": [inc.deps.under],
        "inc.kids": [inc.kids],
    }
    for k, objs in parts.items():
        print(f"  {k:<40} {sum(len(o) for o in objs):>10,} entries")
    print(f"  Compiler attributes: {sorted(vars(inc.c))}")
    for k, v in sorted(vars(inc.c).items()):
        if hasattr(v, "__len__"):
            print(f"    c.{k:<30} len {len(v):,}")
    if hasattr(inc.c, "b"):
        for k, v in sorted(vars(inc.c.b).items()):
            if hasattr(v, "__len__"):
                print(f"    c.b.{k:<28} len {len(v):,}")
    counts = collections.Counter(type(o).__name__ for o in gc.get_objects())
    print("objects tracked by gc, by type:")
    for name, c in counts.most_common(args.types):
        print(f"  {name:<30} {c:>12,}")
    if trace:
        snap = tracemalloc.take_snapshot()
        print("allocations by line (top 25):")
        for s in snap.statistics("lineno")[:25]:
            fr = s.traceback[0]
            print(f"  {s.size / 1e6:8.1f} MB {s.count:>10,}  {fr.filename.split('src/')[-1]}:{fr.lineno}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
