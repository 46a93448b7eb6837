"""Every documented error of issue 17's operations that zonefront can
produce, asserted per operation with boto3 (the botocore model's `errors`
lists; tests/unit/api/test_history.py, test_protections.py, test_tiers.py and
test_hcsources.py assert the others).  The ones that cannot happen here are
listed in README.md beside the coverage table, and
test_every_documented_error_is_accounted_for keeps that list honest."""
from __future__ import annotations

import boto3
import botocore.config
import botocore.loaders
import pytest
from botocore.exceptions import ClientError
from helpers.route53 import AKID, SECRET, change, define_vpc, new_zone, rrset

from zonefront.api import hcsources
from zonefront.store import zonefeatures

NO_ZONE = "/hostedzone/ZNOSUCHZONE000000000"
SUBNETS = [{"SubnetId": f"subnet-{i}", "AvailabilityZoneId": f"use1-az{i}",
            "SecurityGroupIdList": ["sg-1"]} for i in (1, 2)]
VPC = {"VPCRegion": "us-east-1", "VPCId": "vpc-newerr0001"}

# documented, and why zonefront never answers them (README "API coverage")
NEVER = {
    ("CreateResourceRecordSetProtections", "PriorRequestNotComplete"),
    ("DeleteResourceRecordSetProtections", "PriorRequestNotComplete"),
    ("UpdateHostedZoneTier", "PriorRequestNotComplete"),
    ("UpdateHostedZoneFeatures", "PriorRequestNotComplete"),
    ("DeleteHealthCheckSource", "PriorRequestNotComplete"),
    ("GetHealthCheckSource", "InvalidInput"),
}
# (operation, error) -> the test asserting it
TESTED = {
    ("GetHostedZoneChangeBatch", "NoSuchHostedZone"): "here",
    ("GetHostedZoneChangeBatch", "NoSuchChange"): "test_history",
    ("GetHostedZoneChangeBatch", "FeatureNotEnabled"): "test_history",
    ("GetHostedZoneChangeBatch", "InvalidInput"): "here",
    ("ListHostedZoneChangeBatches", "NoSuchHostedZone"): "test_history",
    ("ListHostedZoneChangeBatches", "FeatureNotEnabled"): "test_history",
    ("ListHostedZoneChangeBatches", "InvalidInput"): "test_history",
    ("ListHostedZoneChangeBatches", "InvalidPaginationToken"): "test_history",
    ("ListResourceRecordSetChanges", "NoSuchHostedZone"): "here",
    ("ListResourceRecordSetChanges", "FeatureNotEnabled"): "test_history",
    ("ListResourceRecordSetChanges", "InvalidInput"): "test_history",
    ("ListResourceRecordSetChanges", "InvalidPaginationToken"): "here",
    ("CreateResourceRecordSetProtections", "InvalidInput"): "here",
    ("CreateResourceRecordSetProtections", "InvalidResourceRecordSetProtectionBatch"):
        "test_protections",
    ("CreateResourceRecordSetProtections", "NoSuchHostedZone"): "test_protections",
    ("CreateResourceRecordSetProtections", "ProtectionAlreadyExists"): "test_protections",
    ("CreateResourceRecordSetProtections", "LimitsExceeded"): "test_protections",
    ("DeleteResourceRecordSetProtections", "InvalidInput"): "here",
    ("DeleteResourceRecordSetProtections", "InvalidResourceRecordSetProtectionBatch"):
        "test_protections",
    ("DeleteResourceRecordSetProtections", "NoSuchHostedZone"): "here",
    ("ListResourceRecordSetProtections", "InvalidInput"): "test_protections",
    ("ListResourceRecordSetProtections", "NoSuchHostedZone"): "here",
    ("ListResourceRecordSetProtections", "InvalidPaginationToken"): "test_protections",
    ("UpdateHostedZoneTier", "NoSuchHostedZone"): "test_tiers",
    ("UpdateHostedZoneTier", "InvalidInput"): "here",
    ("UpdateHostedZoneFeatures", "NoSuchHostedZone"): "here",
    ("UpdateHostedZoneFeatures", "InvalidInput"): "test_tiers",
    ("UpdateHostedZoneFeatures", "LimitsExceeded"): "here",
    ("CreateHealthCheckSource", "HealthCheckSourceAlreadyExists"): "test_hcsources",
    ("CreateHealthCheckSource", "InvalidInput"): "here",
    ("CreateHealthCheckSource", "InvalidVPCId"): "test_hcsources",
    ("CreateHealthCheckSource", "TooManyHealthCheckSources"): "here",
    ("GetHealthCheckSource", "NoSuchHealthCheckSource"): "here",
    ("ListHealthCheckSources", "InvalidInput"): "here",
    ("DeleteHealthCheckSource", "NoSuchHealthCheckSource"): "test_hcsources",
    ("DeleteHealthCheckSource", "InvalidInput"): "here",
    ("ListHealthChecksBySource", "InvalidInput"): "here",
    ("ListHealthChecksBySource", "NoSuchHealthCheckSource"): "test_hcsources",
}
OPERATIONS = sorted({op for op, _ in NEVER | TESTED.keys()})


