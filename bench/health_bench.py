"""Health checker benchmarks.

  python bench/health_bench.py lag   [--checks 1000 --interval 10 --rounds 3]
      N checks at the given interval from one process (the default three
      in-process locations, so 3 x N probes per interval) against local
      targets: mostly HTTP, some TCP, some hung endpoints (accept, never
      answer).  Reports the schedule lag (probe start - due time), probes
      done vs. due, skipped rounds, threads, sockets in flight, CPU.

  python bench/health_bench.py flip  [--trials 20 --interval 1 --threshold 2]
      Time from a target going down (listener closed) to the health table
      changing, over several trials (p50/p99), and back up.

  python bench/health_bench.py dns   [--trials 10 --interval 1 --threshold 2]
      The same, end to end: `zonefront serve --api`, a failover pair made
      through boto3, dnspython polling until the answer changes.

Every address is 127.0.0.1.
"""
from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

from zonefront.config import HealthSettings  # noqa: E402
from zonefront.health.manager import HealthManager  # noqa: E402
from zonefront.health.spec import CheckSpec  # noqa: E402
from zonefront.health.table import HealthTable  # noqa: E402

TARGET_SERVER = r"""
import asyncio, sys
RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
async def handle(r, w):
    try:
        await r.readuntil(b"\r\n\r\n")
        w.write(RESP)
        await w.drain()
    except Exception:
        pass
    w.close()
async def main():
    s = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    print(s.sockets[0].getsockname()[1], flush=True)
    await s.serve_forever()
asyncio.run(main())
"""


def pct(values: list[float], p: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(p * len(v)))] if v else float("nan")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def bench_lag(args) -> None:
    http_srv = subprocess.Popen([sys.executable, "-c", TARGET_SERVER], stdout=subprocess.PIPE,
                                text=True)
    http_port = int(http_srv.stdout.readline())
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(4096)
    tcp_port = tcp.getsockname()[1]
    threading.Thread(target=lambda: [c.close() for c, _ in iter(tcp.accept, None)],
                     daemon=True).start()
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(4096)  # never accepted: the kernel completes the handshake, nobody answers
    hung_port = hung.getsockname()[1]

    settings = HealthSettings(threads=args.threads, max_sockets=args.max_sockets)
    m = HealthManager(settings, HealthTable())
    n_hung = int(args.checks * args.hung)
    n_tcp = int(args.checks * 0.05)
    for i in range(args.checks):
        if i < n_hung:
            spec = CheckSpec(id=f"c{i}", type="HTTP", ip="127.0.0.1", port=hung_port,
                             interval=args.interval)
        elif i < n_hung + n_tcp:
            spec = CheckSpec(id=f"c{i}", type="TCP", ip="127.0.0.1", port=tcp_port,
                             interval=args.interval)
        else:
            spec = CheckSpec(id=f"c{i}", type="HTTP", ip="127.0.0.1", port=http_port,
                             path=f"/c{i}", interval=args.interval)
        m.put(spec)
    threads_before = threading.active_count()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    m.start()
    fds = []
    duration = args.interval * args.rounds
    while time.monotonic() - t0 < duration:
        time.sleep(0.5)
        fds.append(open_fds())
    elapsed = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    s = m.stats()
    threads = threading.active_count() - threads_before
    m.stop()
    http_srv.kill()
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    due = args.checks * len(settings.locations) * elapsed / args.interval
    unhealthy = sum(1 for i in range(args.checks) if not m.table.get(f"c{i}"))
    print(f"checks={args.checks} interval={args.interval}s locations={len(settings.locations)} "
          f"({args.checks * len(settings.locations)} pairs) hung={n_hung} tcp={n_tcp} "
          f"threads={args.threads} max_sockets={args.max_sockets}")
    print(f"ran {elapsed:.1f}s: probes done {s['probes']} (~{due:.0f} due, "
          f"{s['probes'] / elapsed:.0f}/s), skipped rounds {s['skipped']}")
    print(f"schedule lag: p50 {s['lag_p50'] * 1000:.2f} ms, p99 {s['lag_p99'] * 1000:.2f} ms, "
          f"max {s['lag_max'] * 1000:.2f} ms over {s['lag_samples']} probes")
    print(f"probes in flight max {s['max_inflight']}; open fds max {max(fds)}; "
          f"checker threads {threads}; CPU {cpu:.1f}s ({100 * cpu / elapsed:.0f}% of a core)")
    print(f"unhealthy at the end: {unhealthy} of {n_hung} hung targets (each needs "
          f"FailureThreshold=3 failed rounds from every location)")


