"""The recursive fallback: queries the socket loops deferred (a public DNS
fallback zone's NXDOMAIN that no public zone here covers, fallback.py) are
asked of a configured recursive resolver and the reply is sent where the
query came from.

Why Python threads and not a C thread: this is a slow path bounded by the
loops' queue (csrc/zfdefer.h, overflow answers SERVFAIL in C without ever
reaching here), it waits on a remote resolver for milliseconds per query,
and the loops never wait for it or take the GIL; in-flight bookkeeping (id
rewrite, timeouts, the TCP retry on a truncated reply) reads better here.
One thread pops and sends, one receives and expires; both share `_pending`
under a lock.
"""
from __future__ import annotations

import logging
import secrets
import socket
import struct
import threading
import time

from ..netaddr import recv_exact
from . import _worker

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 2.0  # seconds before a query the resolver did not answer gets SERVFAIL
DEFAULT_QUEUE = 1024   # deferred queries waiting (queue) and in flight (pending), each


def _question(message: bytes) -> bytes | None:
    """The question section, lower-cased, for matching a reply to its query."""
    if len(message) < 12 or message[4:6] != b"\x00\x01":
        return None
    i = 12
    while i < len(message) and message[i]:
        if message[i] & 0xC0:
            return None
        i += 1 + message[i]
    end = i + 5
    return message[12:end].lower() if end <= len(message) else None


