"""boto3 against a real ControlPlane: every health-check operation, its
errors, and the checks' effect on control.health (the table DNS reads)."""
from __future__ import annotations

import time

import botocore.config
import boto3
import pytest
from botocore.exceptions import ClientError, ParamValidationError
from helpers.route53 import AKID, SECRET, start_control_plane
from helpers.health_targets import wait_for

from zonefront.config import HealthSettings


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    r = start_control_plane(tmp_path_factory.mktemp("health"), max_health_checks=50,
                            health=HealthSettings(min_interval=1))
    yield r
    r.cp.stop()


@pytest.fixture(scope="module")
def r53(run):
    # parameter_validation=False: botocore refuses RequestInterval < 10 client-side
    return boto3.client("route53", endpoint_url=run.url, region_name="us-east-1",
                        aws_access_key_id=AKID, aws_secret_access_key=SECRET,
                        config=botocore.config.Config(retries={"max_attempts": 1},
                                                      parameter_validation=False))


_n = [0]


def ref():
    _n[0] += 1
    return f"hc-{time.time()}-{_n[0]}"


def code(exc) -> tuple[str, int]:
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"][
        "HTTPStatusCode"]


def create(r53, **cfg):
    cfg.setdefault("Type", "HTTP")
    if cfg["Type"] != "CALCULATED":
        cfg.setdefault("IPAddress", "127.0.0.1")
    return r53.create_health_check(CallerReference=ref(), HealthCheckConfig=cfg)["HealthCheck"]


def test_create_get_defaults_and_location(r53, run):
    r = r53.create_health_check(CallerReference="fixed-ref", HealthCheckConfig={
        "Type": "HTTPS", "IPAddress": "127.0.0.1", "FullyQualifiedDomainName": "www.example.test",
        "ResourcePath": "/health"})
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 201
    hc = r["HealthCheck"]
    assert r["Location"].endswith(f"/2013-04-01/healthcheck/{hc['Id']}")
    cfg = hc["HealthCheckConfig"]
    assert cfg["Port"] == 443 and cfg["RequestInterval"] == 30 and cfg["FailureThreshold"] == 3
    assert cfg["EnableSNI"] is True and cfg["Inverted"] is False and cfg["Disabled"] is False
    assert hc["HealthCheckVersion"] == 1
    got = r53.get_health_check(HealthCheckId=hc["Id"])["HealthCheck"]
    assert got == hc
    # CallerReference idempotency: same settings -> the same check back
    again = r53.create_health_check(CallerReference="fixed-ref", HealthCheckConfig={
        "Type": "HTTPS", "IPAddress": "127.0.0.1", "FullyQualifiedDomainName": "www.example.test",
        "ResourcePath": "/health"})["HealthCheck"]
    assert again["Id"] == hc["Id"]
    with pytest.raises(ClientError) as e:
        r53.create_health_check(CallerReference="fixed-ref", HealthCheckConfig={
            "Type": "HTTP", "IPAddress": "127.0.0.1"})
    assert code(e) == ("HealthCheckAlreadyExists", 409)
    # a deleted check's reference stays used
    r53.delete_health_check(HealthCheckId=hc["Id"])
    with pytest.raises(ClientError) as e:
        r53.create_health_check(CallerReference="fixed-ref", HealthCheckConfig={
            "Type": "HTTPS", "IPAddress": "127.0.0.1"})
    assert code(e) == ("HealthCheckAlreadyExists", 409)


