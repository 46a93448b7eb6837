"""A real `zonefront serve --api` and a headless Chromium (Debian chromium +
chromium-driver, driven by selenium) for the console's end-to-end tests.

The server's data directory is prepared before it starts: a 20,000-record
zone imported with `zonefront zone import` (the paging test) and an
IAM-limited key made with `zonefront key create` (the AccessDenied test).
"""
from __future__ import annotations

import http.server
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

KEY_ID = "AKCONSOLETEST0001"
SECRET = "console-test-secret-0123456789abcdef"
BIG_ZONE = "big.test."
BIG_COUNT = 20000
REGISTRY_TLD = "zfreg"
VPC_ID, VPC_REGION = "vpc-0c0a5013", "eu-west-1"  # for the private zone form  # a registry TLD: the Domains page has something to manage
REPO = Path(__file__).resolve().parents[3]
SHOTS = REPO / "docs" / "console"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def free_port() -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                    u.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


def zf(*args: str) -> list[str]:
    return [sys.executable, "-m", "zonefront.cli", *args]


def _env() -> dict:
    """The test's own environment: the server runs the zonefront this test
    imports (installed in CI, PYTHONPATH=src in a worktree)."""
    return dict(os.environ)


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
    def __init__(self, base: str, dns: tuple[str, int], limited: tuple[str, str], proc):
        self.base = base
        self.dns = dns
        self.limited = limited
        self.proc = proc


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    data = tmp_path_factory.mktemp("console-data")
    config = data / "zonefront.toml"
    config.write_text(f"""
[api]
access_key_id = "{KEY_ID}"
secret_access_key = "{SECRET}"

[zones]
max_rrsets_per_zone = 30000

[vpcs.{VPC_ID}]
region = "{VPC_REGION}"
cidrs = ["10.77.0.0/16"]

[health]
locations = ["us-east-1", "eu-west-1", "ap-southeast-1"]
min_interval = 1
""")
    env = _env()
    zone = data / "big.zone"
    with open(zone, "w") as f:
        f.write(f"$ORIGIN {BIG_ZONE}\n$TTL 300\n@ SOA ns1.big.test. hostmaster.big.test. 1 7200 900 1209600 86400\n")
        f.write("@ NS ns1.big.test.\n")
        f.writelines(f"h{i:05d} A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\n" for i in range(BIG_COUNT))
    base_args = ["--data-dir", str(data), "--config", str(config)]
    subprocess.run(zf("zone", *base_args, "import", BIG_ZONE, str(zone)), check=True, env=env,
                   capture_output=True, timeout=120)
    policy = data / "deny.json"
    policy.write_text('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
                      '"Action": "route53:GetChange", "Resource": "*"}]}')
    out = subprocess.run(zf("key", "create", *base_args, "--name", "viewer", "--policy", str(policy)),
                         check=True, env=env, capture_output=True, text=True, timeout=60).stdout
    fields = dict(line.split(None, 1) for line in out.splitlines() if line.startswith(("Access", "Secret")))
    limited = (fields["AccessKeyId"].strip(), fields["SecretAccessKey"].strip())
    api_port, dns_port = free_port(), free_port()
    log = open(data / "serve.log", "w")  # noqa: SIM115  (closed after the server stops)
    proc = subprocess.Popen(zf("serve", "--api", "--no-demo", "--workers", "1",
                               "--api-listen", f"127.0.0.1:{api_port}",
                               "--dns-listen", f"127.0.0.1:{dns_port}",
                               "--registry-tld", REGISTRY_TLD, *base_args),
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", api_port), timeout=0.5):
                break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("zonefront serve exited:\n" + (data / "serve.log").read_text())
            time.sleep(0.2)
    else:
        raise RuntimeError("zonefront serve did not listen")
    yield Served(f"http://127.0.0.1:{api_port}", ("127.0.0.1", dns_port), limited, proc)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
    log.close()


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
