#!/usr/bin/env python3
"""What observability costs at full load (issue 15): dnsperf QPS and CPU per
query with the counters off, with metrics on (counters + a scrape every
second), with query logging on (every query of the zone logged to a file),
and with dnstap on (every query and response to a Frame Streams file),
alternating the variants in one run so they share the machine's state.

    python3 bench/observability.py --seconds 8 --rounds 2 [--workers 1]

The server runs in this process (dataplane.server.DnsServer, the same C
loops as `zonefront serve`), so the CPU figure (getrusage of this process:
workers, the drain thread and the scrapes) includes everything the feature
costs; dnsperf runs as a separate process.  Prints a markdown table.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "micro"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))

from test_core_micro import bench_zone
from zonefront.core._engine import Image

from zonefront.dataplane import metrics
from zonefront.dataplane.dnstap import DnstapWriter
from zonefront.dataplane.querylog import RecordDrain
from zonefront.dataplane.server import DnsServer
from zonefront.snapshot.compiler import compile_zones

NAMES = 20000
VARIANTS = ("off", "metrics", "records", "querylog", "dnstap")
PER_RECORD = 100  # "records": --metrics-per-record 100 (issue 21)


def query_file(path: str, count: int = 50000) -> None:
    rnd = random.Random(15)
    with open(path, "w") as f:
        for _ in range(count):
            r = rnd.random()
            if r < 0.85:
                f.write(f"host{rnd.randrange(NAMES)}.bench.test A\n")
            elif r < 0.93:
                f.write(f"host{rnd.randrange(0, NAMES, 4)}.bench.test AAAA\n")
            else:
                f.write(f"nx{rnd.randrange(NAMES)}.bench.test A\n")


def cpu_seconds() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def run_variant(variant: str, image, qfile: str, seconds: float, workers: int, tmp: str,
                clients: int) -> dict:
    server = DnsServer([("127.0.0.1", 0)], workers=workers, image=image,
                       counters=variant != "off").start()
    stop = threading.Event()
    extra = []
    drain = None
    if variant in ("metrics", "records"):
        top = PER_RECORD if variant == "records" else 0
        if top:
            for c in server.counters:
                c.enable_records(max(4096, 2 * top))
        reg = metrics.Registry()
        reg.register(metrics.DnsCollector(server, zone_names=lambda: ["bench.test."],
                                          per_record=top))
        http = metrics.MetricsServer("127.0.0.1", 0, reg).start()
        extra.append(http.stop)

        def scrape():
            import urllib.request
            while not stop.wait(1.0):
                with urllib.request.urlopen(f"http://127.0.0.1:{http.address[1]}/metrics") as r:
                    r.read()
        t = threading.Thread(target=scrape, daemon=True)
        t.start()
    elif variant == "querylog":
        drain = RecordDrain(server.counters, "BENCH", data_dir=tmp,
                            zone_table=lambda: {0: ("ZBENCH", "bench")}).start()
    elif variant == "dnstap":
        drain = RecordDrain(server.counters, "BENCH", data_dir=tmp,
                            dnstap=DnstapWriter(os.path.join(tmp, "bench.fstrm"))).start()
    port = server.ports[0]
    cpu0, t0 = cpu_seconds(), time.monotonic()
    out = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", qfile,
                          "-l", str(seconds), "-c", str(clients), "-q", "500", "-t", "2"],
                         capture_output=True, text=True, check=False)
    cpu1, t1 = cpu_seconds(), time.monotonic()
    stop.set()
    st = server.stats()
    lines = dropped = 0
    if drain is not None:
        drain.stop()
        lines = drain.lines
        dropped = drain.dropped()
    for f in extra:
        f()
    server.stop()
    m = re.search(r"Queries per second:\s+([\d.]+)", out.stdout)
    lost = re.search(r"Queries lost:\s+(\d+)", out.stdout)
    qps = float(m.group(1)) if m else 0.0
    answered = st["responses"]
    return {"variant": variant, "qps": qps, "lost": int(lost.group(1)) if lost else -1,
            "cpu_us_per_query": (cpu1 - cpu0) / answered * 1e6 if answered else 0.0,
            "cpu_share": (cpu1 - cpu0) / (t1 - t0), "lines": lines, "ring_dropped": dropped}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    args = ap.parse_args()
    if shutil.which("dnsperf") is None:
        print("dnsperf not installed", file=sys.stderr)
        return 1
    image = Image(compile_zones([bench_zone(NAMES)]).arrays())
    tmp = tempfile.mkdtemp(prefix="zf-obs-bench-")
    qfile = os.path.join(tmp, "queries.txt")
    query_file(qfile)
    results: dict[str, list[dict]] = {}
    variants = args.variants.split(",")
    for r in range(args.rounds):
        for v in variants:
            res = run_variant(v, image, qfile, args.seconds, args.workers, tmp, args.clients)
            print(f"round {r + 1} {v}: {res}", file=sys.stderr, flush=True)
            results.setdefault(v, []).append(res)
    base = results.get("off")
    base_qps = sum(x["qps"] for x in base) / len(base) if base else 0
    base_cpu = sum(x["cpu_us_per_query"] for x in base) / len(base) if base else 0
    print(f"\n{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, workers={args.workers}, "
          f"dnsperf -c {args.clients} -l {args.seconds:g}, {args.rounds} rounds alternated\n")
    print("| variant | QPS | vs off | CPU us/query | vs off | log lines | ring drops |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for v in variants:
        xs = results[v]
        qps = sum(x["qps"] for x in xs) / len(xs)
        cpu = sum(x["cpu_us_per_query"] for x in xs) / len(xs)
        dq = (qps / base_qps - 1) * 100 if base_qps else 0
        dc = (cpu / base_cpu - 1) * 100 if base_cpu else 0
        print(f"| {v} | {qps:,.0f} | {dq:+.1f}% | {cpu:.2f} | {dc:+.1f}% | "
              f"{sum(x['lines'] for x in xs):,} | {sum(x['ring_dropped'] for x in xs):,} |")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
