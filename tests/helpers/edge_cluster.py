"""Processes for the edge tests: one control plane (`zonefront serve --api`)
and edges (`python -m zonefront.edge`), each edge reaching the control
plane through its own Proxy so that one can be cut off alone."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import dns.message
import dns.query
from helpers.procs import child_env

from zonefront.health.manager import wait_until

KEY, SECRET = "AKIDEDGETEST", "s3cret"
EDGE_KEY, EDGE_SECRET = "AKIDEDGEONLY", "edge-s3cret"




def env() -> dict:
    return child_env(ZONEFRONT_ACCESS_KEY_ID=KEY, ZONEFRONT_SECRET_ACCESS_KEY=SECRET,
                     PYTHONWARNINGS="ignore")


class Proc:
    """A child process whose stderr goes to a file (never a pipe that fills)."""

    def __init__(self, argv: list[str], log: str, environ: dict):
        self.log = log
        self.f = open(log, "ab")
        self.start_at = os.path.getsize(log)
        self.p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=self.f, env=environ)

    def text(self) -> str:
        with open(self.log, "rb") as f:
            f.seek(self.start_at)
            return f.read().decode("utf-8", "replace")

    def wait_line(self, prefix: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.text().splitlines():
                if line.startswith(prefix):
                    return line
            if self.p.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"no {prefix!r} from {self.log}:\n{self.text()[-3000:]}")

    def signal(self, sig) -> None:
        self.p.send_signal(sig)

    def stop(self, timeout: float = 10.0) -> int | None:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGCONT)
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        self.f.close()
        return self.p.returncode


def start_control_plane(data: str, dns_port: int, api_port: int, config: str) -> Proc:
    p = Proc([sys.executable, "-m", "zonefront.cli", "serve", "--api", "--no-demo",
              "--workers", "1", "--dns-listen", f"127.0.0.1:{dns_port}",
              "--api-listen", f"127.0.0.1:{api_port}", "--data-dir", data, "--config", config,
              "--nameserver", "ns1.example.net.", "--nameserver", "ns2.example.net."],
             os.path.join(data, "serve.log"), env())
    p.wait_line("ready:")
    return p


def start_edge(url: str, dns_port: int, data: str, edge_id: str, wait_ready: bool = True,
               extra: list[str] = ()) -> Proc:
    os.makedirs(data, exist_ok=True)
    e = env()
    e.pop("ZONEFRONT_ACCESS_KEY_ID")
    e.pop("ZONEFRONT_SECRET_ACCESS_KEY")
    p = Proc([sys.executable, "-m", "zonefront.edge", "--control-plane", url,
              "--dns-listen", f"127.0.0.1:{dns_port}", "--workers", "1", "--data-dir", data,
              "--edge-id", edge_id, "--access-key-id", EDGE_KEY,
              "--secret-access-key", EDGE_SECRET, "--poll-wait", "5", *extra],
             os.path.join(data, "edge.log"), e)
    if wait_ready:
        p.wait_line("ready:")
    return p


def ask(port: int, name: str, rdtype: str = "A", timeout: float = 1.0):
    q = dns.message.make_query(name, rdtype)
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=timeout)


def addresses(port: int, name: str) -> set[str]:
    try:
        m = ask(port, name)
    except Exception:  # dns.exception.Timeout: not answering
        return {"<timeout>"}
    return {r.to_text() for rrset in m.answer for r in rrset}


def wait_for(pred, timeout: float, step: float = 0.02) -> bool:
    return wait_until(pred, timeout, step)
