"""Traffic Flow over boto3: the 15 traffic policy operations, document
validation (InvalidTrafficPolicyDocument), and the record sets an instance
owns as ChangeResourceRecordSets and ListResourceRecordSets see them."""
from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError
from helpers.route53 import change, new_zone, rrset


def doc(rtype="A", **over) -> str:
    d = {"AWSPolicyFormatVersion": "2015-10-01", "RecordType": rtype,
         "Endpoints": {"us": {"Type": "value", "Value": "192.0.2.1"},
                       "eu": {"Type": "value", "Value": "192.0.2.2"},
                       "other": {"Type": "value", "Value": "192.0.2.3"}},
         "Rules": {"where": {"RuleType": "geo", "Locations": [
             {"Country": "US", "EndpointReference": "us"},
             {"Continent": "EU", "RuleReference": "eu_w"},
             {"IsDefault": True, "EndpointReference": "other"}]},
             "eu_w": {"RuleType": "weighted", "Items": [
                 {"Weight": "1", "EndpointReference": "eu"},
                 {"Weight": "0", "EndpointReference": "other"}]}},
         "StartRule": "where"}
    d.update(over)
    return json.dumps(d)


def served_tree(server, zone_id, owner, pred, timeout=5.0):
    """The served record sets at `owner` once `pred` holds for them (the
    publisher runs after the commit, in its own thread)."""
    key = f"/hostedzone/{zone_id.rsplit('/', 1)[-1]}"
    deadline = time.monotonic() + timeout
    while True:
        zone = server.last_zones().get(key) if server.published else None
        top = [r for r in zone.routed if r.owner == owner] if zone is not None else []
        if pred(top) or time.monotonic() > deadline:
            return top
        time.sleep(0.02)


def code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


@pytest.mark.parametrize("mutate, words", [
    (lambda d: d.update(AWSPolicyFormatVersion="2012-10-17"), "AWSPolicyFormatVersion"),
    (lambda d: d.update(StartRule="nope"), "StartRule 'nope'"),
    (lambda d: d["Rules"]["where"]["Locations"][0].update(EndpointReference="ghost"),
     "EndpointReference 'ghost'"),
    (lambda d: d["Rules"]["eu_w"]["Items"][0].update(Weight="300"), "Weight"),
    (lambda d: d["Rules"]["eu_w"]["Items"].__setitem__(
        0, {"Weight": "1", "RuleReference": "where"}), "loop"),
    (lambda d: d["Endpoints"]["us"].update(Value="not-an-ip"), "not a valid A value"),
    (lambda d: d["Rules"]["where"].update(RuleType="random"), "RuleType 'random'"),
    (lambda d: d["Rules"]["eu_w"]["Items"][0].update(HealthCheck="no-such-check"),
     "HealthCheck 'no-such-check'"),
])
def test_invalid_documents_name_the_problem(r53, mutate, words):
    d = json.loads(doc())
    mutate(d)
    with pytest.raises(ClientError) as e:
        r53.create_traffic_policy(Name="bad", Document=json.dumps(d))
    assert code(e) == "InvalidTrafficPolicyDocument"
    assert words in e.value.response["Error"]["Message"]


def simple_doc(value="192.0.2.9", rtype="A") -> str:
    return json.dumps({"AWSPolicyFormatVersion": "2015-10-01", "RecordType": rtype,
                       "Endpoints": {"e": {"Type": "value", "Value": value}},
                       "StartEndpoint": "e"})


