"""The console's static mount on the API port: what it serves, what it
refuses (paths outside the static directory, writes), its security headers,
and `--no-console` / console = False leaving /console/ to the Route 53 router."""
from __future__ import annotations

import http.client
import os
import sys

import pytest

from zonefront.cli import build_parser
from zonefront.config import load_config
from zonefront.console.mount import ConsoleMount, console_mount, static_root

from helpers.route53 import start_control_plane


def get(url_host, port, method, path, body=None):
    c = http.client.HTTPConnection(url_host, port, timeout=5)
    c.request(method, path, body=body)
    r = c.getresponse()
    out = (r.status, dict(r.getheaders()), r.read())
    c.close()
    return out


@pytest.fixture(scope="module")
def on(tmp_path_factory):
    run = start_control_plane(tmp_path_factory.mktemp("on"))
    yield run.cp.api_address
    run.cp.stop()


def test_serves_index_modules_and_css_with_types(on):
    status, hdrs, body = get(*on, "GET", "/console/")
    assert status == 200 and hdrs["Content-Type"].startswith("text/html")
    assert b"js/app.js" in body
    status, hdrs, body = get(*on, "GET", "/console/js/sigv4.js")
    assert status == 200 and hdrs["Content-Type"].startswith("text/javascript")
    with open(os.path.join(static_root(), "js", "sigv4.js"), "rb") as f:
        assert body == f.read()
    status, hdrs, _ = get(*on, "GET", "/console/console.css")
    assert status == 200 and hdrs["Content-Type"].startswith("text/css")


def test_security_headers_keep_the_page_on_this_origin(on):
    _, hdrs, _ = get(*on, "GET", "/console/")
    csp = hdrs["Content-Security-Policy"]
    for directive in ("default-src 'none'", "script-src 'self'", "connect-src 'self'",
                      "frame-ancestors 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert hdrs["X-Content-Type-Options"] == "nosniff"


NAMESPACES = ("http://www.w3.org/2000/svg", "https://route53.amazonaws.com/doc/2013-04-01/")


def test_no_inline_script_or_outside_reference_in_the_files():
    """The CSP forbids inline script; no file names another host (the XML
    and SVG namespace names are identifiers, never fetched)."""
    for dirpath, _, files in os.walk(static_root()):
        for name in files:
            with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                text = f.read()
            for ns in NAMESPACES:
                text = text.replace(ns, "")
            assert "http://" not in text and "https://" not in text and "//cdn" not in text, name
            if name.endswith(".html"):
                assert "<script>" not in text and "onclick=" not in text


def test_bare_prefix_redirects_to_the_directory(on):
    status, hdrs, _ = get(*on, "GET", "/console")
    assert status == 301 and hdrs["Location"] == "/console/"


@pytest.mark.parametrize("path", ["/console/../api/server.py", "/console/js/../../mount.py",
                                  "/console/%2e%2e/mount.py", "/console/.hidden",
                                  "/console/js//app.js", "/console/nothing.js"])
def test_nothing_outside_the_static_directory(on, path):
    status, _, body = get(*on, "GET", path)
    assert status == 404, body


def test_writes_are_refused(on):
    status, hdrs, _ = get(*on, "POST", "/console/index.html", body=b"x")
    assert status == 405 and hdrs["Allow"] == "GET, HEAD"


def test_resolve_stays_inside_root(tmp_path):
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "index.html").write_text("hi")
    (tmp_path / "secret.txt").write_text("no")
    os.symlink(tmp_path / "secret.txt", tmp_path / "static" / "link.txt")
    m = ConsoleMount(str(tmp_path / "static"))
    assert m.resolve("/console/") == str(tmp_path / "static" / "index.html")
    assert m.resolve("/console/link.txt") is None  # a symlink out of the root
    assert m.resolve("/console/../secret.txt") is None


def test_no_console_flag_turns_the_mount_off(tmp_path):
    args = build_parser().parse_args(["serve", "--no-console"])
    assert args.no_console is True
    assert console_mount(load_config(None, {"console": False})) is None
    assert console_mount(load_config(None, {})) is not None
    off = tmp_path / "off.toml"
    off.write_text("[api]\nconsole = false\n")
    assert console_mount(load_config(str(off))) is None
    run = start_control_plane(tmp_path, console=False)
    try:
        status, _, body = get(*run.cp.api_address, "GET", "/console/")
        assert status in (403, 404) and b"<ErrorResponse" in body  # the Route 53 router's answer
    finally:
        run.cp.stop()


