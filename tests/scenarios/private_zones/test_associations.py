"""Private hosted zones through boto3: CreateHostedZone with a VPC, VPC
associations, ListHostedZonesByVPC, cross-account authorizations, with
Route 53's errors; and what publish() receives after each change."""
from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError
from helpers.private_zones import OTHER, OWNER
from helpers.route53 import RO_AKID, RO_SECRET, change, rrset, wait_insync

VPC_A = {"VPCRegion": "us-east-1", "VPCId": "vpc-a"}
VPC_B = {"VPCRegion": "eu-west-1", "VPCId": "vpc-b"}
VPC_X = {"VPCRegion": "us-west-2", "VPCId": "vpc-x"}  # the other account's

_n = [0]


def err(excinfo):
    e = excinfo.value.response["Error"]
    return e["Code"], e["Message"], excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def private_zone(client, name, vpc=VPC_A, **kw):
    _n[0] += 1
    r = client.create_hosted_zone(Name=name, CallerReference=f"p-{time.time()}-{_n[0]}",
                                  VPC=vpc, HostedZoneConfig={"PrivateZone": True}, **kw)
    return r


def bare(zone_id):
    return zone_id.rsplit("/", 1)[-1]


def published(server, zone_id):
    """The zone as the last publish() got it (after waiting for INSYNC)."""
    return server.last_zones()[f"/hostedzone/{bare(zone_id)}"]


def test_create_private_zone_published_private(r53, server):
    r = private_zone(r53, "corp.example")
    zid = r["HostedZone"]["Id"]
    assert r["HostedZone"]["Config"]["PrivateZone"] is True
    assert r["VPC"] == VPC_A
    assert "DelegationSet" not in r
    assert wait_insync(r53, r["ChangeInfo"]["Id"])
    z = published(server, zid)
    assert z.private is True and z.vpcs == [("us-east-1", "vpc-a")]
    g = r53.get_hosted_zone(Id=zid)
    assert g["VPCs"] == [VPC_A] and "DelegationSet" not in g
    listed = {h["Id"]: h for h in r53.list_hosted_zones()["HostedZones"]}
    assert listed[zid]["Config"]["PrivateZone"] is True
    only = r53.list_hosted_zones(HostedZoneType="PrivateHostedZone")["HostedZones"]
    assert zid in {h["Id"] for h in only}
    assert all(h["Config"]["PrivateZone"] for h in only)
    # a public zone of the same name is fine (split horizon), and is published public
    pub = r53.create_hosted_zone(Name="corp.example", CallerReference=f"pub-{time.time()}")
    assert pub["HostedZone"]["Config"]["PrivateZone"] is False
    assert wait_insync(r53, pub["ChangeInfo"]["Id"])
    pz = published(server, pub["HostedZone"]["Id"])
    assert pz.private is False and pz.vpcs == []
    # every published zone says what it is
    for zone in server.published[-1]:
        assert zone.private == bool(zone.vpcs)


def test_create_private_zone_errors(r53, other):
    with pytest.raises(ClientError) as e:
        private_zone(r53, "nope.example", vpc={"VPCRegion": "us-east-1", "VPCId": "vpc-undef"})
    code, msg, status = err(e)
    assert code == "InvalidVPCId" and status == 400 and "vpc-undef" in msg
    with pytest.raises(ClientError) as e:  # defined, but in another region
        private_zone(r53, "nope.example", vpc={"VPCRegion": "us-west-1", "VPCId": "vpc-a"})
    assert err(e)[0] == "InvalidVPCId" and "us-east-1" in err(e)[1]
    with pytest.raises(ClientError) as e:  # another account's VPC
        private_zone(r53, "nope.example", vpc=VPC_X)
    assert err(e)[0] == "InvalidVPCId" and OTHER in err(e)[1]
    with pytest.raises(ClientError) as e:  # not one of Route 53's regions
        private_zone(r53, "nope.example", vpc={"VPCRegion": "mars-1", "VPCId": "vpc-a"})
    assert err(e)[0] == "InvalidInput"
    with pytest.raises(ClientError) as e:
        r53.create_hosted_zone(Name="nope.example", CallerReference="no-vpc",
                               HostedZoneConfig={"PrivateZone": True})
    assert err(e)[0] == "InvalidInput"
    # the same name in the same VPC: ConflictingDomainExists ...
    private_zone(r53, "dup.example")
    with pytest.raises(ClientError) as e:
        private_zone(r53, "DUP.example.")
    assert err(e)[0] == "ConflictingDomainExists" and "vpc-a" in err(e)[1]
    # ... but another VPC, or a parent/child name in the same VPC, is fine
    private_zone(r53, "dup.example", vpc=VPC_B)
    private_zone(r53, "sub.dup.example")
    private_zone(other, "dup.example", vpc=VPC_X)  # the other account, its own VPC


