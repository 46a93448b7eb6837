"""Aliases to names outside our hosted zones (issue 16, item 4), end to end:
a second authoritative server (another `zonefront serve`, zone file) holds
the target names, Unbound on 127.0.0.1 resolves them, and `zonefront serve
--api` with `[alias] resolver` follows them: the target's addresses at the
alias name (apex included) with the target's TTL, its changes followed
before the TTL runs out, the last good answer kept while Unbound is down,
and EvaluateTargetHealth applied to the resolution outcome."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import dns.rdatatype
import pytest
from helpers import zfserve
from helpers.zfserve import free_port, rrset, wait_for
from helpers.procs import child_env, wait_ready

from zonefront.outside.targets import CLOUDFRONT, RESOLVE_ZONE_ID

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(shutil.which("unbound") is None, reason="unbound not installed")]

TTL = 3  # the targets' TTL: short, so refreshes happen within the test
MIN_REFRESH = 0.2  # [alias] min_refresh
# Each (target, type) is refreshed on its own schedule, and a failing one is
# asked again with a backoff of up to min_refresh * 2**5 (aliases.refresh).
# Once the resolver is back, a target's next question is at most that far
# away, and its answer is published within a TTL.
RECOVERY = MIN_REFRESH * 2 ** 5 + TTL

TARGET_ZONE = """$ORIGIN cdn.outside.test.
$TTL {ttl}
@ SOA ns hostmaster {serial} 3600 600 86400 1
@ NS ns
ns A 127.0.0.1
{records}
"""


class Authority:
    """The second authoritative server, reloaded with SIGHUP."""

    def __init__(self, tmp):
        self.path = os.path.join(str(tmp), "cdn.outside.test.zone")
        self.port = free_port()
        self.serial = 1
        self.write({"edge": ["A 192.0.2.10", "AAAA 2001:db8::10"], "primary": ["A 192.0.2.20"]})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "zonefront.cli", "serve", "--zone-file", self.path,
             "--dns-listen", f"127.0.0.1:{self.port}", "--workers", "1", "--geoip", "none"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, env=child_env())
        wait_ready(self.proc)

    def write(self, names: dict[str, list[str]]) -> None:
        records = "\n".join(f"{n} {r}" for n, rs in names.items() for r in rs)
        with open(self.path, "w") as f:
            f.write(TARGET_ZONE.format(ttl=TTL, serial=self.serial, records=records))
        self.serial += 1

    def change(self, names: dict[str, list[str]]) -> None:
        self.write(names)
        self.proc.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class Unbound:
    def __init__(self, tmp, authority_port: int):
        self.dir = str(tmp)
        self.port = free_port()
        self.conf = os.path.join(self.dir, "unbound.conf")
        with open(self.conf, "w") as f:
            f.write(f"""server:
  interface: 127.0.0.1
  port: {self.port}
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "{self.dir}"
  pidfile: "{self.dir}/unbound.pid"
  use-syslog: no
  verbosity: 0
  num-threads: 1
  outgoing-range: 32
  num-queries-per-thread: 16
  so-reuseport: no
  do-not-query-localhost: no
  access-control: 127.0.0.0/8 allow
  module-config: "iterator"
  cache-min-ttl: 0
  cache-max-negative-ttl: 1
  prefetch: no
  local-zone: "test." nodefault
  domain-insecure: "outside.test."
stub-zone:
  name: "cdn.outside.test."
  stub-addr: 127.0.0.1@{authority_port}
remote-control:
  control-enable: no
