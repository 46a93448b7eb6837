"""A real ControlPlane on 127.0.0.1 (port 0) driven over HTTP by boto3."""
from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from helpers.route53 import start_control_plane  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    run = start_control_plane(tmp_path_factory.mktemp("data"))
    yield run
    run.cp.stop()


@pytest.fixture(scope="module")
def r53(server):
    return server.client()


