"""Change -> new image for one-record batches on a signed zone (RESULTS §20).

    python bench/dnssec/signed_patch.py NAMES BATCHES [full]

Builds a signed zone of NAMES A records (compact denial) in an
IncrementalCompiler, then applies BATCHES one-record upserts (each raising
the serial) and prints the p50/p99 of update() (the patch).  With `full`,
each batch is instead what every change to a signed zone cost before
(snapshot/incremental.py raised NeedsFullCompile): a new IncrementalCompiler
over the changed zones, signatures of unchanged RRsets from the ZoneKeys
cache.  The compile part of INSYNC only: the API, the store and the
publisher's swap come on top of both.
"""
import statistics
import sys
import time

from zonefront.core._engine import Image
from zonefront.dnssec.keystore import SigningKey
from zonefront.dnssec.signer import ZoneKeys
from zonefront.model import TYPE_A, TYPE_NS, TYPE_SOA, RRset, RRsetMap, Zone, name_from_text
from zonefront.snapshot.incremental import IncrementalCompiler

ORIGIN = name_from_text("bench.test.")


def zone(n: int, serial: int, keys, rrsets=None) -> Zone:
    z = Zone(ORIGIN, RRsetMap(rrsets or {}), dnssec=keys)
    if rrsets is None:
        for i in range(n):
            owner = name_from_text(f"h{i}.bench.test.")
            z.add(owner, TYPE_A, 300, bytes([10, i >> 16 & 255, i >> 8 & 255, i & 255]))
        z.add(ORIGIN, TYPE_NS, 3600, name_from_text("ns.bench.test."))
    soa = name_from_text("ns.bench.test.") + name_from_text("h.bench.test.") + \
        serial.to_bytes(4, "big") + bytes(12) + (60).to_bytes(4, "big")
    z.rrsets[(ORIGIN, TYPE_SOA)] = RRset(ORIGIN, TYPE_SOA, 900, [soa])
    return z


def main():
    n, batches = int(sys.argv[1]), int(sys.argv[2])
    full = len(sys.argv) > 3 and sys.argv[3] == "full"
    keys = ZoneKeys(ORIGIN, [SigningKey.generate()], SigningKey.generate())
    z = zone(n, 1, keys)
    t0 = time.perf_counter()
    ic = IncrementalCompiler([z], Image)
    print(f"first compile {time.perf_counter() - t0:.2f} s ({n} names)")
    times = []
    for b in range(batches):
        owner = name_from_text(f"h{(b * 7919) % n}.bench.test.")
        rrsets = RRsetMap(z.rrsets.items())
        rrsets[(owner, TYPE_A)] = RRset(owner, TYPE_A, 300, [bytes([192, 0, 2, b % 250])])
        z = zone(n, 2 + b, keys, rrsets)
        t0 = time.perf_counter()
        if full:
            ic = IncrementalCompiler([z], Image)
        else:
            ic.update([z], {ORIGIN: {owner, ORIGIN}})
        times.append(time.perf_counter() - t0)
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"{'full' if full else 'patch'}: {len(times)} batches, p50 "
          f"{statistics.median(times) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")


if __name__ == "__main__":
    main()