def test_associate_and_disassociate(r53, server):
    r = private_zone(r53, "assoc.example")
    zid = r["HostedZone"]["Id"]
    assert wait_insync(r53, r["ChangeInfo"]["Id"])
    server.gate.clear()  # hold the publisher: the change stays PENDING
    try:
        a = r53.associate_vpc_with_hosted_zone(HostedZoneId=zid, VPC=VPC_B, Comment="to b")
        info = a["ChangeInfo"]
        assert info["Status"] == "PENDING" and info["Comment"] == "to b"
        time.sleep(0.1)
        assert r53.get_change(Id=info["Id"])["ChangeInfo"]["Status"] == "PENDING"
    finally:
        server.gate.set()
    assert wait_insync(r53, info["Id"])
    z = published(server, zid)
    assert z.private and z.vpcs == [("us-east-1", "vpc-a"), ("eu-west-1", "vpc-b")]
    assert r53.get_hosted_zone(Id=zid)["VPCs"] == [VPC_A, VPC_B]
    lim = r53.get_hosted_zone_limit(Type="MAX_VPCS_ASSOCIATED_BY_ZONE", HostedZoneId=zid)
    assert lim["Count"] == 2 and lim["Limit"]["Value"] == 3
    # the same association again
    with pytest.raises(ClientError) as e:
        r53.associate_vpc_with_hosted_zone(HostedZoneId=zid, VPC=VPC_B)
    assert err(e)[0] == "ConflictingDomainExists"

    d = r53.disassociate_vpc_from_hosted_zone(HostedZoneId=zid, VPC=VPC_A, Comment="off a")
    assert wait_insync(r53, d["ChangeInfo"]["Id"])
    z = published(server, zid)
    assert z.private and z.vpcs == [("eu-west-1", "vpc-b")]
    assert r53.get_hosted_zone(Id=zid)["VPCs"] == [VPC_B]
    with pytest.raises(ClientError) as e:
        r53.disassociate_vpc_from_hosted_zone(HostedZoneId=zid, VPC=VPC_A)
    assert err(e)[:3:2] == ("VPCAssociationNotFound", 404)
    with pytest.raises(ClientError) as e:
        r53.disassociate_vpc_from_hosted_zone(HostedZoneId=zid, VPC=VPC_B)
    assert err(e)[:3:2] == ("LastVPCAssociation", 400)
    with pytest.raises(ClientError) as e:
        r53.disassociate_vpc_from_hosted_zone(
            HostedZoneId=zid, VPC={"VPCRegion": "us-east-1", "VPCId": "vpc-undef"})
    assert err(e)[0] == "InvalidVPCId"
    with pytest.raises(ClientError) as e:
        r53.disassociate_vpc_from_hosted_zone(HostedZoneId="ZNOSUCHZONE", VPC=VPC_B)
    assert err(e)[0] == "NoSuchHostedZone"


