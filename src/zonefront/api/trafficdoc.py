"""Validation of Route 53 traffic policy documents (InvalidTrafficPolicyDocument).

Route 53 refuses a document naming the first problem it meets; so do we,
with the field path in the message, before anything is stored.  What is
accepted here, trafficflow.compile_document can compile without checks.
Limits beyond Route 53's own: rules nest at most MAX_DEPTH deep (the core
walks at most eight decisions per answer).
"""
from __future__ import annotations

import json

from .. import geo, model, rdata
from ..trafficflow import RULE_ITEMS
from ..aws.route53_errors import Route53Error

FORMAT_VERSION = "2015-10-01"
MAX_DEPTH = 8
RECORD_TYPES = {"A", "AAAA", "CAA", "CNAME", "MX", "NAPTR", "PTR", "SPF", "SRV", "TXT", "DS"}
ENDPOINT_TYPES = {"value", "cloudfront", "elastic-load-balancer", "application-load-balancer",
                  "network-load-balancer", "elastic-beanstalk", "s3-website"}
RULE_TYPES = {"failover", "geo", "latency", "geoproximity", "weighted", "multivalue"}
CONTINENTS = {"AF", "AN", "AS", "EU", "OC", "NA", "SA"}
MAX_DOC_CHARS = 102400


class DocumentError(Route53Error):
    def __init__(self, message: str):
        super().__init__("InvalidTrafficPolicyDocument", message)


def parse(text: str, health_exists=None) -> dict:
    """The document as a dict, or DocumentError naming what is wrong.
    `health_exists(id) -> bool` checks HealthCheck references, when given."""
    if len(text) > MAX_DOC_CHARS:
        raise DocumentError(f"The traffic policy document exceeds the maximum length of "
                            f"{MAX_DOC_CHARS} characters.")
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise DocumentError(f"The traffic policy document is not valid JSON: {e}") from None
    if not isinstance(doc, dict):
        raise DocumentError("The traffic policy document must be a JSON object.")
    validate(doc, health_exists)
    return doc


def _fail(msg: str):
    raise DocumentError(msg)


def validate(doc: dict, health_exists=None) -> None:
    version = doc.get("AWSPolicyFormatVersion")
    if version != FORMAT_VERSION:
        _fail(f"AWSPolicyFormatVersion must be \"{FORMAT_VERSION}\", found {version!r}.")
    rtype = doc.get("RecordType")
    if rtype not in RECORD_TYPES:
        _fail(f"RecordType {rtype!r} is not supported; expected one of "
              f"{', '.join(sorted(RECORD_TYPES))}.")
    known = {"AWSPolicyFormatVersion", "RecordType", "StartRule", "StartEndpoint", "Endpoints",
             "Rules"}
    for k in doc:
        if k not in known:
            _fail(f"Unknown field {k!r} at the top level of the document.")
    endpoints = doc.get("Endpoints", {})
    rules = doc.get("Rules", {})
    if not isinstance(endpoints, dict) or not isinstance(rules, dict):
        _fail("Endpoints and Rules must be JSON objects keyed by name.")
    if ("StartRule" in doc) == ("StartEndpoint" in doc):
        _fail("The document must contain exactly one of StartRule and StartEndpoint.")
    for name, ep in endpoints.items():
        _check_endpoint(name, ep, rtype)
    for name, rule in rules.items():
        _check_rule(name, rule, endpoints, rules, health_exists)
    if "StartEndpoint" in doc:
        if doc["StartEndpoint"] not in endpoints:
            _fail(f"StartEndpoint {doc['StartEndpoint']!r} does not refer to an endpoint in "
                  "Endpoints.")
        return
    if doc["StartRule"] not in rules:
        _fail(f"StartRule {doc['StartRule']!r} does not refer to a rule in Rules.")
    _check_tree(doc["StartRule"], rules, [])


def _check_endpoint(name: str, ep, rtype: str) -> None:
    if not isinstance(ep, dict):
        _fail(f"Endpoint {name!r} must be a JSON object.")
    etype = ep.get("Type", "value")
    if etype not in ENDPOINT_TYPES:
        _fail(f"Endpoint {name!r} has an unsupported Type {etype!r}.")
    value = ep.get("Value")
    if not isinstance(value, str) or not value:
        _fail(f"Endpoint {name!r} is missing a Value.")
    if etype == "value":
        try:
            rdata.from_text(rdata.rrtype_from_text(rtype), value, model.ROOT)
        except (rdata.RdataError, model.NameError_, ValueError) as e:
            _fail(f"Endpoint {name!r}: Value {value!r} is not a valid {rtype} value ({e}).")
    elif rtype not in ("A", "AAAA"):
        _fail(f"Endpoint {name!r} of Type {etype} can only be used in a policy of RecordType "
              "A or AAAA.")


