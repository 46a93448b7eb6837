"""Instructions per answer below a DNAME (answer_dname), for
`valgrind --tool=callgrind --toggle-collect='*engine_answer*'`.

    valgrind --tool=callgrind --callgrind-out-file=cg.out \\
        --toggle-collect='*engine_answer*' python bench/dname/callgrind_dname.py {chase|back}
    callgrind_annotate cg.out | head   # Ir / (ROUNDS * QUERIES) = instructions per answer

chase: A queries below 1000 DNAMEs whose new names hold an A (the chased
block is checked for a repeated DNAME, and is not one); back: DNAME queries
whose chase comes back to the DNAME owner (the repeat is dropped).
"""
import sys

import dns.message

from zonefront.core._engine import Image
from zonefront.model import TYPE_A, TYPE_DNAME, TYPE_NS, TYPE_SOA, Zone, name_from_text
from zonefront.snapshot.compiler import compile_zones

QUERIES = 2000
ROUNDS = 10
N = 1000


def zone() -> Zone:
    origin = name_from_text("bench.test.")
    z = Zone(origin)
    z.add(origin, TYPE_SOA, 3600, name_from_text("ns.bench.test.") + name_from_text("h.bench.test.")
          + bytes(range(1, 21)))
    z.add(origin, TYPE_NS, 3600, name_from_text("ns.bench.test."))
    z.add(name_from_text("ns.bench.test."), TYPE_A, 60, bytes([192, 0, 2, 53]))
    for i in range(N):
        z.add(name_from_text(f"d{i}.bench.test."), TYPE_DNAME, 300, name_from_text("bench.test."))
        z.add(name_from_text(f"h{i}.bench.test."), TYPE_A, 300, bytes([192, 0, 2, i % 250]))
    return z


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "chase"
    image = Image(compile_zones([zone()]).arrays())
    if mode == "chase":  # hX.dY -> hX.bench.test, an A
        queries = [dns.message.make_query(f"h{i * 7 % N}.d{i % N}.bench.test", "A").to_wire()
                   for i in range(QUERIES)]
    else:  # dX.dX -> dX.bench.test, the owner itself
        queries = [dns.message.make_query(f"d{i % N}.d{i % N}.bench.test", "DNAME").to_wire()
                   for i in range(QUERIES)]
    image.answer_many(queries, ROUNDS, 2)
    print(f"{mode}: {ROUNDS * len(queries)} answers", file=sys.stderr)


if __name__ == "__main__":
    main()
