# C declarations for the socket loops (csrc/udpio.h, csrc/tcpio.h) and the
# classes that own them; only what _worker.pyx uses.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from zonefront.dataplane._stats cimport Counters, zf_stats_t

cdef extern from "zfapi.h":
    ctypedef struct zf_qctx_t:
        const void* src
        uint32_t seed
        uint8_t tcp
        void* stats
        uint8_t* defer
    ctypedef size_t (*zf_answer_fn)(const void* image, const uint8_t* query, size_t qlen,
                                    uint8_t* resp, size_t cap, const zf_qctx_t* ctx) noexcept nogil
    ctypedef struct zf_hint_t:
        pass
    ctypedef void (*zf_prefetch_fn)(const void* image, const uint8_t* query, size_t qlen,
                                    zf_hint_t* hint, int stage) noexcept nogil

cdef extern from "rrl.h" nogil:
    ctypedef struct sockaddr "struct sockaddr":
        pass
    ctypedef struct sockaddr_storage "struct sockaddr_storage":
        pass
    ctypedef struct rrl_config_t:
        uint32_t responses_per_second
        uint32_t slip
        uint32_t window
        uint8_t ipv4_prefix
        uint8_t ipv6_prefix
        uint32_t table_size
    ctypedef struct rrl_t:
        rrl_config_t config
    int RRL_PASS
    int RRL_DROP
    int RRL_SLIP
    void rrl_config_default(rrl_config_t* c)
    rrl_t* rrl_new(const rrl_config_t* c)
    void rrl_free(rrl_t* r)
    void rrl_set_clock(rrl_t* r, uint32_t now_ms)
    int rrl_account(rrl_t* r, const sockaddr* src, uint8_t* resp, size_t* len)

cdef extern from "udpio.h" nogil:
    ctypedef struct zf_slot_t:
        pass
    zf_slot_t* zf_slot_new(zf_answer_fn answer, const void* image)
    void zf_slot_set_prefetch(zf_slot_t* s, zf_prefetch_fn prefetch)
    void zf_slot_free(zf_slot_t* s)
    int zf_slot_swap(zf_slot_t* s, const void* image, int timeout_ms)
    int zf_slot_quiesced(zf_slot_t* s, uint64_t gen)
    uint64_t zf_slot_generation(zf_slot_t* s)
    void zf_slot_stop(zf_slot_t* s)
    int zf_slot_stopped(zf_slot_t* s)
    int zf_socket_port(int fd)
    unsigned zf_sockaddr_parse(const char* host, uint16_t port, sockaddr_storage* ss)

    int ZF_UDP_RX_SIZE
    int ZF_UDP_TX_SIZE
    int ZF_UDP_NO_MMSG
    ctypedef struct zf_udp_stats_t:
        uint64_t queries
        uint64_t responses
        uint64_t dropped
        uint64_t batches
        uint64_t errors
        uint64_t rrl_dropped
        uint64_t rrl_slipped
    ctypedef struct zf_udp_worker_t:
        pass
    int udpio_open(const char* host, uint16_t port, int bufsize, int rcvtimeo_ms)
    zf_udp_worker_t* udpio_worker_new(int fd, zf_slot_t* slot, unsigned batch, int flags)
    void udpio_worker_free(zf_udp_worker_t* w)
    int udpio_worker_run(zf_udp_worker_t* w)
    void udpio_worker_stop(zf_udp_worker_t* w)
    void udpio_worker_set_rrl(zf_udp_worker_t* w, rrl_t* rrl)
    void udpio_worker_set_counters(zf_udp_worker_t* w, zf_stats_t* st)
    void udpio_wake(int fd)
    void udpio_worker_stats(const zf_udp_worker_t* w, zf_udp_stats_t* out)
    int udpio_have_mmsg()

