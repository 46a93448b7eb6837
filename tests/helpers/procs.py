"""Helpers the tests share for the zonefront processes they start and the
changes they wait on.  Imported by bare name: tests/conftest.py puts this
folder on sys.path, as the per-folder conftests do for their own helpers."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
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
    """SIGTERM a child server, then SIGKILL it when it has not exited
    within `timeout` seconds."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    finally:
        if proc.poll() is None:
            proc.kill()


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
