"""Scoped credentials: IAM identity policies per access key, evaluated as IAM
does, over the real API with boto3 (and certbot-dns-route53's own code)."""
from __future__ import annotations

import json
import os
import stat

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError
from helpers.route53 import change, new_zone, rrset

from zonefront.aws import iam
from zonefront.aws.access import normalized_name, route53_request
from zonefront.api.keys import ManagedKeys, seal, unseal
from zonefront.config import Config
from zonefront.control import ControlPlane

ADMIN, ADMIN_SECRET = "AKIDADMIN", "admin-secret"
CERTBOT, CERTBOT_SECRET = "AKIDCERTBOT", "certbot-secret"
DENY, DENY_SECRET = "AKIDDENYDELETE", "deny-secret"
NOTACT, NOTACT_SECRET = "AKIDNOTACTION", "notaction-secret"
VPCKEY, VPC_SECRET = "AKIDVPC", "vpc-secret"


def certbot_policy(zone_id: str) -> dict:
    """The policy certbot-dns-route53's documentation asks for, narrowed to
    _acme-challenge TXT records of one zone with Route 53's condition keys."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["route53:ListHostedZones", "route53:GetChange"],
         "Resource": "*"},
        {"Effect": "Allow", "Action": "route53:ChangeResourceRecordSets",
         "Resource": f"arn:aws:route53:::hostedzone/{zone_id}",
         "Condition": {
             "ForAllValues:StringLike": {
                 "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["_acme-challenge.*"]},
             "ForAllValues:StringEquals": {
                 "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"],
                 "route53:ChangeResourceRecordSetsActions": ["UPSERT", "DELETE"]}}}]}


DENY_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "route53:*", "Resource": "*"},
    {"Effect": "Deny", "Action": ["route53:DeleteHostedZone", "route53:DeleteHealthCheck"],
     "Resource": "*"}]}
NOTACTION_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "NotAction": ["route53:Delete*", "route53:*HealthCheck*"],
     "Resource": "*"}]}
VPC_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["route53:CreateHostedZone", "route53:List*",
                                   "route53:Get*"], "Resource": "*",
     "Condition": {"ForAllValues:StringLike": {
         "route53:VPCs": ["VPCId=vpc-allowed*,VPCRegion=us-east-1"]}}},
    {"Effect": "Deny", "Action": "route53:CreateHostedZone", "Resource": "*",
     "Condition": {"Null": {"route53:VPCs": "true"}}}]}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    data = tmp_path_factory.mktemp("iam")
    # the zones exist first so the certbot policy can name one by id
    config = Config(api_listen=("127.0.0.1", 0), data_dir=str(data),
                    credentials={ADMIN: ADMIN_SECRET})
    cp = ControlPlane(config, lambda zones: None)
    cp.start()
    host, port = cp.api_address
    url = f"http://{host}:{port}"
    admin = client(url, ADMIN, ADMIN_SECRET)
    acme = new_zone(admin, "acme.example").split("/")[-1]
    other = new_zone(admin, "other.example").split("/")[-1]
    cp.stop()
    config = Config(api_listen=("127.0.0.1", 0), data_dir=str(data),
                    credentials={ADMIN: ADMIN_SECRET, CERTBOT: CERTBOT_SECRET,
                                 DENY: DENY_SECRET, NOTACT: NOTACT_SECRET,
                                 VPCKEY: VPC_SECRET},
                    policies={CERTBOT: certbot_policy(acme), DENY: DENY_POLICY,
                              NOTACT: NOTACTION_POLICY, VPCKEY: VPC_POLICY})
    cp = ControlPlane(config, lambda zones: None)
    cp.start()
    host, port = cp.api_address
    url = f"http://{host}:{port}"
    yield {"url": url, "acme": acme, "other": other, "cp": cp, "data": str(data)}
    cp.stop()


def client(url, akid, secret):
    return boto3.client("route53", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id=akid, aws_secret_access_key=secret,
                        config=botocore.config.Config(retries={"max_attempts": 1}))


def denied(call, *args, **kw) -> str:
    with pytest.raises(ClientError) as e:
        call(*args, **kw)
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    return e.value.response["Error"]["Message"]


def names_of(c, zid):
    return {(r["Name"], r["Type"]) for r in
            c.list_resource_record_sets(HostedZoneId=zid)["ResourceRecordSets"]}


# -- certbot -----------------------------------------------------------------

def test_certbot_dns_route53_succeeds_in_its_zone(env, monkeypatch):
    from certbot_dns_route53._internal import dns_route53 as plugin  # a test dependency
    monkeypatch.setenv("AWS_ENDPOINT_URL", env["url"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CERTBOT)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CERTBOT_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    auth = plugin.Authenticator(object(), "dns-route53")
    admin = client(env["url"], ADMIN, ADMIN_SECRET)
    name = "_acme-challenge.www.acme.example"
    change_id = auth._change_txt_record("UPSERT", name, "token-one")
    auth._wait_for_change(change_id)  # GetChange until INSYNC
    assert (name + ".", "TXT") in names_of(admin, env["acme"])
    auth._cleanup(name, "token-one")  # DELETE
    assert (name + ".", "TXT") not in names_of(admin, env["acme"])


def test_certbot_key_refused_everything_else(env):
    c = client(env["url"], CERTBOT, CERTBOT_SECRET)
    acme, other = env["acme"], env["other"]
    admin = client(env["url"], ADMIN, ADMIN_SECRET)
    before = (names_of(admin, acme), names_of(admin, other))
    ok = rrset("_acme-challenge.acme.example", "TXT", ['"v"'], ttl=10)
    change(c, acme, ("UPSERT", ok))  # the allowed shape works
    change(c, acme, ("DELETE", ok))
    msg = denied(change, c, acme, ("UPSERT", rrset("_acme-challenge.acme.example", "A",
                                                    ["192.0.2.1"])))
    assert msg.startswith("User: arn:aws:iam::000000000000:user/AKIDCERTBOT is not "
                          "authorized to perform: route53:ChangeResourceRecordSets on "
                          f"resource: arn:aws:route53:::hostedzone/{acme} because no "
                          "identity-based policy allows")
    denied(change, c, acme, ("UPSERT", rrset("www.acme.example", "TXT", ['"v"'])))
    denied(change, c, acme, ("CREATE", ok))  # CREATE is not among the allowed actions
    denied(change, c, acme, ("UPSERT", ok), ("UPSERT", rrset("www.acme.example", "TXT",
                                                             ['"v"'])))  # one bad name
    denied(change, c, other, ("UPSERT", rrset("_acme-challenge.other.example", "TXT",
                                              ['"v"'])))
    denied(c.delete_hosted_zone, Id=acme)
    denied(c.create_hosted_zone, Name="new.example", CallerReference="certbot-new")
    denied(c.list_health_checks)
    denied(c.create_health_check, CallerReference="certbot-hc", HealthCheckConfig={
        "Type": "TCP", "IPAddress": "192.0.2.1", "Port": 80})
    denied(c.list_resource_record_sets, HostedZoneId=acme)
    assert (names_of(admin, acme), names_of(admin, other)) == before
    assert c.list_hosted_zones()["HostedZones"]  # what it needs to find the zone


def test_explicit_deny_beats_allow(env):
    c = client(env["url"], DENY, DENY_SECRET)
    zid = new_zone(c, "deny.example")  # route53:* allows it
    msg = denied(c.delete_hosted_zone, Id=zid)
    assert msg.endswith("with an explicit deny in an identity-based policy")
    assert any(z["Id"] == zid for z in c.list_hosted_zones()["HostedZones"])


def test_not_action(env):
    c = client(env["url"], NOTACT, NOTACT_SECRET)
    zid = new_zone(c, "notaction.example")
    denied(c.delete_hosted_zone, Id=zid)
    denied(c.list_health_checks)
    change(c, zid, ("CREATE", rrset("a.notaction.example", "A", ["192.0.2.1"])))
    # NotAction matches every other service too: Domains calls are allowed
    assert iam.evaluate(iam.parse(NOTACTION_POLICY),
                        iam.Request("route53domains:ListDomains"))[0] == "Allow"


def test_vpc_condition_key(env):
    from helpers.route53 import define_vpc

    admin_run = type("R", (), {"url": env["url"], "cp": env["cp"]})
    define_vpc(admin_run, "vpc-allowed1", "us-east-1", ["10.1.0.0/16"], akid=ADMIN,
               secret=ADMIN_SECRET)
    define_vpc(admin_run, "vpc-other1", "us-east-1", ["10.2.0.0/16"], akid=ADMIN,
               secret=ADMIN_SECRET)
    c = client(env["url"], VPCKEY, VPC_SECRET)
    r = c.create_hosted_zone(Name="in.vpc.example", CallerReference="vpc-ok",
                             VPC={"VPCRegion": "us-east-1", "VPCId": "vpc-allowed1"})
    assert r["HostedZone"]["Config"]["PrivateZone"]
    denied(c.create_hosted_zone, Name="out.vpc.example", CallerReference="vpc-no",
           VPC={"VPCRegion": "us-east-1", "VPCId": "vpc-other1"})
    denied(c.create_hosted_zone, Name="public.vpc.example", CallerReference="vpc-pub")
    names = {z["Name"] for z in c.list_hosted_zones()["HostedZones"]}
    assert "in.vpc.example." in names
    assert not {"out.vpc.example.", "public.vpc.example."} & names


def test_default_key_keeps_full_access(env):
    c = client(env["url"], ADMIN, ADMIN_SECRET)
    zid = new_zone(c, "full.example")
    c.delete_hosted_zone(Id=zid)


# -- managed keys: encrypted at rest, the admin extension API -------------------

def test_managed_key_created_used_and_deleted(env):
    from helpers.route53 import zf_request

    run = type("R", (), {"url": env["url"], "cp": env["cp"]})
    body = json.dumps({"UserName": "external-dns", "PolicyDocument": {
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "route53:ChangeResourceRecordSets",
             "Resource": f"arn:aws:route53:::hostedzone/{env['other']}"},
            {"Effect": "Allow", "Action": ["route53:ListHostedZones",
                                           "route53:ListResourceRecordSets"],
             "Resource": "*"}]}}).encode()
    # a scoped key may not make keys
    status, _h, data = zf_request(run, "POST", "/2013-04-01/zonefront/accesskey", body,
                                  akid=CERTBOT, secret=CERTBOT_SECRET)
    assert status == 403 and json.loads(data)["Error"]["Code"] == "AccessDenied"
    status, _h, data = zf_request(run, "POST", "/2013-04-01/zonefront/accesskey", body,
                                  akid=ADMIN, secret=ADMIN_SECRET)
    assert status == 201, data
    key = json.loads(data)["AccessKey"]
    raw = open(os.path.join(env["data"], "access-keys.json")).read()
    assert key["SecretAccessKey"] not in raw  # encrypted at rest
    for f in ("access-keys.json", "access-keys.key"):
        assert stat.S_IMODE(os.stat(os.path.join(env["data"], f)).st_mode) == 0o600
    c = client(env["url"], key["AccessKeyId"], key["SecretAccessKey"])
    change(c, env["other"], ("CREATE", rrset("ed.other.example", "A", ["192.0.2.7"])))
    denied(change, c, env["acme"], ("CREATE", rrset("ed.acme.example", "A", ["192.0.2.7"])))
    status, _h, data = zf_request(run, "GET", "/2013-04-01/zonefront/accesskey",
                                  akid=ADMIN, secret=ADMIN_SECRET)
    listed = json.loads(data)["AccessKeyMetadata"]
    assert [k["UserName"] for k in listed if k["AccessKeyId"] == key["AccessKeyId"]] == \
        ["external-dns"]
    assert "SecretAccessKey" not in data.decode()
    status, _h, _d = zf_request(run, "DELETE", "/2013-04-01/zonefront/accesskey/"
                                + key["AccessKeyId"], akid=ADMIN, secret=ADMIN_SECRET)
    assert status == 200
    with pytest.raises(ClientError) as e:
        c.list_hosted_zones()
    assert e.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_key_cli(tmp_path, capsys):
    from zonefront.cli import main

    pol = tmp_path / "p.json"
    pol.write_text(json.dumps(DENY_POLICY))
    assert main(["key", "create", "--data-dir", str(tmp_path), "--name", "ops",
                 "--policy", str(pol)]) == 0
    out = capsys.readouterr().out
    key_id = next(line.split()[-1] for line in out.splitlines()
                  if line.startswith("AccessKeyId"))
    secret = next(line.split()[-1] for line in out.splitlines()
                  if line.startswith("SecretAccessKey"))
    assert secret not in (tmp_path / "access-keys.json").read_text()
    assert main(["key", "list", "--data-dir", str(tmp_path)]) == 0
    listing = capsys.readouterr().out
    assert key_id in listing and "ops" in listing and secret not in listing
    assert ManagedKeys(str(tmp_path)).secrets(ManagedKeys(str(tmp_path)).read())[key_id] \
        == secret
    assert main(["key", "delete", "--data-dir", str(tmp_path), key_id]) == 0
    assert ManagedKeys(str(tmp_path)).read() == {}
    bad = tmp_path / "bad.json"
    bad.write_text('{"Version": "2012-10-17", "Statement": [{"Effect": "Maybe"}]}')
    assert main(["key", "create", "--data-dir", str(tmp_path), "--policy", str(bad)]) == 1


# -- the evaluator alone ----------------------------------------------------------

def test_seal_round_trip_and_tamper():
    master = os.urandom(32)
    s = seal(master, "secret-text")
    assert unseal(master, s) == "secret-text"
    import base64
    raw = bytearray(base64.b64decode(s))
    raw[20] ^= 1
    with pytest.raises(ValueError):
        unseal(master, base64.b64encode(bytes(raw)).decode())


def test_request_context_of_a_change_batch():
    req = route53_request("ChangeResourceRecordSets", {"HostedZoneId": "Z1", "ChangeBatch": {"Changes": [
        {"Action": "UPSERT", "ResourceRecordSet": {"Name": "_ACME-challenge.Example.COM.",
                                                    "Type": "TXT"}},
        {"Action": "DELETE", "ResourceRecordSet": {"Name": "\\052.example.com",
                                                    "Type": "A"}}]}})
    assert req.action == "route53:ChangeResourceRecordSets"
    assert req.resources == ["arn:aws:route53:::hostedzone/Z1"]
    assert req.context["route53:changeresourcerecordsetsnormalizedrecordnames"] == \
        ["_acme-challenge.example.com", "*.example.com"]
    assert req.context["route53:changeresourcerecordsetsrecordtypes"] == ["TXT", "A"]
    assert req.context["route53:changeresourcerecordsetsactions"] == ["UPSERT", "DELETE"]
    assert normalized_name("A\\.b.Example.") == "a.b.example"


def test_for_all_values_vs_for_any_value():
    def pol(q):
        return iam.parse({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "route53:ChangeResourceRecordSets", "Resource": "*",
            "Condition": {f"{q}:StringEquals": {
                "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]}}}]})
    key = "route53:changeresourcerecordsetsrecordtypes"
    mixed = iam.Request("route53:ChangeResourceRecordSets", ["*"], {key: ["TXT", "A"]})
    assert iam.evaluate(pol("ForAllValues"), mixed)[0] == "ImplicitDeny"
    assert iam.evaluate(pol("ForAnyValue"), mixed)[0] == "Allow"


def test_implicit_deny_and_wildcards():
    p = iam.parse({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "route53:Get*", "Resource": "arn:aws:route53:::*"}})
    assert iam.evaluate(p, iam.Request("route53:GetHostedZone",
                                       ["arn:aws:route53:::hostedzone/Z1"]))[0] == "Allow"
    assert iam.evaluate(p, iam.Request("ROUTE53:gethostedzone",
                                       ["arn:aws:route53:::hostedzone/Z1"]))[0] == "Allow"
    assert iam.evaluate(p, iam.Request("route53:ListHostedZones", ["*"]))[0] == "ImplicitDeny"


@pytest.mark.parametrize("doc", [
    {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},  # no Version
    {"Version": "2012-10-17", "Statement": [{"Effect": "allow", "Action": "*",
                                             "Resource": "*"}]},
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*"}]},
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*",
                                             "NotAction": "x:y", "Resource": "*"}]},
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*",
                                             "Resource": "*", "Principal": "*"}]},
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*",
                                             "Resource": "*", "Condition": {
                                                 "NumericLessThan": {"a": "1"}}}]},
])
def test_malformed_policies_refused(doc):
    with pytest.raises(iam.PolicyError):
        iam.parse(doc)