@pytest.mark.parametrize("cfg,needle", [
    ({"Type": "HTTP"}, "IPAddress or FullyQualifiedDomainName"),
    ({"Type": "TCP", "IPAddress": "127.0.0.1"}, "Port is required"),
    ({"Type": "HTTP_STR_MATCH", "IPAddress": "127.0.0.1"}, "SearchString is required"),
    ({"Type": "HTTP", "IPAddress": "127.0.0.1", "SearchString": "x"}, "SearchString is not"),
    ({"Type": "HTTP", "IPAddress": "not-an-ip"}, "IP address"),
    ({"Type": "HTTP", "IPAddress": "127.0.0.1", "RequestInterval": 20}, "RequestInterval"),
    ({"Type": "HTTP", "IPAddress": "127.0.0.1", "RequestInterval": 0}, "requestInterval"),
    ({"Type": "HTTP", "IPAddress": "127.0.0.1", "FailureThreshold": 11}, "failureThreshold"),
    ({"Type": "HTTP", "IPAddress": "127.0.0.1", "Regions": ["us-east-1"]}, "regions"),
    ({"Type": "HTTP", "IPAddress": "127.0.0.1", "Regions": ["us-east-1", "mars-1", "eu-west-1"]},
     "enum"),
    ({"Type": "CALCULATED"}, "HealthThreshold is required"),
    ({"Type": "CALCULATED", "HealthThreshold": 1, "ChildHealthChecks": ["nope"]},
     "does not exist"),
    ({"Type": "CALCULATED", "HealthThreshold": 1, "IPAddress": "127.0.0.1"}, "not allowed"),
    ({"Type": "HTTP", "IPAddress": "127.0.0.1", "HealthThreshold": 1}, "only allowed"),
    ({"Type": "BOGUS", "IPAddress": "127.0.0.1"}, "enum"),
])
def test_create_invalid_input(r53, cfg, needle):
    with pytest.raises(ClientError) as e:
        r53.create_health_check(CallerReference=ref(), HealthCheckConfig=cfg)
    assert code(e) == ("InvalidInput", 400)
    assert needle in e.value.response["Error"]["Message"]


def test_short_interval_is_refused_by_plain_boto3(run):
    strict = run.client()
    with pytest.raises(ParamValidationError):
        strict.create_health_check(CallerReference=ref(), HealthCheckConfig={
            "Type": "TCP", "IPAddress": "127.0.0.1", "Port": 1, "RequestInterval": 2})


def test_list_pagination_and_count(r53):
    ids = [create(r53, Port=1000 + i)["Id"] for i in range(5)]
    count = r53.get_health_check_count()["HealthCheckCount"]
    assert count >= 5
    seen, marker = [], None
    while True:
        kw = {"Marker": marker} if marker else {}
        page = r53.list_health_checks(MaxItems="2", **kw)
        assert len(page["HealthChecks"]) <= 2 and page["MaxItems"] == "2"
        seen += [h["Id"] for h in page["HealthChecks"]]
        if not page["IsTruncated"]:
            break
        marker = page["NextMarker"]
    assert len(seen) == count and seen[-5:] == ids  # creation order
    with pytest.raises(ClientError) as e:
        r53.list_health_checks(Marker="no-such-check")
    assert code(e) == ("InvalidInput", 400)
    paginated = [h["Id"] for p in r53.get_paginator("list_health_checks").paginate()
                 for h in p["HealthChecks"]]
    assert paginated == seen


def test_update_versions_and_reset(r53):
    hc = create(r53, ResourcePath="/a", FullyQualifiedDomainName="a.example.test",
                Regions=["us-east-1", "us-west-2", "eu-west-1"])
    up = r53.update_health_check(HealthCheckId=hc["Id"], HealthCheckVersion=1,
                                 ResourcePath="/b", FailureThreshold=5, Inverted=True)
    h2 = up["HealthCheck"]
    assert h2["HealthCheckVersion"] == 2
    assert h2["HealthCheckConfig"]["ResourcePath"] == "/b"
    assert h2["HealthCheckConfig"]["FailureThreshold"] == 5
    assert h2["HealthCheckConfig"]["Inverted"] is True
    with pytest.raises(ClientError) as e:
        r53.update_health_check(HealthCheckId=hc["Id"], HealthCheckVersion=1, Disabled=True)
    assert code(e) == ("HealthCheckVersionMismatch", 409)
    h3 = r53.update_health_check(HealthCheckId=hc["Id"], ResetElements=[
        "ResourcePath", "FullyQualifiedDomainName", "Regions"])["HealthCheck"]
    assert h3["HealthCheckVersion"] == 3
    for k in ("ResourcePath", "FullyQualifiedDomainName", "Regions"):
        assert k not in h3["HealthCheckConfig"]
    with pytest.raises(ClientError) as e:
        r53.update_health_check(HealthCheckId=hc["Id"], SearchString="x")
    assert code(e) == ("InvalidInput", 400)
    with pytest.raises(ClientError) as e:
        r53.update_health_check(HealthCheckId="00000000-0000-0000-0000-000000000000",
                                Disabled=True)
    assert code(e) == ("NoSuchHealthCheck", 404)


def test_missing_check_errors(r53):
    missing = "00000000-0000-0000-0000-000000000000"
    for call in (r53.get_health_check, r53.delete_health_check, r53.get_health_check_status,
                 r53.get_health_check_last_failure_reason):
        with pytest.raises(ClientError) as e:
            call(HealthCheckId=missing)
        assert code(e) == ("NoSuchHealthCheck", 404), call


