"""Write a large synthetic master file for load-time benchmarks of zonefile.py.

Usage: python tools/gen_zone.py RECORDS OUT.db [--origin example.com.] [--seed N]
The mix (A, AAAA, CNAME, MX, TXT, with some multi-record owners and blank
owners) follows the common path of real hosted zones, so the timing measures
what operators actually load.
"""
from __future__ import annotations

import argparse
import random


def generate(count: int, origin: str = "example.com.", seed: int = 1):
    """Yield the lines of a zone with `count` records (plus the SOA and NS)."""
    rnd = random.Random(seed)
    yield f"$ORIGIN {origin}\n$TTL 3600\n"
    yield "@ IN SOA ns1 hostmaster ( 2024010101 1h 15m 1w 300 )\n"
    yield "@ IN NS ns1\n@ IN NS ns2.example.net.\nns1 IN A 192.0.2.1\n"
    i = 0
    while i < count:
        host = f"h{i}"
        kind = rnd.random()
        if kind < 0.45:
            yield f"{host} 300 IN A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\n"
            if rnd.random() < 0.2:
                yield f"  IN A 10.{i >> 16 & 255}.{i >> 8 & 255}.{(i + 1) & 255}\n"
                i += 1
        elif kind < 0.65:
            yield f"{host} IN AAAA 2001:db8::{i & 0xffff:x}:{i >> 16:x}\n"
        elif kind < 0.80:
            yield f"{host} CNAME h{rnd.randrange(count)}.{origin}\n"
        elif kind < 0.90:
            yield f"{host} 600 MX {rnd.randrange(50)} mail{i % 97}\n"
        else:
            yield f'{host} TXT "v=spf1 include:_spf.{origin} ~all" "id {i}"\n'
        i += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", type=int)
    ap.add_argument("out")
    ap.add_argument("--origin", default="example.com.")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with open(args.out, "w") as f:
        f.writelines(generate(args.records, args.origin, args.seed))


if __name__ == "__main__":
    main()
