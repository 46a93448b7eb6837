#!/usr/bin/env python3
"""Change -> INSYNC through the API for one-record batches on a DNSSEC-signed
hosted zone vs the same zone unsigned, same run (RESULTS §24).

For each size, twice (unsigned, then signed): a fresh data directory, the
generated zone of bench/compile (harness.zone_with_rrsets) imported with
`zonefront zone import`, `zonefront serve --api` over it; for the signed run
CreateKeySigningKey + EnableHostedZoneDNSSEC and INSYNC first.  Then
--changes one-record UPSERTs, one at a time, each timed from the call to the
first GetChange saying INSYNC (harness.wait_insync).  The first change is a
warm-up and not counted.  A signed change patches the image (its names
re-signed, SOA serial and RRSIGs as fixups); this shows what that costs
over an unsigned patch end to end.

    python3 bench/dnssec/signed_api_change.py --sizes 10k,100k --changes 30

`--denial nsec3` signs with the NSEC3 chain (`[dnssec] denial`), and
`--creates` makes every change a CREATE of a name not there yet, so each
one moves the chain (RESULTS §26: patched since snapshot/nsec3patch.py,
compiled in full before); `--signed-only` skips the unsigned runs.

    python3 bench/dnssec/signed_api_change.py --sizes 10k,100k --changes 100 \
        --denial nsec3 --creates --signed-only
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "compile"))
import harness  # noqa: E402
from harness import log, ms, peers  # noqa: E402

ARN = "arn:aws:kms:us-east-1:111122223333:key/bench"


def sign(client, zone_id: str, timeout: float) -> float:
    """Enable signing; seconds until INSYNC (the full signed compile)."""
    client.create_key_signing_key(CallerReference=f"bench-{time.monotonic_ns()}",
                                  HostedZoneId=zone_id, Name="ksk", Status="ACTIVE",
                                  KeyManagementServiceArn=ARN)
    t0 = time.monotonic()
    change = client.enable_hosted_zone_dnssec(HostedZoneId=zone_id)["ChangeInfo"]["Id"]
    took, _ = harness.wait_insync(client, change, t0, t0 + timeout)
    if took is None:
        raise TimeoutError(f"EnableHostedZoneDNSSEC not INSYNC after {timeout:.0f}s")
    status = client.get_dnssec(HostedZoneId=zone_id)["Status"]["ServeSignature"]
    if status != "SIGNING":
        raise RuntimeError(f"ServeSignature {status}, not SIGNING")
    return took


def run_one(opts, size: int, signed: bool, workdir: str) -> dict:
    res: dict = {"size": size, "signed": signed, "loadavg": harness.loadavg()}
    srv = harness.ApiServer(workdir, max_rrsets=max(10_000, 2 * size), cmd=opts.zonefront_cmd)
    if signed and opts.denial != "compact":
        with open(srv.config, "a") as f:
            f.write(f'[dnssec]\ndenial = "{opts.denial}"\n')
    deadline = time.monotonic() + opts.budget
    try:
        path = harness.zone_with_rrsets(opts.cache_dir, size, opts.seed)
        res["rrsets"] = srv.import_zone(harness.BIG_ORIGIN, path, opts.budget)["rrsets"]
        srv.start(deadline - time.monotonic(), opts.base_port)
        client = srv.client()
        zone_id = srv.zone_id(client, harness.BIG_ORIGIN)
        if signed:
            res["sign_s"] = sign(client, zone_id, deadline - time.monotonic())
        times = []
        for i in range(opts.changes + 1):
            name, ip = f"zfchg{i % 8}.{harness.BIG_ORIGIN}", f"10.3.{i >> 8 & 255}.{i & 255}"
            batch = harness.change_batch(name, ip)
            if opts.creates:  # a new name each time: the NSEC3 chain moves
                batch = harness.change_batch(f"zfnew{i}.{harness.BIG_ORIGIN}", ip)
                batch["Changes"][0]["Action"] = "CREATE"
            t0 = time.monotonic()
            r = client.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch=batch)
            took, _ = harness.wait_insync(client, r["ChangeInfo"]["Id"], t0, deadline)
            if took is None:
                raise TimeoutError(f"change {i} not INSYNC within the budget")
            if i:  # the first is a warm-up
                times.append(took)
        res["insync"] = harness.summary(times)
        res["status"] = "ok"
    except (TimeoutError, RuntimeError) as e:
        res["status"], res["why"] = "failed", str(e)
        res["log"] = srv.log_tail()
    finally:
        srv.stop()
    log(f"{size:,} {'signed' if signed else 'unsigned'}: {res['status']} "
        f"p50 {ms(res.get('insync', {}).get('p50'))} ms p99 "
        f"{ms(res.get('insync', {}).get('p99'))} ms")
    return res


def main(argv: list[str] | None = None) -> int:
    intro, _, rest = __doc__.partition("\n\n")
    ap = argparse.ArgumentParser(description=intro, epilog=rest,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10k,100k", help="record sets, comma list")
    ap.add_argument("--changes", type=int, default=30, help="measured changes per run")
    ap.add_argument("--budget", type=float, default=600, help="seconds per run")
    ap.add_argument("--seed", type=int, default=53)
    ap.add_argument("--zonefront-cmd", default=None)
    ap.add_argument("--cache-dir", default=harness.DEFAULT_CACHE, help="generated zones")
    ap.add_argument("--base-port", type=int, default=15650)
    ap.add_argument("--denial", choices=("compact", "nsec3"), default="compact",
                    help="the signed zone's denial of existence ([dnssec] denial)")
    ap.add_argument("--creates", action="store_true",
                    help="each change creates a new name (default: UPSERTs of 8 names)")
    ap.add_argument("--signed-only", action="store_true", help="skip the unsigned runs")
    opts = ap.parse_args(argv)
    sizes = sorted({harness.parse_size(s) for s in opts.sizes.split(",") if s.strip()})
    harness.install_signal_handlers()
    root = tempfile.mkdtemp(prefix="zfbench-signed-api-")
    results = []
    try:
        for size in sizes:
            for signed in ((True,) if opts.signed_only else (False, True)):
                workdir = os.path.join(root, f"{harness.size_label(size)}-{int(signed)}")
                os.makedirs(workdir)
                results.append(run_one(opts, size, signed, workdir))
    finally:
        peers.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    headers = ["record sets", "zone", "status", "sign INSYNC s", "INSYNC p50 ms", "p99 ms",
               "max ms", "load avg"]
    rows = [[f"{r.get('rrsets') or r['size']:,}", "signed" if r["signed"] else "unsigned",
             r["status"], f"{r['sign_s']:.2f}" if "sign_s" in r else "-",
             ms(r.get("insync", {}).get("p50")), ms(r.get("insync", {}).get("p99")),
             ms(r.get("insync", {}).get("max")), r["loadavg"].split()[0]] for r in results]
    what = "CREATEs of new names" if opts.creates else "UPSERTs"
    print(f"### change -> INSYNC, one-record {what}, signed ({opts.denial}) vs unsigned "
          f"({opts.changes} changes each)\n")
    print(peers.render_table(rows, headers, True))
    for r in results:
        if r.get("why"):
            print(f"\n- {harness.size_label(r['size'])} signed={r['signed']}: {r['why']}\n"
                  f"{r.get('log', '')}")
    return 0 if all(r["status"] == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
