#!/usr/bin/env python3
"""Same-run QPS / CPU / latency / memory comparison: zonefront vs NSD, Knot, gdnsd.

Stdlib only.  For each selected server, one after the other: write a minimal
config in a temp dir, start it on 127.0.0.1:<own port> with the same zone and
the same number of workers, time the zone load (exec -> first authoritative
SOA answer), read RSS/PSS, check a few answers, then drive it with the same
dnsperf (or tools/loadgen) load and read the server's CPU time from /proc.
Everything started is stopped by PID (process group) on exit, error or Ctrl-C.

    python3 bench/dnsperf/run.py --servers nsd,knot,gdnsd --seconds 10
    python3 bench/dnsperf/run.py --workers 2 --markdown
    python3 bench/dnsperf/run.py --names 1000000 --load-only

See bench/README.md for what each column means and how it is measured.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import platform
import random
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import genzone  # noqa: E402

ZONE = "bench.test"
CLK_TCK = os.sysconf("SC_CLK_TCK")
ALL_SERVERS = ("zonefront", "nsd", "knot", "gdnsd")
PEERS = ("nsd", "knot", "gdnsd")


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# /proc accounting


def _proc_stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode("ascii", "replace")
    except OSError:
        return None
    # comm may contain spaces and parens: split after the last ')'.
    return raw[raw.rindex(")") + 2:].split()


def tree_pids(root: int) -> list[int]:
    """root and all its live descendants (NSD forks, Knot/gdnsd/zonefront thread)."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = _proc_stat(int(d))
        if st is None:
            continue
        children.setdefault(int(st[1]), []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, ()))
    return out


def cpu_ticks(pids: list[int]) -> tuple[int, int, int]:
    """(total, thread utime, thread stime) in clock ticks over the processes.

    total is each process's utime+stime, which the kernel derives from the
    precise runtime of all its threads, live and exited.  The user/kernel
    split is summed per thread instead: a process's own split is rescaled
    over its whole life (so a zone load spent in user space skews a later
    delta), a serving thread's is not."""
    total = user = system = 0
    for p in pids:
        st = _proc_stat(p)
        if st is None:
            continue
        total += int(st[11]) + int(st[12])  # fields 14, 15 of stat(5)
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tids:
            try:
                with open(f"/proc/{p}/task/{t}/stat", "rb") as f:
                    raw = f.read().decode("ascii", "replace")
            except OSError:
                continue
            f2 = raw[raw.rindex(")") + 2:].split()
            user += int(f2[11])
            system += int(f2[12])
    return total, user, system


def ctx_switches(pids: list[int]) -> int:
    """Voluntary + involuntary context switches over every thread of the processes:
    a server that sleeps and wakes per packet pays a scheduler round trip each time."""
    total = 0
    for p in pids:
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tids:
            try:
                with open(f"/proc/{p}/task/{t}/status") as f:
                    for line in f:
                        if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                            total += int(line.split()[1])
            except OSError:
                pass
    return total


def mem_kb(pids: list[int]) -> tuple[int, int]:
    """(sum of RSS, sum of PSS) in KiB.  PSS splits pages shared by NSD's forks fairly."""
    rss = pss = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


