"""Instructions per answer for the recursive fallback's hunk in the engine
(issue 17): the public path (no views: the public-only bench) and answers
from inside a private view, whose zone's NXDOMAIN is flagged for the
resolver when this tree has fallback.mark_deferred (the check a view's
every answer now pays).  Run it in a tree before and after the change:

    valgrind --tool=callgrind --callgrind-out-file=cg.out \\
        --toggle-collect='*engine_answer*' python bench/obs/callgrind_fallback.py {public|view}
    callgrind_annotate cg.out | head   # Ir / answers = instructions per answer

public: bench/micro's 20k-name zone and query mix, answer_many (as
callgrind_answer.py off mix).  view: the same zone as a private view, the
same mix asked from a client inside it, one Image.answer call each (only
engine_answer is counted).
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
    mode = sys.argv[1] if len(sys.argv) > 1 else "public"
    queries = query_mix(QUERIES, 20000)
    if mode == "public":
        Image(compile_zones([bench_zone()]).arrays()).answer_many(queries, ROUNDS, 2)
        print(f"public: {ROUNDS * len(queries)} answers", file=sys.stderr)
        return
    view = compile_zones([bench_zone()])
    arrays = view.arrays()
    try:
        from zonefront.fallback import mark_deferred
        arrays = mark_deferred(arrays, view.zones, {view.zones[0]["origin"]})
        flagged = "flagged"
    except ImportError:  # the tree before the change
        flagged = "unflagged"
    empty = bench_zone(1)
    image = Image(compile_zones([empty]).arrays()).set_views([(Image(arrays), ["10.0.0.0/8"])])
    n = 0
    for _ in range(ROUNDS // 5):
        for q in queries:
            image.answer(q, False, "10.0.0.9")
            n += 1
    print(f"view ({flagged}): {n} answers", file=sys.stderr)


if __name__ == "__main__":
    main()
