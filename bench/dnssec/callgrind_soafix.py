"""Instructions per answer on the paths the SOA fixups touch (RESULTS §20),
for `valgrind --tool=callgrind --toggle-collect='*engine_answer*'`:

    valgrind --tool=callgrind --callgrind-out-file=cg.out \\
        --toggle-collect='*engine_answer*' python bench/dnssec/callgrind_soafix.py MIX ROUNDS

MIX: "signed-a", "signed-nx" (DO queries of a signed zone: a static A, a
nonexistent name, whose answer copies the SOA's serial and RRSIG from the
zone's row), "unsigned-a", "unsigned-nx" (no DO, an unsigned zone).  The
first pass warms the online signer's cache; per answer =
(Ir(ROUNDS=11) - Ir(ROUNDS=1)) / (10 * 400).
"""
import sys

import dns.message
from cgsetup import HEAD, answer_rounds, image_of
from zonefront.zonefile import parse_zone_text

ZONE = "$ORIGIN bench.test.\n" + HEAD
QUERIES = 400


def main():
    mix = sys.argv[1]
    rounds = int(sys.argv[2])
    zs = [parse_zone_text(ZONE, "bench.test.")]
    signed = mix.startswith("signed")
    image = image_of(zs, signed, inception=1764900000, expiration=1766100000)
    name = "www.bench.test." if mix.endswith("-a") else "nx{}.bench.test."
    queries = [dns.message.make_query(name.format(i % 100), "A", want_dnssec=signed,
                                      payload=4096).to_wire() for i in range(QUERIES)]
    answer_rounds(image, queries, rounds)


if __name__ == "__main__":
    main()
