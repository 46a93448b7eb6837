# cython: boundscheck=False, wraparound=False, cdivision=True
"""Runs the C socket loops (csrc/udpio.c, csrc/tcpio.c) with the GIL released.

A Slot holds the current compiled image for a set of loops and swaps it
RCU-style; UdpWorker and TcpServer each block in C in `run()` until
`stop()` (theirs or the slot's).  Python is touched only to start, stop,
swap and read counters.
"""
from cpython.exc cimport PyErr_SetFromErrno
from libc.errno cimport errno
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, strerror
from posix.unistd cimport usleep

cdef extern from "<sys/socket.h>" nogil:
    ssize_t sendto(int fd, const void* buf, size_t n, int flags, const sockaddr* addr,
                   unsigned addrlen)

import os
import threading

from zonefront.lazylog import get_logger

# logging and queue are imported when first needed (a message, a zone
# transfer): not on a zone-file server's way to its first answer
log = get_logger("zonefront.dataplane")

# The engine is the default answer function (zonefront.core._engine must be
# built first); echo answers only in the loops' own tests.
from zonefront.core._engine cimport engine_answer, engine_prefetch, Image

HAVE_ENGINE = True  # tests written for an engine-less build still ask
RX_SIZE = ZF_UDP_RX_SIZE
TX_SIZE = ZF_UDP_TX_SIZE


# ---------------------------------------------------------------------------
# test-only answer function

cdef size_t echo_answer(const void* image, const uint8_t* query, size_t qlen,
                        uint8_t* resp, size_t cap, const zf_qctx_t* ctx) noexcept nogil:
    """The query back with QR set (plus the image's tag byte); nothing for a
    header-less packet or one whose first qname label is "drop"."""
    cdef const echo_image_t* img = <const echo_image_t*>image
    cdef size_t n = qlen
    if qlen < 12 or qlen + 1 > cap:
        return 0
    if (qlen >= 17 and query[12] == 4 and query[13] == b'd' and query[14] == b'r'
            and query[15] == b'o' and query[16] == b'p'):
        return 0
    if img != NULL and img.delay_us:
        usleep(img.delay_us)
    memcpy(resp, query, qlen)
    resp[2] |= 0x80
    if img != NULL:
        resp[n] = img.tag
        n += 1
    return n


cdef class EchoImage:
    """A stand-in for core._engine.Image when the slot answers with echo."""

    def __cinit__(self, int tag=0, unsigned delay_us=0):
        self.data.tag = <uint8_t>tag
        self.data.delay_us = delay_us
        self.ptr = &self.data

    @property
    def tag(self):
        return self.data.tag

    def __repr__(self):
        return f"EchoImage(tag={self.data.tag}, delay_us={self.data.delay_us})"


# ---------------------------------------------------------------------------
# RCU slot

cdef class Slot:
    """The image the loops answer from, swapped without stopping them.

    answer is "echo" (test answer function, image None or EchoImage) or
    "engine" (core._engine.engine_answer, image a core._engine.Image); the
    default is "engine".
    """

    def __cinit__(self, image=None, answer=None):
        cdef zf_answer_fn fn
        if answer is None:
            answer = "engine"
        if answer == "echo":
            fn = echo_answer
        elif answer == "engine":
            fn = engine_answer
        else:
            raise ValueError(f"unknown answer function {answer!r}")
        self.answer = answer
        self._retired = []
        self._lock = threading.Lock()
        self.slot = zf_slot_new(fn, self._pointer(image))
        if self.slot == NULL:
            raise MemoryError()
        if answer == "engine" and os.environ.get("ZONEFRONT_PREFETCH", "1") != "0":
            zf_slot_set_prefetch(self.slot, engine_prefetch)
        self._image = image

    def __dealloc__(self):
        # Every loop holds a reference to its Slot, so none is running here.
        if self.slot != NULL:
            zf_slot_free(self.slot)
            self.slot = NULL

    cdef const void* _pointer(self, object image) except? NULL:
        if self.answer == "echo":
            if image is None:
                return NULL
            if isinstance(image, EchoImage):
                return (<EchoImage>image).ptr
            raise TypeError(f"echo slot takes EchoImage or None, not {type(image).__name__}")
        if isinstance(image, Image):
            return (<Image>image).ptr
        inner = getattr(image, "image", None)  # core.engine.Engine; we keep it, it keeps this
        if isinstance(inner, Image):
            return (<Image>inner).ptr
        raise TypeError(f"engine slot takes core._engine.Image or an Engine, not {type(image).__name__}")

    def swap(self, image, double timeout=5.0):
        """Publish image; return True once no loop can still read the old one.

        On False (a loop stayed inside one batch past timeout) the old image
        is kept alive until a later swap or collect() finds it quiescent.
        """
        cdef const void* ptr = self._pointer(image)
        cdef int ms = <int>(timeout * 1000)
        cdef int rc
        with self._lock:
            old = self._image
            with nogil:
                rc = zf_slot_swap(self.slot, ptr, ms)
            self._image = image
            if rc != 0:
                self._retired.append((zf_slot_generation(self.slot), old))
            old = None
            self.collect()
            return rc == 0

    def collect(self):
        """Drop retired images that no loop can hold any more; returns how many are left."""
        self._retired = [(g, im) for g, im in self._retired
                         if not zf_slot_quiesced(self.slot, g)]
        return len(self._retired)

    def stop(self):
        """Make every loop on this slot return (within its 100 ms receive timeout)."""
        zf_slot_stop(self.slot)

    @property
    def stopped(self):
        return bool(zf_slot_stopped(self.slot))

    @property
    def image(self):
        return self._image

    @property
    def generation(self):
        return zf_slot_generation(self.slot)


