# cython: boundscheck=False, wraparound=False, cdivision=True
"""Runs the AF_XDP loop (csrc/xdpio.c) with the GIL released, and owns the
XDP program's attachment (a bpf_link: gone with the process, even on SIGKILL).

The Python around it (start, fall back, stop) is in dataplane/xdp.py.
"""
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport strerror

from zonefront.dataplane._stats cimport Counters, zf_stats_t
from zonefront.dataplane._worker cimport DeferQueue, Slot, RateLimiter, zf_defer_q_t, zf_slot_t, rrl_t
from zonefront.errors import ServiceError

cdef extern from "xdpio.h" nogil:
    ctypedef struct zf_xdp_prog_t:
        pass
    ctypedef struct zf_xdp_stats_t:
        uint64_t queries
        uint64_t responses
        uint64_t dropped
        uint64_t batches
        uint64_t errors
        uint64_t rrl_dropped
        uint64_t rrl_slipped
        uint64_t invalid
    ctypedef struct zf_xdp_worker_t:
        pass
    zf_xdp_prog_t* xdpio_prog_attach(const char* obj_path, const char* ifname, char* err,
                                     size_t errlen)
    int xdpio_prog_listen(zf_xdp_prog_t* p, int family, const uint8_t* addr, uint16_t port)
    void xdpio_prog_detach(zf_xdp_prog_t* p)
    const char* xdpio_prog_mode(const zf_xdp_prog_t* p)
    int xdpio_queue_count(const char* ifname)
    zf_xdp_worker_t* xdpio_worker_new(zf_xdp_prog_t* p, const char* ifname, unsigned queue,
                                      zf_slot_t* slot, unsigned batch, char* err, size_t errlen)
    void xdpio_worker_free(zf_xdp_worker_t* w)
    int xdpio_worker_run(zf_xdp_worker_t* w)
    void xdpio_worker_stop(zf_xdp_worker_t* w)
    void xdpio_worker_set_rrl(zf_xdp_worker_t* w, rrl_t* rrl)
    void xdpio_worker_set_counters(zf_xdp_worker_t* w, zf_stats_t* st, uint16_t port)
    void xdpio_worker_set_defer(zf_xdp_worker_t* w, zf_defer_q_t* q)
    int xdpio_worker_reply_fd(zf_xdp_worker_t* w, int family, const uint8_t* addr, uint16_t port,
                              int fd)
    void xdpio_worker_stats(const zf_xdp_worker_t* w, zf_xdp_stats_t* out)
    int xdpio_worker_zerocopy(const zf_xdp_worker_t* w)


class XdpError(ServiceError, OSError):
    """XDP cannot run here (capability, driver, interface); the reason is the message."""


def queue_count(str ifname):
    """The rx queues of ifname (from sysfs), at least 1."""
    return xdpio_queue_count(ifname.encode())


cdef class XdpProgram:
    """xdp_redirect.bpf.o attached to one interface; detach() (or process
    exit) removes it."""
    cdef zf_xdp_prog_t* p
    cdef readonly str ifname
    cdef list _workers             # keeps the program alive while a worker uses its map

    def __cinit__(self, str obj_path, str ifname):
        cdef char err[256]
        err[0] = 0
        self.ifname = ifname
        self._workers = []
        self.p = xdpio_prog_attach(obj_path.encode(), ifname.encode(), err, sizeof(err))
        if self.p == NULL:
            raise XdpError(err.decode(errors="replace"))

    def listen(self, int family, bytes addr, int port):
        """Redirect UDP to (family 4|6, packed address or b"" for any, port)."""
        cdef const uint8_t* a = NULL
        if addr:
            if len(addr) != (4 if family == 4 else 16):
                raise ValueError("address length does not match the family")
            a = addr
        cdef int rc = xdpio_prog_listen(self.p, family, a, <uint16_t>port)
        if rc < 0:
            raise XdpError(f"listen map: {strerror(-rc).decode()}")

    @property
    def mode(self):
        return xdpio_prog_mode(self.p).decode() if self.p != NULL else "detached"

    def detach(self):
        if self.p != NULL:
            xdpio_prog_detach(self.p)
            self.p = NULL

    def __dealloc__(self):
        self.detach()


