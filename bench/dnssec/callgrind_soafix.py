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
www A 192.0.2.1
"""
QUERIES = 400


def main():
    mix = sys.argv[1]
    rounds = int(sys.argv[2])
    zs = [parse_zone_text(ZONE, "bench.test.")]
    signed = mix.startswith("signed")
    keys = {zs[0].origin: ZoneKeys(zs[0].origin, [SigningKey.generate()], SigningKey.generate(),
                                   1764900000, 1766100000)} if signed else None
    image = Image(compile_zones(zs, signing=keys).arrays())
    name = "www.bench.test." if mix.endswith("-a") else "nx{}.bench.test."
    queries = [dns.message.make_query(name.format(i % 100), "A", want_dnssec=signed,
                                      payload=4096).to_wire() for i in range(QUERIES)]
    for q in queries:
        image.answer(q, False, "192.0.2.200", 0)
    for _ in range(rounds - 1):
        for q in queries:
            image.answer(q, False, "192.0.2.200", 0)


if __name__ == "__main__":
    main()