def bench_flip(args) -> None:
    from targets import TcpTarget

    m = HealthManager(HealthSettings(), HealthTable())
    m.start()
    down, up = [], []
    try:
        for trial in range(args.trials):
            t = TcpTarget()
            cid = f"f{trial}"
            m.put(CheckSpec(id=cid, type="TCP", ip="127.0.0.1", port=t.port,
                            interval=args.interval, threshold=args.threshold))
            time.sleep(args.interval * 1.2)
            for state, out, flip in ((False, down, t.stop), (True, up, t.restart)):
                t0 = time.monotonic()
                flip()
                while m.table.get(cid) is not state:
                    time.sleep(0.002)
                out.append(time.monotonic() - t0)
            m.remove(cid)
            t.stop()
    finally:
        m.stop()
    bound = args.interval * args.threshold
    print(f"target down -> health table (interval {args.interval}s, threshold "
          f"{args.threshold}, 3 locations, {args.trials} trials): p50 {pct(down, .5):.2f}s "
          f"p99 {pct(down, .99):.2f}s max {max(down):.2f}s (bound {bound}s + 1s)")
    print(f"target up -> health table: p50 {pct(up, .5):.2f}s p99 {pct(up, .99):.2f}s "
          f"max {max(up):.2f}s")


def bench_dns(args) -> None:
    import boto3
    import dns.message
    import dns.query
    from botocore.config import Config as BotoConfig
    from targets import TcpTarget

    def free(kind):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    import tempfile

    data = tempfile.mkdtemp(prefix="zf-health-bench-")
    dns_port, api_port = free(socket.SOCK_DGRAM), free(socket.SOCK_STREAM)
    env = dict(os.environ, ZONEFRONT_ACCESS_KEY_ID="AKIDBENCH", ZONEFRONT_SECRET_ACCESS_KEY="x",
               PYTHONPATH=os.path.join(HERE, "..", "src"))
    proc = subprocess.Popen([sys.executable, "-m", "zonefront.cli", "serve", "--api",
                             "--no-demo", "--dns-listen", f"127.0.0.1:{dns_port}",
                             "--api-listen", f"127.0.0.1:{api_port}", "--data-dir", data],
                            stderr=subprocess.PIPE, text=True, env=env)
    while not proc.stderr.readline().startswith("ready:"):
        pass
    c = boto3.client("route53", endpoint_url=f"http://127.0.0.1:{api_port}",
                     region_name="us-east-1", aws_access_key_id="AKIDBENCH",
                     aws_secret_access_key="x",
                     config=BotoConfig(retries={"max_attempts": 1}, parameter_validation=False))

    def answer(name):
        m = dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1", port=dns_port,
                          timeout=2)
        return {r.address for rr in m.answer for r in rr}

    down, up = [], []
    try:
        zid = c.create_hosted_zone(Name="bench.test", CallerReference="b")["HostedZone"]["Id"]
        for trial in range(args.trials):
            t = TcpTarget()
            hc = c.create_health_check(CallerReference=f"b{trial}", HealthCheckConfig={
                "Type": "TCP", "IPAddress": "127.0.0.1", "Port": t.port,
                "RequestInterval": args.interval, "FailureThreshold": args.threshold})[
                "HealthCheck"]["Id"]
            name = f"t{trial}.bench.test"
            ch = c.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [
                {"Action": "CREATE", "ResourceRecordSet": {
                    "Name": name, "Type": "A", "TTL": 5, "SetIdentifier": "p",
                    "Failover": "PRIMARY", "HealthCheckId": hc,
                    "ResourceRecords": [{"Value": "192.0.2.1"}]}},
                {"Action": "CREATE", "ResourceRecordSet": {
                    "Name": name, "Type": "A", "TTL": 5, "SetIdentifier": "s",
                    "Failover": "SECONDARY", "ResourceRecords": [{"Value": "192.0.2.2"}]}}]})
            while c.get_change(Id=ch["ChangeInfo"]["Id"])["ChangeInfo"]["Status"] != "INSYNC":
                time.sleep(0.02)
            time.sleep(args.interval * 1.2)
            assert answer(name) == {"192.0.2.1"}
            for want, out, flip in (({"192.0.2.2"}, down, t.stop),
                                    ({"192.0.2.1"}, up, t.restart)):
                t0 = time.monotonic()
                flip()
                while answer(name) != want:
                    time.sleep(0.005)
                out.append(time.monotonic() - t0)
            t.stop()
    finally:
        proc.terminate()
        proc.wait(10)
    print(f"target down -> DNS answer (interval {args.interval}s, threshold {args.threshold}, "
          f"{args.trials} trials): p50 {pct(down, .5):.2f}s p99 {pct(down, .99):.2f}s "
          f"max {max(down):.2f}s")
    print(f"target up -> DNS answer: p50 {pct(up, .5):.2f}s p99 {pct(up, .99):.2f}s "
          f"max {max(up):.2f}s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=["lag", "flip", "dns"])
    p.add_argument("--checks", type=int, default=1000)
    p.add_argument("--interval", type=int, default=None)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-sockets", type=int, default=512)
    p.add_argument("--hung", type=float, default=0.05, help="share of hung targets")
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--threshold", type=int, default=2)
    args = p.parse_args()
    if args.interval is None:
        args.interval = 10 if args.what == "lag" else 1
    {"lag": bench_lag, "flip": bench_flip, "dns": bench_dns}[args.what](args)


if __name__ == "__main__":
    main()
