"""Fixtures for the health tests: local targets and a ControlPlane whose
checkers use short intervals (a zonefront extension)."""
from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(__file__)
sys.path.insert(0, HERE)

from helpers.health_targets import HttpTarget, TcpTarget  # noqa: E402


@pytest.fixture
def http_target():
    t = HttpTarget()
    yield t
    t.stop()


@pytest.fixture
def https_target():
    t = HttpTarget(tls=True)
    yield t
    t.stop()


@pytest.fixture
def tcp_target():
    t = TcpTarget()
    yield t
    t.stop()
