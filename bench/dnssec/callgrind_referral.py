"""Instructions per DO referral of a signed zone, for
`valgrind --tool=callgrind --toggle-collect='*engine_answer*'`:

    valgrind --tool=callgrind --callgrind-out-file=cg.out \\
        --toggle-collect='*engine_answer*' python bench/dnssec/callgrind_referral.py 11 secref
    callgrind_annotate cg.out | head

Arguments: ROUNDS (default 11) and the answer, one of "secref" (a name
below a delegation with a DS: the NS, the DS and its RRSIG, RFC 4035
§3.1.4.1), "insref" (below a delegation without one: the NS and the
cut's NSEC), "cnsec" (a CNAME into the secure delegation) or "plain"
(the secure referral without DO); DENIAL ("compact" or "nsec3", default
compact).  Instructions per answer = (Ir(ROUNDS=11) - Ir(ROUNDS=1)) /
(10 * QUERIES): the referral is copied from a block made when the zone
compiles, so this is its relocation cost.
"""
import sys

import dns.message
from cgsetup import HEAD, answer_rounds, image_of
from zonefront.zonefile import parse_zone_text

ZONE = "$ORIGIN bench.test.\n" + HEAD + """sec NS ns.sec
ns.sec A 192.0.2.10
sec DS 4242 13 2 4242424242424242424242424242424242424242424242424242424242424242
sub NS ns.sub
ns.sub A 192.0.2.9
cnsec CNAME host.sec
"""
QUERIES = 400
NAMES = {"secref": ("host.sec", True), "insref": ("host.sub", True),
         "cnsec": ("cnsec", True), "plain": ("host.sec", False)}


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 11
    name, do = NAMES[sys.argv[2] if len(sys.argv) > 2 else "secref"]
    denial = sys.argv[3] if len(sys.argv) > 3 else "compact"
    image = image_of([parse_zone_text(ZONE, "bench.test.")], denial=denial)
    queries = []
    for i in range(QUERIES):
        q = dns.message.make_query(f"{name}.bench.test.", "A", want_dnssec=do, payload=4096)
        q.id = i
        queries.append(q.to_wire())
    answer_rounds(image, queries, rounds)


if __name__ == "__main__":
    main()
