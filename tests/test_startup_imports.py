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
                             "zonefront.geo", "maxminddb")


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
