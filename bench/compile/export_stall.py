#!/usr/bin/env python3
"""How long exporting a served image (the image saver's `served.snap`
write, an edge's raw copy) keeps other threads from the interpreter: a
thread that sleeps 1 ms notes how late it wakes while
`Image.export_arrays` runs over a snapshot's image.  The threads applying
changes wait that long for a ChangeResourceRecordSets call or a publish.

    python3 bench/compile/export_stall.py /tmp/zfbench-insync-XXXX/1M/data/served.snap
"""
from __future__ import annotations

import os
import sys
import threading
import time

if not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src"))

from zonefront.core.engine import Engine  # noqa: E402


def main(path: str, rounds: int = 4) -> None:
    image = Engine.from_snapshot(path).image
    worst = [0.0]
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            t = time.perf_counter()
            time.sleep(0.001)
            worst[0] = max(worst[0], (time.perf_counter() - t) * 1000 - 1)

    for r in range(rounds):
        compact = r % 2 == 0
        worst[0] = 0.0
        stop.clear()
        watcher = threading.Thread(target=watch)
        watcher.start()
        t0 = time.perf_counter()
        arrays = image.export_arrays(compact=compact)
        took = (time.perf_counter() - t0) * 1000
        stop.set()
        watcher.join()
        size = sum(len(v) for v in arrays.values()) / 1e6
        print(f"compact={compact}: export {took:.1f} ms, {size:.1f} MB; "
              f"the longest another thread waited for the interpreter: {worst[0]:.1f} ms")
        del arrays


if __name__ == "__main__":
    main(sys.argv[1])
