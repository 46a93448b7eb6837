"""Instructions per answer with and without the per-worker counters, for
`valgrind --tool=callgrind --toggle-collect='*engine_answer*'`.

    valgrind --tool=callgrind --callgrind-out-file=cg.out \\
        --toggle-collect='*engine_answer*' python bench/obs/callgrind_answer.py {off|on|records} [mix]
    callgrind_annotate cg.out | head   # Ir / (ROUNDS * QUERIES) = instructions per answer

records: the counters plus the per-record table (--metrics-per-record,
csrc/zfrecs.h).  mix: "a" (A answers only) or "mix" (bench/micro's mix: A, AAAA, NXDOMAIN,
wildcard, TXT).  Uses bench/micro's 20k-name zone.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "micro"))

from test_core_micro import bench_zone, query_mix
from zonefront.core._engine import Image

from zonefront.snapshot.compiler import compile_zones

QUERIES = 2000
ROUNDS = 10


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "off"
    mix = sys.argv[2] if len(sys.argv) > 2 else "mix"
    image = Image(compile_zones([bench_zone()]).arrays())
    queries = query_mix(QUERIES, 20000)
    if mix == "a":
        import dns.message
        queries = [dns.message.make_query(f"host{i * 7 % 20000}.bench.test", "A").to_wire()
                   for i in range(QUERIES)]
    stats = 0
    keep = None
    if mode in ("on", "records"):
        from zonefront.dataplane._stats import Counters
        keep = Counters()
        if mode == "records":
            keep.enable_records(4096)
        stats = keep.address
    image.answer_many(queries, ROUNDS, 2, stats) if stats else image.answer_many(queries, ROUNDS, 2)
    print(f"{mode} {mix}: {ROUNDS * len(queries)} answers", file=sys.stderr)
    del keep


if __name__ == "__main__":
    main()
