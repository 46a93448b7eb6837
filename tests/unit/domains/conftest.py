"""A real `zonefront serve --api` with a [registry] section, boto3 clients in
both Route 53 Domains protocols, and a real unbound resolver.

botocore 1.43 ships route53domains with `protocols: ["json"]`, so a plain
boto3 client speaks JSON 1.1.  The CBOR client loads the same model with
its protocol switched to `smithy-rpc-v2-cbor` (what botocore does for the
services that list that protocol), so its requests are botocore's own
RPC v2 CBOR serializer and parser at work.
"""
from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import boto3
import botocore.session
import pytest
from botocore.config import Config as BotoConfig
from helpers.procs import child_env, wait_ready
from helpers.registry_chain import CONTACT  # noqa: F401  (the domains tests import it from here)

AKID, SECRET = "AKIDREGISTRANT", "registrant-secret"  # account 111111111111
AKID2, SECRET2 = "AKIDOTHERACCT", "other-secret"  # account 222222222222
RO_AKID, RO_SECRET = "AKIDREADONLY", "readonly-secret"
LIMIT_AKID, LIMIT_SECRET = "AKIDLIMITED", "limited-secret"  # account 333333333333
ACCOUNT1, ACCOUNT2, ACCOUNT3 = "111111111111", "222222222222", "333333333333"
NAMESERVERS = ["ns1.example.net.", "ns2.example.net."]







CONFIG = """
[api]
listen = "127.0.0.1:{api_port}"
access_key_id = "{akid}"
secret_access_key = "{secret}"
readonly_keys = ["{ro}"]

[api.credentials]
{akid2} = "{secret2}"
{ro} = "{ro_secret}"
{lim} = "{lim_secret}"

[store]
data_dir = "{data}"

[zones]
nameservers = {nameservers}

[registry]
tlds = ["corp", "lab"]
reserved = ["nic", "reserved.corp"]
premium = ["shop.corp"]
currency = "EUR"
operation_delay = 0.5  # the limit test sends 6 registrations before the first completes; 0.15 s was too short for a loaded CI machine
max_domains = 6
max_operations = 5
accounts = {{ {akid} = "{acct1}", {akid2} = "{acct2}", {ro} = "{acct1}", {lim} = "{acct3}" }}

[registry.prices.default]
registration = 10.0
renewal = 11.0
transfer = 9.0
change_ownership = 0.0
restoration = 50.0

[registry.prices.lab]
registration = 2.5
renewal = 2.5
"""


class Served:
    def __init__(self, proc, api_url, dns_port, data):
        self.proc = proc
        self.url = api_url
        self.dns_port = dns_port
        self.data = data


@pytest.fixture(scope="session")
def served(tmp_path_factory, free_port):
    tmp = tmp_path_factory.mktemp("registry")
    data = tmp / "data"
    dns_port, api_port = free_port(), free_port()
    cfg = tmp / "zonefront.toml"
    cfg.write_text(CONFIG.format(api_port=api_port, akid=AKID, secret=SECRET, akid2=AKID2,
                                 secret2=SECRET2, ro=RO_AKID, ro_secret=RO_SECRET,
                                 data=data, nameservers=json.dumps(NAMESERVERS),
                                 acct1=ACCOUNT1, acct2=ACCOUNT2, acct3=ACCOUNT3,
                                 lim=LIMIT_AKID, lim_secret=LIMIT_SECRET))
    env = child_env()
    env.pop("ZONEFRONT_ACCESS_KEY_ID", None)
    env.pop("ZONEFRONT_SECRET_ACCESS_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "zonefront.cli", "serve", "--api", "--no-demo", "--workers", "1",
         "--dns-listen", f"127.0.0.1:{dns_port}", "--config", str(cfg)],
        stderr=subprocess.PIPE, text=True, env=env)
    try:
        wait_ready(proc)
        yield Served(proc, f"http://127.0.0.1:{api_port}", dns_port, data)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()


@pytest.fixture(scope="session")
def cbor_model_path(tmp_path_factory):
    """A botocore data path whose route53domains model speaks smithy-rpc-v2-cbor."""
    from botocore.loaders import Loader

    root = tmp_path_factory.mktemp("models")
    model = Loader().load_service_model("route53domains", "service-2")
    model["metadata"]["protocol"] = "smithy-rpc-v2-cbor"
    model["metadata"]["protocols"] = ["smithy-rpc-v2-cbor"]
    version = model["metadata"]["apiVersion"]
    out = root / "route53domains" / version
    out.mkdir(parents=True)
    with gzip.open(out / "service-2.json.gz", "wt") as f:
        json.dump(model, f)
    yield str(root)
    shutil.rmtree(root, ignore_errors=True)


