"""Instructions per DO answer of a signed zone, for
`valgrind --tool=callgrind --toggle-collect='*engine_answer*'`:

    valgrind --tool=callgrind --callgrind-out-file=cg.out \\
        --toggle-collect='*engine_answer*' python bench/dnssec/callgrind_signed.py
    callgrind_annotate cg.out | head

Arguments: ROUNDS (default 10) and the mix, "base" (a static A, a name
that does not exist, a wildcard TXT) or "mx" (base plus a wildcard MX with
an additional section), one of 100 qnames each, all with DO.  The first
pass over the queries signs (ECDSA, counted too), the rounds after it hit
the signer's cache: instructions per cached answer = (Ir(ROUNDS=11) -
Ir(ROUNDS=1)) / (10 * QUERIES).
"""
import sys

import dns.message
from cgsetup import HEAD, answer_rounds, image_of
from zonefront.zonefile import parse_zone_text

ZONE = "$ORIGIN bench.test.\n" + HEAD + """mail A 192.0.2.25
*.wild TXT "wild"
*.mx MX 10 mail
"""
QUERIES = 400
ROUNDS = 10


def main():
    zs = [parse_zone_text(ZONE, "bench.test.")]
    image = image_of(zs)
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else ROUNDS
    names = [("www.bench.test.", "A"), ("nx{}.bench.test.", "A"), ("h{}.wild.bench.test.", "TXT")]
    if len(sys.argv) > 2 and sys.argv[2] == "mx":
        names.append(("h{}.mx.bench.test.", "MX"))
    queries = [dns.message.make_query(names[i % len(names)][0].format(i % 100),
                                      names[i % len(names)][1],
                                      want_dnssec=True, payload=4096).to_wire()
               for i in range(QUERIES)]
    answer_rounds(image, queries, rounds)


if __name__ == "__main__":
    main()
