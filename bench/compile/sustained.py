#!/usr/bin/env python3
"""Sustained change load: one-record ChangeResourceRecordSets batches at a
fixed rate (100/s) into a big hosted zone for a minute, and how far INSYNC
falls behind.

The zone (exactly --size record sets, bench/dnsperf/genzone.py cut to size)
is imported with `zonefront zone import` before `zonefront serve --api`
starts.  The load is open-loop: batch i is due at start + i/rate, whatever
happened to the batches before it, and --senders clients take the due
batches in turn (SigV4-signed http.client, harness.LeanRoute53: boto3 would
spend most of a core of this 2-core machine on 200 calls/s).  A batch whose call starts more than --late after its slot
"fell behind" at submission: every sender was still busy.  One tracker
thread checks the outstanding changes with GetChange every --poll seconds
(INSYNC is granted in commit order, so it bisects for the newest INSYNC
change instead of asking about each: Load.tracker); INSYNC latency is measured
from the batch's slot, so a server that cannot keep up shows it in the
latency instead of hiding it by slowing the senders.  After --seconds the
senders stop and the tracker waits up to --drain for the rest; changes still
PENDING then also "fell behind".  Server CPU and RSS are sampled every
0.5 s from /proc over the loaded period.

    python3 bench/compile/sustained.py --size 1M --seconds 60
    python3 bench/compile/sustained.py --size 10000 --seconds 20

Writes JSON (--json) and a markdown table to stdout.
"""
from __future__ import annotations

import argparse
import http.client
import os
import shutil
import sys
import tempfile
import threading
import time

import harness
from harness import log, ms, peers


class Load:
    """The schedule, the senders and the tracker of one run."""

    def __init__(self, srv: harness.ApiServer, zone_id: str, opts) -> None:
        self.srv, self.zone_id, self.opts = srv, zone_id, opts
        self.total = int(opts.seconds * opts.rate)
        self.next_index = 0
        self.lock = threading.Lock()
        self.t0 = 0.0
        self.batches: list[dict | None] = [None] * self.total
        self.pending: set[int] = set()  # submitted, INSYNC not yet seen
        self.sending_done = threading.Event()
        self.errors: list[str] = []
        self.get_changes = 0  # GetChange calls the tracker made

    def slot(self, i: int) -> float:
        return self.t0 + i / self.opts.rate

    def client(self) -> harness.LeanRoute53:
        return harness.LeanRoute53(self.srv.api_port, self.srv.key_id, self.srv.secret)

    def sender(self) -> None:
        client = self.client()
        while True:
            with self.lock:
                i = self.next_index
                self.next_index += 1
            if i >= self.total:
                return
            time.sleep(max(0.0, self.slot(i) - time.monotonic()))
            name = f"zfsus{i % 100}.{harness.BIG_ORIGIN}"
            ip = f"10.{100 + (i >> 16) % 100}.{(i >> 8) & 255}.{i & 255}"
            start = time.monotonic()
            b = {"i": i, "late_s": start - self.slot(i)}
            try:
                info = client.change_a(self.zone_id, name, ip)
                b["committed_at"] = time.monotonic()
                b["commit_s"] = b["committed_at"] - start
                b["id"], b["status"] = info["Id"], info["Status"]
            except (OSError, RuntimeError, http.client.HTTPException) as e:
                b["error"] = str(e)[:200]
                with self.lock:
                    self.errors.append(b["error"])
            with self.lock:
                self.batches[i] = b
                if "id" in b:
                    self.pending.add(i)

    def tracker(self, deadline_fn) -> None:
        """Date each change's INSYNC with few GetChange calls.

        The control plane grants INSYNC in commit order (api/control.py: a
        publish covers every change committed before it), so the outstanding
        changes, ordered by when their commit returned, are INSYNC up to some
        point and PENDING after it.  Each sweep checks the oldest; when it is
        INSYNC, bisection finds the boundary in log2(n) calls, and a call that
        finds change k INSYNC dates every older undated change with its own
        return time.  Checking every change instead would be ~100 calls per
        publish, which on this machine took seconds per sweep and measured
        the tracker, not the server."""
        client = self.client()
        while True:
            with self.lock:
                order = sorted(self.pending, key=lambda i: self.batches[i]["committed_at"])
            try:
                if order:
                    self.sweep(client, order)
            except (OSError, RuntimeError, http.client.HTTPException) as e:
                with self.lock:
                    self.errors.append(f"GetChange: {str(e)[:200]}")
            with self.lock:
                idle = not self.pending
            if self.sending_done.is_set() and idle:
                return
            if time.monotonic() > deadline_fn():
                return
            time.sleep(self.opts.poll)

    def sweep(self, client, order: list[int]) -> None:
        dated = 0  # order[:dated] have their INSYNC time

        def check(k: int) -> bool:
            nonlocal dated
            self.get_changes += 1
            if client.change_status(self.batches[order[k]]["id"]) != "INSYNC":
                return False
            now = time.monotonic()
            for j in range(dated, k + 1):
                i = order[j]
                self.batches[i]["insync_s"] = now - self.slot(i)
            dated = max(dated, k + 1)
            return True

        if not check(0):
            return
        lo, hi = 0, len(order)  # order[lo] is INSYNC; order[hi:] not known to be
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if check(mid):
                lo = mid
            else:
                hi = mid
        with self.lock:
            for i in order[:dated]:
                self.pending.discard(i)

    def run(self) -> None:
        senders = [threading.Thread(target=self.sender, daemon=True, name=f"sender-{k}")
                   for k in range(self.opts.senders)]
        drain_until = [float("inf")]
        track = threading.Thread(target=self.tracker, args=(lambda: drain_until[0],),
                                 daemon=True, name="tracker")
        self.t0 = time.monotonic() + 0.2
        cpu0 = time.process_time()
        for t in senders:
            t.start()
        track.start()
        for t in senders:
            t.join()
        self.sending_done.set()
        self.sent_s = time.monotonic() - self.t0
        drain_until[0] = time.monotonic() + self.opts.drain
        track.join()
        # this process's own CPU: near 100% would mean the client, not the
        # server, set the pace
        self.client_cpu_pct = 100.0 * (time.process_time() - cpu0) / (time.monotonic() - self.t0)

    def figures(self) -> dict:
        done = [b for b in self.batches if b is not None]
        submitted = [b for b in done if "id" in b]
        insync = [b["insync_s"] for b in submitted if "insync_s" in b]
        late = [b for b in done if b["late_s"] > self.opts.late]
        return {
            "scheduled": self.total, "submitted": len(submitted), "errors": len(self.errors),
            "error_samples": self.errors[:5],
            "late_submits": len(late), "max_late_s": max((b["late_s"] for b in done), default=None),
            "not_insync": len(submitted) - len(insync),
            "behind": len({b["i"] for b in late} | {b["i"] for b in submitted if "insync_s" not in b}
                          | {b["i"] for b in done if "error" in b}),
            "insync": harness.summary(insync),
            "commit": harness.summary([b["commit_s"] for b in submitted]),
            "offered_rate": self.total / self.opts.seconds,
            "submit_rate": len(submitted) / max(1e-9, self.sent_s),
            "client_cpu_pct": self.client_cpu_pct, "get_change_calls": self.get_changes,
            "batches": batch_table(done),
        }