def cpu_busy() -> dict[int, tuple[int, int]]:
    """Per-core (busy, total) jiffies from /proc/stat."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            m = re.match(r"cpu(\d+) (.*)", line)
            if m:
                v = [int(x) for x in m.group(2).split()]
                idle = v[3] + (v[4] if len(v) > 4 else 0)
                out[int(m.group(1))] = (sum(v[:8]) - idle, sum(v[:8]))
    return out


# --------------------------------------------------------------------------
# minimal DNS client for readiness and sanity checks

QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33}


def build_query(qname: str, qtype: str, qid: int) -> bytes:
    wire = b"".join(bytes([len(lb)]) + lb.encode() for lb in qname.rstrip(".").split(".") if lb)
    opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
    return struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 1) + wire + b"\x00" + struct.pack("!HH", QTYPES[qtype], 1) + opt


def _skip_name(msg: bytes, off: int) -> int:
    while True:
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += n + 1


def ask(port: int, qname: str, qtype: str, timeout: float = 0.5, tcp: bool = False) -> dict | None:
    """One query -> {rcode, aa, an, ns, ar, an_types} or None on timeout/error."""
    qid = random.randrange(65536)
    q = build_query(qname, qtype, qid)
    try:
        if tcp:
            with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
                s.sendall(struct.pack("!H", len(q)) + q)
                buf = b""
                while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                    chunk = s.recv(65536)
                    if not chunk:
                        return None
                    buf += chunk
                r = buf[2:]
        else:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(timeout)
                s.sendto(q, ("127.0.0.1", port))
                r, _ = s.recvfrom(65535)
    except OSError:
        return None
    if len(r) < 12 or struct.unpack("!H", r[:2])[0] != qid:
        return None
    _, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", r[:12])
    off = 12
    types = []
    try:
        for _ in range(qd):
            off = _skip_name(r, off) + 4
        for _ in range(an):
            off = _skip_name(r, off)
            t, _, _, rdlen = struct.unpack("!HHIH", r[off:off + 10])
            types.append(t)
            off += 10 + rdlen
    except (IndexError, struct.error):
        pass
    return {"rcode": flags & 0xF, "aa": bool(flags & 0x0400), "tc": bool(flags & 0x0200),
            "an": an, "ns": ns, "ar": ar, "an_types": types}


def sanity(port: int, tcp: bool = False) -> list[str]:
    """Check one query per behaviour; return the failures (empty when all good)."""
    z = ZONE + "."
    checks = [
        (z, "SOA", lambda r: r["rcode"] == 0 and r["aa"] and r["an"] == 1),
        ("ns1." + z, "A", lambda r: r["rcode"] == 0 and r["an"] >= 1 and 1 in r["an_types"]),
        ("ns1." + z, "AAAA", lambda r: r["rcode"] == 0 and 28 in r["an_types"]),
        ("mail1." + z, "MX", lambda r: r["rcode"] == 0 and r["an"] == 0 and r["ns"] >= 1),
        ("no-such-name-xyz." + z, "A", lambda r: r["rcode"] == 3 and r["ns"] >= 1),
        ("anything.wild." + z, "A", lambda r: r["rcode"] == 0 and 1 in r["an_types"]),
        ("a.b.wild." + z, "TXT", lambda r: r["rcode"] == 0 and 16 in r["an_types"]),
        ("www.sub." + z, "A", lambda r: r["rcode"] == 0 and not r["aa"] and r["an"] == 0
         and r["ns"] == 2 and r["ar"] >= 2),
        (z, "MX", lambda r: r["rcode"] == 0 and 15 in r["an_types"]),
    ]
    fails = []
    for name, qt, ok in checks:
        r = ask(port, name, qt, timeout=2.0, tcp=tcp)
        if r is None or not ok(r):
            fails.append(f"{name} {qt} -> {r}")
    return fails


def wait_ready(port: int, proc: subprocess.Popen, timeout: float) -> float | None:
    """Seconds from now until an authoritative SOA answer, None if the process died/timed out."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            return None
        r = ask(port, ZONE + ".", "SOA", timeout=0.05)
        if r and r["rcode"] == 0 and r["aa"] and r["an"] >= 1:
            return time.monotonic() - t0
        time.sleep(0.005)
    return None


# --------------------------------------------------------------------------
# servers


def free_port(start: int) -> int:
    p = start
    while True:
        ok = True
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            with socket.socket(socket.AF_INET, kind) as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
        if ok:
            return p
        p += 1


