"""Edges: change-to-INSYNC with three edges, and catch-up for a big zone.

    PYTHONPATH=src python bench/edge_bench.py [--changes 50] [--records 1000000]

1. `zonefront serve --api` and three `python -m zonefront.edge` processes;
   --changes UPSERTs through boto3, one at a time; for each, the time from
   sending ChangeResourceRecordSets until GetChange says INSYNC (polled
   every 5 ms), and a check that all three edges then answer it.  The
   same without edges for comparison.
2. A zone of --records A records made with model objects, published by an
   in-process EdgeHub behind the API server: a new edge's cold start (the
   control plane compiles the snapshot on the first request), a second
   cold start (snapshot cached), a restart from disk, and the catch-up of
   a restarted edge to a one-record change (delta + recompile).
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))  # tests/helpers

from helpers.edge_cluster import (  # noqa: E402
    EDGE_KEY, EDGE_SECRET, KEY, SECRET, addresses, start_control_plane, start_edge, wait_for)


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A free port of this kind, as the kernel picks it (port 0)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def insync_run(root: str, n_edges: int, changes: int) -> list[float]:
    import boto3
    from botocore.config import Config as BotoConfig

    data = os.path.join(root, f"cp{n_edges}")
    os.makedirs(data)
    config = os.path.join(data, "zonefront.toml")
    with open(config, "w") as f:
        f.write(f'[edges]\naccess_key_id = "{EDGE_KEY}"\nsecret_access_key = "{EDGE_SECRET}"\n')
    dns_port, api_port = free_port(), free_port(socket.SOCK_STREAM)
    cp = start_control_plane(data, dns_port, api_port, config)
    ports = [free_port() for _ in range(n_edges)]
    edges = [start_edge(f"http://127.0.0.1:{api_port}", ports[i], os.path.join(data, f"e{i}"),
                        f"e{i}") for i in range(n_edges)]
    try:
        r53 = boto3.client("route53", endpoint_url=f"http://127.0.0.1:{api_port}",
                           region_name="us-east-1", aws_access_key_id=KEY,
                           aws_secret_access_key=SECRET,
                           config=BotoConfig(retries={"max_attempts": 1}))
        zid = r53.create_hosted_zone(Name="bench.test", CallerReference=str(time.time()))[
            "HostedZone"]["Id"]
        out = []
        for i in range(changes):
            value = f"198.51.100.{i % 250}"
            t0 = time.perf_counter()
            cid = r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [{
                "Action": "UPSERT", "ResourceRecordSet": {
                    "Name": f"c{i}.bench.test", "Type": "A", "TTL": 60,
                    "ResourceRecords": [{"Value": value}]}}]})["ChangeInfo"]["Id"]
            while r53.get_change(Id=cid)["ChangeInfo"]["Status"] != "INSYNC":
                time.sleep(0.005)
            out.append(time.perf_counter() - t0)
            for port in ports:
                assert addresses(port, f"c{i}.bench.test") == {value}, (port, i)
        return out
    finally:
        for e in edges:
            e.stop()
        cp.stop()


def big_zone(n: int):
    from zonefront import model

    origin = model.name_from_text("big.test.")
    z = model.Zone(origin=origin, source="/hostedzone/BIG")
    z.add(origin, model.TYPE_SOA, 300, model.name_from_text("ns1.big.test.")
          + model.name_from_text("h.big.test.") + (1).to_bytes(4, "big") + bytes(16))
    z.add(origin, model.TYPE_NS, 300, model.name_from_text("ns1.big.test."))
    RRset = model.RRset
    for i in range(n):
        label = b"h%d" % i
        o = bytes([len(label)]) + label + origin
        z.rrsets[(o, 1)] = RRset(o, 1, 300, [bytes([10, i >> 16 & 255, i >> 8 & 255, i & 255])])
    return z


def catchup_run(root: str, records: int) -> list[tuple[str, float]]:
    from zonefront import model
    from zonefront.api.server import APIServer
    from zonefront.config import Config, EdgeSettings
    from zonefront.control.mounts import mount_table
    from zonefront.edge.documents import no_gc
    from zonefront.edge.hub import EdgeHub
    from zonefront.health.table import HealthTable

    rows = []
    t = time.perf_counter()
    with no_gc():
        z = big_zone(records)
    rows.append((f"generate {records} records (model objects)", time.perf_counter() - t))
    settings = EdgeSettings(credentials={EDGE_KEY: EDGE_SECRET})
    hub = EdgeHub(settings, HealthTable())
    hub.start()
    hub.offer([z])
    api_port = free_port(socket.SOCK_STREAM)
    config = Config(api_listen=("127.0.0.1", api_port), credentials={KEY: SECRET},
                    edges=settings)
    server = APIServer(config, None, mount_table(config, None, hub), edge_paths=hub.paths)
    server.start()
    url = f"http://127.0.0.1:{api_port}"
    probe = "h%d.big.test" % (records // 2)
    want = "10.%d.%d.%d" % (records // 2 >> 16 & 255, records // 2 >> 8 & 255, records // 2 & 255)
    edge = None
    try:
        for label in ("cold start, new edge (control plane compiles the snapshot)",
                      "cold start, second edge (snapshot cached)"):
            d = os.path.join(root, "big-" + str(len(rows)))
            port = free_port()
            t = time.perf_counter()
            e = start_edge(url, port, d, f"big{len(rows)}", wait_ready=False)
            e.wait_line("ready:", timeout=900)
            assert addresses(port, probe) == {want}
            rows.append((label, time.perf_counter() - t))
            if edge is None:
                edge, edge_dir, edge_port = e, d, port
            else:
                e.stop()
        # a restart from disk, then a one-record change reaches it as a delta
        wait_for(lambda: os.path.exists(os.path.join(edge_dir, "state.json")), 120)
        time.sleep(1.0)  # the disk copy is written after the swap
        edge.signal(signal.SIGKILL)
        edge.p.wait(10)
        edge.stop()
        owner = model.name_from_text(probe + ".")
        rr = dict(z.rrsets)
        rr[(owner, 1)] = model.RRset(owner, 1, 300, [bytes([192, 0, 2, 77])])
        z2 = model.Zone(origin=z.origin, source=z.source, rrsets=rr)
        before = hub.serial
        hub.offer([z2])
        t = time.perf_counter()
        edge = start_edge(url, edge_port, edge_dir, "big1", wait_ready=False)
        edge.wait_line("ready:", timeout=300)
        rows.append(("restart from disk snapshot to ready: (old data)", time.perf_counter() - t))
        assert addresses(edge_port, probe) == {want}
        ok = wait_for(lambda: addresses(edge_port, probe) == {"192.0.2.77"}, 900, step=0.1)
        assert ok
        rows.append(("restart to serving a 1-record change (delta + recompile)",
                     time.perf_counter() - t))
        delta = hub.delta_doc(before, hub.epoch) or b""
        rows.append((f"delta size for that change: {len(delta)} octets; zones doc "
                     f"{len(hub.zones_doc()[1]) / 1e6:.1f} MB; snapshot "
                     f"{len(hub.snapshot_doc()[1]) / 1e6:.1f} MB", 0.0))
    finally:
        if edge is not None:
            edge.stop()
        server.stop()
        hub.stop()
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--changes", type=int, default=50)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--skip-big", action="store_true")
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="zonefront-edge-bench-")
    try:
        print(f"machine: {os.cpu_count()} cpus, python {sys.version.split()[0]}")
        print(f"\nchange -> INSYNC ({args.changes} changes, one at a time)")
        print(f"{'setup':<28}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
        for n in (0, 3):
            xs = insync_run(root, n, args.changes)
            label = "control plane only" if n == 0 else f"{n} edges"
            print(f"{label:<28}{statistics.median(xs) * 1e3:>10.1f}"
                  f"{pct(xs, 99) * 1e3:>10.1f}{max(xs) * 1e3:>10.1f}", flush=True)
        if not args.skip_big:
            print(f"\ncatch-up, one zone of {args.records} A records")
            for label, secs in catchup_run(root, args.records):
                print(f"  {label:<66}{secs:>8.2f} s" if secs else f"  {label}", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
