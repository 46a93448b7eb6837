"""A real `zonefront serve --api` process for the end-to-end routing and
private-zone tests, driven as a user drives it: boto3 against the API port,
dnspython against the DNS port from chosen 127.0.0.0/8 source addresses."""
from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import boto3
import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
from botocore.config import Config as BotoConfig
from helpers.ports import free_port  # noqa: F401 (the tests take it from here)
from helpers.procs import child_env

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import make_test_mmdb

AKID, SECRET = "AKIDE2EROUTING", "e2e-s3cret"
READY_TIMEOUT = 30.0


def write_mmdb(path: str) -> str:
    """tools/make_test_mmdb.py's database (its NETWORKS are the ground truth)."""
    make_test_mmdb.write(path)
    return path


@dataclass
class Served:
    proc: subprocess.Popen
    dns_port: int
    api_port: int
    client: object  # boto3 route53
    stderr: list[str] = field(default_factory=list)

    # -- DNS ------------------------------------------------------------------

    def query(self, qname: str, rdtype="A", *, source: str = "127.0.0.1", tcp: bool = False,
              ecs: str | None = None, want_dnssec: bool = False, payload: int = 1232,
              edns: bool | None = None, qid: int | None = None) -> dns.message.Message:
        """One query to the server from `source`; ecs is "a.b.c.d/len"."""
        options = []
        if ecs is not None:
            addr, _, plen = ecs.partition("/")
            options.append(dns.edns.ECSOption(addr, int(plen or 32)))
        use_edns = edns if edns is not None else bool(options or want_dnssec or payload != 1232)
        q = dns.message.make_query(qname, rdtype, use_edns=0 if use_edns else None,
                                   payload=payload, options=options or None,
                                   want_dnssec=want_dnssec)
        if qid is not None:
            q.id = qid
        if tcp:
            return dns.query.tcp(q, "127.0.0.1", port=self.dns_port, timeout=3, source=source)
        return dns.query.udp(q, "127.0.0.1", port=self.dns_port, timeout=3, source=source,
                             ignore_trailing=False)

    def addresses(self, qname: str, rdtype="A", **kw) -> list[str]:
        """The answer's A/AAAA/TXT values for qname (CNAME chain skipped)."""
        m = self.query(qname, rdtype, **kw)
        assert m.rcode() == dns.rcode.NOERROR, (qname, kw, dns.rcode.to_text(m.rcode()))
        want = dns.rdatatype.from_text(rdtype) if isinstance(rdtype, str) else rdtype
        return sorted(r.to_text() for rrset in m.answer if rrset.rdtype == want for r in rrset)

    def one(self, qname: str, rdtype="A", **kw) -> str:
        got = self.addresses(qname, rdtype, **kw)
        assert len(got) == 1, (qname, kw, got)
        return got[0]

    # -- API ------------------------------------------------------------------

    def wait_insync(self, change_id: str, timeout: float = 5.0) -> float:
        """Seconds until GetChange said INSYNC; fails after `timeout`."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.client.get_change(Id=change_id)["ChangeInfo"]["Status"] == "INSYNC":
                return time.monotonic() - t0
            time.sleep(0.02)
        raise AssertionError(f"change {change_id} not INSYNC within {timeout} s")

    def create_zone(self, name: str, vpc: tuple[str, str] | None = None) -> str:
        kw: dict = {"Name": name, "CallerReference": f"{name}-{time.monotonic_ns()}"}
        if vpc is not None:
            kw["VPC"] = {"VPCRegion": vpc[0], "VPCId": vpc[1]}
            kw["HostedZoneConfig"] = {"PrivateZone": True, "Comment": "e2e"}
        r = self.client.create_hosted_zone(**kw)
        self.wait_insync(r["ChangeInfo"]["Id"])
        return r["HostedZone"]["Id"].rsplit("/", 1)[-1]

    def change(self, zone_id: str, *changes, action: str = "CREATE",
               timeout: float = 5.0) -> float:
        """Apply rrsets (dicts, or (action, dict) pairs) and wait for INSYNC."""
        batch = [{"Action": c[0], "ResourceRecordSet": c[1]} if isinstance(c, tuple)
                 else {"Action": action, "ResourceRecordSet": c} for c in changes]
        r = self.client.change_resource_record_sets(HostedZoneId=zone_id,
                                                    ChangeBatch={"Changes": batch})
        return self.wait_insync(r["ChangeInfo"]["Id"], timeout)

    def health_check(self, ref: str) -> str:
        """A check that nobody probes ([health] enabled = false): healthy
        until its zonefront:state tag says otherwise."""
        r = self.client.create_health_check(CallerReference=f"{ref}-{time.monotonic_ns()}",
                                            HealthCheckConfig={
                                                "Type": "TCP", "IPAddress": "127.0.0.1",
                                                "Port": 9, "RequestInterval": 10,
                                                "FailureThreshold": 1})
        return r["HealthCheck"]["Id"]

    def force_health(self, check_id: str, healthy: bool) -> None:
        self.client.change_tags_for_resource(
            ResourceType="healthcheck", ResourceId=check_id,
            AddTags=[{"Key": "zonefront:state", "Value": "healthy" if healthy else "unhealthy"}])


def rrset(name: str, values, rdtype: str = "A", ttl: int = 60, **extra) -> dict:
    out = {"Name": name, "Type": rdtype, **extra}
    if "AliasTarget" not in extra:
        out["TTL"] = ttl
        out["ResourceRecords"] = [{"Value": v} for v in ([values] if isinstance(values, str)
                                                         else values)]
    return out


def alias(name: str, zone_id: str, target: str, evaluate: bool = False, rdtype: str = "A",
          **extra) -> dict:
    return {"Name": name, "Type": rdtype, **extra,
            "AliasTarget": {"HostedZoneId": zone_id, "DNSName": target,
                            "EvaluateTargetHealth": evaluate}}


def wait_for(pred, timeout: float = 1.0, step: float = 0.01):
    """Poll pred until it returns a true value; that value, or None on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def ecs_of(m: dns.message.Message):
    """The ECS option of a response, or None."""
    for opt in m.options:
        if isinstance(opt, dns.edns.ECSOption):
            return opt
    return None