""")
        self.proc = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(["unbound", "-d", "-c", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        ok = wait_for(lambda: self._answers(), timeout=10, step=0.1)
        assert ok, "unbound did not start"

    def _answers(self) -> bool:
        import dns.exception
        import dns.message
        import dns.query

        q = dns.message.make_query("edge.cdn.outside.test.", "A")
        try:
            return bool(dns.query.udp(q, "127.0.0.1", port=self.port, timeout=0.5).answer)
        except (OSError, dns.exception.DNSException):
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("outside")
    auth = Authority(tmp)
    unbound = None
    served = None
    try:
        unbound = Unbound(tmp, auth.port)
        served = zfserve.start(tmp, config_toml=(
            f'[alias]\nresolver = "127.0.0.1:{unbound.port}"\nmin_refresh = {MIN_REFRESH}\n'),
            extra_args=("--geoip", "none"))
        yield auth, unbound, served
    finally:
        if served is not None:
            zfserve.stop(served)
        if unbound is not None:
            unbound.stop()
        auth.stop()


def alias(name, target, zone_id=RESOLVE_ZONE_ID, rdtype="A", evaluate=False, **extra):
    return {"Name": name, "Type": rdtype, **extra,
            "AliasTarget": {"HostedZoneId": zone_id, "DNSName": target,
                            "EvaluateTargetHealth": evaluate}}


def answer(served, name, rdtype="A"):
    m = served.query(name, rdtype)
    want = dns.rdatatype.from_text(rdtype)
    got = [rr for rr in m.answer if rr.rdtype == want]
    return (sorted(r.to_text() for r in got[0]), got[0].ttl,
            got[0].name.to_text()) if got else None


def test_alias_follows_outside_target_and_survives_resolver_outage(world):
    auth, unbound, served = world
    origin = "site.test"
    zid = served.create_zone(origin)
    served.change(zid,
                  alias(origin, "edge.cdn.outside.test"),  # apex, zonefront's any-name id
                  alias(origin, "edge.cdn.outside.test", rdtype="AAAA"),
                  alias(f"www.{origin}", "edge.cdn.outside.test.", zone_id=CLOUDFRONT),
                  alias(f"fo.{origin}", "primary.cdn.outside.test", evaluate=True,
                        SetIdentifier="p", Failover="PRIMARY"),
                  rrset(f"fo.{origin}", "192.0.2.99", SetIdentifier="s", Failover="SECONDARY"))
    # resolved when the change is INSYNC: the addresses at the alias names,
    # under the alias's own name, with the target's TTL (at most)
    values, ttl, owner = answer(served, origin)
    assert values == ["192.0.2.10"] and owner == f"{origin}." and 0 < ttl <= TTL
    assert answer(served, origin, "AAAA")[0] == ["2001:db8::10"]
    assert answer(served, f"www.{origin}")[0] == ["192.0.2.10"]
    assert answer(served, f"fo.{origin}")[0] == ["192.0.2.20"]
    assert served.query(origin, "SOA").answer  # the apex keeps its own data

    # the target moves, and the primary's target goes (NXDOMAIN): followed
    # before the old answer's TTL runs out twice over
    auth.change({"edge": ["A 192.0.2.11", "AAAA 2001:db8::11"]})
    assert wait_for(lambda: answer(served, origin)[0] == ["192.0.2.11"], timeout=3 * TTL,
                    step=0.1)
    assert wait_for(lambda: answer(served, origin, "AAAA")[0] == ["2001:db8::11"],
                    timeout=3 * TTL, step=0.1)
    # EvaluateTargetHealth: a target that no longer resolves is unhealthy
    assert wait_for(lambda: answer(served, f"fo.{origin}")[0] == ["192.0.2.99"],
                    timeout=3 * TTL, step=0.1)

    # Unbound down: the last good answers stay, well past their TTL
    unbound.stop()
    auth.change({"edge": ["A 192.0.2.12"], "primary": ["A 192.0.2.21"]})
    during = []
    for _ in range(10 * TTL):  # 2.5 TTLs
        during.append(answer(served, origin))
        assert answer(served, f"fo.{origin}")[0] == ["192.0.2.99"]
        time.sleep(0.25)
    assert all(a is not None and a[0] == ["192.0.2.11"] for a in during)

    # back up: the changes made meanwhile are followed, the primary healthy again
    unbound.start()
    assert wait_for(lambda: answer(served, origin)[0] == ["192.0.2.12"], timeout=45, step=0.2)
    assert wait_for(lambda: answer(served, f"fo.{origin}")[0] == ["192.0.2.21"],
                    timeout=RECOVERY, step=0.2)
    # the target has no AAAA now: NODATA once the AAAA target, backing off on
    # a schedule of its own, is asked again (not when the A is)
    assert wait_for(lambda: answer(served, origin, "AAAA") is None, timeout=RECOVERY, step=0.2)
