"""Real `zonefront serve --api --config pg.toml` processes on one PostgreSQL
database: concurrent change batches on one zone from two processes are all
applied, one after the other, none lost or half-applied; both processes'
DNS ports serve the final state; a change answered 200 survives kill -9."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import boto3
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from helpers.ports import free_port
from helpers.procs import child_env, wait_ready

AKID, SECRET = "AKIDPGTEST", "pg-test-secret"


class Serve:
    """One `zonefront serve --api` process on the shared database."""

    def __init__(self, tmp, dsn: str, name: str):
        self.dns_port, self.api_port = free_port(), free_port()
        self.config = os.path.join(tmp, f"{name}.toml")
        with open(self.config, "w") as f:
            f.write(f'[api]\nlisten = "127.0.0.1:{self.api_port}"\n'
                    f'access_key_id = "{AKID}"\nsecret_access_key = "{SECRET}"\n'
                    f'[store]\nbackend = "postgresql"\ndsn = "{dsn}"\n'
                    f'data_dir = "{os.path.join(tmp, name)}"\n'
                    '[zones]\nnameservers = ["ns1.example.net.", "ns2.example.net."]\n'
                    '[health]\nenabled = false\n')
        self.proc: subprocess.Popen | None = None
        self.log = os.path.join(tmp, f"{name}.log")

    def start(self) -> "Serve":
        env = child_env()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "zonefront.cli", "serve", "--api", "--no-demo",
             "--workers", "2", "--config", self.config,
             "--dns-listen", f"127.0.0.1:{self.dns_port}"],
            stderr=subprocess.PIPE, text=True, env=env)
        wait_ready(self.proc)
        # keep draining stderr so the process never blocks on a full pipe
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self) -> None:
        with open(self.log, "a") as f:
            for line in self.proc.stderr:
                f.write(line)

    def client(self):
        return boto3.client(
            "route53", endpoint_url=f"http://127.0.0.1:{self.api_port}",
            region_name="us-east-1", aws_access_key_id=AKID, aws_secret_access_key=SECRET,
            config=BotoConfig(retries={"max_attempts": 1}, max_pool_connections=20))

    def ask(self, name: str, rdtype: str = "A"):
        q = dns.message.make_query(name, rdtype)
        return dns.query.udp(q, "127.0.0.1", port=self.dns_port, timeout=2)

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture()
def two(tmp_path, fresh_dsn):
    a = Serve(str(tmp_path), fresh_dsn, "a")
    b = Serve(str(tmp_path), fresh_dsn, "b")
    try:
        a.start()
        b.start()
        yield a, b
    finally:
        a.stop()
        b.stop()


def wait_for(pred, timeout=10.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return False


def rr(name, rtype, values, ttl=60):
    return {"Name": name, "Type": rtype, "TTL": ttl,
            "ResourceRecords": [{"Value": v} for v in values]}


def all_rrsets(client, zid) -> list[dict]:
    out, kw = [], {}
    while True:
        r = client.list_resource_record_sets(HostedZoneId=zid, **kw)
        out += r["ResourceRecordSets"]
        if not r["IsTruncated"]:
            return out
        kw = {"StartRecordName": r["NextRecordName"], "StartRecordType": r["NextRecordType"]}


def soa_serial(server: Serve, zone: str) -> int:
    m = server.ask(zone, "SOA")
    return m.answer[0][0].serial


def test_zone_made_by_one_process_is_served_by_the_other(two):
    a, b = two
    ca, cb = a.client(), b.client()
    z = ca.create_hosted_zone(Name="shared.test", CallerReference="shared-1")
    zid = z["HostedZone"]["Id"]
    assert cb.get_hosted_zone(Id=zid)["HostedZone"]["Name"] == "shared.test."
    r = cb.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": rr("www.shared.test", "A", ["192.0.2.7"])}]})
    assert wait_for(lambda: cb.get_change(Id=r["ChangeInfo"]["Id"])["ChangeInfo"]["Status"]
                    == "INSYNC")
    for s in (a, b):  # b committed; a learns it from the database (NOTIFY / version poll)
        assert wait_for(lambda: s.ask("www.shared.test").rcode() == dns.rcode.NOERROR and
                        s.ask("www.shared.test").answer), f"port {s.dns_port} never served it"
        assert s.ask("www.shared.test").answer[0][0].address == "192.0.2.7"
    # the same CallerReference through the other process is the same request
    with pytest.raises(ClientError) as e:
        cb.create_hosted_zone(Name="shared.test", CallerReference="shared-1")
    assert e.value.response["Error"]["Code"] == "HostedZoneAlreadyExists"


def test_concurrent_batches_on_one_zone_from_two_processes(two):
    a, b = two
    ca = a.client()
    zid = ca.create_hosted_zone(Name="race.test", CallerReference="race-1")["HostedZone"]["Id"]
    start_serial = soa_serial_eventually(a, "race.test")
    threads_per_process, batches = 4, 15
    applied: list[str] = []
    conflicts: list[str] = []
    errors: list[BaseException] = []
    mu = threading.Lock()

    def worker(server: Serve, tag: str) -> None:
        client = server.client()
        try:
            for i in range(batches):
                name = f"r-{tag}-{i}.race.test"
                # one new name, and an UPSERT of the record set every batch rewrites
                client.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [
                    {"Action": "CREATE", "ResourceRecordSet": rr(name, "A", ["192.0.2.1"])},
                    {"Action": "UPSERT", "ResourceRecordSet":
                        rr("last.race.test", "TXT", [f'"{tag}-{i}"'])}]})
                with mu:
                    applied.append(name)
                # both processes race to CREATE the same name: exactly one may win
                try:
                    client.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={
                        "Changes": [{"Action": "CREATE", "ResourceRecordSet":
                                     rr(f"dup-{i}.race.test", "A", [f"198.51.100.{i}"])}]})
                    with mu:
                        applied.append(f"dup-{i}.race.test")
                except ClientError as e:
                    assert e.response["Error"]["Code"] == "InvalidChangeBatch", e.response
                    with mu:
                        conflicts.append(f"dup-{i}")
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(s, f"{n}{t}"))
               for n, s in (("a", a), ("b", b)) for t in range(threads_per_process)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    total = 2 * threads_per_process
    dups = sorted(x for x in applied if x.startswith("dup-"))
    assert dups == sorted(set(dups)), "a name was CREATEd twice"
    assert len(dups) == batches and len(conflicts) == (total - 1) * batches

    names = {r["Name"] for r in all_rrsets(ca, zid)}
    want = {n + "." for n in applied}
    assert want <= names, f"lost: {sorted(want - names)[:5]}"
    # SOA, NS, last TXT, the unique names and one per dup
    assert len(all_rrsets(ca, zid)) == 3 + total * batches + batches
    committed = total * batches + batches  # batches that answered 200
    # every committed batch raised the serial by one: none was lost or merged
    for s in (a, b):
        assert wait_for(lambda: soa_serial(s, "race.test") == start_serial + committed,
                        timeout=15), (s.dns_port, soa_serial(s, "race.test"))
        for n in sorted(applied):
            m = s.ask(n)
            assert m.rcode() == dns.rcode.NOERROR and m.answer, (s.dns_port, n)


def soa_serial_eventually(server: Serve, zone: str) -> int:
    assert wait_for(lambda: server.ask(zone, "SOA").answer)
    return soa_serial(server, zone)


def test_a_failing_batch_changes_nothing_in_either_process(two):
    a, b = two
    ca, cb = a.client(), b.client()
    zid = ca.create_hosted_zone(Name="atomic.test", CallerReference="atomic-1")["HostedZone"]["Id"]
    before = all_rrsets(cb, zid)
    with pytest.raises(ClientError) as e:
        cb.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [
            {"Action": "CREATE", "ResourceRecordSet": rr("ok.atomic.test", "A", ["192.0.2.1"])},
            {"Action": "DELETE", "ResourceRecordSet": rr("missing.atomic.test", "A",
                                                         ["192.0.2.2"])}]})
    assert e.value.response["Error"]["Code"] == "InvalidChangeBatch"
    assert all_rrsets(ca, zid) == before
    assert a.ask("ok.atomic.test").rcode() == dns.rcode.NXDOMAIN


def test_answered_change_survives_kill_9(tmp_path, fresh_dsn):
    s = Serve(str(tmp_path), fresh_dsn, "k").start()
    try:
        c = s.client()
        zid = c.create_hosted_zone(Name="durable.test",
                                   CallerReference="durable-1")["HostedZone"]["Id"]
        ids = []
        for i in range(20):
            r = c.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [
                {"Action": "CREATE", "ResourceRecordSet":
                    rr(f"n{i}.durable.test", "A", [f"192.0.2.{i + 1}"])}]})
            ids.append(r["ChangeInfo"]["Id"])
        s.proc.send_signal(signal.SIGKILL)  # right after the last 200
        s.proc.wait(10)
    finally:
        s.stop()
    s2 = Serve(str(tmp_path), fresh_dsn, "k2").start()
    try:
        c = s2.client()
        names = {r["Name"] for r in all_rrsets(c, zid)}
        assert {f"n{i}.durable.test." for i in range(20)} <= names
        for cid in ids:
            assert c.get_change(Id=cid)["ChangeInfo"]["Id"] == cid
        assert wait_for(lambda: s2.ask("n19.durable.test").answer)
        assert s2.ask("n19.durable.test").answer[0][0].address == "192.0.2.20"
    finally:
        s2.stop()
