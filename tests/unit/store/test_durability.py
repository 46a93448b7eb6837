"""kill -9 durability: a change that answered 200 is there after restart, and
restart publishes exactly the committed state."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import boto3
import botocore.config

AKID, SECRET = "AKIDDURABLE", "durable-secret"

# the control plane in its own process; publish() writes what it got to a file
ENTRY = r"""
import json, sys, time, signal
from zonefront.config import Config
from zonefront.control import ControlPlane
from zonefront import model, rdata
data_dir, addr_file, pub_file = sys.argv[1:4]
def publish(zones):
    out = {}
    for z in zones:
        out[z.source] = sorted([model.name_to_text(o), rdata.rrtype_to_text(t), r.ttl,
                                sorted(rdata.to_text(t, w) for w in r.rdatas)]
                               for (o, t), r in z.rrsets.items())
    with open(pub_file + ".tmp", "w") as f:
        json.dump(out, f)
    import os; os.replace(pub_file + ".tmp", pub_file)
cfg = Config(api_listen=("127.0.0.1", 0), data_dir=data_dir,
             credentials={"AKIDDURABLE": "durable-secret"})
cp = ControlPlane(cfg, publish)
cp.start()
with open(addr_file, "w") as f:
    f.write("%s:%d" % cp.api_address)
signal.sigwait([signal.SIGTERM])
cp.stop()
"""


def spawn(tmp_path):
    addr = tmp_path / "addr"
    if addr.exists():
        addr.unlink()
    pub = tmp_path / "published.json"
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(__import__("zonefront").__file__)))
    p = subprocess.Popen([sys.executable, "-c", ENTRY, str(tmp_path / "data"), str(addr),
                          str(pub)], env=env)
    deadline = time.monotonic() + 20
    while not addr.exists() or not addr.read_text():
        assert p.poll() is None, "control plane exited"
        assert time.monotonic() < deadline, "control plane did not start"
        time.sleep(0.05)
    host, port = addr.read_text().rsplit(":", 1)
    client = boto3.client("route53", endpoint_url=f"http://{host}:{port}",
                          region_name="us-east-1", aws_access_key_id=AKID,
                          aws_secret_access_key=SECRET,
                          config=botocore.config.Config(retries={"max_attempts": 1}))
    return p, client, pub


def a_change(name, value):
    return {"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
        "Name": name, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": value}]}}]}


def test_kill_9_keeps_every_acknowledged_change(tmp_path):
    p, c, pub = spawn(tmp_path)
    try:
        zid = c.create_hosted_zone(Name="durable.example", CallerReference="d1")["HostedZone"]["Id"]
        acked = []
        for i in range(30):
            c.change_resource_record_sets(HostedZoneId=zid, ChangeBatch=a_change(
                f"h{i}.durable.example", f"192.0.2.{i}"))
            acked.append(i)
        last = c.change_resource_record_sets(HostedZoneId=zid, ChangeBatch=a_change(
            "last.durable.example", "198.51.100.1"))["ChangeInfo"]["Id"]
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    p, c, pub = spawn(tmp_path)
    try:
        names = {r["Name"] for pg in c.get_paginator("list_resource_record_sets").paginate(
            HostedZoneId=zid) for r in pg["ResourceRecordSets"]}
        assert {f"h{i}.durable.example." for i in acked} <= names
        assert "last.durable.example." in names
        # restart published exactly the committed state, and the change is INSYNC
        assert c.get_change(Id=last)["ChangeInfo"]["Status"] == "INSYNC"
        served = json.loads(pub.read_text())[zid]
        assert ["last.durable.example.", "A", 60, ["198.51.100.1"]] in served
        assert len([r for r in served if r[1] == "A"]) == 31
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)


def test_kill_9_under_concurrent_writes_leaves_whole_batches(tmp_path):
    """Kill while batches are in flight: every batch is all there or not at all."""
    import threading
    p, c, pub = spawn(tmp_path)
    zid = c.create_hosted_zone(Name="torn.example", CallerReference="t1")["HostedZone"]["Id"]
    acked: list[int] = []
    stop = threading.Event()

    def writer(base):
        cl = boto3.client("route53", endpoint_url=c.meta.endpoint_url, region_name="us-east-1",
                          aws_access_key_id=AKID, aws_secret_access_key=SECRET,
                          config=botocore.config.Config(retries={"max_attempts": 1}))
        i = base
        while not stop.is_set():
            batch = {"Changes": [{"Action": "CREATE", "ResourceRecordSet": {
                "Name": f"b{i}-{k}.torn.example", "Type": "A", "TTL": 60,
                "ResourceRecords": [{"Value": "192.0.2.1"}]}} for k in range(20)]}
            try:
                cl.change_resource_record_sets(HostedZoneId=zid, ChangeBatch=batch)
            except Exception:
                return
            acked.append(i)
            i += 1

    threads = [threading.Thread(target=writer, args=(n * 100000,)) for n in range(3)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    stop.set()
    for t in threads:
        t.join()
    p, c, pub = spawn(tmp_path)
    try:
        names = [r["Name"] for pg in c.get_paginator("list_resource_record_sets").paginate(
            HostedZoneId=zid) for r in pg["ResourceRecordSets"] if r["Type"] == "A"]
        batches: dict[str, int] = {}
        for n in names:
            b = n.split("-")[0]
            batches[b] = batches.get(b, 0) + 1
        assert all(v == 20 for v in batches.values()), batches
        assert {f"b{i}" for i in acked} <= set(batches)
        assert acked, "no batch was acknowledged before the kill"
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)
