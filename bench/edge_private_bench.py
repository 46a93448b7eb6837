"""Edges with private zones: this tree's edge against another revision's, same run.

    PYTHONPATH=src python bench/edge_private_bench.py [--before-rev main]
        [--public 200000] [--private 50000] [--rounds 2]

An in-process control plane (serving.ServedZones compiling and patching as
`zonefront serve --api` does, its EdgeHub behind the API server) publishes
one public zone of --public A records and one private zone of --private A
records associated with a VPC whose network is 127.0.0.2/32.  For each
edge version, a `python -m zonefront.edge` process (the other revision's
Python modules, this tree's compiled extensions) is timed through:

1. first serve: start on an empty data directory -> a public name answers
   and a private name answers to 127.0.0.2 (the hub's documents are made
   before the clock starts, so both versions fetch cached ones);
2. public change: publish one record of the public zone -> the edge answers it
   (the clock includes the control plane's publish and the documents it
   makes on the edge's first request);
3. private change: one record of the private zone -> answered to 127.0.0.2;
4. restart from disk: SIGKILL, start again pointed at a closed port (no
   control plane) -> both names answer, private to 127.0.0.2.

Also the edge's RSS after the private change, and what it reports having
done (full copies, patches, compiles, views documents).  The other revision
is `git archive`d into a temporary directory; its compiled sources (.pyx,
.pxi, .pxd, csrc/) must equal this tree's, whose built .so files it borrows.
"""
from __future__ import annotations

import argparse
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "src"))
sys.path.insert(0, os.path.join(ROOT, "tests"))  # tests/helpers

import dns.message  # noqa: E402
import dns.query  # noqa: E402
from helpers.edge_cluster import EDGE_KEY, EDGE_SECRET, KEY, SECRET, Proc  # noqa: E402

