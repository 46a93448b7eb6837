"""PostgreSQL for the store tests: one throwaway cluster per session
(tests/helpers/pgcluster.py), a fresh database per module, and the API
suite's `server`/`r53` fixtures on a control plane whose store is it."""
from __future__ import annotations

import itertools
import os
import sys

import pytest

HERE = os.path.dirname(__file__)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "unit", "api"))
from helpers.pgcluster import Cluster  # noqa: E402
from helpers.route53 import start_control_plane  # noqa: E402

_db_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def pg():
    cluster = Cluster().start()  # no binaries: NoPostgres, the test errors (never skips)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def pg_dsn(pg):
    return pg.create_database(f"zf{next(_db_numbers)}")


@pytest.fixture()
def fresh_dsn(pg):
    return pg.create_database(f"zf{next(_db_numbers)}")


@pytest.fixture(scope="module")
def server(tmp_path_factory, pg_dsn):
    run = start_control_plane(tmp_path_factory.mktemp("data"), store_backend="postgresql",
                              store_dsn=pg_dsn)
    yield run
    run.cp.stop()


@pytest.fixture(scope="module")
def r53(server):
    return server.client()
