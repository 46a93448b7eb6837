"""Routing-policy names against static names on one zonefront server, same run.

Issue 3 asks that weighted answers stay within 10% of static ones.  One
snapshot holds N static names (one A record each) and N weighted names (two
A record sets each, weights 1 and 3); the same server answers a query file of
static names and one of weighted names, alternately, pinned as run.py pins
(server on CPU 1, client on CPU 0), and the table gives QPS and server CPU
microseconds per query for both and their ratio.

    python3 bench/dnsperf/weighted.py [--names 50000] [--seconds 8] [--rounds 3] [--dnsperf]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "src"))

import run  # noqa: E402  (the harness: servers, clients, CPU accounting)


def build_snapshot(path: str, names: int) -> None:
    from zonefront.model import TYPE_A, TYPE_NS, TYPE_SOA, RoutedRRset, Zone, name_from_text
    from zonefront.snapshot import format as snapshot_format
    from zonefront.snapshot.compiler import compile_zones

    origin = name_from_text("wt.test.")
    z = Zone(origin)
    z.add(origin, TYPE_SOA, 3600, name_from_text("ns1.wt.test.") * 2 + bytes(20))
    z.add(origin, TYPE_NS, 3600, name_from_text("ns1.wt.test."))
    z.add(name_from_text("ns1.wt.test."), TYPE_A, 3600, bytes([192, 0, 2, 53]))
    for i in range(names):
        ip = bytes([10, (i >> 16) & 255, (i >> 8) & 255, i & 255])
        z.add(name_from_text(f"s{i}.wt.test."), TYPE_A, 300, ip)
        owner = name_from_text(f"w{i}.wt.test.")
        z.routed.append(RoutedRRset(owner, TYPE_A, 60, [ip], set_id="a", weight=1))
        z.routed.append(RoutedRRset(owner, TYPE_A, 60, [bytes([11]) + ip[1:]], set_id="b", weight=3))
    snapshot_format.write(path, compile_zones([z]), 1)


def query_file(path: str, prefix: str, names: int, count: int) -> None:
    rnd = random.Random(53)
    with open(path, "w") as f:
        for _ in range(count):
            f.write(f"{prefix}{rnd.randrange(names)}.wt.test A\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--names", type=int, default=50000)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dnsperf", action="store_true", help="drive with dnsperf instead of tools/loadgen")
    opts = ap.parse_args(argv)
    opts.clients, opts.outstanding, opts.threads = 8, 128, 1
    opts.rate, opts.no_edns, opts.tcp, opts.workers = 0, False, False, 1
    work = tempfile.mkdtemp(prefix="zfweighted-")
    snap = os.path.join(work, "wt.snap")
    build_snapshot(snap, opts.names)
    qfiles = {}
    for kind, prefix in (("static", "s"), ("weighted", "w")):
        qfiles[kind] = os.path.join(work, f"{kind}.txt")
        query_file(qfiles[kind], prefix, opts.names, 200000)
    loadgen = None if opts.dnsperf else run.build_loadgen(os.path.join(tempfile.gettempdir(), "zonefront-bench-cache"))
    port = run.free_port(15460)
    argv = [sys.executable, "-m", "zonefront.cli", "serve", "--snapshot", snap,
            "--dns-listen", f"127.0.0.1:{port}", "--workers", "1", "--no-api"]
    srv = run.Server.__new__(run.Server)
    srv.name, srv.port, srv.dir, srv.proc = "zonefront", port, work, None
    env = dict(os.environ, PYTHONPATH=os.path.join(HERE, "..", "..", "src"))
    import subprocess

    srv.proc = subprocess.Popen(["taskset", "-c", "1"] + argv, env=env, stderr=subprocess.DEVNULL)
    run._STARTED.append(srv.proc)
    try:
        run.ZONE = "wt.test"  # wait_ready asks for this zone's SOA
        if run.wait_ready(port, srv.proc, 60) is None:
            print("zonefront did not start", file=sys.stderr)
            return 1
        results = {"static": [], "weighted": []}
        for r in range(opts.rounds):
            for kind in ("static", "weighted"):
                res = run.run_client(opts, srv, qfiles[kind], opts.seconds, loadgen, False, "0", f"{kind}{r}")
                res["us_per_q"] = res["server_cpu_s"] * 1e6 / max(1, res["completed"])
                results[kind].append(res)
        print(f"{'names':>10} {'QPS (median)':>14} {'CPU us/q (median)':>18} {'lost':>6}")
        med = {}
        for kind, rows in results.items():
            q = statistics.median(x["qps"] for x in rows)
            c = statistics.median(x["us_per_q"] for x in rows)
            med[kind] = (q, c)
            print(f"{kind:>10} {q:>14,.0f} {c:>18.2f} {sum(x['lost'] for x in rows):>6}")
        print(f"weighted/static: QPS {med['weighted'][0] / med['static'][0]:.3f}, "
              f"CPU per query {med['weighted'][1] / med['static'][1]:.3f}")
    finally:
        run.stop_proc(srv.proc)
        if srv.proc in run._STARTED:
            run._STARTED.remove(srv.proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
