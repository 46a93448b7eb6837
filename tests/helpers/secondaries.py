"""NSD and Knot as secondaries of the harness primary: minimal configs in a temp dir, stopped by PID."""
from __future__ import annotations

import os
import subprocess

from helpers.xfr import free_port, need, stop_pid, wait_for, query


class Secondary:
    name = ""

    def __init__(self, workdir: str, zone: str, primary_port: int, key=None, key_text=None,
                 source: str = "127.0.0.1"):
        self.dir = os.path.join(workdir, self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.zone = zone.rstrip(".")
        self.primary_port = primary_port
        self.key = key  # tsig.Key or None
        self.secret = key_text.split(":")[-1] if key_text else None
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = os.path.join(self.dir, f"{self.name}.log")
        self.source = source  # the address it transfers from: tells the secondaries apart

    @property
    def addr(self):
        return ("127.0.0.1", self.port)

    def start(self):
        conf = os.path.join(self.dir, f"{self.name}.conf")
        with open(conf, "w") as f:
            f.write(self.config())
        out = open(os.path.join(self.dir, "stdout"), "w")
        self.proc = subprocess.Popen(self.command(conf), stdout=out, stderr=subprocess.STDOUT,
                                     cwd=self.dir)
        ok = wait_for(lambda: self.proc.poll() is None and self._listening(), 10)
        assert ok, f"{self.name} did not start: {self.logs()}"
        return self

    def _listening(self):
        try:
            query(self.addr, "nothing.invalid.", "A", timeout=0.3)
            return True
        except Exception:
            return False

    def stop(self):
        if self.proc is not None:
            stop_pid(self.proc)

    def logs(self) -> str:
        text = ""
        for p in (self.log, os.path.join(self.dir, "stdout")):
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    text += f.read()
        return text

    def serial(self) -> int | None:
        r = query(self.addr, self.zone + ".", "SOA", timeout=0.5)
        if r.answer:
            return r.answer[0][0].serial
        return None


class Nsd(Secondary):
    name = "nsd"

    def command(self, conf):
        return [need("nsd"), "-d", "-c", conf]

    def config(self) -> str:
        d = self.dir
        key = f"""
key:
    name: "{self.key.name_text.rstrip('.')}"
    algorithm: hmac-sha256
    secret: "{self.secret}"
""" if self.key else ""
        kn = self.key.name_text.rstrip(".") if self.key else "NOKEY"
        return f"""
server:
    ip-address: 127.0.0.1@{self.port}
    port: {self.port}
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "{d}"
    database: ""
    pidfile: "{d}/nsd.pid"
    logfile: "{self.log}"
    xfrdfile: "{d}/xfrd.state"
    xfrdir: "{d}/xfr"
    zonelistfile: "{d}/zone.list"
    verbosity: 2
    hide-version: yes
    xfrd-reload-timeout: 0
remote-control:
    control-enable: no
{key}
zone:
    name: "{self.zone}"
    zonefile: "{d}/{self.zone}.zone"
    allow-notify: 127.0.0.1 {kn}
    request-xfr: 127.0.0.1@{self.primary_port} {kn}
    outgoing-interface: {self.source}
"""


class Knot(Secondary):
    name = "knot"

    def command(self, conf):
        return [need("knotd"), "-c", conf]

    def config(self) -> str:
        d = self.dir
        key = f"""
key:
  - id: {self.key.name_text.rstrip('.')}
    algorithm: hmac-sha256
    secret: {self.secret}
""" if self.key else ""
        keyref = f"\n    key: {self.key.name_text.rstrip('.')}" if self.key else ""
        return f"""
server:
    rundir: "{d}"
    listen: 127.0.0.1@{self.port}
    background-workers: 1
    tcp-workers: 1
    udp-workers: 1
log:
  - target: "{self.log}"
    any: debug
database:
    storage: "{d}"
{key}
remote:
  - id: primary
    address: 127.0.0.1@{self.primary_port}
    via: {self.source}{keyref}
acl:
  - id: from_primary
    address: 127.0.0.1
    action: notify{keyref}
zone:
  - domain: {self.zone}
    master: primary
    acl: from_primary
    storage: "{d}"
    file: "{self.zone}.zone"
    zonefile-sync: -1
    journal-content: changes
"""
