"""Real `zonefront serve` processes for the end-to-end tests.

One server with every fixture zone is shared by the whole e2e session (started
once, killed by PID at the end). ZONEFRONT_E2E_SERVER=knot runs the same answer
and transport tests against Knot DNS instead: the oracle used to check that the
expected answers here are what a mature authoritative server gives (see the
`knot_differs` notes in the tests for where Knot deliberately differs).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from helpers import dnsquery as dnsutil
from helpers.ports import free_port  # noqa: F401 (the tests take it from here)

HERE = Path(__file__).parent
ZONES = HERE / "zones"
ZONE_FILES = [ZONES / "example.test.zone", ZONES / "served.example.test.zone",
              ZONES / "other.test.zone"]
ORIGINS = ["example.test.", "served.example.test.", "other.test."]
READY_TIMEOUT = 30.0
TARGET = os.environ.get("ZONEFRONT_E2E_SERVER", "zonefront")


def zonefront_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "zonefront.cli", *args]


class Server:
    """A running server process; stderr is drained by a thread into `stderr_lines`."""

    def __init__(self, argv, addrs, cwd=None, ready_prefix="ready:", probe=None):
        self.argv = argv
        self.addrs = addrs  # [(host, port), ...] in --dns-listen order
        self.stderr_lines: list[str] = []
        self._ready = threading.Event()
        self._ready_prefix = ready_prefix
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, cwd=cwd, text=True, errors="replace")
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        self._probe = probe

    @property
    def addr(self):
        return self.addrs[0]

    def _drain(self):
        for line in self.proc.stderr:
            self.stderr_lines.append(line)
            if self._ready_prefix and line.startswith(self._ready_prefix):
                self._ready.set()

    def stderr_text(self) -> str:
        return "".join(self.stderr_lines)

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._reader.join(2)
                raise AssertionError(
                    f"server exited with {self.proc.returncode} before ready:\n"
                    f"$ {' '.join(map(str, self.argv))}\n{self.stderr_text()}")
            if self._probe is not None:
                if self._probe(self):
                    return
            elif self._ready.wait(0.05):
                return
        self.kill()
        raise AssertionError(f"no 'ready:' line within {timeout}s:\n{self.stderr_text()}")

    def stop(self, sig=signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._reader.join(2)
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def alive(self) -> bool:
        return self.proc.poll() is None


def start_zonefront(zone_args: list[str], listens=None, workers: int = 2, cwd=None) -> Server:
    if listens is None:
        listens = [("127.0.0.1", free_port())]
    argv = zonefront_cmd("serve", *zone_args, "--workers", str(workers))
    for host, port in listens:
        argv += ["--dns-listen", f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    srv = Server(argv, listens, cwd=cwd)
    try:
        srv.wait_ready()
    except BaseException:
        srv.kill()
        raise
    return srv


def zone_file_args(files) -> list[str]:
    out = []
    for f in files:
        out += ["--zone-file", str(f)]
    return out


def _knot_probe(srv: Server) -> bool:
    try:
        dnsutil.udp(srv.addr, dnsutil.query("example.test.", "SOA"), timeout=0.2)
        return True
    except (dnsutil.NoResponse, OSError):
        return False


def start_knot(tmp: Path, listens) -> Server:
    knotd = shutil.which("knotd")
    if not knotd:
        pytest.fail("ZONEFRONT_E2E_SERVER=knot but knotd is not installed")
    conf = ["server:", f"    rundir: {tmp}"]
    conf += [f"    listen: {h}@{p}" for h, p in listens]
    conf += ["    udp-max-payload: 4096", "    udp-max-payload-ipv4: 4096",
             "    udp-max-payload-ipv6: 4096",
             "database:", f"    storage: {tmp}",
             "log:", "  - target: stderr", "    any: info",
             "template:", "  - id: default", f"    storage: {ZONES}",
             "    zonefile-sync: -1", "    journal-content: none", "    semantic-checks: off",
             "zone:"]
    for origin, f in zip(ORIGINS, ZONE_FILES):
        conf += [f"  - domain: {origin}", f"    file: {f.name}"]
    (tmp / "knot.conf").write_text("\n".join(conf) + "\n")
    srv = Server([knotd, "-c", str(tmp / "knot.conf")], listens, probe=_knot_probe,
                 ready_prefix=None)
    try:
        srv.wait_ready()
        time.sleep(0.3)  # let every zone finish loading
    except BaseException:
        srv.kill()
        raise
    return srv


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The shared server: every fixture zone, on 127.0.0.1 and [::1]."""
    listens = [("127.0.0.1", free_port("127.0.0.1")), ("::1", free_port("::1"))]
    if TARGET == "knot":
        srv = start_knot(tmp_path_factory.mktemp("knot"), listens)
    else:
        srv = start_zonefront(zone_file_args(ZONE_FILES), listens, workers=2)
    yield srv
    rc = srv.stop()
    if TARGET != "knot":
        assert rc == 0, f"server exited with {rc} on SIGTERM:\n{srv.stderr_text()}"


@contextlib.contextmanager
def knot_differs(reason: str):
    """Knot, the oracle, deliberately differs here from what the RFC/issue asks of us."""
    try:
        yield
    except AssertionError:
        if TARGET == "knot":
            pytest.xfail(f"Knot differs: {reason}")
        raise


def need_tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        pytest.fail(f"`{name}` is not installed: install bind9-dnsutils and knot-dnsutils "
                    "(.ci/run does)")
    return path