def test_status_and_failure_reason_follow_a_server(r53, run, http_target):
    hc = create(r53, Port=http_target.port, RequestInterval=1, FailureThreshold=1,
                MeasureLatency=True)
    hid = hc["Id"]
    table = run.cp.health
    assert wait_for(lambda: len(r53.get_health_check_status(HealthCheckId=hid)[
        "HealthCheckObservations"]) == 3, 3)
    obs = r53.get_health_check_status(HealthCheckId=hid)["HealthCheckObservations"]
    assert {o["Region"] for o in obs} == {"us-east-1", "us-west-2", "eu-west-1"}
    assert all(o["StatusReport"]["Status"] == "Success: HTTP Status Code 200, OK" for o in obs)
    assert all(o["IPAddress"] == "127.0.0.1" for o in obs)
    assert r53.get_health_check_last_failure_reason(HealthCheckId=hid)[
        "HealthCheckObservations"] == []
    http_target.status = 503
    assert wait_for(lambda: table.get(hid) is False, 2.5)
    fails = r53.get_health_check_last_failure_reason(HealthCheckId=hid)[
        "HealthCheckObservations"]
    assert fails and all("HTTP Status Code 503, Service Unavailable" in f["StatusReport"][
        "Status"] for f in fails)
    http_target.status = 200
    assert wait_for(lambda: table.get(hid) is True, 2.5)
    assert "127.0.0.1/32" in r53.get_checker_ip_ranges()["CheckerIpRanges"]


def test_update_takes_effect_at_once(r53, run, http_target):
    hc = create(r53, Port=http_target.port, RequestInterval=1, FailureThreshold=1,
                ResourcePath="/one")
    hid = hc["Id"]
    assert wait_for(lambda: any(r["path"] == "/one" for r in http_target.requests), 2.5)
    r53.update_health_check(HealthCheckId=hid, Inverted=True)
    assert run.cp.health.get(hid) is False  # before the call returned
    r53.update_health_check(HealthCheckId=hid, Inverted=False, Disabled=True)
    assert run.cp.health.get(hid) is True
    r53.update_health_check(HealthCheckId=hid, Disabled=False, ResourcePath="/two")
    assert wait_for(lambda: any(r["path"] == "/two" for r in http_target.requests), 2.5)


def test_state_tag_forces_the_state(r53, run):
    hc = create(r53, Type="TCP", Port=1, RequestInterval=30)
    hid = hc["Id"]
    table = run.cp.health
    assert table.get(hid) is True
    r53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=hid,
                                 AddTags=[{"Key": "zonefront:state", "Value": "unhealthy"}])
    assert table.get(hid) is False
    status = r53.get_health_check_status(HealthCheckId=hid)["HealthCheckObservations"]
    assert "zonefront:state" in status[0]["StatusReport"]["Status"]
    tags = r53.list_tags_for_resource(ResourceType="healthcheck", ResourceId=hid)
    assert tags["ResourceTagSet"]["Tags"] == [{"Key": "zonefront:state", "Value": "unhealthy"}]
    with pytest.raises(ClientError) as e:
        r53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=hid,
                                     AddTags=[{"Key": "zonefront:state", "Value": "maybe"}])
    assert code(e) == ("InvalidInput", 400)
    r53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=hid,
                                 RemoveTagKeys=["zonefront:state"])
    assert table.get(hid) is True
    # RECOVERY_CONTROL: a check only the operator sets
    rc = create(r53, Type="RECOVERY_CONTROL",
                RoutingControlArn="arn:aws:route53-recovery-control::000000000000:"
                                  "controlpanel/x/routingcontrol/y")
    assert table.get(rc["Id"]) is True
    r53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=rc["Id"],
                                 AddTags=[{"Key": "zonefront:state", "Value": "unhealthy"}])
    assert table.get(rc["Id"]) is False


