"""A small GeoLite2-City-format database, written once per session by
tools/make_test_mmdb.py (nothing binary is committed)."""
from __future__ import annotations

import os
import sys

import pytest

TOOLS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "tools")
sys.path.insert(0, os.path.abspath(TOOLS))
import make_test_mmdb  # noqa: E402


@pytest.fixture(scope="session")
def city_mmdb(tmp_path_factory):
    pytest.importorskip("mmdb_writer")
    path = str(tmp_path_factory.mktemp("geo") / "test-city.mmdb")
    make_test_mmdb.write(path)
    return path


@pytest.fixture(scope="session")
def synthetic_mmdb(tmp_path_factory):
    """A regular database from the direct writer (32-bit records): 2^12 IPv4
    and 2^10 IPv6 networks over 300 distinct records."""
    path = str(tmp_path_factory.mktemp("geo") / "synthetic.mmdb")
    make_test_mmdb.write_big(path, v4_bits=12, v6_bits=10, records=300)
    return path
