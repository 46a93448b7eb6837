"""pytest-benchmark micro-benchmarks of the compiled hot path: parse, parse +
lookup, and the full answer (parse + lookup + block copy + relocation + OPT).

Each benchmark call runs ROUNDS passes over a fixed query mix inside one
nogil loop, so the figure is per-query C cost without Python per query:
ns/query = mean / (ROUNDS * len(QUERIES)).  They run as ordinary tests in
the suite (--benchmark-disable: once, no timing); time them with
    python -m pytest bench/micro --benchmark-enable --benchmark-only
Times are never asserted.
"""
import random

import dns.message
import pytest

from zonefront.model import TYPE_A, TYPE_AAAA, TYPE_NS, TYPE_SOA, TYPE_TXT, Zone, name_from_text
from zonefront.snapshot.compiler import compile_zones

NAMES = 20000
ROUNDS = 20


def bench_zone() -> Zone:
    origin = name_from_text("bench.test.")
    z = Zone(origin)
    z.add(origin, TYPE_SOA, 3600, name_from_text("ns1.bench.test.") * 2 + bytes(20))
    z.add(origin, TYPE_NS, 3600, name_from_text("ns1.bench.test."))
    for i in range(NAMES):
        owner = name_from_text(f"host{i}.bench.test.")
        z.add(owner, TYPE_A, 300, bytes([10, (i >> 16) & 255, (i >> 8) & 255, i & 255]))
        if i % 4 == 0:
            z.add(owner, TYPE_AAAA, 300, bytes(12) + i.to_bytes(4, "big"))
        if i % 10 == 0:
            z.add(owner, TYPE_TXT, 300, b"\x0bhello world")
    z.add(name_from_text("*.wild.bench.test."), TYPE_A, 300, bytes([10, 9, 9, 9]))
    return z


@pytest.fixture(scope="module")
def image():
    from zonefront.core._engine import Image

    return Image(compile_zones([bench_zone()]).arrays())


@pytest.fixture(scope="module")
def queries():
    rnd = random.Random(7)
    out = []
    for _ in range(1000):
        r = rnd.random()
        if r < 0.80:
            name, qtype = f"host{rnd.randrange(NAMES)}.bench.test", "A"
        elif r < 0.88:
            name, qtype = f"host{rnd.randrange(0, NAMES, 4)}.bench.test", "AAAA"
        elif r < 0.94:
            name, qtype = f"nx{rnd.randrange(NAMES)}.bench.test", "A"
        else:
            name, qtype = f"w{rnd.randrange(NAMES)}.wild.bench.test", "A"
        out.append(dns.message.make_query(name, qtype, use_edns=0).to_wire())
    return out


@pytest.mark.parametrize("stage", [0, 1, 2], ids=["parse", "parse+lookup", "answer"])
def test_hot_path(benchmark, image, queries, stage):
    total = benchmark(image.answer_many, queries, ROUNDS, stage)
    assert total > 0
    benchmark.extra_info["queries_per_call"] = ROUNDS * len(queries)


def test_encode_matches_answer_lengths(image, queries):
    """The benchmark's stage 2 does the real work: its checksum is the sum
    of the response lengths that answer() returns one by one."""
    assert image.answer_many(queries, 1, 2) == sum(len(image.answer(q)) for q in queries)


def test_compile(benchmark):
    zone = bench_zone()
    image = benchmark.pedantic(compile_zones, args=([zone],), rounds=1, iterations=1)
    assert image.node_count >= NAMES
