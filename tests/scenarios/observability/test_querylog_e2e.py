"""`zonefront serve` with the API: query logging configured through boto3
writes Route 53's lines, dnstap reaches a real Frame Streams collector, and
/metrics serves the same counts."""
import os
import re
import shutil
import subprocess
import time

import pytest

boto3 = pytest.importorskip("boto3")
import dns.message
import dns.query

from tests.scenarios.serve.conftest import Server, free_port, zonefront_cmd
from helpers.metrics import parse, scrape_http, value

LINE = re.compile(r"^1\.0 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (\S+) (\S+) (\S+) (\S+) "
                  r"(UDP|TCP) (\S+) (\S+) (\S+)$")


def wait_for(pred, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def stack(tmp_path):
    dns_port, api_port, m_port = free_port(), free_port(), free_port()
    tap_sock = str(tmp_path / "tap.sock")
    tap_file = str(tmp_path / "tap.fstrm")
    capture = None
    if shutil.which("fstrm_capture"):
        capture = subprocess.Popen(["fstrm_capture", "-t", "protobuf:dnstap.Dnstap",
                                    "-u", tap_sock, "-w", tap_file],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(tap_sock), 5)
    argv = zonefront_cmd("serve", "--api", "--no-auth", "--no-demo",
                         "--data-dir", str(tmp_path / "data"),
                         "--api-listen", f"127.0.0.1:{api_port}",
                         "--dns-listen", f"127.0.0.1:{dns_port}", "--workers", "2",
                         "--metrics-listen", f"127.0.0.1:{m_port}",
                         "--query-log-location", "TEST1")
    if capture is not None:
        argv += ["--dnstap-socket", tap_sock]
    srv = Server(argv, [("127.0.0.1", dns_port)])
    srv.wait_ready()
    r53 = boto3.client("route53", endpoint_url=f"http://127.0.0.1:{api_port}",
                       region_name="us-east-1", aws_access_key_id="x",
                       aws_secret_access_key="y")
    yield srv, r53, tmp_path, m_port, capture, tap_file
    srv.stop()
    if capture is not None:
        capture.terminate()
        capture.wait(10)


def test_query_logging_boto3_lines_metrics_and_dnstap(stack):
    srv, r53, tmp, m_port, capture, tap_file = stack
    zid = r53.create_hosted_zone(Name="logged.test", CallerReference="a")["HostedZone"]["Id"]
    zid = zid.split("/")[-1]
    r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": {
            "Name": "www.logged.test", "Type": "A", "TTL": 60,
            "ResourceRecords": [{"Value": "192.0.2.7"}]}}]})
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/route53/logged.test"
    qlc = r53.create_query_logging_config(HostedZoneId=zid, CloudWatchLogsLogGroupArn=arn)
    cid = qlc["QueryLoggingConfig"]["Id"]
    assert r53.get_query_logging_config(Id=cid)["QueryLoggingConfig"]["HostedZoneId"] == zid
    listed = r53.list_query_logging_configs(HostedZoneId=zid)["QueryLoggingConfigs"]
    assert [c["Id"] for c in listed] == [cid]
    with pytest.raises(r53.exceptions.QueryLoggingConfigAlreadyExists):
        r53.create_query_logging_config(HostedZoneId=zid, CloudWatchLogsLogGroupArn=arn)
    with pytest.raises(r53.exceptions.ClientError):
        r53.create_query_logging_config(HostedZoneId=zid, CloudWatchLogsLogGroupArn="nope")

    host, port = srv.addr

    def ask(name, rdtype="A", tcp=False):
        q = dns.message.make_query(name, rdtype)
        f = dns.query.tcp if tcp else dns.query.udp
        return f(q, host, port=port, timeout=3)

    # the configuration logs from the publish that follows it
    assert wait_for(lambda: ask("www.logged.test.").rcode() == 0)
    time.sleep(1.2)  # the drain re-reads the configurations twice a second
    before = parse(scrape_http("127.0.0.1", m_port)[1])
    log_path = tmp / "data" / "query-logs" / "aws" / "route53" / "logged.test.log"
    start_lines = log_path.read_text().splitlines() if log_path.exists() else []
    sent = [("www.logged.test.", "A", False, "NOERROR"),
            ("WWW.Logged.Test.", "AAAA", False, "NOERROR"),
            ("nope.logged.test.", "A", True, "NXDOMAIN"),
            ("www.logged.test.", "A", False, "NOERROR")]
    for name, t, tcp, _ in sent:
        ask(name, t, tcp)
    assert wait_for(lambda: log_path.exists() and
                    len(log_path.read_text().splitlines()) >= len(start_lines) + len(sent))
    lines = log_path.read_text().splitlines()[len(start_lines):]
    assert len(lines) == len(sent)
    got = []
    for line in lines:
        m = LINE.match(line)
        assert m, line
        got.append(m.groups())
    # two workers each drain their own ring: lines keep order per worker only
    assert sorted(got) == sorted((zid, name.rstrip("."), t, rcode, "TCP" if tcp else "UDP",
                                  "TEST1", "127.0.0.1", "-") for name, t, tcp, rcode in sent)
    ask("x.notlogged.example.", "A")  # REFUSED, no zone: never in a query log
    after = parse(scrape_http("127.0.0.1", m_port)[1])
    R = "zonefront_dns_responses_total"
    assert value(after, R, transport="udp", qtype="A", rcode="NOERROR", zone="logged.test.") - \
        value(before, R, transport="udp", qtype="A", rcode="NOERROR", zone="logged.test.") == 2
    assert value(after, R, transport="tcp", qtype="A", rcode="NXDOMAIN",
                 zone="logged.test.") - value(before, R, transport="tcp", qtype="A",
                                              rcode="NXDOMAIN", zone="logged.test.") == 1
    assert value(after, "zonefront_api_requests_total", operation="CreateQueryLoggingConfig",
                 status="201") == 1
    assert value(after, "zonefront_api_request_duration_seconds_count",
                 operation="ChangeResourceRecordSets") == 1
    # the hosted zone and the record change each turned INSYNC once
    assert value(after, "zonefront_change_insync_seconds_count") >= 2
    assert value(after, "zonefront_image_publishes_total") >= 2
    assert value(after, "zonefront_image_zones") == 1
    assert value(after, "zonefront_query_log_lines_total") >= len(sent)
    assert value(after, "zonefront_query_log_records_dropped_total") == 0
    if shutil.which("aws"):  # the AWS CLI sees and deletes the same configuration
        env = dict(os.environ, AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="y",
                   AWS_DEFAULT_REGION="us-east-1")
        endpoint = r53.meta.endpoint_url
        out = subprocess.run(["aws", "route53", "list-query-logging-configs", "--endpoint-url",
                              endpoint, "--hosted-zone-id", zid, "--output", "json"],
                             capture_output=True, text=True, env=env, timeout=60, check=False)
        assert out.returncode == 0, out.stderr
        import json
        got = json.loads(out.stdout)["QueryLoggingConfigs"]
        assert [(c["Id"], c["CloudWatchLogsLogGroupArn"]) for c in got] == [(cid, arn)]
        out = subprocess.run(["aws", "route53", "delete-query-logging-config", "--endpoint-url",
                              endpoint, "--id", cid], capture_output=True, text=True, env=env,
                             timeout=60, check=False)
        assert out.returncode == 0, out.stderr
    else:
        r53.delete_query_logging_config(Id=cid)
    with pytest.raises(r53.exceptions.NoSuchQueryLoggingConfig):
        r53.get_query_logging_config(Id=cid)

    if capture is None:
        pytest.skip("fstrm_capture (Debian fstrm-bin) not installed: dnstap not checked")
    srv.stop()  # flushes the writer and sends STOP
    capture.terminate()
    capture.wait(10)
    out = subprocess.run(["dnstap-ldns", "-r", tap_file, "-y"], capture_output=True,
                         text=True, timeout=30, check=False).stdout
    for name, t, tcp, _ in sent:
        assert re.search(rf"type: AUTH_QUERY.*?qname: {re.escape(name)}|"
                         rf"{re.escape(name)}\s+IN\s+{t}", out, re.DOTALL | re.IGNORECASE), name
    assert out.count("AUTH_QUERY") >= len(sent) + 1
    assert out.count("AUTH_RESPONSE") >= len(sent) + 1
