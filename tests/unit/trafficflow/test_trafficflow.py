"""trafficflow: a validated traffic policy document as the core's rule tree,
and what zone transfers make of an instance (every endpoint, merged)."""
from __future__ import annotations

from zonefront.model import TYPE_A, TYPE_NS, TYPE_SOA, Zone, name_from_text
from zonefront.trafficflow import compile_document
from zonefront.xfr.history import records

OWNER = name_from_text("www.example.com.")
DOC = {
    "AWSPolicyFormatVersion": "2015-10-01", "RecordType": "A",
    "Endpoints": {"a": {"Type": "value", "Value": "192.0.2.1"},
                  "b": {"Type": "value", "Value": "192.0.2.2"},
                  "c": {"Type": "value", "Value": "192.0.2.3"},
                  "elb": {"Type": "elastic-load-balancer",
                          "Value": "my-lb-1.us-east-1.elb.amazonaws.com"}},
    "Rules": {"top": {"RuleType": "latency", "Regions": [
                  {"Region": "us-east-1", "RuleReference": "fo"},
                  {"Region": "eu-west-1", "EndpointReference": "elb",
                   "EvaluateTargetHealth": True}]},
              "fo": {"RuleType": "failover",
                     "Primary": {"RuleReference": "geo", "HealthCheck": "hc1"},
                     "Secondary": {"EndpointReference": "c"}},
              "geo": {"RuleType": "geoproximity", "GeoproximityLocations": [
                  {"Region": "aws:route53:us-west-2", "Bias": "10", "EndpointReference": "a"},
                  {"Latitude": "48.1", "Longitude": "11.6", "EndpointReference": "b"}]}},
    "StartRule": "top"}


def test_rules_become_nested_record_sets():
    top = compile_document(DOC, OWNER, 45)
    assert [r.region for r in top] == ["us-east-1", "eu-west-1"]
    assert all(r.owner == OWNER and r.rtype == TYPE_A and r.ttl == 45 for r in top[0].walk())
    fo = top[0].children
    assert [(r.failover, r.health_check) for r in fo] == [("PRIMARY", "hc1"), ("SECONDARY", None)]
    geo = fo[0].children
    assert (geo[0].geoprox_region, geo[0].geoprox_bias) == ("us-west-2", 10)
    assert (geo[1].geoprox_lat, geo[1].geoprox_lon) == (48.1, 11.6)
    assert [r.rdatas for r in geo] == [[bytes([192, 0, 2, 1])], [bytes([192, 0, 2, 2])]]
    assert fo[1].rdatas == [bytes([192, 0, 2, 3])] and fo[1].children is None
    elb = top[1]
    assert elb.alias_name == name_from_text("my-lb-1.us-east-1.elb.amazonaws.com.")
    assert elb.alias_evaluate_health and elb.rdatas == []
    # set identifiers name the rule and item, so every path is distinct
    ids = [r.set_id for t in top for r in t.walk()]
    assert len(ids) == len(set(ids))


def test_start_endpoint_is_one_candidate():
    doc = {"AWSPolicyFormatVersion": "2015-10-01", "RecordType": "A",
           "Endpoints": {"e": {"Type": "value", "Value": "192.0.2.9"}}, "StartEndpoint": "e"}
    (rec,) = compile_document(doc, OWNER, 60)
    assert (rec.weight, rec.rdatas, rec.children) == (1, [bytes([192, 0, 2, 9])], None)


def test_zone_transfer_merges_every_endpoint_of_the_tree():
    origin = name_from_text("example.com.")
    z = Zone(origin)
    z.add(origin, TYPE_SOA, 300, origin * 2 + bytes(20))
    z.add(origin, TYPE_NS, 300, origin)
    z.routed += compile_document(DOC, OWNER, 45)
    got = sorted(rd for owner, rtype, _ttl, rd in records(z) if owner == OWNER)
    assert got == [bytes([192, 0, 2, i]) for i in (1, 2, 3)]
