"""Instructions per DO answer through CNAME chains of a signed zone, for
`valgrind --tool=callgrind --toggle-collect='*engine_answer*'`:

    valgrind --tool=callgrind --callgrind-out-file=cg.out \\
        --toggle-collect='*engine_answer*' python bench/dnssec/callgrind_chain.py 11 cnmv
    callgrind_annotate cg.out | head

Arguments: ROUNDS (default 11) and the answer, one of "a" (a static A),
"mv" (a multivalue A, three values), "cnmv" (a CNAME into that multivalue
name), "cnnodata" (a CNAME into a name without the type) or "cnnx" (a
CNAME into a name that does not exist), "cndel" (a CNAME into a name below
an insecure delegation: the referral with the no-DS proof), "cndname"
(a CNAME into a name under a DNAME), "wcmv" (a wildcard CNAME into the
multivalue name) or "wcdel" (a wildcard CNAME into the delegation); DENIAL ("compact" or "nsec3",
default compact).  The first pass signs what is signed while answering
(the multivalue RRSIGs, ECDSA) and fills the signer's cache; the rounds
after it hit the cache, so instructions per answer =
(Ir(ROUNDS=11) - Ir(ROUNDS=1)) / (10 * QUERIES).
"""
import sys

import dns.message
from cgsetup import HEAD, answer_rounds, image_of
from zonefront.model import TYPE_A, RoutedRRset, name_from_text
from zonefront.zonefile import parse_zone_text

ZONE = "$ORIGIN bench.test.\n" + HEAD + """cnmv CNAME mv
cnnodata CNAME www
cnnx CNAME gone
sub NS ns.sub
ns.sub A 192.0.2.9
cndel CNAME host.sub
dn DNAME www.example.net.
cndname CNAME x.dn
*.w CNAME mv
*.wd CNAME host.sub
"""
QUERIES = 400
NAMES = {"a": ("www", "A"), "mv": ("mv", "A"), "cnmv": ("cnmv", "A"),
         "cnnodata": ("cnnodata", "TXT"), "cnnx": ("cnnx", "A"), "cndel": ("cndel", "A"),
         "cndname": ("cndname", "A"), "wcmv": ("x.w", "A"), "wcdel": ("x.wd", "A")}


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 11
    name, rdtype = NAMES[sys.argv[2] if len(sys.argv) > 2 else "a"]
    denial = sys.argv[3] if len(sys.argv) > 3 else "compact"
    zone = parse_zone_text(ZONE, "bench.test.")
    for i in range(3):
        zone.routed.append(RoutedRRset(owner=name_from_text("mv.bench.test."), rtype=TYPE_A,
                                       ttl=60, rdatas=[bytes([10, 2, 0, i])], set_id=f"m{i}",
                                       multivalue=True))
    image = image_of([zone], denial=denial)
    queries = []
    for i in range(QUERIES):
        q = dns.message.make_query(f"{name}.bench.test.", rdtype, want_dnssec=True, payload=4096)
        q.id = i
        queries.append(q.to_wire())
    answer_rounds(image, queries, rounds)


if __name__ == "__main__":
    main()
