"""Health check sources in network namespaces (issue 17): an HTTP endpoint
listens only inside a private network (its own network namespace, standing
for the VPC); the server's default checker locations cannot reach it, a
`zonefront checker --source ID` started inside that namespace can.  The
source turns CREATE_COMPLETED when that checker registers, the check naming
the source follows the endpoint, and the failover answer follows the check."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import boto3
import pytest
from helpers import zfserve
from botocore.config import Config as BotoConfig
from helpers.zfserve import rrset, wait_for
from helpers.procs import child_env

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None,
    reason="needs root and iproute2 for network namespaces")

VPC_TOML = """
[vpcs.vpc-hcsrc]
region = "us-east-1"
cidrs = ["10.217.0.0/24"]
"""


def _ns_cmd(ns, *argv):
    return ["ip", "netns", "exec", ns, *argv]


@pytest.fixture
def netns():
    name = f"zf17hc{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(_ns_cmd(name, "ip", "link", "set", "lo", "up"), check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def _start_endpoint(ns, port, root):
    """A plain HTTP server on the namespace's own loopback: reachable only there."""
    p = subprocess.Popen(_ns_cmd(ns, sys.executable, "-m", "http.server", str(port),
                                 "--bind", "127.0.0.1", "--directory", str(root)),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    probe = _ns_cmd(ns, sys.executable, "-c",
                    f"import socket; socket.create_connection(('127.0.0.1', {port}), 1)")
    assert wait_for(lambda: subprocess.run(probe, capture_output=True, check=False).returncode == 0,
                    timeout=10.0, step=0.1), "endpoint did not start"
    return p


def _stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_checker_inside_private_network_marks_endpoint_healthy(tmp_path, netns):
    served = zfserve.start(tmp_path, VPC_TOML, health_toml="enabled = true\nmin_interval = 1\n")
    checker = endpoint = None
    try:
        # RequestInterval 1 is a zonefront extension boto3's validation would refuse
        r53 = boto3.client("route53", endpoint_url=f"http://127.0.0.1:{served.api_port}",
                           region_name="us-east-1", aws_access_key_id=zfserve.AKID,
                           aws_secret_access_key=zfserve.SECRET,
                           config=BotoConfig(parameter_validation=False,
                                             retries={"max_attempts": 1}))
        port = zfserve.free_port()  # nothing listens there outside the namespace
        endpoint = _start_endpoint(netns, port, tmp_path)
        subnets = [{"SubnetId": f"subnet-{i}", "AvailabilityZoneId": f"use1-az{i}",
                    "SecurityGroupIdList": ["sg-1"]} for i in (1, 2)]
        src = r53.create_health_check_source(
            CallerReference="hcsrc-1",
            HealthCheckSourceConfig={"VpcId": "vpc-hcsrc", "SubnetConfigurationList": subnets})
        sid = src["HealthCheckSourceId"]
        assert src["HealthCheckSourceStatus"] == "CREATE_PENDING"

        def check(ref, **extra):
            return r53.create_health_check(CallerReference=ref, HealthCheckConfig={
                "Type": "HTTP", "IPAddress": "127.0.0.1", "Port": port, "ResourcePath": "/",
                "RequestInterval": 1, "FailureThreshold": 1, **extra})["HealthCheck"]["Id"]

        private = check("hc-private", HealthCheckSourceId=sid, EndpointType="PRIVATE")
        public = check("hc-default")  # the default locations: outside the network
        zid = served.create_zone("hc.test")
        served.change(zid,
                      rrset("www.hc.test", "192.0.2.1", SetIdentifier="p", Failover="PRIMARY",
                            HealthCheckId=private),
                      rrset("www.hc.test", "192.0.2.2", SetIdentifier="s",
                            Failover="SECONDARY"),
                      rrset("ctl.hc.test", "192.0.2.11", SetIdentifier="p",
                            Failover="PRIMARY", HealthCheckId=public),
                      rrset("ctl.hc.test", "192.0.2.12", SetIdentifier="s",
                            Failover="SECONDARY"))
        # the default locations cannot reach the private endpoint
        assert wait_for(lambda: served.addresses("ctl.hc.test") == ["192.0.2.12"],
                        timeout=15.0, step=0.1)
        # and they do not probe the check naming the source (it would be unhealthy):
        # with no report yet it counts as healthy, as a check nobody probes does
        assert served.addresses("www.hc.test") == ["192.0.2.1"]

        cfg = os.path.join(str(tmp_path), "zonefront.toml")
        data = os.path.join(str(tmp_path), "data")
        checker = subprocess.Popen(
            _ns_cmd(netns, sys.executable, "-m", "zonefront.cli", "checker", "--source", sid,
                    "--data-dir", data, "--config", cfg),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=child_env())
        assert wait_for(lambda: r53.get_health_check_source(HealthCheckSourceId=sid)[
            "HealthCheckSource"]["HealthCheckSourceStatus"] == "CREATE_COMPLETED",
            timeout=15.0, step=0.1)
        # reports from inside: healthy, so the primary is answered
        assert wait_for(lambda: served.addresses("www.hc.test") == ["192.0.2.1"],
                        timeout=15.0, step=0.1)
        by_source = r53.list_health_checks_by_source(HealthCheckSourceId=sid)["HealthChecks"]
        assert [h["Id"] for h in by_source] == [private]

        # the endpoint goes away inside the network: the checker there sees it, DNS follows
        _stop(endpoint)
        endpoint = None
        assert wait_for(lambda: served.addresses("www.hc.test") == ["192.0.2.2"],
                        timeout=15.0, step=0.1), "the private check did not turn unhealthy"
        endpoint = _start_endpoint(netns, port, tmp_path)
        assert wait_for(lambda: served.addresses("www.hc.test") == ["192.0.2.1"],
                        timeout=15.0, step=0.1), "the private check did not recover"
        # still unreachable from the default locations
        assert served.addresses("ctl.hc.test") == ["192.0.2.12"]
    finally:
        for p in (checker, endpoint):
            if p is not None:
                _stop(p)
        zfserve.stop(served)
