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
from zonefront.core._engine import Image

from zonefront.dnssec.keystore import SigningKey
from zonefront.dnssec.signer import ZoneKeys
from zonefront.snapshot.compiler import compile_zones
from zonefront.zonefile import parse_zone_text

ZONE = """$ORIGIN bench.test.
$TTL 300
@ 3600 IN SOA ns1 hostmaster 1 3600 600 86400 60
@ NS ns1
ns1 A 192.0.2.53
mail A 192.0.2.25
www A 192.0.2.1
*.wild TXT "wild"
*.mx MX 10 mail
"""
QUERIES = 400
ROUNDS = 10


def main():
    zs = [parse_zone_text(ZONE, "bench.test.")]
    keys = {zs[0].origin: ZoneKeys(zs[0].origin, [SigningKey.generate()], SigningKey.generate())}
    image = Image(compile_zones(zs, signing=keys).arrays())
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else ROUNDS
    names = [("www.bench.test.", "A"), ("nx{}.bench.test.", "A"), ("h{}.wild.bench.test.", "TXT")]
    if len(sys.argv) > 2 and sys.argv[2] == "mx":
        names.append(("h{}.mx.bench.test.", "MX"))
    queries = [dns.message.make_query(names[i % len(names)][0].format(i % 100),
                                      names[i % len(names)][1],
                                      want_dnssec=True, payload=4096).to_wire()
               for i in range(QUERIES)]
    for q in queries:  # warm the signer's cache: the rounds below measure hits
        image.answer(q, False, "192.0.2.200", 0)
    for _ in range(rounds - 1):
        for q in queries:
            image.answer(q, False, "192.0.2.200", 0)


if __name__ == "__main__":
    main()
