"""One `zonefront serve --api` per test module, with the test GeoIP database
(tools/make_test_mmdb.py, written once per session) and unprobed health
checks that tests flip with the zonefront:state tag."""
from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from helpers import zfserve


@pytest.fixture(scope="session")
def city_mmdb(tmp_path_factory):
    pytest.importorskip("mmdb_writer")
    return zfserve.write_mmdb(str(tmp_path_factory.mktemp("geo") / "test-city.mmdb"))


@pytest.fixture(scope="module")
def served(tmp_path_factory, city_mmdb):
    s = zfserve.start(tmp_path_factory.mktemp("routing"), geoip=city_mmdb)
    try:
        yield s
    finally:
        zfserve.stop(s)


@pytest.fixture
def zone(served, request):
    """A fresh public hosted zone named after the test: (zone id, origin)."""
    origin = request.node.name.replace("_", "-").replace("[", "-").rstrip("]").lower()
    origin = f"{origin[:50].strip('-')}.route.test"
    return served.create_zone(origin), origin
