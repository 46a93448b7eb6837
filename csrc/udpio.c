/* udpio.c: the UDP data-plane loop (recvmmsg -> answer -> sendmmsg), socket
 * setup, and the RCU image slot.  Plain C; runs with the GIL released. */
#define _GNU_SOURCE
#include "udpio.h"
#include "zfdebug.h"
#include "zfdefer.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__linux__) && defined(MSG_WAITFORONE)
#define ZF_HAVE_MMSG 1
#else
#define ZF_HAVE_MMSG 0
#endif

/* Buffer i starts one cache line further into a 4 KiB page than buffer i-1:
 * with a plain 4 KiB stride every query's first line falls in the same L1
 * set, and a batch of 64 evicts itself before it is answered. */
#define RX_STRIDE (ZF_UDP_RX_SIZE + ZF_CACHELINE)
#define TX_STRIDE (ZF_UDP_TX_SIZE + ZF_CACHELINE)

#define STAT_ADD(field, n) \
    __atomic_store_n(&(field), (field) + (uint64_t)(n), __ATOMIC_RELAXED)

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------------
 * RCU slot
 * ------------------------------------------------------------------------ */

zf_slot_t *zf_slot_new(zf_answer_fn answer, const void *image)
{
    zf_slot_t *s = aligned_alloc(ZF_CACHELINE, (sizeof(*s) + ZF_CACHELINE - 1) & ~(size_t)(ZF_CACHELINE - 1));
    if (!s)
        return NULL;
    memset(s, 0, sizeof(*s));
    atomic_init(&s->image, image);
    atomic_init(&s->gen, 1);
    atomic_init(&s->stop, 0);
    s->answer = answer;
    pthread_mutex_init(&s->lock, NULL);
    for (int i = 0; i < ZF_SLOT_MAX_READERS; i++) {
        atomic_init(&s->readers[i].seen, (uint64_t)ZF_READER_OFFLINE);
        atomic_init(&s->readers[i].used, 0);
    }
    return s;
}

void zf_slot_set_prefetch(zf_slot_t *s, zf_prefetch_fn prefetch)
{
    s->prefetch = prefetch;
}

void zf_slot_free(zf_slot_t *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int zf_slot_register(zf_slot_t *s)
{
    int r = -1;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < ZF_SLOT_MAX_READERS; i++) {
        if (!atomic_load(&s->readers[i].used)) {
            atomic_store(&s->readers[i].seen, (uint64_t)ZF_READER_OFFLINE);
            atomic_store(&s->readers[i].used, 1);
            r = i;
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return r;
}

void zf_slot_unregister(zf_slot_t *s, int reader)
{
    if (reader < 0)
        return;
    pthread_mutex_lock(&s->lock);
    atomic_store(&s->readers[reader].seen, (uint64_t)ZF_READER_OFFLINE);
    atomic_store(&s->readers[reader].used, 0);
    pthread_mutex_unlock(&s->lock);
}

int zf_slot_quiesced(zf_slot_t *s, uint64_t gen)
{
    for (int i = 0; i < ZF_SLOT_MAX_READERS; i++) {
        if (!atomic_load(&s->readers[i].used))
            continue;
        uint64_t seen = atomic_load(&s->readers[i].seen);
        if (seen != ZF_READER_OFFLINE && seen < gen)
            return 0;
    }
    return 1;
}

uint64_t zf_slot_generation(zf_slot_t *s)
{
    return atomic_load(&s->gen);
}

int zf_slot_swap(zf_slot_t *s, const void *image, int timeout_ms)
{
    pthread_mutex_lock(&s->lock);
    atomic_store(&s->image, image);
    uint64_t gen = atomic_fetch_add(&s->gen, 1) + 1;
    pthread_mutex_unlock(&s->lock);

    /* A reader is online for one batch (microseconds): spin briefly, then
     * sleep in short steps so a slow swap costs no CPU. */
    uint64_t deadline = now_ns() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000u;
    for (int spin = 0;; spin++) {
        if (zf_slot_quiesced(s, gen))
            return 0;
        if (now_ns() >= deadline)
            return -1;
        if (spin < 64) {
            sched_yield();
        } else {
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
        }
    }
}

void zf_slot_stop(zf_slot_t *s)
{
    atomic_store(&s->stop, 1);
}

int zf_slot_stopped(zf_slot_t *s)
{
    return atomic_load_explicit(&s->stop, memory_order_relaxed);
}

/* ------------------------------------------------------------------------
 * Sockets
 * ------------------------------------------------------------------------ */

socklen_t zf_sockaddr_parse(const char *host, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (host == NULL || host[0] == '\0') {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        in4->sin_addr.s_addr = htonl(INADDR_ANY);
        return sizeof(*in4);
    }
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        return sizeof(*in4);
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        return sizeof(*in6);
    }
    return 0;
}

int zf_socket_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

/* Tries SO_RCVBUFFORCE first (root may exceed net.core.rmem_max, and a
 * query burst is exactly what the buffer is for), then the capped option. */
static void set_buffer(int fd, int force_opt, int opt, int size)
{
    if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof(size)) != 0)
        (void)setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