# ---------------------------------------------------------------------------
# response rate limiting

RRL_KEYS = ("responses_per_second", "slip", "window", "ipv4_prefix", "ipv6_prefix",
            "table_size")
_VERDICTS = {RRL_PASS: "pass", RRL_DROP: "drop", RRL_SLIP: "slip"}


cdef class RateLimiter:
    """One Response Rate Limiting table (csrc/rrl.h): a UDP worker's own, or a
    test's, driven with account() and an explicit clock.

    responses_per_second per (client prefix, response class, qtype, qname),
    with bursts of up to responses_per_second * window; every slip-th limited
    response is sent as a bare TC=1 reply (slip 0 drops them all).
    """

    def __cinit__(self, unsigned responses_per_second=20, unsigned slip=2, unsigned window=1,
                  unsigned ipv4_prefix=24, unsigned ipv6_prefix=56, unsigned table_size=65536):
        cdef rrl_config_t c
        if responses_per_second == 0:
            raise ValueError("rrl responses_per_second must be at least 1")
        if window == 0:
            raise ValueError("rrl window must be at least 1 second")
        if ipv4_prefix > 32 or ipv6_prefix > 128:
            raise ValueError("rrl prefixes: ipv4 0..32, ipv6 0..128")
        rrl_config_default(&c)
        c.responses_per_second = responses_per_second
        c.slip = slip
        c.window = window
        c.ipv4_prefix = <uint8_t>ipv4_prefix
        c.ipv6_prefix = <uint8_t>ipv6_prefix
        c.table_size = table_size
        self.r = rrl_new(&c)
        if self.r == NULL:
            raise MemoryError()

    def __dealloc__(self):
        if self.r != NULL:
            rrl_free(self.r)
            self.r = NULL

    @classmethod
    def from_config(cls, config):
        """From a dict with any of RRL_KEYS (DnsServer's rrl=...)."""
        unknown = set(config) - set(RRL_KEYS)
        if unknown:
            raise ValueError(f"unknown rrl settings: {sorted(unknown)}")
        return cls(**{k: int(v) for k, v in config.items()})

    @property
    def config(self):
        """The settings in force (table_size rounded up to a power of two)."""
        c = self.r.config
        return {"responses_per_second": c.responses_per_second, "slip": c.slip,
                "window": c.window, "ipv4_prefix": c.ipv4_prefix,
                "ipv6_prefix": c.ipv6_prefix, "table_size": c.table_size}

    def account(self, bytes response not None, str host, unsigned now_ms):
        """The verdict for sending response to host at table clock now_ms:
        ("pass" | "drop" | "slip", the bytes to send).  Not for a table a
        running worker uses."""
        cdef sockaddr_storage ss
        cdef size_t n = len(response)
        cdef bytearray buf = bytearray(response)
        cdef bytes h = host.encode()
        if zf_sockaddr_parse(h, 53, &ss) == 0:
            raise ValueError(f"not an address literal: {host!r}")
        rrl_set_clock(self.r, now_ms)
        cdef uint8_t* p = buf
        cdef int v = rrl_account(self.r, <const sockaddr*>&ss, p, &n)
        return _VERDICTS[v], bytes(buf[:n])


