"""ChangeResourceRecordSets -> served, while dnsperf loads the DNS port.

Issue 4: a committed change is served by the running workers within a second,
without a restart and without dropping queries.  Starts `zonefront serve
--api`, runs dnsperf at a fixed rate against a static name for the whole
measurement, makes N changes with boto3 (each a new A record), and times
each from the API call to the first DNS answer that carries it; prints
p50/p99/max and dnsperf's sent/lost counts.

    python3 bench/api_under_load.py [--changes 50] [--qps 20000]
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

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "src")


def free_port(kind=socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--changes", type=int, default=50)
    ap.add_argument("--qps", type=int, default=20000)
    opts = ap.parse_args(argv)
    import boto3
    import dns.message
    import dns.query
    import dns.rcode
    from botocore.config import Config

    work = tempfile.mkdtemp(prefix="zfapiload-")
    dport, aport = free_port(), free_port(socket.SOCK_STREAM)
    env = dict(os.environ, PYTHONPATH=SRC, ZONEFRONT_ACCESS_KEY_ID="AKIDLOAD",
               ZONEFRONT_SECRET_ACCESS_KEY="secret")
    server = subprocess.Popen(
        [sys.executable, "-m", "zonefront.cli", "serve", "--api", "--no-demo", "--workers", "1",
         "--dns-listen", f"127.0.0.1:{dport}", "--api-listen", f"127.0.0.1:{aport}", "--data-dir", work],
        env=env, stderr=subprocess.PIPE, text=True, start_new_session=True)
    perf = None
    try:
        while True:
            line = server.stderr.readline()
            if not line or line.startswith("ready:"):
                break
        r53 = boto3.client("route53", endpoint_url=f"http://127.0.0.1:{aport}", region_name="us-east-1",
                           aws_access_key_id="AKIDLOAD", aws_secret_access_key="secret",
                           config=Config(retries={"max_attempts": 1}))
        zid = r53.create_hosted_zone(Name="load.test", CallerReference="load")["HostedZone"]["Id"]
        r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [{
            "Action": "CREATE", "ResourceRecordSet": {"Name": "static.load.test", "Type": "A", "TTL": 60,
                                                      "ResourceRecords": [{"Value": "192.0.2.1"}]}}]})
        time.sleep(1.0)
        qfile = os.path.join(work, "q.txt")
        with open(qfile, "w") as f:
            f.write("static.load.test A\n" * 1000)
        seconds = max(10, opts.changes // 2 + 5)
        perf = subprocess.Popen(["dnsperf", "-s", "127.0.0.1", "-p", str(dport), "-d", qfile, "-l",
                                 str(seconds), "-Q", str(opts.qps), "-c", "4"],
                                stdout=subprocess.PIPE, text=True, start_new_session=True)
        time.sleep(1.0)
        lat = []
        for i in range(opts.changes):
            name = f"n{i}.load.test"
            t0 = time.monotonic()
            r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [{
                "Action": "CREATE", "ResourceRecordSet": {"Name": name, "Type": "A", "TTL": 60,
                                                          "ResourceRecords": [{"Value": "192.0.2.9"}]}}]})
            while True:
                m = dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1", port=dport, timeout=1)
                if m.rcode() == dns.rcode.NOERROR and m.answer:
                    break
                if time.monotonic() - t0 > 5:
                    raise RuntimeError(f"{name} not served after 5 s")
            lat.append(time.monotonic() - t0)
        out, _ = perf.communicate(timeout=seconds + 30)
        sent = [ln for ln in out.splitlines() if "Queries sent" in ln or "Queries lost" in ln]
        lat.sort()
        print(f"changes: {len(lat)}; change -> served: p50 {statistics.median(lat) * 1000:.1f} ms, "
              f"p99 {lat[int(len(lat) * 0.99) - 1 if len(lat) > 1 else 0] * 1000:.1f} ms, "
              f"max {lat[-1] * 1000:.1f} ms; dnsperf -Q {opts.qps}: " + "; ".join(s.strip() for s in sent))
    finally:
        for p in (perf, server):
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