int udpio_open(const char *host, uint16_t port, int bufsize, int rcvtimeo_ms)
{
    struct sockaddr_storage ss;
    socklen_t sslen = zf_sockaddr_parse(host, port, &ss);
    if (sslen == 0)
        return -EINVAL;
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
        goto fail;
#ifdef SO_REUSEPORT
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
        goto fail;
#endif
    if (ss.ss_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
        goto fail;
    /* Replies never carry DF and ignore path MTU: a forged ICMP "fragmentation
     * needed" cannot shrink what we send to a client (RFC 9715 §3.2; BIND does
     * the same).  Our UDP answers stay within the EDNS size, 1232 by default. */
#if defined(IP_MTU_DISCOVER) && defined(IP_PMTUDISC_OMIT)
    if (ss.ss_family == AF_INET) {
        int omit = IP_PMTUDISC_OMIT;
        (void)setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &omit, sizeof(omit));
    }
#endif
#if defined(IPV6_MTU_DISCOVER) && defined(IPV6_PMTUDISC_OMIT)
    if (ss.ss_family == AF_INET6) {
        int omit = IPV6_PMTUDISC_OMIT;
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &omit, sizeof(omit));
    }
#endif
    if (bufsize <= 0)
        bufsize = 4 << 20;
#ifdef SO_RCVBUFFORCE
    set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, bufsize);
    set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, bufsize);
#else
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
#endif
    if (rcvtimeo_ms > 0) {
        struct timeval tv = {rcvtimeo_ms / 1000, (rcvtimeo_ms % 1000) * 1000};
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
            goto fail;
    }
    if (bind(fd, (struct sockaddr *)&ss, sslen) != 0)
        goto fail;
    return fd;
fail:;
    int err = errno;
    close(fd);
    return -err;
}

/* ------------------------------------------------------------------------
 * UDP worker
 * ------------------------------------------------------------------------ */

struct zf_udp_worker {
    /* hot, read-mostly */
    int fd;
    unsigned batch;      /* receive slots */
    int flags;           /* ZF_UDP_NO_MMSG */
    int reader;          /* record in slot->readers, -1 until run */
    zf_slot_t *slot;
    rrl_t *rrl;          /* response rate limiting table, or NULL (off) */
    zf_stats_t *counters; /* this worker's own (zfstats.h), or NULL (off) */
    zf_defer_q_t *defer; /* the recursive fallback's queue (zfdefer.h), or NULL (off) */
    _Atomic int stop;
    uint64_t rng;        /* xorshift64* state; per-batch policy seed */
    uint8_t *rx;         /* batch * RX_STRIDE */
    uint8_t *tx;         /* batch * TX_STRIDE, replies packed to the front */
    struct sockaddr_storage *addrs; /* source of each received datagram */
    struct iovec *rx_iov;
    struct iovec *tx_iov;
#if ZF_HAVE_MMSG
    struct mmsghdr *rx_msgs;
    struct mmsghdr *tx_msgs;
#endif
    size_t *lens;        /* received length of datagram i */
    uint8_t *trunc;      /* 1 if datagram i did not fit in its RX slot */
    socklen_t *namelens; /* source address length of datagram i */
    unsigned *txsrc;     /* which datagram tx slot k answers (sendto path) */
    zf_hint_t *hints;    /* the engine's prefetch state, one per datagram */
    unsigned empty;      /* zero-length datagrams in the current batch */
    unsigned rrl_drop;   /* replies rate limited away in the current batch */
    unsigned rrl_slip;   /* replies cut to TC=1 in the current batch */
    /* written by this worker only, on its own cache line */
    _Alignas(ZF_CACHELINE) zf_udp_stats_t stats;
    char pad_[ZF_CACHELINE - sizeof(zf_udp_stats_t) % ZF_CACHELINE];
};

