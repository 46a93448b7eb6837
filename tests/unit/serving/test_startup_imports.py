"""What a zone-file server imports before its first answer (issue 13: a
100k-name zone file answered no slower than gdnsd).  Each module here costs
milliseconds of every `serve --zone-file` start; these tests fail when one
comes back onto that path."""
from __future__ import annotations

import subprocess
import sys

# the compiler of unsigned zones (the forked child of serving._compile_forked)
# and the server process: neither signs nor routes by location
NOT_ON_THE_ZONE_FILE_PATH = ("cryptography", "zonefront.dnssec.keystore", "zonefront.geodefault",
                             "zonefront.geo", "maxminddb", "zonefront.dnssec.signer", "hashlib",
                             "calendar")
# and, once it serves without metrics, query logs or the API: 6 MB of RSS
NOT_WHILE_SERVING = ("zonefront.observability", "zonefront.dataplane.metrics", "http.server")


def _imported(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_zone_file_compiler_does_not_import_signing_or_geo():
    mods = _imported("from zonefront.snapshot.fastcompile import compile_zone_files\n"
                     "from zonefront.snapshot import format")
    assert "zonefront.snapshot.compiler" in mods  # the test sees what it should
    assert not mods & set(NOT_ON_THE_ZONE_FILE_PATH)


def test_serve_without_geoip_does_not_import_geo(tmp_path):
    """cmd_serve up to the first build, with the DNS server replaced by one
    that records what was imported when it was started and stops at once."""
    zone = tmp_path / "z.zone"
    zone.write_text("$ORIGIN z.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n")
    code = f"""
import sys
from zonefront import cli
from zonefront.dataplane import server
class Stub:
    def __init__(self, *a, **k): pass
    def start(self):
        print(' '.join(sys.modules))
        raise OSError('stub')
    def stop(self): pass
server.DnsServer = Stub
sys.exit(cli.main(['serve', '--zone-file', {str(zone)!r}, '--no-api', '--workers', '1',
                   '--dns-listen', '127.0.0.1:0']))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "cannot listen: stub" in out.stderr, out.stderr
    mods = set(out.stdout.split())
    assert "zonefront.core._engine" in mods
    assert not mods & set(NOT_ON_THE_ZONE_FILE_PATH)


def test_serving_without_metrics_or_api_loads_no_observability(tmp_path):
    """The process as it serves (after start-up, `stopped` printed), with
    nothing to count: observability.py and its HTTP server never load."""
    zone = tmp_path / "z.zone"
    zone.write_text("$ORIGIN z.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n")
    code = f"""
import os, signal, sys, threading
from zonefront import cli
from zonefront.dataplane import server
start = server.DnsServer.start
def started(self):
    start(self)
    threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
server.DnsServer.start = started
code = cli.main(['serve', '--zone-file', {str(zone)!r}, '--no-api', '--workers', '1',
                 '--dns-listen', '127.0.0.1:0'])
print(' '.join(sys.modules))
sys.exit(code)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "ready:" in out.stderr and "stopped" in out.stderr, out.stderr
    mods = set(out.stdout.split())
    assert not mods & set(NOT_ON_THE_ZONE_FILE_PATH + NOT_WHILE_SERVING)
