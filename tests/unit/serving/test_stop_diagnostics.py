"""Where a server that does not stop hangs: `zonefront serve` prints every
thread's stack on SIGUSR2 and keeps serving, and the tests' stop() asks
for that dump before it kills a child that outlived its SIGTERM, failing
with the stacks instead of a bare timeout."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import dns.message
import dns.query
import dns.rcode
import pytest
from helpers.procs import child_env, stop, wait_ready

ZONE = "$ORIGIN z.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n"


def read_until(proc, marker: str, timeout: float = 20.0) -> str:
    """The child's stderr lines up to and with one holding `marker`."""
    deadline, lines = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            return "".join(lines)
    raise AssertionError(f"{marker!r} not printed: {''.join(lines)!r}")


def test_serve_prints_every_threads_stack_on_sigusr2_and_keeps_serving(tmp_path, free_port):
    zone = tmp_path / "z.zone"
    zone.write_text(ZONE)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "zonefront.cli", "serve", "--zone-file",
                             str(zone), "--no-api", "--workers", "1", "--dns-listen",
                             f"127.0.0.1:{port}"],
                            stderr=subprocess.PIPE, text=True, env=child_env())
    try:
        wait_ready(proc)
        proc.send_signal(signal.SIGUSR2)
        dump = read_until(proc, "in cmd_serve")  # the main thread, waiting for a signal
        assert "Thread 0x" in dump or "Current thread 0x" in dump
        q = dns.message.make_query("ns.z.test.", "A")
        m = dns.query.udp(q, "127.0.0.1", port=port, timeout=5)
        assert m.rcode() == dns.rcode.NOERROR and m.answer  # still serving
    finally:
        stop(proc)
    assert proc.returncode == 0


HANGS = """
import faulthandler, signal, sys, threading
signal.signal(signal.SIGTERM, signal.SIG_IGN)
faulthandler.register(signal.SIGUSR2, all_threads=True)
def waits_on_a_lock_nobody_releases():
    held = threading.Lock()
    held.acquire()
    print("ready: hanging", file=sys.stderr, flush=True)
    held.acquire()
waits_on_a_lock_nobody_releases()
"""


def test_stop_fails_with_the_stacks_of_a_server_that_outlives_sigterm():
    proc = subprocess.Popen([sys.executable, "-c", HANGS], stderr=subprocess.PIPE, text=True)
    wait_ready(proc)
    with pytest.raises(AssertionError) as e:
        stop(proc, timeout=1.0)
    assert "did not exit within 1.0 s of SIGTERM" in str(e.value)
    assert "waits_on_a_lock_nobody_releases" in str(e.value)  # where it hangs
    assert proc.poll() is not None  # and it is gone
