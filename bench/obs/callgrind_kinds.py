"""Instructions per answer by kind of answer, for the engine split (issue 18):
one query shape at a time, answered ROUNDS x QUERIES times in one nogil loop.

    valgrind --tool=callgrind --callgrind-out-file=cg.KIND \\
        --toggle-collect='*engine_answer*' python bench/obs/callgrind_kinds.py KIND
    callgrind_annotate cg.KIND | head   # Ir / (ROUNDS * QUERIES) = instructions per answer

KIND: a, nxdomain, nodata, cname, weighted; "a-batched" answers the A
queries as the UDP loop does (engine_prefetch's stages over each batch of
64 first) and counts engine_prefetch too (add
--toggle-collect='*engine_prefetch*').  The zone is bench/micro's
20k-name zone plus 2,000 CNAMEs to its hosts and 2,000 weighted names of
three candidates each.  `python bench/obs/callgrind_kinds.py --all` runs
every kind under valgrind and prints one line each.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "micro"))

QUERIES = 2000
ROUNDS = 10
KINDS = ("a", "nxdomain", "nodata", "cname", "weighted", "a-batched")


def zone():
    from test_core_micro import bench_zone
    from zonefront.model import TYPE_A, TYPE_CNAME, RoutedRRset, name_from_text

    z = bench_zone()
    for i in range(QUERIES):
        z.add(name_from_text(f"c{i}.bench.test."), TYPE_CNAME, 300,
              name_from_text(f"host{i * 7 % 20000}.bench.test."))
        owner = name_from_text(f"w{i}.wpol.bench.test.").lower()
        for k, w in enumerate((1, 2, 3)):
            z.routed.append(RoutedRRset(owner=owner, rtype=TYPE_A, ttl=60,
                                        rdatas=[bytes([10, 1, k, i & 255])],
                                        set_id=f"s{k}", weight=w))
    return z


def queries(kind):
    import dns.message

    kind = "a" if kind == "a-batched" else kind
    shape = {"a": ("host{}.bench.test", "A"), "nxdomain": ("nx{}.bench.test", "A"),
             "nodata": ("host{}.bench.test", "MX"), "cname": ("c{}.bench.test", "A"),
             "weighted": ("w{}.wpol.bench.test", "A")}[kind]
    out = []
    for i in range(QUERIES):
        j = i * 7 % 20000 if kind in ("a", "nodata") else i
        out.append(dns.message.make_query(shape[0].format(j), shape[1], use_edns=0).to_wire())
    return out


def arrays():
    from zonefront.snapshot.compiler import compile_zones

    return compile_zones([zone()]).arrays()


def run(kind, arrays_file=None):
    import pickle

    from zonefront.core._engine import Image

    if arrays_file:  # compiled once outside valgrind, where the compile is slow
        with open(arrays_file, "rb") as f:
            image = Image(pickle.load(f))
    else:
        image = Image(arrays())
    qs = queries(kind)
    image.answer_many(qs, ROUNDS, 3 if kind == "a-batched" else 2)


def under_valgrind():
    import pickle

    with tempfile.TemporaryDirectory() as tmp:
        compiled = os.path.join(tmp, "arrays.pickle")
        with open(compiled, "wb") as f:
            pickle.dump(arrays(), f)
        for kind in KINDS:
            out = os.path.join(tmp, "cg.out")
            subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                            "--toggle-collect=*engine_answer*", "--toggle-collect=*engine_prefetch*",
                            sys.executable, __file__, kind, compiled],
                           check=True, capture_output=True)
            ir = 0
            with open(out) as f:
                for line in f:
                    if line.startswith("summary:") or line.startswith("totals:"):
                        ir = int(line.split()[1])
            print(f"{kind:9s} {ir / (ROUNDS * QUERIES):8.1f} instructions per answer", flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--all"]:
        under_valgrind()
    else:
        run(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