def test_policy_versions_lifecycle(r53):
    p = r53.create_traffic_policy(Name="life", Document=doc(), Comment="first")["TrafficPolicy"]
    pid = p["Id"]
    assert (p["Version"], p["Type"], p["Comment"]) == (1, "A", "first")
    with pytest.raises(ClientError) as e:
        r53.create_traffic_policy(Name="life", Document=doc())
    assert code(e) == "TrafficPolicyAlreadyExists"
    v2 = r53.create_traffic_policy_version(Id=pid, Document=simple_doc())["TrafficPolicy"]
    assert (v2["Id"], v2["Version"], v2["Name"]) == (pid, 2, "life")
    with pytest.raises(ClientError) as e:
        r53.create_traffic_policy_version(Id=pid, Document=simple_doc("::1", "AAAA"))
    assert code(e) == "InvalidTrafficPolicyDocument"
    got = r53.get_traffic_policy(Id=pid, Version=1)["TrafficPolicy"]
    assert json.loads(got["Document"]) == json.loads(doc())
    r53.update_traffic_policy_comment(Id=pid, Version=2, Comment="second")
    versions = r53.list_traffic_policy_versions(Id=pid)["TrafficPolicies"]
    assert [(v["Version"], v.get("Comment")) for v in versions] == [(1, "first"), (2, "second")]
    summary = [s for s in r53.list_traffic_policies()["TrafficPolicySummaries"]
               if s["Id"] == pid]
    assert summary == [{"Id": pid, "Name": "life", "Type": "A", "LatestVersion": 2,
                        "TrafficPolicyCount": 2}]
    r53.delete_traffic_policy(Id=pid, Version=1)
    with pytest.raises(ClientError) as e:
        r53.get_traffic_policy(Id=pid, Version=1)
    assert code(e) == "NoSuchTrafficPolicy"
    r53.delete_traffic_policy(Id=pid, Version=2)


def test_instances_own_their_record_sets(server, r53):
    pid = r53.create_traffic_policy(Name="own", Document=doc())["TrafficPolicy"]["Id"]
    r53.create_traffic_policy_version(Id=pid, Document=simple_doc())
    z1, z2 = new_zone(r53, "tp-one.test"), new_zone(r53, "tp-two.test")
    before = r53.get_traffic_policy_instance_count()["TrafficPolicyInstanceCount"]
    i1 = r53.create_traffic_policy_instance(HostedZoneId=z1, Name="www.tp-one.test", TTL=60,
                                            TrafficPolicyId=pid, TrafficPolicyVersion=1)
    inst = i1["TrafficPolicyInstance"]
    assert (inst["Name"], inst["TTL"], inst["State"], inst["TrafficPolicyType"]) == \
        ("www.tp-one.test.", 60, "Applied", "A")
    i2 = r53.create_traffic_policy_instance(HostedZoneId=z2, Name="tp-two.test", TTL=30,
                                            TrafficPolicyId=pid, TrafficPolicyVersion=1)
    iid1, iid2 = inst["Id"], i2["TrafficPolicyInstance"]["Id"]
    assert r53.get_traffic_policy_instance_count()["TrafficPolicyInstanceCount"] == before + 2
    with pytest.raises(ClientError) as e:
        r53.create_traffic_policy_instance(HostedZoneId=z1, Name="www.tp-one.test", TTL=60,
                                           TrafficPolicyId=pid, TrafficPolicyVersion=1)
    assert code(e) == "TrafficPolicyInstanceAlreadyExists"
    with pytest.raises(ClientError) as e:
        r53.delete_traffic_policy(Id=pid, Version=1)
    assert code(e) == "TrafficPolicyInUse"

    # listed as Route 53 lists them, with no private field
    rrsets = r53.list_resource_record_sets(HostedZoneId=z1)["ResourceRecordSets"]
    mine = [r for r in rrsets if r["Name"] == "www.tp-one.test."]
    assert mine == [{"Name": "www.tp-one.test.", "Type": "A", "TrafficPolicyInstanceId": iid1}]
    # the served zone carries the rule tree: geo on top, weighted nested under EU
    www = b"\x03www\x06tp-one\x04test\x00"
    top = served_tree(server, z1, www, lambda t: len(t) == 3)
    assert len(top) == 3 and top[1].geo_continent == "EU"
    assert [c.weight for c in top[1].children] == [1, 0]

    # CREATE or UPSERT over it: InvalidChangeBatch
    for action in ("CREATE", "UPSERT"):
        with pytest.raises(ClientError) as e:
            change(r53, z1, (action, rrset("www.tp-one.test", "A", ["192.0.2.77"])))
        assert code(e) == "InvalidChangeBatch", action
        assert "traffic policy instance" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        change(r53, z1, ("CREATE", {"Name": "new.tp-one.test", "Type": "A",
                                    "TrafficPolicyInstanceId": iid1}))
    assert code(e) == "InvalidChangeBatch"

    listed = r53.list_traffic_policy_instances()["TrafficPolicyInstances"]
    assert {iid1, iid2} <= {i["Id"] for i in listed}
    by_zone = r53.list_traffic_policy_instances_by_hosted_zone(HostedZoneId=z2)
    assert [i["Id"] for i in by_zone["TrafficPolicyInstances"]] == [iid2]
    by_policy = r53.list_traffic_policy_instances_by_policy(TrafficPolicyId=pid,
                                                            TrafficPolicyVersion=1)
    assert sorted(i["Id"] for i in by_policy["TrafficPolicyInstances"]) == sorted([iid1, iid2])

    # move to version 2 (one endpoint): the row and the served record set follow
    up = r53.update_traffic_policy_instance(Id=iid1, TTL=120, TrafficPolicyId=pid,
                                            TrafficPolicyVersion=2)["TrafficPolicyInstance"]
    assert (up["TrafficPolicyVersion"], up["TTL"]) == (2, 120)
    top = served_tree(server, z1, www, lambda t: len(t) == 1)
    assert [(r.ttl, r.rdatas) for r in top] == [(120, [bytes([192, 0, 2, 9])])]

    # DELETE through ChangeResourceRecordSets removes the record set, keeps the instance
    change(r53, z1, ("DELETE", {"Name": "www.tp-one.test.", "Type": "A",
                                "TrafficPolicyInstanceId": iid1}))
    rrsets = r53.list_resource_record_sets(HostedZoneId=z1)["ResourceRecordSets"]
    assert not [r for r in rrsets if r["Name"] == "www.tp-one.test."]
    assert r53.get_traffic_policy_instance(Id=iid1)["TrafficPolicyInstance"]["Id"] == iid1
    for iid in (iid1, iid2):
        r53.delete_traffic_policy_instance(Id=iid)
    with pytest.raises(ClientError) as e:
        r53.get_traffic_policy_instance(Id=iid1)
    assert code(e) == "NoSuchTrafficPolicyInstance"
    rrsets = r53.list_resource_record_sets(HostedZoneId=z2)["ResourceRecordSets"]
    assert [r["Type"] for r in rrsets] == ["NS", "SOA"]
    r53.delete_traffic_policy(Id=pid, Version=1)


