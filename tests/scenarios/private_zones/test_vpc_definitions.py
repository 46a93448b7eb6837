"""VPC definitions: [vpcs] in the configuration, the zonefront extension
(POST/GET/PUT/DELETE /2013-04-01/zonefront/vpc) in XML and JSON, what
ControlPlane.vpcs() and publish see, and persistence across a restart."""
from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET

import pytest
from helpers.private_zones import OTHER, OTHER_AKID, OTHER_SECRET, OWNER, config_vpcs, start
from helpers.route53 import RO_AKID, RO_SECRET, define_vpc, wait_insync, zf_request

from zonefront.config import ConfigError, load_config
from zonefront.vpcdef import VPCDef

NS = "{https://route53.amazonaws.com/doc/2013-04-01/}"
BASE = "/2013-04-01/zonefront/vpc"
JSON = {"Content-Type": "application/json"}


def jreq(server, method, path, doc=None, **kw):
    body = json.dumps(doc).encode() if doc is not None else b""
    status, headers, data = zf_request(server, method, path, body,
                                       {**JSON, "Accept": "application/json"}, **kw)
    return status, headers, json.loads(data) if data else None


def xml_error(data):
    root = ET.fromstring(data)
    assert root.tag == NS + "ErrorResponse"
    e = root.find(NS + "Error")
    return e.find(NS + "Code").text, e.find(NS + "Message").text


# -- configuration ----------------------------------------------------------

def write(tmp_path, text):
    p = tmp_path / "zonefront.toml"
    p.write_text(text)
    return str(p)


def test_config_vpcs(tmp_path):
    cfg = load_config(write(tmp_path, """
[vpcs.vpc-0a1b2c3d]
region = "us-east-1"
cidrs = ["10.0.0.0/16", "fd00::/48"]

[vpcs.office]
region = "eu-west-1"
cidrs = ["192.168.0.0/24"]
account = "111122223333"
"""))
    assert cfg.vpcs == {
        "vpc-0a1b2c3d": VPCDef("vpc-0a1b2c3d", "us-east-1", ["10.0.0.0/16", "fd00::/48"],
                               "000000000000", "config"),
        "office": VPCDef("office", "eu-west-1", ["192.168.0.0/24"], "111122223333", "config"),
    }


@pytest.mark.parametrize("body, words", [
    ('[vpcs.v]\nregion = "us-east-1"\ncidrs = ["10.0.0.1/16"]', ["host bits", "10.0.0.0/16"]),
    ('[vpcs.v]\nregion = "us-east-1"\ncidrs = ["10.0.0.0/33"]', ["not a CIDR block"]),
    ('[vpcs.v]\nregion = "us-east-1"\ncidrs = ["10.0.0.0"]', ["no prefix length"]),
    ('[vpcs.v]\nregion = "us-east-1"\ncidrs = []', ["non-empty"]),
    ('[vpcs.v]\nregion = "atlantis-1"\ncidrs = ["10.0.0.0/8"]', ["unknown region",
                                                                 "atlantis-1"]),
    ('[vpcs.v]\ncidrs = ["10.0.0.0/8"]', ["vpcs.v.region is required"]),
    ('[vpcs.v]\nregion = "us-east-1"\ncidrs = ["10.0.0.0/8"]\nnetworks = 1',
     ["unknown key vpcs.v.networks"]),
    ('[vpcs.v]\nregion = "us-east-1"\ncidrs = ["10.0.0.0/8"]\naccount = "12"', ["12 digits"]),
    ('[vpcs.v]\nregion = "us-east-1"\ncidrs = ["10.0.0.0/8", "10.1.0.0/16"]', ["overlap"]),
    ('[vpcs.v]\nregion = "us-east-1"\ncidrs = ["10.0.0.0/8"]\n'
     '[vpcs.w]\nregion = "us-east-1"\ncidrs = ["10.3.0.0/16"]', ["10.3.0.0/16 of w",
                                                                 "10.0.0.0/8 of v"]),
    ('[vpcs."bad id!"]\nregion = "us-east-1"\ncidrs = ["10.0.0.0/8"]', ["not a valid VPC id"]),
])
def test_config_vpc_errors(tmp_path, body, words):
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, body))
    for w in words:
        assert w in str(e.value)


# -- the extension ----------------------------------------------------------