def _check_rule(name: str, rule, endpoints: dict, rules: dict, health_exists) -> None:
    if not isinstance(rule, dict):
        _fail(f"Rule {name!r} must be a JSON object.")
    kind = rule.get("RuleType")
    if kind not in RULE_TYPES:
        _fail(f"Rule {name!r} has an unsupported RuleType {kind!r}; expected one of "
              f"{', '.join(sorted(RULE_TYPES))}.")
    if kind == "failover":
        for part in ("Primary", "Secondary"):
            if not isinstance(rule.get(part), dict):
                _fail(f"Failover rule {name!r} must have a {part}.")
        items = [("Primary", rule["Primary"]), ("Secondary", rule["Secondary"])]
    else:
        field = RULE_ITEMS[kind]
        got = rule.get(field)
        if not isinstance(got, list) or not got:
            _fail(f"Rule {name!r} of type {kind} must have a non-empty {field} list.")
        items = [(f"{field}[{i}]", it) for i, it in enumerate(got)]
    seen_locations = set()
    for where, item in items:
        where = f"rule {name!r} {where}"
        if not isinstance(item, dict):
            _fail(f"Item in {where} must be a JSON object.")
        ep, ru = item.get("EndpointReference"), item.get("RuleReference")
        if (ep is None) == (ru is None):
            _fail(f"Exactly one of EndpointReference and RuleReference is required in {where}.")
        if ep is not None and ep not in endpoints:
            _fail(f"EndpointReference {ep!r} in {where} does not refer to an endpoint in "
                  "Endpoints.")
        if ru is not None:
            if ru not in rules:
                _fail(f"RuleReference {ru!r} in {where} does not refer to a rule in Rules.")
            if kind == "multivalue":
                _fail(f"A multivalue rule can only refer to endpoints ({where}).")
        hc = item.get("HealthCheck")
        if hc is not None and (not isinstance(hc, str) or (
                health_exists is not None and not health_exists(hc))):
            _fail(f"HealthCheck {hc!r} in {where} does not exist.")
        ev = item.get("EvaluateTargetHealth")
        if ev is not None and not isinstance(ev, bool):
            _fail(f"EvaluateTargetHealth in {where} must be true or false.")
        _check_item(kind, item, where, seen_locations)


def _check_item(kind: str, item: dict, where: str, seen: set) -> None:
    if kind == "weighted":
        try:
            w = int(item.get("Weight"))
        except (TypeError, ValueError):
            _fail(f"Weight in {where} must be an integer from 0 to 255.")
        if not 0 <= w <= 255:
            _fail(f"Weight in {where} must be an integer from 0 to 255.")
    elif kind == "latency":
        region = item.get("Region")
        if region not in geo.REGIONS:
            _fail(f"Region {region!r} in {where} is not an AWS region.")
        if region in seen:
            _fail(f"Region {region!r} appears more than once in a latency rule ({where}).")
        seen.add(region)
    elif kind == "geo":
        if item.get("IsDefault"):
            loc = ("*",)
        else:
            cont, country, sub = item.get("Continent"), item.get("Country"), item.get("Subdivision")
            if cont is None and country is None:
                _fail(f"A geo location needs Continent, Country or IsDefault in {where}.")
            if cont is not None and (country is not None or sub is not None):
                _fail(f"Continent cannot be combined with Country or Subdivision in {where}.")
            if cont is not None and cont not in CONTINENTS:
                _fail(f"Continent {cont!r} in {where} is not a continent code.")
            if country is not None and not (isinstance(country, str) and len(country) == 2
                                            and country.isalpha() and country.isupper()):
                _fail(f"Country {country!r} in {where} is not an ISO 3166 country code.")
            if sub is not None and country is None:
                _fail(f"Subdivision requires Country in {where}.")
            loc = (cont, country, sub)
        if loc in seen:
            _fail(f"The location {loc!r} appears more than once in a geo rule ({where}).")
        seen.add(loc)
    elif kind == "geoproximity":
        has_region = item.get("Region") is not None
        has_coords = item.get("Latitude") is not None or item.get("Longitude") is not None
        if has_region == has_coords:
            _fail(f"Exactly one of Region and Latitude/Longitude is required in {where}.")
        if has_region:
            region = str(item["Region"]).rsplit(":", 1)[-1]
            if region not in geo.REGIONS:
                _fail(f"Region {item['Region']!r} in {where} is not an AWS region.")
        else:
            try:
                lat, lon = float(item["Latitude"]), float(item["Longitude"])
            except (KeyError, TypeError, ValueError):
                _fail(f"Latitude and Longitude in {where} must both be numbers.")
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                _fail(f"Latitude or Longitude out of range in {where}.")
        try:
            bias = int(item.get("Bias") or 0)
        except (TypeError, ValueError):
            _fail(f"Bias in {where} must be an integer from -99 to 99.")
        if not -99 <= bias <= 99:
            _fail(f"Bias in {where} must be an integer from -99 to 99.")


def _check_tree(name: str, rules: dict, path: list[str]) -> None:
    """No rule may lead back to itself, and the tree stays within MAX_DEPTH."""
    if name in path:
        _fail(f"The rules form a loop: {' -> '.join(path + [name])}.")
    if len(path) >= MAX_DEPTH:
        _fail(f"Rules are nested more than {MAX_DEPTH} deep (at rule {name!r}).")
    from ..trafficflow import rule_items

    for item in rule_items(rules[name]):
        if item.get("RuleReference"):
            _check_tree(item["RuleReference"], rules, path + [name])