int udpio_have_mmsg(void)
{
    return ZF_HAVE_MMSG;
}

zf_udp_worker_t *udpio_worker_new(int fd, zf_slot_t *slot, unsigned batch, int flags)
{
    if (batch == 0)
        batch = 64;
    if (batch > ZF_UDP_MAX_BATCH)
        batch = ZF_UDP_MAX_BATCH;
    if (!ZF_HAVE_MMSG)
        flags |= ZF_UDP_NO_MMSG;
    size_t wsize = (sizeof(zf_udp_worker_t) + ZF_CACHELINE - 1) & ~(size_t)(ZF_CACHELINE - 1);
    zf_udp_worker_t *w = aligned_alloc(ZF_CACHELINE, wsize);
    if (!w)
        return NULL;
    memset(w, 0, sizeof(*w));
    w->fd = fd;
    w->batch = batch;
    w->flags = flags;
    w->reader = -1;
    w->slot = slot;
    atomic_init(&w->stop, 0);
    w->rng = (now_ns() ^ ((uint64_t)(uintptr_t)w << 16) ^ (uint64_t)fd * 0x9E3779B97F4A7C15ull) | 1;
    w->rx = aligned_alloc(ZF_CACHELINE, (size_t)batch * RX_STRIDE);
    w->tx = aligned_alloc(ZF_CACHELINE, (size_t)batch * TX_STRIDE);
    w->addrs = calloc(batch, sizeof(*w->addrs));
    w->rx_iov = calloc(batch, sizeof(*w->rx_iov));
    w->tx_iov = calloc(batch, sizeof(*w->tx_iov));
    w->lens = calloc(batch, sizeof(*w->lens));
    w->trunc = calloc(batch, sizeof(*w->trunc));
    w->namelens = calloc(batch, sizeof(*w->namelens));
    w->txsrc = calloc(batch, sizeof(*w->txsrc));
    w->hints = calloc(batch, sizeof(*w->hints));
#if ZF_HAVE_MMSG
    w->rx_msgs = calloc(batch, sizeof(*w->rx_msgs));
    w->tx_msgs = calloc(batch, sizeof(*w->tx_msgs));
    if (!w->rx_msgs || !w->tx_msgs)
        goto fail;
#endif
    if (!w->rx || !w->tx || !w->addrs || !w->rx_iov || !w->tx_iov || !w->lens || !w->trunc ||
        !w->namelens || !w->txsrc || !w->hints)
        goto fail;
    for (unsigned i = 0; i < batch; i++) {
        w->rx_iov[i].iov_base = w->rx + (size_t)i * RX_STRIDE;
        w->rx_iov[i].iov_len = ZF_UDP_RX_SIZE;
        w->tx_iov[i].iov_base = w->tx + (size_t)i * TX_STRIDE;
#if ZF_HAVE_MMSG
        struct msghdr *h = &w->rx_msgs[i].msg_hdr;
        h->msg_name = &w->addrs[i];
        h->msg_namelen = sizeof(w->addrs[i]);
        h->msg_iov = &w->rx_iov[i];
        h->msg_iovlen = 1;
        h = &w->tx_msgs[i].msg_hdr;
        h->msg_iov = &w->tx_iov[i];
        h->msg_iovlen = 1;
#endif
    }
    return w;
fail:
    udpio_worker_free(w);
    return NULL;
}

void udpio_worker_free(zf_udp_worker_t *w)
{
    if (!w)
        return;
    free(w->rx);
    free(w->tx);
    free(w->addrs);
    free(w->rx_iov);
    free(w->tx_iov);
    free(w->lens);
    free(w->trunc);
    free(w->namelens);
    free(w->txsrc);
    free(w->hints);
#if ZF_HAVE_MMSG
    free(w->rx_msgs);
    free(w->tx_msgs);
#endif
    free(w);
}