def test_config_vpcs_listed_and_read_only(server):
    status, _h, doc = jreq(server, "GET", BASE)
    assert status == 200
    by_id = {v["VPCId"]: v for v in doc["VPCs"]}
    assert by_id["vpc-a"] == {"VPCId": "vpc-a", "VPCRegion": "us-east-1",
                              "Cidrs": ["10.0.0.0/16", "fd00:a::/48"],
                              "OwningAccount": OWNER, "Source": "config"}
    assert by_id["vpc-x"]["OwningAccount"] == OTHER
    for method, doc in (("PUT", {"Cidrs": ["10.77.0.0/16"]}), ("DELETE", None)):
        status, _h, out = jreq(server, method, BASE + "/vpc-a", doc)
        assert status == 409 and out["Error"]["Code"] == "VPCDefinedInConfiguration"
    status, _h, out = jreq(server, "POST", BASE, {"VPCId": "vpc-a", "VPCRegion": "us-east-1",
                                                  "Cidrs": ["10.77.0.0/16"]})
    assert status == 409 and out["Error"]["Code"] == "VPCAlreadyExists"
    assert server.cp.vpcs()["vpc-a"] == {"region": "us-east-1",
                                         "cidrs": ["10.0.0.0/16", "fd00:a::/48"]}


def test_json_lifecycle_republishes(server):
    r53 = server.client()
    before = server.cp.publish_count
    status, headers, doc = jreq(server, "POST", BASE, {
        "VPCId": "vpc-json", "VPCRegion": "ap-northeast-1",
        "Cidrs": ["172.16.0.0/20", "2001:db8:1::/48"]})
    assert status == 201
    assert headers["Location"].endswith(BASE + "/vpc-json")
    assert doc["VPC"] == {"VPCId": "vpc-json", "VPCRegion": "ap-northeast-1",
                          "Cidrs": ["172.16.0.0/20", "2001:db8:1::/48"],
                          "OwningAccount": OWNER, "Source": "api"}
    assert doc["ChangeInfo"]["Status"] == "PENDING"
    assert wait_insync(r53, doc["ChangeInfo"]["Id"])
    assert server.cp.publish_count > before  # a VPC change is published like a record
    want = {"region": "ap-northeast-1", "cidrs": ["172.16.0.0/20", "2001:db8:1::/48"]}
    assert server.cp.vpcs()["vpc-json"] == want
    assert server.published_vpcs[-1]["vpc-json"] == want  # what publish could read

    status, _h, doc = jreq(server, "GET", BASE + "/vpc-json")
    assert status == 200 and doc["VPC"]["Cidrs"] == want["cidrs"]

    status, _h, doc = jreq(server, "PUT", BASE + "/vpc-json", {"Cidrs": ["172.16.16.0/20"]})
    assert status == 200 and doc["VPC"]["Cidrs"] == ["172.16.16.0/20"]
    assert wait_insync(r53, doc["ChangeInfo"]["Id"])
    assert server.published_vpcs[-1]["vpc-json"]["cidrs"] == ["172.16.16.0/20"]
    status, _h, doc = jreq(server, "PUT", BASE + "/vpc-json",
                           {"VPCRegion": "us-east-1", "Cidrs": ["172.16.16.0/20"]})
    assert status == 400 and "region cannot change" in doc["Error"]["Message"]

    # in use by a private zone: not deletable until disassociated / deleted
    z = r53.create_hosted_zone(Name="json.example", CallerReference=f"j-{time.time()}",
                               VPC={"VPCRegion": "ap-northeast-1", "VPCId": "vpc-json"})
    zid = z["HostedZone"]["Id"]
    status, _h, doc = jreq(server, "DELETE", BASE + "/vpc-json")
    assert status == 400 and doc["Error"]["Code"] == "VPCInUse"
    assert zid.rsplit("/", 1)[-1] in doc["Error"]["Message"]
    r53.delete_hosted_zone(Id=zid)
    status, _h, doc = jreq(server, "DELETE", BASE + "/vpc-json")
    assert status == 200
    assert wait_insync(r53, doc["ChangeInfo"]["Id"])
    assert "vpc-json" not in server.cp.vpcs()
    assert "vpc-json" not in server.published_vpcs[-1]
    status, _h, doc = jreq(server, "GET", BASE + "/vpc-json")
    assert status == 404 and doc["Error"]["Code"] == "NoSuchVPC"
    status, _h, doc = jreq(server, "DELETE", BASE + "/vpc-json")
    assert status == 404 and doc["Error"]["Code"] == "NoSuchVPC"


