"""A serving harness for the transfer tests: DnsServer + Engine + XfrService, no cli.py."""
from __future__ import annotations

import copy
import os
import shutil
import subprocess
import time

import dns.message
import dns.query
import dns.rdatatype

from zonefront import model, rdata
from zonefront.core.engine import Engine
from zonefront.dataplane.server import DnsServer
from zonefront.xfr import tsig
from zonefront.xfr.service import XfrService
from zonefront.zonefile import parse_zone_text

from helpers.ports import free_port  # noqa: F401 (the tests take it from here)

HERE = os.path.dirname(__file__)
SECRET = "c2VjcmV0LWtleS1mb3ItenRyYW5zZmVyLXRlc3RzLTAx"  # base64 of a 35-byte secret
KEY_TEXT = f"xfr-key:hmac-sha256:{SECRET}"
KEY = tsig.Key.from_text(KEY_TEXT)


class Primary:
    """zonefront as a primary on 127.0.0.1 with a free port."""

    def __init__(self, zones: list[model.Zone], allow=("127.0.0.1/32",), keys=(),
                 notify=(), notify_key=None, require_tsig=None):
        self.zones = list(zones)
        self.service = XfrService(allow, keys, zones=lambda: self.zones, notify=notify,
                                  notify_key=notify_key, require_tsig=require_tsig)
        self.engine = Engine.from_zones(self.zones)
        self.server = DnsServer([("127.0.0.1", 0)], workers=1, image=self.engine.image,
                                xfr=self.service)

    def start(self) -> "Primary":
        self.server.start()
        self.service.start()
        return self

    def stop(self) -> None:
        self.service.stop()
        self.server.stop()

    @property
    def port(self) -> int:
        return self.server.ports[0]

    def publish(self, zones: list[model.Zone]) -> None:
        """What cli.py's publish does: compile, swap, then tell the transfer service."""
        self.zones = list(zones)
        engine = Engine.from_zones(self.zones)
        self.server.reload(engine.image)
        self.engine = engine
        self.service.update()


def zone_from_text(text: str, origin: str) -> model.Zone:
    return parse_zone_text(text, origin)


def changed(zone: model.Zone, serial: int, add=(), remove=()) -> model.Zone:
    """A copy of zone with a new serial, records added ((name, type, ttl, text)) and
    record sets removed ((name, type)); untouched RRsets stay the same objects."""
    new = model.Zone(zone.origin, dict(zone.rrsets), zone.source, zone.private)
    soa = zone.soa
    fixed = model.soa_fixed(soa.rdatas[0])
    head = soa.rdatas[0][: len(soa.rdatas[0]) - 20]
    new.rrsets[(zone.origin, model.TYPE_SOA)] = model.RRset(
        zone.origin, model.TYPE_SOA, soa.ttl, [head + serial.to_bytes(4, "big") + fixed[4:]])
    for name, rtype in remove:
        owner = model.name_lower(model.name_from_text(name, zone.origin))
        new.rrsets.pop((owner, rdata.rrtype_from_text(rtype)), None)
    for name, rtype, ttl, text in add:
        owner = model.name_lower(model.name_from_text(name, zone.origin))
        t = rdata.rrtype_from_text(rtype)
        key = (owner, t)
        if key in new.rrsets:
            new.rrsets[key] = copy.deepcopy(new.rrsets[key])
        new.add(owner, t, ttl, rdata.from_text(t, text, zone.origin))
    return new


def query(addr, name, rtype, tcp=False, timeout=2.0, source=None):
    q = dns.message.make_query(name, rtype)
    q.flags &= ~dns.flags.RD
    fn = dns.query.tcp if tcp else dns.query.udp
    return fn(q, addr[0], port=addr[1], timeout=timeout, source=source)


def need(binary: str) -> str:
    """The path of binary; a missing one fails the test (the suite depends on it)."""
    path = shutil.which(binary) or next(
        (p for p in (f"/usr/sbin/{binary}", f"/usr/bin/{binary}") if os.path.exists(p)), None)
    assert path, f"{binary} is not installed (Debian packages nsd, knot, knot-dnsutils, bind9-dnsutils)"
    return path


def wait_for(pred, timeout=10.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            v = pred()
        except Exception:
            v = None
        if v:
            return v
        time.sleep(step)
    return None


def stop_pid(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