def start(tmp_dir, config_toml: str = "", geoip: str | None = None,
          extra_args: tuple[str, ...] = (), health_toml: str = "enabled = false\n",
          workers: int = 2, prepare=None) -> Served:
    """Start the product; the caller stops it with stop().  prepare(data dir,
    config path, env) runs first (e.g. `zonefront zone import`, `key create`)."""
    data = os.path.join(str(tmp_dir), "data")
    os.makedirs(data, exist_ok=True)
    cfg = os.path.join(str(tmp_dir), "zonefront.toml")
    with open(cfg, "w") as f:
        # nobody probes: health checks follow their zonefront:state tag only
        f.write("[health]\n" + health_toml + "\n" + config_toml)
    dns_port, api_port = free_port(), free_port()
    env = child_env(ZONEFRONT_ACCESS_KEY_ID=AKID, ZONEFRONT_SECRET_ACCESS_KEY=SECRET)
    if prepare is not None:
        prepare(data, cfg, env)
    argv = [sys.executable, "-m", "zonefront.cli", "serve", "--api", "--no-demo",
            "--workers", str(workers), "--dns-listen", f"127.0.0.1:{dns_port}",
            "--api-listen", f"127.0.0.1:{api_port}", "--data-dir", data, "--config", cfg]
    if geoip:
        argv += ["--geoip", geoip]
    argv += list(extra_args)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, errors="replace", env=env)
    lines: list[str] = []
    ready = threading.Event()

    def drain():
        for line in proc.stderr:
            lines.append(line)
            if line.startswith("ready:"):
                ready.set()

    threading.Thread(target=drain, daemon=True).start()
    if not ready.wait(READY_TIMEOUT):
        proc.kill()
        proc.wait()
        raise AssertionError("server did not start:\n" + "".join(lines[-30:]))
    client = boto3.client(
        "route53", endpoint_url=f"http://127.0.0.1:{api_port}", region_name="us-east-1",
        aws_access_key_id=AKID, aws_secret_access_key=SECRET,
        config=BotoConfig(retries={"max_attempts": 1}))
    return Served(proc, dns_port, api_port, client, lines)


def stop(served: Served) -> None:
    """SIGTERM must end the server cleanly (exit 0); kill by PID regardless."""
    proc = served.proc
    try:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        rc = proc.wait(10)
        assert rc == 0, f"zonefront exited {rc}:\n" + "".join(served.stderr[-30:])
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def net_of(text: str):
    return ipaddress.ip_network(text, strict=False)
