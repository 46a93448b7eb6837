"""Signed vs unsigned, and denial vs static answers, in one run (issue 14).

One UDP worker serves an N-name zone, compiled unsigned and then signed;
dnsperf -D (DO bit) loads it with
  static   A queries for names that exist (precomputed signed answers),
  flood    a random-subdomain flood: unique random labels under the zone,
           each a nonexistent name whose compact NSEC is signed online
           (RFC 9824; csrc/zfdeny.c), so the per-worker cache misses,
  repeat   1,000 nonexistent names asked over and over (cache hits).
For each: QPS, the server's CPU per query (this process's user+system time
over the queries dnsperf saw answered; dnsperf runs on the same cores, in
its own process) and the signer cache's hit rate.  Then the engine alone
(Image.answer_many, one nogil loop): ns per query for the same sets.

    PYTHONPATH=src python bench/dnssec/denial_flood.py --names 100000 --seconds 5

`--denial nsec3` signs the zone in precomputed NSEC3 mode (dnssec/nsec3.py):
the flood is then answered NXDOMAIN with a closest-encloser proof picked
from the chain signed at compile time, no signature made per query.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import tempfile
import time

import dns.message
from zonefront.core._engine import Image, deny_cache_stats
from zonefront.dataplane.server import DnsServer
from zonefront.dnssec.keystore import SigningKey
from zonefront.dnssec.signer import ZoneKeys
from zonefront.snapshot.compiler import compile_zones
from zonefront.zonefile import parse_zone_text

from signed_qps import zone_text

ORIGIN = "bench.example."


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_dnsperf(port: int, qfile: str, seconds: int) -> tuple[float, int]:
    out = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", qfile, "-D",
                          "-l", str(seconds), "-c", "4", "-q", "200"],
                         capture_output=True, text=True, check=True).stdout
    qps = float(re.search(r"Queries per second:\s+([\d.]+)", out).group(1))
    done = int(re.search(r"Queries completed:\s+(\d+)", out).group(1))
    return qps, done


def names(kind: str, n: int, count: int, rnd: random.Random) -> list[str]:
    if kind == "static":
        return [f"h{rnd.randrange(n)}.{ORIGIN}" for _ in range(count)]
    if kind == "flood":
        return [f"{rnd.getrandbits(48):012x}.{ORIGIN}" for _ in range(count)]
    pool = [f"nx{i}.{ORIGIN}" for i in range(1000)]
    return [rnd.choice(pool) for _ in range(count)]


def engine_ns(image: Image, qs: list[bytes], rounds: int) -> float:
    image.answer_many(qs[:1000], 1, 3)
    t = time.perf_counter()
    image.answer_many(qs, rounds, 3)
    return (time.perf_counter() - t) / (len(qs) * rounds) * 1e9


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--names", type=int, default=100000)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--queries", type=int, default=100000)
    ap.add_argument("--denial", choices=("compact", "nsec3"), default="compact")
    a = ap.parse_args()
    zone = parse_zone_text(zone_text(a.names), ORIGIN)
    keys = {zone.origin: ZoneKeys(zone.origin, [SigningKey.generate()], SigningKey.generate(),
                                  denial=a.denial)}
    images = {"unsigned": Image(compile_zones([zone]).arrays()),
              "signed": Image(compile_zones([zone], signing=keys).arrays())}
    probe = dns.message.make_query(f"nx-probe.{ORIGIN}", "A", use_edns=0, want_dnssec=True)
    got = dns.message.from_wire(images["signed"].answer(probe.to_wire(), False, None, 0))
    if (got.rcode() == 3) != (a.denial == "nsec3"):  # nsec3 mode answers a real NXDOMAIN
        raise SystemExit(f"the signed image does not deny in {a.denial} mode")
    rnd = random.Random(14)
    out: dict = {"names": a.names, "denial": a.denial, "load_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("static", "flood", "repeat"):
            qfile = f"{tmp}/{kind}.txt"
            with open(qfile, "w") as f:
                for name in names(kind, a.names, a.queries, rnd):
                    f.write(f"{name} A\n")
            for label, image in images.items():
                server = DnsServer([("127.0.0.1", 0)], workers=1, image=image).start()
                try:
                    h0, m0, c0 = *deny_cache_stats(True), cpu()
                    qps, done = run_dnsperf(server.ports[0], qfile, a.seconds)
                    h1, m1, c1 = *deny_cache_stats(True), cpu()
                finally:
                    server.stop()
                row = {"qps": round(qps), "cpu_us_per_query": round((c1 - c0) / done * 1e6, 2)}
                if label == "signed" and kind != "static":
                    row["cache_hit_rate"] = round((h1 - h0) / max(1, h1 - h0 + m1 - m0), 3)
                out[f"{kind}_{label}"] = row
    out["signed_vs_unsigned_static_qps"] = round(out["static_signed"]["qps"] /
                                                 out["static_unsigned"]["qps"], 3)
    out["flood_vs_static_signed_qps"] = round(out["flood_signed"]["qps"] /
                                              out["static_signed"]["qps"], 3)
    out["repeat_vs_static_signed_qps"] = round(out["repeat_signed"]["qps"] /
                                               out["static_signed"]["qps"], 3)
    engine = {}
    for kind in ("static", "flood", "repeat"):
        qs = [dns.message.make_query(nm, "A", use_edns=0, want_dnssec=True).to_wire()
              for nm in names(kind, a.names, 20000, random.Random(3))]
        for label, image in images.items():
            h0, m0 = deny_cache_stats()
            engine[f"{kind}_{label}_ns"] = round(engine_ns(image, qs, 2), 1)
            h1, m1 = deny_cache_stats()
            if label == "signed" and kind != "static":
                engine[f"{kind}_cache_hit_rate"] = round((h1 - h0) / max(1, h1 - h0 + m1 - m0), 3)
    out["engine"] = engine
    out["load_after"] = os.getloadavg()[0]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
