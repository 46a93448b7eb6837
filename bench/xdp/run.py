"""AF_XDP benchmark (issue 19): knotd XDP, knotd UDP, gdnsd, zonefront UDP and
zonefront XDP in one run, over one veth pair between two namespaces.

The server is pinned to CPU 0 in zfx-bench-s, the load generator to CPU 1 in
zfx-bench-c; the zone is bench/dnsperf/genzone.py's (100k names by default).
Every server is driven by dnsperf (saturating, then at a fixed rate below
saturation) and by Knot's kxdpgun (AF_XDP, beyond what dnsperf can send).
For each: answered QPS, lost queries, dnsperf latency, and the busy share of
CPU 0 from /proc/stat (user+nice+system+irq+softirq: the server's threads and
the softirq work done on its core), with CPU microseconds per answer.

    sudo python3 bench/xdp/run.py --seconds 10 [--servers ...] [--json out.json]

Needs root, iproute2, taskset, dnsperf; knotd/kxdpgun and gdnsd when listed.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "bench", "dnsperf"))
import genzone  # noqa: E402

SNS, CNS = "zfx-bench-s", "zfx-bench-c"
SIF, CIF = "zfxbs0", "zfxbc0"
SADDR, CADDR = "10.79.0.1", "10.79.0.2"
ZONE = "bench.test"
ALL = ("knot-xdp", "knot-udp", "gdnsd", "zonefront-udp", "zonefront-xdp")


def sh(*cmd, check=True):
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def netns_up():
    netns_down()
    sh("ip", "netns", "add", SNS)
    sh("ip", "netns", "add", CNS)
    sh("ip", "link", "add", SIF, "netns", SNS, "type", "veth", "peer", "name", CIF, "netns", CNS)
    for ns, dev, a in ((SNS, SIF, SADDR), (CNS, CIF, CADDR)):
        sh("ip", "-n", ns, "addr", "add", f"{a}/24", "dev", dev)
        sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")


def netns_down():
    for ns in (SNS, CNS):
        sh("ip", "netns", "del", ns, check=False)


def xdp_off():
    for mode in ("xdp", "xdpgeneric", "xdpdrv"):
        sh("ip", "-n", SNS, "link", "set", "dev", SIF, mode, "off", check=False)


def mac(ns, dev):
    return sh("ip", "-n", ns, "-br", "link", "show", dev).stdout.split()[2]


def cpu0():
    """(busy, total) jiffies of CPU 0."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu0 "):
                v = [int(x) for x in line.split()[1:]]
                busy = v[0] + v[1] + v[2] + v[5] + v[6]
                return busy, sum(v[:8])
    raise RuntimeError("no cpu0 in /proc/stat")


def cpu0_irq():
    """irq+softirq jiffies of CPU 0 (the packet work done on the server's core)."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu0 "):
                v = [int(x) for x in line.split()[1:]]
                return v[5] + v[6]
    return 0


def tree_ticks(root: int) -> int:
    """utime+stime jiffies of root and its descendants, every thread."""
    total, todo, seen = 0, [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
                try:
                    with open(f"/proc/{pid}/task/{tid}/children") as f:
                        todo.extend(int(c) for c in f.read().split())
                except OSError:
                    pass
        except OSError:
            continue
    return total


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# -- servers -----------------------------------------------------------------

class Server:
    def __init__(self, name, work, zonefile, opts):
        self.name, self.opts = name, opts
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.zonefile = zonefile
        self.proc = None

    def argv(self):
        raise NotImplementedError

    def start(self):
        # a program another server left on the interface (knotd does not
        # always detach its own) would make the next XDP server's attach fail
        # and quietly measure its kernel path instead
        xdp_off()
        log = open(os.path.join(self.dir, "server.log"), "wb")
        self.proc = subprocess.Popen(["ip", "netns", "exec", SNS, "taskset", "-c", "0"] + self.argv(),
                                     stdout=log, stderr=subprocess.STDOUT, cwd=self.dir,
                                     env=self.env(), start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_tail()}")
            if probe():
                self.check_ready()
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer: {self.log_tail()}")

    def check_ready(self):
        """Raises when the server does not serve the way its name says."""

    def env(self):
        return dict(os.environ)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        time.sleep(0.5)

    def log_tail(self):
        with open(os.path.join(self.dir, "server.log"), "rb") as f:
            return f.read()[-1500:].decode("utf-8", "replace")

    def version(self):
        return "?"


class Knot(Server):
    def argv(self):
        d = self.dir
        shutil.copy(self.zonefile, os.path.join(d, "bench.test.zone"))
        xdp = ""
        if self.name == "knot-xdp":
            xdp = f"xdp:\n    listen: {SIF}@53\n    udp: on\n"
        conf = f"""server:
    rundir: "{d}"
    listen: {SADDR}@53
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
{xdp}log:
  - target: stderr
    any: warning
