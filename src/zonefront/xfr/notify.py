"""NOTIFY (RFC 1996) to the configured secondaries on every change, over UDP with retries."""
from __future__ import annotations

import logging
import secrets
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass

from .. import model
from . import message as msg
from . import tsig

log = logging.getLogger("zonefront.xfr")

RETRY_START = 1.0  # seconds before the first retransmission, doubled each time
RETRIES = 5  # transmissions in all (RFC 1996 §3.6 suggests a few, with backoff)


@dataclass
class _Job:
    target: tuple[str, int]
    origin: bytes
    serial: int
    wire: bytes
    qid: int
    mac: bytes | None
    due: float  # next (re)transmission
    sent: int = 0  # transmissions so far
    first: float = 0.0  # time of the first transmission


def build(zone: model.Zone, qid: int) -> bytes:
    """NOTIFY for zone, with its current SOA in the answer section (RFC 1996 §3.7)."""
    soa = zone.soa
    w = msg.Writer(qid, (msg.OPCODE_NOTIFY << 11) | msg.FLAG_AA,
                   (zone.origin, model.TYPE_SOA, model.CLASS_IN))
    w.add(soa.owner, model.TYPE_SOA, soa.ttl, soa.rdatas[0])
    return w.finish()


class Notifier:
    """One thread with one UDP socket per address family.  A newer serial
    for a (secondary, zone) replaces the older NOTIFY still being retried."""

    def __init__(self, targets: list[tuple[str, int]], key: tsig.Key | None = None,
                 retry_start: float = RETRY_START, retries: int = RETRIES):
        self.targets = [(_literal(h), int(p)) for h, p in targets]
        self.key = key
        self.retry_start = retry_start
        self.retries = retries
        self._jobs: dict[tuple[tuple[str, int], bytes], _Job] = {}
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._socks: dict[int, socket.socket] = {}
        self._thread: threading.Thread | None = None
        self._stop = False
        self.sent = 0  # transmissions
        self.acked = 0  # NOTIFYs answered NOERROR
        self.failed = 0  # given up after every retry, or refused
        self.acked_log: list[tuple[tuple[str, int], str, int, float]] = []  # (target, zone, serial, seconds)

    def start(self) -> "Notifier":
        for host, _ in self.targets:
            fam = socket.AF_INET6 if ":" in host else socket.AF_INET
            if fam not in self._socks:
                s = socket.socket(fam, socket.SOCK_DGRAM)
                s.setblocking(False)
                self._socks[fam] = s
        self._thread = threading.Thread(target=self._run, name="zf-notify", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop = True
        self._poke()
        if self._thread is not None:
            self._thread.join(5)
        for s in self._socks.values():
            s.close()
        self._wake_r.close()
        self._wake_w.close()

    def _poke(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def notify(self, zone: model.Zone) -> None:
        now = time.monotonic()
        with self._lock:
            for t in self.targets:
                qid = secrets.randbelow(0x10000)
                wire = build(zone, qid)
                mac = None
                if self.key is not None:
                    wire, mac = tsig.sign_request(wire, self.key)
                self._jobs[(t, zone.origin)] = _Job(t, zone.origin, zone.serial, wire, qid, mac,
                                                    now)
        self._poke()

    def pending(self) -> int:
        with self._lock:
            return len(self._jobs)

    def _run(self) -> None:
        while not self._stop:
            now = time.monotonic()
            with self._lock:
                due = [j for j in self._jobs.values() if j.due <= now]
                for j in due:
                    if j.sent >= self.retries:
                        log.warning("NOTIFY %s serial %d to %s: no answer after %d tries",
                                    model.name_to_text(j.origin), j.serial, _hp(j.target), j.sent)
                        self.failed += 1
                        del self._jobs[(j.target, j.origin)]
                        continue
                    self._send(j, now)
                wait = min((j.due for j in self._jobs.values()), default=now + 3600) - now
            socks = list(self._socks.values()) + [self._wake_r]
            ready, _, _ = select.select(socks, [], [], max(0.0, min(wait, 1.0)))
            for s in ready:
                if s is self._wake_r:
                    try:
                        s.recv(4096)
                    except OSError:
                        pass
                    continue
                self._receive(s)

    def _send(self, j: _Job, now: float) -> None:
        fam = socket.AF_INET6 if ":" in j.target[0] else socket.AF_INET
        try:
            self._socks[fam].sendto(j.wire, j.target)
            self.sent += 1
        except OSError as e:
            log.warning("NOTIFY to %s: %s", _hp(j.target), e)
        if not j.sent:
            j.first = now
        j.sent += 1
        j.due = now + self.retry_start * (2 ** (j.sent - 1))

    def _receive(self, s: socket.socket) -> None:
        while True:
            try:
                data, addr = s.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            try:
                m = msg.parse(data)
            except msg.FormError:
                continue
            target = (_literal(addr[0]), addr[1])
            with self._lock:
                j = self._jobs.get((target, model.name_lower(m.qname)))
                if j is None or j.qid != m.id or not (m.flags & msg.FLAG_QR) \
                        or m.opcode != msg.OPCODE_NOTIFY:
                    continue
                if j.mac is not None and not tsig.verify_response(m, self.key, j.mac):
                    log.warning("NOTIFY reply from %s is not signed with %s; ignored",
                                _hp(target), self.key.name_text)
                    continue
                del self._jobs[(target, j.origin)]
                if m.rcode == msg.RCODE_NOERROR:
                    self.acked += 1
                    took = time.monotonic() - j.first
                    self.acked_log.append((target, model.name_to_text(j.origin), j.serial, took))
                    del self.acked_log[:-100]
                    log.info("NOTIFY %s serial %d acknowledged by %s in %.3fs",
                             model.name_to_text(j.origin), j.serial, _hp(target), took)
                else:
                    self.failed += 1
                    log.warning("NOTIFY %s serial %d: %s answered rcode %d",
                                model.name_to_text(j.origin), j.serial, _hp(target), m.rcode)


def _literal(host: str) -> str:
    host = host.strip("[]")
    try:
        return socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)[0][4][0]
    except socket.gaierror:
        return host


def _hp(t: tuple[str, int]) -> str:
    return f"[{t[0]}]:{t[1]}" if ":" in t[0] else f"{t[0]}:{t[1]}"
