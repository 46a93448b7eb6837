"""Three `zonefront edge` processes and one control plane on one machine:
GetChange turns INSYNC only when all three serve a change; a killed edge
serves its disk snapshot at once and catches up; a stale edge stops
holding changes; health reaches the edges; edges cut off from the control
plane (or with it stopped) keep answering."""
from __future__ import annotations

import os
import signal
import time

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from helpers.edge_cluster import (EDGE_KEY, EDGE_SECRET, KEY, SECRET, addresses,
                     start_control_plane, start_edge, wait_for)
from helpers.proxy import Proxy

from zonefront.edge.client import Client

pytestmark = pytest.mark.e2e

STALE_AFTER = 5.0
ZONE = "edges.test"


class Cluster:
    pass


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, free_port):
    root = tmp_path_factory.mktemp("edges")
    cl = Cluster()
    cl.root = str(root)
    cl.dns_port, cl.api_port = free_port(), free_port()
    cl.config = os.path.join(cl.root, "zonefront.toml")
    with open(cl.config, "w") as f:
        f.write(f'[edges]\nstale_after = {STALE_AFTER}\naccess_key_id = "{EDGE_KEY}"\n'
                f'secret_access_key = "{EDGE_SECRET}"\n')
    cl.cp_data = os.path.join(cl.root, "cp")
    os.makedirs(cl.cp_data)
    cl.cp = start_control_plane(cl.cp_data, cl.dns_port, cl.api_port, cl.config)
    cl.api_url = f"http://127.0.0.1:{cl.api_port}"
    cl.proxies = [Proxy(("127.0.0.1", cl.api_port)) for _ in range(3)]
    cl.ports = [free_port() for _ in range(3)]
    cl.edges = []
    try:
        for i in range(3):
            cl.edges.append(start_edge(cl.proxies[i].url, cl.ports[i],
                                       os.path.join(cl.root, f"edge{i}"), f"edge{i}"))
        cl.r53 = boto3.client("route53", endpoint_url=cl.api_url, region_name="us-east-1",
                              aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                              config=BotoConfig(retries={"max_attempts": 1}))
        cl.api = Client(cl.api_url, KEY, SECRET)
        z = cl.r53.create_hosted_zone(Name=ZONE, CallerReference=f"edges-{time.time()}")
        cl.zone_id = z["HostedZone"]["Id"]
        assert wait_insync(cl, z["ChangeInfo"]["Id"], 10)
        yield cl
    finally:
        for e in cl.edges:
            e.stop()
        for p in cl.proxies:
            p.close()
        cl.cp.stop()