# ---------------------------------------------------------------------------
# loops

cdef _raise_errno(int neg, what):
    raise OSError(-neg, f"{what}: {strerror(-neg).decode()}")


cdef class UdpWorker:
    """One recvmmsg/sendmmsg loop on one UDP socket (fd stays the caller's).

    rrl: None (no rate limiting), a dict of RateLimiter settings, or a
    RateLimiter of this worker's own (tables are never shared: each worker
    runs without locks).
    """

    def __cinit__(self, int fd, Slot slot not None, unsigned batch=64, bint mmsg=True, rrl=None,
                  Counters counters=None):
        if rrl is not None and not isinstance(rrl, RateLimiter):
            rrl = RateLimiter.from_config(rrl)
        self.w = udpio_worker_new(fd, slot.slot, batch, 0 if mmsg else ZF_UDP_NO_MMSG)
        if self.w == NULL:
            raise MemoryError()
        self.rrl = rrl
        if rrl is not None:
            udpio_worker_set_rrl(self.w, (<RateLimiter>rrl).r)
        self.slot = slot
        self.fd = fd
        self.batch = batch
        self.counters = counters
        if counters is not None:
            udpio_worker_set_counters(self.w, counters.st)

    def __dealloc__(self):
        if self.w != NULL:
            udpio_worker_free(self.w)
            self.w = NULL

    def set_defer(self, DeferQueue q):
        """Hand deferred queries to q (None: answer them NXDOMAIN); not while running."""
        if self._running:
            raise RuntimeError("worker is running")
        self.defer = q
        udpio_worker_set_defer(self.w, q.q if q is not None else NULL)

    def run(self):
        """Serve until stop() or slot.stop(); the GIL is released throughout."""
        cdef int rc
        if self._running:
            raise RuntimeError("worker is already running")
        self._running = True
        try:
            with nogil:
                rc = udpio_worker_run(self.w)
        finally:
            self._running = False
        if rc < 0:
            _raise_errno(rc, "udp worker")

    def stop(self):
        udpio_worker_stop(self.w)

    def stats(self):
        cdef zf_udp_stats_t st
        udpio_worker_stats(self.w, &st)
        return {"queries": st.queries, "responses": st.responses, "dropped": st.dropped,
                "batches": st.batches, "errors": st.errors, "rrl_dropped": st.rrl_dropped,
                "rrl_slipped": st.rrl_slipped}


cdef void _xfr_submit(void* ctx, uint32_t conn, uint32_t gen, const uint8_t* query,
                      size_t qlen, const char* host, uint16_t port) noexcept nogil:
    """Called by the TCP loop (inside its RCU read section): queue and return."""
    with gil:
        try:
            (<TcpServer>ctx)._xfr_queue.put(
                (conn, gen, query[:qlen], (host.decode(), port)))
        except BaseException:  # never leave the connection waiting
            tcpio_xfr_done((<TcpServer>ctx).s, conn, gen, NULL, 0)


