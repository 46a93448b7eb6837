"""Helpers the tests share for the zonefront processes they start and the
changes they wait on.  Imported by bare name: tests/conftest.py puts this
folder on sys.path, as the per-folder conftests do for their own helpers."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import zonefront


def child_env(**extra: str) -> dict:
    """os.environ (plus `extra`) for a child `python -m zonefront ...`, with
    the zonefront this test imported first on PYTHONPATH, so the child runs
    the same build (an installed one in CI, src/ in a checkout)."""
    env = dict(os.environ, **extra)
    root = os.path.dirname(os.path.dirname(zonefront.__file__))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def wait_ready(proc, timeout: float = 30.0) -> list[str]:
    """The stderr lines a `zonefront serve` child printed up to and with its
    `ready:` line; fails the test when it exits or takes longer."""
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        lines.append(line)
        if line.startswith("ready:") or not line:
            break
    assert lines and lines[-1].startswith("ready:"), f"server did not start: {''.join(lines)!r}"
    return lines


def wait_insync(client, change_id: str, timeout: float = 10.0) -> bool:
    """True once GetChange says INSYNC, False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get_change(Id=change_id)["ChangeInfo"]["Status"] == "INSYNC":
            return True
        time.sleep(0.02)
    return False


def stop(proc, timeout: float = 10.0) -> None:
    """SIGTERM a child server and wait `timeout` seconds for it to exit.
    When it does not, fail with where it hangs: SIGUSR2 makes `zonefront
    serve` print every thread's stack to its stderr (faulthandler, cli.py),
    which goes into the failure when the test reads that stderr through a
    pipe (else to the test's own stderr, shown with the failure); then
    SIGKILL."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        report = thread_dump(proc)
        raise AssertionError(f"the server (pid {proc.pid}) did not exit within {timeout} s "
                             f"of SIGTERM; its stderr ends:\n{report}") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def thread_dump(proc, settle: float = 2.0, lines: int = 200) -> str:
    """The last `lines` lines of a hung child's stderr after SIGUSR2 asked
    it for its threads' stacks, read while it writes them (a full pipe
    would block the dump) and to the end once it is killed."""
    got: list[str] = []
    reader = None
    if proc.stderr is not None:
        def drain():
            for line in proc.stderr:
                got.append(line if isinstance(line, str) else line.decode(errors="replace"))

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
    try:
        proc.send_signal(signal.SIGUSR2)
    except ProcessLookupError:
        pass
    try:
        proc.wait(settle)  # it may exit now: the dump says what it was waiting on anyway
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if reader is None:
        return "(stderr not piped: the stacks went to the test's stderr)"
    reader.join(5)
    return "".join(got[-lines:])


def serve_api(data, dns_port: int, api_port: int, key_id: str, *extra: str):
    """(process, boto3 route53 client) of a `zonefront serve --api` child
    with its data in `data`, SigV4 key `key_id` / "s3cret"; `extra` are
    more serve arguments.  Stop it with stop()."""
    import boto3
    from botocore.config import Config as BotoConfig

    env = child_env(ZONEFRONT_ACCESS_KEY_ID=key_id, ZONEFRONT_SECRET_ACCESS_KEY="s3cret")
    proc = subprocess.Popen(
        [sys.executable, "-m", "zonefront.cli", "serve", "--api", "--no-demo", "--workers", "1",
         "--dns-listen", f"127.0.0.1:{dns_port}", "--api-listen", f"127.0.0.1:{api_port}",
         "--data-dir", str(data), *extra],
        stderr=subprocess.PIPE, text=True, env=env)
    try:
        wait_ready(proc)
    except BaseException:
        stop(proc)
        raise
    r53 = boto3.client(
        "route53", endpoint_url=f"http://127.0.0.1:{api_port}", region_name="us-east-1",
        aws_access_key_id=key_id, aws_secret_access_key="s3cret",
        config=BotoConfig(retries={"max_attempts": 1}))
    return proc, r53