def upsert(cl, name: str, value: str, **extra) -> str:
    rrs = {"Name": name, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": value}], **extra}
    r = cl.r53.change_resource_record_sets(
        HostedZoneId=cl.zone_id,
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": rrs}]})
    return r["ChangeInfo"]["Id"]


def status(cl, change_id: str) -> str:
    return cl.r53.get_change(Id=change_id)["ChangeInfo"]["Status"]


def wait_insync(cl, change_id: str, timeout: float) -> bool:
    return wait_for(lambda: status(cl, change_id) == "INSYNC", timeout)


def edges_doc(cl) -> dict:
    return {e["Id"]: e for e in cl.api.json("GET", "/2013-04-01/zonefront/edges")["Edges"]}


def test_insync_only_when_every_edge_serves(cluster):
    cl = cluster
    slow = cl.edges[2]
    slow.signal(signal.SIGSTOP)  # alive (not stale yet) but not applying anything
    try:
        t0 = time.monotonic()
        cid = upsert(cl, f"a.{ZONE}", "192.0.2.1")
        assert wait_for(lambda: all(addresses(cl.ports[i], f"a.{ZONE}") == {"192.0.2.1"}
                                    for i in (0, 1)), 5)
        assert addresses(cl.dns_port, f"a.{ZONE}") == {"192.0.2.1"}  # the control plane's own
        while time.monotonic() - t0 < 1.5:
            assert status(cl, cid) == "PENDING"
            time.sleep(0.1)
    finally:
        slow.signal(signal.SIGCONT)
    t1 = time.monotonic()
    assert wait_insync(cl, cid, 5)
    # released by the edge catching up, not by it going stale
    assert time.monotonic() - t0 < STALE_AFTER, "INSYNC came from staleness"
    for port in cl.ports:
        assert addresses(port, f"a.{ZONE}") == {"192.0.2.1"}
    print(f"edge resumed -> INSYNC in {time.monotonic() - t1:.3f}s")

    # an ordinary change: INSYNC on all three, each serving it at that moment
    cid = upsert(cl, f"b.{ZONE}", "192.0.2.2")
    t = time.monotonic()
    assert wait_insync(cl, cid, 5)
    took = time.monotonic() - t
    for port in cl.ports:
        assert addresses(port, f"b.{ZONE}") == {"192.0.2.2"}
    print(f"change -> INSYNC on 3 edges in {took:.3f}s")
    # the edges took the control plane's own patches: no compile of their own
    assert wait_for(lambda: all(e["Updates"].get("patched", 0) >= 1
                                for e in edges_doc(cl).values()), 3), edges_doc(cl)


def test_edges_listed_with_serials(cluster):
    cl = cluster
    doc = cl.api.json("GET", "/2013-04-01/zonefront/edges")
    edges = {e["Id"]: e for e in doc["Edges"]}
    assert set(edges) == {"edge0", "edge1", "edge2"}
    for i, e in enumerate(sorted(edges.values(), key=lambda e: e["Id"])):
        assert e["State"] == "LIVE"
        assert e["Serial"] == doc["Serial"] and e["Current"]
        assert e["Address"] == f"127.0.0.1:{cl.ports[i]}"


def test_edge_key_is_only_for_edge_calls(cluster):
    cl = cluster
    edge_client = boto3.client("route53", endpoint_url=cl.api_url, region_name="us-east-1",
                               aws_access_key_id=EDGE_KEY, aws_secret_access_key=EDGE_SECRET,
                               config=BotoConfig(retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as e:
        edge_client.list_hosted_zones()
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    bad = Client(cl.api_url, EDGE_KEY, "wrong")
    assert bad.request("GET", "/2013-04-01/zonefront/snapshot")[0] == 403
    anon = Client(cl.api_url, None, None)
    assert anon.request("GET", "/2013-04-01/zonefront/zones")[0] == 403


def test_health_state_reaches_edges(cluster):
    cl = cluster
    hc = cl.r53.create_health_check(
        CallerReference=f"edge-hc-{time.time()}",
        HealthCheckConfig={"Type": "TCP", "IPAddress": "127.0.0.1", "Port": cl.api_port,
                           "RequestInterval": 10, "FailureThreshold": 3})["HealthCheck"]["Id"]

    def force(state: str) -> None:
        cl.r53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=hc,
                                        AddTags=[{"Key": "zonefront:state", "Value": state}])

    force("healthy")
    name = f"f.{ZONE}"
    upsert(cl, name, "192.0.2.10", SetIdentifier="primary", Failover="PRIMARY",
           HealthCheckId=hc)
    cid = upsert(cl, name, "192.0.2.20", SetIdentifier="secondary", Failover="SECONDARY")
    assert wait_insync(cl, cid, 5)
    for port in [cl.dns_port, *cl.ports]:
        assert addresses(port, name) == {"192.0.2.10"}
    force("unhealthy")
    t = time.monotonic()
    assert wait_for(lambda: all(addresses(p, name) == {"192.0.2.20"} for p in cl.ports), 3)
    print(f"health change reached 3 edges in {time.monotonic() - t:.3f}s")
    # the table as edges read it
    from zonefront.edge import documents

    doc = documents.loads_health(cl.api.call("GET", "/2013-04-01/zonefront/health")[2])
    assert doc["states"][hc] is False and doc["buffer"][doc["slots"][hc]] == 0
    force("healthy")
    assert wait_for(lambda: all(addresses(p, name) == {"192.0.2.10"} for p in cl.ports), 3)


def test_killed_edge_serves_disk_snapshot_then_catches_up(cluster):
    cl = cluster
    i = 2
    before = addresses(cl.ports[i], f"b.{ZONE}")
    assert before == {"192.0.2.2"}
    cl.edges[i].signal(signal.SIGKILL)
    cl.edges[i].p.wait(5)
    cl.edges[i].stop()
    cid = upsert(cl, f"b.{ZONE}", "192.0.2.3")
    assert wait_for(lambda: all(addresses(cl.ports[j], f"b.{ZONE}") == {"192.0.2.3"}
                                for j in (0, 1)), 5)
    # back, with the control plane unreachable: the disk snapshot answers at once
    cl.proxies[i].block()
    try:
        t = time.monotonic()
        cl.edges[i] = start_edge(cl.proxies[i].url, cl.ports[i],
                                 os.path.join(cl.root, f"edge{i}"), f"edge{i}")
        print(f"restarted edge ready (from disk) in {time.monotonic() - t:.3f}s")
        assert addresses(cl.ports[i], f"b.{ZONE}") == {"192.0.2.2"}
        assert addresses(cl.ports[i], f"f.{ZONE}") == {"192.0.2.10"}  # routed, health from disk
        assert status(cl, cid) == "PENDING"  # held for edge2 (not stale yet)
    finally:  # a failure here must not leave edge2 cut off for the tests after it
        cl.proxies[i].unblock()
    t = time.monotonic()
    assert wait_for(lambda: addresses(cl.ports[i], f"b.{ZONE}") == {"192.0.2.3"}, 5)
    print(f"restarted edge caught up in {time.monotonic() - t:.3f}s after the control plane "
          f"answered")
    assert wait_insync(cl, cid, 3)
    # it caught up by the control plane's own patch, applied to its disk copy:
    # no full copy, no compile of its own
    assert wait_for(lambda: edges_doc(cl)[f"edge{i}"]["Updates"].get("patched", 0) >= 1, 3)
    assert edges_doc(cl)[f"edge{i}"]["Updates"].get("full", 0) == 0


def test_stale_edge_stops_holding_changes(cluster):
    cl = cluster
    gone = cl.edges[1]
    gone.signal(signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        cid = upsert(cl, f"c.{ZONE}", "192.0.2.4")
        assert wait_for(lambda: addresses(cl.ports[0], f"c.{ZONE}") == {"192.0.2.4"}, 5)
        time.sleep(1.0)
        assert status(cl, cid) == "PENDING"
        assert wait_insync(cl, cid, STALE_AFTER + 3)
        waited = time.monotonic() - t0
        assert waited > 1.0
        assert edges_doc(cl)["edge1"]["State"] == "STALE"
        assert edges_doc(cl)["edge0"]["State"] == "LIVE"
        print(f"stale edge released the change after {waited:.2f}s (stale_after={STALE_AFTER})")
        # while edge1 stays stale, changes are INSYNC without it
        cid = upsert(cl, f"d.{ZONE}", "192.0.2.5")
        assert wait_insync(cl, cid, 5)
    finally:
        gone.signal(signal.SIGCONT)
    assert wait_for(lambda: edges_doc(cl)["edge1"]["State"] == "LIVE"
                    and edges_doc(cl)["edge1"]["Current"], 5)
    assert addresses(cl.ports[1], f"d.{ZONE}") == {"192.0.2.5"}


def test_edges_keep_answering_without_control_plane(cluster):
    cl = cluster
    cl.proxies[0].block()  # one edge cut off while the control plane runs on
    cid = upsert(cl, f"e.{ZONE}", "192.0.2.6")
    assert wait_for(lambda: addresses(cl.ports[1], f"e.{ZONE}") == {"192.0.2.6"}, 5)
    assert addresses(cl.ports[0], f"b.{ZONE}") == {"192.0.2.3"}
    cl.proxies[0].unblock()
    assert wait_insync(cl, cid, 5)

    assert cl.cp.stop() == 0  # the control plane goes away altogether
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        for port in cl.ports:
            assert addresses(port, f"e.{ZONE}") == {"192.0.2.6"}
            assert addresses(port, f"f.{ZONE}") == {"192.0.2.10"}
        time.sleep(0.2)
    for e in cl.edges:
        assert e.p.poll() is None

    # it comes back (new epoch, edges.json remembered): edges take a full copy
    cl.cp = start_control_plane(cl.cp_data, cl.dns_port, cl.api_port, cl.config)
    cid = upsert(cl, f"g.{ZONE}", "192.0.2.7")
    assert wait_insync(cl, cid, 10)
    for port in cl.ports:
        assert addresses(port, f"g.{ZONE}") == {"192.0.2.7"}
        assert addresses(port, f"e.{ZONE}") == {"192.0.2.6"}


def test_edge_exits_zero_on_sigterm(cluster):
    cl = cluster
    assert cl.edges[0].stop() == 0
    assert "stopped" in cl.edges[0].text()
    cl.edges[0] = start_edge(cl.proxies[0].url, cl.ports[0], os.path.join(cl.root, "edge0"),
                             "edge0")
