"""Routing-policy names and private views against static names, same run.

Issue 3/5 ask that names with a routing policy answer within 10% of static
names, and issue 7 that public queries cost the same with private zones
configured.  One server (a child process hosting DnsServer with the compiled
engine, pinned to CPU 1) holds N static names and, for each policy, N names
of that policy (weighted 1:3, failover pair with health checks, 8 multivalue
values, latency over 4 regions, geolocation with a default, geoproximity,
CIDR with a 3-location collection, an alias to a weighted name, a traffic
policy instance whose geo rule leads to a weighted rule, a failover rule
with a health check and a default endpoint: nested rules); the client
(tools/loadgen, or dnsperf with --dnsperf, on CPU 0) sends a query file per
kind, in rotation, several rounds.  Then the same with private views
configured (50 VPCs, each with private zones) and public queries only.

    python3 bench/dnsperf/policies.py [--names 20000] [--seconds 5] [--rounds 3] [--dnsperf]
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "..", "src")
sys.path.insert(0, HERE)
sys.path.insert(0, SRC)

KINDS = ["static", "weighted", "failover", "multivalue", "latency", "geo", "geoproximity",
         "cidr", "alias", "traffic"]

# the traffic-policy kind: nested rules (geo -> weighted / failover / endpoint)
TRAFFIC_DOC = {
    "AWSPolicyFormatVersion": "2015-10-01", "RecordType": "A",
    "Endpoints": {"a": {"Type": "value", "Value": "10.5.0.1"},
                  "b": {"Type": "value", "Value": "10.5.0.2"},
                  "p": {"Type": "value", "Value": "10.5.0.3"},
                  "s": {"Type": "value", "Value": "10.5.0.4"},
                  "d": {"Type": "value", "Value": "10.5.0.5"}},
    "Rules": {"geo": {"RuleType": "geo", "Locations": [
                  {"Country": "US", "RuleReference": "w"},
                  {"Continent": "EU", "RuleReference": "f"},
                  {"IsDefault": True, "RuleReference": "w2"}]},
              "w": {"RuleType": "weighted", "Items": [
                  {"Weight": "1", "EndpointReference": "a"},
                  {"Weight": "3", "EndpointReference": "b"}]},
              "f": {"RuleType": "failover",
                    "Primary": {"EndpointReference": "p", "HealthCheck": "tp"},
                    "Secondary": {"EndpointReference": "s"}},
              "w2": {"RuleType": "weighted", "Items": [
                  {"Weight": "1", "RuleReference": "f"},
                  {"Weight": "1", "EndpointReference": "d"}]}},
    "StartRule": "geo"}


def build_engine(names: int, views: bool):
    from zonefront.core.engine import Engine
    from zonefront.health.table import HealthTable
    from zonefront.model import TYPE_A, TYPE_NS, TYPE_SOA, RoutedRRset, Zone, name_from_text
    from zonefront.snapshot.compiler import compile_zones
    from zonefront.trafficflow import compile_document

    def zone(origin_text, private=False):
        origin = name_from_text(origin_text)
        z = Zone(origin, private=private)
        z.add(origin, TYPE_SOA, 3600, name_from_text("ns1." + origin_text) * 2 + bytes(20))
        z.add(origin, TYPE_NS, 3600, name_from_text("ns1." + origin_text))
        return z

    health = HealthTable()
    z = zone("pol.test.")
    R = RoutedRRset
    regions = ["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"]
    for i in range(names):
        ip = bytes([10, (i >> 16) & 255, (i >> 8) & 255, i & 255])
        n = lambda k: name_from_text(f"{k}{i}.pol.test.")  # noqa: E731
        z.add(n("static"), TYPE_A, 300, ip)
        z.routed += [R(n("weighted"), TYPE_A, 60, [ip], set_id="a", weight=1),
                     R(n("weighted"), TYPE_A, 60, [ip[::-1]], set_id="b", weight=3)]
        z.routed += [R(n("failover"), TYPE_A, 60, [ip], set_id="p", failover="PRIMARY", health_check=f"p{i % 100}"),
                     R(n("failover"), TYPE_A, 60, [ip[::-1]], set_id="s", failover="SECONDARY")]
        z.routed += [R(n("multivalue"), TYPE_A, 60, [bytes([10, 1, i & 255, v])], set_id=f"m{v}",
                       multivalue=True, health_check=f"m{v}") for v in range(8)]
        z.routed += [R(n("latency"), TYPE_A, 60, [bytes([10, 2, r, i & 255])], set_id=reg, region=reg)
                     for r, reg in enumerate(regions)]
        z.routed += [R(n("geo"), TYPE_A, 60, [ip], set_id="eu", geo_continent="EU"),
                     R(n("geo"), TYPE_A, 60, [ip[::-1]], set_id="us", geo_country="US"),
                     R(n("geo"), TYPE_A, 60, [bytes([10, 3, 0, 1])], set_id="d", geo_country="*")]
        z.routed += [R(n("geoproximity"), TYPE_A, 60, [ip], set_id="x", geoprox_region="eu-west-1", geoprox_bias=20),
                     R(n("geoproximity"), TYPE_A, 60, [ip[::-1]], set_id="y", geoprox_lat=40.7, geoprox_lon=-74.0)]
        z.routed += [R(n("cidr"), TYPE_A, 60, [bytes([10, 4, loc, 1])], set_id=f"c{loc}", cidr_collection="c1",
                       cidr_location=name) for loc, name in enumerate(["a", "b", "*"])]
        z.routed.append(R(n("alias"), TYPE_A, 0, alias_name=n("weighted")))
        z.routed += compile_document(TRAFFIC_DOC, n("traffic"), 60)
    cidr = {"c1": {"a": ["127.0.0.0/24", "192.0.2.0/24"], "b": ["198.51.100.0/24", "2001:db8::/32"]}}
    image = compile_zones([z], health, cidr)
    engine = Engine(image.arrays(), image.zones).attach(health=health)
    if views:
        vlist = []
        for v in range(50):
            pz = zone(f"corp{v}.internal.", private=True)
            pz.add(name_from_text(f"db.corp{v}.internal."), TYPE_A, 60, bytes([10, 9, v, 1]))
            pimg = compile_zones([pz, zone("pol.test.", private=True)])
            vlist.append((Engine(pimg.arrays(), pimg.zones).image, [f"10.{100 + v}.0.0/16"]))
        engine.image.set_views(vlist)
    return engine, health


def host(port: int, names: int, views: bool) -> int:
    """Child process: serve until SIGTERM."""
    from zonefront.dataplane.server import DnsServer

    engine, health = build_engine(names, views)
    server = DnsServer([("127.0.0.1", port)], workers=1, image=engine.image)
    server.start()
    print("ready", flush=True)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    while not stop:
        time.sleep(0.2)
    server.stop()
    return 0


def query_file(path: str, kind: str, names: int, count: int = 200000) -> None:
    rnd = random.Random(53)
    with open(path, "w") as f:
        for _ in range(count):
            f.write(f"{kind}{rnd.randrange(names)}.pol.test A\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--names", type=int, default=20000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dnsperf", action="store_true", help="drive with dnsperf instead of tools/loadgen")
    ap.add_argument("--host", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--views", action="store_true", help=argparse.SUPPRESS)
    opts = ap.parse_args(argv)
    if opts.host:
        return host(opts.host, opts.names, opts.views)

    import run  # the harness: CPU accounting, clients, loadgen build

    opts.clients, opts.outstanding, opts.threads = 8, 128, 1
    opts.rate, opts.no_edns, opts.tcp, opts.workers = 0, False, False, 1
    work = tempfile.mkdtemp(prefix="zfpolicies-")
    qfiles = {}
    for kind in KINDS:
        qfiles[kind] = os.path.join(work, f"{kind}.txt")
        query_file(qfiles[kind], kind, opts.names)
    loadgen = None if opts.dnsperf else run.build_loadgen(
        os.path.join(tempfile.gettempdir(), "zonefront-bench-cache"))
    env = dict(os.environ, PYTHONPATH=SRC)
    table = {}
    for config, kinds in (("plain", KINDS), ("with 50 private views", ["static"])):
        port = run.free_port(15470)
        argv = ["taskset", "-c", "1", sys.executable, os.path.abspath(__file__), "--host", str(port),
                "--names", str(opts.names)] + (["--views"] if config != "plain" else [])
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True)
        run._STARTED.append(proc)
        srv = run.Server.__new__(run.Server)
        srv.name, srv.port, srv.dir, srv.proc = "zonefront", port, work, proc
        try:
            if proc.stdout.readline().strip() != "ready":
                print("server did not start", file=sys.stderr)
                return 1
            for r in range(opts.rounds):
                for kind in kinds:
                    res = run.run_client(opts, srv, qfiles[kind], opts.seconds, loadgen, False, "0",
                                         f"{config}-{kind}{r}")
                    res["us_per_q"] = res["server_cpu_s"] * 1e6 / max(1, res["completed"])
                    table.setdefault((config, kind), []).append(res)
        finally:
            run.stop_proc(proc)
            if proc in run._STARTED:
                run._STARTED.remove(proc)
    base = table[("plain", "static")]
    bq = statistics.median(x["qps"] for x in base)
    bc = statistics.median(x["us_per_q"] for x in base)
    print(f"| configuration | names | QPS (median) | CPU us/q (median) | lost | QPS vs static | CPU vs static |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for (config, kind), rows in table.items():
        q = statistics.median(x["qps"] for x in rows)
        c = statistics.median(x["us_per_q"] for x in rows)
        print(f"| {config} | {kind} | {q:,.0f} | {c:.2f} | {sum(x['lost'] for x in rows)} | "
              f"{q / bq:.3f} | {c / bc:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
