"""Instructions per answer in denial = "nsec3" mode, for
`valgrind --tool=callgrind --toggle-collect='*engine_answer*'`.

    PYTHONPATH=src python bench/dnssec/callgrind_nsec3.py prepare /tmp/nsec3.pickle
    PYTHONPATH=src valgrind --tool=callgrind --callgrind-out-file=cg.out \\
        --toggle-collect='*engine_answer*' python bench/dnssec/callgrind_nsec3.py \\
        run /tmp/nsec3.pickle {static|nxdomain|wildcard|wcnx}
    callgrind_annotate cg.out | head   # Ir / (ROUNDS * QUERIES) = instructions per answer

The image is compiled (and signed) outside valgrind and pickled, as in §16:
a 2,000-name zone; static = A queries for names that exist, nxdomain =
unique random names (the flood: a closest-encloser proof each), wildcard =
unique names under a wildcard (the RRset plus the next closer name's cover),
wcnx = unique names under a wildcard CNAME to a nonexistent name (the
CNAME, the target's closest-encloser proof and the qname's cover, each
NSEC3 once); all with DO.
"""
import pickle
import random
import sys

import dns.message

QUERIES = 2000
ROUNDS = 5
N = 2000


def prepare(path: str) -> None:
    from zonefront.dnssec.keystore import SigningKey
    from zonefront.dnssec.signer import ZoneKeys
    from zonefront.snapshot.compiler import compile_zones
    from zonefront.zonefile import parse_zone_text

    text = "$ORIGIN bench.example.\n$TTL 300\n@ SOA ns1 host 1 3600 600 86400 60\n@ NS ns1\n" + \
        "".join(f"h{i} A 192.0.2.{i % 250}\n" for i in range(N)) + "*.w TXT \"w\"\n" + \
        "*.wx CNAME nope\n"
    zone = parse_zone_text(text, "bench.example.")
    keys = ZoneKeys(zone.origin, [SigningKey.generate()], SigningKey.generate(), denial="nsec3")
    arrays = compile_zones([zone], signing={zone.origin: keys}).arrays()
    rnd = random.Random(18)

    def wire(names, rdtype):
        return [dns.message.make_query(n, rdtype, use_edns=0, want_dnssec=True).to_wire()
                for n in names]

    queries = {
        "static": wire([f"h{rnd.randrange(N)}.bench.example." for _ in range(QUERIES)], "A"),
        "nxdomain": wire([f"{rnd.getrandbits(48):012x}.bench.example." for _ in range(QUERIES)],
                         "A"),
        "wildcard": wire([f"{rnd.getrandbits(48):012x}.w.bench.example." for _ in range(QUERIES)],
                         "TXT"),
        "wcnx": wire([f"{rnd.getrandbits(48):012x}.wx.bench.example." for _ in range(QUERIES)],
                     "A"),
    }
    with open(path, "wb") as f:
        pickle.dump({k: bytes(v) for k, v in arrays.items()} | {"queries": queries}, f)


def run(path: str, kind: str) -> None:
    from zonefront.core._engine import Image

    with open(path, "rb") as f:
        data = pickle.load(f)
    queries = data.pop("queries")[kind]
    Image(data).answer_many(queries, ROUNDS, 3)
    print(f"{kind}: {ROUNDS * len(queries)} answers", file=sys.stderr)


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2])
    else:
        run(sys.argv[2], sys.argv[3])