def test_records_of_a_private_zone_keep_its_vpcs(r53, server):
    zid = private_zone(r53, "rec.example")["HostedZone"]["Id"]
    r53.associate_vpc_with_hosted_zone(HostedZoneId=zid, VPC=VPC_B)
    c = change(r53, zid, ("CREATE", rrset("www.rec.example", "A", ["10.0.0.5"])))
    assert wait_insync(r53, c["ChangeInfo"]["Id"])  # an incremental patch of the zone
    z = published(server, zid)
    assert z.private and z.vpcs == [("us-east-1", "vpc-a"), ("eu-west-1", "vpc-b")]
    assert any(k[1] == 1 for k in z.rrsets)


def test_associate_errors(r53):
    pub = r53.create_hosted_zone(Name="public.example", CallerReference=f"pe-{time.time()}")
    with pytest.raises(ClientError) as e:
        r53.associate_vpc_with_hosted_zone(HostedZoneId=pub["HostedZone"]["Id"], VPC=VPC_A)
    assert err(e)[:3:2] == ("PublicZoneVPCAssociation", 400)
    zid = private_zone(r53, "aerr.example")["HostedZone"]["Id"]
    with pytest.raises(ClientError) as e:
        r53.associate_vpc_with_hosted_zone(
            HostedZoneId=zid, VPC={"VPCRegion": "us-east-1", "VPCId": "vpc-undef"})
    assert err(e)[0] == "InvalidVPCId"
    with pytest.raises(ClientError) as e:
        r53.associate_vpc_with_hosted_zone(HostedZoneId="ZNOSUCHZONE", VPC=VPC_A)
    assert err(e)[0] == "NoSuchHostedZone"
    # vpc-b already sees a private aerr.example: ConflictingDomainExists
    other = private_zone(r53, "aerr.example", vpc=VPC_B)["HostedZone"]["Id"]
    with pytest.raises(ClientError) as e:
        r53.associate_vpc_with_hosted_zone(HostedZoneId=zid, VPC=VPC_B)
    code, msg, _ = err(e)
    assert code == "ConflictingDomainExists" and bare(other) in msg


def test_read_only_key_refused(server):
    ro = server.client(RO_AKID, RO_SECRET)
    with pytest.raises(ClientError) as e:
        ro.associate_vpc_with_hosted_zone(HostedZoneId="ZANY", VPC=VPC_A)
    assert err(e)[:3:2] == ("AccessDenied", 403)


def test_limit_on_vpcs_per_zone(r53, server):
    # max_vpcs_per_zone = 3 in this server's configuration; define two more VPCs
    from helpers.route53 import define_vpc
    define_vpc(server, "vpc-l1", "us-east-1", ["10.50.0.0/24"])
    define_vpc(server, "vpc-l2", "us-east-1", ["10.50.1.0/24"])
    zid = private_zone(r53, "limit.example")["HostedZone"]["Id"]
    r53.associate_vpc_with_hosted_zone(HostedZoneId=zid, VPC=VPC_B)
    r53.associate_vpc_with_hosted_zone(HostedZoneId=zid,
                                       VPC={"VPCRegion": "us-east-1", "VPCId": "vpc-l1"})
    with pytest.raises(ClientError) as e:
        r53.associate_vpc_with_hosted_zone(HostedZoneId=zid,
                                           VPC={"VPCRegion": "us-east-1", "VPCId": "vpc-l2"})
    assert err(e)[0] == "LimitsExceeded"


