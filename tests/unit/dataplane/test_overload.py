"""Overload: a 1-worker server flooded past its capacity keeps answering at
about its peak rate, does not grow (the kernel socket buffer drops the excess;
nothing queues in user space), and answers a normal query promptly afterwards.

The server runs in a child process so its RSS and CPU are its own.
tools/loadgen.c measures the peak (closed loop) and the recovery; the flood
itself comes from FLOOD below, a send-only sendmmsg loop: loadgen must also
receive and match every answer, which capped it near one worker's own rate
on this 2-core machine, so it could not overload the server.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zonefront.dataplane import _worker

from helpers.dnswire import make_query, udp_client

ROOT = Path(__file__).resolve().parents[3]
ZONE = ROOT / "tests" / "scenarios" / "serve" / "zones" / "example.test.zone"

pytestmark = [
    pytest.mark.skipif(not _worker.HAVE_ENGINE, reason="_worker built without engine"),
    pytest.mark.skipif(shutil.which("cc") is None, reason="needs cc for tools/loadgen.c"),
    pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc"),
]

# The child: a 1-worker UDP server on the real engine; prints its port, then
# answers "stats" on stdin with one JSON line until stdin closes.  Its receive
# batch is 1, not 64: with full batches a quiet machine's worker kept up with
# the one-core flooder (92% received), and this test is about behaviour past
# capacity, which the flooder must be able to reach on any machine.
SERVER = r"""
import json, sys
from zonefront.core.engine import Engine
from zonefront.dataplane.server import DnsServer
engine = Engine.from_zone_files([sys.argv[1]])
srv = DnsServer([("127.0.0.1", 0)], workers=1, image=engine.image, answer="engine",
                tcp=False, batch=1).start()
print(srv.ports[0], flush=True)
for line in sys.stdin:
    print(json.dumps(srv.stats()), flush=True)
srv.stop()
"""

# Send-only flood: the given queries round-robin, 64 per sendmmsg, for argv[3]
# seconds from one connected socket whose replies nobody reads (the kernel
# drops them once its buffer is full).  Prints the number sent.
FLOOD = r"""
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
    static unsigned char q[8][300]; size_t ql[8]; int nq = 0;
    FILE *f = fopen(argv[4], "rb");
    while (nq < 8 && fread(&ql[nq], sizeof(size_t), 1, f) == 1) { fread(q[nq], 1, ql[nq], f); nq++; }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_port = htons(atoi(argv[2]));
    inet_pton(AF_INET, argv[1], &a.sin_addr);
    connect(fd, (struct sockaddr *)&a, sizeof a);
    struct mmsghdr m[64]; struct iovec v[64]; memset(m, 0, sizeof m);
    for (int i = 0; i < 64; i++) { v[i].iov_base = q[i % nq]; v[i].iov_len = ql[i % nq]; m[i].msg_hdr.msg_iov = &v[i]; m[i].msg_hdr.msg_iovlen = 1; }
    double end = now() + atof(argv[3]); unsigned long sent = 0;
    while (now() < end) { int r = sendmmsg(fd, m, 64, 0); if (r > 0) sent += r; }
    printf("%lu\n", sent);
    return 0;
}
"""

QUERIES = ["www.example.test A", "www.example.test AAAA", "mail.example.test A",
           "alias.example.test A", "nope.example.test A", "example.test MX",
           "txt.example.test TXT", "ns1.example.test A"]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.MULTILINE).group(1))


def rcvbuf_errors() -> int:
    """The kernel's count of datagrams dropped for a full receive buffer."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    return int(rows[1][rows[0].index("RcvbufErrors")])


def pinned(argv: list[str], cpu: int | None) -> list[str]:
    if cpu is None or shutil.which("taskset") is None:
        return argv
    return ["taskset", "-c", str(cpu)] + argv