PROM_TEXT = (b"# TYPE zonefront_dns_responses_total counter\n"
             b'zonefront_dns_responses_total{transport="udp",qtype="A",rcode="NOERROR",'
             b'zone="shop.test."} 7\n')


@pytest.fixture(scope="module")
def metrics_listener():
    import http.server
    import threading

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = PROM_TEXT if self.path == "/metrics" else b"no\n"
            self.send_response(200 if self.path == "/metrics" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[:2]
    httpd.shutdown()
    httpd.server_close()


def signed_get(addr, path, key, secret):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    host, port = addr
    req = AWSRequest(method="GET", url=f"http://{host}:{port}{path}")
    SigV4Auth(Credentials(key, secret), "route53", "us-east-1").add_auth(req)
    c = http.client.HTTPConnection(host, port, timeout=5)
    c.request("GET", path, headers=dict(req.headers))
    r = c.getresponse()
    out = (r.status, dict(r.getheaders()), r.read())
    c.close()
    return out


def test_metrics_proxy_is_signed_and_authorized(tmp_path, metrics_listener):
    from helpers.route53 import AKID, RO_AKID, RO_SECRET, SECRET

    run = start_control_plane(tmp_path, console_metrics=metrics_listener)
    try:
        addr = run.cp.api_address
        status, hdrs, body = get(*addr, "GET", "/console/metrics")
        assert status == 403 and body.startswith(b"MissingAuthenticationToken: ")
        status, hdrs, _ = signed_get(addr, "/console/metrics", AKID, "wrong-secret")
        assert status == 403 and hdrs["x-amzn-ErrorType"] == "SignatureDoesNotMatch"
        status, hdrs, body = signed_get(addr, "/console/metrics", AKID, SECRET)
        assert status == 200 and body == PROM_TEXT
        assert hdrs["Content-Type"].startswith("text/plain; version=0.0.4")
        # the read-only policy (api.readonly_keys) includes zonefront:GetMetrics
        status, hdrs, body = signed_get(addr, "/console/metrics", RO_AKID, RO_SECRET)
        assert status == 200 and body == PROM_TEXT
    finally:
        run.cp.stop()


def test_metrics_proxy_refuses_a_policy_without_get_metrics(tmp_path, metrics_listener):
    from helpers.route53 import AKID, SECRET

    reads = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*",
                                                     "Action": ["route53:Get*", "route53:List*"]}]}
    run = start_control_plane(tmp_path, console_metrics=metrics_listener, policies={AKID: reads})
    try:
        status, hdrs, body = signed_get(run.cp.api_address, "/console/metrics", AKID, SECRET)
        assert status == 403 and hdrs["x-amzn-ErrorType"] == "AccessDenied"
        assert b"zonefront:GetMetrics" in body and PROM_TEXT not in body
    finally:
        run.cp.stop()


def test_read_only_policy_allows_metrics_and_no_write():
    from zonefront.aws import iam

    ro = iam.parse(iam.READ_ONLY)
    assert iam.evaluate(ro, iam.Request("zonefront:GetMetrics"))[0] == "Allow"
    assert iam.evaluate(ro, iam.Request("route53:ChangeResourceRecordSets"))[0] == "ImplicitDeny"


def test_metrics_proxy_without_metrics_listen(on):
    from helpers.route53 import AKID, SECRET

    status, hdrs, _ = signed_get(on, "/console/metrics", AKID, SECRET)
    assert status == 404 and hdrs["x-amzn-ErrorType"] == "NoMetrics"


def test_metrics_listener_down_is_a_502(tmp_path):
    import socket

    from helpers.route53 import AKID, SECRET
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[:2]  # closed when the block ends: nothing listens there
    run = start_control_plane(tmp_path, console_metrics=dead)
    try:
        status, hdrs, _ = signed_get(run.cp.api_address, "/console/metrics", AKID, SECRET)
        assert status == 502 and hdrs["x-amzn-ErrorType"] == "MetricsUnavailable"
    finally:
        run.cp.stop()
