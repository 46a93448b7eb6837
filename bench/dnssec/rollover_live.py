#!/usr/bin/env python3
"""Live rollovers as unbound saw them, and what the retire rule costs
(RESULTS §28).

`live`: runs tests/unit/dnssec/test_rollover_live.py's ZSK + KSK rollover
once and prints its rounds, how many unbound answers were checked (each
must be AD or the run fails), and per ZSK when it was first served in the
DNSKEY RRset, when it first signed, and how long its predecessor stayed
published after that, as the server's answers showed them (0.2 s polls).

`ttl`: the cost of dnssec/zonekeys.py largest_ttl, which the signing state
runs once per ZSK switch (on the zone before and after it) to decide how
long the replaced key stays published.

    PYTHONPATH=src python3 bench/dnssec/rollover_live.py live
    PYTHONPATH=src python3 bench/dnssec/rollover_live.py ttl
"""
from __future__ import annotations

import os
import pathlib
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]


def live() -> None:
    sys.path.insert(0, str(ROOT / "tests" / "unit" / "dnssec"))
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import _free_port
    import test_rollover_live as t

    watches = []
    init = t.Watch.__init__

    def keep(self, *a, **kw):
        init(self, *a, **kw)
        watches.append(self)

    t.Watch.__init__ = keep
    t0 = time.monotonic()
    t.test_zsk_and_ksk_rollovers_keep_validating(
        pathlib.Path(tempfile.mkdtemp(prefix="rollover-live")), _free_port)
    w = watches[0]
    print(f"total {time.monotonic() - t0:.1f} s; watched {w.samples[-1][0]:.1f} s; "
          f"rounds {len(w.samples)}; unbound answers {w.asked}, all AD")
    signers = w.signers()
    for new in signers[1:]:
        pub = w.first(lambda z, s, k, new=new: new in z)
        sig = w.first(lambda z, s, k, new=new: s == new)
        print(f"ZSK {new}: published at {pub:.1f} s, signs at {sig:.1f} s (+{sig - pub:.1f})")
    for old, new in zip(signers, signers[1:]):
        if w.removed(old):
            kept = w.last(lambda z, s, k, old=old: old in z) - \
                w.first(lambda z, s, k, new=new: s == new)
            print(f"ZSK {old}: still published {kept:.1f} s after its successor signed")


def ttl() -> None:
    from zonefront import model
    from zonefront.dnssec.zonekeys import largest_ttl

    for n in (10_000, 100_000):
        items = {}
        for i in range(n):
            label = f"h{i}".encode()
            owner = bytes([len(label)]) + label + b"\x04test\x00"
            items[(owner, model.TYPE_A)] = model.RRset(owner, model.TYPE_A, 300,
                                                       [bytes([192, 0, 2, i % 256])])
        zone = model.Zone(origin=b"\x04test\x00", rrsets=model.RRsetMap(items))
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            largest_ttl(zone)
            runs.append(time.perf_counter() - start)
        print(f"{n} RRsets (RRsetMap): largest_ttl median {statistics.median(runs) * 1e3:.1f} "
              "ms of 5")


if __name__ == "__main__":
    os.chdir(ROOT)
    {"live": live, "ttl": ttl}[sys.argv[1] if len(sys.argv) > 1 else "live"]()