cdef extern from "tcpio.h" nogil:
    ctypedef struct zf_tcp_opts_t:
        int idle_timeout_ms
        int max_connections
        size_t max_pending
    ctypedef struct zf_tcp_stats_t:
        uint64_t accepted
        uint64_t active
        uint64_t queries
        uint64_t responses
        uint64_t dropped
        uint64_t closed_idle
        uint64_t evicted
        uint64_t errors
        uint64_t xfr
    ctypedef struct zf_tcp_server_t:
        pass
    int tcpio_listen(const char* host, uint16_t port, int backlog)
    zf_tcp_server_t* tcpio_server_new(const int* listen_fds, int nfds, zf_slot_t* slot,
                                      const zf_tcp_opts_t* opts)
    void tcpio_server_free(zf_tcp_server_t* s)
    int tcpio_server_run(zf_tcp_server_t* s)
    void tcpio_server_stop(zf_tcp_server_t* s)
    void tcpio_server_stats(const zf_tcp_server_t* s, zf_tcp_stats_t* out)
    ctypedef void (*zf_xfr_fn)(void* ctx, uint32_t conn, uint32_t gen, const uint8_t* query,
                               size_t qlen, const char* host, uint16_t port) noexcept nogil
    void tcpio_server_set_xfr(zf_tcp_server_t* s, zf_xfr_fn fn, void* ctx)
    void tcpio_server_set_counters(zf_tcp_server_t* s, zf_stats_t* st)
    void tcpio_xfr_done(zf_tcp_server_t* s, uint32_t conn, uint32_t gen, uint8_t* buf,
                        size_t len)
    int tcpio_is_xfr(const uint8_t* m, size_t len)


cdef extern from "zfdefer.h" nogil:
    ctypedef struct zf_defer_item_t:
        void* tcp
        uint32_t conn
        uint32_t gen
        int fd
        unsigned srclen
        sockaddr_storage src
        size_t qlen
        uint8_t query[1]
    ctypedef struct zf_defer_q_t:
        unsigned len
        unsigned cap
        uint64_t pushed
        uint64_t overflow
    zf_defer_q_t* zf_defer_new(unsigned cap)
    void zf_defer_free(zf_defer_q_t* q)
    void zf_defer_close(zf_defer_q_t* q)
    zf_defer_item_t* zf_defer_pop(zf_defer_q_t* q, int timeout_ms)
    size_t zf_defer_servfail(const uint8_t* query, size_t qlen, uint8_t* out, size_t cap)
    void udpio_worker_set_defer(zf_udp_worker_t* w, zf_defer_q_t* q)
    void tcpio_server_set_defer(zf_tcp_server_t* s, zf_defer_q_t* q)


# The recursive fallback's queue (csrc/zfdefer.h) and one query popped from it.
cdef class DeferQueue:
    cdef zf_defer_q_t* q           # owned; the loops push, the forwarder pops

cdef class Deferred:
    cdef zf_defer_item_t* item     # owned (malloc'd by zf_defer_push)


# Test image for echo_answer: a tag byte appended to every reply, and an
# optional per-query delay that keeps a batch "online" for swap tests.
cdef struct echo_image_t:
    uint8_t tag
    uint32_t delay_us

cdef size_t echo_answer(const void* image, const uint8_t* query, size_t qlen,
                        uint8_t* resp, size_t cap, const zf_qctx_t* ctx) noexcept nogil


cdef class EchoImage:
    cdef echo_image_t data
    cdef void* ptr                 # &data; the same shape as core._engine.Image


cdef class Slot:
    cdef zf_slot_t* slot
    cdef readonly str answer       # "echo" or "engine"
    cdef object _image             # keeps the current image's C data alive
    cdef list _retired             # [(generation, image)] not yet quiescent
    cdef object _lock              # one swap at a time
    cdef const void* _pointer(self, object image) except? NULL


cdef class RateLimiter:
    cdef rrl_t* r                  # owned; one worker's table, or a test's


cdef class UdpWorker:
    cdef zf_udp_worker_t* w
    cdef readonly RateLimiter rrl  # None when rate limiting is off
    cdef readonly Slot slot
    cdef readonly int fd
    cdef readonly unsigned batch
    cdef readonly Counters counters  # None when counting is off
    cdef bint _running
    cdef readonly DeferQueue defer  # the recursive fallback's queue, or None


cdef class TcpServer:
    cdef zf_tcp_server_t* s
    cdef readonly Slot slot
    cdef readonly tuple listen_fds
    cdef readonly Counters counters  # None when counting is off
    cdef bint _running
    cdef readonly object xfr       # xfr(query, (host, port)) -> list[bytes] | None, or None
    cdef object _xfr_queue         # (conn, gen, query, client) for the slow-path thread
    cdef readonly DeferQueue defer  # the recursive fallback's queue, or None
