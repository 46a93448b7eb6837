"""Signed vs unsigned in the same run (issue 14): compile time of an N-name
zone without and with signing, then the compiled engine's cost per query
for DO queries (positive answers and NODATA), in one nogil loop
(Image.answer_many stage 3, as the UDP loop runs), each image in turn.

    PYTHONPATH=src python bench/dnssec/signed_qps.py --names 100000

Prints one JSON line; the README's DNSSEC section quotes it.
"""
from __future__ import annotations

import argparse
import json
import random
import time

import dns.message
from zonefront.core._engine import Image

from zonefront.dnssec.keystore import SigningKey
from zonefront.dnssec.signer import ZoneKeys
from zonefront.snapshot.compiler import compile_zones
from zonefront.zonefile import parse_zone_text


def zone_text(n: int) -> str:
    lines = ["$ORIGIN bench.example.", "$TTL 300",
             "@ 3600 IN SOA ns1 hostmaster 1 3600 600 86400 60", "@ NS ns1", "ns1 A 192.0.2.53"]
    lines += [f"h{i} A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(n)]
    return "\n".join(lines) + "\n"


def queries(n: int, count: int, rdtype: str, do: bool) -> list[bytes]:
    rnd = random.Random(7)
    out = []
    for _ in range(count):
        q = dns.message.make_query(f"h{rnd.randrange(n)}.bench.example.", rdtype, use_edns=0,
                                   want_dnssec=do, payload=1232)
        out.append(q.to_wire())
    return out


def per_query_ns(image: Image, qs: list[bytes], rounds: int) -> float:
    image.answer_many(qs, 1, 3)  # warm
    best = None
    for _ in range(3):
        t = time.perf_counter()
        image.answer_many(qs, rounds, 3)
        ns = (time.perf_counter() - t) / (len(qs) * rounds) * 1e9
        best = ns if best is None else min(best, ns)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--names", type=int, default=20000)
    ap.add_argument("--queries", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=20)
    a = ap.parse_args()
    text = zone_text(a.names)
    zone = parse_zone_text(text, "bench.example.")
    t = time.perf_counter()
    plain = compile_zones([zone])
    t_plain = time.perf_counter() - t
    keys = {zone.origin: ZoneKeys(zone.origin, [SigningKey.generate()], SigningKey.generate())}
    t = time.perf_counter()
    signed = compile_zones([zone], signing=keys)
    t_signed = time.perf_counter() - t
    pi, si = Image(plain.arrays()), Image(signed.arrays())
    out = {"names": a.names, "compile_s": round(t_plain, 2), "compile_signed_s": round(t_signed, 2),
           "blocks_bytes": len(plain.blocks), "blocks_signed_bytes": len(signed.blocks)}
    for label, rdtype in (("a", "A"), ("nodata", "TXT")):
        qs_plain = queries(a.names, a.queries, rdtype, False)
        qs_do = queries(a.names, a.queries, rdtype, True)
        unsigned_ns = per_query_ns(pi, qs_plain, a.rounds)
        do_plain_ns = per_query_ns(pi, qs_do, a.rounds)
        do_signed_ns = per_query_ns(si, qs_do, a.rounds)
        out[label] = {"unsigned_no_do_ns": round(unsigned_ns, 1),
                      "unsigned_do_ns": round(do_plain_ns, 1),
                      "signed_do_ns": round(do_signed_ns, 1),
                      "signed_vs_unsigned_do_qps": round(do_plain_ns / do_signed_ns, 3)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
