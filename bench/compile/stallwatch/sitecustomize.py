"""Stall watch for a running `zonefront serve` (set ZF_STALLWATCH=1 and put
this directory first on PYTHONPATH): logs every cyclic garbage collection
over 5 ms, and every time a thread sleeping 5 ms wakes more than 30 ms late,
with the last frames of every other thread (what held the interpreter), and
when each save of the served image starts and ends, to stderr as
"STALLWATCH ..." lines (wall-clock times, as insync.py's samples' "at").

    python3 bench/compile/insync.py --sizes 1M --changes 60 --keep \\
        --zonefront-cmd "env ZF_STALLWATCH=1 PYTHONPATH=$PWD/bench/compile/stallwatch:$PWD/src python3 -m zonefront.cli"
    grep STALLWATCH /tmp/zfbench-insync-*/1M/serve.log
"""
import gc
import os
import sys
import threading
import time
import traceback

if os.environ.get("ZF_STALLWATCH"):
    _started = {}

    def _gc_timed(phase, info):
        if phase == "start":
            _started["t"] = time.perf_counter()
            return
        took = (time.perf_counter() - _started.get("t", time.perf_counter())) * 1000
        if took > 5:
            sys.stderr.write(f"STALLWATCH gc gen{info['generation']} {took:.1f} ms"
                             f" at {time.time():.3f}\n")

    def _watch():
        me = threading.get_ident()
        while True:
            t = time.perf_counter()
            time.sleep(0.005)
            late = (time.perf_counter() - t) * 1000 - 5
            if late > 30:
                lines = [f"STALLWATCH late {late:.1f} ms at {time.time():.3f}"]
                for tid, frame in sys._current_frames().items():
                    if tid != me:
                        tail = traceback.extract_stack(frame)[-4:]
                        lines.append(f"  thread {tid}: "
                                     + " | ".join(f"{f.name}:{f.lineno}" for f in tail))
                sys.stderr.write("\n".join(lines) + "\n")

    def _watch_saves():
        """ImageSaver.save wrapped once serving.py is imported."""
        while "zonefront.serving" not in sys.modules:
            time.sleep(0.01)
        serving = sys.modules["zonefront.serving"]
        while not hasattr(serving, "ImageSaver"):  # still importing
            time.sleep(0.01)
        save = serving.ImageSaver.save

        def timed_save(self):
            t0 = time.time()
            sys.stderr.write(f"STALLWATCH save start at {t0:.3f}\n")
            try:
                save(self)
            finally:
                sys.stderr.write(f"STALLWATCH save end at {time.time():.3f}"
                                 f" ({(time.time() - t0) * 1000:.0f} ms)\n")

        serving.ImageSaver.save = timed_save

    gc.callbacks.append(_gc_timed)
    threading.Thread(target=_watch, daemon=True, name="stallwatch").start()
    threading.Thread(target=_watch_saves, daemon=True, name="stallwatch-saves").start()