cdef class XdpWorker:
    """One AF_XDP socket on one rx queue and its loop; run() blocks in C."""
    cdef zf_xdp_worker_t* w
    cdef readonly XdpProgram program
    cdef readonly Slot slot
    cdef readonly unsigned queue
    cdef readonly RateLimiter rrl
    cdef readonly Counters counters
    cdef readonly DeferQueue defer
    cdef bint _running

    def __cinit__(self, XdpProgram program not None, unsigned queue, Slot slot not None,
                  unsigned batch=64, rrl=None, Counters counters=None, int port=0):
        cdef char err[256]
        err[0] = 0
        if program.p == NULL:
            raise XdpError("the XDP program is detached")
        if rrl is not None and not isinstance(rrl, RateLimiter):
            rrl = RateLimiter.from_config(rrl)
        self.w = xdpio_worker_new(program.p, program.ifname.encode(), queue, slot.slot, batch,
                                  err, sizeof(err))
        if self.w == NULL:
            raise XdpError(err.decode(errors="replace"))
        self.program = program
        self.slot = slot
        self.queue = queue
        self.rrl = rrl
        if rrl is not None:
            xdpio_worker_set_rrl(self.w, (<RateLimiter>rrl).r)
        self.counters = counters
        if counters is not None:
            xdpio_worker_set_counters(self.w, counters.st, <uint16_t>port)

    def __dealloc__(self):
        if self.w != NULL:
            xdpio_worker_free(self.w)
            self.w = NULL

    def close(self):
        """Closes the socket now (not while running)."""
        if self._running:
            raise RuntimeError("worker is running")
        if self.w != NULL:
            xdpio_worker_free(self.w)
            self.w = NULL

    def run(self):
        cdef int rc
        if self._running or self.w == NULL:
            raise RuntimeError("worker is running or closed")
        self._running = True
        try:
            with nogil:
                rc = xdpio_worker_run(self.w)
        finally:
            self._running = False
        if rc < 0:
            raise OSError(-rc, f"xdp worker: {strerror(-rc).decode()}")

    def stop(self):
        if self.w != NULL:
            xdpio_worker_stop(self.w)

    def set_defer(self, DeferQueue q, replies):
        """Hand deferred queries to q, answered later from the kernel UDP
        socket of the address each was sent to: replies is [(family 4|6,
        packed address or b"" for any, port, fd)].  Not while running."""
        cdef bytes packed
        if self._running or self.w == NULL:
            raise RuntimeError("worker is running or closed")
        for family, addr, port, fd in replies:
            packed = bytes(addr)
            if xdpio_worker_reply_fd(self.w, family, <const uint8_t*>packed if packed else NULL,
                                     <uint16_t>port, fd) < 0:
                raise ValueError(f"xdp worker: at most 16 reply sockets ({family}, {port})")
        self.defer = q
        xdpio_worker_set_defer(self.w, q.q if q is not None else NULL)

    @property
    def zerocopy(self):
        return bool(xdpio_worker_zerocopy(self.w)) if self.w != NULL else False

    def stats(self):
        cdef zf_xdp_stats_t st
        if self.w == NULL:
            return dict.fromkeys(STATS, 0)
        xdpio_worker_stats(self.w, &st)
        return {"queries": st.queries, "responses": st.responses, "dropped": st.dropped,
                "batches": st.batches, "errors": st.errors, "rrl_dropped": st.rrl_dropped,
                "rrl_slipped": st.rrl_slipped, "invalid": st.invalid}


STATS = ("queries", "responses", "dropped", "batches", "errors", "rrl_dropped", "rrl_slipped",
         "invalid")
