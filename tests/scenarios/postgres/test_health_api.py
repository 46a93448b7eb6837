"""The health-check API tests (tests/unit/health/test_api.py) on the PostgreSQL
store: the module's `run` fixture is replaced by one on PostgreSQL."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "unit", "health"))
from test_api import *  # noqa: F401,F403,E402
from helpers.route53 import start_control_plane  # noqa: E402
from helpers.health_targets import HttpTarget, TcpTarget  # noqa: E402

from zonefront.config import HealthSettings  # noqa: E402


@pytest.fixture(scope="module")
def run(tmp_path_factory, pg_dsn):  # noqa: F811
    r = start_control_plane(tmp_path_factory.mktemp("health"), max_health_checks=50,
                            health=HealthSettings(min_interval=1), store_backend="postgresql",
                            store_dsn=pg_dsn)
    yield r
    r.cp.stop()


@pytest.fixture
def http_target():
    t = HttpTarget()
    yield t
    t.stop()


@pytest.fixture
def tcp_target():
    t = TcpTarget()
    yield t
    t.stop()