def test_list_hosted_zones_by_vpc_pages(r53):
    zids = [private_zone(r53, f"z{i}.byvpc.example", vpc=VPC_B)["HostedZone"]["Id"]
            for i in range(5)]
    seen, token, pages = [], None, 0
    while True:
        kw = {"NextToken": token} if token else {}
        r = r53.list_hosted_zones_by_vpc(VPCId="vpc-b", VPCRegion="eu-west-1", MaxItems="2",
                                         **kw)
        pages += 1
        assert r["MaxItems"] == "2" and len(r["HostedZoneSummaries"]) <= 2
        seen += r["HostedZoneSummaries"]
        token = r.get("NextToken")
        if not token:
            break
    ids = [s["HostedZoneId"] for s in seen]
    assert len(ids) == len(set(ids))
    assert [bare(z) for z in zids] == [i for i in ids if i in {bare(z) for z in zids}]
    assert pages >= 3
    mine = [s for s in seen if s["HostedZoneId"] == bare(zids[0])][0]
    assert mine == {"HostedZoneId": bare(zids[0]), "Name": "z0.byvpc.example.",
                    "Owner": {"OwningAccount": OWNER}}
    # every zone listed really is associated with vpc-b, and nothing else is
    for s in seen:
        assert VPC_B in r53.get_hosted_zone(Id=s["HostedZoneId"])["VPCs"]
    assert r53.list_hosted_zones_by_vpc(VPCId="vpc-zz", VPCRegion="eu-west-1")[
        "HostedZoneSummaries"] == []
    with pytest.raises(ClientError) as e:
        r53.list_hosted_zones_by_vpc(VPCId="vpc-b", VPCRegion="eu-west-1", NextToken="!!bad")
    assert err(e)[0] == "InvalidPaginationToken"
    with pytest.raises(ClientError) as e:
        r53.list_hosted_zones_by_vpc(VPCId="vpc-b", VPCRegion="mars-1")
    assert err(e)[0] == "InvalidInput"


def test_cross_account_association(r53, other, server):
    r = private_zone(r53, "shared.example")
    zid = r["HostedZone"]["Id"]
    # the other account owns vpc-x; without an authorization it may not associate it
    with pytest.raises(ClientError) as e:
        other.associate_vpc_with_hosted_zone(HostedZoneId=zid, VPC=VPC_X)
    code, msg, status = err(e)
    assert (code, status) == ("NotAuthorizedException", 401) and OWNER in msg
    # the zone's owner cannot associate a VPC it does not own, authorized or not
    with pytest.raises(ClientError) as e:
        r53.associate_vpc_with_hosted_zone(HostedZoneId=zid, VPC=VPC_X)
    assert err(e)[0] == "InvalidVPCId"
    # only the zone's owner manages its authorizations
    with pytest.raises(ClientError) as e:
        other.create_vpc_association_authorization(HostedZoneId=zid, VPC=VPC_X)
    assert err(e)[0] == "NotAuthorizedException"
    with pytest.raises(ClientError) as e:
        other.list_vpc_association_authorizations(HostedZoneId=zid)
    assert err(e)[0] == "NotAuthorizedException"

    a = r53.create_vpc_association_authorization(HostedZoneId=zid, VPC=VPC_X)
    assert a["HostedZoneId"] == bare(zid) and a["VPC"] == VPC_X
    # again: the same answer, still one authorization
    r53.create_vpc_association_authorization(HostedZoneId=zid, VPC=VPC_X)
    assert r53.list_vpc_association_authorizations(HostedZoneId=zid)["VPCs"] == [VPC_X]

    c = other.associate_vpc_with_hosted_zone(HostedZoneId=zid, VPC=VPC_X)
    assert wait_insync(r53, c["ChangeInfo"]["Id"])
    z = published(server, zid)
    assert z.vpcs == [("us-east-1", "vpc-a"), ("us-west-2", "vpc-x")]
    by_vpc = other.list_hosted_zones_by_vpc(VPCId="vpc-x", VPCRegion="us-west-2")
    assert {"HostedZoneId": bare(zid), "Name": "shared.example.",
            "Owner": {"OwningAccount": OWNER}} in by_vpc["HostedZoneSummaries"]
    owned = [s for s in by_vpc["HostedZoneSummaries"] if s["Name"] == "dup.example."]
    assert owned and owned[0]["Owner"] == {"OwningAccount": OTHER}

    # deleting the authorization leaves the association; the VPC's owner may disassociate
    r53.delete_vpc_association_authorization(HostedZoneId=zid, VPC=VPC_X)
    assert r53.list_vpc_association_authorizations(HostedZoneId=zid)["VPCs"] == []
    with pytest.raises(ClientError) as e:
        r53.delete_vpc_association_authorization(HostedZoneId=zid, VPC=VPC_X)
    assert err(e)[:3:2] == ("VPCAssociationAuthorizationNotFound", 404)
    with pytest.raises(ClientError) as e:
        r53.delete_vpc_association_authorization(
            HostedZoneId=zid, VPC={"VPCRegion": "us-west-2", "VPCId": "vpc-undef"})
    assert err(e)[0] == "InvalidVPCId"
    d = other.disassociate_vpc_from_hosted_zone(HostedZoneId=zid, VPC=VPC_X)
    assert wait_insync(r53, d["ChangeInfo"]["Id"])
    assert published(server, zid).vpcs == [("us-east-1", "vpc-a")]
    # ... but not a VPC of the zone's owner
    r53.associate_vpc_with_hosted_zone(HostedZoneId=zid, VPC=VPC_B)
    with pytest.raises(ClientError) as e:
        other.disassociate_vpc_from_hosted_zone(HostedZoneId=zid, VPC=VPC_B)
    assert err(e)[0] == "NotAuthorizedException"