BATCH_FIELDS = ("i", "late_s", "commit_s", "insync_s", "error")


def batch_table(batches: list[dict]) -> dict:
    """Per-batch figures as one row per batch (µs resolution): thousands of
    batches stay a readable, diffable size in JSON."""
    def cell(b: dict, k: str):
        v = b.get(k)
        return round(v, 6) if isinstance(v, float) else v
    return {"fields": list(BATCH_FIELDS),
            "rows": [[cell(b, k) for k in BATCH_FIELDS] for b in batches]}


def main(argv: list[str] | None = None) -> int:
    intro, _, rest = __doc__.partition("\n\n")
    ap = argparse.ArgumentParser(description=intro, epilog=rest,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="1M", help="record sets in the zone (10000, 100k, 1M)")
    ap.add_argument("--rate", type=float, default=100, help="change batches per second")
    ap.add_argument("--seconds", type=float, default=60, help="how long the load runs")
    ap.add_argument("--senders", type=int, default=16, help="concurrent API clients sending")
    ap.add_argument("--late", type=float, default=0.1,
                    help="a batch sent more than this many seconds after its slot fell behind")
    ap.add_argument("--poll", type=float, default=0.01, help="tracker's pause between sweeps")
    ap.add_argument("--drain", type=float, default=60,
                    help="seconds to wait for INSYNC after the last batch")
    ap.add_argument("--budget", type=float, default=900,
                    help="seconds for import and start; then 'timed out'")
    ap.add_argument("--workers", type=int, default=1, help="zonefront serve --workers")
    ap.add_argument("--seed", type=int, default=53)
    ap.add_argument("--zonefront-cmd", default=None,
                    help="command prefix for zonefront (default: python -m zonefront.cli, src/ first)")
    ap.add_argument("--cache-dir", default=harness.DEFAULT_CACHE, help="generated zones")
    ap.add_argument("--base-port", type=int, default=15550)
    ap.add_argument("--json", default=os.path.join(harness.HERE, "out", "sustained.json"),
                    help="results file; '' for none")
    ap.add_argument("--keep", action="store_true", help="keep the data directory and log")
    opts = ap.parse_args(argv)
    try:
        size = harness.parse_size(opts.size)
    except ValueError as e:
        ap.error(str(e))
    if opts.rate <= 0 or opts.seconds <= 0 or opts.senders < 1:
        ap.error("--rate, --seconds and --senders must be positive")

    harness.install_signal_handlers()
    ctx = harness.context(argv, "sustained.py")
    res: dict = {"size": size, "status": "ok"}
    workdir = tempfile.mkdtemp(prefix="zfbench-sustained-")
    srv = harness.ApiServer(workdir, max_rrsets=max(10_000, 2 * size), workers=opts.workers,
                            cmd=opts.zonefront_cmd)
    deadline = time.monotonic() + opts.budget
    try:
        zone = harness.zone_with_rrsets(opts.cache_dir, size, opts.seed)
        imp = srv.import_zone(harness.BIG_ORIGIN, zone, deadline - time.monotonic())
        res["rrsets"], res["import_s"] = imp["rrsets"], imp["seconds"]
        log(f"imported {res['rrsets']:,} record sets in {res['import_s']:.1f}s")
        res["start_s"] = srv.start(deadline - time.monotonic(), opts.base_port)
        res["rss_ready_mb"] = peers.mem_kb(srv.pids())[0] / 1024
        log(f"serve ready in {res['start_s']:.1f}s, RSS {res['rss_ready_mb']:.0f} MB; "
            f"{opts.rate:g} batches/s for {opts.seconds:g}s, load average {harness.loadavg()}")
        zone_id = srv.zone_id(srv.client(), harness.BIG_ORIGIN)
        res["loadavg_before"] = harness.loadavg()
        sampler = harness.ProcSampler(srv.pids)
        sampler.start()
        load = Load(srv, zone_id, opts)
        load.run()
        res["server"] = sampler.finish()
        res.update(load.figures())
        res["loadavg_after"] = harness.loadavg()
        if res["not_insync"]:
            res["status"] = "behind"
        log(f"INSYNC p50 {ms(res['insync']['p50'])} ms, p99 {ms(res['insync']['p99'])} ms, "
            f"max {ms(res['insync']['max'])} ms; {res['behind']} fell behind")
    except TimeoutError as e:
        res["status"] = "timed out"
        res["why"] = str(e)
    except KeyboardInterrupt as e:
        log(f"interrupted ({e}); stopping everything")
        return 130
    finally:
        res["exit"] = srv.stop()
        if res["status"] != "ok":
            res["serve_log"] = srv.log_tail()
        peers.stop_all()
        if opts.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    ctx["loadavg_after"] = harness.loadavg()
    harness.write_json(opts.json, {**ctx, "options": vars(opts), "result": res})
    print(f"### sustained one-record changes, {opts.rate:g} batches/s for {opts.seconds:g} s\n")
    print("\n".join(harness.header_lines(ctx)))
    print()
    print(table(res))
    if res.get("why"):
        print(f"\n- {res['status']}: {res['why']}")
    return 0 if res["status"] == "ok" else 1