class Server:
    """One DNS server instance under test."""

    name = "?"
    binary = "?"

    def __init__(self, workdir: str, zonefile: str, port: int, workers: int, opts) -> None:
        self.dir = os.path.join(workdir, self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.zonefile = zonefile
        self.port = port
        self.workers = workers
        self.opts = opts
        self.proc: subprocess.Popen | None = None
        self.logpath = os.path.join(self.dir, "server.log")
        self.pre_s = 0.0  # compile step timed outside the server (zonefront snapshots)
        self.profile: dict = {}  # --perf: syscalls and context switches per query

    def available(self) -> str | None:
        """None when runnable, else the reason it is skipped."""
        return None if shutil.which(self.binary) else f"{self.binary} not found"

    def version(self) -> str:
        return "?"

    def prepare(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def start(self, cpus: str | None) -> float | None:
        argv = self.prepare()
        if cpus is not None:
            argv = ["taskset", "-c", cpus] + argv
        self.argv = argv
        logf = open(self.logpath, "wb")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                     cwd=self.dir, env=self.env(), start_new_session=True)
        _STARTED.append(self.proc)
        logf.close()
        waited = wait_ready(self.port, self.proc, self.opts.ready_timeout)
        if waited is None:
            return None
        return time.monotonic() - t0

    def pids(self) -> list[int]:
        return tree_pids(self.proc.pid) if self.proc else []

    def stop(self) -> int | None:
        return stop_proc(self.proc)

    def log_tail(self, n: int = 15) -> str:
        try:
            with open(self.logpath, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""


def _first_line(cmd: list[str]) -> str:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    for line in (r.stdout + r.stderr).splitlines():
        if re.search(r"\d+\.\d+", line):
            return line.strip()
    return "?"


class Nsd(Server):
    name = "nsd"
    binary = "nsd"

    def version(self) -> str:
        return _first_line(["nsd", "-v"])

    def prepare(self) -> list[str]:
        shutil.copy(self.zonefile, os.path.join(self.dir, "bench.test.zone"))
        d, tcp = self.dir, self.opts.tcp
        conf = f"""server:
    ip-address: 127.0.0.1@{self.port}
    port: {self.port}
    server-count: {self.workers}
    reuseport: yes
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "{d}"
    database: ""
    zonelistfile: "{d}/zone.list"
    xfrdfile: "{d}/xfrd.state"
    xfrdir: "{d}"
    pidfile: "{d}/nsd.pid"
    logfile: "{d}/nsd.log"
    verbosity: 0
    minimal-responses: yes
    refuse-any: yes
    zonefiles-check: no
    zonefiles-write: 0
    tcp-count: {1000 if tcp else 100}
    tcp-reject-overflow: no
    # Debian builds NSD with RRL on (200 rps per /24): it would drop our
    # NXDOMAIN share from one source address.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: {ZONE}
    zonefile: "bench.test.zone"
"""
        with open(os.path.join(d, "nsd.conf"), "w") as f:
            f.write(conf)
        return ["nsd", "-d", "-c", os.path.join(d, "nsd.conf")]


class Knot(Server):
    name = "knot"
    binary = "knotd"

    def version(self) -> str:
        return _first_line(["knotd", "-V"])

    def prepare(self) -> list[str]:
        shutil.copy(self.zonefile, os.path.join(self.dir, "bench.test.zone"))
        d = self.dir
        conf = f"""server:
    rundir: "{d}"
    listen: 127.0.0.1@{self.port}
    udp-workers: {self.workers}
    tcp-workers: {self.workers}
    background-workers: 1
log:
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


class Gdnsd(Server):
    name = "gdnsd"
    binary = "gdnsd"

    def version(self) -> str:
        return _first_line(["gdnsd", "-V"])

    def prepare(self) -> list[str]:
        d = self.dir
        for sub in ("zones", "run", "state"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        shutil.copy(self.zonefile, os.path.join(d, "zones", ZONE))
        conf = f"""options => {{
    listen => [ 127.0.0.1 ]
    dns_port => {self.port}
    udp_threads => {self.workers}
    tcp_threads => {self.workers}
    run_dir => "{d}/run"
    state_dir => "{d}/state"
}}
"""
        with open(os.path.join(d, "config"), "w") as f:
            f.write(conf)
        return ["gdnsd", "-c", d, "start"]


class Zonefront(Server):
    name = "zonefront"
    binary = "zonefront"

    def _base(self) -> list[str]:
        if self.opts.zonefront_cmd:
            return shlex.split(self.opts.zonefront_cmd)
        if os.path.exists(os.path.join(REPO, "src", "zonefront", "cli.py")):
            return [sys.executable, "-m", "zonefront.cli"]
        exe = shutil.which("zonefront")
        return [exe] if exe else [sys.executable, "-m", "zonefront.cli"]

    def env(self) -> dict[str, str]:
        e = dict(os.environ)
        src = os.path.join(REPO, "src")
        e["PYTHONPATH"] = src + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
        return e

    def available(self) -> str | None:
        try:
            r = subprocess.run(self._base() + ["serve", "--help"], capture_output=True, text=True,
                               timeout=60, env=self.env(), cwd=REPO)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"zonefront serve --help failed: {e}"
        if r.returncode != 0:
            tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["?"]
            return f"zonefront serve --help exit {r.returncode}: {tail[0]}"
        return None

    def version(self) -> str:
        try:
            rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                 capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            rev = "?"
        return f"zonefront git {rev}"

    def prepare(self) -> list[str]:
        argv = self._base() + ["serve"]
        if self.opts.zf_snapshot:
            snap = os.path.join(self.dir, "bench.snap")
            t0 = time.monotonic()
            subprocess.run(self._base() + ["compile", self.zonefile, "-o", snap], check=True,
                           env=self.env(), cwd=REPO, stdout=subprocess.DEVNULL)
            self.pre_s = time.monotonic() - t0
            argv += ["--snapshot", snap]
        else:
            argv += ["--zone-file", self.zonefile]
        return argv + ["--dns-listen", f"127.0.0.1:{self.port}", "--workers", str(self.workers)]


class ZonefrontBase(Zonefront):
    """zonefront from another checkout (--zonefront-base DIR, built in place),
    run beside this one for a same-run before/after comparison."""

    name = "zonefront-base"

    def env(self) -> dict[str, str]:
        e = dict(os.environ)
        e["PYTHONPATH"] = os.path.join(os.path.abspath(self.opts.zonefront_base or "."), "src")
        return e

    def version(self) -> str:
        base = os.path.abspath(self.opts.zonefront_base or ".")
        rev = subprocess.run(["git", "-C", base, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        return f"zonefront from {base} {rev}".strip()


SERVER_CLASSES = {"zonefront": Zonefront, "nsd": Nsd, "knot": Knot, "gdnsd": Gdnsd,
                  "zonefront-base": ZonefrontBase}

# --------------------------------------------------------------------------
# process hygiene: everything we start is in _STARTED and gets stopped

_STARTED: list[subprocess.Popen] = []


def stop_proc(proc: subprocess.Popen | None, grace: float = 10.0) -> int | None:
    """SIGTERM the process group we created for proc (pgid == its pid), then SIGKILL."""
    if proc is None:
        return None
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    else:
        # Leader gone: make sure no forked child of it survives in its group.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if proc in _STARTED:
        _STARTED.remove(proc)
    return proc.returncode


def stop_all() -> None:
    for p in list(_STARTED):
        stop_proc(p, grace=5.0)


def _on_signal(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


# --------------------------------------------------------------------------
# load generators


def build_loadgen(cache: str) -> str:
    src = os.path.join(REPO, "tools", "loadgen.c")
    with open(src, "rb") as f:
        digest = hashlib.sha1(f.read()).hexdigest()[:12]
    out = os.path.join(cache, "build", f"loadgen-{digest}")
    if not os.path.exists(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        cc = os.environ.get("CC", "cc")
        log(f"building {out}")
        subprocess.run([cc, "-O2", "-Wall", "-o", out + ".tmp", src, "-lpthread"], check=True)
        os.replace(out + ".tmp", out)
    return out


def percentile_from_hist(hist: dict[float, int], pct: float) -> float:
    total = sum(hist.values())
    if not total:
        return float("nan")
    want = total * pct / 100.0
    acc = 0
    for v in sorted(hist):
        acc += hist[v]
        if acc >= want:
            return v
    return max(hist)


def parse_dnsperf(text: str) -> dict:
    def num(pat, cast=float, default=None):
        m = re.search(pat, text)
        return cast(m.group(1)) if m else default
    return {
        "sent": num(r"Queries sent:\s+(\d+)", int, 0),
        "completed": num(r"Queries completed:\s+(\d+)", int, 0),
        "lost": num(r"Queries lost:\s+(\d+)", int, 0),
        "qps": num(r"Queries per second:\s+([\d.]+)", float, 0.0),
        "avg_s": num(r"Average Latency \(s\):\s+([\d.]+)", float),
        "max_s": num(r"Average Latency \(s\):\s+[\d.]+ \(min [\d.]+, max ([\d.]+)\)", float),
        "std_s": num(r"Latency StdDev \(s\):\s+([\d.]+)", float),
        "runtime": num(r"Run time \(s\):\s+([\d.]+)", float, 0.0),
        "rcodes": (re.search(r"Response codes:\s+(.*)", text) or [None, ""])[1],
        "sizes": (re.search(r"Average packet size:\s+(.*)", text) or [None, ""])[1],
    }


def verbose_p99(path: str) -> tuple[float | None, int]:
    """p99 (seconds) from dnsperf -v per-response lines '> RCODE name type LATENCY'."""
    hist: dict[float, int] = {}
    n = 0
    with open(path, "rb") as f:
        for line in f:
            if line.startswith(b"> "):
                parts = line.split()
                try:
                    v = round(float(parts[-1]), 6)
                except ValueError:
                    continue
                hist[v] = hist.get(v, 0) + 1
                n += 1
    if not n:
        return None, 0
    return percentile_from_hist(hist, 99.0), n


def client_argv(opts, port: int, qfile: str, seconds: float, loadgen: str | None, verbose: bool) -> list[str]:
    if loadgen:
        argv = [loadgen, "-s", "127.0.0.1", "-p", str(port), "-d", qfile, "-l", str(seconds),
                "-c", str(opts.clients), "-q", str(opts.outstanding), "-T", str(opts.threads)]
        if opts.rate:
            argv += ["-Q", str(opts.rate)]
        if opts.no_edns:
            argv += ["-E"]
        return argv
    argv = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", qfile, "-l", str(seconds),
            "-c", str(opts.clients), "-T", str(opts.threads), "-q", str(opts.outstanding),
            "-t", "2"]
    if not opts.no_edns:
        argv += ["-e"]
    if opts.tcp:
        argv += ["-m", "tcp"]
    if opts.rate:
        argv += ["-Q", str(opts.rate)]
    if verbose:
        argv += ["-v"]
    return argv


def run_client(opts, srv: Server, qfile: str, seconds: float, loadgen: str | None,
               verbose: bool, cpus: str | None, tag: str) -> dict:
    argv = client_argv(opts, srv.port, qfile, seconds, loadgen, verbose)
    if cpus is not None:
        argv = ["taskset", "-c", cpus] + argv
    outpath = os.path.join(srv.dir, f"client-{tag}.out")
    pids0 = srv.pids()
    busy0 = cpu_busy()
    c0 = cpu_ticks(pids0)
    x0 = ctx_switches(pids0)
    w0 = time.monotonic()
    with open(outpath, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        _STARTED.append(proc)
        # wait4 gives the client's own CPU (all its threads) exactly; taskset
        # execs the client in place, so this pid is dnsperf/loadgen itself.
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        client_cpu_s = ru.ru_utime + ru.ru_stime
        _STARTED.remove(proc)
    wall = time.monotonic() - w0
    pids1 = list(set(pids0) | set(srv.pids()))
    c1 = cpu_ticks(pids1)
    res_ctx = ctx_switches(pids1) - x0
    res_sys = (c1[2] - c0[2]) / max(1, (c1[1] + c1[2]) - (c0[1] + c0[2]))
    busy1 = cpu_busy()
    with open(outpath, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    if loadgen:
        res = parse_loadgen(text)
    else:
        res = parse_dnsperf(text)
        if verbose:
            res["p99_s"], res["lat_n"] = verbose_p99(outpath)
    res["rc"] = proc.returncode
    res["server_cpu_s"] = (c1[0] - c0[0]) / CLK_TCK
    res["server_sys_share"] = res_sys
    res["ctxsw"] = res_ctx
    res["client_cpu_s"] = client_cpu_s
    res["wall"] = wall
    res["core_busy"] = {c: (busy1[c][0] - busy0[c][0]) / max(1, busy1[c][1] - busy0[c][1])
                        for c in busy1 if c in busy0}
    # CPU used by anything else on the machine meanwhile (other builds, tests):
    # when this is high, QPS is not comparable between rows; CPU us/q still is.
    busy_s = sum(busy1[c][0] - busy0[c][0] for c in busy1 if c in busy0) / CLK_TCK
    res["other_cpu_s"] = max(0.0, busy_s - res["server_cpu_s"] - res["client_cpu_s"])
    res["argv"] = argv
    res["tail"] = "\n".join(text.splitlines()[-25:]) if (proc.returncode or not res.get("completed")) else ""
    res.setdefault("p99_s", None)
    if verbose:
        os.unlink(outpath)  # per-response lines: tens of MB
    return res


def parse_loadgen(text: str) -> dict:
    kv = dict(re.findall(r"^(\w+)=(\S+)$", text, re.M))

    def g(k, cast=float, default=0):
        try:
            return cast(kv[k])
        except (KeyError, ValueError):
            return default
    return {
        "sent": g("sent", int), "completed": g("answered", int), "lost": g("lost", int),
        "qps": g("qps_answered"), "qps_sent": g("qps_sent"),
        "avg_s": g("avg_us") / 1e6, "p99_s": g("p99_us") / 1e6, "max_s": g("max_us") / 1e6,
        "runtime": g("seconds"), "rcodes": kv.get("rcodes", ""), "sizes": "",
        "mismatch": g("mismatch", int),
    }


# --------------------------------------------------------------------------
# reporting


def fmt_ms(s: float | None) -> str:
    return "-" if s is None else f"{s * 1000:.3f}"


def render_table(rows: list[list[str]], headers: list[str], markdown: bool) -> str:
    if markdown:
        out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(headers))) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(out)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(headers, widths)))
    out = [line, "-" * len(line)]
    for r in rows:
        out.append("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
    return "\n".join(out)


def perf_table(results: dict, markdown: bool) -> str:
    zf = results.get("zonefront")
    multi = any(len(r.get("runs", ())) > 1 for r in results.values())
    headers = ["server", "QPS", "CPU us/q", "kernel%", "srv CPU%", "client CPU%", "other CPU%", "ctxsw/kq",
               "avg ms", "p99 ms", "lost", "sanity"]
    if multi:
        # Interference only ever lowers QPS and raises CPU per query, so on a
        # shared machine the best round is the better estimate of capability.
        headers += ["best QPS", "min us/q"]
    ratios = bool(zf and zf.get("qps"))
    if ratios:
        headers += ["zf QPS ratio", "zf CPU ratio"]
    rows = []
    for name, r in results.items():
        if not r.get("ok"):
            row = [name, "FAILED"] + [""] * (len(headers) - 3) + [r.get("why", "")[:40]]
            rows.append(row)
            continue
        done = r["completed"] or 0
        cpu_us = r["server_cpu_s"] * 1e6 / done if done else float("nan")
        r["cpu_us_q"] = cpu_us
        row = [name, f"{r['qps']:,.0f}", f"{cpu_us:.2f}", f"{100 * r['server_sys_share']:.0f}",
               f"{100 * r['server_cpu_s'] / r['wall']:.0f}", f"{100 * r['client_cpu_s'] / r['wall']:.0f}",
               f"{100 * r['other_cpu_s'] / r['wall']:.0f}", f"{1000 * r['ctxsw'] / done:.0f}",
               fmt_ms(r.get("avg_s")), fmt_ms(r.get("p99_s")), f"{r['lost']}",
               "ok" if not r["sanity"] else f"{len(r['sanity'])} FAIL"]
        if multi:
            good = [x for x in r.get("runs", ()) if x.get("completed")]
            row += [f"{max(x['qps'] for x in good):,.0f}",
                    f"{min(x['server_cpu_s'] * 1e6 / x['completed'] for x in good):.2f}"]
        if ratios:
            if name == "zonefront":
                row += ["1.00", "1.00"]
            else:
                zcpu = zf["server_cpu_s"] * 1e6 / zf["completed"] if zf.get("completed") else float("nan")
                row += [f"{zf['qps'] / r['qps']:.2f}" if r["qps"] else "-",
                        f"{zcpu / cpu_us:.2f}" if cpu_us else "-"]
        rows.append(row)
    return render_table(rows, headers, markdown)


def load_table(results: dict, names: int, markdown: bool) -> str:
    headers = ["server", "zone", "load s", "RSS MB", "PSS MB", "processes"]
    rows = []
    for name, r in results.items():
        if r.get("load_s") is None:
            rows.append([name, f"{names:,}", "FAILED", "", "", ""])
            continue
        load = f"{r['load_s']:.2f}"
        if r.get("pre_s"):
            load += f" (+{r['pre_s']:.2f} compile)"
        rows.append([name, f"{names:,}", load, f"{r['rss_kb'] / 1024:.1f}", f"{r['pss_kb'] / 1024:.1f}",
                     str(r["nprocs"])])
    return render_table(rows, headers, markdown)


def machine_info() -> dict[str, str]:
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    return {"cpu": f"{model} x{os.cpu_count()}", "kernel": platform.release(), "loadavg": load}


# --------------------------------------------------------------------------


def profile_pass(opts, srv: Server, qfile: str, loadgen: str | None, cpus: str | None) -> str:
    """Run the load once more under `perf record` (cpu-clock, call graphs) on the
    server's processes; write NAME.perf.txt (flat symbol profile) into opts.perf."""
    os.makedirs(opts.perf, exist_ok=True)
    data = os.path.join(srv.dir, "perf.data")
    pids = ",".join(str(p) for p in srv.pids())
    perf = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "4999", "-g", "-p", pids, "-o", data],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    _STARTED.append(perf)
    statpath = os.path.join(srv.dir, "perf-stat.txt")
    stat = subprocess.Popen(["perf", "stat", "-x", ",", "-e", "raw_syscalls:sys_enter,context-switches,task-clock",
                             "-p", pids, "-o", statpath], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    _STARTED.append(stat)
    time.sleep(0.5)
    res = run_client(opts, srv, qfile, min(opts.seconds, 5), loadgen, False, cpus, "perf")
    for p in (perf, stat):
        os.killpg(p.pid, signal.SIGINT)
        try:
            p.wait(30)
        finally:
            stop_proc(p)
    counts = {}
    try:
        with open(statpath) as f:
            for line in f:
                parts = line.strip().split(",")
                if len(parts) > 2 and parts[0].replace(".", "").isdigit():
                    counts[parts[2]] = float(parts[0])
    except OSError:
        pass
    done = max(1, res.get("completed") or 0)
    srv.profile = {"qps": res.get("qps"), "syscalls_q": counts.get("raw_syscalls:sys_enter", 0) / done,
                   "ctxsw_q": counts.get("context-switches", 0) / done}
    out = os.path.join(opts.perf, f"{srv.name}.perf.txt")
    with open(out, "w") as f:
        f.write(f"# {srv.name}: perf record -e cpu-clock -F 4999 -g during {min(opts.seconds, 5):g}s of "
                f"{'loadgen' if loadgen else 'dnsperf'} at {res.get('qps', 0):,.0f} qps; "
                f"syscalls/query {srv.profile['syscalls_q']:.3f}, context switches/query {srv.profile['ctxsw_q']:.3f}\n")
        f.flush()
        for sort in ("comm,dso", "dso,symbol"):
            subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", sort,
                            "--percent-limit", "0.7", "-g", "none"],
                           stdout=f, stderr=subprocess.DEVNULL)
    return out