def _code(exc):
    return exc.value.response["Error"]["Code"]


def _fails(code, call, *args, **kw):
    with pytest.raises(ClientError) as e:
        call(*args, **kw)
    assert _code(e) == code, e.value.response["Error"]
    return e


def _unchecked(server):
    """A client that sends what botocore's own validation would refuse, as
    other SDKs and hand-written requests may."""
    return boto3.client("route53", endpoint_url=server.url, region_name="us-east-1",
                        aws_access_key_id=AKID, aws_secret_access_key=SECRET,
                        config=botocore.config.Config(retries={"max_attempts": 1},
                                                      parameter_validation=False))


def test_every_documented_error_is_accounted_for():
    model = botocore.loaders.Loader().load_service_model("route53", "service-2")
    for op in OPERATIONS:
        documented = {e["shape"] for e in model["operations"][op].get("errors", [])}
        ours = {err for o, err in NEVER | TESTED.keys() if o == op}
        assert documented == ours, op


def test_history_errors_per_operation(r53):
    zid = new_zone(r53, "newerrhist.example")
    r53.update_hosted_zone_tier(HostedZoneId=zid, HostedZoneTier="ADVANCED")
    change(r53, zid, ("CREATE", rrset("x.newerrhist.example", "A", ["192.0.2.1"])))
    _fails("NoSuchHostedZone", r53.get_hosted_zone_change_batch, HostedZoneId=NO_ZONE,
           ChangeId="C0000000000000000000")
    _fails("NoSuchHostedZone", r53.list_resource_record_set_changes, HostedZoneId=NO_ZONE)
    _fails("InvalidPaginationToken", r53.list_resource_record_set_changes, HostedZoneId=zid,
           NextToken="bogus")
    # a change id of another shape than Route 53's
    _fails("InvalidInput", r53.get_hosted_zone_change_batch, HostedZoneId=zid,
           ChangeId="not/a change")


def test_protection_errors_per_operation(r53):
    zid = new_zone(r53, "newerrprot.example")
    bad = [{"RecordName": "a..newerrprot.example", "RecordType": "A"}]
    _fails("InvalidInput", r53.create_resource_record_set_protections, HostedZoneId=zid,
           Protections=bad)
    _fails("InvalidInput", r53.delete_resource_record_set_protections, HostedZoneId=zid,
           Protections=bad)
    _fails("NoSuchHostedZone", r53.delete_resource_record_set_protections, HostedZoneId=NO_ZONE,
           Protections=[{"RecordName": "a.newerrprot.example", "RecordType": "A"}])
    _fails("NoSuchHostedZone", r53.list_resource_record_set_protections, HostedZoneId=NO_ZONE)


