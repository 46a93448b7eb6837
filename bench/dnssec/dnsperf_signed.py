"""Signed vs unsigned over the wire, same run (issue 14): one UDP worker
serving an N-name zone compiled unsigned, then signed, each loaded by
dnsperf with the DO bit set (-D) for the same queries (A hits, and TXT for
NODATA), so the cost a signature adds to a whole query, syscalls included.

    PYTHONPATH=src python bench/dnssec/dnsperf_signed.py --names 20000 --seconds 10
"""
from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import tempfile

from zonefront.core._engine import Image
from zonefront.dataplane.server import DnsServer
from zonefront.dnssec.keystore import SigningKey
from zonefront.dnssec.signer import ZoneKeys
from zonefront.snapshot.compiler import compile_zones
from zonefront.zonefile import parse_zone_text

from signed_qps import zone_text


def run_dnsperf(port: int, qfile: str, seconds: int) -> float:
    out = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", qfile, "-D",
                          "-l", str(seconds), "-c", "4", "-q", "200"],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Queries per second:\s+([\d.]+)", out).group(1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--names", type=int, default=20000)
    ap.add_argument("--seconds", type=int, default=10)
    a = ap.parse_args()
    zone = parse_zone_text(zone_text(a.names), "bench.example.")
    keys = {zone.origin: ZoneKeys(zone.origin, [SigningKey.generate()], SigningKey.generate())}
    images = {"unsigned": Image(compile_zones([zone]).arrays()),
              "signed": Image(compile_zones([zone], signing=keys).arrays())}
    rnd = random.Random(7)
    out = {"names": a.names}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, rdtype in (("a", "A"), ("nodata", "TXT")):
            qfile = f"{tmp}/{kind}.txt"
            with open(qfile, "w") as f:
                for _ in range(50000):
                    f.write(f"h{rnd.randrange(a.names)}.bench.example. {rdtype}\n")
            for label, image in images.items():
                server = DnsServer([("127.0.0.1", 0)], workers=1, image=image).start()
                try:
                    out[f"{kind}_{label}_qps"] = run_dnsperf(server.ports[0], qfile, a.seconds)
                finally:
                    server.stop()
            out[f"{kind}_ratio"] = round(out[f"{kind}_signed_qps"] / out[f"{kind}_unsigned_qps"],
                                         3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
