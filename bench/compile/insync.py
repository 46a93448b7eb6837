#!/usr/bin/env python3
"""Change -> INSYNC latency of one-record ChangeResourceRecordSets batches,
per hosted-zone size, with a small zone changed at the same time.

For each size: a fresh data directory, a generated zone of exactly that many
record sets (bench/dnsperf/genzone.py, cut to size) and a 10-record zone are
imported with `zonefront zone import`, then `zonefront serve --api` starts
over it.  Two streams of UPSERTs (one A record each) then run side by side
through boto3, signed with the data directory's api-credentials: the big
zone's, change after change, and the small zone's, paced by --small-gap,
for as long as the big one runs.  Each change is timed from the call to

  - commit: ChangeResourceRecordSets returned,
  - INSYNC: the first GetChange that says so (polled at a tenth of the time
    waited, 2 ms to 100 ms apart, so a reading is late by at most ~10%),
  - DNS: the first UDP answer (dnspython) carrying the new address.

Each size has a time budget (import, start and changes); past it the size
is reported "timed out" with the changes measured so far, and larger sizes
are skipped.  The first change of each zone is a warm-up, reported apart.

    python3 bench/compile/insync.py                      # 1k, 10k, 100k and 1M
    python3 bench/compile/insync.py --sizes 1k,10k,100k  # today's code: no 1M

Writes JSON (--json, read by plot.py) and a markdown table to stdout.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time

import harness
from botocore.exceptions import BotoCoreError, ClientError
from harness import log, ms, peers

API_ERRORS = (BotoCoreError, ClientError, RuntimeError, OSError)


class Stream(threading.Thread):
    """One zone's changes, one at a time: submit, then wait for INSYNC and
    for the DNS answer before the next."""

    def __init__(self, srv: harness.ApiServer, origin: str, octet: int, count: int, gap: float,
                 deadline: float, start: threading.Barrier, keep_going=None) -> None:
        super().__init__(daemon=True, name=f"stream-{origin}")
        self.srv, self.origin, self.octet = srv, origin, octet
        self.count, self.gap, self.deadline = count, gap, deadline
        self.start_barrier = start
        self.keep_going = keep_going or (lambda done: done < count)
        self.samples: list[dict] = []
        self.warmup: dict | None = None
        self.errors: list[str] = []
        self.timed_out = False
        self.zone_id = ""

    def one(self, client, i: int) -> dict:
        name = f"zfchg{i % 8}.{self.origin}"
        ip = f"10.{self.octet}.{(i >> 8) & 255}.{i & 255}"
        t0, at = time.monotonic(), time.time()
        resp = client.change_resource_record_sets(HostedZoneId=self.zone_id,
                                                  ChangeBatch=harness.change_batch(name, ip))
        commit = time.monotonic() - t0
        dns_result: list = [None]
        give_up = threading.Event()

        def dns_wait():
            dns_result[0] = harness.wait_dns(self.srv.dns_port, name, ip, t0, self.deadline,
                                             give_up)

        dns_thread = threading.Thread(target=dns_wait, daemon=True)
        dns_thread.start()
        insync = None
        try:
            insync, polls = harness.wait_insync(client, resp["ChangeInfo"]["Id"], t0,
                                                self.deadline)
            # the data plane serves a change before it is marked INSYNC; allow
            # a little for a slow answer, then stop looking
            dns_thread.join(5.0 if insync is not None else 0.0)
        finally:
            give_up.set()
            dns_thread.join()
        if insync is None:
            self.timed_out = True
        return {"i": i, "at": at, "commit_s": commit, "insync_s": insync,
                "dns_s": dns_result[0], "polls": polls}

    def run(self) -> None:
        client = self.srv.client()
        try:
            self.zone_id = self.srv.zone_id(client, self.origin)
            self.warmup = self.one(client, 0)
        except API_ERRORS as e:  # counted, reported; the other stream goes on
            self.errors.append(f"warm-up: {e}")
        try:
            self.start_barrier.wait(timeout=max(1.0, self.deadline - time.monotonic()))
        except threading.BrokenBarrierError:
            return
        i = 1
        while not self.timed_out and self.zone_id and self.keep_going(len(self.samples)):
            t_next = time.monotonic() + self.gap
            if t_next > self.deadline:
                # out of budget: a timeout only when the measured count is short
                # (the small stream may run on beside a slow big one)
                self.timed_out = len(self.samples) < self.count
                break
            try:
                self.samples.append(self.one(client, i))
            except API_ERRORS as e:
                self.errors.append(f"change {i}: {e}")
                if len(self.errors) > 5:
                    break
            i += 1
            time.sleep(max(0.0, t_next - time.monotonic()))

    def figures(self) -> dict:
        done = [s for s in self.samples if s["insync_s"] is not None]
        return {"origin": self.origin, "changes": len(self.samples),
                "insync": harness.summary([s["insync_s"] for s in done]),
                "dns": harness.summary([s["dns_s"] for s in done if s["dns_s"] is not None]),
                "commit": harness.summary([s["commit_s"] for s in self.samples]),
                "dns_missing": sum(1 for s in done if s["dns_s"] is None),
                "timed_out": self.timed_out, "errors": self.errors, "warmup": self.warmup,
                "samples": self.samples}


def run_size(opts, size: int, workdir: str) -> dict:
    t_start = time.monotonic()
    deadline = t_start + opts.budget
    res: dict = {"size": size, "status": "ok", "loadavg_before": harness.loadavg()}
    srv = harness.ApiServer(workdir, max_rrsets=max(10_000, 2 * size), workers=opts.workers,
                            cmd=opts.zonefront_cmd)
    try:
        big_file = harness.zone_with_rrsets(opts.cache_dir, size, opts.seed)
        small_file = harness.write_small_zone(os.path.join(workdir, "small.zone"),
                                              opts.small_records)
        imp = srv.import_zone(harness.BIG_ORIGIN, big_file, deadline - time.monotonic())
        res["rrsets"], res["import_s"] = imp["rrsets"], imp["seconds"]
        res["small_rrsets"] = srv.import_zone(harness.SMALL_ORIGIN, small_file,
                                              deadline - time.monotonic())["rrsets"]
        log(f"{size:,}: imported {res['rrsets']:,} record sets in {res['import_s']:.1f}s")
        res["start_s"] = srv.start(deadline - time.monotonic(), opts.base_port)
        res["rss_ready_mb"] = peers.mem_kb(srv.pids())[0] / 1024
        log(f"{size:,}: serve ready in {res['start_s']:.1f}s, RSS {res['rss_ready_mb']:.0f} MB")
        if opts.edges:
            res["edges"] = opts.edges
            res["edges_ready_s"] = srv.start_edges(opts.edges, deadline - time.monotonic())
            res["edges_rss_mb"] = peers.mem_kb(srv.edge_pids())[0] / 1024
            log(f"{size:,}: {opts.edges} edge(s) ready in {res['edges_ready_s']:.1f}s, "
                f"RSS {res['edges_rss_mb']:.0f} MB together")
    except TimeoutError as e:
        res["status"] = "timed out"
        res["why"] = str(e)
        return res
    finally:
        res["serve_log"] = srv.log_tail() if res["status"] != "ok" else ""
    try:
        sampler = harness.ProcSampler(srv.pids)
        barrier = threading.Barrier(1 if opts.no_small else 2)
        big = Stream(srv, harness.BIG_ORIGIN, 1, opts.changes, opts.gap, deadline, barrier)
        streams = [big]
        if not opts.no_small:
            streams.append(Stream(srv, harness.SMALL_ORIGIN, 2, opts.changes, opts.small_gap,
                                  deadline, barrier,
                                  keep_going=lambda done: big.is_alive() or done < opts.changes))
        sampler.start()
        for st in streams:
            st.start()
        for st in streams:
            st.join()
        res["server"] = sampler.finish()
        res["big"] = big.figures()
        res["small"] = streams[1].figures() if len(streams) > 1 else {}
        if any(st.timed_out for st in streams):
            res["status"] = "timed out"
            res["why"] = (f"the {opts.budget:g}s budget ran out after {len(big.samples)} of "
                          f"{opts.changes} big-zone changes")
        elif any(st.errors for st in streams):
            res["status"] = "errors"
        log(f"{size:,}: big INSYNC p50 {ms(res['big']['insync']['p50'])} ms "
            f"p99 {ms(res['big']['insync']['p99'])} ms; small p50 "
            f"{ms(res['small'].get('insync', {}).get('p50'))} ms p99 "
            f"{ms(res['small'].get('insync', {}).get('p99'))} ms; {res['status']}")
    finally:
        res["exit"] = srv.stop()
        res["loadavg_after"] = harness.loadavg()
    return res


def table(results: list[dict]) -> str:
    headers = ["record sets", "status", "import s", "start s",
               "big INSYNC p50 ms", "p99 ms", "max ms", "big DNS p50 ms", "p99 ms",
               "small INSYNC p50 ms", "p99 ms", "small DNS p50 ms", "p99 ms",
               "changes big/small", "server RSS MB", "server CPU %", "load avg"]
    rows = []
    for r in results:
        b, s, srv = r.get("big", {}), r.get("small", {}), r.get("server", {})

        def g(d, k, f):
            return ms(d.get(k, {}).get(f)) if d else "-"

        rows.append([
            f"{r.get('rrsets') or r['size']:,}", r["status"],
            f"{r['import_s']:.1f}" if "import_s" in r else "-",
            f"{r['start_s']:.1f}" if "start_s" in r else "-",
            g(b, "insync", "p50"), g(b, "insync", "p99"), g(b, "insync", "max"),
            g(b, "dns", "p50"), g(b, "dns", "p99"),
            g(s, "insync", "p50"), g(s, "insync", "p99"), g(s, "dns", "p50"), g(s, "dns", "p99"),
            f"{b.get('changes', 0)}/{s.get('changes', 0)}",
            f"{srv['rss_max_mb']:.0f}" if srv else "-",
            f"{srv['cpu_pct']:.0f}" if srv else "-",
            r.get("loadavg_before", "?").split()[0],
        ])
    return peers.render_table(rows, headers, True)


def main(argv: list[str] | None = None) -> int:
    intro, _, rest = __doc__.partition("\n\n")
    ap = argparse.ArgumentParser(description=intro, epilog=rest,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1k,10k,100k,1M",
                    help="record sets in the big zone, comma list (1k, 10k, 100k, 1M, ...); "
                         "before issue 13's fix a 1M change takes ~1 min: leave 1M out")
    ap.add_argument("--changes", type=int, default=20,
                    help="measured one-record changes on the big zone per size")
    ap.add_argument("--gap", type=float, default=0.05,
                    help="seconds from one big-zone change's start to the next (at least)")
    ap.add_argument("--small-gap", type=float, default=0.25,
                    help="seconds from one small-zone change's start to the next (at least)")
    ap.add_argument("--small-records", type=int, default=10, help="record sets in the small zone")
    ap.add_argument("--no-small", action="store_true",
                    help="control run: the small zone is served but not changed")
    ap.add_argument("--budget", type=float, default=600,
                    help="seconds per size for import, start and changes; then 'timed out'")
    ap.add_argument("--no-skip", action="store_true",
                    help="measure larger sizes even after a smaller one timed out")
    ap.add_argument("--workers", type=int, default=1, help="zonefront serve --workers")
    ap.add_argument("--edges", type=int, default=0,
                    help="`zonefront edge` processes fed by the server: INSYNC then waits "
                         "for all of them")
    ap.add_argument("--seed", type=int, default=53)
    ap.add_argument("--zonefront-cmd", default=None,
                    help="command prefix for zonefront (default: python -m zonefront.cli, src/ first)")
    ap.add_argument("--cache-dir", default=harness.DEFAULT_CACHE, help="generated zones")
    ap.add_argument("--base-port", type=int, default=15450)
    ap.add_argument("--json", default=os.path.join(harness.HERE, "out", "insync.json"),
                    help="results file (plot.py reads it); '' for none")
    ap.add_argument("--keep", action="store_true", help="keep the data directories and logs")
    opts = ap.parse_args(argv)
    try:
        sizes = sorted({harness.parse_size(s) for s in opts.sizes.split(",") if s.strip()})
    except ValueError as e:
        ap.error(str(e))
    if opts.changes < 1:
        ap.error("--changes must be at least 1")

    harness.install_signal_handlers()
    ctx = harness.context(argv, "insync.py")
    results: list[dict] = []
    root = tempfile.mkdtemp(prefix="zfbench-insync-")
    skip_why = None
    try:
        for size in sizes:
            if skip_why:
                results.append({"size": size, "status": "skipped", "why": skip_why})
                continue
            log(f"size {size:,}: load average {harness.loadavg()}")
            workdir = os.path.join(root, harness.size_label(size))
            os.makedirs(workdir)
            r = run_size(opts, size, workdir)
            results.append(r)
            if r["status"] == "timed out" and not opts.no_skip:
                skip_why = f"{size:,} timed out"
    except KeyboardInterrupt as e:
        log(f"interrupted ({e}); stopping everything")
        return 130
    finally:
        peers.stop_all()
        if opts.keep:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    ctx["loadavg_after"] = harness.loadavg()
    harness.write_json(opts.json, {**ctx, "options": vars(opts), "results": results})
    beside = "served, not changed" if opts.no_small else "changed alongside"
    print(f"### change -> INSYNC, one-record batches (big zone + {opts.small_records}-record "
          f"zone {beside})\n")
    print("\n".join(harness.header_lines(ctx)))
    print()
    print(table(results))
    for r in results:
        if r.get("why"):
            print(f"\n- {harness.size_label(r['size'])}: {r['status']}: {r['why']}")
    return 0 if all(r["status"] == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