def table(r: dict) -> str:
    headers = ["record sets", "status", "batches sent", "sent/s", "INSYNC p50 ms", "p99 ms",
               "max ms", "commit p50 ms", "p99 ms", "fell behind", "late sends", "not INSYNC",
               "errors", "server CPU %", "client CPU %", "RSS max MB", "RSS end MB"]
    srv = r.get("server", {})
    ins, com = r.get("insync", {}), r.get("commit", {})
    row = [f"{r.get('rrsets') or r['size']:,}", r["status"],
           f"{r.get('submitted', 0):,}/{r.get('scheduled', 0):,}",
           f"{r['submit_rate']:.1f}" if "submit_rate" in r else "-",
           ms(ins.get("p50")), ms(ins.get("p99")), ms(ins.get("max")),
           ms(com.get("p50")), ms(com.get("p99")),
           str(r.get("behind", "-")), str(r.get("late_submits", "-")),
           str(r.get("not_insync", "-")), str(r.get("errors", "-")),
           f"{srv['cpu_pct']:.0f}" if srv else "-",
           f"{r['client_cpu_pct']:.0f}" if "client_cpu_pct" in r else "-",
           f"{srv['rss_max_mb']:.0f}" if srv else "-", f"{srv['rss_end_mb']:.0f}" if srv else "-"]
    return peers.render_table([row], headers, True)


if __name__ == "__main__":
    sys.exit(main())
