"""The AWS CLI, unchanged, pointed at zonefront with --endpoint-url."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from helpers.route53 import AKID, SECRET

pytestmark = pytest.mark.skipif(shutil.which("aws") is None, reason="aws CLI not installed")


def aws(server, *args, ok=True):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=AKID, AWS_SECRET_ACCESS_KEY=SECRET,
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_PAGER="", AWS_MAX_ATTEMPTS="1")
    p = subprocess.run(["aws", "--endpoint-url", server.url, "--output", "json", "route53",
                        *args], env=env, capture_output=True, text=True, timeout=60)
    if ok:
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout) if p.stdout.strip() else None
    assert p.returncode != 0
    return p.stderr


def test_aws_cli_round_trip(server, tmp_path):
    z = aws(server, "create-hosted-zone", "--name", "cli.example", "--caller-reference", "cli-1",
            "--hosted-zone-config", "Comment=from the cli")
    zid = z["HostedZone"]["Id"]
    assert z["DelegationSet"]["NameServers"][0] == "ns1.zonefront.local."
    batch = {"Comment": "cli batch", "Changes": [
        {"Action": "CREATE", "ResourceRecordSet": {
            "Name": "www.cli.example", "Type": "A", "TTL": 60,
            "ResourceRecords": [{"Value": "192.0.2.10"}]}},
        {"Action": "CREATE", "ResourceRecordSet": {
            "Name": "cli.example", "Type": "TXT", "TTL": 60,
            "ResourceRecords": [{"Value": "\"hello\""}]}}]}
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(batch))
    r = aws(server, "change-resource-record-sets", "--hosted-zone-id", zid, "--change-batch",
            f"file://{path}")
    assert r["ChangeInfo"]["Status"] == "PENDING"
    server.cp.wait_published()
    assert aws(server, "get-change", "--id", r["ChangeInfo"]["Id"])["ChangeInfo"]["Status"] \
        == "INSYNC"
    # the CLI's own pagination, over 1-item pages
    listed = aws(server, "list-resource-record-sets", "--hosted-zone-id", zid,
                 "--page-size", "1")
    assert [(x["Name"], x["Type"]) for x in listed["ResourceRecordSets"]] == [
        ("cli.example.", "NS"), ("cli.example.", "SOA"), ("cli.example.", "TXT"),
        ("www.cli.example.", "A")]
    zones = aws(server, "list-hosted-zones-by-name", "--dns-name", "cli.example")
    assert zones["HostedZones"][0]["Id"] == zid
    aws(server, "change-tags-for-resource", "--resource-type", "hostedzone", "--resource-id",
        zid.split("/")[-1], "--add-tags", "Key=owner,Value=cli")
    # errors come out as the CLI prints Route 53's
    err = aws(server, "change-resource-record-sets", "--hosted-zone-id", zid,
              "--change-batch", f"file://{path}", ok=False)
    assert "InvalidChangeBatch" in err and "but it already exists" in err
    err = aws(server, "delete-hosted-zone", "--id", zid, ok=False)
    assert "HostedZoneNotEmpty" in err
    # the CLI wrote what boto3 reads back
    tags = server.client().list_tags_for_resource(ResourceType="hostedzone",
                                                  ResourceId=zid.split("/")[-1])
    assert tags["ResourceTagSet"]["Tags"] == [{"Key": "owner", "Value": "cli"}]


def test_aws_cli_wrong_key(server):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=AKID, AWS_SECRET_ACCESS_KEY="wrong",
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_MAX_ATTEMPTS="1")
    p = subprocess.run(["aws", "--endpoint-url", server.url, "route53", "list-hosted-zones"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "SignatureDoesNotMatch" in p.stderr
