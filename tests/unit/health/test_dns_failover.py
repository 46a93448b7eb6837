"""End to end: `zonefront serve --api`, health checks and failover record
sets made through boto3, real HTTP/HTTPS/TCP endpoints stopped and
restarted, and dnspython watching the answers switch within
RequestInterval x FailureThreshold + 1 s, and switch back."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import boto3
import dns.message
import dns.query
import pytest
from botocore.config import Config as BotoConfig
from helpers.health_targets import HttpTarget, TcpTarget
from helpers.procs import child_env, wait_insync, wait_ready

INTERVAL, THRESHOLD = 1, 2
BOUND = INTERVAL * THRESHOLD + 1.0


pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="module")
def served(tmp_path_factory, free_port):
    data = tmp_path_factory.mktemp("failover")
    dns_port, api_port = free_port(), free_port()
    env = child_env(ZONEFRONT_ACCESS_KEY_ID="AKIDHEALTH", ZONEFRONT_SECRET_ACCESS_KEY="s3cret")
    proc = subprocess.Popen(
        [sys.executable, "-m", "zonefront.cli", "serve", "--api", "--no-demo", "--workers", "2",
         "--dns-listen", f"127.0.0.1:{dns_port}", "--api-listen", f"127.0.0.1:{api_port}",
         "--data-dir", str(data)], stderr=subprocess.PIPE, text=True, env=env)
    try:
        wait_ready(proc)
        client = boto3.client(
            "route53", endpoint_url=f"http://127.0.0.1:{api_port}", region_name="us-east-1",
            aws_access_key_id="AKIDHEALTH", aws_secret_access_key="s3cret",
            # RequestInterval below 10 s is a zonefront extension botocore refuses
            config=BotoConfig(retries={"max_attempts": 1}, parameter_validation=False))
        yield client, dns_port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()


def answer(port: int, name: str) -> set[str]:
    m = dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1", port=port, timeout=2)
    return {r.address for rrset in m.answer for r in rrset}


def test_failover_follows_http_https_tcp_endpoints(served):
    client, port = served
    targets = {"http": HttpTarget(), "https": HttpTarget(tls=True), "tcp": TcpTarget()}
    try:
        zid = client.create_hosted_zone(Name="failover.test",
                                        CallerReference="failover-1")["HostedZone"]["Id"]
        changes = []
        for i, (kind, t) in enumerate(targets.items()):
            cfg = {"Type": {"http": "HTTP", "https": "HTTPS", "tcp": "TCP"}[kind],
                   "IPAddress": "127.0.0.1", "Port": t.port, "RequestInterval": INTERVAL,
                   "FailureThreshold": THRESHOLD}
            if kind == "https":
                cfg["FullyQualifiedDomainName"] = "target.test"
            hc = client.create_health_check(CallerReference=f"fo-{kind}",
                                            HealthCheckConfig=cfg)["HealthCheck"]["Id"]
            name = f"{kind}.failover.test"
            changes += [
                {"Action": "CREATE", "ResourceRecordSet": {
                    "Name": name, "Type": "A", "TTL": 5, "SetIdentifier": "primary",
                    "Failover": "PRIMARY", "HealthCheckId": hc,
                    "ResourceRecords": [{"Value": f"192.0.2.{i + 1}"}]}},
                {"Action": "CREATE", "ResourceRecordSet": {
                    "Name": name, "Type": "A", "TTL": 5, "SetIdentifier": "secondary",
                    "Failover": "SECONDARY",
                    "ResourceRecords": [{"Value": f"198.51.100.{i + 1}"}]}}]
        ch = client.change_resource_record_sets(HostedZoneId=zid,
                                                ChangeBatch={"Changes": changes})
        assert wait_insync(client, ch["ChangeInfo"]["Id"])
        primary = {f"{k}.failover.test": {f"192.0.2.{i + 1}"} for i, k in enumerate(targets)}
        secondary = {f"{k}.failover.test": {f"198.51.100.{i + 1}"}
                     for i, k in enumerate(targets)}
        time.sleep(BOUND)  # every checker location has probed
        assert {n: answer(port, n) for n in primary} == primary
        for flip, want in (("stop", secondary), ("restart", primary)):
            t0 = time.monotonic()
            for t in targets.values():
                getattr(t, flip)()
            seen: dict[str, float] = {}
            while len(seen) < len(want) and time.monotonic() - t0 < BOUND + 2:
                for n, addrs in want.items():
                    if n not in seen and answer(port, n) == addrs:
                        seen[n] = time.monotonic() - t0
                time.sleep(0.02)
            assert set(seen) == set(want), f"{flip}: switched {seen}, not all of {list(want)}"
            assert max(seen.values()) <= BOUND, f"{flip}: {seen} (bound {BOUND} s)"
    finally:
        for t in targets.values():
            t.stop()
