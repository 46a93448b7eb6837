"""ChangeResourceRecordSets and health checks: a record set may name only a
check that exists (Route 53 answers InvalidChangeBatch), while a record set
whose check was deleted since can still be deleted (issue 16, item 5b)."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from helpers.route53 import change, new_zone, rrset


def _check(r53, ref):
    return r53.create_health_check(CallerReference=ref, HealthCheckConfig={
        "Type": "TCP", "IPAddress": "192.0.2.1", "Port": 80})["HealthCheck"]["Id"]


def test_missing_check_refused_whole_batch(r53):
    zone = new_zone(r53, "hc-missing.example")
    missing = "00000000-0000-0000-0000-00000000dead"
    with pytest.raises(ClientError) as e:
        change(r53, zone,
               ("CREATE", rrset("ok.hc-missing.example", "A", ["192.0.2.9"])),
               ("CREATE", rrset("w.hc-missing.example", "A", ["192.0.2.1"],
                                SetIdentifier="one", Weight=1, HealthCheckId=missing)))
    err = e.value.response["Error"]
    assert err["Code"] == "InvalidChangeBatch"
    assert missing in err["Message"]
    names = {x["Name"] for x in
             r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]}
    assert "ok.hc-missing.example." not in names  # nothing of the batch was written


def test_upsert_with_missing_check_refused(r53):
    zone = new_zone(r53, "hc-upsert.example")
    hc = _check(r53, "hc-upsert")
    change(r53, zone, ("CREATE", rrset("w.hc-upsert.example", "A", ["192.0.2.1"],
                                       SetIdentifier="one", Weight=1, HealthCheckId=hc)))
    with pytest.raises(ClientError) as e:
        change(r53, zone, ("UPSERT", rrset("w.hc-upsert.example", "A", ["192.0.2.1"],
                                           SetIdentifier="one", Weight=1,
                                           HealthCheckId=hc[:-4] + "ffff")))
    assert e.value.response["Error"]["Code"] == "InvalidChangeBatch"


def test_record_of_deleted_check_can_be_deleted(r53):
    zone = new_zone(r53, "hc-deleted.example")
    hc = _check(r53, "hc-deleted")
    rr = rrset("w.hc-deleted.example", "A", ["192.0.2.1"], SetIdentifier="one", Weight=1,
               HealthCheckId=hc)
    change(r53, zone, ("CREATE", rr))
    r53.delete_health_check(HealthCheckId=hc)  # still in use: allowed, as in Route 53
    change(r53, zone, ("DELETE", rr))
    names = {x["Name"] for x in
             r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]}
    assert "w.hc-deleted.example." not in names