INSIDE = "127.0.0.2"
VPCS = {"vpc-a": {"region": "us-east-1", "cidrs": [f"{INSIDE}/32"]}}


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def other_tree(rev: str, into: str) -> str:
    """`rev`'s src/ in `into`, with this tree's compiled extensions."""
    compiled = ["*.pyx", "*.pxi", "*.pxd", "csrc"]
    if subprocess.run(["git", "-C", ROOT, "diff", "--quiet", rev, "--", *compiled]).returncode:
        raise SystemExit(f"{rev}'s compiled sources differ from this tree's: build it apart")
    archive = subprocess.run(["git", "-C", ROOT, "archive", rev, "src"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", into], input=archive, check=True)
    src = os.path.join(ROOT, "src")
    for so in glob.glob(os.path.join(src, "zonefront", "**", "*.so"), recursive=True):
        shutil.copy2(so, os.path.join(into, "src", os.path.relpath(so, src)))
    return os.path.join(into, "src")


def zone(origin_text: str, n: int, zid: str, private: bool, first: int = 10):
    from zonefront import model

    origin = model.name_from_text(origin_text)
    z = model.Zone(origin=origin, source=f"/hostedzone/{zid}", private=private,
                   vpcs=[("us-east-1", "vpc-a")] if private else [])
    z.add(origin, model.TYPE_SOA, 300, model.name_from_text("ns1.example.net.")
          + model.name_from_text("h.example.net.") + (1).to_bytes(4, "big") + bytes(16))
    z.add(origin, model.TYPE_NS, 300, model.name_from_text("ns1.example.net."))
    RRset = model.RRset
    items = []
    for i in range(n):
        label = b"h%d" % i
        o = bytes([len(label)]) + label + origin
        items.append(((o, 1), RRset(o, 1, 300, [bytes([first, i >> 16 & 255, i >> 8 & 255,
                                                        i & 255])])))
    z.rrsets = model.RRsetMap(list(z.rrsets.items()) + items)
    return z


def with_record(z, label: str, addr: bytes):
    """A new Zone: `z` plus one A record (as the API's zone cache patches one)."""
    from zonefront import model

    owner = bytes([len(label)]) + label.encode() + z.origin
    rr = z.rrsets.with_owners({owner}, {(owner, 1): model.RRset(owner, 1, 60, [addr])})
    return model.Zone(origin=z.origin, source=z.source, private=z.private, vpcs=list(z.vpcs),
                      rrsets=rr, routed=z.routed), owner


class ControlPlane:
    """ServedZones + EdgeHub + the API server's edge endpoints, in process."""

    def __init__(self, zones):
        from zonefront.api.server import APIServer
        from zonefront.config import Config, EdgeSettings
        from zonefront.control.mounts import mount_table
        from zonefront.edge.hub import EdgeHub
        from zonefront.health.table import HealthTable
        from zonefront.serving import ServedZones, ZoneSource

        health = HealthTable()
        source = ZoneSource([], None)
        source.in_process, source.health = True, health
        source.vpcs = lambda: VPCS
        self.served = ServedZones(source)
        settings = EdgeSettings(credentials={EDGE_KEY: EDGE_SECRET})
        self.hub = EdgeHub(settings, health, vpcs=lambda: VPCS)
        self.hub.start()
        self.zones = list(zones)
        self.publish(None)
        port = free_port(socket.SOCK_STREAM)
        config = Config(api_listen=("127.0.0.1", port), credentials={KEY: SECRET},
                        edges=settings)
        self.server = APIServer(config, None, mount_table(config, None, self.hub),
                                edge_paths=self.hub.paths)
        self.server.start()
        self.url = f"http://127.0.0.1:{port}"

    def publish(self, changed) -> None:
        built = self.served.publish(self.zones, changed)
        self.hub.offer(self.zones, built.image, built.lineage, built.patch)

    def warm(self) -> None:
        """Every document an edge may ask for, made before any clock starts."""
        self.hub.snapshot_doc()
        self.hub.zones_doc()
        if hasattr(self.hub, "views_doc"):
            self.hub.views_doc()

    def change(self, i: int, label: str, addr: bytes) -> None:
        self.zones[i], owner = with_record(self.zones[i], label, addr)
        # the documents are made when the edge first asks, as in `serve --api`
        self.publish({self.zones[i].origin: {owner}})

    def stop(self) -> None:
        self.server.stop()
        self.hub.stop()


def addresses(port: int, qname: str, source: str = "127.0.0.1") -> set[str]:
    q = dns.message.make_query(qname, "A")
    try:
        m = dns.query.udp(q, "127.0.0.1", port=port, timeout=0.5, source=source)
    except Exception:  # a timeout: not answering yet
        return {"<timeout>"}
    return {r.to_text() for rrset in m.answer for r in rrset}


def until(pred, timeout: float = 900.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.005)


def start(tree: str, url: str, port: int, data: str) -> Proc:
    os.makedirs(data, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=tree, PYTHONWARNINGS="ignore")
    return Proc([sys.executable, "-m", "zonefront.edge", "--control-plane", url,
                 "--dns-listen", f"127.0.0.1:{port}", "--workers", "1", "--data-dir", data,
                 "--edge-id", f"bench{port}", "--access-key-id", EDGE_KEY,
                 "--secret-access-key", EDGE_SECRET, "--poll-wait", "5", "--geoip", "none"],
                os.path.join(data, "edge.log"), env)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run_edge(tree: str, cp: ControlPlane, root: str, tag: str, step: int) -> dict:
    pub, priv = "h7.pub.bench.", "h7.priv.bench."
    port = free_port()
    data = os.path.join(root, f"{tag}-{step}")
    out = {}
    cp.warm()
    t = time.perf_counter()
    e = start(tree, cp.url, port, data)
    try:
        until(lambda: addresses(port, pub) == {"10.0.0.7"}
              and addresses(port, priv, INSIDE) == {"11.0.0.7"})
        out["first serve"] = time.perf_counter() - t
        t = time.perf_counter()
        cp.change(0, f"p{step}", bytes([192, 0, 2, step]))
        until(lambda: addresses(port, f"p{step}.pub.bench.") == {f"192.0.2.{step}"})
        out["public change"] = time.perf_counter() - t
        t = time.perf_counter()
        cp.change(1, f"q{step}", bytes([198, 51, 100, step]))
        until(lambda: addresses(port, f"q{step}.priv.bench.", INSIDE) == {f"198.51.100.{step}"})
        out["private change"] = time.perf_counter() - t
        out["rss MB"] = rss_mb(e.p.pid)
        time.sleep(1.5)  # a heartbeat after the last change, and the disk copy written
        out["reported"] = dict(cp.hub.edges[f"bench{port}"].updates)
    finally:
        e.signal(signal.SIGKILL)
        e.p.wait(10)
        e.stop()
    dead = f"http://127.0.0.1:{free_port(socket.SOCK_STREAM)}"  # nothing listens there
    t = time.perf_counter()
    e = start(tree, dead, port, data)
    try:
        until(lambda: addresses(port, f"p{step}.pub.bench.") == {f"192.0.2.{step}"}
              and addresses(port, f"q{step}.priv.bench.", INSIDE) == {f"198.51.100.{step}"})
        out["restart from disk"] = time.perf_counter() - t
    finally:
        e.stop()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before-rev", default="main")
    ap.add_argument("--public", type=int, default=200_000)
    ap.add_argument("--private", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="zonefront-edge-private-bench-")
    cp = None
    try:
        trees = {args.before_rev: other_tree(args.before_rev, root),
                 "this tree": os.path.join(ROOT, "src")}
        t = time.perf_counter()
        cp = ControlPlane([zone("pub.bench.", args.public, "PUB", False, 10),
                           zone("priv.bench.", args.private, "PRIV", True, 11)])
        print(f"machine: {os.cpu_count()} cpus, python {sys.version.split()[0]}; "
              f"load {os.getloadavg()[0]:.2f}; public {args.public} + private "
              f"{args.private} records; control plane up in {time.perf_counter() - t:.1f} s")
        rows = []
        step = 1
        for r in range(args.rounds):
            for tag, tree in trees.items():
                res = run_edge(tree, cp, root, tag.replace(" ", "-"), step)
                step += 1
                rows.append((tag, r, res))
                print(f"round {r} {tag:<10} " + "  ".join(
                    f"{k} {v:.3f}s" if isinstance(v, float) and k != "rss MB" else f"{k} {v}"
                    for k, v in res.items()) + f"  (load {os.getloadavg()[0]:.2f})", flush=True)
        keys = ("first serve", "public change", "private change", "restart from disk")
        print(f"\n{'seconds (best of rounds)':<26}" + "".join(f"{t:>14}" for t in trees)
              + f"{'ratio':>10}")
        for k in keys:
            best = {t: min(res[k] for tag, _r, res in rows if tag == t) for t in trees}
            a, b = best[args.before_rev], best["this tree"]
            print(f"{k:<26}{a:>14.3f}{b:>14.3f}{a / b:>9.1f}x")
        rss = {t: min(res["rss MB"] for tag, _r, res in rows if tag == t) for t in trees}
        print(f"{'edge RSS MB':<26}" + "".join(f"{rss[t]:>14.0f}" for t in trees))
    finally:
        if cp is not None:
            cp.stop()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