cdef class TcpServer:
    """One epoll thread serving RFC 7766 TCP on the given listening sockets.

    xfr: the zone-transfer slow path, `xfr(query, (host, port)) -> list[bytes]
    | None`.  AXFR/IXFR queries (and TSIG-signed SOA queries) go to it on a
    thread of its own while the loop keeps serving; its messages are sent in
    order, None or [] closes the connection.
    """

    def __cinit__(self, listen_fds, Slot slot not None, double idle_timeout=10.0,
                  int max_connections=1000, size_t max_pending=256 * 1024, xfr=None,
                  Counters counters=None):
        cdef zf_tcp_opts_t opts
        cdef int fds[64]
        fd_list = [int(f) for f in listen_fds]
        if not 0 < len(fd_list) <= 64:
            raise ValueError("between 1 and 64 listening sockets")
        for i, f in enumerate(fd_list):
            fds[i] = f
        opts.idle_timeout_ms = max(1, <int>(idle_timeout * 1000))
        opts.max_connections = max_connections
        opts.max_pending = max_pending
        self.s = tcpio_server_new(fds, len(fd_list), slot.slot, &opts)
        if self.s == NULL:
            raise MemoryError()
        self.slot = slot
        self.listen_fds = tuple(fd_list)
        self.xfr = xfr
        self.counters = counters
        if counters is not None:
            tcpio_server_set_counters(self.s, counters.st)
        if xfr is not None:
            import queue

            self._xfr_queue = queue.SimpleQueue()
            tcpio_server_set_xfr(self.s, _xfr_submit, <void*>self)

    def set_defer(self, DeferQueue q):
        """Hand deferred queries to q (None: answer them NXDOMAIN); not while running."""
        if self._running:
            raise RuntimeError("server is running")
        self.defer = q
        tcpio_server_set_defer(self.s, q.q if q is not None else NULL)

    def _xfr_loop(self):
        """The slow-path thread: one transfer at a time, in arrival order."""
        cdef uint8_t* buf
        cdef size_t total, pos, n
        cdef uint32_t conn, gen
        while True:
            item = self._xfr_queue.get()
            if item is None:
                return
            conn, gen, query, client = item
            try:
                msgs = self.xfr(query, client) or []
            except Exception:
                log.exception("zone transfer slow path failed for %s", client)
                msgs = []
            total = 0
            for m in msgs:
                n = len(m)
                if n > 65535:
                    log.error("slow path returned a %d-octet message; closing", n)
                    msgs = []
                    total = 0
                    break
                total += 2 + n
            buf = NULL
            if total:
                buf = <uint8_t*>malloc(total)
                if buf == NULL:
                    total = 0
            if buf != NULL:
                pos = 0
                for m in msgs:
                    n = len(m)
                    buf[pos] = <uint8_t>(n >> 8)
                    buf[pos + 1] = <uint8_t>n
                    memcpy(buf + pos + 2, <const uint8_t*><bytes>m, n)
                    pos += 2 + n
            tcpio_xfr_done(self.s, conn, gen, buf, total)

    def __dealloc__(self):
        if self.s != NULL:
            tcpio_server_free(self.s)
            self.s = NULL

    def run(self):
        """Serve until stop() or slot.stop(); the GIL is released throughout."""
        cdef int rc
        if self._running:
            raise RuntimeError("server is already running")
        self._running = True
        worker = None
        if self.xfr is not None:
            worker = threading.Thread(target=self._xfr_loop, name="zf-xfr", daemon=True)
            worker.start()
        try:
            with nogil:
                rc = tcpio_server_run(self.s)
        finally:
            self._running = False
            if worker is not None:
                # the loop is gone; replies still coming are freed with the server
                self._xfr_queue.put(None)
                worker.join()
        if rc < 0:
            _raise_errno(rc, "tcp server")

    def stop(self):
        tcpio_server_stop(self.s)

    def stats(self):
        cdef zf_tcp_stats_t st
        tcpio_server_stats(self.s, &st)
        return {"accepted": st.accepted, "active": st.active, "queries": st.queries,
                "responses": st.responses, "dropped": st.dropped,
                "closed_idle": st.closed_idle, "evicted": st.evicted, "errors": st.errors,
                "xfr": st.xfr}


def is_xfr(const uint8_t[::1] message):
    """The TCP loop's test for the slow path (tests, benchmarks)."""
    return bool(tcpio_is_xfr(&message[0], message.shape[0])) if message.shape[0] else False


# ---------------------------------------------------------------------------
# sockets and one-call entry points

def open_udp(str host, int port, int bufsize=0, double recv_timeout=0.1):
    """A bound SO_REUSEPORT UDP socket fd (IPv4 or IPv6 literal host)."""
    cdef bytes h = host.encode()
    cdef int fd = udpio_open(h, <uint16_t>port, bufsize, <int>(recv_timeout * 1000))
    if fd < 0:
        _raise_errno(fd, f"udp {host} port {port}")
    return fd


def open_tcp(str host, int port, int backlog=1024):
    """A listening, non-blocking TCP socket fd."""
    cdef bytes h = host.encode()
    cdef int fd = tcpio_listen(h, <uint16_t>port, backlog)
    if fd < 0:
        _raise_errno(fd, f"tcp {host} port {port}")
    return fd


def socket_port(int fd):
    return zf_socket_port(fd)


