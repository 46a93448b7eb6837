"""A Route 53 traffic policy document (Traffic Flow) as the core's rule tree.

The document (AWSPolicyFormatVersion 2015-10-01, validated beforehand by
api/trafficdoc.py) names endpoints and rules; each rule is one routing
decision whose items lead to an endpoint or to another rule.  An instance
of it at (owner, type, TTL) becomes the top rule's items as RoutedRRsets,
and an item leading to a rule carries that rule's items as `children`, so
zoneset and the compiler nest one choice per rule, sharing nothing with
the neighbouring paths but the shape (not a flattened copy of each path).

This sits with the vocabulary (it knows no API and no store) so that the
store's zone builder can turn a stored instance into record sets.
"""
from __future__ import annotations

import json

from . import model, rdata

# the private field of an instance's stored record set: {"Document", "TTL"};
# never listed (api/traffic.py strips it), read by store/zones.py
PRIVATE = "_zfTraffic"
CLOUDFRONT_ZONE = "Z2FDTNDATAQYW2"  # Route 53's documented alias zone for CloudFront

# the list of items each rule type holds, and the policy field it sets
RULE_ITEMS = {"weighted": "Items", "multivalue": "Items", "geo": "Locations",
              "latency": "Regions", "geoproximity": "GeoproximityLocations"}


def rule_items(rule: dict) -> list[dict]:
    """A rule's items in document order (failover: primary, secondary)."""
    if rule["RuleType"] == "failover":
        return [dict(rule["Primary"], _failover="PRIMARY"),
                dict(rule["Secondary"], _failover="SECONDARY")]
    return list(rule[RULE_ITEMS[rule["RuleType"]]])


def compile_document(doc: dict, owner: bytes, ttl: int) -> list[model.RoutedRRset]:
    """The competing record sets at `owner` for an instance of `doc`."""
    rtype = rdata.rrtype_from_text(doc["RecordType"])
    if "StartEndpoint" in doc:
        # one endpoint: a single candidate that always applies
        rec = _endpoint(doc, doc["StartEndpoint"], owner, rtype, ttl)
        rec.weight = 1
        rec.set_id = doc["StartEndpoint"]
        return [rec]
    return _rule(doc, doc["StartRule"], owner, rtype, ttl)


def compile_stored(rrset: dict, owner: bytes) -> list[model.RoutedRRset]:
    """The record sets of an instance's stored row (its private field)."""
    priv = rrset[PRIVATE]
    return compile_document(json.loads(priv["Document"]), owner, int(priv["TTL"]))


def _rule(doc: dict, name: str, owner: bytes, rtype: int, ttl: int) -> list[model.RoutedRRset]:
    rule = doc["Rules"][name]
    kind = rule["RuleType"]
    out = []
    for i, item in enumerate(rule_items(rule)):
        if item.get("RuleReference"):
            rec = model.RoutedRRset(owner, rtype, ttl, [])
            rec.children = _rule(doc, item["RuleReference"], owner, rtype, ttl)
        else:
            rec = _endpoint(doc, item["EndpointReference"], owner, rtype, ttl)
            if rec.alias_name is not None:
                rec.alias_evaluate_health = bool(item.get("EvaluateTargetHealth"))
        rec.set_id = f"{name}/{i}"
        rec.health_check = item.get("HealthCheck") or None
        _set_policy(rec, kind, item)
        out.append(rec)
    return out


def _endpoint(doc: dict, name: str, owner: bytes, rtype: int, ttl: int) -> model.RoutedRRset:
    ep = doc["Endpoints"][name]
    if ep.get("Type", "value") == "value":
        return model.RoutedRRset(owner, rtype, ttl, [rdata.from_text(rtype, ep["Value"], model.ROOT)])
    # an AWS resource (ELB, CloudFront, S3 website...) by its DNS name: an
    # alias outside our zones, answered as any such alias is
    rec = model.RoutedRRset(owner, rtype, ttl, [])
    rec.alias_name = model.name_lower(model.name_from_text(ep["Value"].rstrip(".") + "."))
    # CloudFront's hosted zone id is the same everywhere; the others depend
    # on the resource's region, which the document does not always give
    rec.alias_zone = CLOUDFRONT_ZONE if ep["Type"] == "cloudfront" else None
    return rec


def _set_policy(rec: model.RoutedRRset, kind: str, item: dict) -> None:
    if kind == "weighted":
        rec.weight = int(item["Weight"])
    elif kind == "failover":
        rec.failover = item["_failover"]
    elif kind == "multivalue":
        rec.multivalue = True
    elif kind == "latency":
        rec.region = item["Region"]
    elif kind == "geo":
        if item.get("IsDefault"):
            rec.geo_country = "*"
        elif item.get("Subdivision"):
            rec.geo_country, rec.geo_subdivision = item.get("Country") or "US", item["Subdivision"]
        elif item.get("Country"):
            rec.geo_country = item["Country"]
        else:
            rec.geo_continent = item["Continent"]
    elif kind == "geoproximity":
        rec.geoprox_bias = int(item.get("Bias") or 0)
        if item.get("Latitude") is not None:
            rec.geoprox_lat = float(item["Latitude"])
            rec.geoprox_lon = float(item["Longitude"])
        else:
            rec.geoprox_region = item["Region"].rsplit(":", 1)[-1]
