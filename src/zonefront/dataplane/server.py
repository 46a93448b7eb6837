"""The DNS data plane: UDP worker threads and a TCP thread answering from one image.

Every thread blocks in C (csrc/udpio.c, csrc/tcpio.c) with the GIL released;
Python only starts them, swaps the image and reads counters.
"""
from __future__ import annotations

import errno
import ipaddress
import os
import threading

from zonefront.dataplane import _stats, _worker
from zonefront.lazylog import get_logger

log = get_logger(__name__)  # logging, socket and queue wait for their first use

UDP_STATS = ("queries", "responses", "dropped", "batches", "errors", "rrl_dropped",
             "rrl_slipped")
TCP_STATS = ("accepted", "active", "queries", "responses", "dropped",
             "closed_idle", "evicted", "errors", "xfr")


def _literal(host: str) -> str:
    """The address literal for host ("" stays the IPv4 wildcard); names resolve once."""
    host = host.strip("[]")
    if not host:
        return host
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    import socket  # a host name, not a literal: rare, and socket costs ~2 ms of a start

    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)
    except socket.gaierror as e:
        raise OSError(errno.EADDRNOTAVAIL, f"cannot resolve {host!r}: {e}") from None
    return infos[0][4][0]


class DnsServer:
    """Authoritative DNS over UDP and TCP on the given addresses.

    listen: (host, port) pairs; host is an IPv4 or IPv6 literal ("" is
    0.0.0.0), port 0 picks a free port, the same for UDP and TCP (see
    `ports` after start()).  workers: UDP threads per address, each with its
    own SO_REUSEPORT socket.  image: what the answer function reads (a
    core._engine.Image, or for answer="echo" an EchoImage or None).
    xfr: the zone-transfer slow path over TCP, `xfr(query, (host, port)) ->
    list[bytes] | None` (an xfr.service.XfrService); without it AXFR/IXFR
    get the engine's REFUSED.
    rrl: Response Rate Limiting on UDP, off (None) by default; a dict with any
    of responses_per_second (20), slip (2), window (1 s of burst), ipv4_prefix
    (24), ipv6_prefix (56), table_size (65536 entries); every UDP worker gets
    a table of its own (SO_REUSEPORT hashes a source to one worker).  TCP is
    never limited.  Limited replies are counted in udp rrl_dropped and
    rrl_slipped (a dropped one also in dropped, a slipped one in responses).
    counters: give every thread a _stats.Counters of its own (metrics:
    answers by zone, type and rcode, routing decisions, batch sizes, and the
    record ring for query logs and dnstap); `self.counters` lists them.
    fallback: a forwarder.Forwarder (not started) for the recursive fallback:
    the loops hand it the queries the engine defers (fallback.py), it is
    started and stopped with the server, and stats() shows its counters
    under "fallback".  None: those names answer the private NXDOMAIN.
    xdp: "IFACE[:QUEUES]" also serves UDP to the listen addresses through
    AF_XDP sockets on that interface (dataplane/xdp.py), one worker per rx
    queue, with the same engine, RRL and counters; if XDP cannot attach, a
    log line says why and the kernel's UDP path serves alone (`xdp_active`).
    """

    def __init__(self, listen: list[tuple[str, int]], workers: int = 1, image=None,
                 tcp: bool = True, batch: int = 64, tcp_idle_timeout: float = 10.0,
                 tcp_max_connections: int = 1000, *, answer: str | None = None,
                 tcp_threads: int = 1, recv_timeout: float = 0.1, bufsize: int = 0,
                 mmsg: bool = True, reload_timeout: float = 5.0, xfr=None,
                 rrl: dict | None = None, counters: bool = False, fallback=None,
                 xdp: str | None = None):
        if not listen:
            raise ValueError("nothing to listen on")
        if workers < 1 or tcp_threads < 1:
            raise ValueError("need at least one worker and one TCP thread")
        self.listen = [(_literal(h), int(p)) for h, p in listen]
        self.workers = workers
        self.tcp = tcp
        self.batch = batch
        self.tcp_idle_timeout = tcp_idle_timeout
        self.tcp_max_connections = tcp_max_connections
        self.tcp_threads = tcp_threads
        self.recv_timeout = recv_timeout
        self.bufsize = bufsize
        self.mmsg = mmsg
        self.reload_timeout = reload_timeout
        self.xfr = xfr
        self.fallback = fallback
        self.rrl = None
        if rrl is not None:
            # Validates now (and reports the rounded table size), not in start().
            self.rrl = _worker.RateLimiter.from_config(dict(rrl)).config
        # the image the workers answer from, swapped between batches (not a
        # health-table slot, nor a batch's RX/TX slot)
        self.image_slot = _worker.Slot(image, answer)
        self.xdp = None
        if xdp:
            from zonefront.dataplane.xdp import XdpPath  # validates the spec now
            self.xdp = XdpPath(xdp, batch)
        self.counting = counters
        self.counters: list[_stats.Counters] = []
        self.ports: list[int] = []
        self._udp_fds: list[int] = []
        self._tcp_fds: list[int] = []
        self._udp: list[_worker.UdpWorker] = []
        self._tcps: list[_worker.TcpServer] = []
        self._threads: list[threading.Thread] = []
        self._errors: list[BaseException] = []
        self._started = False
        self._stopped = False

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """The listen addresses with their bound ports."""
        return [(h, p) for (h, _), p in zip(self.listen, self.ports)]

    @property
    def image(self):
        return self.image_slot.image

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> "DnsServer":
        if self._started:
            raise RuntimeError("already started")
        self._started = True
        try:
            for host, port in self.listen:
                self.ports.append(self._bind(host, port))
            for fd in self._udp_fds:
                self._udp.append(_worker.UdpWorker(fd, self.image_slot, self.batch, self.mmsg,
                                                   rrl=self.rrl,
                                                   counters=self._new_counters()))
            if self.tcp:
                for _ in range(self.tcp_threads):
                    self._tcps.append(_worker.TcpServer(
                        self._tcp_fds, self.image_slot, self.tcp_idle_timeout,
                        self.tcp_max_connections, xfr=self.xfr,
                        counters=self._new_counters()))
            if self.fallback is not None:
                for loop in self._udp + self._tcps:
                    loop.set_defer(self.fallback.queue)
                self.fallback.start()
        except BaseException:
            self._close_fds()
            raise
        for i, w in enumerate(self._udp):
            self._spawn(w.run, f"zf-udp-{i}")
        for i, t in enumerate(self._tcps):
            self._spawn(t.run, f"zf-tcp-{i}")
        if self.xdp is not None:
            defer = None
            if self.fallback is not None:  # the first UDP socket of each address answers
                step = len(self._udp_fds) // max(1, len(self.listen))
                defer = (self.fallback.queue, self._udp_fds[::step])
            self.xdp.start(self.addresses, self.image_slot, self.rrl, self._new_counters,
                           self._errors.append, defer=defer)
        return self

    @property
    def xdp_active(self) -> bool:
        return self.xdp is not None and self.xdp.active

    def _new_counters(self):
        if not self.counting:
            return None
        c = _stats.Counters()
        self.counters.append(c)
        return c

    @property
    def udp_fds(self) -> list[int]:
        """The UDP sockets (for their kernel drop counts, /proc/net/udp)."""
        return list(self._udp_fds)

    def _bind(self, host: str, port: int) -> int:
        """Opens this address's sockets and returns the port they share."""
        for _attempt in range(20):
            udp: list[int] = []
            tcp_fd = -1
            try:
                udp.append(_worker.open_udp(host, port, self.bufsize, self.recv_timeout))
                bound = _worker.socket_port(udp[0])
                for _ in range(self.workers - 1):
                    udp.append(_worker.open_udp(host, bound, self.bufsize, self.recv_timeout))
                if self.tcp:
                    tcp_fd = _worker.open_tcp(host, bound)
            except OSError as e:
                for fd in udp:
                    os.close(fd)
                # Port 0 gave a UDP port whose TCP twin is taken: pick another.
                if port == 0 and e.errno == errno.EADDRINUSE:
                    continue
                raise
            self._udp_fds.extend(udp)
            if tcp_fd >= 0:
                self._tcp_fds.append(tcp_fd)
            return bound
        raise OSError(errno.EADDRINUSE, f"no port free for both UDP and TCP on {host}")

    def _spawn(self, target, name: str) -> None:
        def run():
            try:
                target()
            except BaseException as e:  # surfaced by stop()
                log.exception("%s failed", name)
                self._errors.append(e)

        t = threading.Thread(target=run, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def reload(self, image, timeout: float | None = None) -> bool:
        """Swap in image atomically; returns once no thread can read the old one.

        A batch is answered wholly from one image.  Returns False if some
        thread stayed inside one batch past timeout; the old image is then
        kept alive until it is quiescent.
        """
        wait = self.reload_timeout if timeout is None else timeout
        ok = self.image_slot.swap(image, wait)
        if not ok:
            log.warning("image swap: old image still in use after %.1fs", wait)
        return ok

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every thread, close the sockets; re-raises a thread's failure."""
        if not self._started or self._stopped:
            return
        self._stopped = True
        self.image_slot.stop()
        for t in self._tcps:
            t.stop()
        for w in self._udp:
            w.stop()
        for fd in self._udp_fds:
            _worker.wake_udp(fd)
        if self.xdp is not None:
            self.xdp.stop_workers()
        for t in self._threads:
            t.join(timeout)
        alive = [t.name for t in self._threads if t.is_alive()]
        if self.xdp is not None:
            alive += self.xdp.join(timeout)
        if alive:
            raise RuntimeError(f"threads did not stop: {alive}")
        if self.fallback is not None:  # its replies go out on our sockets: before they close
            self.fallback.stop(timeout)
        self._close_fds()
        if self._errors:
            raise self._errors[0]

    def _close_fds(self) -> None:
        for fd in self._udp_fds + self._tcp_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self._udp_fds.clear()
        self._tcp_fds.clear()

    def __enter__(self) -> "DnsServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- counters ----------------------------------------------------------

    def stats(self) -> dict:
        """Counters summed over threads: {"udp": {...}, "tcp": {...}, "generation": n}."""
        udp = dict.fromkeys(UDP_STATS, 0)
        for w in self._udp:
            for k, v in w.stats().items():
                udp[k] += v
        tcp = dict.fromkeys(TCP_STATS, 0)
        for t in self._tcps:
            for k, v in t.stats().items():
                tcp[k] += v
        xdp = self.xdp.stats() if self.xdp is not None else {}
        out = {"udp": udp, "tcp": tcp, "xdp": xdp, "generation": self.image_slot.generation,
               "rrl_dropped": udp["rrl_dropped"] + xdp.get("rrl_dropped", 0),
               "rrl_slipped": udp["rrl_slipped"] + xdp.get("rrl_slipped", 0),
               "queries": udp["queries"] + tcp["queries"] + xdp.get("queries", 0),
               "responses": udp["responses"] + tcp["responses"] + xdp.get("responses", 0)}
        if self.fallback is not None:
            out["fallback"] = self.fallback.stats()
        return out
