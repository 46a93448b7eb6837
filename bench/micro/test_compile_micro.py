"""pytest-benchmark micro-benchmarks of compiling a zone file: the fast path
(snapshot/fastcompile.py: C scanner and compiler, Python for the few names
that need it) and the Python reference (zonefile.parse_zone_file +
compiler.compile_zones), on the same 10,000-name bench zone
(bench/dnsperf/genzone.py, seed 53).

They run as ordinary tests in the suite (--benchmark-disable: once, no
timing); time them with
    python -m pytest bench/micro/test_compile_micro.py --benchmark-enable --benchmark-only
Times are never asserted; what is asserted is that both paths compiled the
same names.
"""
import sys
from pathlib import Path

import pytest

from zonefront.snapshot.compiler import compile_zones
from zonefront.snapshot.fastcompile import Stats, compile_zone_files
from zonefront.zonefile import parse_zone_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dnsperf"))
import genzone  # noqa: E402

NAMES = 10_000


@pytest.fixture(scope="module")
def zone_file(tmp_path_factory):
    zone, _ = genzone.ensure(str(tmp_path_factory.mktemp("zone")), NAMES, 10, 53)
    return zone


def test_fast_compile_10k(benchmark, zone_file):
    stats = Stats()
    image = benchmark(compile_zone_files, [zone_file], stats)
    assert image.node_count >= NAMES
    assert stats.python_files == [] and stats.kinds["python"] == 1  # only the apex
    benchmark.extra_info["names"] = image.node_count


def test_python_compile_10k(benchmark, zone_file):
    def python_path():
        return compile_zones([parse_zone_file(zone_file)])

    image = benchmark.pedantic(python_path, rounds=3, iterations=1)
    assert image.node_count == compile_zone_files([zone_file]).node_count