def test_authorization_errors_and_paging(r53, server):
    from helpers.route53 import define_vpc
    define_vpc(server, "vpc-t1", "ap-south-1", ["10.60.0.0/24"])
    define_vpc(server, "vpc-t2", "ap-south-1", ["10.60.1.0/24"])
    define_vpc(server, "vpc-t3", "ap-south-1", ["10.60.2.0/24"])
    zid = private_zone(r53, "auth.example")["HostedZone"]["Id"]
    t = [{"VPCRegion": "ap-south-1", "VPCId": f"vpc-t{i}"} for i in (1, 2, 3)]
    r53.create_vpc_association_authorization(HostedZoneId=zid, VPC=t[1])
    r53.create_vpc_association_authorization(HostedZoneId=zid, VPC=t[0])
    # max_vpc_authorizations_per_zone = 2 here
    with pytest.raises(ClientError) as e:
        r53.create_vpc_association_authorization(HostedZoneId=zid, VPC=t[2])
    assert err(e)[0] == "TooManyVPCAssociationAuthorizations"
    first = r53.list_vpc_association_authorizations(HostedZoneId=zid, MaxResults="1")
    assert first["VPCs"] == [t[0]] and first["NextToken"]
    second = r53.list_vpc_association_authorizations(HostedZoneId=zid, MaxResults="1",
                                                     NextToken=first["NextToken"])
    assert second["VPCs"] == [t[1]] and "NextToken" not in second
    with pytest.raises(ClientError) as e:
        r53.list_vpc_association_authorizations(HostedZoneId=zid, NextToken="%%%")
    assert err(e)[0] == "InvalidPaginationToken"
    with pytest.raises(ClientError) as e:
        r53.create_vpc_association_authorization(
            HostedZoneId=zid, VPC={"VPCRegion": "ap-south-1", "VPCId": "vpc-undef"})
    assert err(e)[0] == "InvalidVPCId"
    for call in (r53.create_vpc_association_authorization,
                 r53.delete_vpc_association_authorization):
        with pytest.raises(ClientError) as e:
            call(HostedZoneId="ZNOSUCHZONE", VPC=t[0])
        assert err(e)[0] == "NoSuchHostedZone"
    with pytest.raises(ClientError) as e:
        r53.list_vpc_association_authorizations(HostedZoneId="ZNOSUCHZONE")
    assert err(e)[0] == "NoSuchHostedZone"
    pub = r53.create_hosted_zone(Name="authpub.example", CallerReference=f"ap-{time.time()}")
    with pytest.raises(ClientError) as e:
        r53.create_vpc_association_authorization(HostedZoneId=pub["HostedZone"]["Id"],
                                                 VPC=t[0])
    assert err(e)[0] == "InvalidInput"
    # deleting the zone takes its authorizations with it
    d = r53.delete_hosted_zone(Id=zid)
    assert wait_insync(r53, d["ChangeInfo"]["Id"])
    assert f"/hostedzone/{bare(zid)}" not in server.last_zones()
    from zonefront.store import vpcstore
    assert vpcstore.authorizations(server.cp.store, bare(zid)) == []