void udpio_worker_stop(zf_udp_worker_t *w)
{
    atomic_store(&w->stop, 1);
}

void udpio_wake(int fd)
{
    /* On an unconnected UDP socket Linux returns ENOTCONN but still marks
     * it shut and wakes blocked receivers, which then read 0 bytes. */
    (void)shutdown(fd, SHUT_RD);
}

void udpio_worker_stats(const zf_udp_worker_t *w, zf_udp_stats_t *out)
{
    out->queries = __atomic_load_n(&w->stats.queries, __ATOMIC_RELAXED);
    out->responses = __atomic_load_n(&w->stats.responses, __ATOMIC_RELAXED);
    out->dropped = __atomic_load_n(&w->stats.dropped, __ATOMIC_RELAXED);
    out->batches = __atomic_load_n(&w->stats.batches, __ATOMIC_RELAXED);
    out->errors = __atomic_load_n(&w->stats.errors, __ATOMIC_RELAXED);
    out->rrl_dropped = __atomic_load_n(&w->stats.rrl_dropped, __ATOMIC_RELAXED);
    out->rrl_slipped = __atomic_load_n(&w->stats.rrl_slipped, __ATOMIC_RELAXED);
}

void udpio_worker_set_rrl(zf_udp_worker_t *w, rrl_t *rrl)
{
    w->rrl = rrl;
}

void udpio_worker_set_counters(zf_udp_worker_t *w, zf_stats_t *st)
{
    w->counters = st;
    if (st)
        st->port = (uint32_t)zf_socket_port(w->fd);
}

void udpio_worker_set_defer(zf_udp_worker_t *w, zf_defer_q_t *q)
{
    w->defer = q;
}

static inline uint32_t next_seed(zf_udp_worker_t *w)
{
    uint64_t x = w->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    w->rng = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
}

static inline int should_stop(zf_udp_worker_t *w)
{
    return atomic_load_explicit(&w->stop, memory_order_relaxed) || zf_slot_stopped(w->slot);
}

/* Waits for room in the send buffer; a blocking socket only gets EAGAIN
 * with SO_SNDTIMEO or a full qdisc, so this is rare. */
static void wait_writable(int fd)
{
    struct pollfd p = {fd, POLLOUT, 0};
    (void)poll(&p, 1, 10);
}

/* Errors that mean this one reply cannot go out (bad destination, route,
 * message size); the rest of the batch still can. */
static int per_message_error(int err)
{
    return err == EINVAL || err == EMSGSIZE || err == EPERM || err == EACCES ||
           err == ENETUNREACH || err == EHOSTUNREACH || err == EAFNOSUPPORT ||
           err == EADDRNOTAVAIL || err == ECONNREFUSED || err == ENOBUFS;
}

/* Answers n received datagrams from one image; fills tx slots [0, m) and
 * returns m.  Always inlined into the two callers below with rrl a constant
 * NULL or not, so the per-packet loop carries no RRL switch when it is off. */
