"""unbound as a validating resolver for the DNSSEC e2e tests."""
from __future__ import annotations

import signal
import subprocess
import time

import dns.message
import dns.query

ZONE = "signed.test."


class Unbound:
    """unbound validating with `ds` as the zone's trust anchor, sent to us."""

    def __init__(self, tmp, port, auth_port, ds, zone=ZONE, stubs=(ZONE,)):
        self.port = port
        conf = tmp / "unbound.conf"
        conf.write_text(f"""server:
    interface: 127.0.0.1
    port: {port}
    do-daemonize: no
    chroot: ""
    username: ""
    directory: "{tmp}"
    pidfile: "{tmp}/unbound.pid"
    use-syslog: no
    logfile: "{tmp}/unbound.log"
    verbosity: 1
    do-not-query-localhost: no
    module-config: "validator iterator"
    trust-anchor: "{zone} DS {ds}"
    val-log-level: 2
    access-control: 127.0.0.0/8 allow
    local-zone: "test." nodefault
""" + "".join(f"""stub-zone:
    name: "{z}"
    stub-addr: 127.0.0.1@{auth_port}
""" for z in stubs))
        self.proc = subprocess.Popen(["unbound", "-d", "-c", str(conf)])
        for _ in range(100):
            try:
                self.ask(zone, "SOA", timeout=0.2)
                return
            except Exception:
                time.sleep(0.1)
        raise RuntimeError("unbound did not start")

    def ask(self, name, rdtype, timeout=3.0):
        q = dns.message.make_query(name, rdtype, want_dnssec=True)
        return dns.query.udp(q, "127.0.0.1", port=self.port, timeout=timeout)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
