"""Traffic Flow through the AWS CLI, unchanged: a policy with a geo rule
leading to weighted and failover subtrees with health checks, a second
version, instances in two zones, listing, update, delete."""
from __future__ import annotations

import json
import shutil
import time

import pytest
from test_awscli import aws

pytestmark = pytest.mark.skipif(shutil.which("aws") is None, reason="aws CLI not installed")


def document(hc: str, default: str) -> str:
    return json.dumps({
        "AWSPolicyFormatVersion": "2015-10-01", "RecordType": "A",
        "Endpoints": {"a": {"Type": "value", "Value": "192.0.2.1"},
                      "b": {"Type": "value", "Value": "192.0.2.2"},
                      "p": {"Type": "value", "Value": "192.0.2.10"},
                      "s": {"Type": "value", "Value": "192.0.2.11"},
                      "d": {"Type": "value", "Value": default}},
        "Rules": {
            "geo": {"RuleType": "geo", "Locations": [
                {"Country": "US", "RuleReference": "w"},
                {"Continent": "EU", "RuleReference": "f"},
                {"IsDefault": True, "EndpointReference": "d"}]},
            "w": {"RuleType": "weighted", "Items": [
                {"Weight": "1", "EndpointReference": "a", "HealthCheck": hc},
                {"Weight": "3", "EndpointReference": "b"}]},
            "f": {"RuleType": "failover",
                  "Primary": {"EndpointReference": "p", "HealthCheck": hc},
                  "Secondary": {"EndpointReference": "s"}}},
        "StartRule": "geo"})


def idv(pid: str, version: int, **more) -> tuple[str, str]:
    return ("--cli-input-json", json.dumps({"Id": pid, "Version": version, **more}))


def served_owner(server, zone_id: str, owner: bytes, pred, timeout: float = 5.0):
    key = f"/hostedzone/{zone_id.rsplit('/', 1)[-1]}"
    deadline = time.monotonic() + timeout
    while True:
        zone = server.last_zones().get(key) if server.published else None
        top = [r for r in zone.routed if r.owner == owner] if zone is not None else []
        if pred(top) or time.monotonic() > deadline:
            return top
        time.sleep(0.02)


def test_aws_cli_traffic_flow(server, tmp_path):
    hc = aws(server, "create-health-check", "--caller-reference", "tp-cli-hc",
             "--health-check-config",
             "Type=TCP,IPAddress=127.0.0.1,Port=9,RequestInterval=30,FailureThreshold=3")
    hc_id = hc["HealthCheck"]["Id"]
    p = aws(server, "create-traffic-policy", "--name", "cli-geo", "--document",
            document(hc_id, "192.0.2.99"), "--comment", "v1")["TrafficPolicy"]
    pid = p["Id"]
    assert (p["Version"], p["Type"], p["Comment"]) == (1, "A", "v1")
    v2 = aws(server, "create-traffic-policy-version", "--id", pid, "--document",
             document(hc_id, "198.51.100.99"))["TrafficPolicy"]
    assert v2["Version"] == 2
    err = aws(server, "create-traffic-policy", "--name", "cli-bad", "--document",
              json.dumps({"AWSPolicyFormatVersion": "2015-10-01", "RecordType": "A",
                          "StartRule": "missing"}), ok=False)
    assert "InvalidTrafficPolicyDocument" in err and "StartRule 'missing'" in err

    zids = [aws(server, "create-hosted-zone", "--name", n, "--caller-reference",
                f"{n}-ref")["HostedZone"]["Id"] for n in ("tpcli-a.example", "tpcli-b.example")]
    iids = []
    for zid, name in zip(zids, ("www.tpcli-a.example", "www.tpcli-b.example")):
        inst = aws(server, "create-traffic-policy-instance", "--hosted-zone-id", zid,
                   "--name", name, "--ttl", "60", "--traffic-policy-id", pid,
                   "--traffic-policy-version", "1")["TrafficPolicyInstance"]
        assert (inst["Name"], inst["State"]) == (name + ".", "Applied")
        iids.append(inst["Id"])
    assert aws(server, "get-traffic-policy-instance-count")["TrafficPolicyInstanceCount"] >= 2
    by_policy = aws(server, "list-traffic-policy-instances-by-policy", "--traffic-policy-id",
                    pid, "--traffic-policy-version", "1")["TrafficPolicyInstances"]
    assert sorted(i["Id"] for i in by_policy) == sorted(iids)
    by_zone = aws(server, "list-traffic-policy-instances-by-hosted-zone", "--hosted-zone-id",
                  zids[1])["TrafficPolicyInstances"]
    assert [i["Id"] for i in by_zone] == [iids[1]]
    listed = aws(server, "list-resource-record-sets", "--hosted-zone-id", zids[0])
    assert {"Name": "www.tpcli-a.example.", "Type": "A", "TrafficPolicyInstanceId": iids[0]} \
        in listed["ResourceRecordSets"]
    owner = b"\x03www\x07tpcli-a\x07example\x00"
    top = served_owner(server, zids[0], owner, lambda t: len(t) == 3)
    assert [r.children is not None for r in top] == [True, True, False]
    assert [c.health_check for c in top[0].children] == [hc_id, None]
    assert [c.failover for c in top[1].children] == ["PRIMARY", "SECONDARY"]

    up = aws(server, "update-traffic-policy-instance", "--id", iids[0], "--ttl", "30",
             "--traffic-policy-id", pid, "--traffic-policy-version", "2")
    assert up["TrafficPolicyInstance"]["TrafficPolicyVersion"] == 2
    top = served_owner(server, zids[0], owner, lambda t: len(t) == 3 and t[2].ttl == 30)
    assert top[2].rdatas == [bytes([198, 51, 100, 99])]
    versions = aws(server, "list-traffic-policy-versions", "--id", pid)["TrafficPolicies"]
    assert [v["Version"] for v in versions] == [1, 2]
    # the CLI (v1) takes --version as its own flag: these go in as --cli-input-json
    aws(server, "update-traffic-policy-comment", *idv(pid, 2, Comment="second"))
    got = aws(server, "get-traffic-policy", *idv(pid, 2))["TrafficPolicy"]
    assert got["Comment"] == "second"
    summaries = aws(server, "list-traffic-policies")["TrafficPolicySummaries"]
    assert any(s["Id"] == pid and s["LatestVersion"] == 2 for s in summaries)

    err = aws(server, "delete-traffic-policy", *idv(pid, 1), ok=False)
    assert "TrafficPolicyInUse" in err
    for iid in iids:
        aws(server, "delete-traffic-policy-instance", "--id", iid)
    listed = aws(server, "list-resource-record-sets", "--hosted-zone-id", zids[0])
    assert [r["Type"] for r in listed["ResourceRecordSets"]] == ["NS", "SOA"]
    for v in (1, 2):
        aws(server, "delete-traffic-policy", *idv(pid, v))
    err = aws(server, "get-traffic-policy", *idv(pid, 1), ok=False)
    assert "NoSuchTrafficPolicy" in err
