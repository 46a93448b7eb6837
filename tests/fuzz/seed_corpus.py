"""Writes the seed corpora under tests/fuzz/corpus/<target>/ (checked in).

    PYTHONPATH=src python tests/fuzz/seed_corpus.py

Seeds are real inputs, small on purpose (a fuzzer mutates small inputs
faster): queries as resolvers send them, the fixture zone files, snapshots
of small zone sets, framed TCP streams, Route 53 API request bodies as
boto3 sends them, Domains API JSON, and signed/unsigned transfer requests.
Running it again rewrites the seeds it owns and leaves other files (inputs
a campaign found and someone chose to keep) alone.
"""
from __future__ import annotations

import hashlib
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import srcpath

srcpath.use_checkout()

import world


def _put(target: str, blobs) -> int:
    d = HERE / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    n = 0
    for blob in blobs:
        if isinstance(blob, str):
            blob = blob.encode()
        (d / ("seed-" + hashlib.sha1(blob).hexdigest()[:16])).write_bytes(blob)
        n += 1
    return n


def engine_seeds() -> list[bytes]:
    return world.seed_queries()


def tcp_seeds() -> list[bytes]:
    qs = world.seed_queries()
    frame = lambda m: struct.pack(">H", len(m)) + m
    streams = [b"\x07" + b"".join(frame(q) for q in qs[i:i + 3]) for i in range(0, 24, 3)]
    streams.append(b"\x00" + frame(qs[1])[:5])  # a message cut short
    streams.append(b"\x01" + b"\x00\x00" + frame(qs[2]))  # an empty message first
    import dns.message
    import dns.tsigkeyring

    xfr = dns.message.make_query("example.test", "AXFR")
    ixfr = dns.message.make_query("example.test", "IXFR")
    keyring = dns.tsigkeyring.from_text({"k.": "c2VjcmV0c2VjcmV0c2VjcmV0"})
    soa = dns.message.make_query("example.test", "SOA")
    soa.use_tsig(keyring, "k.")
    streams.append(b"\x03" + frame(xfr.to_wire()) + frame(qs[3]) + frame(ixfr.to_wire()))
    streams.append(b"\x05" + frame(soa.to_wire()) + frame(qs[4]))
    return streams


def zone_text_seeds() -> list[bytes]:
    files = [ROOT / "tests" / "data" / "zones" / "example.com.db",
             ROOT / "tests" / "data" / "zones" / "sub" / "hosts.db",
             ROOT / "tests" / "scenarios" / "serve" / "zones" / "example.test.zone",
             ROOT / "tests" / "scenarios" / "serve" / "zones" / "other.test.zone"]
    out = [f.read_bytes() for f in files if f.exists()]
    out.append(b"$ORIGIN x.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n"
               b"* MX 10 mail\nd DNAME y.\nc CNAME d\nsub NS ns.sub\nns.sub AAAA ::1\n"
               b"t TXT \"a\\\"b\" c\\032d\ng TYPE999 \\# 2 0102\n")
    return out


def snapshot_seeds() -> list[bytes]:
    from zonefront.model import TYPE_A, TYPE_NS, TYPE_SOA, Zone, name_from_text
    from zonefront.snapshot import format as snapshot_format
    from zonefront.snapshot.compiler import compile_zones

    origin = name_from_text("s.example.")
    z = Zone(origin)
    z.add(origin, TYPE_SOA, 60, name_from_text("ns.s.example.") * 2 + bytes(range(20)))
    z.add(origin, TYPE_NS, 60, name_from_text("ns.s.example."))
    z.add(name_from_text("ns.s.example."), TYPE_A, 60, bytes([192, 0, 2, 1]))
    z.add(name_from_text("*.w.s.example."), TYPE_A, 60, bytes([192, 0, 2, 2]))
    tiny = compile_zones([z])
    routed = compile_zones([world.routed_zone()], world.health_table(), world.CIDR)
    return [snapshot_format.dumps(tiny, serial=1), snapshot_format.dumps(routed, serial=2)]