def make_client(url, akid=AKID, secret=SECRET, data_path=None):
    session = botocore.session.get_session()
    if data_path:
        session.set_config_variable("data_path", data_path)
    return boto3.Session(botocore_session=session).client(
        "route53domains", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id=akid, aws_secret_access_key=secret,
        config=BotoConfig(retries={"max_attempts": 1}))


@pytest.fixture(scope="session")
def cbor(served, cbor_model_path):
    c = make_client(served.url, data_path=cbor_model_path)
    assert c.meta.service_model.resolved_protocol == "smithy-rpc-v2-cbor"
    return c


@pytest.fixture(scope="session")
def jsonc(served):
    c = make_client(served.url)
    assert c.meta.service_model.resolved_protocol == "json"
    return c


@pytest.fixture(scope="session")
def other(served, cbor_model_path):
    return make_client(served.url, AKID2, SECRET2, data_path=cbor_model_path)


@pytest.fixture(scope="session")
def route53(served):
    return boto3.client("route53", endpoint_url=served.url, region_name="us-east-1",
                        aws_access_key_id=AKID, aws_secret_access_key=SECRET,
                        config=BotoConfig(retries={"max_attempts": 1}))


def wait_op(client, op_id, timeout=10.0) -> dict:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        d = client.get_operation_detail(OperationId=op_id)
        if not seen or seen[-1] != d["Status"]:
            seen.append(d["Status"])
        if d["Status"] in ("SUCCESSFUL", "FAILED", "ERROR"):
            d["seen"] = seen
            return d
        time.sleep(0.02)
    raise AssertionError(f"operation {op_id} still {seen} after {timeout}s")


def register(client, name, **kw):
    args = dict(DomainName=name, DurationInYears=1, AdminContact=CONTACT,
                RegistrantContact=CONTACT, TechContact=CONTACT)
    args.update(kw)
    op = client.register_domain(**args)["OperationId"]
    return wait_op(client, op)


# -- unbound ---------------------------------------------------------------

UNBOUND_CONF = """
server:
    interface: 127.0.0.1
    port: {port}
    do-ip6: no
    do-udp: yes
    do-tcp: yes
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    module-config: "iterator"
    qname-minimisation: no
    harden-referral-path: no
    use-syslog: no
    logfile: ""
    verbosity: 1
    directory: "{dir}"
    chroot: ""
    username: ""
    pidfile: "{dir}/unbound.pid"
    cache-max-ttl: 0
    cache-max-negative-ttl: 0
    infra-host-ttl: 1
    prefetch: no
    num-threads: 1
    so-reuseport: no

remote-control:
    control-enable: no

stub-zone:
    name: "corp."
    stub-addr: 127.0.0.1@{dns_port}
    stub-no-cache: yes

# everything else goes to a closed local port: the resolver never leaves 127.0.0.1
stub-zone:
    name: "."
    stub-addr: 127.0.0.1@{dead_port}
"""


@pytest.fixture(scope="session")
def unbound(served, tmp_path_factory, free_port):
    """A real unbound on 127.0.0.1 whose only way into .corp is zonefront."""
    exe = shutil.which("unbound") or ("/usr/sbin/unbound"
                                      if os.path.exists("/usr/sbin/unbound") else None)
    assert exe, "unbound is not installed (Debian package 'unbound'); this test needs it"
    d = tmp_path_factory.mktemp("unbound")
    port = free_port()
    conf = d / "unbound.conf"
    conf.write_text(UNBOUND_CONF.format(port=port, dir=d, dns_port=served.dns_port,
                                        dead_port=free_port()))
    chk = shutil.which("unbound-checkconf") or "/usr/sbin/unbound-checkconf"
    if os.path.exists(chk):
        r = subprocess.run([chk, str(conf)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
    proc = subprocess.Popen([exe, "-d", "-c", str(conf)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 10
        import dns.message
        import dns.query

        while True:
            assert proc.poll() is None, f"unbound exited: {proc.stdout.read()}"
            try:
                dns.query.udp(dns.message.make_query("corp.", "SOA"), "127.0.0.1", port=port,
                              timeout=0.5)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
