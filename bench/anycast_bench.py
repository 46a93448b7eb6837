"""Anycast, shown for real: edges announcing one service address over BGP
(BIRD) to a router that spreads queries over them (ECMP); kill one edge's
zonefront under dnsperf load and measure the queries lost and the time
until the router stops sending to it.

    sudo PYTHONPATH=src python bench/anycast_bench.py [--edges 3] [--qps 2000]

Topology (network namespaces, all addresses private and inside them):

    client 10.99.0.2 -- 10.99.0.1 router 10.99.N.1 -- 10.99.N.2 edge N (N = 1..3)
                                                       lo: 10.53.53.53/32 (the service)

Each edge runs `zonefront serve --zone-file ... --dns-listen 10.53.53.53:53`,
a BIRD that announces 10.53.53.53/32 from its loopback over eBGP to the
router's BIRD, and a health watcher (`--watch`, this file) that queries the
local server every 50 ms and, after two refused probes in a row (the server
is gone) or five unanswered ones (hung), removes the service address from
the loopback: BIRD's direct protocol sees it go and
withdraws the route.  The router's BIRD merges the equal routes into one
multipath kernel route (`merge paths`); the kernel hashes on ports
(fib_multipath_hash_policy=1), so dnsperf's clients spread over the edges.

Everything made (namespaces, processes) is named with a per-run prefix and
removed by name and PID at the end, on failure too.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SERVICE = "10.53.53.53"
ZONE = "anycast.test"
PROBE_INTERVAL = 0.05  # seconds between the watcher's health queries
PROBE_FALL = 2  # refused probes in a row (server gone) before the announcement is withdrawn
SLOW_TIMEOUT = 0.2  # seconds a probe waits for an answer
SLOW_FALL = 5  # unanswered probes in a row (server hung) before withdrawing


def sh(*argv: str, check: bool = True, timeout: float = 30) -> str:
    r = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def missing_tools() -> list[str]:
    return [t for t in ("ip", "bird", "birdc", "dnsperf") if shutil.which(t) is None]


ZONE_TEXT = """$ORIGIN anycast.test.
$TTL 60
@   IN SOA ns1 hostmaster 1 3600 600 86400 60
@   IN NS  ns1
ns1 IN A   {service}
www IN A   192.0.2.80
id  IN TXT "{edge}"
"""

ROUTER_BIRD = """router id 10.99.0.1;
protocol device {{ scan time 1; }}
protocol kernel {{
    ipv4 {{ import none; export all; }};
    merge paths on;
    learn off;
}}
{neighbors}
"""

ROUTER_NEIGHBOR = """protocol bgp edge{n} {{
    local 10.99.{n}.1 as 65000;
    neighbor 10.99.{n}.2 as {asn};
    hold time 3; keepalive time 1; connect retry time 1;
    ipv4 {{ import all; export none; }};
}}
"""

EDGE_BIRD = """router id 10.99.{n}.2;
protocol device {{ scan time 1; }}
protocol direct {{ ipv4; interface "lo"; }}
protocol bgp uplink {{
    local 10.99.{n}.2 as {asn};
    neighbor 10.99.{n}.1 as 65000;
    hold time 3; keepalive time 1; connect retry time 1;
    ipv4 {{ import none; export where net = {service}/32; }};
}}
"""


class Lab:
    """The namespaces and processes of one run; `close()` removes them all."""

    def __init__(self, edges: int = 3, workers: int = 2):
        self.n_edges = edges
        self.workers = workers
        self.tag = f"zfa{os.getpid() % 100000}"
        self.dir = tempfile.mkdtemp(prefix="zonefront-anycast-")
        self.namespaces: list[str] = []
        self.procs: dict[str, subprocess.Popen] = {}  # name -> process (killed by PID)
        self.router = f"{self.tag}-r"
        self.client = f"{self.tag}-c"

    def ns(self, name: str) -> str:
        return f"{self.tag}-{name}"

    def edge(self, n: int) -> str:
        return self.ns(f"e{n}")

    # -- building ------------------------------------------------------------

    def _netns(self, name: str) -> None:
        sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        sh("ip", "-n", name, "link", "set", "lo", "up")

    def _veth(self, a_ns: str, a_if: str, a_addr: str, b_ns: str, b_if: str,
              b_addr: str) -> None:
        tmp_a, tmp_b = f"{self.tag}{a_if}"[:15], f"{self.tag}{b_if}x"[:15]
        sh("ip", "link", "add", tmp_a, "type", "veth", "peer", "name", tmp_b)
        sh("ip", "link", "set", tmp_a, "netns", a_ns, "name", a_if)
        sh("ip", "link", "set", tmp_b, "netns", b_ns, "name", b_if)
        for ns, ifname, addr in ((a_ns, a_if, a_addr), (b_ns, b_if, b_addr)):
            sh("ip", "-n", ns, "addr", "add", addr, "dev", ifname)
            sh("ip", "-n", ns, "link", "set", ifname, "up")

    def spawn(self, name: str, ns: str, argv: list[str], **kw) -> subprocess.Popen:
        log = open(os.path.join(self.dir, f"{name}.log"), "w")
        # the zonefront this process imported: the source tree in development,
        # site-packages when installed (CI), never a tree without its build
        root = os.path.dirname(os.path.dirname(__import__("zonefront").__file__))
        env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
        p = subprocess.Popen(["ip", "netns", "exec", ns] + argv, stdout=log,
                             stderr=subprocess.STDOUT, env=env, start_new_session=True, **kw)
        self.procs[name] = p
        return p

    def build(self) -> "Lab":
        self._netns(self.router)
        self._netns(self.client)
        sh("ip", "netns", "exec", self.router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        sh("ip", "netns", "exec", self.router, "sysctl", "-qw",
           "net.ipv4.fib_multipath_hash_policy=1")
        self._veth(self.client, "c0", "10.99.0.2/24", self.router, "rc", "10.99.0.1/24")
        sh("ip", "-n", self.client, "route", "add", "default", "via", "10.99.0.1")
        neighbors = []
        for n in range(1, self.n_edges + 1):
            ens = self.edge(n)
            self._netns(ens)
            self._veth(ens, "e0", f"10.99.{n}.2/24", self.router, f"re{n}", f"10.99.{n}.1/24")
            sh("ip", "-n", ens, "route", "add", "default", "via", f"10.99.{n}.1")
            sh("ip", "-n", ens, "addr", "add", f"{SERVICE}/32", "dev", "lo")
            neighbors.append(ROUTER_NEIGHBOR.format(n=n, asn=65000 + n))
            zone = os.path.join(self.dir, f"e{n}.zone")
            with open(zone, "w") as f:
                f.write(ZONE_TEXT.format(service=SERVICE, edge=f"e{n}"))
            self.spawn(f"dns{n}", ens, [sys.executable, "-m", "zonefront.cli", "serve",
                                        "--zone-file", zone, "--dns-listen", f"{SERVICE}:53",
                                        "--workers", str(self.workers)])
            self._bird(f"bird{n}", ens, EDGE_BIRD.format(n=n, asn=65000 + n, service=SERVICE))
        self._bird("bird-r", self.router, ROUTER_BIRD.format(neighbors="".join(neighbors)))
        for n in range(1, self.n_edges + 1):
            self.wait_answer(n)
            self.spawn(f"watch{n}", self.edge(n), [sys.executable, os.path.abspath(__file__),
                                                   "--watch"])
        self.wait_nexthops(self.n_edges, timeout=30)
        return self

    def _bird(self, name: str, ns: str, conf: str) -> None:
        path = os.path.join(self.dir, f"{name}.conf")
        with open(path, "w") as f:
            f.write(conf)
        self.spawn(name, ns, ["bird", "-f", "-c", path, "-s",
                              os.path.join(self.dir, f"{name}.ctl")])

    # -- observing -------------------------------------------------------------

    def nexthops(self) -> set[str]:
        """Edges the router sends the service address to."""
        out = sh("ip", "-n", self.router, "route", "show", f"{SERVICE}/32")
        return set(re.findall(r"via (10\.99\.\d+\.2)", out))

    def wait_nexthops(self, count: int, timeout: float = 15.0) -> float:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if len(self.nexthops()) == count:
                return time.monotonic() - t0
            time.sleep(0.01)
        raise TimeoutError(f"router has {sorted(self.nexthops())}, wanted {count} next hops "
                           f"(logs in {self.dir})")

    def query(self, name: str, rdtype: str = "A", ns: str | None = None,
              sport: int = 0, timeout: float = 1.0) -> bytes | None:
        """One query from the client namespace (or `ns`), through the router."""
        code = (
            "import socket,sys,dns.message\n"
            f"q=dns.message.make_query({name!r},{rdtype!r})\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            f"s.bind(('0.0.0.0',{sport}));s.settimeout({timeout})\n"
            f"s.sendto(q.to_wire(),({SERVICE!r},53))\n"
            "try:\n"
            "  m=dns.message.from_wire(s.recvfrom(4096)[0]);print(m.answer[0].to_text())\n"
            "except socket.timeout:\n  sys.exit(3)\n")
        r = subprocess.run(["ip", "netns", "exec", ns or self.client, sys.executable, "-c", code],
                           capture_output=True, text=True, timeout=timeout + 10)
        return r.stdout.strip() if r.returncode == 0 else None

    def wait_answer(self, n: int, timeout: float = 30.0) -> None:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.query(f"id.{ZONE}", "TXT", ns=self.edge(n), timeout=0.3):
                return
            if self.procs[f"dns{n}"].poll() is not None:
                raise RuntimeError(f"edge {n}'s zonefront exited; see {self.dir}/dns{n}.log")
        raise TimeoutError(f"edge {n} never answered")

    def who_answers(self, tries: int = 60) -> dict[str, int]:
        """Which edge answers, over many client source ports."""
        code = (
            "import socket,dns.message,collections,json\n"
            "c=collections.Counter()\n"
            f"for i in range({tries}):\n"
            f"  q=dns.message.make_query('id.{ZONE}','TXT')\n"
            "  s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(0.5)\n"
            f"  s.sendto(q.to_wire(),({SERVICE!r},53))\n"
            "  try:\n"
            "    m=dns.message.from_wire(s.recvfrom(4096)[0]);c[m.answer[0][0].strings[0].decode()]+=1\n"
            "  except socket.timeout:\n    c['lost']+=1\n"
            "  s.close()\n"
            "print(json.dumps(c))\n")
        import json

        out = sh("ip", "netns", "exec", self.client, sys.executable, "-c", code, timeout=120)
        return json.loads(out)

    def dnsperf(self, seconds: float, qps: int, clients: int = 16,
                timeout: float = 1.0) -> subprocess.Popen:
        data = os.path.join(self.dir, "queries.txt")
        with open(data, "w") as f:
            f.write(f"www.{ZONE} A\nid.{ZONE} TXT\n")
        return subprocess.Popen(
            ["ip", "netns", "exec", self.client, "dnsperf", "-s", SERVICE, "-d", data,
             "-l", str(seconds), "-Q", str(qps), "-c", str(clients), "-t", str(timeout),
             "-q", "1000"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    # -- failing -----------------------------------------------------------------

    def kill_edge(self, n: int) -> float:
        """kill -9 edge n's zonefront; returns the monotonic time of the kill."""
        p = self.procs[f"dns{n}"]
        t = time.monotonic()
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(10)
        return t

    def close(self) -> None:
        for name, p in list(self.procs.items()):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for name, p in list(self.procs.items()):
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(5)
        for ns in reversed(self.namespaces):
            sh("ip", "netns", "del", ns, check=False)
        self.namespaces.clear()
        shutil.rmtree(self.dir, ignore_errors=True)


