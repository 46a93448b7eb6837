"""Hosted zones, delegation sets, limits, counts and tags through boto3."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from helpers.route53 import change, define_vpc, new_zone, rrset, wait_insync


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def status(excinfo):
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_create_get_zone_with_soa_ns(r53, server):
    r = r53.create_hosted_zone(Name="Zones.Example.", CallerReference="cz-1",
                               HostedZoneConfig={"Comment": "first"})
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 201
    hz = r["HostedZone"]
    assert hz["Id"].startswith("/hostedzone/Z") and hz["Name"] == "zones.example."
    assert hz["Config"] == {"Comment": "first", "PrivateZone": False}
    assert hz["ResourceRecordSetCount"] == 2
    assert r["Location"].endswith("/2013-04-01/hostedzone/" + hz["Id"].split("/")[-1])
    assert r["ChangeInfo"]["Status"] == "PENDING" and r["ChangeInfo"]["Id"].startswith("/change/C")
    ns = r["DelegationSet"]["NameServers"]
    assert ns == ["ns1.zonefront.local.", "ns2.zonefront.local.", "ns3.zonefront.local.",
                  "ns4.zonefront.local."]
    g = r53.get_hosted_zone(Id=hz["Id"])
    assert g["HostedZone"] == hz and g["DelegationSet"]["NameServers"] == ns
    rr = r53.list_resource_record_sets(HostedZoneId=hz["Id"])["ResourceRecordSets"]
    assert [(x["Name"], x["Type"]) for x in rr] == [("zones.example.", "NS"),
                                                    ("zones.example.", "SOA")]
    assert rr[0]["TTL"] == 172800 and [v["Value"] for v in rr[0]["ResourceRecords"]] == ns
    assert rr[1]["ResourceRecords"][0]["Value"].startswith(
        "ns1.zonefront.local. hostmaster.zones.example. 1 ")
    assert wait_insync(r53, r["ChangeInfo"]["Id"])
    served = server.last_zones()[hz["Id"]]
    assert served.soa is not None and served.serial == 1


def test_caller_reference_reuse(r53):
    r53.create_hosted_zone(Name="dup.example", CallerReference="same-ref")
    with pytest.raises(ClientError) as e:
        r53.create_hosted_zone(Name="other.example", CallerReference="same-ref")
    assert code(e) == "HostedZoneAlreadyExists" and status(e) == 409


def test_invalid_domain_name(r53):
    with pytest.raises(ClientError) as e:
        r53.create_hosted_zone(Name="bad..name", CallerReference="bad-name")
    assert code(e) == "InvalidDomainName"


def test_private_zone_needs_vpc_and_reports_vpcs(r53, server):
    define_vpc(server, "vpc-1", "us-east-1", ["10.1.0.0/16"])
    with pytest.raises(ClientError) as e:
        r53.create_hosted_zone(Name="priv.example", CallerReference="p0",
                               HostedZoneConfig={"PrivateZone": True})
    assert code(e) == "InvalidInput"
    r = r53.create_hosted_zone(Name="priv.example", CallerReference="p1",
                               VPC={"VPCRegion": "us-east-1", "VPCId": "vpc-1"})
    assert r["HostedZone"]["Config"]["PrivateZone"] is True
    assert r["VPC"] == {"VPCRegion": "us-east-1", "VPCId": "vpc-1"}
    g = r53.get_hosted_zone(Id=r["HostedZone"]["Id"])
    assert g["VPCs"] == [{"VPCRegion": "us-east-1", "VPCId": "vpc-1"}]
    lim = r53.get_hosted_zone_limit(Type="MAX_VPCS_ASSOCIATED_BY_ZONE",
                                    HostedZoneId=r["HostedZone"]["Id"])
    assert lim["Count"] == 1
    pub = new_zone(r53, "pub.example")
    with pytest.raises(ClientError) as e:
        r53.get_hosted_zone_limit(Type="MAX_VPCS_ASSOCIATED_BY_ZONE", HostedZoneId=pub)
    assert code(e) == "HostedZoneNotPrivate"


def test_no_such_zone(r53):
    for call in (lambda: r53.get_hosted_zone(Id="ZNOPE"),
                 lambda: r53.delete_hosted_zone(Id="/hostedzone/ZNOPE"),
                 lambda: r53.list_resource_record_sets(HostedZoneId="ZNOPE"),
                 lambda: r53.update_hosted_zone_comment(Id="ZNOPE", Comment="x")):
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == "NoSuchHostedZone" and status(e) == 404
        assert "ZNOPE" in e.value.response["Error"]["Message"]


def test_list_zones_paging_and_count(r53):
    ids = [new_zone(r53, f"page{i}.example") for i in range(5)]
    seen, marker = [], None
    while True:
        kw = {"MaxItems": "2"}
        if marker:
            kw["Marker"] = marker
        r = r53.list_hosted_zones(**kw)
        assert r["MaxItems"] == "2" and len(r["HostedZones"]) <= 2
        seen += [z["Id"] for z in r["HostedZones"]]
        if not r["IsTruncated"]:
            break
        marker = r["NextMarker"]
    assert set(ids) <= set(seen) and len(seen) == len(set(seen))
    assert r53.get_hosted_zone_count()["HostedZoneCount"] == len(seen)
    paged = [z["Id"] for p in r53.get_paginator("list_hosted_zones").paginate(
        PaginationConfig={"PageSize": 3}) for z in p["HostedZones"]]
    assert paged == seen


def test_list_zones_by_name(r53):
    for n in ("b.byname.test", "a.byname.test", "byname.test", "c.byname.test"):
        new_zone(r53, n)
    r = r53.list_hosted_zones_by_name(DNSName="byname.test", MaxItems="2")
    assert [z["Name"] for z in r["HostedZones"]] == ["byname.test.", "a.byname.test."]
    assert r["DNSName"] == "byname.test" and r["IsTruncated"]
    r2 = r53.list_hosted_zones_by_name(DNSName=r["NextDNSName"],
                                       HostedZoneId=r["NextHostedZoneId"], MaxItems="2")
    assert [z["Name"] for z in r2["HostedZones"]] == ["b.byname.test.", "c.byname.test."]
    with pytest.raises(ClientError) as e:
        r53.list_hosted_zones_by_name(HostedZoneId="Z123")
    assert code(e) == "InvalidInput"


def test_update_comment(r53):
    zid = new_zone(r53, "comment.example")
    r = r53.update_hosted_zone_comment(Id=zid, Comment="new words")
    assert r["HostedZone"]["Config"]["Comment"] == "new words"
    assert r53.get_hosted_zone(Id=zid)["HostedZone"]["Config"]["Comment"] == "new words"


def test_delete_zone_not_empty_then_deleted(r53, server):
    zid = new_zone(r53, "del.example")
    change(r53, zid, ("CREATE", rrset("www.del.example", "A", ["192.0.2.1"])))
    with pytest.raises(ClientError) as e:
        r53.delete_hosted_zone(Id=zid)
    assert code(e) == "HostedZoneNotEmpty" and status(e) == 400
    change(r53, zid, ("DELETE", rrset("www.del.example", "A", ["192.0.2.1"])))
    r = r53.delete_hosted_zone(Id=zid)
    assert wait_insync(r53, r["ChangeInfo"]["Id"])
    assert zid not in server.last_zones()
    with pytest.raises(ClientError) as e:
        r53.get_hosted_zone(Id=zid)
    assert code(e) == "NoSuchHostedZone"


def test_limits(r53):
    zid = new_zone(r53, "limit.example")
    r = r53.get_hosted_zone_limit(Type="MAX_RRSETS_BY_ZONE", HostedZoneId=zid)
    assert r["Limit"] == {"Type": "MAX_RRSETS_BY_ZONE", "Value": 10000} and r["Count"] == 2
    a = r53.get_account_limit(Type="MAX_HOSTED_ZONES_BY_OWNER")
    assert a["Limit"]["Value"] == 500 and a["Count"] >= 1
    with pytest.raises(ClientError) as e:
        r53.get_hosted_zone_limit(Type="MAX_RRSETS_BY_ZONE", HostedZoneId="ZNOPE")
    assert code(e) == "NoSuchHostedZone"


def test_reusable_delegation_sets(r53):
    r = r53.create_reusable_delegation_set(CallerReference="ds-1")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 201
    ds = r["DelegationSet"]
    assert ds["Id"].startswith("/delegationset/N") and ds["CallerReference"] == "ds-1"
    assert r["Location"].endswith(ds["Id"].split("/")[-1])
    with pytest.raises(ClientError) as e:
        r53.create_reusable_delegation_set(CallerReference="ds-1")
    assert code(e) == "DelegationSetAlreadyCreated"
    assert r53.get_reusable_delegation_set(Id=ds["Id"])["DelegationSet"] == ds
    listed = r53.list_reusable_delegation_sets()["DelegationSets"]
    assert ds in listed
    z = r53.create_hosted_zone(Name="ds.example", CallerReference="ds-zone",
                               DelegationSetId=ds["Id"])
    assert z["DelegationSet"]["Id"] == ds["Id"]
    assert [x["Id"] for x in r53.list_hosted_zones(DelegationSetId=ds["Id"])["HostedZones"]] \
        == [z["HostedZone"]["Id"]]
    lim = r53.get_reusable_delegation_set_limit(
        Type="MAX_ZONES_BY_REUSABLE_DELEGATION_SET", DelegationSetId=ds["Id"])
    assert lim["Count"] == 1 and lim["Limit"]["Value"] == 100
    with pytest.raises(ClientError) as e:
        r53.delete_reusable_delegation_set(Id=ds["Id"])
    assert code(e) == "DelegationSetInUse"
    r53.delete_hosted_zone(Id=z["HostedZone"]["Id"])
    r53.delete_reusable_delegation_set(Id=ds["Id"])
    with pytest.raises(ClientError) as e:
        r53.get_reusable_delegation_set(Id=ds["Id"])
    assert code(e) == "NoSuchDelegationSet" and status(e) == 400  # as the model says
    with pytest.raises(ClientError) as e:
        r53.create_hosted_zone(Name="x.example", CallerReference="ds-zone-2",
                               DelegationSetId=ds["Id"])
    assert code(e) == "NoSuchDelegationSet"


def test_delegation_set_from_zone(r53):
    zid = new_zone(r53, "fromzone.example")
    r = r53.create_reusable_delegation_set(CallerReference="ds-fz", HostedZoneId=zid)
    assert r53.get_hosted_zone(Id=zid)["DelegationSet"]["Id"] == r["DelegationSet"]["Id"]
    with pytest.raises(ClientError) as e:
        r53.create_reusable_delegation_set(CallerReference="ds-fz2", HostedZoneId=zid)
    assert code(e) == "DelegationSetAlreadyReusable"
    with pytest.raises(ClientError) as e:
        r53.create_reusable_delegation_set(CallerReference="ds-fz3", HostedZoneId="ZNOPE")
    assert code(e) == "HostedZoneNotFound"


def test_tags(r53):
    zid = new_zone(r53, "tags.example")
    bare = zid.split("/")[-1]
    r53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=bare,
                                 AddTags=[{"Key": "env", "Value": "prod"},
                                          {"Key": "team", "Value": "dns"}])
    t = r53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=bare)
    assert t["ResourceTagSet"] == {"ResourceType": "hostedzone", "ResourceId": bare,
                                   "Tags": [{"Key": "env", "Value": "prod"},
                                            {"Key": "team", "Value": "dns"}]}
    r53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=bare,
                                 AddTags=[{"Key": "env", "Value": "dev"}],
                                 RemoveTagKeys=["team"])
    z2 = new_zone(r53, "tags2.example").split("/")[-1]
    many = r53.list_tags_for_resources(ResourceType="hostedzone", ResourceIds=[bare, z2])
    assert many["ResourceTagSets"] == [
        {"ResourceType": "hostedzone", "ResourceId": bare,
         "Tags": [{"Key": "env", "Value": "dev"}]},
        {"ResourceType": "hostedzone", "ResourceId": z2, "Tags": []}]
    with pytest.raises(ClientError) as e:
        r53.list_tags_for_resource(ResourceType="hostedzone", ResourceId="ZNOPE")
    assert code(e) == "NoSuchHostedZone"
    with pytest.raises(ClientError) as e:
        r53.change_tags_for_resource(ResourceType="healthcheck",
                                     ResourceId="11111111-2222-3333-4444-555555555555",
                                     AddTags=[{"Key": "a", "Value": "b"}])
    assert code(e) == "NoSuchHealthCheck"
    with pytest.raises(ClientError) as e:
        r53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=bare,
                                     AddTags=[{"Key": f"k{i}", "Value": "v"} for i in range(11)])
    assert code(e) == "InvalidInput"


def test_get_change_unknown(r53):
    with pytest.raises(ClientError) as e:
        r53.get_change(Id="/change/CNOPE")
    assert code(e) == "NoSuchChange" and status(e) == 404


def test_get_dnssec_reports_an_unsigned_zone(r53):
    zid = r53.create_hosted_zone(Name="dnssec.example.", CallerReference="dnssec-1")[
        "HostedZone"]["Id"]
    r = r53.get_dnssec(HostedZoneId=zid)
    assert r["Status"] == {"ServeSignature": "NOT_SIGNING"}
    assert r["KeySigningKeys"] == []
    with pytest.raises(ClientError) as e:
        r53.get_dnssec(HostedZoneId="Z0000000000000NOSUCH")
    assert code(e) == "NoSuchHostedZone" and status(e) == 404
