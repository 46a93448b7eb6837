"""ChangeResourceRecordSets, ListResourceRecordSets, GetChange and what
publish() receives, through boto3."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from helpers.route53 import change, new_zone, rrset, wait_insync

from zonefront import model, rdata


def err(excinfo):
    e = excinfo.value.response["Error"]
    return e["Code"], e["Message"]


@pytest.fixture()
def zone(r53):
    return new_zone(r53, "rr.example")


def served(server, zid, name, rtype):
    z = server.last_zones()[zid]
    rr = z.get(model.name_from_text(name), rdata.rrtype_from_text(rtype))
    return None if rr is None else (rr.ttl, sorted(rdata.to_text(rr.rtype, w)
                                                   for w in rr.rdatas))


def routed(server, zid):
    """(owner text, rtype, set id) -> RoutedRRset as last published."""
    z = server.last_zones()[zid]
    return {(model.name_to_text(r.owner), r.rtype, r.set_id): r for r in z.routed}


def test_create_list_publish_delete(r53, server, zone):
    r = change(r53, zone, ("CREATE", rrset("www.rr.example", "A", ["192.0.2.1", "192.0.2.2"],
                                           ttl=60)),
               ("CREATE", rrset("rr.example", "MX", ["10 mail.rr.example."])),
               ("CREATE", rrset("txt.rr.example.", "TXT", ['"v=spf1 -all"', '"two" "parts"'])),
               comment="first batch")
    info = r["ChangeInfo"]
    assert info["Status"] == "PENDING" and info["Comment"] == "first batch"
    assert wait_insync(r53, info["Id"])
    assert served(server, zone, "www.rr.example.", "A") == (60, ["192.0.2.1", "192.0.2.2"])
    assert served(server, zone, "rr.example.", "MX") == (300, ["10 mail.rr.example."])
    listed = r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    assert [(x["Name"], x["Type"]) for x in listed] == [
        ("rr.example.", "MX"), ("rr.example.", "NS"), ("rr.example.", "SOA"),
        ("txt.rr.example.", "TXT"), ("www.rr.example.", "A")]
    assert listed[4] == rrset("www.rr.example.", "A", ["192.0.2.1", "192.0.2.2"], ttl=60)
    assert r53.get_hosted_zone(Id=zone)["HostedZone"]["ResourceRecordSetCount"] == 5
    r = change(r53, zone, ("DELETE", rrset("www.rr.example", "A", ["192.0.2.2", "192.0.2.1"],
                                           ttl=60)))
    assert wait_insync(r53, r["ChangeInfo"]["Id"])
    assert served(server, zone, "www.rr.example.", "A") is None


def test_upsert_replaces(r53, server, zone):
    change(r53, zone, ("UPSERT", rrset("u.rr.example", "AAAA", ["2001:db8::1"])))
    r = change(r53, zone, ("UPSERT", rrset("u.rr.example", "AAAA", ["2001:db8::2"], ttl=30)))
    assert wait_insync(r53, r["ChangeInfo"]["Id"])
    assert served(server, zone, "u.rr.example.", "AAAA") == (30, ["2001:db8::2"])


def test_delete_then_create_in_one_batch(r53, zone):
    change(r53, zone, ("CREATE", rrset("dc.rr.example", "A", ["192.0.2.1"])))
    change(r53, zone, ("DELETE", rrset("dc.rr.example", "A", ["192.0.2.1"])),
           ("CREATE", rrset("dc.rr.example", "A", ["192.0.2.9"])))
    got = r53.list_resource_record_sets(HostedZoneId=zone, StartRecordName="dc.rr.example",
                                        StartRecordType="A", MaxItems="1")
    assert got["ResourceRecordSets"][0]["ResourceRecords"] == [{"Value": "192.0.2.9"}]


def test_batch_is_atomic(r53, server, zone):
    with pytest.raises(ClientError) as e:
        change(r53, zone, ("CREATE", rrset("ok.rr.example", "A", ["192.0.2.1"])),
               ("CREATE", rrset("bad.rr.example", "A", ["300.1.1.1"])))
    code, msg = err(e)
    assert code == "InvalidChangeBatch"
    assert msg == ("[Invalid Resource Record: 'FATAL problem: ARRDATAIllegalIPv4Address "
                   "(Value is not a valid IPv4 address) encountered with '300.1.1.1'']")
    names = [x["Name"] for x in r53.list_resource_record_sets(HostedZoneId=zone)
             ["ResourceRecordSets"]]
    assert "ok.rr.example." not in names


@pytest.mark.parametrize("changes, message", [
    ([("CREATE", rrset("e.rr.example", "A", ["192.0.2.1"]))],
     "Tried to create resource record set [name='e.rr.example.', type='A'] but it already "
     "exists"),
    ([("DELETE", rrset("nope.rr.example", "A", ["192.0.2.1"]))],
     "Tried to delete resource record set [name='nope.rr.example.', type='A'] but it was not "
     "found"),
    ([("DELETE", rrset("e.rr.example", "A", ["192.0.2.99"]))],
     "Tried to delete resource record set [name='e.rr.example.', type='A'] but the values "
     "provided do not match the current values"),
    ([("DELETE", rrset("e.rr.example", "A", ["192.0.2.1"], ttl=301))],
     "Tried to delete resource record set [name='e.rr.example.', type='A'] but the values "
     "provided do not match the current values"),
    ([("CREATE", rrset("e.rr.example", "CNAME", ["x.example."]))],
     "RRSet of type CNAME with DNS name e.rr.example. is not permitted as it conflicts with "
     "other records with the same DNS name in zone rr.example."),
    ([("CREATE", rrset("c.rr.example", "TXT", ['"x"']))],
     "RRSet of type TXT with DNS name c.rr.example. is not permitted because a conflicting "
     "RRSet of type  CNAME with the same DNS name already exists in zone rr.example."),
    ([("CREATE", rrset("rr.example", "CNAME", ["x.example."]))],
     "RRSet of type CNAME with DNS name rr.example. is not permitted at apex in zone "
     "rr.example."),
    ([("CREATE", rrset("www.other.example", "A", ["192.0.2.1"]))],
     "RRSet with DNS name www.other.example. is not permitted in zone rr.example."),
    ([("CREATE", rrset("d.rr.example", "A", ["192.0.2.1"])),
      ("CREATE", rrset("d.rr.example", "A", ["192.0.2.2"]))],
     "The request contains an invalid set of changes for a resource record set "
     "'A d.rr.example.'"),
    ([("CREATE", rrset("dup.rr.example", "A", ["192.0.2.1", "192.0.2.1"]))],
     "Duplicate Resource Record: '192.0.2.1'"),
    ([("CREATE", rrset("v6.rr.example", "AAAA", ["192.0.2.1"]))],
     "Invalid Resource Record: 'FATAL problem: AAAARRDATAIllegalIPv6Address (Value is not a "
     "valid IPv6 address) encountered with '192.0.2.1''"),
    ([("DELETE", rrset("rr.example", "NS", ["ns1.zonefront.local.", "ns2.zonefront.local.",
                                            "ns3.zonefront.local.", "ns4.zonefront.local."],
                       ttl=172800))],
     "A HostedZone must contain at least one NS record for the zone itself."),
])
def test_invalid_change_batch_messages(r53, zone, changes, message):
    change(r53, zone, ("CREATE", rrset("e.rr.example", "A", ["192.0.2.1"])),
           ("CREATE", rrset("c.rr.example", "CNAME", ["target.example."])))
    with pytest.raises(ClientError) as e:
        change(r53, zone, *changes)
    assert err(e) == ("InvalidChangeBatch", f"[{message}]")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_every_message_is_reported(r53, zone):
    with pytest.raises(ClientError) as e:
        change(r53, zone, ("DELETE", rrset("n1.rr.example", "A", ["192.0.2.1"])),
               ("DELETE", rrset("n2.rr.example", "A", ["192.0.2.1"])))
    assert err(e)[1].count("but it was not found") == 2


def test_soa_rules(r53, zone):
    soa = r53.list_resource_record_sets(HostedZoneId=zone, StartRecordName="rr.example",
                                        StartRecordType="SOA", MaxItems="1")
    soa = soa["ResourceRecordSets"][0]
    with pytest.raises(ClientError) as e:
        change(r53, zone, ("DELETE", soa))
    assert err(e) == ("InvalidChangeBatch",
                      "[A HostedZone must contain exactly one SOA record.]")
    new = dict(soa, ResourceRecords=[{"Value": soa["ResourceRecords"][0]["Value"]
                                      .replace(" 1 7200", " 2024010101 7200")}])
    change(r53, zone, ("UPSERT", new))


@pytest.mark.parametrize("rr, fragment", [
    ({"Name": "m.rr.example", "Type": "A"},
     "Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or "
     "TrafficPolicyInstanceId], but found none in Change with [Action=CREATE, "
     "Name=m.rr.example., Type=A, SetIdentifier=null]"),
    ({"Name": "m.rr.example", "Type": "A", "TTL": 60},
     "Missing field 'ResourceRecords'"),
    (rrset("m.rr.example", "A", ["192.0.2.1"], Weight=10),
     "Missing field 'SetIdentifier'"),
    (rrset("m.rr.example", "A", ["192.0.2.1"], SetIdentifier="x"),
     "but found none in Change"),
    (rrset("m.rr.example", "A", ["192.0.2.1"], SetIdentifier="x", Weight=1,
           Failover="PRIMARY"), "but found more than one"),
    (rrset("m.rr.example", "A", ["192.0.2.1"], SetIdentifier="x",
           GeoLocation={"ContinentCode": "EU", "CountryCode": "FR"}), "ContinentCode"),
    (rrset("m.rr.example", "A", ["192.0.2.1"], SetIdentifier="x",
           GeoLocation={"ContinentCode": "XX"}), "continent"),
    (rrset("m.rr.example", "A", ["192.0.2.1"], SetIdentifier="x",
           GeoProximityLocation={"AWSRegion": "us-east-1", "Bias": 10,
                                 "Coordinates": {"Latitude": "1", "Longitude": "2"}}),
     "exactly one of"),
])
def test_invalid_input(r53, zone, rr, fragment):
    with pytest.raises(ClientError) as e:
        change(r53, zone, ("CREATE", rr))
    code, msg = err(e)
    assert code == "InvalidInput" and fragment in msg


def test_model_constraints_checked_server_side(server, zone):
    # botocore validates client-side; turn that off to see the server's answer
    import boto3
    import botocore.config
    from helpers.route53 import AKID, SECRET
    raw = boto3.client("route53", endpoint_url=server.url, region_name="us-east-1",
                       aws_access_key_id=AKID, aws_secret_access_key=SECRET,
                       config=botocore.config.Config(parameter_validation=False,
                                                     retries={"max_attempts": 1}))
    for bad, text in (({"TTL": -1}, "greater than or equal to 0"),
                      ({"TTL": 2147483648}, "less than or equal to 2147483647"),
                      ({"Weight": 256, "SetIdentifier": "w"}, "less than or equal to 255"),
                      ({"Region": "mars-1", "SetIdentifier": "r"}, "enum value set"),
                      ({"Failover": "TERTIARY", "SetIdentifier": "f"}, "enum value set"),
                      ({"Type": "BOGUS"}, "enum value set")):
        rr = rrset("m.rr.example", "A", ["192.0.2.1"])
        rr.update(bad)
        with pytest.raises(ClientError) as e:
            change(raw, zone, ("CREATE", rr))
        code, msg = err(e)
        assert code == "InvalidInput" and text in msg, msg


def test_routing_policies_stored_and_published_as_routed(r53, server, zone):
    coll = r53.create_cidr_collection(Name="rr-policies", CallerReference="rr-policies")
    coll_id = coll["Collection"]["Id"]
    r53.change_cidr_collection(Id=coll_id, Changes=[
        {"LocationName": "office", "Action": "PUT", "CidrList": ["198.51.100.0/24"]}])
    hc = r53.create_health_check(CallerReference="rr-policies", HealthCheckConfig={
        "Type": "TCP", "IPAddress": "192.0.2.1", "Port": 80})["HealthCheck"]["Id"]
    r = change(
        r53, zone,
        ("CREATE", rrset("w.rr.example", "A", ["192.0.2.1"], SetIdentifier="one", Weight=10,
                         HealthCheckId=hc)),
        ("CREATE", rrset("w.rr.example", "A", ["192.0.2.2"], SetIdentifier="two", Weight=0)),
        ("CREATE", rrset("lat.rr.example", "A", ["192.0.2.3"], SetIdentifier="use1",
                         Region="us-east-1")),
        ("CREATE", rrset("geo.rr.example", "A", ["192.0.2.4"], SetIdentifier="fr",
                         GeoLocation={"CountryCode": "FR"})),
        ("CREATE", rrset("geo.rr.example", "A", ["192.0.2.5"], SetIdentifier="default",
                         GeoLocation={"CountryCode": "*"})),
        ("CREATE", rrset("geo.rr.example", "A", ["192.0.2.6"], SetIdentifier="us-ca",
                         GeoLocation={"CountryCode": "US", "SubdivisionCode": "CA"})),
        ("CREATE", rrset("fo.rr.example", "A", ["192.0.2.7"], SetIdentifier="p",
                         Failover="PRIMARY")),
        ("CREATE", rrset("mv.rr.example", "A", ["192.0.2.8"], SetIdentifier="m1",
                         MultiValueAnswer=True)),
        ("CREATE", rrset("gp.rr.example", "A", ["192.0.2.9"], SetIdentifier="g1",
                         GeoProximityLocation={"Coordinates": {"Latitude": "48.85",
                                                               "Longitude": "2.35"},
                                               "Bias": -20})),
        ("CREATE", rrset("cidr.rr.example", "A", ["192.0.2.10"], SetIdentifier="c1",
                         CidrRoutingConfig={"CollectionId": coll_id,
                                            "LocationName": "*"})),
        ("CREATE", rrset("cidr.rr.example", "A", ["192.0.2.11"], SetIdentifier="c2",
                         CidrRoutingConfig={"CollectionId": coll_id,
                                            "LocationName": "office"})),
    )
    assert wait_insync(r53, r["ChangeInfo"]["Id"])
    got = r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    by = {(x["Name"], x.get("SetIdentifier")): x for x in got}
    assert by[("w.rr.example.", "one")]["Weight"] == 10
    assert by[("w.rr.example.", "one")]["HealthCheckId"] == hc
    assert by[("geo.rr.example.", "us-ca")]["GeoLocation"] == {"CountryCode": "US",
                                                               "SubdivisionCode": "CA"}
    assert by[("gp.rr.example.", "g1")]["GeoProximityLocation"] == {
        "Coordinates": {"Latitude": "48.85", "Longitude": "2.35"}, "Bias": -20}
    assert by[("mv.rr.example.", "m1")]["MultiValueAnswer"] is True
    assert by[("cidr.rr.example.", "c1")]["CidrRoutingConfig"]["LocationName"] == "*"
    # order: name, type, then SetIdentifier
    geo = [x["SetIdentifier"] for x in got if x["Name"] == "geo.rr.example."]
    assert geo == sorted(geo)
    # every record set with a SetIdentifier is published as a RoutedRRset, none as plain
    for name in ("w", "lat", "geo", "fo", "mv", "gp", "cidr"):
        assert served(server, zone, f"{name}.rr.example.", "A") is None
    pub = routed(server, zone)
    a = model.TYPE_A
    assert pub[("w.rr.example.", a, "one")] == model.RoutedRRset(
        model.name_from_text("w.rr.example."), a, 300, [bytes([192, 0, 2, 1])], set_id="one",
        weight=10, health_check=hc)
    assert pub[("w.rr.example.", a, "two")].weight == 0
    assert pub[("lat.rr.example.", a, "use1")].region == "us-east-1"
    fr = pub[("geo.rr.example.", a, "fr")]
    assert (fr.geo_continent, fr.geo_country, fr.geo_subdivision) == (None, "FR", None)
    assert pub[("geo.rr.example.", a, "default")].geo_country == "*"
    ca = pub[("geo.rr.example.", a, "us-ca")]
    assert (ca.geo_country, ca.geo_subdivision) == ("US", "CA")
    assert pub[("fo.rr.example.", a, "p")].failover == "PRIMARY"
    assert pub[("mv.rr.example.", a, "m1")].multivalue is True
    g1 = pub[("gp.rr.example.", a, "g1")]
    assert (g1.geoprox_lat, g1.geoprox_lon, g1.geoprox_bias, g1.geoprox_region) == \
        (48.85, 2.35, -20, None)
    c1, c2 = pub[("cidr.rr.example.", a, "c1")], pub[("cidr.rr.example.", a, "c2")]
    assert (c1.cidr_collection, c1.cidr_location) == (coll_id, "*")
    assert (c2.cidr_collection, c2.cidr_location, c2.rdatas) == (coll_id, "office",
                                                                 [bytes([192, 0, 2, 11])])
    assert all(x.alias_name is None for x in pub.values())
    # mixing simple and routed record sets, or two policies, is refused
    with pytest.raises(ClientError) as e:
        change(r53, zone, ("CREATE", rrset("w.rr.example", "A", ["192.0.2.1"])))
    assert "cannot be created as other RRSets exist" in err(e)[1]
    with pytest.raises(ClientError) as e:
        change(r53, zone, ("CREATE", rrset("w.rr.example", "A", ["192.0.2.3"],
                                           SetIdentifier="three", Region="eu-west-1")))
    assert "weighted set exists" in err(e)[1]
    # DELETE must repeat the routing fields exactly
    with pytest.raises(ClientError) as e:
        change(r53, zone, ("DELETE", rrset("w.rr.example", "A", ["192.0.2.2"],
                                           SetIdentifier="two", Weight=5)))
    assert "do not match the current values" in err(e)[1]
    change(r53, zone, ("DELETE", rrset("w.rr.example", "A", ["192.0.2.2"],
                                       SetIdentifier="two", Weight=0)))


def test_alias_targets(r53, server, zone):
    zid = zone.split("/")[-1]
    change(r53, zone, ("CREATE", rrset("target.rr.example", "A", ["192.0.2.50"], ttl=42)))
    r = change(r53, zone, ("CREATE", {"Name": "rr.example", "Type": "A", "AliasTarget": {
        "HostedZoneId": zid, "DNSName": "target.rr.example", "EvaluateTargetHealth": False}}),
        ("CREATE", {"Name": "cdn.rr.example", "Type": "A", "AliasTarget": {
            "HostedZoneId": "Z2FDTNDATAQYW2", "DNSName": "d111111abcdef8.cloudfront.net",
            "EvaluateTargetHealth": False}}))
    assert wait_insync(r53, r["ChangeInfo"]["Id"])
    # aliases are published as RoutedRRsets for the core to resolve per query
    assert served(server, zone, "rr.example.", "A") is None
    assert served(server, zone, "cdn.rr.example.", "A") is None
    assert served(server, zone, "target.rr.example.", "A") == (42, ["192.0.2.50"])
    pub = routed(server, zone)
    apex = pub[("rr.example.", model.TYPE_A, None)]
    assert (apex.alias_name, apex.alias_zone, apex.alias_evaluate_health, apex.rdatas) == \
        (model.name_from_text("target.rr.example."), zid, False, [])
    cdn = pub[("cdn.rr.example.", model.TYPE_A, None)]
    assert (cdn.alias_name, cdn.alias_zone) == (
        model.name_from_text("d111111abcdef8.cloudfront.net."), "Z2FDTNDATAQYW2")
    # an alias with a routing policy and EvaluateTargetHealth, to a mixed-case name
    r = change(r53, zone, ("CREATE", {"Name": "w2.rr.example", "Type": "A",
                                      "SetIdentifier": "a", "Weight": 3, "AliasTarget": {
                                          "HostedZoneId": zid, "DNSName": "TARGET.rr.example",
                                          "EvaluateTargetHealth": True}}))
    assert wait_insync(r53, r["ChangeInfo"]["Id"])
    w2 = routed(server, zone)[("w2.rr.example.", model.TYPE_A, "a")]
    assert (w2.weight, w2.alias_name, w2.alias_evaluate_health) == (
        3, model.name_from_text("target.rr.example."), True)
    got = r53.list_resource_record_sets(HostedZoneId=zone, StartRecordName="rr.example",
                                        StartRecordType="A", MaxItems="1")
    assert got["ResourceRecordSets"][0]["AliasTarget"] == {
        "HostedZoneId": zid, "DNSName": "target.rr.example.", "EvaluateTargetHealth": False}
    with pytest.raises(ClientError) as e:
        change(r53, zone, ("CREATE", {"Name": "a2.rr.example", "Type": "A", "AliasTarget": {
            "HostedZoneId": zid, "DNSName": "missing.rr.example",
            "EvaluateTargetHealth": False}}))
    assert "but that target was not found" in err(e)[1]
    with pytest.raises(ClientError) as e:
        change(r53, zone, ("CREATE", {"Name": "a3.rr.example", "Type": "A", "TTL": 5,
                                      "AliasTarget": {"HostedZoneId": zid,
                                                      "DNSName": "target.rr.example",
                                                      "EvaluateTargetHealth": False}}))
    assert err(e)[0] == "InvalidInput"


def test_list_order_and_paging(r53):
    zid = new_zone(r53, "order.example")
    names = ["a.order.example", "b.a.order.example", "z.order.example", "*.order.example",
             "order.example", "0.order.example", "a-b.order.example"]
    change(r53, zid, *[("CREATE", rrset(n, "TXT", ['"x"'])) for n in names],
           ("CREATE", rrset("a.order.example", "AAAA", ["2001:db8::1"])),
           ("CREATE", rrset("a.order.example", "A", ["192.0.2.1"])))
    full = r53.list_resource_record_sets(HostedZoneId=zid)["ResourceRecordSets"]
    order = [(x["Name"], x["Type"]) for x in full]
    assert order == [
        ("order.example.", "NS"), ("order.example.", "SOA"), ("order.example.", "TXT"),
        ("\\052.order.example.", "TXT"), ("0.order.example.", "TXT"),
        ("a.order.example.", "A"), ("a.order.example.", "AAAA"), ("a.order.example.", "TXT"),
        ("b.a.order.example.", "TXT"), ("a-b.order.example.", "TXT"),
        ("z.order.example.", "TXT")]
    # manual paging with NextRecordName/Type
    got, kw = [], {}
    while True:
        r = r53.list_resource_record_sets(HostedZoneId=zid, MaxItems="4", **kw)
        got += [(x["Name"], x["Type"]) for x in r["ResourceRecordSets"]]
        if not r["IsTruncated"]:
            break
        kw = {"StartRecordName": r["NextRecordName"], "StartRecordType": r["NextRecordType"]}
    assert got == order
    pages = r53.get_paginator("list_resource_record_sets").paginate(
        HostedZoneId=zid, PaginationConfig={"PageSize": 3})
    assert [(x["Name"], x["Type"]) for p in pages for x in p["ResourceRecordSets"]] == order
    # a start name that does not exist begins at the next one
    r = r53.list_resource_record_sets(HostedZoneId=zid, StartRecordName="b.order.example",
                                      MaxItems="1")
    assert r["ResourceRecordSets"][0]["Name"] == "z.order.example."


def test_paging_with_set_identifiers(r53):
    zid = new_zone(r53, "sid.example")
    change(r53, zid, *[("CREATE", rrset("w.sid.example", "A", [f"192.0.2.{i}"],
                                        SetIdentifier=f"s{i}", Weight=i)) for i in range(5)])
    r = r53.list_resource_record_sets(HostedZoneId=zid, StartRecordName="w.sid.example",
                                      StartRecordType="A", MaxItems="2")
    assert [x["SetIdentifier"] for x in r["ResourceRecordSets"]] == ["s0", "s1"]
    assert r["NextRecordIdentifier"] == "s2"
    r = r53.list_resource_record_sets(HostedZoneId=zid, StartRecordName=r["NextRecordName"],
                                      StartRecordType=r["NextRecordType"],
                                      StartRecordIdentifier=r["NextRecordIdentifier"],
                                      MaxItems="2")
    assert [x["SetIdentifier"] for x in r["ResourceRecordSets"]] == ["s2", "s3"]


def test_get_change_pending_until_published(r53, server, zone):
    server.gate.clear()  # publish() now blocks: the data plane "has not caught up"
    try:
        r = change(r53, zone, ("CREATE", rrset("slow.rr.example", "A", ["192.0.2.1"])))
        cid = r["ChangeInfo"]["Id"]
        assert r53.get_change(Id=cid)["ChangeInfo"]["Status"] == "PENDING"
        assert r53.get_change(Id=cid.split("/")[-1])["ChangeInfo"]["Status"] == "PENDING"
    finally:
        server.gate.set()
    assert wait_insync(r53, cid)
    assert served(server, zone, "slow.rr.example.", "A") == (300, ["192.0.2.1"])


def test_publish_gets_all_zones(r53, server):
    r = change(r53, new_zone(r53, "all.example"),
               ("CREATE", rrset("x.all.example", "A", ["192.0.2.1"])))
    assert wait_insync(r53, r["ChangeInfo"]["Id"])
    listed = {z["Id"] for p in r53.get_paginator("list_hosted_zones").paginate()
              for z in p["HostedZones"]}
    assert set(server.last_zones()) == listed
    for z in server.published[-1]:
        assert isinstance(z, model.Zone) and z.soa is not None


def test_incremental_publish_matches_rebuild(r53, server):
    from zonefront.store.zones import ZoneCache
    zid = new_zone(r53, "inc.example")
    change(r53, zid, *[("CREATE", rrset(f"h{i}.inc.example", "A", [f"192.0.2.{i}"]))
                       for i in range(10)])
    change(r53, zid, ("DELETE", rrset("h3.inc.example", "A", ["192.0.2.3"])),
           ("UPSERT", rrset("h4.inc.example", "A", ["192.0.2.44"], ttl=5)),
           ("CREATE", rrset("h4.inc.example", "TXT", ['"t"'])))
    r = change(r53, zid, ("DELETE", rrset("h5.inc.example", "A", ["192.0.2.5"])))
    assert wait_insync(r53, r["ChangeInfo"]["Id"])
    assert server.cp._cache.patches > 0
    fresh = {z.source: z for z in ZoneCache().zones(server.cp.store)}
    assert server.last_zones()[zid].rrsets == fresh[zid].rrsets
    # routed record sets and aliases are patched too
    change(r53, zid, ("CREATE", rrset("r6.inc.example", "A", ["192.0.2.61"],
                                      SetIdentifier="x", Weight=1)),
           ("CREATE", rrset("r6.inc.example", "A", ["192.0.2.62"], SetIdentifier="y",
                            Weight=2)),
           ("CREATE", {"Name": "r7.inc.example", "Type": "A", "AliasTarget": {
               "HostedZoneId": zid.split("/")[-1], "DNSName": "r6.inc.example",
               "EvaluateTargetHealth": False}}))
    r = change(r53, zid, ("DELETE", rrset("r6.inc.example", "A", ["192.0.2.61"],
                                          SetIdentifier="x", Weight=1)),
               ("UPSERT", rrset("r6.inc.example", "A", ["192.0.2.63"], SetIdentifier="y",
                                Weight=5)))
    assert wait_insync(r53, r["ChangeInfo"]["Id"])
    fresh = {z.source: z for z in ZoneCache().zones(server.cp.store)}
    got = server.last_zones()[zid]
    assert got.routed == fresh[zid].routed and got.rrsets == fresh[zid].rrsets
    assert [(r.set_id, r.weight, r.rdatas) for r in got.routed
            if r.owner == model.name_from_text("r6.inc.example.")] == [
        ("y", 5, [bytes([192, 0, 2, 63])])]