def wake_udp(int fd):
    """Wake loops blocked on fd now instead of at their receive timeout (shutdown only)."""
    udpio_wake(fd)


def have_mmsg():
    return bool(udpio_have_mmsg())


def run_udp(int fd, Slot slot not None, unsigned batch=64):
    """Serve UDP on fd until slot.stop(); returns the worker's counters."""
    w = UdpWorker(fd, slot, batch)
    w.run()
    return w.stats()


def run_tcp(listen_fds, Slot slot not None, double idle_timeout=10.0, int max_connections=1000):
    """Serve TCP on the listening fd(s) until slot.stop(); returns the counters."""
    if isinstance(listen_fds, int):
        listen_fds = (listen_fds,)
    s = TcpServer(listen_fds, slot, idle_timeout, max_connections)
    s.run()
    return s.stats()


def stop(Slot slot not None):
    """Stop every loop serving from slot."""
    slot.stop()


# ---------------------------------------------------------------------------
# the recursive fallback's queue (csrc/zfdefer.h; dataplane/forwarder.py)

cdef class DeferQueue:
    """Bounded: a loop that finds it full answers SERVFAIL and counts it."""

    def __cinit__(self, unsigned cap=1024):
        self.q = zf_defer_new(cap)
        if self.q == NULL:
            raise MemoryError()

    def __dealloc__(self):
        if self.q != NULL:
            zf_defer_free(self.q)
            self.q = NULL

    def close(self):
        """Pop returns None from now on and pushes overflow."""
        zf_defer_close(self.q)

    def pop(self, double timeout=0.1):
        """The oldest deferred query (a Deferred), or None after timeout."""
        cdef zf_defer_item_t* it
        cdef int ms = <int>(timeout * 1000)
        with nogil:
            it = zf_defer_pop(self.q, ms)
        if it == NULL:
            return None
        d = Deferred()
        d.item = it
        return d

    def stats(self) -> dict:
        return {"queued": self.q.len, "capacity": self.q.cap, "deferred": self.q.pushed,
                "overflow": self.q.overflow}


cdef class Deferred:
    """One deferred query: the bytes as received, the client, and reply()
    to answer it where it came from (the UDP socket, or the TCP connection
    through tcpio_xfr_done)."""

    def __dealloc__(self):
        free(self.item)
        self.item = NULL

    @property
    def query(self) -> bytes:
        return (<char*>self.item.query)[:self.item.qlen]

    @property
    def tcp(self) -> bool:
        return self.item.tcp != NULL

    @property
    def client(self) -> tuple:
        import socket as _socket

        raw = (<char*>&self.item.src)[:self.item.srclen]
        fam = int.from_bytes(raw[:2], "little")
        if fam == _socket.AF_INET6:
            return _socket.inet_ntop(fam, raw[8:24]), int.from_bytes(raw[2:4], "big")
        return _socket.inet_ntop(_socket.AF_INET, raw[4:8]), int.from_bytes(raw[2:4], "big")

    def servfail(self) -> bytes:
        cdef uint8_t out[512]
        cdef size_t n = zf_defer_servfail(self.item.query, self.item.qlen, out, 512)
        return (<char*>out)[:n]

    def reply(self, const uint8_t[::1] message):
        """Send message (b"": nothing; over TCP that closes the connection).
        Once only; the caller must keep the loops' sockets and servers open
        until every popped query is answered or dropped."""
        cdef zf_defer_item_t* it = self.item
        cdef size_t n = message.shape[0]
        cdef uint8_t* buf
        if it == NULL:
            raise RuntimeError("already answered")
        self.item = NULL
        try:
            if it.tcp != NULL:
                buf = NULL
                if 0 < n <= 65535:
                    buf = <uint8_t*>malloc(n + 2)
                    if buf == NULL:
                        raise MemoryError()
                    buf[0] = <uint8_t>(n >> 8)
                    buf[1] = <uint8_t>n
                    memcpy(buf + 2, &message[0], n)
                with nogil:
                    tcpio_xfr_done(<zf_tcp_server_t*>it.tcp, it.conn, it.gen, buf,
                                   n + 2 if buf != NULL else 0)
            elif n:
                with nogil:
                    sendto(it.fd, &message[0], n, 0, <const sockaddr*>&it.src, it.srclen)
        finally:
            free(it)
