"""How long one page of the console's record table costs on a big zone: the
console asks ListResourceRecordSets for 100 record sets from a start name, so
a page's cost is that call (plus rendering 100 rows).  This imports a zone of
N record sets (`zonefront zone import`), starts `zonefront serve --api` and
times the page call at the start, the middle and the end of the zone.

    PYTHONPATH=src python bench/console_paging.py [--records 100000]
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import boto3

KEY, SECRET = "AKBENCHCONSOLE", "bench-console-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100000)
    ap.add_argument("--pages", type=int, default=30, help="page calls timed per position")
    args = ap.parse_args()
    n = args.records
    with tempfile.TemporaryDirectory() as data:
        cfg = os.path.join(data, "zf.toml")
        with open(cfg, "w") as f:
            f.write(f'[api]\naccess_key_id = "{KEY}"\nsecret_access_key = "{SECRET}"\n'
                    f"[zones]\nmax_rrsets_per_zone = {n + 10}\n")
        zone = os.path.join(data, "big.zone")
        with open(zone, "w") as f:
            f.write("$ORIGIN big.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 86400\n")
            f.writelines(f"h{i:06d} A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\n"
                         for i in range(n))
        base = [sys.executable, "-m", "zonefront.cli"]
        t0 = time.monotonic()
        subprocess.run(base + ["zone", "--data-dir", data, "--config", cfg, "import", "big.test.",
                               zone], check=True, capture_output=True)
        print(f"imported {n} record sets in {time.monotonic() - t0:.1f}s")
        port = free_port()
        proc = subprocess.Popen(base + ["serve", "--api", "--no-demo", "--workers", "1",
                                        "--api-listen", f"127.0.0.1:{port}", "--dns-listen",
                                        f"127.0.0.1:{free_port()}", "--data-dir", data,
                                        "--config", cfg],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(600):
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            r53 = boto3.client("route53", endpoint_url=url, region_name="us-east-1",
                               aws_access_key_id=KEY, aws_secret_access_key=SECRET)
            zid = r53.list_hosted_zones_by_name(DNSName="big.test.")["HostedZones"][0]["Id"]
            for label, start in (("start", None), ("middle", f"h{n // 2:06d}.big.test."),
                                 ("end", f"h{n - 150:06d}.big.test.")):
                times = []
                for _ in range(args.pages):
                    kw = {"StartRecordName": start, "StartRecordType": "A"} if start else {}
                    t = time.perf_counter()
                    got = r53.list_resource_record_sets(HostedZoneId=zid, MaxItems="100", **kw)
                    times.append((time.perf_counter() - t) * 1000)
                    assert len(got["ResourceRecordSets"]) == 100
                print(f"page of 100 at the {label:6s}: median {statistics.median(times):.1f} ms, "
                      f"max {max(times):.1f} ms ({args.pages} calls)")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
