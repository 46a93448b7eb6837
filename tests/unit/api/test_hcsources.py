"""Health check sources over the API: Create/Get/List/DeleteHealthCheckSource
and ListHealthChecksBySource with boto3 and the AWS CLI, their documented
errors, the status a registered checker turns CREATE_COMPLETED, and health
checks naming a source."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from helpers.awscli import HAVE_AWS, aws
from helpers.route53 import define_vpc

from zonefront.store import hcsourcestore

SUBNETS = [{"SubnetId": f"subnet-{i}", "AvailabilityZoneId": f"use1-az{i}",
            "SecurityGroupIdList": ["sg-1"]} for i in (1, 2)]
_n = [0]


@pytest.fixture(scope="module")
def hcsrc_vpc(server):
    define_vpc(server, "vpc-hcsrcapi", "us-east-1", ["10.72.0.0/16"])
    return "vpc-hcsrcapi"


def _code(exc):
    return exc.value.response["Error"]["Code"]


def _source(r53, vpc, **kw):
    _n[0] += 1
    return r53.create_health_check_source(
        CallerReference=f"src-{_n[0]}",
        HealthCheckSourceConfig={"VpcId": vpc, "SubnetConfigurationList": SUBNETS}, **kw)


def _check(r53, ref, **extra):
    return r53.create_health_check(CallerReference=ref, HealthCheckConfig={
        "Type": "TCP", "IPAddress": "10.72.0.9", "Port": 5432, **extra})["HealthCheck"]["Id"]


def test_source_lifecycle(server, r53, hcsrc_vpc):
    out = _source(r53, hcsrc_vpc)
    sid = out["HealthCheckSourceId"]
    assert out["HealthCheckSourceStatus"] == "CREATE_PENDING"
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert out["Location"].endswith(f"/2013-04-01/healthchecksource/{sid}")
    got = r53.get_health_check_source(HealthCheckSourceId=sid)["HealthCheckSource"]
    assert got["HealthCheckSourceConfig"]["VpcId"] == hcsrc_vpc
    assert len(got["HealthCheckSourceConfig"]["SubnetConfigurationList"]) == 2
    assert got["HealthCheckSourceStatus"] == "CREATE_PENDING"
    # a checker registering from the source's network completes it
    assert hcsourcestore.register_checker(server.cp.service.store, sid, "host-a:1")
    got = r53.get_health_check_source(HealthCheckSourceId=sid)["HealthCheckSource"]
    assert got["HealthCheckSourceStatus"] == "CREATE_COMPLETED"
    listed = r53.list_health_check_sources()["HealthCheckSources"]
    assert sid in [s["HealthCheckSourceId"] for s in listed]

    hc = _check(r53, f"hc-src-{sid}", HealthCheckSourceId=sid, EndpointType="PRIVATE")
    _check(r53, f"hc-nosrc-{sid}")
    by = r53.list_health_checks_by_source(HealthCheckSourceId=sid)
    assert [h["Id"] for h in by["HealthChecks"]] == [hc] and by["IsTruncated"] is False
    assert by["HealthChecks"][0]["HealthCheckConfig"]["HealthCheckSourceId"] == sid
    # in use: refused until its checks are gone
    with pytest.raises(ClientError) as e:
        r53.delete_health_check_source(HealthCheckSourceId=sid)
    assert _code(e) == "InvalidInput"
    r53.delete_health_check(HealthCheckId=hc)
    gone = r53.delete_health_check_source(HealthCheckSourceId=sid)
    assert gone["HealthCheckSourceStatus"] == "DELETE_COMPLETED"
    with pytest.raises(ClientError) as e:
        r53.get_health_check_source(HealthCheckSourceId=sid)
    assert _code(e) == "NoSuchHealthCheckSource"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_source_errors(r53, hcsrc_vpc):
    _source(r53, hcsrc_vpc)
    with pytest.raises(ClientError) as e:
        r53.create_health_check_source(
            CallerReference=f"src-{_n[0]}",
            HealthCheckSourceConfig={"VpcId": hcsrc_vpc, "SubnetConfigurationList": SUBNETS})
    assert _code(e) == "HealthCheckSourceAlreadyExists"
    with pytest.raises(ClientError) as e:
        _source(r53, "vpc-notdefined")
    assert _code(e) == "InvalidVPCId"
    for call in (lambda: r53.delete_health_check_source(HealthCheckSourceId="nope"),
                 lambda: r53.list_health_checks_by_source(HealthCheckSourceId="nope")):
        with pytest.raises(ClientError) as e:
            call()
        assert _code(e) == "NoSuchHealthCheckSource"
    with pytest.raises(ClientError) as e:  # a check naming a source that does not exist
        _check(r53, "hc-badsrc", HealthCheckSourceId="nope", EndpointType="PRIVATE")
    assert _code(e) == "InvalidInput"
    with pytest.raises(ClientError) as e:  # PRIVATE needs a source
        _check(r53, "hc-private-nosrc", EndpointType="PRIVATE")
    assert _code(e) == "InvalidInput"


def test_list_sources_pages(r53, hcsrc_vpc):
    for _ in range(3):
        _source(r53, hcsrc_vpc)
    every = [s["HealthCheckSourceId"] for s in
             r53.list_health_check_sources(MaxResults="100")["HealthCheckSources"]]
    got, token = [], None
    while True:
        kw = {"NextToken": token} if token else {}
        page = r53.list_health_check_sources(MaxResults="2", **kw)
        assert len(page["HealthCheckSources"]) <= 2
        got += [s["HealthCheckSourceId"] for s in page["HealthCheckSources"]]
        token = page.get("NextToken")
        if not token:
            break
    assert got == every and len(every) >= 3


@pytest.mark.skipif(not HAVE_AWS, reason="aws CLI not installed")
def test_aws_cli_sources(server, hcsrc_vpc):
    out = aws(server, "create-health-check-source", "--caller-reference", "cli-src-1",
              "--health-check-source-config",
              f"VpcId={hcsrc_vpc},SubnetConfigurationList=[{{SubnetId=subnet-1,"
              f"AvailabilityZoneId=use1-az1,SecurityGroupIdList=[sg-1]}},{{SubnetId=subnet-2,"
              f"AvailabilityZoneId=use1-az2,SecurityGroupIdList=[sg-1]}}]")
    sid = out["HealthCheckSourceId"]
    got = aws(server, "get-health-check-source", "--health-check-source-id", sid)
    assert got["HealthCheckSource"]["HealthCheckSourceStatus"] == "CREATE_PENDING"
    listed = aws(server, "list-health-checks-by-source", "--health-check-source-id", sid)
    assert listed["HealthChecks"] == []
    every = aws(server, "list-health-check-sources")["HealthCheckSources"]
    assert sid in [s["HealthCheckSourceId"] for s in every]
    aws(server, "delete-health-check-source", "--health-check-source-id", sid)
    err = aws(server, "get-health-check-source", "--health-check-source-id", sid, ok=False)
    assert "NoSuchHealthCheckSource" in err
