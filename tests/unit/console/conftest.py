"""A real `zonefront serve --api` and a headless Chromium (Debian chromium +
chromium-driver, driven by selenium) for the console's end-to-end tests.

The servers start through tests/helpers/zfserve.py (free ports, the
`ready:` line, a clean SIGTERM exit).  The main one's data directory is
prepared before it starts: a 20,000-record zone imported with `zonefront
zone import` (the paging test) and an IAM-limited key made with `zonefront
key create` (the AccessDenied tests).  Screenshots for the README are
written only with ZONEFRONT_SCREENSHOTS=1.
"""
from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from helpers import zfserve  # the one free-port + `zonefront serve` starter the e2e tests share

KEY_ID, SECRET = zfserve.AKID, zfserve.SECRET  # the server's key, from its environment
RO_KEY_ID, RO_SECRET = "AKCONSOLEREADONLY", "console-readonly-secret-0123456789"
BIG_ZONE = "big.test."
BIG_COUNT = 20000
REGISTRY_TLD = "zfreg"  # a registry TLD: the Domains page has something to manage
VPC_ID, VPC_REGION = "vpc-0c0a5013", "eu-west-1"  # for the private zone form
REPO = Path(__file__).resolve().parents[3]
SHOTS = REPO / "docs" / "console"
# the README's pictures are rewritten only when asked: ZONEFRONT_SCREENSHOTS=1
WRITE_SHOTS = os.environ.get("ZONEFRONT_SCREENSHOTS") == "1"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
free_port = zfserve.free_port

CONFIG = f"""
[api.credentials]
{RO_KEY_ID} = "{RO_SECRET}"

[api]
readonly_keys = ["{RO_KEY_ID}"]

[zones]
max_rrsets_per_zone = 30000

[vpcs.{VPC_ID}]
region = "{VPC_REGION}"
cidrs = ["10.77.0.0/16"]
"""
HEALTH = """locations = ["us-east-1", "eu-west-1", "ap-southeast-1"]
min_interval = 1
"""


def zf(*args: str) -> list[str]:
    return [sys.executable, "-m", "zonefront.cli", *args]


class Target:
    """The HTTP server a health check probes; stop() makes the check fail."""

    def __init__(self):
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = b"ok\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Served:
    """What the console tests use of a zfserve.Served: the API's base URL,
    the DNS address, a key limited to route53:GetChange, the process."""

    def __init__(self, s: zfserve.Served, limited: tuple[str, str], metrics: int | None = None):
        self.inner = s
        self.base = f"http://127.0.0.1:{s.api_port}"
        self.dns = ("127.0.0.1", s.dns_port)
        self.limited = limited
        self.proc = s.proc
        self.metrics = metrics  # the --metrics-listen port, if any


def _limited_key(data: str, cfg: str, env: dict) -> tuple[str, str]:
    policy = Path(data) / "deny.json"
    policy.write_text('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
                      '"Action": "route53:GetChange", "Resource": "*"}]}')
    out = subprocess.run(zf("key", "create", "--data-dir", data, "--config", cfg,
                            "--name", "viewer", "--policy", str(policy)),
                         check=True, env=env, capture_output=True, text=True, timeout=60).stdout
    fields = dict(line.split(None, 1) for line in out.splitlines()
                  if line.startswith(("Access", "Secret")))
    return fields["AccessKeyId"].strip(), fields["SecretAccessKey"].strip()


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    """The console's server: a 20,000-record zone imported and an
    IAM-limited key made before it starts; no metrics listener."""
    limited: list = []

    def prepare(data, cfg, env):
        zone = Path(data) / "big.zone"
        with open(zone, "w") as f:
            f.write(f"$ORIGIN {BIG_ZONE}\n$TTL 300\n"
                    "@ SOA ns1.big.test. hostmaster.big.test. 1 7200 900 1209600 86400\n")
            f.write("@ NS ns1.big.test.\n")
            f.writelines(f"h{i:05d} A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\n"
                         for i in range(BIG_COUNT))
        subprocess.run(zf("zone", "--data-dir", data, "--config", cfg, "import", BIG_ZONE,
                          str(zone)), check=True, env=env, capture_output=True, timeout=120)
        limited.append(_limited_key(data, cfg, env))

    s = zfserve.start(tmp_path_factory.mktemp("console"), CONFIG, health_toml=HEALTH, workers=1,
                      extra_args=("--registry-tld", REGISTRY_TLD), prepare=prepare)
    try:
        yield Served(s, limited[0])
    finally:
        zfserve.stop(s)


@pytest.fixture(scope="module")
def metered(tmp_path_factory):
    """A second server with `--metrics-listen` and per-record counters on,
    for the traffic charts over real metrics."""
    limited: list = []
    port = free_port()
    s = zfserve.start(tmp_path_factory.mktemp("console-metrics"), CONFIG,
                      extra_args=("--metrics-listen", f"127.0.0.1:{port}",
                                  "--metrics-per-record", "50"),
                      prepare=lambda d, c, e: limited.append(_limited_key(d, c, e)))
    try:
        yield Served(s, limited[0], metrics=port)
    finally:
        zfserve.stop(s)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMEDRIVER) or not os.path.exists(CHROMIUM):
        pytest.skip("Debian chromium and chromium-driver are needed (.ci/run installs them)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1280,900", "--force-prefers-reduced-motion",
              "--no-first-run", "--disable-background-networking", "--disable-sync",
              "--disable-component-update", "--disable-default-apps"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()
