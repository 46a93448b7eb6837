"""A restarted `zonefront serve --api` answers its hosted zones from the first
moment its DNS port is open: the image served before the stop (saved in the
data directory) answers while the hosted zones compile again, where the
first start, with nothing saved, says REFUSED for them meanwhile (resolvers
mark a server that says REFUSED as lame)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import dns.message
import dns.rcode
import pytest
from helpers.procs import child_env, wait_ready

pytestmark = pytest.mark.e2e

ORIGIN = "restart.test."
RRSETS = 40_000


def zone_file(path: str) -> str:
    lines = [f"$ORIGIN {ORIGIN}", "$TTL 300",
             "@ IN SOA ns1 hostmaster 1 7200 900 1209600 60", "@ IN NS ns1", "ns1 IN A 192.0.2.53"]
    lines += [f"h{i} IN A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(RRSETS)]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


class Asker(threading.Thread):
    """Asks for one name over UDP every few milliseconds until stopped and
    records every answer's rcode and address (no answer: the port is not
    open yet, or the packet was lost; nothing is recorded)."""

    def __init__(self, port: int, name: str):
        super().__init__(daemon=True)
        self.port, self.name = port, name
        self.answers: list[tuple[int, str | None]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        q = dns.message.make_query(self.name, "A")
        while not self.halt.is_set():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(0.05)
                try:
                    s.sendto(q.to_wire(), ("127.0.0.1", self.port))
                    r = dns.message.from_wire(s.recv(4096))
                except OSError:
                    time.sleep(0.003)
                    continue
            addr = r.answer[0][0].address if r.answer else None
            self.answers.append((r.rcode(), addr))
            time.sleep(0.003)


def serve(data: str, dns_port: int, api_port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "zonefront.cli", "serve", "--api", "--no-demo", "--workers", "1",
         "--data-dir", data, "--config", config_of(data), "--dns-listen", f"127.0.0.1:{dns_port}",
         "--api-listen", f"127.0.0.1:{api_port}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env=child_env())


def config_of(data: str) -> str:
    """A configuration raising the 10,000 record-set limit (as Route 53 does on request)."""
    path = data + ".toml"
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(f"[zones]\nmax_rrsets_per_zone = {2 * RRSETS}\n")
    return path


def start_and_watch(data: str, dns_port: int, api_port: int, name: str):
    """Start serve while asking; returns (process, answers before `ready:`)."""
    asker = Asker(dns_port, name)
    asker.start()
    proc = serve(data, dns_port, api_port)
    try:
        wait_ready(proc, timeout=120)
    finally:
        asker.halt.set()
        asker.join()
    return proc, asker.answers


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0


def test_restart_answers_from_the_saved_image_not_refused(tmp_path, free_port):
    data = str(tmp_path / "data")
    path = zone_file(str(tmp_path / "restart.zone"))
    subprocess.run([sys.executable, "-m", "zonefront.cli", "zone", "--data-dir", data,
                    "--config", config_of(data), "import", ORIGIN, path],
                   check=True, env=child_env(), capture_output=True)
    dns_port, api_port = free_port(), free_port()
    name = f"h{RRSETS - 7}.{ORIGIN}"
    want = f"10.{(RRSETS - 7) >> 16 & 255}.{(RRSETS - 7) >> 8 & 255}.{(RRSETS - 7) & 255}"

    # first start: nothing saved, so the hosted zone is REFUSED until compiled
    proc, first = start_and_watch(data, dns_port, api_port, name)
    try:
        assert dns.rcode.REFUSED in {rc for rc, _ in first}, first[:5]
        saved = os.path.join(data, "served.snap")
        deadline = time.monotonic() + 30
        while not os.path.exists(saved) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert os.path.exists(saved), "the served image was not saved"
    finally:
        stop(proc)

    # restart: from the port opening on, the saved image answers
    proc, second = start_and_watch(data, dns_port, api_port, name)
    try:
        assert second, "no answer between the port opening and ready:"
        assert all(rc == dns.rcode.NOERROR and addr == want for rc, addr in second), \
            [a for a in second if a != (dns.rcode.NOERROR, want)][:5]
    finally:
        stop(proc)