static inline __attribute__((always_inline)) unsigned answer_batch_with(zf_udp_worker_t *w,
                                                                       unsigned n, rrl_t *rrl)
{
    const size_t *lens = w->lens;
    const uint8_t *trunc = w->trunc;
    const socklen_t *namelens = w->namelens;
    zf_slot_t *slot = w->slot;
    zf_answer_fn answer = slot->answer;
    const void *image = zf_slot_enter(slot, w->reader);
    zf_qctx_t ctx;
    unsigned rrl_drop = 0, rrl_slip = 0;
    zf_stats_t *counters = w->counters;
    uint8_t deferred = 0;
    w->empty = 0;
    ctx.seed = next_seed(w);
    ctx.tcp = 0;
    ctx.stats = counters;
    ctx.defer = w->defer ? &deferred : NULL;
    if (counters) {
        zf_stats_batch(counters, n);
        zf_stats_tick(counters);
    }
    if (rrl)
        rrl_tick(rrl); /* one clock reading per batch */
    zf_prefetch_fn prefetch = slot->prefetch;
    int hinted = prefetch && n > 1; /* hints[i] is then this batch's, for the answer too */
    ctx.hint = NULL;
    if (hinted) {
        for (int stage = 0; stage < ZF_PREFETCH_STAGES; stage++)
            for (unsigned i = 0; i < n; i++)
                if (!trunc[i] && lens[i])
                    prefetch(image, w->rx + (size_t)i * RX_STRIDE, lens[i], &w->hints[i], stage);
    }
    unsigned m = 0;
    for (unsigned i = 0; i < n; i++) {
        if (trunc[i]) /* larger than any query we serve; the engine never sees a partial one */
            continue;
        if (lens[i] == 0) { /* what recv reports after udpio_wake(); never a query */
            w->empty++;
            continue;
        }
        ctx.src = (const struct sockaddr *)&w->addrs[i];
        if (hinted)
            ctx.hint = &w->hints[i];
        uint8_t *out = w->tx + (size_t)m * TX_STRIDE;
        size_t len = answer(image, w->rx + (size_t)i * RX_STRIDE, lens[i], out,
                            ZF_UDP_TX_SIZE, &ctx);
        if (len == 0 || len > ZF_UDP_TX_SIZE) {
            if (!deferred)
                continue;
            /* the recursive fallback answers from this socket later; a full queue: SERVFAIL now */
            deferred = 0;
            if (zf_defer_push(w->defer, w->rx + (size_t)i * RX_STRIDE, lens[i], ctx.src,
                              namelens[i], w->fd, NULL, 0, 0) == 0)
                continue;
            len = zf_defer_servfail(w->rx + (size_t)i * RX_STRIDE, lens[i], out, ZF_UDP_TX_SIZE);
            if (len == 0)
                continue;
        }
        if (counters)
            zf_stats_record(counters, ctx.src, 0, w->rx + (size_t)i * RX_STRIDE, lens[i], out,
                            len);
        if (rrl) {
            int verdict = rrl_account(rrl, ctx.src, out, &len);
            if (verdict == RRL_DROP) {
                rrl_drop++;
                continue; /* slot m is reused by the next reply */
            }
            rrl_slip += verdict == RRL_SLIP;
        }
        ZF_ASSERT(m <= i && i < w->batch && len <= ZF_UDP_TX_SIZE);
        w->tx_iov[m].iov_len = len;
#if ZF_HAVE_MMSG
        w->tx_msgs[m].msg_hdr.msg_name = &w->addrs[i];
        w->tx_msgs[m].msg_hdr.msg_namelen = namelens[i];
#endif
        w->txsrc[m] = i;
        m++;
    }
    zf_slot_leave(slot, w->reader);
    w->rrl_drop = rrl_drop;
    w->rrl_slip = rrl_slip;
    return m;
}

static unsigned answer_batch(zf_udp_worker_t *w, unsigned n)
{
    return answer_batch_with(w, n, NULL);
}

static unsigned answer_batch_rrl(zf_udp_worker_t *w, unsigned n)
{
    return answer_batch_with(w, n, w->rrl);
}

#if ZF_HAVE_MMSG
/* Sends tx_msgs[0, m); returns how many went out.  sendmmsg stops at the
 * first message that fails and reports only the ones before it, so a
 * failing reply is retried alone and then skipped, never the whole batch. */
static unsigned send_mmsg(zf_udp_worker_t *w, unsigned m)
{
    unsigned pos = 0, sent = 0;
    int stalls = 0;
    while (pos < m) {
        int r = sendmmsg(w->fd, w->tx_msgs + pos, m - pos, 0);
        if (r > 0) {
            pos += (unsigned)r;
            sent += (unsigned)r;
            stalls = 0;
            continue;
        }
        int err = r == 0 ? EAGAIN : errno;
        if (err == EINTR)
            continue;
        if ((err == EAGAIN || err == EWOULDBLOCK) && stalls++ < 100 && !should_stop(w)) {
            wait_writable(w->fd);
            continue;
        }
        if (!per_message_error(err))
            STAT_ADD(w->stats.errors, 1);
        pos++;
        stalls = 0;
    }
    return sent;
}
#endif

