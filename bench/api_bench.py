"""Route 53 API throughput with boto3 against an in-process ControlPlane.

    PYTHONPATH=src python bench/api_bench.py [--seconds 5] [--clients 1,4] [--data-dir DIR]

Measures, each for --seconds:
- ChangeResourceRecordSets/s with one UPSERT per batch (every call is one
  SQLite transaction with an fsync: synchronous=FULL), per client count;
- record sets/s with 100-change batches;
- ListResourceRecordSets/s (100 record sets per page) on a 2,000-record zone;
- commit -> INSYNC latency (p50/p99) as GetChange reports it, with a publish
  that does no DNS work (this is the control plane's own share).

The data directory's filesystem decides the fsync cost; the table says
which one was used.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import boto3  # noqa: E402
import botocore.config  # noqa: E402

from zonefront.control import ControlPlane  # noqa: E402
from zonefront.config import Config  # noqa: E402

AKID, SECRET = "AKIDBENCH", "bench-secret"


def client(url):
    return boto3.client("route53", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id=AKID, aws_secret_access_key=SECRET,
                        config=botocore.config.Config(retries={"max_attempts": 1},
                                                      max_pool_connections=4))


def upsert(name, value, ttl=60):
    return {"Action": "UPSERT", "ResourceRecordSet": {
        "Name": name, "Type": "A", "TTL": ttl, "ResourceRecords": [{"Value": value}]}}


def run_for(seconds, clients, work):
    """Run work(client_index, i) in `clients` threads; return calls done and elapsed."""
    counts = [0] * clients
    stop = threading.Event()
    errors = []

    def loop(k):
        i = 0
        try:
            while not stop.is_set():
                work(k, i)
                i += 1
                counts[k] += 1
        except Exception as e:  # report, do not hang
            errors.append(e)

    threads = [threading.Thread(target=loop, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return sum(counts), time.perf_counter() - t0


def fs_of(path):
    try:
        out = subprocess.run(["df", "-T", path], capture_output=True, text=True).stdout
        return out.splitlines()[1].split()[1]
    except Exception:
        return "?"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--clients", default="1,4")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="zf-bench-", dir=".")
    published = []
    cp = ControlPlane(Config(api_listen=("127.0.0.1", 0), data_dir=data_dir,
                             credentials={AKID: SECRET}),
                      lambda zones: published.append(len(zones)))
    cp.start()
    url = "http://%s:%d" % cp.api_address
    rows = []
    try:
        setup = client(url)
        zid = setup.create_hosted_zone(Name="bench.example",
                                       CallerReference=f"b-{time.time()}")["HostedZone"]["Id"]
        for n in [int(x) for x in args.clients.split(",")]:
            cls = [client(url) for _ in range(n)]
            done, el = run_for(args.seconds, n, lambda k, i: cls[k].change_resource_record_sets(
                HostedZoneId=zid, ChangeBatch={"Changes": [
                    upsert(f"c{k}-{i % 500}.bench.example", f"192.0.2.{i % 250}")]}))
            rows.append((f"ChangeResourceRecordSets, 1 change/batch, {n} client(s)",
                         done / el, "calls/s"))
        cls = [client(url)]
        done, el = run_for(args.seconds, 1, lambda k, i: cls[0].change_resource_record_sets(
            HostedZoneId=zid, ChangeBatch={"Changes": [
                upsert(f"big{i % 20}-{j}.bench.example", f"192.0.2.{j % 250}")
                for j in range(100)]}))
        rows.append(("ChangeResourceRecordSets, 100 changes/batch, 1 client", done * 100 / el,
                     "record sets/s"))
        # a 2,000 record-set zone to list
        lz = setup.create_hosted_zone(Name="list.example",
                                      CallerReference=f"l-{time.time()}")["HostedZone"]["Id"]
        for b in range(20):
            setup.change_resource_record_sets(HostedZoneId=lz, ChangeBatch={"Changes": [
                upsert(f"h{b}-{j}.list.example", "192.0.2.1") for j in range(100)]})
        for n in [int(x) for x in args.clients.split(",")]:
            cls = [client(url) for _ in range(n)]
            done, el = run_for(args.seconds, n, lambda k, i: cls[k].list_resource_record_sets(
                HostedZoneId=lz, StartRecordName=f"h{i % 20}-0.list.example", MaxItems="100"))
            rows.append((f"ListResourceRecordSets, 100/page, {n} client(s)", done / el,
                         "calls/s"))
        # commit -> INSYNC as GetChange sees it
        lat = []
        c = client(url)
        for i in range(200):
            t0 = time.perf_counter()
            cid = c.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [
                upsert(f"lat{i}.bench.example", "192.0.2.7")]})["ChangeInfo"]["Id"]
            while c.get_change(Id=cid)["ChangeInfo"]["Status"] != "INSYNC":
                pass
            lat.append((time.perf_counter() - t0) * 1000)
        lat.sort()
        p50 = statistics.median(lat)
        p99 = lat[int(len(lat) * 0.99) - 1]
        rows.append(("ChangeResourceRecordSets -> INSYNC, p50 (no-op publish)", p50, "ms"))
        rows.append(("ChangeResourceRecordSets -> INSYNC, p99 (no-op publish)", p99, "ms"))
    finally:
        cp.stop()
    print(f"\nzonefront API bench: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"data dir on {fs_of(data_dir)} ({data_dir}), {args.seconds:g}s per row\n")
    w = max(len(r[0]) for r in rows)
    print(f"| {'measurement'.ljust(w)} | {'value':>10} | unit |")
    print(f"| {'-' * w} | {'-' * 10}: | ---- |")
    for name, value, unit in rows:
        print(f"| {name.ljust(w)} | {value:10.1f} | {unit} |")
    print(f"\npublishes: {len(published)}")


if __name__ == "__main__":
    main()