def test_xml_lifecycle(server):
    body = (b'<?xml version="1.0"?><CreateVPCRequest xmlns="https://route53.amazonaws.com/'
            b'doc/2013-04-01/"><VPCId>vpc-xml</VPCId><VPCRegion>sa-east-1</VPCRegion>'
            b'<Cidrs><Cidr>100.64.0.0/24</Cidr><Cidr>fd00:77::/64</Cidr></Cidrs>'
            b'</CreateVPCRequest>')
    status, headers, data = zf_request(server, "POST", BASE, body)
    assert status == 201 and headers["Content-Type"] == "text/xml"
    root = ET.fromstring(data)
    assert root.tag == NS + "CreateVPCResponse"
    vpc = root.find(NS + "VPC")
    assert vpc.find(NS + "VPCId").text == "vpc-xml"
    assert [c.text for c in vpc.find(NS + "Cidrs")] == ["100.64.0.0/24", "fd00:77::/64"]
    assert root.find(NS + "ChangeInfo").find(NS + "Id").text.startswith("/change/C")
    status, _h, data = zf_request(server, "GET", BASE)
    root = ET.fromstring(data)
    assert root.tag == NS + "ListVPCsResponse"
    assert "vpc-xml" in [v.find(NS + "VPCId").text for v in root.find(NS + "VPCs")]
    status, _h, data = zf_request(server, "PUT", BASE + "/vpc-xml",
                                  b"<UpdateVPCRequest><Cidrs><Cidr>100.64.1.0/24</Cidr>"
                                  b"</Cidrs></UpdateVPCRequest>")
    assert status == 200 and ET.fromstring(data).tag == NS + "UpdateVPCResponse"
    assert server.cp.vpcs()["vpc-xml"]["cidrs"] == ["100.64.1.0/24"]
    status, _h, data = zf_request(server, "DELETE", BASE + "/vpc-xml")
    assert status == 200 and ET.fromstring(data).tag == NS + "DeleteVPCResponse"
    # errors come as Route 53's ErrorResponse
    status, _h, data = zf_request(server, "GET", BASE + "/vpc-xml")
    assert status == 404 and xml_error(data)[0] == "NoSuchVPC"
    status, _h, data = zf_request(server, "POST", BASE, b"<!DOCTYPE x [<!ENTITY a 'b'>]><x/>")
    assert status == 400 and xml_error(data)[0] == "InvalidInput"


@pytest.mark.parametrize("doc, words", [
    ({"VPCId": "vpc-e", "VPCRegion": "us-east-1", "Cidrs": ["10.200.0.1/16"]},
     ["host bits", "10.200.0.0/16"]),
    ({"VPCId": "vpc-e", "VPCRegion": "us-east-1", "Cidrs": ["nonsense"]},
     ["not a CIDR block"]),
    ({"VPCId": "vpc-e", "VPCRegion": "moon-1", "Cidrs": ["10.200.0.0/16"]},
     ["unknown region", "moon-1"]),
    ({"VPCId": "vpc-e", "VPCRegion": "us-east-1"}, ["non-empty list"]),
    ({"VPCRegion": "us-east-1", "Cidrs": ["10.200.0.0/16"]}, ["not a valid VPC id"]),
    ({"VPCId": "vpc-e", "VPCRegion": "us-east-1", "Cidrs": ["10.0.128.0/17"]},
     ["overlaps", "vpc-a"]),
    ({"VPCId": "vpc-e", "VPCRegion": "us-east-1", "Cidrs": ["fd00:a:0:1::/64"]},
     ["overlaps", "vpc-a"]),
])
def test_extension_validation(server, doc, words):
    status, _h, out = jreq(server, "POST", BASE, doc)
    assert status == 400 and out["Error"]["Code"] == "InvalidInput"
    for w in words:
        assert w in out["Error"]["Message"]
    assert "vpc-e" not in server.cp.vpcs()