def pick_median(runs: list[dict]) -> dict:
    """The run with the median QPS (the lower middle for an even count)."""
    good = [r for r in runs if r.get("completed")]
    if not good:
        return runs[-1]
    good.sort(key=lambda r: r["qps"])
    return good[(len(good) - 1) // 2]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--servers", default=",".join(ALL_SERVERS), help="comma list of %s" % ",".join(ALL_SERVERS))
    ap.add_argument("--workers", type=int, default=1, help="worker threads/processes per server (1 or 2)")
    ap.add_argument("--seconds", type=float, default=10, help="measured run length per server")
    ap.add_argument("--warmup", type=float, default=1, help="unmeasured run before the first measured one")
    ap.add_argument("--rounds", type=int, default=1,
                    help="measured runs per server, interleaved (A B C A B C); the median-QPS run is shown")
    ap.add_argument("--p99-seconds", type=float, default=3,
                    help="dnsperf: length of the extra -v pass that yields p99 (0 = skip); "
                         "kept apart so -v's printing does not lower the QPS figure")
    ap.add_argument("--names", type=int, default=100_000, help="names in the zone (1000000 for the 1M variant)")
    ap.add_argument("--queries", type=int, default=200_000, help="lines in the query file")
    ap.add_argument("--seed", type=int, default=53)
    ap.add_argument("--tcp", action="store_true", help="dnsperf -m tcp")
    ap.add_argument("--loadgen", action="store_true", help="drive with tools/loadgen instead of dnsperf")
    ap.add_argument("--clients", type=int, default=None, help="dnsperf -c / loadgen sockets")
    ap.add_argument("--threads", type=int, default=None, help="dnsperf -T / loadgen threads")
    ap.add_argument("--outstanding", type=int, default=None, help="dnsperf -q / loadgen window")
    ap.add_argument("--rate", type=int, default=None, help="fixed query rate (dnsperf -Q / loadgen -Q)")
    ap.add_argument("--no-edns", action="store_true", help="send queries without EDNS OPT")
    ap.add_argument("--no-pin", action="store_true", help="do not taskset (default pins only with --workers 1)")
    ap.add_argument("--server-cpus", default="1", help="taskset list for the server when pinned")
    ap.add_argument("--client-cpus", default="0", help="taskset list for the client when pinned")
    ap.add_argument("--load-only", action="store_true", help="only measure zone load time and memory")
    ap.add_argument("--zf-snapshot", action="store_true", help="zonefront: compile then serve --snapshot")
    ap.add_argument("--zonefront-cmd", default=None, help="command prefix for zonefront (default python -m zonefront.cli)")
    ap.add_argument("--zonefront-base", default=None, metavar="DIR",
                    help="server zonefront-base: zonefront from DIR/src (an older checkout), for before/after")
    ap.add_argument("--ready-timeout", type=float, default=300)
    ap.add_argument("--cache-dir", default=os.path.join(tempfile.gettempdir(), "zonefront-bench-cache"))
    ap.add_argument("--keep", action="store_true", help="keep the temp dir with configs and logs")
    ap.add_argument("--markdown", action="store_true", help="emit a bench/RESULTS.md-ready section")
    ap.add_argument("--json", default=None, help="also write all raw figures to this file")
    ap.add_argument("--perf", default=None, metavar="DIR",
                    help="after measuring, profile each server under the same load with perf; reports to DIR")
    ap.add_argument("--base-port", type=int, default=15350)
    opts = ap.parse_args(argv)

    servers = [s.strip() for s in opts.servers.split(",") if s.strip()]
    for s in servers:
        if s not in SERVER_CLASSES:
            ap.error(f"unknown server {s!r}")
    if opts.tcp and opts.loadgen:
        ap.error("tools/loadgen is UDP only; use dnsperf for --tcp")
    pin = opts.workers == 1 and not opts.no_pin
    if opts.threads is None:
        opts.threads = 1 if pin else opts.workers
    if opts.clients is None:
        opts.clients = 8 if not opts.tcp else 32
    if opts.outstanding is None:
        opts.outstanding = 128 if not opts.tcp else 256
    server_cpus = opts.server_cpus if pin else None
    client_cpus = opts.client_cpus if pin else None

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    workdir = tempfile.mkdtemp(prefix="zfbench-")
    results: dict[str, dict] = {}
    versions: dict[str, str] = {}
    skipped: dict[str, str] = {}
    machine = machine_info()
    running: list[Server] = []
    try:
        t0 = time.monotonic()
        zonefile, qfile = genzone.ensure(os.path.join(opts.cache_dir, "data"), opts.names, opts.queries, opts.seed)
        log(f"zone {zonefile} / queries {qfile} ready in {time.monotonic() - t0:.1f}s")
        loadgen = build_loadgen(opts.cache_dir) if opts.loadgen else None
        if not opts.loadgen and not shutil.which("dnsperf"):
            raise SystemExit("dnsperf not found (apt-get install dnsperf)")

        # Phase 1, one server at a time so loads do not compete: start, time
        # the load, read memory, check answers.  Servers stay up (idle) so the
        # measured runs can be interleaved.
        port = opts.base_port
        for name in servers:
            port = free_port(port)
            srv = SERVER_CLASSES[name](workdir, zonefile, port, opts.workers, opts)
            port += 1
            why = srv.available()
            if why:
                log(f"skip {name}: {why}")
                skipped[name] = why
                continue
            versions[name] = srv.version()
            r: dict = {"ok": False, "port": srv.port, "runs": []}
            results[name] = r
            log(f"start {name} on 127.0.0.1:{srv.port} workers={opts.workers}")
            load_s = srv.start(server_cpus)
            if load_s is None:
                r["why"] = "did not become ready"
                log(f"{name} did not become ready; log tail:\n{srv.log_tail()}")
                r["exit"] = srv.stop()
                continue
            time.sleep(0.3)
            pids = srv.pids()
            r["load_s"], r["pre_s"] = load_s, srv.pre_s
            r["rss_kb"], r["pss_kb"] = mem_kb(pids)
            r["nprocs"] = len(pids)
            r["sanity"] = sanity(srv.port, tcp=opts.tcp)
            for f in r["sanity"]:
                log(f"{name} sanity FAIL: {f}")
            log(f"{name} ready after {load_s:.2f}s, RSS {r['rss_kb'] / 1024:.1f} MB, "
                f"PSS {r['pss_kb'] / 1024:.1f} MB, {len(pids)} process(es)")
            r["ok"] = True
            if opts.load_only:
                r["exit"] = srv.stop()
            else:
                running.append(srv)

        # Phase 2: the same load against each, interleaved by round.
        for rnd in range(opts.rounds if not opts.load_only else 0):
            for srv in running:
                r = results[srv.name]
                if rnd == 0 and opts.warmup > 0:
                    run_client(opts, srv, qfile, opts.warmup, loadgen, False, client_cpus, "warmup")
                res = run_client(opts, srv, qfile, opts.seconds, loadgen, False, client_cpus, f"run{rnd}")
                r["runs"].append(res)
                if not res.get("completed"):
                    log(f"{srv.name}: client got no answers:\n{res['tail']}")
                else:
                    log(f"{srv.name} round {rnd + 1}: {res['qps']:,.0f} qps, server CPU {res['server_cpu_s']:.2f}s "
                        f"({1e6 * res['server_cpu_s'] / res['completed']:.2f} us/q), lost {res['lost']}, "
                        f"other load {100 * res['other_cpu_s'] / res['wall']:.0f}%, rcodes {res['rcodes']}")
        for srv in running:
            r = results[srv.name]
            if not r["runs"]:
                continue
            best = pick_median(r["runs"])
            r.update({k: v for k, v in best.items()})
            r["ok"] = bool(best.get("completed"))
            if not r["ok"]:
                r["why"] = "no answers"
            if r["ok"] and not loadgen and opts.p99_seconds > 0:
                lat = run_client(opts, srv, qfile, opts.p99_seconds, None, True, client_cpus, "p99")
                r["p99_s"], r["p99_qps"] = lat.get("p99_s"), lat.get("qps")
                log(f"{srv.name} p99 pass: {fmt_ms(lat.get('p99_s'))} ms at {lat.get('qps', 0):,.0f} qps")
            if r["ok"] and opts.perf:
                log(f"{srv.name} profile: {profile_pass(opts, srv, qfile, loadgen, client_cpus)}")
                r["profile"] = srv.profile
    except KeyboardInterrupt as e:
        log(f"interrupted ({e}); stopping everything")
        return 130
    finally:
        for srv in running:
            rc = srv.stop()
            if srv.name in results:
                results[srv.name]["exit"] = rc
            if rc not in (0, None) and srv.name == "zonefront":
                log(f"zonefront exited {rc} on SIGTERM (expected 0)")
        stop_all()
        if opts.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    mode = "TCP" if opts.tcp else "UDP"
    gen = "tools/loadgen" if opts.loadgen else "dnsperf"
    md = opts.markdown
    out = []
    cmdline = "python3 bench/dnsperf/run.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    any_client = next((r for r in results.values() if r.get("argv")), None)
    if shutil.which("dnsperf"):
        versions["dnsperf"] = _first_line(["dnsperf", "-h"])
    client_line = " ".join(any_client["argv"]).replace(qfile, "QUERIES") if any_client else ""
    if loadgen:
        client_line = client_line.replace(loadgen, "loadgen")
    if md:
        out.append(f"### {mode}, {opts.workers} worker(s), {gen}, {opts.names:,} names — "
                   f"{datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}")
        out.append("")
        out.append(f"- command: `{cmdline}`")
        if client_line:
            out.append(f"- client: `{client_line}`"
                       + (f" (+ a {opts.p99_seconds:g} s `-v` pass for p99)" if not loadgen and opts.p99_seconds else ""))
        out.append(f"- machine: {machine['cpu']}, Linux {machine['kernel']}, loadavg before run {machine['loadavg']}")
        out.append(f"- pinning: {'server on CPU ' + opts.server_cpus + ', client on CPU ' + opts.client_cpus if pin else 'none'}"
                   f"; rounds: {opts.rounds} (median-QPS run shown)")
        out.append("- versions: " + "; ".join(f"{k}: {v}" for k, v in versions.items()))
        for k, v in skipped.items():
            out.append(f"- skipped {k}: {v}")
        out.append("")
    else:
        out.append(f"== {mode}, workers={opts.workers}, {gen}, {opts.seconds:g}s x {opts.rounds}, {opts.names:,} names, "
                   f"pinned={'yes' if pin else 'no'}, machine {machine['cpu']} loadavg {machine['loadavg']}")
        if client_line:
            out.append(f"   client: {client_line}")
    if not opts.load_only:
        out.append(perf_table(results, md))
        out.append("")
    profiled = {n: r["profile"] for n, r in results.items() if r.get("profile")}
    if profiled:
        rows = [[n, f"{p['qps']:,.0f}", f"{p['syscalls_q']:.3f}", f"{p['ctxsw_q']:.3f}",
                 os.path.join(opts.perf, f"{n}.perf.txt")] for n, p in profiled.items()]
        out.append(render_table(rows, ["profiled", "QPS (under perf)", "syscalls/q", "ctxsw/q", "report"], md))
        out.append("")
    out.append(load_table(results, opts.names, md))
    if md:
        out.append("")
    print("\n".join(out))
    if opts.json:
        import json
        with open(opts.json, "w") as f:
            json.dump({"argv": cmdline, "machine": machine, "versions": versions, "skipped": skipped,
                       "results": results}, f, indent=1, default=str)
    return 0 if results and all(r.get("ok") for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