def test_tier_and_features_errors_per_operation(server, r53, monkeypatch):
    zid = new_zone(r53, "newerrtier.example")
    _fails("InvalidInput", _unchecked(server).update_hosted_zone_tier, HostedZoneId=zid,
           HostedZoneTier="PLATINUM")
    _fails("NoSuchHostedZone", r53.update_hosted_zone_features, HostedZoneId=NO_ZONE,
           EnableAcceleratedRecovery=True)


def test_features_fallback_zone_limit_is_limits_exceeded(server, r53, monkeypatch):
    define_vpc(server, VPC["VPCId"], VPC["VPCRegion"], ["10.73.0.0/16"])
    first = new_zone(r53, "fb1.newerr.internal", VPC=VPC)
    second = new_zone(r53, "fb2.newerr.internal", VPC=VPC)
    r53.update_hosted_zone_features(HostedZoneId=first, EnablePublicDNSFallback=True)
    enabled = len(zonefeatures.fallback_zones(server.cp.store))
    monkeypatch.setattr(server.cp.config, "max_public_fallback_zones", enabled)
    try:
        _fails("LimitsExceeded", r53.update_hosted_zone_features, HostedZoneId=second,
               EnablePublicDNSFallback=True)
        _fails("LimitsExceeded", r53.update_hosted_zone_features, HostedZoneId=second,
               EnablePublicDNSFallback=True, DryRun=True)
        # the zones already counted can still be set again, and turned off
        r53.update_hosted_zone_features(HostedZoneId=first, EnablePublicDNSFallback=True)
        r53.update_hosted_zone_features(HostedZoneId=first, EnablePublicDNSFallback=False)
        r53.update_hosted_zone_features(HostedZoneId=second, EnablePublicDNSFallback=True)
    finally:
        r53.update_hosted_zone_features(HostedZoneId=second, EnablePublicDNSFallback=False)


def test_health_check_source_errors_per_operation(server, r53, monkeypatch):
    define_vpc(server, "vpc-newerrsrc", "us-east-1", ["10.74.0.0/16"])
    _fails("InvalidInput", _unchecked(server).create_health_check_source,
           CallerReference="newerr-1",
           HealthCheckSourceConfig={"VpcId": "vpc-newerrsrc",
                                    "SubnetConfigurationList": SUBNETS[:1]})
    have = len(r53.list_health_check_sources()["HealthCheckSources"])
    monkeypatch.setattr(hcsources, "MAX_SOURCES", have)
    _fails("TooManyHealthCheckSources", r53.create_health_check_source,
           CallerReference="newerr-2",
           HealthCheckSourceConfig={"VpcId": "vpc-newerrsrc", "SubnetConfigurationList": SUBNETS})
    monkeypatch.setattr(hcsources, "MAX_SOURCES", have + 1)
    sid = r53.create_health_check_source(
        CallerReference="newerr-3",
        HealthCheckSourceConfig={"VpcId": "vpc-newerrsrc", "SubnetConfigurationList": SUBNETS},
    )["HealthCheckSourceId"]
    _fails("NoSuchHealthCheckSource", r53.get_health_check_source, HealthCheckSourceId="nope")
    _fails("InvalidInput", _unchecked(server).list_health_check_sources, MaxResults="0")
    _fails("InvalidInput", _unchecked(server).list_health_checks_by_source,
           HealthCheckSourceId=sid,
           MaxItems="0")
    hc = r53.create_health_check(CallerReference="newerr-hc", HealthCheckConfig={
        "Type": "TCP", "IPAddress": "10.74.0.9", "Port": 5432, "EndpointType": "PRIVATE",
        "HealthCheckSourceId": sid})["HealthCheck"]["Id"]
    _fails("InvalidInput", r53.delete_health_check_source, HealthCheckSourceId=sid)  # in use
    r53.delete_health_check(HealthCheckId=hc)
    r53.delete_health_check_source(HealthCheckSourceId=sid)