def test_extension_access(server):
    status, _h, out = jreq(server, "POST", BASE, {"VPCId": "vpc-ro", "VPCRegion": "us-east-1",
                                                  "Cidrs": ["10.210.0.0/16"]},
                           akid=RO_AKID, secret=RO_SECRET)
    assert status == 403 and out["Error"]["Code"] == "AccessDenied"
    status, _h, out = jreq(server, "GET", BASE, akid=RO_AKID, secret=RO_SECRET)
    assert status == 200
    # another account may not change a VPC it does not own
    define_vpc(server, "vpc-mine", "us-east-1", ["10.211.0.0/16"])
    status, _h, out = jreq(server, "DELETE", BASE + "/vpc-mine", akid=OTHER_AKID,
                           secret=OTHER_SECRET)
    assert status == 401 and out["Error"]["Code"] == "NotAuthorizedException"
    # unsigned requests are refused like any Route 53 call
    import http.client
    host, port = server.cp.api_address
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", BASE)
    resp = conn.getresponse()
    assert resp.status == 403 and xml_error(resp.read())[0] == "MissingAuthenticationToken"
    conn.close()
    status, _h, out = jreq(server, "PUT", BASE, {"Cidrs": ["10.0.0.0/8"]})
    assert status == 405 and out["Error"]["Code"] == "MethodNotAllowed"
    status, _h, out = jreq(server, "GET", "/2013-04-01/zonefront/other")
    assert status == 404


# -- restart and startup checks ---------------------------------------------

def test_persistence_across_restart(tmp_path):
    run = start(tmp_path)
    try:
        r53, other = run.client(), run.client(OTHER_AKID, OTHER_SECRET)
        define_vpc(run, "vpc-p", "eu-central-1", ["10.100.0.0/16"])
        define_vpc(run, "vpc-q", "eu-central-1", ["10.101.0.0/16"], akid=OTHER_AKID,
                   secret=OTHER_SECRET)
        z = r53.create_hosted_zone(Name="persist.example", CallerReference="persist-1",
                                   VPC={"VPCRegion": "eu-central-1", "VPCId": "vpc-p"})
        zid = z["HostedZone"]["Id"]
        r53.associate_vpc_with_hosted_zone(HostedZoneId=zid, VPC={"VPCRegion": "us-east-1",
                                                                   "VPCId": "vpc-a"})
        vq = {"VPCRegion": "eu-central-1", "VPCId": "vpc-q"}
        r53.create_vpc_association_authorization(HostedZoneId=zid, VPC=vq)
        c = r53.disassociate_vpc_from_hosted_zone(HostedZoneId=zid, VPC={
            "VPCRegion": "eu-central-1", "VPCId": "vpc-p"})
        assert wait_insync(r53, c["ChangeInfo"]["Id"])
    finally:
        run.cp.stop()
    run = start(tmp_path)
    try:
        r53, other = run.client(), run.client(OTHER_AKID, OTHER_SECRET)
        # the first publish, before any API call, has everything
        z0 = {z.source: z for z in run.published[0]}[zid]
        assert z0.private and z0.vpcs == [("us-east-1", "vpc-a")]
        assert run.published_vpcs[0]["vpc-p"] == {"region": "eu-central-1",
                                                 "cidrs": ["10.100.0.0/16"]}
        assert run.cp.vpcs()["vpc-q"]["cidrs"] == ["10.101.0.0/16"]
        assert r53.get_hosted_zone(Id=zid)["VPCs"] == [{"VPCRegion": "us-east-1",
                                                        "VPCId": "vpc-a"}]
        assert r53.list_vpc_association_authorizations(HostedZoneId=zid)["VPCs"] == [vq]
        # ownership survived too: the other account still needs (and has) the authorization
        c = other.associate_vpc_with_hosted_zone(HostedZoneId=zid, VPC=vq)
        assert wait_insync(r53, c["ChangeInfo"]["Id"])
        assert run.last_zones()[zid].vpcs == [("us-east-1", "vpc-a"), ("eu-central-1", "vpc-q")]
        status, _h, out = jreq(run, "DELETE", BASE + "/vpc-q")  # AKID does not own it
        assert status == 401
    finally:
        run.cp.stop()


def test_startup_refuses_overlapping_definitions(tmp_path):
    run = start(tmp_path)
    try:
        define_vpc(run, "vpc-late", "us-east-1", ["10.120.0.0/16"])
    finally:
        run.cp.stop()
    vpcs = config_vpcs()
    vpcs["vpc-new"] = VPCDef("vpc-new", "us-east-1", ["10.120.5.0/24"], "000000000000",
                             "config")
    with pytest.raises(RuntimeError) as e:
        start(tmp_path, vpcs=vpcs)
    assert "vpc-late" in str(e.value) and "vpc-new" in str(e.value)
