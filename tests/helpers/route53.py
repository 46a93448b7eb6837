"""Helpers for the API tests: start a real ControlPlane, make boto3 clients."""
from __future__ import annotations

import threading
import time

import boto3
import botocore.config

from helpers.procs import wait_insync  # noqa: F401  (the API tests import it from here)

from zonefront.control import ControlPlane
from zonefront.config import Config

AKID = "AKIDZONEFRONTTEST"
SECRET = "zonefront-test-secret"
RO_AKID = "AKIDREADONLY"
RO_SECRET = "readonly-secret"


class Running:
    """A started control plane plus what publish() received."""

    def __init__(self, cp: ControlPlane, published: list):
        self.cp = cp
        self.published = published
        self.gate = threading.Event()  # cleared: publish() blocks (to observe PENDING)
        self.gate.set()
        host, port = cp.api_address
        self.url = f"http://{host}:{port}"

    def client(self, akid=AKID, secret=SECRET, **kw):
        return boto3.client(
            "route53", endpoint_url=self.url, region_name="us-east-1",
            aws_access_key_id=akid, aws_secret_access_key=secret,
            config=botocore.config.Config(retries={"max_attempts": 1}), **kw)

    def last_zones(self):
        return {z.source: z for z in self.published[-1]}


def start_control_plane(data_dir, **cfg) -> Running:
    published: list = []
    holder: dict = {}

    def publish(zones):
        gate = holder.get("gate")
        if gate is not None:
            gate.wait(10)
        published.append(zones)

    cfg.setdefault("alias_resolver", "none")  # no DNS leaves the machine (outside aliases)
    config = Config(api_listen=("127.0.0.1", 0), data_dir=str(data_dir),
                    credentials={AKID: SECRET, RO_AKID: RO_SECRET}, readonly_keys=[RO_AKID],
                    **cfg)
    cp = ControlPlane(config, publish)
    cp.start()
    run = Running(cp, published)
    holder["gate"] = run.gate
    return run




_n = [0]


def new_zone(client, name="example.com", **kw):
    _n[0] += 1
    r = client.create_hosted_zone(Name=name, CallerReference=f"ref-{time.time()}-{_n[0]}", **kw)
    return r["HostedZone"]["Id"]


def rrset(name, rtype, values, ttl=300, **extra):
    d = {"Name": name, "Type": rtype, "TTL": ttl,
         "ResourceRecords": [{"Value": v} for v in values]}
    d.update(extra)
    return d


def change(client, zone_id, *changes, comment=None):
    batch = {"Changes": [{"Action": a, "ResourceRecordSet": r} for a, r in changes]}
    if comment:
        batch["Comment"] = comment
    return client.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch=batch)


def zf_request(run, method, path, body=b"", headers=None, akid=AKID, secret=SECRET):
    """A SigV4-signed raw request (the zonefront extension has no boto3 model);
    returns (status, headers, body bytes)."""
    import http.client

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = AWSRequest(method=method, url=run.url + path, data=body, headers=dict(headers or {}))
    SigV4Auth(Credentials(akid, secret), "route53", "us-east-1").add_auth(req)
    host, port = run.cp.api_address
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request(method, path, body=body, headers=dict(req.prepare().headers))
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), data


def define_vpc(run, vpc_id, region, cidrs, akid=AKID, secret=SECRET):
    """POST /2013-04-01/zonefront/vpc with a JSON body; returns the parsed answer."""
    import json

    status, _h, data = zf_request(
        run, "POST", "/2013-04-01/zonefront/vpc",
        json.dumps({"VPCId": vpc_id, "VPCRegion": region, "Cidrs": cidrs}).encode(),
        {"Content-Type": "application/json"}, akid=akid, secret=secret)
    assert status == 201, data
    return json.loads(data)
