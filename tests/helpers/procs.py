"""Helpers the tests share for the zonefront processes they start and the
changes they wait on.  Imported by bare name: tests/conftest.py puts this
folder on sys.path, as the per-folder conftests do for their own helpers."""
from __future__ import annotations

import os
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