def test_update_refused_when_its_name_was_reused(r53):
    pid = r53.create_traffic_policy(Name="reuse", Document=simple_doc())["TrafficPolicy"]["Id"]
    zid = new_zone(r53, "tp-reuse.test")
    iid = r53.create_traffic_policy_instance(
        HostedZoneId=zid, Name="a.tp-reuse.test", TTL=60, TrafficPolicyId=pid,
        TrafficPolicyVersion=1)["TrafficPolicyInstance"]["Id"]
    change(r53, zid, ("DELETE", {"Name": "a.tp-reuse.test.", "Type": "A",
                                 "TrafficPolicyInstanceId": iid}))
    change(r53, zid, ("CREATE", rrset("a.tp-reuse.test", "A", ["192.0.2.50"])))
    with pytest.raises(ClientError) as e:
        r53.update_traffic_policy_instance(Id=iid, TTL=60, TrafficPolicyId=pid,
                                           TrafficPolicyVersion=1)
    assert code(e) == "InvalidInput" and "conflicts" in e.value.response["Error"]["Message"]
    listed = r53.list_resource_record_sets(HostedZoneId=zid)["ResourceRecordSets"]
    assert rrset("a.tp-reuse.test.", "A", ["192.0.2.50"]) in listed  # untouched
    r53.delete_traffic_policy_instance(Id=iid)
    assert rrset("a.tp-reuse.test.", "A", ["192.0.2.50"]) in \
        r53.list_resource_record_sets(HostedZoneId=zid)["ResourceRecordSets"]


