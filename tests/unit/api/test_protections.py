"""Record-set protections: Create/Delete/ListResourceRecordSetProtections
with boto3 and the AWS CLI, and a protected name+type refusing every change
(UPSERT, DELETE, zone import, the traffic-policy hook) until the protection
is deleted."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from helpers.awscli import HAVE_AWS, aws
from helpers.route53 import change, new_zone, rrset

from zonefront.api import protections
from zonefront.aws.route53_errors import Route53Error
from zonefront.api.zoneio import ZoneIOError, import_zone


def _values(r53, zid, name, rtype):
    for s in r53.list_resource_record_sets(HostedZoneId=zid)["ResourceRecordSets"]:
        if s["Name"] == name and s["Type"] == rtype:
            return [v["Value"] for v in s["ResourceRecords"]]
    return None


def _protect(r53, zid, *keys, comment=None):
    return r53.create_resource_record_set_protections(HostedZoneId=zid, Protections=[
        {"RecordName": n, "RecordType": t, **({"Comment": comment} if comment else {})}
        for n, t in keys])


def _code(exc):
    return exc.value.response["Error"]["Code"]


ZONE_FILE = """$ORIGIN prot.example.
$TTL 300
@   IN SOA ns1.prot.example. admin.prot.example. 1 7200 900 1209600 300
@   IN NS  ns1.prot.example.
www IN A   198.51.100.9
other IN A 198.51.100.10
"""


def test_protected_rrset_survives_upsert_delete_import_and_policy_hook(server, r53, tmp_path):
    zid = new_zone(r53, "prot.example")
    change(r53, zid, ("CREATE", rrset("www.prot.example", "A", ["192.0.2.1"])))
    _protect(r53, zid, ("WWW.prot.example", "A"), comment="keep")
    listed = r53.list_resource_record_set_protections(HostedZoneId=zid)
    assert listed["ResourceRecordSetProtections"] == [
        {"RecordName": "www.prot.example.", "RecordType": "A", "Comment": "keep"}]

    with pytest.raises(ClientError) as e:
        change(r53, zid, ("UPSERT", rrset("www.prot.example", "A", ["192.0.2.2"])))
    assert _code(e) == "InvalidChangeBatch" and "protected" in str(e.value)
    with pytest.raises(ClientError) as e:
        change(r53, zid, ("DELETE", rrset("www.prot.example", "A", ["192.0.2.1"])))
    assert _code(e) == "InvalidChangeBatch"
    # the whole batch is refused, not only its protected change
    with pytest.raises(ClientError):
        change(r53, zid, ("CREATE", rrset("new.prot.example", "A", ["192.0.2.7"])),
               ("UPSERT", rrset("www.prot.example", "A", ["192.0.2.2"])))
    assert _values(r53, zid, "new.prot.example.", "A") is None
    # another type at the same name is not protected
    change(r53, zid, ("CREATE", rrset("www.prot.example", "TXT", ['"ok"'])))

    f = tmp_path / "prot.zone"
    f.write_text(ZONE_FILE)
    with pytest.raises(ZoneIOError, match="protected"):
        import_zone(server.cp.config.data_dir, zid, str(f), server.cp.config)
    assert _values(r53, zid, "other.prot.example.", "A") is None  # nothing imported

    # the hook a traffic policy instance's writer calls before writing
    with pytest.raises(Route53Error) as e:
        protections.check(server.cp.service.store, zid.split("/")[-1],
                          [("www.prot.example.", "A")])
    assert e.value.code == "InvalidChangeBatch"
    protections.check(server.cp.service.store, zid.split("/")[-1],
                      [("www.prot.example.", "AAAA")])
    assert _values(r53, zid, "www.prot.example.", "A") == ["192.0.2.1"]

    r53.delete_resource_record_set_protections(HostedZoneId=zid, Protections=[
        {"RecordName": "www.prot.example.", "RecordType": "A"}])
    assert r53.list_resource_record_set_protections(
        HostedZoneId=zid)["ResourceRecordSetProtections"] == []
    change(r53, zid, ("UPSERT", rrset("www.prot.example", "A", ["192.0.2.2"])))
    assert _values(r53, zid, "www.prot.example.", "A") == ["192.0.2.2"]
    import_zone(server.cp.config.data_dir, zid, str(f), server.cp.config)
    assert _values(r53, zid, "www.prot.example.", "A") == ["198.51.100.9"]


def test_import_leaving_protected_set_unchanged_is_allowed(server, r53, tmp_path):
    zid = new_zone(r53, "prot.example")
    change(r53, zid, ("CREATE", rrset("www.prot.example", "A", ["198.51.100.9"])))
    _protect(r53, zid, ("www.prot.example", "A"))
    f = tmp_path / "same.zone"
    f.write_text(ZONE_FILE)
    import_zone(server.cp.config.data_dir, zid, str(f), server.cp.config)
    assert _values(r53, zid, "other.prot.example.", "A") == ["198.51.100.10"]


def test_protection_errors(r53):
    zid = new_zone(r53, "perr.example")
    _protect(r53, zid, ("a.perr.example", "A"))
    with pytest.raises(ClientError) as e:
        _protect(r53, zid, ("a.perr.example", "A"), ("b.perr.example", "A"))
    assert _code(e) == "ProtectionAlreadyExists"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    # nothing of the refused batch was created
    names = [p["RecordName"] for p in r53.list_resource_record_set_protections(
        HostedZoneId=zid)["ResourceRecordSetProtections"]]
    assert names == ["a.perr.example."]
    with pytest.raises(ClientError) as e:
        _protect(r53, zid, ("c.perr.example", "A"), ("C.perr.example.", "A"))
    assert _code(e) == "InvalidResourceRecordSetProtectionBatch"
    with pytest.raises(ClientError) as e:
        r53.delete_resource_record_set_protections(HostedZoneId=zid, Protections=[
            {"RecordName": "zz.perr.example", "RecordType": "A"}])
    assert _code(e) == "InvalidResourceRecordSetProtectionBatch"
    with pytest.raises(ClientError) as e:
        _protect(r53, "/hostedzone/ZNOSUCHZONE000000000", ("a.perr.example", "A"))
    assert _code(e) == "NoSuchHostedZone"
    with pytest.raises(ClientError) as e:
        r53.list_resource_record_set_protections(HostedZoneId=zid, NextToken="%%%")
    assert _code(e) == "InvalidPaginationToken"
    with pytest.raises(ClientError) as e:
        r53.list_resource_record_set_protections(HostedZoneId=zid, MaxResults="0")
    assert _code(e) == "InvalidInput"


def test_list_pagination_and_start(r53):
    zid = new_zone(r53, "pages.example")
    keys = [("b.pages.example", "A"), ("a.pages.example", "TXT"), ("a.pages.example", "A"),
            ("x.a.pages.example", "A")]
    _protect(r53, zid, *keys)
    order = ["a.pages.example. A", "a.pages.example. TXT", "x.a.pages.example. A",
             "b.pages.example. A"]  # Route 53's order: labels reversed, then type
    got, token = [], None
    while True:
        kw = {"NextToken": token} if token else {}
        page = r53.list_resource_record_set_protections(HostedZoneId=zid, MaxResults="3",
                                                        **kw)
        got += [f"{p['RecordName']} {p['RecordType']}"
                for p in page["ResourceRecordSetProtections"]]
        assert len(page["ResourceRecordSetProtections"]) <= 3
        token = page.get("NextToken")
        if not token:
            break
    assert got == order
    start = r53.list_resource_record_set_protections(
        HostedZoneId=zid, StartRecordName="a.pages.example", StartRecordType="TXT")
    assert [p["RecordName"] + " " + p["RecordType"]
            for p in start["ResourceRecordSetProtections"]] == order[1:]


@pytest.mark.skipif(not HAVE_AWS, reason="aws CLI not installed")
def test_aws_cli_protections(server, r53):
    zid = new_zone(r53, "cliprot.example")
    aws(server, "create-resource-record-set-protections", "--hosted-zone-id", zid,
        "--protections", "RecordName=www.cliprot.example,RecordType=A,Comment=lock")
    out = aws(server, "list-resource-record-set-protections", "--hosted-zone-id", zid)
    assert out["ResourceRecordSetProtections"] == [
        {"RecordName": "www.cliprot.example.", "RecordType": "A", "Comment": "lock"}]
    err = aws(server, "create-resource-record-set-protections", "--hosted-zone-id", zid,
              "--protections", "RecordName=www.cliprot.example,RecordType=A", ok=False)
    assert "ProtectionAlreadyExists" in err
    aws(server, "delete-resource-record-set-protections", "--hosted-zone-id", zid,
        "--protections", "RecordName=www.cliprot.example,RecordType=A")
    err = aws(server, "delete-resource-record-set-protections", "--hosted-zone-id", zid,
              "--protections", "RecordName=www.cliprot.example,RecordType=A", ok=False)
    assert "InvalidResourceRecordSetProtectionBatch" in err


def test_protection_quota_is_limits_exceeded(r53, monkeypatch):
    monkeypatch.setattr(protections, "MAX_PER_ZONE", 2)
    zid = new_zone(r53, "quota.example")
    _protect(r53, zid, ("a.quota.example", "A"), ("b.quota.example", "A"))
    with pytest.raises(ClientError) as e:
        _protect(r53, zid, ("c.quota.example", "A"))
    assert _code(e) == "LimitsExceeded"