def test_calculated_over_api(r53, run):
    table = run.cp.health
    kids = [create(r53, Type="TCP", Port=1, RequestInterval=30)["Id"] for _ in range(3)]
    calc = create(r53, Type="CALCULATED", HealthThreshold=2, ChildHealthChecks=kids)
    cid = calc["Id"]
    assert calc["HealthCheckConfig"]["ChildHealthChecks"] == kids
    assert table.get(cid) is True

    def force(hid, value):
        r53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=hid,
                                     AddTags=[{"Key": "zonefront:state", "Value": value}])

    force(kids[0], "unhealthy")
    assert table.get(cid) is True
    force(kids[1], "unhealthy")
    assert table.get(cid) is False
    status = r53.get_health_check_status(HealthCheckId=cid)["HealthCheckObservations"]
    assert "1 of 3 child health checks are healthy" in status[0]["StatusReport"]["Status"]
    r53.update_health_check(HealthCheckId=cid, HealthThreshold=1)
    assert table.get(cid) is True
    with pytest.raises(ClientError) as e:
        r53.update_health_check(HealthCheckId=cid, HealthThreshold=4)
    assert code(e) == ("InvalidInput", 400)
    outer = create(r53, Type="CALCULATED", HealthThreshold=1, ChildHealthChecks=[cid])
    with pytest.raises(ClientError) as e:  # a cycle
        r53.update_health_check(HealthCheckId=cid, ChildHealthChecks=kids + [outer["Id"]])
    assert code(e) == ("InvalidInput", 400)
    # deleting a child: it counts as healthy from then on
    r53.update_health_check(HealthCheckId=cid, HealthThreshold=3)
    assert table.get(cid) is False
    r53.delete_health_check(HealthCheckId=kids[0])
    r53.delete_health_check(HealthCheckId=kids[1])
    assert table.get(cid) is True


def test_delete_while_records_refer_to_it(r53, run):
    hc = create(r53, Type="TCP", Port=1, RequestInterval=30)
    hid = hc["Id"]
    zid = r53.create_hosted_zone(Name="hc-ref.test", CallerReference=ref())["HostedZone"]["Id"]
    r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [{
        "Action": "CREATE", "ResourceRecordSet": {
            "Name": "www.hc-ref.test", "Type": "A", "TTL": 60, "SetIdentifier": "p",
            "Failover": "PRIMARY", "HealthCheckId": hid,
            "ResourceRecords": [{"Value": "192.0.2.1"}]}}]})
    slot = run.cp.health.slot(hid)
    r53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=hid,
                                 AddTags=[{"Key": "zonefront:state", "Value": "unhealthy"}])
    assert run.cp.health.buffer[slot] == 0
    r53.delete_health_check(HealthCheckId=hid)  # allowed, as Route 53 allows it
    assert run.cp.health.buffer[slot] == 1  # the records are served as healthy
    with pytest.raises(ClientError) as e:
        r53.get_health_check(HealthCheckId=hid)
    assert code(e) == ("NoSuchHealthCheck", 404)
    with pytest.raises(ClientError) as e:
        r53.list_tags_for_resource(ResourceType="healthcheck", ResourceId=hid)
    assert code(e) == ("NoSuchHealthCheck", 404)
    rrs = r53.list_resource_record_sets(HostedZoneId=zid)["ResourceRecordSets"]
    assert any(r.get("HealthCheckId") == hid for r in rrs)


def test_limit_and_account_limit(tmp_path):
    r = start_control_plane(tmp_path, max_health_checks=2)
    try:
        c = r.client()
        for i in range(2):
            c.create_health_check(CallerReference=f"l{i}", HealthCheckConfig={
                "Type": "TCP", "IPAddress": "127.0.0.1", "Port": 1})
        with pytest.raises(ClientError) as e:
            c.create_health_check(CallerReference="l3", HealthCheckConfig={
                "Type": "TCP", "IPAddress": "127.0.0.1", "Port": 1})
        assert code(e)[0] == "TooManyHealthChecks"
        lim = c.get_account_limit(Type="MAX_HEALTH_CHECKS_BY_OWNER")
        assert lim["Count"] == 2 and lim["Limit"]["Value"] == 2
        # checks survive a restart and are probed again
        r.cp.stop()
        r = start_control_plane(tmp_path, max_health_checks=2)
        c = r.client()
        assert c.get_health_check_count()["HealthCheckCount"] == 2
        assert len(r.cp.health_checks.state.ids()) == 2
    finally:
        r.cp.stop()


def test_readonly_key_cannot_write(run):
    from helpers.route53 import RO_AKID, RO_SECRET

    ro = run.client(RO_AKID, RO_SECRET)
    ro.list_health_checks()
    with pytest.raises(ClientError) as e:
        ro.create_health_check(CallerReference=ref(), HealthCheckConfig={
            "Type": "TCP", "IPAddress": "127.0.0.1", "Port": 1})
    assert code(e) == ("AccessDenied", 403)
