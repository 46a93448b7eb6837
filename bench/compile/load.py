#!/usr/bin/env python3
"""Zone file -> first authoritative answer: zonefront against gdnsd, Knot and
NSD in the same run, and `zonefront compile` alone.

For each --names count the zone is bench/dnsperf/genzone.py's (cached, the
same bytes run.py serves).  Each round starts every server in turn, alone,
with one worker on 127.0.0.1 (pinned to CPU 1 like run.py's --workers 1, so
a load cannot spread where another cannot), and times exec -> the first
correct UDP answer to an A query for the zone's last address name, polled
every 5 ms (dnspython; the answer must be authoritative and carry the
address in the file).  0.3 s later it reads RSS/PSS summed over the process
tree and the tree's VmHWM (peak resident set while loading), runs
run.py's sanity queries (first round), and stops the server.  Servers are
started the way bench/dnsperf/run.py starts them (its classes, imported):

  - zonefront: `zonefront serve --zone-file Z --no-api --dns-listen ... --workers 1`
  - zonefront-snap: `zonefront serve --snapshot S` of the snapshot compiled below
  - gdnsd, knot (knotd), nsd: their own start-up on the file (NSD without nsd.db)

`zonefront compile Z -o S` alone is timed per round too, with its peak RSS
(wait4 ru_maxrss) and its own parse/compile split.  Medians over the rounds
are reported; every round is in the JSON.

    python3 bench/compile/load.py --names 100k --rounds 3
    python3 bench/compile/load.py --names 1M --rounds 1
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import harness
from harness import log, peers

ALL = ("zonefront", "zonefront-snap", "gdnsd", "knot", "nsd")


class ZonefrontServe(peers.Zonefront):
    """`serve --zone-file`, the API off, as the brief of issue 13 measures it."""

    name = "zonefront"

    def prepare(self) -> list[str]:
        return self._base() + ["serve", "--zone-file", self.zonefile, "--no-api",
                               "--dns-listen", f"127.0.0.1:{self.port}",
                               "--workers", str(self.workers)]


class ZonefrontSnapshot(peers.Zonefront):
    """`serve --snapshot` of what `zonefront compile` wrote this round."""

    name = "zonefront-snap"
    snapshot = ""

    def prepare(self) -> list[str]:
        return self._base() + ["serve", "--snapshot", self.snapshot, "--no-api",
                               "--dns-listen", f"127.0.0.1:{self.port}",
                               "--workers", str(self.workers)]


CLASSES = {"zonefront": ZonefrontServe, "zonefront-snap": ZonefrontSnapshot,
           "gdnsd": peers.Gdnsd, "knot": peers.Knot, "nsd": peers.Nsd}


def probe_name(zonefile: str) -> tuple[str, str]:
    """(absolute owner, address) of the file's last A record: the name a
    server that had not read the whole zone could not answer."""
    with open(zonefile, "rb") as f:
        f.seek(max(0, os.path.getsize(zonefile) - 65536))
        tail = f.read().decode("ascii", "replace")
    for line in reversed(tail.splitlines()):
        m = re.fullmatch(r"(\S+) IN A (\d+\.\d+\.\d+\.\d+)", line.strip())
        if m:
            owner = m.group(1)
            return (harness.BIG_ORIGIN if owner == "@" else f"{owner}.{harness.BIG_ORIGIN}",
                    m.group(2))
    raise RuntimeError(f"{zonefile}: no A record near the end")


def vm_hwm_kb(pids: list[int]) -> int:
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def start_timed(srv: peers.Server, probe: tuple[str, str], timeout: float,
                cpus: str | None) -> float | None:
    """Seconds from exec to the first correct answer for the probe name;
    None when the server exits or the timeout passes."""
    argv = srv.prepare()
    if cpus is not None:
        argv = ["taskset", "-c", cpus] + argv
    srv.argv = argv
    with open(srv.logpath, "wb") as logf:
        t0 = time.monotonic()
        srv.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf,
                                    stderr=subprocess.STDOUT, cwd=srv.dir, env=srv.env(),
                                    start_new_session=True)
    peers._STARTED.append(srv.proc)
    qname, ip = probe
    while time.monotonic() - t0 < timeout:
        if srv.proc.poll() is not None:
            return None
        if probe_answers(srv.port, qname, ip):
            return time.monotonic() - t0
        time.sleep(0.002)
    return None


def probe_answers(port: int, qname: str, ip: str, wait: float = 2.0) -> bool:
    """One query from a connected UDP socket: a port nobody has bound
    yet refuses it at once (ICMP), and a server that bound its socket before
    loading answers this very query when it is ready.  The unconnected
    sockets of harness.dns_answers saw neither, so every server's time was
    rounded up to the next 50 ms poll (gdnsd's 0.113 s / 0.169 s rounds)."""
    import dns.exception
    import dns.flags
    import dns.message
    import dns.rcode
    import dns.rdatatype

    q = dns.message.make_query(qname, "A")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(wait)
        try:
            s.connect(("127.0.0.1", port))
            s.send(q.to_wire())
            while True:
                r = dns.message.from_wire(s.recv(65535))
                if r.id == q.id:
                    break
        except (OSError, dns.exception.DNSException):  # refused, timed out or garbled
            return False
    if r.rcode() != dns.rcode.NOERROR or not r.flags & dns.flags.AA:
        return False
    return any(rrset.rdtype == dns.rdatatype.A and any(rd.address == ip for rd in rrset)
               for rrset in r.answer)


def compile_once(opts, zonefile: str, snap: str, cpus: str | None) -> dict:
    """`zonefront compile` alone: wall time, peak RSS, its parse/compile split."""
    argv = harness.zonefront_cmd(opts.zonefront_cmd) + ["compile", zonefile, "-o", snap]
    if cpus is not None:
        argv = ["taskset", "-c", cpus] + argv
    errpath = snap + ".log"
    with open(errpath, "wb") as err:
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err,
                                env=harness.zonefront_env(), start_new_session=True)
        peers._STARTED.append(proc)
        try:
            # wait4 on the pid itself: taskset execs in place, so this is zonefront
            _, status, ru = os.wait4(proc.pid, 0)
        finally:
            peers._STARTED.remove(proc)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - t0
    with open(errpath, encoding="utf-8", errors="replace") as f:
        text = f.read()
    r = {"ok": proc.returncode == 0, "wall_s": wall, "peak_rss_mb": ru.ru_maxrss / 1024,
         "cpu_s": ru.ru_utime + ru.ru_stime}
    m = re.search(r"parse ([\d.]+)s, compile ([\d.]+)s", text)
    if m:
        r["parse_s"], r["compile_s"] = float(m.group(1)), float(m.group(2))
    if r["ok"]:
        r["snapshot_mb"] = os.path.getsize(snap) / 1e6
    else:
        r["why"] = text.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
    return r