def loadgen_run(exe, port, qfile, seconds, extra, cpu):
    out = subprocess.run(pinned([exe, "-s", "127.0.0.1", "-p", str(port), "-d", qfile,
                                 "-l", str(seconds), "-t", "200"] + extra, cpu),
                         capture_output=True, text=True, timeout=seconds + 30, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    return {k: float(v) for k, v in re.findall(r"^(\w+)=([\d.]+)$", out.stdout, re.MULTILINE)}


@pytest.fixture(scope="module")
def flooder(tmp_path_factory):
    d = tmp_path_factory.mktemp("flood")
    (d / "flood.c").write_text(FLOOD)
    subprocess.run(["cc", "-O2", "-o", str(d / "flood"), str(d / "flood.c")], check=True)
    qbin = d / "queries.bin"
    with open(qbin, "wb") as f:
        for i, line in enumerate(QUERIES):
            name, qtype = line.split()
            wire = make_query(name, 1000 + i, {"A": 1, "AAAA": 28, "MX": 15, "TXT": 16}[qtype])
            f.write(len(wire).to_bytes(8, sys.byteorder) + wire)
    return str(d / "flood"), str(qbin)


@pytest.fixture(scope="module")
def loadgen(tmp_path_factory):
    exe = tmp_path_factory.mktemp("loadgen") / "loadgen"
    subprocess.run(["cc", "-O2", "-o", str(exe), str(ROOT / "tools" / "loadgen.c"),
                    "-lpthread"], check=True)
    return str(exe)


@pytest.fixture
def server():
    cpus = sorted(os.sched_getaffinity(0))
    cpu = cpus[0] if len(cpus) >= 2 else None
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(__import__("zonefront").__file__)))
    proc = subprocess.Popen(pinned([sys.executable, "-c", SERVER, str(ZONE)], cpu),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        port = int(proc.stdout.readline())

        def stats():
            proc.stdin.write("stats\n")
            proc.stdin.flush()
            return json.loads(proc.stdout.readline())["udp"]

        yield proc.pid, port, stats, (cpus[1] if cpu is not None else None)
    finally:
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def ask(port: int, qid: int, timeout: float = 1.0) -> float:
    """Seconds until a normal query is answered."""
    c = udp_client(timeout=timeout)
    t0 = time.monotonic()
    c.sendto(make_query("www.example.test", qid), ("127.0.0.1", port))
    data = c.recv(4096)
    c.close()
    assert data[:2] == qid.to_bytes(2, "big") and data[3] & 0x0F == 0
    return time.monotonic() - t0


def flood_round(pid, stats, port, flooder, client_cpu, seconds=4.0) -> dict:
    """One send-only flood: what was sent, received and answered (per
    second), the kernel's receive-buffer drops; asserts on every round that
    no error was counted and memory stayed bounded (preallocated slots
    only; a few MiB of allocator noise at most)."""
    rss0, st0, drops0 = rss_kib(pid), stats(), rcvbuf_errors()
    exe, qbin = flooder
    flood = subprocess.Popen(pinned([exe, "127.0.0.1", str(port), str(seconds), qbin],
                                    client_cpu), stdout=subprocess.PIPE, text=True)
    rss_max = rss0
    while flood.poll() is None:
        rss_max = max(rss_max, rss_kib(pid))
        time.sleep(0.2)
    assert flood.returncode == 0
    sent = int(flood.stdout.read())
    st1, rss1 = stats(), rss_kib(pid)
    assert st1["errors"] == st0["errors"]
    assert rss_max - rss0 < 8 * 1024 and rss1 - rss0 < 8 * 1024, (rss0, rss_max, rss1)
    return {"sent": sent, "received": st1["queries"] - st0["queries"],
            "answered": (st1["responses"] - st0["responses"]) / seconds,
            "kernel_drops": rcvbuf_errors() - drops0, "rss_kib": (rss0, rss_max, rss1)}


def test_flood_keeps_answering_bounded_and_recovers(server, loadgen, flooder, tmp_path):
    pid, port, stats, client_cpu = server
    qfile = tmp_path / "queries.txt"
    qfile.write_text("\n".join(QUERIES * 16) + "\n")
    assert ask(port, 1) < 0.5

    # Peak: closed loop, enough outstanding to keep one worker busy.
    peak = loadgen_run(loadgen, port, str(qfile), 2, ["-c", "8", "-q", "512"], client_cpu)
    # Flood: send-only, far above what one worker answers.  The machine is
    # shared: a round in which another process held the flooder or the
    # worker off the CPU may not reach overload or may answer below half
    # the peak; a server that livelocks or queues fails every round.
    for _round in range(3):
        got = flood_round(pid, stats, port, flooder, client_cpu)
        if got["received"] < 0.9 * got["sent"] and got["kernel_drops"] > 0 \
                and got["answered"] > 0.5 * peak["qps_answered"]:
            break
    print(f"\npeak {peak['qps_answered']:,.0f} qps closed-loop; flood {got}")
    # Overloaded: more was offered than the worker took, and the excess died
    # in the kernel's socket buffer, not in a queue of ours.
    assert got["received"] < 0.9 * got["sent"] and got["kernel_drops"] > 0, \
        "the flood did not exceed capacity"
    # No receive livelock: answers keep flowing at a good share of the peak
    # (the flood client itself competes for the same memory bandwidth/caches).
    assert got["answered"] > 0.5 * peak["qps_answered"]

    # Recovery: the backlog in the socket buffer drains in milliseconds.
    assert ask(port, 2) < 0.2
    # A busy machine can hold one closed-loop second down; a server that has
    # not recovered (a backlog, a stuck worker) fails every round.
    for _round in range(3):
        again = loadgen_run(loadgen, port, str(qfile), 1, ["-c", "8", "-q", "512"], client_cpu)
        if again["lost"] == 0 and again["qps_answered"] > 0.5 * peak["qps_answered"]:
            break
    assert again["lost"] == 0 and again["qps_answered"] > 0.5 * peak["qps_answered"]