def test_protected_name_refuses_an_instance(r53, monkeypatch):
    """The hook calls api/protections.check (helper api17's module) with the
    name and type; a stand-in module plays its part here."""
    import sys
    import types

    from zonefront.aws.route53_errors import invalid_change_batch

    calls = []

    def check(store, zone_id, keys):
        calls.append(list(keys))
        if ("locked.tp-prot.test.", "A") in keys:
            raise invalid_change_batch([("RRSet with DNS name locked.tp-prot.test. and type A "
                                         "is protected")])

    monkeypatch.setitem(sys.modules, "zonefront.api.protections",
                        types.SimpleNamespace(check=check))
    import zonefront.api as api_pkg
    monkeypatch.setattr(api_pkg, "protections", sys.modules["zonefront.api.protections"],
                        raising=False)
    pid = r53.create_traffic_policy(Name="prot", Document=simple_doc())["TrafficPolicy"]["Id"]
    zid = new_zone(r53, "tp-prot.test")
    with pytest.raises(ClientError) as e:
        r53.create_traffic_policy_instance(HostedZoneId=zid, Name="locked.tp-prot.test",
                                           TTL=60, TrafficPolicyId=pid, TrafficPolicyVersion=1)
    assert code(e) == "InvalidChangeBatch"
    ok = r53.create_traffic_policy_instance(HostedZoneId=zid, Name="free.tp-prot.test", TTL=60,
                                            TrafficPolicyId=pid, TrafficPolicyVersion=1)
    assert calls[-1] == [("free.tp-prot.test.", "A")]
    n = len(calls)
    r53.delete_traffic_policy_instance(Id=ok["TrafficPolicyInstance"]["Id"])
    assert calls[n:] == [[("free.tp-prot.test.", "A")]]  # deleting its record set is a change too


def test_account_limits_count_policies_and_instances(r53):
    pid = r53.create_traffic_policy(Name="limits", Document=simple_doc())["TrafficPolicy"]["Id"]
    zid = new_zone(r53, "tp-limits.test")
    got = r53.get_account_limit(Type="MAX_TRAFFIC_POLICIES_BY_OWNER")
    n_policies = got["Count"]
    assert got["Limit"]["Value"] == 50 and n_policies >= 1
    before = r53.get_account_limit(Type="MAX_TRAFFIC_POLICY_INSTANCES_BY_OWNER")["Count"]
    iid = r53.create_traffic_policy_instance(
        HostedZoneId=zid, Name="x.tp-limits.test", TTL=60, TrafficPolicyId=pid,
        TrafficPolicyVersion=1)["TrafficPolicyInstance"]["Id"]
    after = r53.get_account_limit(Type="MAX_TRAFFIC_POLICY_INSTANCES_BY_OWNER")
    assert (after["Limit"]["Value"], after["Count"]) == (5, before + 1)
    r53.delete_traffic_policy_instance(Id=iid)
    r53.delete_traffic_policy(Id=pid, Version=1)
    assert r53.get_account_limit(Type="MAX_TRAFFIC_POLICIES_BY_OWNER")["Count"] == n_policies - 1


def test_instance_listing_pages(r53):
    pid = r53.create_traffic_policy(Name="pages", Document=simple_doc())["TrafficPolicy"]["Id"]
    zid = new_zone(r53, "tp-pages.test")
    made = [r53.create_traffic_policy_instance(
        HostedZoneId=zid, Name=f"{n}.tp-pages.test", TTL=60, TrafficPolicyId=pid,
        TrafficPolicyVersion=1)["TrafficPolicyInstance"]["Id"] for n in ("a", "b", "c")]
    seen, kw = [], {}
    while True:
        page = r53.list_traffic_policy_instances_by_hosted_zone(HostedZoneId=zid, MaxItems="2",
                                                               **kw)
        seen += [(i["Name"], i["Id"]) for i in page["TrafficPolicyInstances"]]
        if not page["IsTruncated"]:
            break
        kw = {"TrafficPolicyInstanceNameMarker": page["TrafficPolicyInstanceNameMarker"],
              "TrafficPolicyInstanceTypeMarker": page["TrafficPolicyInstanceTypeMarker"]}
    assert seen == [("a.tp-pages.test.", made[0]), ("b.tp-pages.test.", made[1]),
                    ("c.tp-pages.test.", made[2])]
    for iid in made:
        r53.delete_traffic_policy_instance(Id=iid)