def parse_dnsperf(out: str) -> dict:
    def num(label: str) -> float:
        m = re.search(rf"{label}:\s+(\d+(?:\.\d+)?)", out)
        return float(m.group(1)) if m else float("nan")
    return {"sent": int(num("Queries sent")), "completed": int(num("Queries completed")),
            "lost": int(num("Queries lost")), "qps": num("Queries per second")}


def run_failover(lab: Lab, victim: int = 1, qps: int = 2000, seconds: float = 8.0,
                 kill_after: float = 3.0) -> dict:
    """dnsperf through the router while edge `victim` is killed: queries lost
    and the time until the router dropped the victim's next hop."""
    gone = f"10.99.{victim}.2"
    perf = lab.dnsperf(seconds, qps)
    time.sleep(kill_after)
    t_kill = lab.kill_edge(victim)
    converged = None
    while time.monotonic() - t_kill < 15:
        if gone not in lab.nexthops():
            converged = time.monotonic() - t_kill
            break
        time.sleep(0.005)
    out, _ = perf.communicate(timeout=seconds + 30)
    stats = parse_dnsperf(out)
    stats.update(reconverge_s=converged, victim=victim, qps_target=qps,
                 nexthops_after=len(lab.nexthops()), raw=out)
    return stats


def watch(interval: float = PROBE_INTERVAL, fall: int = PROBE_FALL,
          slow_timeout: float = SLOW_TIMEOUT, slow_fall: int = SLOW_FALL) -> int:
    """In an edge's namespace: withdraw the service address once the local
    server stops answering (the announcement follows the address).

    A dead server is told from a slow one: the probe socket is connected, so
    a server whose socket is gone (killed) makes the kernel answer "port
    unreachable" and recv fails at once with ECONNREFUSED; `fall` of those
    withdraw.  A server that is there but silent (hung) withdraws after
    `slow_fall` timeouts of `slow_timeout`; a short timeout alone would
    withdraw healthy edges that are merely busy."""
    q = bytes.fromhex("abcd01000001000000000000") + b"".join(
        bytes([len(p)]) + p.encode() for p in ("id",) + tuple(ZONE.split("."))) + \
        b"\0\x00\x10\x00\x01"
    refused = slow = 0
    while True:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(slow_timeout)
        try:
            s.connect((SERVICE, 53))
            s.send(q)
            s.recv(4096)
            refused = slow = 0
        except ConnectionRefusedError:
            refused += 1
        except OSError:
            slow += 1
        finally:
            s.close()
        if refused >= fall or slow >= slow_fall:
            subprocess.run(["ip", "addr", "del", f"{SERVICE}/32", "dev", "lo"], check=False)
            print(f"withdrew {SERVICE}: {refused} refused, {slow} timed-out probes", flush=True)
            return 0
        time.sleep(interval)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--edges", type=int, default=3)
    ap.add_argument("--qps", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--watch", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.watch:
        return watch()
    if os.geteuid() != 0:
        print("anycast_bench: needs root (network namespaces)", file=sys.stderr)
        return 2
    if missing_tools():
        print(f"anycast_bench: missing {', '.join(missing_tools())} "
              "(apt-get install -y iproute2 bird2 dnsperf)", file=sys.stderr)
        return 2
    rows = []
    for r in range(args.rounds):
        lab = Lab(edges=args.edges)
        try:
            lab.build()
            rows.append(run_failover(lab, victim=1 + r % args.edges, qps=args.qps,
                                     seconds=args.seconds))
        finally:
            lab.close()
    print(f"anycast failover: {args.edges} edges, BIRD eBGP to one router, ECMP (L4 hash); "
          f"kill -9 of one edge's zonefront under dnsperf -Q {args.qps} -c 16 -t 1; "
          f"watcher probe every {PROBE_INTERVAL * 1000:.0f} ms, withdraw after {PROBE_FALL} "
          f"refused or {SLOW_FALL} x {SLOW_TIMEOUT * 1000:.0f} ms unanswered")
    print(f"{'round':>5} {'victim':>6} {'sent':>7} {'completed':>9} {'lost':>5} {'lost %':>7} "
          f"{'reconverge ms':>13} {'next hops after':>15}")
    for i, s in enumerate(rows, 1):
        pct = 100.0 * s["lost"] / s["sent"] if s["sent"] else float("nan")
        rc = f"{s['reconverge_s'] * 1000:.0f}" if s["reconverge_s"] is not None else "never"
        print(f"{i:>5} {s['victim']:>6} {s['sent']:>7} {s['completed']:>9} {s['lost']:>5} "
              f"{pct:>6.2f}% {rc:>13} {s['nexthops_after']:>15}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