class Forwarder:
    """Asks `resolver` ((host, port)) the deferred queries of the loops that
    take `self.queue` (DnsServer wires it).  Counters: forwarded, answered,
    timeouts (SERVFAIL), errors (SERVFAIL), busy (in flight full: SERVFAIL)
    and the queue's deferred / overflow."""

    def __init__(self, resolver: tuple[str, int], timeout: float = DEFAULT_TIMEOUT,
                 queue_size: int = DEFAULT_QUEUE):
        if timeout <= 0:
            raise ValueError("fallback timeout must be positive")
        if queue_size < 1:
            raise ValueError("fallback queue size must be at least 1")
        self.resolver = (resolver[0], int(resolver[1]))
        self.timeout = timeout
        self.limit = queue_size
        self.queue = _worker.DeferQueue(queue_size)
        self.counts = dict.fromkeys(("forwarded", "answered", "timeouts", "errors", "busy"), 0)
        self._pending: dict[bytes, tuple] = {}  # resolver-side id -> (Deferred, id, question, deadline)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sock: socket.socket | None = None

    def start(self) -> Forwarder:
        info = socket.getaddrinfo(self.resolver[0], self.resolver[1], type=socket.SOCK_DGRAM)[0]
        self._family, self._addr = info[0], info[4]
        self._sock = socket.socket(self._family, socket.SOCK_DGRAM)
        self._sock.connect(self._addr)  # replies from anyone else are not read
        self._sock.settimeout(0.05)
        for target, name in ((self._send_loop, "zf-fallback-send"),
                             (self._recv_loop, "zf-fallback-recv")):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """After the loops stopped pushing and before their sockets close:
        what is still queued or in flight is dropped (a TCP one closes its
        connection)."""
        self._stopping.set()
        self.queue.close()
        for t in self._threads:
            t.join(timeout)
        with self._lock:
            pending, self._pending = self._pending, {}
        for d, *_ in pending.values():
            d.reply(b"")
        while (d := self.queue.pop(0)) is not None:
            d.reply(b"")
        if self._sock is not None:
            self._sock.close()

    def stats(self) -> dict:
        q = self.queue.stats()
        with self._lock:
            out = dict(self.counts, in_flight=len(self._pending))
        out.update(deferred=q["deferred"], overflow=q["overflow"], queued=q["queued"])
        return out

    # -- the two threads ----------------------------------------------------

    def _send_loop(self) -> None:
        while not self._stopping.is_set():
            d = self.queue.pop(0.1)
            if d is None:
                continue
            query = d.query
            question = _question(query)
            if question is None:  # the engine deferred it, so it parsed; be safe anyway
                self._fail(d, "errors")
                continue
            with self._lock:
                if len(self._pending) >= self.limit:
                    wire_id = None
                else:
                    wire_id = secrets.token_bytes(2)
                    while wire_id in self._pending:
                        wire_id = secrets.token_bytes(2)
                    self._pending[wire_id] = (d, query[:2], question,
                                              time.monotonic() + self.timeout)
            if wire_id is None:
                self._fail(d, "busy")
                continue
            try:
                self._sock.send(wire_id + query[2:])
                self._count("forwarded")
            except OSError as e:
                log.debug("fallback resolver %s: %s", self.resolver, e)
                with self._lock:
                    entry = self._pending.pop(wire_id, None)
                if entry is not None:
                    self._fail(d, "errors")

    def _recv_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                data = self._sock.recv(65535)
            except (TimeoutError, BlockingIOError):
                data = None
            except OSError:  # ICMP port unreachable (resolver down): the deadline answers
                data = None
                time.sleep(0.01)
            if data is not None and len(data) >= 12 and data[2] & 0x80:
                with self._lock:
                    entry = self._pending.get(data[:2])
                    if entry is not None and _question(data) == entry[2]:
                        del self._pending[data[:2]]
                    else:
                        entry = None
                if entry is not None:
                    self._deliver(entry[0], entry[1] + data[2:])
            self._expire()

    def _expire(self) -> None:
        now = time.monotonic()
        with self._lock:
            late = [k for k, v in self._pending.items() if v[3] <= now]
            gone = [self._pending.pop(k) for k in late]
        for d, *_ in gone:
            self._fail(d, "timeouts")

    def _deliver(self, d, reply: bytes) -> None:
        if d.tcp and reply[2] & 0x02:  # truncated: a TCP client gets the whole answer
            threading.Thread(target=self._over_tcp, args=(d,), name="zf-fallback-tcp",
                             daemon=True).start()
            return
        self._count("answered")  # before the reply: whoever reads the reply sees it counted
        d.reply(reply)

    def _over_tcp(self, d) -> None:
        query = d.query
        try:
            with socket.create_connection(self.resolver[:2], timeout=self.timeout) as s:
                s.sendall(struct.pack(">H", len(query)) + query)
                n = struct.unpack(">H", recv_exact(s, 2))[0]
                reply = recv_exact(s, n)
        except OSError as e:
            log.debug("fallback resolver %s over TCP: %s", self.resolver, e)
            self._fail(d, "errors")
            return
        if len(reply) < 12 or reply[:2] != query[:2]:
            self._fail(d, "errors")
            return
        self._count("answered")  # before the reply: whoever reads the reply sees it counted
        d.reply(reply)

    def _count(self, counter: str) -> None:
        with self._lock:  # three threads count (send, receive, TCP retries)
            self.counts[counter] += 1

    def _fail(self, d, counter: str) -> None:
        self._count(counter)
        d.reply(d.servfail())


def resolver_address(setting: str) -> tuple[str, int] | None:
    """[alias] fallback_resolver: "HOST:PORT", "system" (/etc/resolv.conf's
    first nameserver) or "none" (None: the private NXDOMAIN stands)."""
    from ..netaddr import parse_hostport
    from ..outside import stub

    if setting == "none":
        return None
    if setting == "system":
        server = stub.system_resolver()
        if server is None:
            log.warning("no nameserver in /etc/resolv.conf: public DNS fallback zones answer "
                        "NXDOMAIN for names no public zone here has")
        return server
    return parse_hostport(setting, 53)


def server_kwargs(config) -> dict:
    """{"fallback": Forwarder} for DnsServer from a config.Config's [alias]
    fallback_resolver / fallback_timeout, or {} when it is "none"."""
    server = resolver_address(config.alias_fallback_resolver)
    if server is None:
        return {}
    return {"fallback": Forwarder(server, timeout=config.alias_fallback_timeout)}