static unsigned send_each(zf_udp_worker_t *w, unsigned m)
{
    unsigned sent = 0;
    for (unsigned k = 0; k < m; k++) {
        unsigned i = w->txsrc[k];
        for (int stalls = 0;;) {
            ssize_t r = sendto(w->fd, w->tx_iov[k].iov_base, w->tx_iov[k].iov_len, 0,
                               (struct sockaddr *)&w->addrs[i], w->namelens[i]);
            if (r >= 0) {
                sent++;
                break;
            }
            if (errno == EINTR)
                continue;
            if ((errno == EAGAIN || errno == EWOULDBLOCK) && stalls++ < 100 && !should_stop(w)) {
                wait_writable(w->fd);
                continue;
            }
            if (!per_message_error(errno))
                STAT_ADD(w->stats.errors, 1);
            break;
        }
    }
    return sent;
}

/* Fills up to batch datagrams: the first recvfrom blocks (up to SO_RCVTIMEO),
 * the rest are MSG_DONTWAIT, which is what MSG_WAITFORONE does. */
static int recv_each(zf_udp_worker_t *w)
{
    size_t *lens = w->lens;
    uint8_t *trunc = w->trunc;
    socklen_t *namelens = w->namelens;
    unsigned n = 0;
    while (n < w->batch) {
        socklen_t alen = sizeof(w->addrs[n]);
        ssize_t r = recvfrom(w->fd, w->rx + (size_t)n * RX_STRIDE, ZF_UDP_RX_SIZE,
                             (n ? MSG_DONTWAIT : 0) | MSG_TRUNC, (struct sockaddr *)&w->addrs[n],
                             &alen);
        if (r < 0) {
            if (n)
                break;
            return -1;
        }
        trunc[n] = r > ZF_UDP_RX_SIZE;
        lens[n] = trunc[n] ? ZF_UDP_RX_SIZE : (size_t)r;
        namelens[n] = alen;
        n++;
    }
    return (int)n;
}

int udpio_worker_run(zf_udp_worker_t *w)
{
    zf_slot_t *slot = w->slot;
    w->reader = zf_slot_register(slot);
    if (w->reader < 0)
        return -ENOSPC;
    int rc = 0;
    const int use_mmsg = ZF_HAVE_MMSG && !(w->flags & ZF_UDP_NO_MMSG);

    while (!should_stop(w)) {
        int n;
#if ZF_HAVE_MMSG
        if (use_mmsg) {
            n = recvmmsg(w->fd, w->rx_msgs, w->batch, MSG_WAITFORONE, NULL);
            for (int i = 0; i < n; i++) {
                struct msghdr *h = &w->rx_msgs[i].msg_hdr;
                w->trunc[i] = (h->msg_flags & MSG_TRUNC) != 0;
                w->lens[i] = w->rx_msgs[i].msg_len;
                w->namelens[i] = h->msg_namelen;
                h->msg_namelen = sizeof(w->addrs[i]); /* the kernel overwrote it */
                h->msg_flags = 0;
            }
        } else
#endif
        {
            n = recv_each(w);
        }
        if (n <= 0) {
            if (n < 0) {
                int err = errno;
                if (err == EBADF || err == ENOTSOCK || err == EINVAL || err == EFAULT) {
                    rc = -err;
                    break;
                }
                if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR)
                    STAT_ADD(w->stats.errors, 1);
            }
            continue; /* timeout: we are offline already, just re-check stop */
        }

        unsigned m = w->rrl ? answer_batch_rrl(w, (unsigned)n) : answer_batch(w, (unsigned)n);
        unsigned sent = 0;
        if (m) {
#if ZF_HAVE_MMSG
            if (use_mmsg)
                sent = send_mmsg(w, m);
            else
#endif
                sent = send_each(w, m);
        }
        unsigned real = (unsigned)n - w->empty;
        if (real == 0)
            continue;
        STAT_ADD(w->stats.batches, 1);
        STAT_ADD(w->stats.queries, real);
        STAT_ADD(w->stats.responses, sent);
        STAT_ADD(w->stats.dropped, real - sent);
        if (w->rrl_drop | w->rrl_slip) {
            STAT_ADD(w->stats.rrl_dropped, w->rrl_drop);
            STAT_ADD(w->stats.rrl_slipped, w->rrl_slip);
        }
    }
    zf_slot_unregister(slot, w->reader);
    w->reader = -1;
    return rc;
}
