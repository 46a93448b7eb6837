"""First-compile time of an N-name zone (issue 14): unsigned, signed the
general way (a Resolution and one Python signature per RRset), and signed
with bulk signing (Blocks.add_signed_* and one C batch of signatures
without the GIL, dnssec/signer.py prefill), in one run.

    PYTHONPATH=src python bench/dnssec/sign_compile.py --names 100000 [--general]

--general also times the general path (slow: minutes at 100k names).
Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import time

from zonefront.dnssec import signer
from zonefront.dnssec.keystore import SigningKey
from zonefront.dnssec.signer import ZoneKeys
from zonefront.snapshot import compiler
from zonefront.zonefile import parse_zone_text

from signed_qps import zone_text


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return round(time.perf_counter() - t, 2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--names", type=int, default=100000)
    ap.add_argument("--general", action="store_true")
    a = ap.parse_args()
    zone = parse_zone_text(zone_text(a.names), "bench.example.")
    ksk, zsk = SigningKey.generate(), SigningKey.generate()
    out = {"names": a.names, "load_before": round(os.getloadavg()[0], 1)}
    out["unsigned_s"] = timed(lambda: compiler.compile_zones([zone]))
    if a.general:
        keys = {zone.origin: ZoneKeys(zone.origin, [ksk], zsk)}
        prefill, fast = signer.prefill, compiler.FAST_SIGNED
        signer.prefill, compiler.FAST_SIGNED = (lambda zk, rrsets: 0), False
        try:
            out["signed_general_s"] = timed(lambda: compiler.compile_zones([zone], signing=keys))
        finally:
            signer.prefill, compiler.FAST_SIGNED = prefill, fast
    keys = {zone.origin: ZoneKeys(zone.origin, [ksk], zsk)}
    out["signed_bulk_s"] = timed(lambda: compiler.compile_zones([zone], signing=keys))
    out["signatures"] = len(keys[zone.origin].cache)
    out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    out["load_after"] = round(os.getloadavg()[0], 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
