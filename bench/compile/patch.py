#!/usr/bin/env python3
"""The incremental compiler alone: one-record changes patched into a zone's image.

Compiles genzone.py's zone of --names names once (snapshot/incremental.py,
with the dependency tracing a full compile does there), then times --changes
one-record UPSERTs of a new A record set, each a new RRsetMap version of the
zone as the API's zone cache makes it, through IncrementalCompiler.update:
the time the control plane spends between a committed batch and the swap.
No sockets, no store: this isolates what a change costs to compile.

    python3 bench/compile/patch.py --names 100k --changes 200
"""
from __future__ import annotations

import argparse
from zonefront import lightclass
import gc
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "src"))

import harness  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--names", default="100k", help="zone size (genzone.py names)")
    ap.add_argument("--changes", type=int, default=200)
    ap.add_argument("--cache-dir", default="/tmp/zonefront-bench-cache")
    opts = ap.parse_args(argv)

    from zonefront.core._engine import Image
    from zonefront.model import TYPE_A, RRset, RRsetMap, name_from_text
    from zonefront.snapshot.incremental import IncrementalCompiler
    from zonefront.zonefile import parse_zone_file

    n = harness.parse_size(opts.names)
    path = harness.zone_with_rrsets(opts.cache_dir, n)
    zone = parse_zone_file(path)
    zone = lightclass.replace(zone, rrsets=RRsetMap(zone.rrsets))
    t0 = time.perf_counter()
    ic = IncrementalCompiler([zone], Image)
    full_s = time.perf_counter() - t0
    gc.freeze()  # as serving.ServedZones does after a full compile
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times = []
    for i in range(opts.changes):
        owner = name_from_text(f"patch{i}.{harness.BIG_ORIGIN}")
        key = (owner, TYPE_A)
        rrsets = zone.rrsets.with_owners({owner}, {key: RRset(owner, TYPE_A, 60, [
            bytes([10, 9, i >> 8 & 255, i & 255])])})
        zone = lightclass.replace(zone, rrsets=rrsets)
        t = time.perf_counter()
        ic.update([zone], {zone.origin: {owner}})
        times.append(time.perf_counter() - t)
    s = harness.summary(times)
    print(f"| record sets | full compile s | peak RSS MB | image MB | patch p50 ms | p99 ms | "
          f"max ms | names per patch |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {n:,} | {full_s:.1f} | {rss_mb:.0f} | {ic.image.memory() / 1e6:.0f} | "
          f"{s['p50'] * 1e3:.2f} | {s['p99'] * 1e3:.2f} | {s['max'] * 1e3:.2f} | "
          f"{ic.last_patch['names']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
