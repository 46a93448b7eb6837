"""UpdateHostedZoneTier and UpdateHostedZoneFeatures (DryRun, errors), the
fields GetHostedZone returns for them, and the change guardrails refusing
what they name with InvalidChangeBatch."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from helpers.awscli import HAVE_AWS, aws
from helpers.route53 import change, define_vpc, new_zone, rrset

VPC = {"VPCRegion": "us-east-1", "VPCId": "vpc-tiers0001"}


@pytest.fixture(scope="module")
def tiers_vpc(server):
    define_vpc(server, VPC["VPCId"], VPC["VPCRegion"], ["10.71.0.0/16"])
    return VPC


def _code(exc):
    return exc.value.response["Error"]["Code"]


def _hz(r53, zid):
    return r53.get_hosted_zone(Id=zid)["HostedZone"]


def test_tier_dry_run_and_update(r53):
    zid = new_zone(r53, "tier.example")
    r53.update_hosted_zone_tier(HostedZoneId=zid, HostedZoneTier="ADVANCED", DryRun=True)
    assert "Features" not in _hz(r53, zid)  # a dry run changes nothing
    r53.update_hosted_zone_tier(HostedZoneId=zid, HostedZoneTier="ADVANCED")
    hz = _hz(r53, zid)
    assert hz["Config"]["HostedZoneTier"] == "ADVANCED"
    assert hz["Features"]["ChangeHistory"]["Status"] == "ENABLED"
    assert "RetentionStartsAt" in hz["Features"]["ChangeHistory"]
    r53.update_hosted_zone_tier(HostedZoneId=zid, HostedZoneTier="STANDARD")
    hz = _hz(r53, zid)
    assert hz["Config"]["HostedZoneTier"] == "STANDARD"
    assert hz["Features"]["ChangeHistory"] == {"Status": "DISABLED"}


def test_tier_at_creation(r53):
    zid = new_zone(r53, "tiercreate.example",
                   HostedZoneConfig={"HostedZoneTier": "ADVANCED"})
    assert _hz(r53, zid)["Config"]["HostedZoneTier"] == "ADVANCED"


def test_tier_errors(r53):
    with pytest.raises(ClientError) as e:
        r53.update_hosted_zone_tier(HostedZoneId="ZNOSUCHZONE000000000",
                                    HostedZoneTier="ADVANCED")
    assert _code(e) == "NoSuchHostedZone"


def test_features_fallback_private_only_and_dry_run(r53, tiers_vpc):
    pub = new_zone(r53, "featpub.example")
    with pytest.raises(ClientError) as e:
        r53.update_hosted_zone_features(HostedZoneId=pub, EnablePublicDNSFallback=True)
    assert _code(e) == "InvalidInput"
    with pytest.raises(ClientError) as e:
        r53.update_hosted_zone_features(HostedZoneId=pub)
    assert _code(e) == "InvalidInput"
    priv = new_zone(r53, "featpriv.example", VPC=VPC)
    r53.update_hosted_zone_features(HostedZoneId=priv, EnablePublicDNSFallback=True,
                                    DryRun=True)
    assert "Features" not in _hz(r53, priv)
    r53.update_hosted_zone_features(HostedZoneId=priv, EnablePublicDNSFallback=True,
                                    EnableAcceleratedRecovery=True)
    f = _hz(r53, priv)["Features"]
    assert f["PublicDNSFallbackStatus"] == "ENABLED"
    assert f["AcceleratedRecoveryStatus"] == "ENABLED"
    r53.update_hosted_zone_features(HostedZoneId=priv, EnablePublicDNSFallback=False)
    f = _hz(r53, priv)["Features"]
    assert f["PublicDNSFallbackStatus"] == "DISABLED"
    assert f["AcceleratedRecoveryStatus"] == "ENABLED"  # untouched members keep their value
    with pytest.raises(ClientError) as e:
        r53.update_hosted_zone_features(HostedZoneId="ZNOSUCHZONE000000000",
                                        EnableAcceleratedRecovery=True)
    assert _code(e) == "NoSuchHostedZone"


def _rails(r53, zid, *names, status="ENABLED"):
    r53.update_hosted_zone_features(HostedZoneId=zid, ChangeGuardrails=[
        {"Name": n, "Status": status} for n in names])


def test_guardrails_refuse_what_they_name(r53):
    zid = new_zone(r53, "rails.example")
    change(r53, zid, ("CREATE", rrset("www.rails.example", "A", ["192.0.2.1"])),
           ("CREATE", rrset("sub.rails.example", "NS", ["ns1.elsewhere.example."])),
           ("CREATE", rrset("x.below.rails.example", "A", ["192.0.2.5"])))
    _rails(r53, zid, "ACTIVE_RECORD_CHECK", "ACTIVE_DELEGATION_CHECK", "NS_FORMAT_CHECK",
           "NS_OCCLUSION_CHECK", "NS_DELEGATION_AUTHORITY_CHECK")
    f = _hz(r53, zid)["Features"]
    assert {g["Name"] for g in f["ChangeGuardrails"] if g["Status"] == "ENABLED"} == {
        "ACTIVE_RECORD_CHECK", "ACTIVE_DELEGATION_CHECK", "NS_FORMAT_CHECK",
        "NS_OCCLUSION_CHECK", "NS_DELEGATION_AUTHORITY_CHECK"}
    refused = [
        ("DELETE", rrset("sub.rails.example", "NS", ["ns1.elsewhere.example."])),
        ("CREATE", rrset("bad.rails.example", "NS", ["192.0.2.53"])),
        ("CREATE", rrset("below.rails.example", "NS", ["ns1.elsewhere.example."])),
        ("UPSERT", rrset("rails.example", "NS", ["ns1.other.example."], ttl=172800)),
    ]
    for c in refused:
        with pytest.raises(ClientError) as e:
            change(r53, zid, c)
        assert _code(e) == "InvalidChangeBatch", c
    # deleting the last address record sets is refused; one of two is not
    with pytest.raises(ClientError) as e:
        change(r53, zid, ("DELETE", rrset("www.rails.example", "A", ["192.0.2.1"])),
               ("DELETE", rrset("x.below.rails.example", "A", ["192.0.2.5"])))
    assert "ACTIVE_RECORD_CHECK" in str(e.value)
    change(r53, zid, ("DELETE", rrset("www.rails.example", "A", ["192.0.2.1"])))
    # disabled again: the same change goes through
    _rails(r53, zid, "ACTIVE_DELEGATION_CHECK", status="DISABLED")
    change(r53, zid, ("DELETE", rrset("sub.rails.example", "NS", ["ns1.elsewhere.example."])))


def test_guardrail_errors(r53):
    zid = new_zone(r53, "railerr.example")
    with pytest.raises(ClientError) as e:
        _rails(r53, zid, "NS_FORMAT_CHECK", "NS_FORMAT_CHECK")
    assert _code(e) == "InvalidInput"


@pytest.mark.skipif(not HAVE_AWS, reason="aws CLI not installed")
def test_aws_cli_tier_and_features(server, r53, tiers_vpc):
    zid = new_zone(r53, "clitier.example", VPC=VPC)
    aws(server, "update-hosted-zone-tier", "--hosted-zone-id", zid, "--hosted-zone-tier",
        "ADVANCED")
    aws(server, "update-hosted-zone-features", "--hosted-zone-id", zid,
        "--enable-public-dns-fallback")
    hz = aws(server, "get-hosted-zone", "--id", zid)["HostedZone"]
    assert hz["Config"]["HostedZoneTier"] == "ADVANCED"
    assert hz["Features"]["PublicDNSFallbackStatus"] == "ENABLED"
    err = aws(server, "update-hosted-zone-tier", "--hosted-zone-id", zid,
              "--hosted-zone-tier", "PLATINUM", ok=False)
    assert "PLATINUM" in err or "InvalidInput" in err


def test_unknown_tier_is_invalid_input(r53):
    zid = new_zone(r53, "tierbad.example")
    with pytest.raises(ClientError) as e:
        r53.update_hosted_zone_tier(HostedZoneId=zid, HostedZoneTier="PLATINUM")
    assert _code(e) == "InvalidInput"
    with pytest.raises(ClientError) as e:
        r53.update_hosted_zone_features(HostedZoneId=zid, ChangeGuardrails=[
            {"Name": "NO_SUCH_CHECK", "Status": "ENABLED"}])
    assert _code(e) == "InvalidInput"