def xml_api_seeds() -> list[bytes]:
    """Bodies as boto3 sends them (botocore's rest-xml serializer); the
    first octet picks the operation (targets/xml_api.py)."""
    import botocore.serialize
    import botocore.session

    sys.path.insert(0, str(HERE / "targets"))
    import xml_api

    xml_api.setup()
    model = botocore.session.get_session().get_service_model("route53")
    ser = botocore.serialize.create_serializer("rest-xml")
    rrs = [
        {"Name": "a.example.com.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]},
        {"Name": "_acme-challenge.example.com.", "Type": "TXT", "TTL": 60,
         "ResourceRecords": [{"Value": '"token value"'}, {"Value": '"x" "y"'}]},
        {"Name": "mx.example.com.", "Type": "MX", "TTL": 300, "ResourceRecords": [{"Value": "10 mail.example.com."}]},
        {"Name": "w.example.com.", "Type": "AAAA", "SetIdentifier": "one", "Weight": 10, "TTL": 60,
         "HealthCheckId": "hc-1", "ResourceRecords": [{"Value": "2001:db8::1"}]},
        {"Name": "g.example.com.", "Type": "A", "SetIdentifier": "eu", "TTL": 60,
         "GeoLocation": {"ContinentCode": "EU"}, "ResourceRecords": [{"Value": "192.0.2.2"}]},
        {"Name": "p.example.com.", "Type": "A", "SetIdentifier": "p", "TTL": 60,
         "GeoProximityLocation": {"Coordinates": {"Latitude": "51.50", "Longitude": "-0.12"}, "Bias": 10},
         "ResourceRecords": [{"Value": "192.0.2.3"}]},
        {"Name": "example.com.", "Type": "A", "AliasTarget": {"HostedZoneId": "Z1FUZZ",
         "DNSName": "w.example.com.", "EvaluateTargetHealth": True}},
        {"Name": "c.example.com.", "Type": "CNAME", "TTL": 60, "SetIdentifier": "f", "Failover": "PRIMARY",
         "ResourceRecords": [{"Value": "a.example.com."}]},
        {"Name": "s.example.com.", "Type": "SRV", "TTL": 60, "SetIdentifier": "c",
         "CidrRoutingConfig": {"CollectionId": "c1", "LocationName": "office"},
         "ResourceRecords": [{"Value": "1 2 5060 sip.example.com."}]},
        {"Name": "caa.example.com.", "Type": "CAA", "TTL": 60, "MultiValueAnswer": True, "SetIdentifier": "m",
         "ResourceRecords": [{"Value": '0 issue "letsencrypt.org"'}]},
    ]
    calls = [("ChangeResourceRecordSets", {"HostedZoneId": "Z1", "ChangeBatch": {
        "Comment": "seed", "Changes": [{"Action": a, "ResourceRecordSet": r}
                                       for a, r in zip(["CREATE", "UPSERT", "DELETE"] * 4, rrs[i::3])]}})
             for i in range(3)]
    calls += [
        ("CreateHostedZone", {"Name": "example.com.", "CallerReference": "r1",
                              "HostedZoneConfig": {"Comment": "c", "PrivateZone": True},
                              "VPC": {"VPCRegion": "us-east-1", "VPCId": "vpc-1"}}),
        ("CreateHealthCheck", {"CallerReference": "r2", "HealthCheckConfig": {
            "Type": "HTTPS_STR_MATCH", "FullyQualifiedDomainName": "example.com", "Port": 443,
            "ResourcePath": "/health", "SearchString": "ok", "RequestInterval": 10, "FailureThreshold": 3,
            "Regions": ["us-east-1", "eu-west-1", "ap-southeast-2"]}}),
        ("UpdateHealthCheck", {"HealthCheckId": "hc-1", "HealthThreshold": 2, "Inverted": True,
                               "ChildHealthChecks": ["a", "b"], "ResetElements": ["ResourcePath"]}),
        ("ChangeTagsForResource", {"ResourceType": "hostedzone", "ResourceId": "Z1",
                                   "AddTags": [{"Key": "k", "Value": "v"}], "RemoveTagKeys": ["old"]}),
        ("ChangeCidrCollection", {"Id": "c1", "Changes": [{"LocationName": "office", "Action": "PUT",
                                                           "CidrList": ["198.51.100.0/24", "2001:db8::/32"]}]}),
        ("AssociateVPCWithHostedZone", {"HostedZoneId": "Z1", "VPC": {"VPCRegion": "eu-west-1",
                                                                      "VPCId": "vpc-2"}}),
        ("UpdateHostedZoneComment", {"Id": "Z1", "Comment": "a comment"}),
        ("CreateCidrCollection", {"Name": "c1", "CallerReference": "r3"}),
        ("ListTagsForResources", {"ResourceType": "healthcheck", "ResourceIds": ["a", "b"]}),
    ]
    out = []
    for op, params in calls:
        body = ser.serialize_to_request(params, model.operation_model(op))["body"]
        idx = xml_api.OPS.index(op)
        out.append(bytes([0 if idx == 0 else 128 + idx])  + body)
    out.append(b"\x00<!DOCTYPE x [<!ENTITY e 'x'>]><x>&e;</x>")
    return out


def domains_api_seeds() -> list[bytes]:
    import botocore.serialize
    import botocore.session
    import cbor2

    sys.path.insert(0, str(HERE / "targets"))
    import domains_api

    domains_api.setup()
    model = botocore.session.get_session().get_service_model("route53domains")
    ser = botocore.serialize.create_serializer("json")
    contact = {"FirstName": "A", "LastName": "B", "ContactType": "PERSON", "AddressLine1": "1 St",
               "City": "X", "CountryCode": "DE", "ZipCode": "1", "PhoneNumber": "+49.1234",
               "Email": "a@example.com", "ExtraParams": [{"Name": "BIRTH_DATE_IN_YYYY_MM_DD",
                                                          "Value": "1970-01-01"}]}
    calls = [
        ("RegisterDomain", {"DomainName": "example.com", "DurationInYears": 1, "AdminContact": contact,
                            "RegistrantContact": contact, "TechContact": contact, "AutoRenew": True}),
        ("CheckDomainAvailability", {"DomainName": "example.org"}),
        ("UpdateDomainNameservers", {"DomainName": "example.com", "Nameservers": [
            {"Name": "ns1.example.com", "GlueIps": ["192.0.2.1", "2001:db8::1"]}]}),
        ("ListOperations", {"SubmittedSince": 1700000000, "MaxItems": 10, "Status": ["SUCCESSFUL"]}),
        ("ViewBilling", {"Start": 1600000000, "End": 1800000000}),
        ("AssociateDelegationSignerToDomain", {"DomainName": "example.com", "SigningAttributes": {
            "Algorithm": 13, "Flags": 257, "PublicKey": "AwEAAQ=="}}),
        ("ListDomains", {"FilterConditions": [{"Name": "DomainName", "Operator": "BEGINS_WITH",
                                               "Values": ["ex"]}], "SortCondition": {
            "Name": "Expiry", "SortOrder": "ASC"}}),
    ]
    out = []
    for op, params in calls:
        idx = domains_api.OPS.index(op)
        body = ser.serialize_to_request(params, model.operation_model(op))["body"]
        out.append(bytes([(idx << 1) & 0xFE]) + body)
        out.append(bytes([((idx << 1) | 1) & 0xFF]) + cbor2.dumps(params))
    return out


def zonefile_seeds() -> list[bytes]:
    return zone_text_seeds() + [b"@" + b"\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n"]


def xfr_seeds() -> list[bytes]:
    import dns.message
    import dns.rrset

    sys.path.insert(0, str(HERE / "targets"))
    import xfr

    from zonefront.xfr import tsig

    key = tsig.Key.from_text(xfr.KEY)
    plain = [dns.message.make_query("example.test", "AXFR"), dns.message.make_query("example.com", "AXFR"),
             dns.message.make_query("example.test", "SOA"), dns.message.make_query("nx.test", "AXFR")]
    ixfr = dns.message.make_query("example.test", "IXFR")
    ixfr.authority.append(dns.rrset.from_text(
        "example.test.", 3600, "IN", "SOA", "ns1.example.test. h.example.test. 2024010100 1 2 3 4"))
    plain.append(ixfr)
    out = []
    for m in plain:
        wire = m.to_wire()
        out.append(b"\x01" + wire)
        out.append(b"\x00" + tsig.sign_request(wire, key, now=xfr.NOW)[0])
    return out


TARGETS = {
    "engine": engine_seeds,
    "tcp": tcp_seeds,
    "zscan": zone_text_seeds,
    "snapshot": snapshot_seeds,
    "xml_api": xml_api_seeds,
    "domains_api": domains_api_seeds,
    "zonefile": zonefile_seeds,
    "xfr": xfr_seeds,
    "engine_diff": engine_seeds,
}


def main() -> None:
    only = sys.argv[1:] or list(TARGETS)
    for name in only:
        print(name, _put(name, TARGETS[name]()))


if __name__ == "__main__":
    main()