database:
    storage: "{d}/db"
control:
    listen: "{d}/knot.sock"
template:
  - id: default
    storage: "{d}"
    semantic-checks: off
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: {ZONE}.
    file: "bench.test.zone"
"""
        with open(os.path.join(d, "knot.conf"), "w") as f:
            f.write(conf)
        return ["knotd", "-c", os.path.join(d, "knot.conf")]

    def version(self):
        return sh("knotd", "-V").stdout.strip().splitlines()[0]


class Gdnsd(Server):
    def argv(self):
        d = self.dir
        for sub in ("zones", "run", "state"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        shutil.copy(self.zonefile, os.path.join(d, "zones", ZONE))
        with open(os.path.join(d, "config"), "w") as f:
            f.write(f"options => {{\n    listen => [ {SADDR} ]\n    dns_port => 53\n"
                    f"    udp_threads => 1\n    tcp_threads => 1\n"
                    f"    run_dir => \"{d}/run\"\n    state_dir => \"{d}/state\"\n}}\n")
        return ["gdnsd", "-c", d, "start"]

    def version(self):
        return "gdnsd " + sh("dpkg-query", "-W", "-f", "${Version}", "gdnsd", check=False).stdout


class Zonefront(Server):
    def env(self):
        e = dict(os.environ)
        e["PYTHONPATH"] = os.path.join(REPO, "src")
        if self.opts.xdp_batch:
            e["ZONEFRONT_XDP_BATCH"] = str(self.opts.xdp_batch)
        return e

    def argv(self):
        snap = os.path.join(self.dir, "bench.snap")
        if True:  # always: a snapshot of an older format is refused
            subprocess.run([sys.executable, "-m", "zonefront.cli", "compile", self.zonefile, "-o",
                            snap], check=True, env=self.env(), stdout=subprocess.DEVNULL)
        argv = [sys.executable, "-m", "zonefront.cli", "serve", "--no-api", "--snapshot", snap,
                "--dns-listen", f"{SADDR}:53", "--workers", "1"]
        if self.name == "zonefront-xdp":
            argv += ["--xdp", f"{SIF}:1"]
        return argv

    def check_ready(self):
        if self.name == "zonefront-xdp":
            time.sleep(0.3)
            log = self.log_tail()
            if "through the kernel instead" in log or "XDP:" not in log:
                raise RuntimeError(f"{self.name} is not serving over XDP: {log}")

    def version(self):
        rev = sh("git", "-C", REPO, "rev-parse", "--short", "HEAD", check=False).stdout.strip()
        return f"zonefront git {rev}"


def make(name, work, zonefile, opts):
    cls = {"knot-xdp": Knot, "knot-udp": Knot, "gdnsd": Gdnsd, "zonefront-udp": Zonefront,
           "zonefront-xdp": Zonefront}[name]
    return cls(name, work, zonefile, opts)


def probe() -> bool:
    """One query for www.bench.test from the client namespace."""
    q = struct.pack("!HHHHHH", 0x5A5A, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l for l in b"www.bench.test".split(b".")) + b"\0\0\1\0\1"
    code = ("import socket,sys;s=socket.socket(2,2);s.settimeout(0.5);"
            f"s.sendto(bytes.fromhex('{q.hex()}'),('{SADDR}',53));"
            "d=s.recv(4096);sys.exit(0 if d[:2]==b'ZZ' else 1)")
    r = subprocess.run(["ip", "netns", "exec", CNS, sys.executable, "-c", code],
                       capture_output=True)
    return r.returncode == 0


# -- load generators ----------------------------------------------------------

def parse_dnsperf(text):
    def num(pat, cast=float, default=None):
        m = re.search(pat, text)
        return cast(m.group(1)) if m else default
    return {"sent": num(r"Queries sent:\s+(\d+)", int, 0),
            "answered": num(r"Queries completed:\s+(\d+)", int, 0),
            "lost": num(r"Queries lost:\s+(\d+)", int, 0),
            "qps": num(r"Queries per second:\s+([\d.]+)", float, 0.0),
            "lat_ms": (num(r"Average Latency \(s\):\s+([\d.]+)", float) or 0) * 1000,
            "lat_sd_ms": (num(r"Latency StdDev \(s\):\s+([\d.]+)", float) or 0) * 1000}


def parse_kxdpgun(text, seconds):
    sent = re.search(r"total queries:\s+(\d+)", text)
    got = re.search(r"total replies:\s+(\d+)", text)
    s = int(sent.group(1)) if sent else 0
    a = int(got.group(1)) if got else 0
    return {"sent": s, "answered": a, "lost": max(0, s - a), "qps": a / seconds,
            "lat_ms": None, "lat_sd_ms": None}


def drive(kind, opts, qfile, srv, rate=None):
    secs = opts.seconds
    if kind == "dnsperf":
        argv = ["dnsperf", "-s", SADDR, "-p", "53", "-d", qfile, "-l", str(secs), "-c", "4",
                "-q", str(opts.outstanding), "-t", "2"]
        if rate:
            argv += ["-Q", str(rate)]
    else:
        argv = ["kxdpgun", "-t", str(secs), "-Q", str(rate or opts.kxdpgun_rate), "-i", qfile,
                "-I", CIF, "-F", "1", "-R", mac(SNS, SIF), "-L", mac(CNS, CIF), "-l", CADDR, SADDR]
    cmd = ["ip", "netns", "exec", CNS, "taskset", "-c", "1"] + argv
    perf = None
    if opts.perf and shutil.which("perf"):
        # instructions retired by the server's threads (user and kernel, the
        # softirq work its sends trigger included): repeatable on a busy machine
        perf = subprocess.Popen(["perf", "stat", "-x", ",", "-e",
                                 "instructions:u,instructions:k", "-p", str(srv.proc.pid)],
                                stderr=subprocess.PIPE, text=True)
    b0, t0 = cpu0()
    i0, p0 = cpu0_irq(), tree_ticks(srv.proc.pid)
    w0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 60)
    wall = time.monotonic() - w0
    b1, t1 = cpu0()
    i1, p1 = cpu0_irq(), tree_ticks(srv.proc.pid)
    text = r.stdout + r.stderr
    instr = {}
    if perf is not None:
        perf.send_signal(signal.SIGINT)
        for line in perf.communicate(timeout=30)[1].splitlines():
            f = line.split(",")
            if len(f) > 2 and f[0].isdigit():
                instr[f[2]] = int(f[0])
    res = parse_dnsperf(text) if kind == "dnsperf" else parse_kxdpgun(text, secs)
    if not res["sent"]:
        res["error"] = text.strip()[-400:]
    res["cpu0_busy"] = (b1 - b0) / max(1, t1 - t0)
    hz = os.sysconf("SC_CLK_TCK")
    res["cpu_us_per_answer"] = ((b1 - b0) / hz * 1e6 / res["answered"]) if res["answered"] else None
    # on a shared machine CPU 0 also runs other people's work: the server's
    # own threads plus CPU 0's irq/softirq is the figure that compares
    own = (p1 - p0) + (i1 - i0)
    res["server_threads_s"] = (p1 - p0) / hz
    res["cpu0_irq_s"] = (i1 - i0) / hz
    # the server's own threads alone: softirq work done inside its system
    # calls is charged to it unless the kernel accounts irq time apart
    res["threads_us_per_answer"] = ((p1 - p0) / hz * 1e6 / res["answered"]) \
        if res["answered"] else None
    res["server_cpu_s"] = own / hz
    res["server_us_per_answer"] = (own / hz * 1e6 / res["answered"]) if res["answered"] else None
    res["wall_s"] = round(wall, 1)
    if instr and res["answered"]:
        res["instr_u_per_answer"] = instr.get("instructions:u", 0) / res["answered"]
        res["instr_k_per_answer"] = instr.get("instructions:k", 0) / res["answered"]
    return res


def _median(xs):
    xs = sorted(x for x in xs if x is not None)
    return xs[len(xs) // 2] if xs else None


def summary(runs):
    """Medians per (server, driver) over the rounds, as a Markdown table."""
    keys = []
    for r in runs:
        if (r["server"], r["driver"]) not in keys:
            keys.append((r["server"], r["driver"]))
    print("\n| server | driver | runs | answered qps | lost | latency ms | CPU0 busy | "
          "server+irq us/answer | server threads us/answer | CPU0 us/answer | "
          "instructions/answer user+kernel |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for srv, drv in keys:
        rs = [r for r in runs if r["server"] == srv and r["driver"] == drv]
        m = {k: _median([r.get(k) for r in rs]) for k in
             ("qps", "lost", "lat_ms", "cpu0_busy", "server_us_per_answer", "cpu_us_per_answer",
              "threads_us_per_answer",
              "instr_u_per_answer", "instr_k_per_answer")}
        ins = "-" if m["instr_u_per_answer"] is None else \
            f"{m['instr_u_per_answer']:.0f}+{m['instr_k_per_answer']:.0f}"
        fmt = lambda v, f: "-" if v is None else format(v, f)  # noqa: E731
        print(f"| {srv} | {drv} | {len(rs)} | {fmt(m['qps'], '.0f')} | {fmt(m['lost'], 'd')} | "
              f"{fmt(m['lat_ms'], '.2f')} | {fmt(m['cpu0_busy'] * 100, '.0f')}% | "
              f"{fmt(m['server_us_per_answer'], '.2f')} | {fmt(m['threads_us_per_answer'], '.2f')} | "
              f"{fmt(m['cpu_us_per_answer'], '.2f')} | "
              f"{ins} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--servers", default=",".join(ALL))
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--names", type=int, default=100_000)
    ap.add_argument("--outstanding", type=int, default=500)
    ap.add_argument("--rate", type=int, default=50_000,
                    help="dnsperf fixed rate below saturation (lost queries must be 0)")
    ap.add_argument("--kxdpgun-rate", type=int, default=2_000_000)
    ap.add_argument("--drivers", default="dnsperf,dnsperf-rate,kxdpgun")
    ap.add_argument("--work", default="/tmp/zfx-bench")
    ap.add_argument("--json", default=None)
    ap.add_argument("--perf", action="store_true",
                    help="perf stat instructions per answer (needs hardware counters; "
                         "this VM has none)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="repeat the whole server list (interleaved); the summary takes medians")
    ap.add_argument("--xdp-batch", type=int, default=0, help="zonefront's XDP batch (default 64)")
    opts = ap.parse_args(argv)
    zonefile, qfile = genzone.ensure(os.path.join(opts.work, "data"), opts.names, 200_000, 53)
    drivers = opts.drivers.split(",")
    if "kxdpgun" in drivers and not shutil.which("kxdpgun"):
        print("kxdpgun not found (Debian package knot-dnsutils? `dpkg -L knot | grep kxdpgun`)")
        drivers.remove("kxdpgun")
    netns_up()
    results = {"load_before": loadavg(), "versions": {}, "runs": []}
    try:
        for name in opts.servers.split(",") * opts.rounds:
            srv = make(name, opts.work, zonefile, opts)
            try:
                srv.start()
            except RuntimeError as e:
                print(f"{name}: {e}")
                continue
            results["versions"][name] = srv.version()
            try:
                for d in drivers:
                    kind = "kxdpgun" if d == "kxdpgun" else "dnsperf"
                    rate = opts.rate if d == "dnsperf-rate" else None
                    res = drive(kind, opts, qfile, srv, rate)
                    res.update(server=name, driver=d, load=loadavg())
                    results["runs"].append(res)
                    lat = f"{res['lat_ms']:.3f} ms" if res.get("lat_ms") else "-"
                    cpq = res["cpu_us_per_answer"]
                    own = res["server_us_per_answer"]
                    print(f"{name:14} {d:13} qps {res['qps']:>10.0f}  lost {res['lost']:>8}  "
                          f"lat {lat:>10}  cpu0 {res['cpu0_busy'] * 100:5.1f}%  "
                          f"{cpq if cpq is None else round(cpq, 2)} us/ans  "
                          f"server+irq {res['server_cpu_s']:.2f}s (irq {res['cpu0_irq_s']:.2f}s) "
                          f"{own if own is None else round(own, 2)} us/ans  "
                          f"instr u/k {res.get('instr_u_per_answer', 0):.0f}/"
                          f"{res.get('instr_k_per_answer', 0):.0f}  load {res['load']}"
                          + (f"  ERR {res['error']}" if res.get("error") else ""), flush=True)
            finally:
                srv.stop()
    finally:
        netns_down()
    summary(results["runs"])
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
