"""The AF_XDP path of a DnsServer: attach the XDP program, one socket and
worker thread per rx queue, and the fall back to the kernel's UDP path.

The kernel path stays open on the same addresses either way: TCP, zone
transfers, the API, and every datagram the XDP program passes (fragments,
VLAN tags, IP options, other interfaces) are served there.
"""
from __future__ import annotations

import ipaddress
import logging
import os
import threading

log = logging.getLogger("zonefront.dataplane")

BPF_OBJECT = os.path.join(os.path.dirname(__file__), "xdp_redirect.bpf.o")
STATS = ("queries", "responses", "dropped", "batches", "errors", "rrl_dropped", "rrl_slipped",
         "invalid")


def parse_spec(spec: str) -> tuple[str, list[int] | None]:
    """"IFACE[:QUEUES]" -> (iface, queues); QUEUES is a count N (queues 0..N-1),
    a range A-B, or a list A,B; None means every rx queue of the interface."""
    iface, _, q = spec.partition(":")
    if not iface or len(iface) > 15 or "/" in iface or iface in (".", ".."):
        raise ValueError(f"--xdp {spec!r}: expected IFACE[:QUEUES]")
    if not q:
        return iface, None
    try:
        if "-" in q:
            a, b = (int(x) for x in q.split("-", 1))
            queues = list(range(a, b + 1))
        elif "," in q:
            queues = [int(x) for x in q.split(",")]
        else:
            queues = list(range(int(q)))
    except ValueError:
        raise ValueError(f"--xdp {spec!r}: QUEUES is a count, A-B or A,B,...") from None
    if not queues or min(queues) < 0 or max(queues) > 255 or len(set(queues)) != len(queues):
        raise ValueError(f"--xdp {spec!r}: queues must be distinct, 0..255")
    return iface, queues


def _reply_socket(host: str, port: int, fd: int) -> tuple[int, bytes, int, int]:
    ip = ipaddress.ip_address(host or "0.0.0.0")
    return (4 if ip.version == 4 else 6, b"" if ip.is_unspecified else ip.packed, port, fd)


class XdpPath:
    """Started by DnsServer.start(); stop() detaches.  `active` is False when
    XDP could not attach and the server answers through the kernel only."""

    def __init__(self, spec: str, batch: int = 64):
        self.iface, self.queues = parse_spec(spec)
        # frames taken from the rx ring per round (ZONEFRONT_XDP_BATCH, for
        # benchmarks); the rings hold 2048
        self.batch = int(os.environ.get("ZONEFRONT_XDP_BATCH", batch))
        self.active = False
        self.reason = ""
        self.mode = ""
        self.workers: list = []
        self._program = None
        self._threads: list[threading.Thread] = []

    def start(self, addresses, slot, rrl, new_counters, on_error, defer=None) -> bool:
        """addresses: the bound (host, port) pairs.  defer: (DeferQueue, [fd of
        each address's kernel UDP socket]) when a recursive fallback runs: the
        queries it answers are queued as on the kernel path and answered from
        those sockets.  Returns whether XDP runs; on any failure everything is
        undone and the reason logged."""
        try:
            from zonefront.dataplane import _xdp
        except ImportError as e:
            return self._fallback(f"this build has no AF_XDP module ({e})")
        try:
            prog = _xdp.XdpProgram(BPF_OBJECT, self.iface)
        except OSError as e:
            return self._fallback(str(e))
        self._program = prog
        try:
            for host, port in addresses:
                ip = ipaddress.ip_address(host or "0.0.0.0")
                family = 4 if ip.version == 4 else 6
                prog.listen(family, b"" if ip.is_unspecified else ip.packed, port)
            queues = self.queues
            if queues is None:
                queues = list(range(_xdp.queue_count(self.iface)))
            port = addresses[0][1] if addresses else 0
            for q in queues:
                self.workers.append(_xdp.XdpWorker(prog, q, slot, self.batch, rrl=rrl,
                                                   counters=new_counters(), port=port))
            if defer is not None:
                queue, fds = defer
                replies = [_reply_socket(host, port, fd)
                           for (host, port), fd in zip(addresses, fds)]
                for w in self.workers:
                    w.set_defer(queue, replies)
        except (OSError, ValueError) as e:
            self._undo()
            return self._fallback(str(e))
        self.mode = prog.mode
        self.active = True
        for w in self.workers:
            t = threading.Thread(target=self._run, args=(w, on_error),
                                 name=f"zf-xdp-{self.iface}-{w.queue}", daemon=True)
            t.start()
            self._threads.append(t)
        copy = "zero-copy" if all(w.zerocopy for w in self.workers) else "copy"
        log.warning("XDP: %s attached (%s mode, %s), UDP to %s on queues %s served by AF_XDP",
                    self.iface, self.mode, copy,
                    " ".join(f"{h or '*'}:{p}" for h, p in addresses),
                    ",".join(str(w.queue) for w in self.workers))
        return True

    @staticmethod
    def _run(w, on_error):
        try:
            w.run()
        except BaseException as e:  # surfaced by DnsServer.stop()
            log.exception("xdp worker on queue %d failed", w.queue)
            on_error(e)

    def _fallback(self, reason: str) -> bool:
        self.reason = reason
        log.warning("XDP: cannot use %s: %s; serving UDP through the kernel instead",
                    self.iface, reason)
        return False

    def _undo(self) -> None:
        for w in self.workers:
            w.close()
        self.workers.clear()
        if self._program is not None:
            self._program.detach()
            self._program = None

    def stop_workers(self) -> None:
        for w in self.workers:
            w.stop()

    def join(self, timeout: float) -> list[str]:
        for t in self._threads:
            t.join(timeout)
        alive = [t.name for t in self._threads if t.is_alive()]
        if not alive:
            self._undo()
        return alive

    def stats(self) -> dict:
        total = dict.fromkeys(STATS, 0)
        for w in self.workers:
            for k, v in w.stats().items():
                total[k] += v
        return total
