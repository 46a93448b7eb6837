"""CIDR collections (IP-based routing) and geolocation codes through boto3,
with Route 53's errors; what publish gets through cidr_collections()."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from helpers.route53 import change, new_zone, rrset, wait_insync


def err(excinfo):
    e = excinfo.value.response["Error"]
    return e["Code"], e["Message"], excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def cidr_rr(name, value, sid, coll, loc):
    return rrset(name, "A", [value], SetIdentifier=sid,
                 CidrRoutingConfig={"CollectionId": coll, "LocationName": loc})


def test_collection_lifecycle(r53, server):
    c = r53.create_cidr_collection(Name="life", CallerReference="life-1")
    coll = c["Collection"]
    cid = coll["Id"]
    assert coll["Name"] == "life" and coll["Version"] == 1
    assert coll["Arn"] == f"arn:aws:route53:::cidrcollection/{cid}"
    assert c["Location"].endswith(f"/2013-04-01/cidrcollection/{cid}")
    # the same request again is answered the same; a name clash is refused
    assert r53.create_cidr_collection(Name="life", CallerReference="life-1")[
        "Collection"]["Id"] == cid
    with pytest.raises(ClientError) as e:
        r53.create_cidr_collection(Name="life", CallerReference="life-2")
    assert err(e)[0] == "CidrCollectionAlreadyExistsException"

    r = r53.change_cidr_collection(Id=cid, CollectionVersion=1, Changes=[
        {"LocationName": "office", "Action": "PUT",
         "CidrList": ["198.51.100.0/24", "2001:db8:aa::/48"]},
        {"LocationName": "branch", "Action": "PUT", "CidrList": ["203.0.113.0/24"]}])
    assert wait_insync(r53, r["Id"])
    assert server.cp.cidr_collections()[cid] == {
        "branch": ["203.0.113.0/24"], "office": ["198.51.100.0/24", "2001:db8:aa::/48"]}
    locs = r53.list_cidr_locations(CollectionId=cid)["CidrLocations"]
    assert [x["LocationName"] for x in locs] == ["branch", "office"]
    blocks = r53.list_cidr_blocks(CollectionId=cid)["CidrBlocks"]
    assert {(b["CidrBlock"], b["LocationName"]) for b in blocks} == {
        ("198.51.100.0/24", "office"), ("2001:db8:aa::/48", "office"),
        ("203.0.113.0/24", "branch")}
    only = r53.list_cidr_blocks(CollectionId=cid, LocationName="branch")["CidrBlocks"]
    assert only == [{"CidrBlock": "203.0.113.0/24", "LocationName": "branch"}]
    listed = r53.list_cidr_collections()["CidrCollections"]
    assert {"Arn": coll["Arn"], "Id": cid, "Name": "life", "Version": 2} in listed

    # a stale version is a conflict (409)
    with pytest.raises(ClientError) as e:
        r53.change_cidr_collection(Id=cid, CollectionVersion=1, Changes=[
            {"LocationName": "x", "Action": "PUT", "CidrList": ["192.0.2.0/24"]}])
    assert err(e)[0] == "CidrCollectionVersionMismatchException" and err(e)[2] == 409
    # DELETE_IF_EXISTS of something absent is fine; deleting a location's last block
    # removes the location
    r53.change_cidr_collection(Id=cid, Changes=[
        {"LocationName": "branch", "Action": "DELETE_IF_EXISTS",
         "CidrList": ["203.0.113.0/24", "192.0.2.0/24"]}])
    assert [x["LocationName"] for x in r53.list_cidr_locations(CollectionId=cid)[
        "CidrLocations"]] == ["office"]
    with pytest.raises(ClientError) as e:
        r53.list_cidr_blocks(CollectionId=cid, LocationName="branch")
    assert err(e)[0] == "NoSuchCidrLocationException" and err(e)[2] == 404

    r53.delete_cidr_collection(Id=cid)
    assert cid not in server.cp.cidr_collections()
    with pytest.raises(ClientError) as e:
        r53.delete_cidr_collection(Id=cid)
    assert err(e)[0] == "NoSuchCidrCollectionException" and err(e)[2] == 404


@pytest.mark.parametrize("blocks, words", [
    (["198.51.100.1/24"], "not a valid CIDR"),
    (["not-a-cidr"], "not a valid CIDR"),
    (["198.51.100.0/28"], "longer than /24"),
    (["2001:db8::/64"], "longer than /48"),
])
def test_bad_blocks(r53, blocks, words):
    cid = r53.create_cidr_collection(Name=f"bad{abs(hash(words)) % 1000}-{len(blocks[0])}",
                                     CallerReference=f"bad-{blocks[0]}")["Collection"]["Id"]
    try:
        with pytest.raises(ClientError) as e:
            r53.change_cidr_collection(Id=cid, Changes=[
                {"LocationName": "x", "Action": "PUT", "CidrList": blocks}])
        assert err(e)[0] == "InvalidInput" and words in err(e)[1]
    finally:
        r53.delete_cidr_collection(Id=cid)


def test_block_in_two_locations_and_bad_names(r53):
    cid = r53.create_cidr_collection(Name="twice", CallerReference="twice")["Collection"]["Id"]
    try:
        r53.change_cidr_collection(Id=cid, Changes=[
            {"LocationName": "a", "Action": "PUT", "CidrList": ["192.0.2.0/24"]}])
        with pytest.raises(ClientError) as e:
            r53.change_cidr_collection(Id=cid, Changes=[
                {"LocationName": "b", "Action": "PUT", "CidrList": ["192.0.2.0/24"]}])
        assert err(e)[0] == "InvalidInput" and "already in location a" in err(e)[1]
        with pytest.raises(ClientError) as e:
            r53.change_cidr_collection(Id=cid, Changes=[
                {"LocationName": "*", "Action": "PUT", "CidrList": ["192.0.3.0/24"]}])
        assert err(e)[0] == "InvalidInput"
        with pytest.raises(ClientError) as e:
            r53.change_cidr_collection(Id="0c6dd5d3-0000-4000-8000-000000000000", Changes=[
                {"LocationName": "a", "Action": "PUT", "CidrList": ["192.0.3.0/24"]}])
        assert err(e)[0] == "NoSuchCidrCollectionException"
        with pytest.raises(ClientError) as e:
            r53.list_cidr_locations(CollectionId="0c6dd5d3-0000-4000-8000-000000000000")
        assert err(e)[0] == "NoSuchCidrCollectionException"
    finally:
        r53.delete_cidr_collection(Id=cid)


def test_record_sets_reference_collections(r53, server):
    zid = new_zone(r53, "cidr.example")
    cid = r53.create_cidr_collection(Name="used", CallerReference="used")["Collection"]["Id"]
    r53.change_cidr_collection(Id=cid, Changes=[
        {"LocationName": "office", "Action": "PUT", "CidrList": ["198.51.100.0/24"]},
        {"LocationName": "lab", "Action": "PUT", "CidrList": ["203.0.113.0/24"]}])
    missing = "0c6dd5d3-0000-4000-8000-000000000000"
    with pytest.raises(ClientError) as e:
        change(r53, zid, ("CREATE", cidr_rr("w.cidr.example", "192.0.2.1", "a", missing, "*")))
    assert err(e)[0] == "NoSuchCidrCollectionException"
    with pytest.raises(ClientError) as e:
        change(r53, zid, ("CREATE", cidr_rr("w.cidr.example", "192.0.2.1", "a", cid, "nowhere")))
    assert err(e)[0] == "NoSuchCidrLocationException"
    r = change(r53, zid, ("CREATE", cidr_rr("w.cidr.example", "192.0.2.1", "a", cid, "office")),
               ("CREATE", cidr_rr("w.cidr.example", "192.0.2.2", "b", cid, "*")))
    assert wait_insync(r53, r["ChangeInfo"]["Id"])
    routed = server.last_zones()[zid].routed
    assert sorted((x.set_id, x.cidr_collection, x.cidr_location) for x in routed) == [
        ("a", cid, "office"), ("b", cid, "*")]
    # a second collection for the same name and type is refused
    other = r53.create_cidr_collection(Name="other", CallerReference="other")["Collection"]["Id"]
    r53.change_cidr_collection(Id=other, Changes=[
        {"LocationName": "office", "Action": "PUT", "CidrList": ["198.51.100.0/24"]}])
    with pytest.raises(ClientError) as e:
        change(r53, zid, ("CREATE", cidr_rr("w.cidr.example", "192.0.2.3", "c", other,
                                            "office")))
    assert err(e)[0] == "InvalidChangeBatch" and "one CIDR collection" in err(e)[1]
    r53.delete_cidr_collection(Id=other)

    # the used location cannot lose its last block; an unused one can
    with pytest.raises(ClientError) as e:
        r53.change_cidr_collection(Id=cid, Changes=[
            {"LocationName": "office", "Action": "DELETE_IF_EXISTS",
             "CidrList": ["198.51.100.0/24"]}])
    assert err(e)[0] == "CidrBlockInUseException"
    r53.change_cidr_collection(Id=cid, Changes=[
        {"LocationName": "lab", "Action": "DELETE_IF_EXISTS", "CidrList": ["203.0.113.0/24"]}])
    # blocks of a used location may change as long as one remains
    n = server.cp.publish_count
    r = r53.change_cidr_collection(Id=cid, Changes=[
        {"LocationName": "office", "Action": "PUT", "CidrList": ["198.51.101.0/24"]},
        {"LocationName": "office", "Action": "DELETE_IF_EXISTS",
         "CidrList": ["198.51.100.0/24"]}])
    assert wait_insync(r53, r["Id"])
    assert server.cp.publish_count > n, "a collection change publishes"
    assert server.cp.cidr_collections()[cid] == {"office": ["198.51.101.0/24"]}
    with pytest.raises(ClientError) as e:
        r53.delete_cidr_collection(Id=cid)
    assert err(e)[0] == "CidrCollectionInUseException"
    change(r53, zid, ("DELETE", cidr_rr("w.cidr.example", "192.0.2.1", "a", cid, "office")),
           ("DELETE", cidr_rr("w.cidr.example", "192.0.2.2", "b", cid, "*")))
    r53.delete_cidr_collection(Id=cid)


def test_list_paging(r53):
    cid = r53.create_cidr_collection(Name="paging", CallerReference="paging")["Collection"]["Id"]
    try:
        r53.change_cidr_collection(Id=cid, Changes=[
            {"LocationName": f"loc{i}", "Action": "PUT", "CidrList": [f"10.{i}.0.0/16"]}
            for i in range(5)])
        seen, token = [], None
        while True:
            kw = {"NextToken": token} if token else {}
            p = r53.list_cidr_locations(CollectionId=cid, MaxResults="2", **kw)
            assert len(p["CidrLocations"]) <= 2
            seen += [x["LocationName"] for x in p["CidrLocations"]]
            token = p.get("NextToken")
            if not token:
                break
        assert seen == [f"loc{i}" for i in range(5)]
        pages = r53.get_paginator("list_cidr_blocks").paginate(
            CollectionId=cid, PaginationConfig={"PageSize": 2})
        assert len([b for p in pages for b in p["CidrBlocks"]]) == 5
        cols = [c for p in r53.get_paginator("list_cidr_collections").paginate(
            PaginationConfig={"PageSize": 1}) for c in p["CidrCollections"]]
        assert cid in {c["Id"] for c in cols}
    finally:
        r53.delete_cidr_collection(Id=cid)


def test_get_geo_location(r53):
    assert r53.get_geo_location(ContinentCode="EU")["GeoLocationDetails"] == {
        "ContinentCode": "EU", "ContinentName": "Europe"}
    assert r53.get_geo_location(CountryCode="DE")["GeoLocationDetails"] == {
        "CountryCode": "DE", "CountryName": "Germany"}
    assert r53.get_geo_location(CountryCode="US", SubdivisionCode="WA")[
        "GeoLocationDetails"] == {"CountryCode": "US", "CountryName": "United States",
                                  "SubdivisionCode": "WA", "SubdivisionName": "Washington"}
    assert r53.get_geo_location(CountryCode="*")["GeoLocationDetails"] == {
        "CountryCode": "*", "CountryName": "Default"}
    for kw in ({"CountryCode": "XX"}, {"ContinentCode": "XX"},
               {"CountryCode": "US", "SubdivisionCode": "ZZ"}):
        with pytest.raises(ClientError) as e:
            r53.get_geo_location(**kw)
        assert err(e)[0] == "NoSuchGeoLocation" and err(e)[2] == 404
    with pytest.raises(ClientError) as e:
        r53.get_geo_location(ContinentCode="EU", CountryCode="DE")
    assert err(e)[0] == "InvalidInput"


def test_list_geo_locations(r53):
    out, kw = [], {}
    while True:
        p = r53.list_geo_locations(MaxItems="100", **kw)
        out += p["GeoLocationDetailsList"]
        if not p["IsTruncated"]:
            break
        kw = {k2: p[k] for k, k2 in (("NextContinentCode", "StartContinentCode"),
                                     ("NextCountryCode", "StartCountryCode"),
                                     ("NextSubdivisionCode", "StartSubdivisionCode"))
              if k in p}
    assert out[0] == {"CountryCode": "*", "CountryName": "Default"}
    codes = [(d.get("ContinentCode"), d.get("CountryCode"), d.get("SubdivisionCode"))
             for d in out]
    assert len(codes) == len(set(codes)) > 300
    # countries first, each followed by its subdivisions, continents last
    us = codes.index((None, "US", None))
    assert codes[us + 1][1:] == ("US", "AK")
    assert [c for c, _k, _s in codes[-7:]] == ["AF", "AN", "AS", "EU", "NA", "OC", "SA"]
    assert sum(1 for c in codes if c[2] is not None) == 51