def byte_compile(opts) -> str | None:
    """Byte-compiles this checkout's src/ as `pip install` does for an
    installed zonefront: a start then reads .pyc files instead of compiling
    every module it imports from source (~50 ms of a start, measured
    2026-12-05), which a checkout run with PYTHONDONTWRITEBYTECODE=1 (this
    machine's default) would otherwise pay on every start.  None, or why
    it was not done."""
    if not opts.byte_compile or opts.zonefront_cmd:
        return "not asked" if not opts.byte_compile else "--zonefront-cmd given"
    src = os.path.join(harness.REPO, "src", "zonefront")
    proc = subprocess.run([sys.executable, "-m", "compileall", "-q", src],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    return None if proc.returncode == 0 else proc.stdout.decode(errors="replace")[-200:]


def run_names(opts, names: int, workdir: str, cpus: str | None) -> dict:
    zonefile, _ = harness.genzone.ensure(os.path.join(opts.cache_dir, "data"), names,
                                         harness.QUERIES, opts.seed)
    probe = probe_name(zonefile)
    out: dict = {"names": names, "zonefile": zonefile, "probe": probe, "servers": {},
                 "compile": {"rounds": []}, "skipped": {}, "versions": {}}
    log(f"{names:,} names: {zonefile}; probe {probe[0]} A {probe[1]}")
    snap = os.path.join(workdir, f"compiled-{names}.snap")
    servers = []
    port = opts.base_port
    for name in opts.servers:
        port = peers.free_port(port)
        srv = CLASSES[name](workdir, zonefile, port, 1, opts)
        port += 1
        why = srv.available()
        if why:
            log(f"skip {name}: {why}")
            out["skipped"][name] = why
            continue
        if isinstance(srv, ZonefrontSnapshot):
            srv.snapshot = snap
        out["versions"][name] = srv.version()
        out["servers"][name] = {"rounds": []}
        servers.append(srv)
    for rnd in range(opts.rounds):
        if opts.compile:
            c = compile_once(opts, zonefile, snap, cpus)
            c["loadavg"] = harness.loadavg()
            out["compile"]["rounds"].append(c)
            log(f"round {rnd + 1}: zonefront compile {c['wall_s']:.2f}s, peak RSS "
                f"{c['peak_rss_mb']:.0f} MB" + ("" if c["ok"] else f" FAILED {c['why']}"))
        for srv in servers:
            rec: dict = {"loadavg": harness.loadavg()}
            out["servers"][srv.name]["rounds"].append(rec)
            if isinstance(srv, ZonefrontSnapshot) and not os.path.exists(snap):
                rec["why"] = "no snapshot (compile skipped or failed)"
                continue
            try:
                load_s = start_timed(srv, probe, opts.ready_timeout, cpus)
                if load_s is None:
                    rec["why"] = "did not answer" if srv.proc.poll() is None else \
                        f"exited {srv.proc.returncode}: {srv.log_tail(3)}"
                    log(f"{srv.name}: {rec['why']}")
                    continue
                time.sleep(0.3)
                pids = srv.pids()
                rec["load_s"] = load_s
                rec["rss_kb"], rec["pss_kb"] = peers.mem_kb(pids)
                rec["hwm_kb"] = vm_hwm_kb(pids)
                if rnd == 0:
                    rec["sanity"] = peers.sanity(srv.port)
                log(f"round {rnd + 1}: {srv.name} answered after {load_s:.3f}s, RSS "
                    f"{rec['rss_kb'] / 1024:.1f} MB, VmHWM {rec['hwm_kb'] / 1024:.1f} MB"
                    + (f", sanity FAIL {rec['sanity']}" if rec.get("sanity") else ""))
            finally:
                rec["exit"] = srv.stop()
    for name, s in out["servers"].items():
        good = [r for r in s["rounds"] if "load_s" in r]
        if good:
            s["load_s"] = statistics.median(r["load_s"] for r in good)
            s["load_min_s"] = min(r["load_s"] for r in good)
            s["load_max_s"] = max(r["load_s"] for r in good)
            s["rss_mb"] = statistics.median(r["rss_kb"] for r in good) / 1024
            s["pss_mb"] = statistics.median(r["pss_kb"] for r in good) / 1024
            s["hwm_mb"] = max(r["hwm_kb"] for r in good) / 1024
        s["ok_rounds"] = len(good)
        s["sanity"] = next((r["sanity"] for r in s["rounds"] if "sanity" in r), None)
    good = [c for c in out["compile"]["rounds"] if c["ok"]]
    if good:
        c = out["compile"]
        c["wall_s"] = statistics.median(r["wall_s"] for r in good)
        c["peak_rss_mb"] = max(r["peak_rss_mb"] for r in good)
        c["snapshot_mb"] = good[-1]["snapshot_mb"]
        for k in ("parse_s", "compile_s"):
            if all(k in r for r in good):
                c[k] = statistics.median(r[k] for r in good)
    return out


def tables(results: list[dict]) -> str:
    rows = []
    for res in results:
        ref = res["servers"].get("gdnsd", {}).get("load_s")
        for name, s in res["servers"].items():
            if "load_s" not in s:
                rows.append([name, f"{res['names']:,}", "FAILED"] + [""] * 7)
                continue
            sanity = "-" if s["sanity"] is None else ("ok" if not s["sanity"] else
                                                      f"{len(s['sanity'])} FAIL")
            rows.append([name, f"{res['names']:,}", f"{s['load_s']:.3f}",
                         f"{s['load_min_s']:.3f}-{s['load_max_s']:.3f}",
                         f"{s['ok_rounds']}/{len(s['rounds'])}",
                         f"{s['rss_mb']:.1f}", f"{s['pss_mb']:.1f}", f"{s['hwm_mb']:.1f}",
                         f"{s['load_s'] / ref:.2f}" if ref else "-", sanity])
    out = [peers.render_table(rows, ["server", "names", "first answer s (median)", "range s",
                                     "rounds", "RSS MB", "PSS MB", "VmHWM MB", "x gdnsd",
                                     "sanity"], True)]
    crow = []
    for res in results:
        c = res["compile"]
        if "wall_s" in c:
            crow.append([f"{res['names']:,}", f"{c['wall_s']:.2f}",
                         f"{c['parse_s']:.2f}" if "parse_s" in c else "-",
                         f"{c['compile_s']:.2f}" if "compile_s" in c else "-",
                         f"{c['peak_rss_mb']:.1f}", f"{c['snapshot_mb']:.1f}",
                         f"{len([r for r in c['rounds'] if r['ok']])}/{len(c['rounds'])}"])
        elif c["rounds"]:
            crow.append([f"{res['names']:,}", "FAILED", "", "", "", "", ""])
    if crow:
        out += ["", peers.render_table(crow, ["names", "zonefront compile s (median)",
                                              "parse s", "compile s", "peak RSS MB",
                                              "snapshot MB", "rounds"], True)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    intro, _, rest = __doc__.partition("\n\n")
    ap = argparse.ArgumentParser(description=intro, epilog=rest,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--names", default="100k", help="zone sizes, comma list (100k, 1M, ...)")
    ap.add_argument("--rounds", type=int, default=3, help="starts per server (median reported)")
    ap.add_argument("--servers", default=",".join(ALL), help="comma list of " + ",".join(ALL))
    ap.add_argument("--no-compile", dest="compile", action="store_false",
                    help="skip `zonefront compile` alone (and so zonefront-snap)")
    ap.add_argument("--no-pin", action="store_true",
                    help="do not taskset servers and the compile to --cpus")
    ap.add_argument("--cpus", default="1", help="taskset CPU list when pinned")
    ap.add_argument("--ready-timeout", type=float, default=600,
                    help="seconds a server may take to answer before it counts as failed")
    ap.add_argument("--seed", type=int, default=53)
    ap.add_argument("--zonefront-cmd", default=None,
                    help="command prefix for zonefront (default: python -m zonefront.cli, src/ first)")
    ap.add_argument("--cache-dir", default=harness.DEFAULT_CACHE, help="generated zones")
    ap.add_argument("--base-port", type=int, default=15650)
    ap.add_argument("--json", default=os.path.join(harness.HERE, "out", "load.json"),
                    help="results file; '' for none")
    ap.add_argument("--keep", action="store_true", help="keep configs, logs and snapshots")
    ap.add_argument("--no-byte-compile", dest="byte_compile", action="store_false",
                    help="do not byte-compile src/ first (an installed zonefront has its .pyc)")
    opts = ap.parse_args(argv)
    opts.servers = [s.strip() for s in opts.servers.split(",") if s.strip()]
    for s in opts.servers:
        if s not in CLASSES:
            ap.error(f"unknown server {s!r}")
    try:
        sizes = [harness.parse_size(s) for s in opts.names.split(",") if s.strip()]
    except ValueError as e:
        ap.error(str(e))
    if opts.rounds < 1:
        ap.error("--rounds must be at least 1")
    # run.py's classes read these
    opts.tcp, opts.zf_snapshot = False, False
    cpus = None if opts.no_pin else opts.cpus

    harness.install_signal_handlers()
    ctx = harness.context(argv, "load.py")
    why = byte_compile(opts)
    ctx["byte_compiled"] = why is None
    if why:
        log(f"src/ not byte-compiled: {why}")
    root = tempfile.mkdtemp(prefix="zfbench-load-")
    results = []
    try:
        for names in sizes:
            workdir = os.path.join(root, harness.size_label(names))
            os.makedirs(workdir)
            results.append(run_names(opts, names, workdir, cpus))
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
    print("### zone file -> first authoritative answer, 1 worker"
          + (f", pinned to CPU {cpus}" if cpus else "") + "\n")
    print("\n".join(harness.header_lines(ctx)))
    vers = {k: v for r in results for k, v in r["versions"].items()}
    print("- versions: " + "; ".join(f"{k}: {v}" for k, v in vers.items()))
    print("- zonefront from byte-compiled src/ (as installed): "
          + ("yes" if ctx["byte_compiled"] else "no"))
    for r in results:
        for k, v in r["skipped"].items():
            print(f"- skipped {k}: {v}")
    print()
    print(tables(results))
    ok = all("load_s" in s for r in results for s in r["servers"].values())
    ok = ok and all(not s.get("sanity") for r in results for s in r["servers"].values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
