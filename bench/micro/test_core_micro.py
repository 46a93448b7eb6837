"""pytest-benchmark micro-benchmarks of the compiled hot path: parse, parse +
lookup, and the full answer (parse + lookup + block copy + relocation + OPT),
on a small zone that stays in cache, and the full answer over a 100,000-name
zone with 20,000 distinct queries, where memory misses dominate, answered
one by one and in prefetched batches of 64 as the UDP loop does.

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


def bench_zone(names: int = NAMES) -> Zone:
    origin = name_from_text("bench.test.")
    z = Zone(origin)
    z.add(origin, TYPE_SOA, 3600, name_from_text("ns1.bench.test.") * 2 + bytes(20))
    z.add(origin, TYPE_NS, 3600, name_from_text("ns1.bench.test."))
    for i in range(names):
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


def query_mix(count: int, names: int) -> list[bytes]:
    rnd = random.Random(7)
    out = []
    for _ in range(count):
        r = rnd.random()
        if r < 0.80:
            name, qtype = f"host{rnd.randrange(names)}.bench.test", "A"
        elif r < 0.88:
            name, qtype = f"host{rnd.randrange(0, names, 4)}.bench.test", "AAAA"
        elif r < 0.94:
            name, qtype = f"nx{rnd.randrange(names)}.bench.test", "A"
        else:
            name, qtype = f"w{rnd.randrange(names)}.wild.bench.test", "A"
        out.append(dns.message.make_query(name, qtype, use_edns=0).to_wire())
    return out


@pytest.fixture(scope="module")
def queries():
    return query_mix(1000, NAMES)


COLD_NAMES = 100_000


@pytest.fixture(scope="module")
def cold_image():
    from zonefront.core._engine import Image

    return Image(compile_zones([bench_zone(COLD_NAMES)]).arrays())


@pytest.fixture(scope="module")
def cold_queries():
    return query_mix(20_000, COLD_NAMES)


@pytest.mark.parametrize("stage", [0, 1, 2], ids=["parse", "parse+lookup", "answer"])
def test_hot_path(benchmark, image, queries, stage):
    total = benchmark(image.answer_many, queries, ROUNDS, stage)
    assert total > 0
    benchmark.extra_info["queries_per_call"] = ROUNDS * len(queries)


@pytest.mark.parametrize("stage", [2, 3], ids=["answer", "answer, prefetched batches"])
def test_cold_answers(benchmark, cold_image, cold_queries, stage):
    """ns/query = mean / 20,000."""
    total = benchmark(cold_image.answer_many, cold_queries, 1, stage)
    assert total == cold_image.answer_many(cold_queries, 1, 2)  # same answers either way
    benchmark.extra_info["queries_per_call"] = len(cold_queries)


def test_encode_matches_answer_lengths(image, queries):
    """The benchmark's stage 2 does the real work: its checksum is the sum
    of the response lengths that answer() returns one by one."""
    assert image.answer_many(queries, 1, 2) == sum(len(image.answer(q)) for q in queries)


def test_compile(benchmark):
    zone = bench_zone()
    image = benchmark.pedantic(compile_zones, args=([zone],), rounds=1, iterations=1)
    assert image.node_count >= NAMES
