/* tcpio.c: DNS over TCP (RFC 7766): epoll loop, 2-byte length framing,
 * pipelined queries answered in order, idle timeout, connection cap. */
#define _GNU_SOURCE
#include "tcpio.h"
#include "zfdebug.h"
#include "zfwire.h"
#include "zfdefer.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define STAT_ADD(field, n) \
    __atomic_store_n(&(field), (field) + (uint64_t)(n), __ATOMIC_RELAXED)
#define STAT_SET(field, v) __atomic_store_n(&(field), (uint64_t)(v), __ATOMIC_RELAXED)

#define IN_INITIAL 4096
#define IN_MAX (2 + ZF_TCP_MAX_MSG)
#define MAX_EVENTS 256
#define MAX_LISTEN 64
#define EV_WAKE UINT64_MAX
#define EV_XFR (UINT64_MAX - 1)  /* xfrfd: slow-path replies are ready */
#define EV_LISTEN (UINT64_MAX - 1 - MAX_LISTEN) /* + listener index */

typedef struct conn {
    int fd;               /* -1 while on the free list */
    uint32_t events;      /* interest currently registered with epoll */
    uint8_t eof;          /* peer shut down its sending side */
    uint8_t paused;       /* too much queued output: not reading */
    uint8_t xfr_wait;     /* a query is with the slow path: not reading, not answering */
    uint32_t gen;         /* bumped per accept: tells a slow-path reply its connection */
    struct conn *prev;    /* LRU list, head = least recently active */
    struct conn *next;    /* LRU list, or the free list */
    uint64_t last_ms;     /* last read or write progress */
    uint8_t *in;          /* unparsed bytes: partial length prefix or message */
    size_t in_len;
    size_t in_cap;        /* grows to 2 + the pending message length, at most IN_MAX */
    uint8_t *out;         /* framed replies not yet written */
    size_t out_off;       /* first unwritten byte */
    size_t out_len;
    size_t out_cap;
    struct sockaddr_storage peer; /* the engine's view of the client */
} conn_t;

struct zf_tcp_server {
    zf_slot_t *slot;
    zf_tcp_opts_t opts;
    int listen_fds[MAX_LISTEN];
    int nlisten;
    int epfd;
    int wakefd;           /* eventfd: tcpio_server_stop() */
    int reader;           /* record in slot->readers */
    _Atomic int stop;
    uint64_t rng;         /* xorshift64*, per-wakeup policy seed */
    conn_t *conns;        /* max_connections records, preallocated */
    conn_t *free_list;
    conn_t *lru_head;
    conn_t *lru_tail;
    uint8_t *scratch;     /* one reply: 2-byte prefix + 65535 */
    const void *image;    /* valid between zf_slot_enter and zf_slot_leave */
    uint32_t seed;
    uint32_t next_gen;    /* source of conn_t.gen */
    zf_stats_t *counters; /* this thread's own (zfstats.h), or NULL (off) */
    zf_xfr_fn xfr;        /* slow path for AXFR/IXFR, or NULL */
    zf_defer_q_t *defer;  /* the recursive fallback's queue (zfdefer.h), or NULL */
    void *xfr_ctx;
    int xfrfd;            /* eventfd: tcpio_xfr_done() queued replies */
    pthread_mutex_t xfr_lock; /* guards xfr_head/xfr_tail (producers: any thread) */
    struct xfr_reply *xfr_head;
    struct xfr_reply *xfr_tail;
    _Alignas(64) zf_tcp_stats_t stats;
};

typedef struct xfr_reply {
    struct xfr_reply *next;
    uint32_t conn;        /* index into conns */
    uint32_t gen;         /* conn_t.gen when the query was handed over */
    uint8_t *buf;         /* framed replies; owned */
    size_t len;
} xfr_reply_t;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int tcpio_listen(const char *host, uint16_t port, int backlog)
{
    struct sockaddr_storage ss;
    socklen_t sslen = zf_sockaddr_parse(host, port, &ss);
    if (sslen == 0)
        return -EINVAL;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
        goto fail;
    if (ss.ss_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
        goto fail;
    if (bind(fd, (struct sockaddr *)&ss, sslen) != 0)
        goto fail;
    if (listen(fd, backlog > 0 ? backlog : 1024) != 0)
        goto fail;
    return fd;
fail:;
    int err = errno;
    close(fd);
    return -err;
}

zf_tcp_server_t *tcpio_server_new(const int *listen_fds, int nfds, zf_slot_t *slot,
                                  const zf_tcp_opts_t *opts)
{
    if (nfds < 0 || nfds > MAX_LISTEN)
        return NULL;
    zf_tcp_server_t *s = aligned_alloc(64, (sizeof(*s) + 63) & ~(size_t)63);
    if (!s)
        return NULL;
    memset(s, 0, sizeof(*s));
    s->slot = slot;
    s->opts.idle_timeout_ms = 10000;
    s->opts.max_connections = 1000;
    s->opts.max_pending = 256 * 1024;
    if (opts) {
        if (opts->idle_timeout_ms > 0)
            s->opts.idle_timeout_ms = opts->idle_timeout_ms;
        if (opts->max_connections > 0)
            s->opts.max_connections = opts->max_connections;
        if (opts->max_pending > 0)
            s->opts.max_pending = opts->max_pending;
    }
    memcpy(s->listen_fds, listen_fds, sizeof(int) * (size_t)nfds);
    s->nlisten = nfds;
    s->epfd = -1;
    s->reader = -1;
    atomic_init(&s->stop, 0);
    s->rng = ((uint64_t)time(NULL) << 20) ^ (uint64_t)(uintptr_t)s ^ 0x9E3779B97F4A7C15ull;
    s->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->xfrfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&s->xfr_lock, NULL);
    s->conns = calloc((size_t)s->opts.max_connections, sizeof(conn_t));
    s->scratch = malloc(2 + ZF_TCP_MAX_MSG);
    if (s->wakefd < 0 || s->xfrfd < 0 || !s->conns || !s->scratch) {
        tcpio_server_free(s);
        return NULL;
    }
    for (int i = s->opts.max_connections - 1; i >= 0; i--) {
        s->conns[i].fd = -1;
        s->conns[i].next = s->free_list;
        s->free_list = &s->conns[i];
    }
    return s;
}

void tcpio_server_free(zf_tcp_server_t *s)
{
    if (!s)
        return;
    if (s->wakefd >= 0)
        close(s->wakefd);
    if (s->xfrfd >= 0)
        close(s->xfrfd);
    while (s->xfr_head) {
        xfr_reply_t *r = s->xfr_head;
        s->xfr_head = r->next;
        free(r->buf);
        free(r);
    }
    pthread_mutex_destroy(&s->xfr_lock);
    free(s->conns);
    free(s->scratch);
    free(s);
}

void tcpio_server_stop(zf_tcp_server_t *s)
{
    atomic_store(&s->stop, 1);
    uint64_t one = 1;
    ssize_t r = write(s->wakefd, &one, sizeof(one));
    (void)r;
}

void tcpio_server_stats(const zf_tcp_server_t *s, zf_tcp_stats_t *out)
{
    out->accepted = __atomic_load_n(&s->stats.accepted, __ATOMIC_RELAXED);
    out->active = __atomic_load_n(&s->stats.active, __ATOMIC_RELAXED);
    out->queries = __atomic_load_n(&s->stats.queries, __ATOMIC_RELAXED);
    out->responses = __atomic_load_n(&s->stats.responses, __ATOMIC_RELAXED);
    out->dropped = __atomic_load_n(&s->stats.dropped, __ATOMIC_RELAXED);
    out->closed_idle = __atomic_load_n(&s->stats.closed_idle, __ATOMIC_RELAXED);
    out->evicted = __atomic_load_n(&s->stats.evicted, __ATOMIC_RELAXED);
    out->errors = __atomic_load_n(&s->stats.errors, __ATOMIC_RELAXED);
    out->xfr = __atomic_load_n(&s->stats.xfr, __ATOMIC_RELAXED);
}

void tcpio_server_set_counters(zf_tcp_server_t *s, zf_stats_t *st)
{
    s->counters = st;
    if (st && s->nlisten)
        st->port = (uint32_t)zf_socket_port(s->listen_fds[0]);
}

void tcpio_server_set_xfr(zf_tcp_server_t *s, zf_xfr_fn fn, void *ctx)
{
    s->xfr = fn;
    s->xfr_ctx = ctx;
}

void tcpio_server_set_defer(zf_tcp_server_t *s, zf_defer_q_t *q)
{
    s->defer = q;
}

void tcpio_xfr_done(zf_tcp_server_t *s, uint32_t conn, uint32_t gen, uint8_t *buf, size_t len)
{
    xfr_reply_t *r = malloc(sizeof(*r));
    if (!r) {
        free(buf); /* the connection then waits for its idle timeout */
        return;
    }
    r->next = NULL;
    r->conn = conn;
    r->gen = gen;
    r->buf = buf;
    r->len = buf ? len : 0;
    pthread_mutex_lock(&s->xfr_lock);
    if (s->xfr_tail)
        s->xfr_tail->next = r;
    else
        s->xfr_head = r;
    s->xfr_tail = r;
    pthread_mutex_unlock(&s->xfr_lock);
    uint64_t one = 1;
    ssize_t w = write(s->xfrfd, &one, sizeof(one));
    (void)w;
}

/* Skips one RR (or, with question set, one question) at *p; 0 past the end. */
static int skip_entry(const uint8_t *m, size_t len, size_t *p, int question)
{
    ptrdiff_t e = zf_name_skip(m, len, *p);
    if (e < 0)
        return 0;
    size_t i = (size_t)e;
    if (question) {
        i += 4;
    } else {
        if (i + 10 > len)
            return 0;
        i += 10 + (((size_t)m[i + 8] << 8) | m[i + 9]);
    }
    if (i > len)
        return 0;
    *p = i;
    return 1;
}

/* The slow path's share: QUERY for AXFR (252) / IXFR (251), or a SOA query
 * whose last additional record is a TSIG (250), which the engine would answer
 * unsigned and a secondary with a key would reject.  Every other query costs
 * a header test and one walk over the qname. */
int tcpio_is_xfr(const uint8_t *m, size_t len)
{
    if (len < 17 || (m[2] & 0xF8) != 0 || m[4] != 0 || m[5] != 1)
        return 0; /* a response, an opcode other than QUERY, or not one question */
    size_t nl = zf_name_walk(m, len, ZF_HEADER_LEN, NULL, NULL, 0);
    if (!nl || ZF_HEADER_LEN + nl + 4 > len)
        return 0;
    size_t p = ZF_HEADER_LEN + nl; /* the qtype */
    unsigned qtype = ((unsigned)m[p] << 8) | m[p + 1];
    if (qtype == ZF_TYPE_IXFR || qtype == ZF_TYPE_AXFR)
        return 1;
    if (qtype != ZF_TYPE_SOA || (m[10] == 0 && m[11] == 0))
        return 0;
    unsigned rrs = (((unsigned)m[6] << 8) | m[7]) + (((unsigned)m[8] << 8) | m[9]) +
                   (((unsigned)m[10] << 8) | m[11]);
    p += 4;
    size_t last = 0;
    for (unsigned k = 0; k < rrs; k++) {
        last = p;
        if (!skip_entry(m, len, &p, 0))
            return 0;
    }
    /* the TSIG's owner is a key name; its type follows the name */
    ptrdiff_t i = zf_name_skip(m, len, last);
    return i >= 0 && (size_t)i + 2 <= len && m[i] == 0 && m[i + 1] == ZF_TYPE_TSIG;
}

/* ------------------------------------------------------------------------
 * connection bookkeeping
 * ------------------------------------------------------------------------ */

static void lru_unlink(zf_tcp_server_t *s, conn_t *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        s->lru_head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        s->lru_tail = c->prev;
    c->prev = c->next = NULL;
}

static void lru_append(zf_tcp_server_t *s, conn_t *c)
{
    c->prev = s->lru_tail;
    c->next = NULL;
    if (s->lru_tail)
        s->lru_tail->next = c;
    else
        s->lru_head = c;
    s->lru_tail = c;
}

static void touch(zf_tcp_server_t *s, conn_t *c, uint64_t now)
{
    c->last_ms = now;
    if (s->lru_tail != c) {
        lru_unlink(s, c);
        lru_append(s, c);
    }
}

/* Counters move before close() so a client that sees EOF also sees them. */
static void conn_close(zf_tcp_server_t *s, conn_t *c)
{
    STAT_SET(s->stats.active, s->stats.active - 1);
    lru_unlink(s, c);
    close(c->fd); /* also removes it from the epoll set */
    c->fd = -1;
    free(c->in);
    free(c->out);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->next = s->free_list;
    s->free_list = c;
}

static int set_interest(zf_tcp_server_t *s, conn_t *c)
{
    uint32_t ev = 0;
    if (!c->paused && !c->eof && !c->xfr_wait)
        ev |= EPOLLIN;
    if (c->out_len > c->out_off)
        ev |= EPOLLOUT;
    if (ev == c->events)
        return 0;
    struct epoll_event e = {.events = ev, .data.u64 = (uint64_t)(c - s->conns)};
    if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &e) != 0)
        return -1;
    c->events = ev;
    return 0;
}

static int out_reserve(conn_t *c, size_t more)
{
    if (c->out_off && c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (c->out_len + more <= c->out_cap)
        return 0;
    if (c->out_off) { /* compact before growing */
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
        if (c->out_len + more <= c->out_cap)
            return 0;
    }
    size_t cap = c->out_cap ? c->out_cap : 4096;
    while (cap < c->out_len + more)
        cap *= 2;
    uint8_t *p = realloc(c->out, cap);
    if (!p)
        return -1;
    c->out = p;
    c->out_cap = cap;
    return 0;
}

/* Answers every complete message in c->in, in order, queueing the replies.
 * Returns -1 if the connection must be closed. */
static int process(zf_tcp_server_t *s, conn_t *c)
{
    size_t off = 0;
    zf_qctx_t ctx;
    ctx.src = (const struct sockaddr *)&c->peer;
    ctx.seed = s->seed;
    ctx.tcp = 1;
    ctx.stats = s->counters;
    ctx.hint = NULL;
    uint8_t deferred = 0;
    ctx.defer = s->defer ? &deferred : NULL;
    while (c->in_len - off >= 2 && !c->xfr_wait) {
        size_t mlen = ((size_t)c->in[off] << 8) | c->in[off + 1];
        if (c->in_len - off - 2 < mlen)
            break;
        if (c->out_len - c->out_off >= s->opts.max_pending) {
            c->paused = 1; /* resume once the client reads its replies */
            break;
        }
        if (s->xfr && tcpio_is_xfr(c->in + off + 2, mlen)) {
            char host[INET6_ADDRSTRLEN] = "";
            uint16_t port = 0;
            if (c->peer.ss_family == AF_INET) {
                const struct sockaddr_in *a = (const struct sockaddr_in *)&c->peer;
                inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
                port = ntohs(a->sin_port);
            } else if (c->peer.ss_family == AF_INET6) {
                const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&c->peer;
                inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
                port = ntohs(a->sin6_port);
            }
            c->xfr_wait = 1;
            STAT_ADD(s->stats.queries, 1);
            STAT_ADD(s->stats.xfr, 1);
            s->xfr(s->xfr_ctx, (uint32_t)(c - s->conns), c->gen, c->in + off + 2, mlen, host,
                   port);
            off += 2 + mlen;
            break;
        }
        size_t rlen = s->slot->answer(s->image, c->in + off + 2, mlen, s->scratch + 2,
                                      ZF_TCP_MAX_MSG, &ctx);
        off += 2 + mlen;
        STAT_ADD(s->stats.queries, 1);
        if (s->counters && rlen && rlen <= ZF_TCP_MAX_MSG)
            zf_stats_record(s->counters, ctx.src, 1, c->in + off - mlen, mlen, s->scratch + 2,
                            rlen);
        if (deferred) { /* the recursive fallback replies on this connection, in order */
            deferred = 0;
            if (zf_defer_push(s->defer, c->in + off - mlen, mlen, ctx.src, sizeof(c->peer), -1, s,
                              (uint32_t)(c - s->conns), c->gen) == 0) {
                c->xfr_wait = 1;
                break;
            }
            rlen = zf_defer_servfail(c->in + off - mlen, mlen, s->scratch + 2, ZF_TCP_MAX_MSG);
        }
        if (rlen == 0 || rlen > ZF_TCP_MAX_MSG) {
            STAT_ADD(s->stats.dropped, 1);
            continue;
        }
        s->scratch[0] = (uint8_t)(rlen >> 8);
        s->scratch[1] = (uint8_t)rlen;
        if (out_reserve(c, 2 + rlen) != 0)
            return -1;
        ZF_ASSERT(rlen > 0 && rlen <= ZF_TCP_MAX_MSG);
        memcpy(c->out + c->out_len, s->scratch, 2 + rlen);
        c->out_len += 2 + rlen;
        STAT_ADD(s->stats.responses, 1);
    }
    if (off) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
    if (c->in_len >= 2) {
        /* make room for the whole pending message so the next read can finish it */
        size_t need = 2 + (((size_t)c->in[0] << 8) | c->in[1]);
        if (need > c->in_cap) {
            uint8_t *p = realloc(c->in, need);
            if (!p)
                return -1;
            c->in = p;
            c->in_cap = need;
        }
    }
    return 0;
}

/* Writes queued replies.  Returns -1 on a hard error. */
static int flush(zf_tcp_server_t *s, conn_t *c, uint64_t now)
{
    while (c->out_len > c->out_off) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w > 0) {
            c->out_off += (size_t)w;
            touch(s, c, now);
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        return -1;
    }
    c->out_off = c->out_len = 0;
    return 0;
}

/* Reads, answers, writes; closes the connection when it is finished. */
static void serve(zf_tcp_server_t *s, conn_t *c, uint32_t events, uint64_t now)
{
    if ((events & (EPOLLHUP | EPOLLERR)) && c->xfr_wait)
        goto close; /* the transfer would go nowhere; its reply is dropped by gen */
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->paused && !c->eof && !c->xfr_wait) {
        if (!c->in) {
            c->in = malloc(IN_INITIAL);
            if (!c->in)
                goto close;
            c->in_cap = IN_INITIAL;
        }
        ssize_t r;
        do {
            r = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
        } while (r < 0 && errno == EINTR);
        if (r > 0) {
            c->in_len += (size_t)r;
            touch(s, c, now);
        } else if (r == 0) {
            c->eof = 1;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
            goto close; /* ECONNRESET and friends: replies would go nowhere */
        }
        if (process(s, c) != 0)
            goto close;
    }
    for (;;) {
        if (flush(s, c, now) != 0)
            goto close;
        if (!c->paused || c->out_len - c->out_off >= s->opts.max_pending)
            break;
        c->paused = 0; /* replies drained below the limit: answer what is buffered */
        if (process(s, c) != 0)
            goto close;
    }
    if (c->eof && c->out_len == c->out_off && !c->paused && !c->xfr_wait)
        goto close; /* a partial message after EOF can never complete */
    if (set_interest(s, c) != 0)
        goto close;
    return;
close:
    conn_close(s, c);
}

static void accept_all(zf_tcp_server_t *s, int lfd, uint64_t now)
{
    for (int k = 0; k < 64; k++) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof(peer);
        int fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
                STAT_ADD(s->stats.errors, 1);
            return;
        }
        if (!s->free_list) {
            /* At the cap: the least recently active connection makes room
             * (RFC 7766 s6.2.3 lets a busy server close idle connections). */
            STAT_ADD(s->stats.evicted, 1);
            conn_close(s, s->lru_head);
        }
        conn_t *c = s->free_list;
        s->free_list = c->next;
        memset(c, 0, sizeof(*c));
        c->fd = fd;
        c->gen = ++s->next_gen;
        c->peer = peer;
        c->events = EPOLLIN;
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct epoll_event e = {.events = EPOLLIN, .data.u64 = (uint64_t)(c - s->conns)};
        lru_append(s, c);
        c->last_ms = now;
        STAT_SET(s->stats.active, s->stats.active + 1);
        STAT_ADD(s->stats.accepted, 1);
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &e) != 0) {
            STAT_ADD(s->stats.errors, 1);
            conn_close(s, c);
        }
    }
}

/* Queues the slow path's replies on their connections and resumes them. */
static void xfr_collect(zf_tcp_server_t *s, uint64_t now)
{
    uint64_t v;
    ssize_t rd = read(s->xfrfd, &v, sizeof(v));
    (void)rd;
    pthread_mutex_lock(&s->xfr_lock);
    xfr_reply_t *r = s->xfr_head;
    s->xfr_head = s->xfr_tail = NULL;
    pthread_mutex_unlock(&s->xfr_lock);
    while (r) {
        xfr_reply_t *next = r->next;
        conn_t *c = r->conn < (uint32_t)s->opts.max_connections ? &s->conns[r->conn] : NULL;
        if (c && c->fd >= 0 && c->gen == r->gen && c->xfr_wait) {
            c->xfr_wait = 0;
            touch(s, c, now);
            if (r->len == 0) {
                conn_close(s, c);
            } else if (c->out_len == c->out_off && c->out_cap < r->len) {
                free(c->out); /* the common case: hand the buffer over, no copy */
                c->out = r->buf;
                c->out_cap = c->out_len = r->len;
                c->out_off = 0;
                r->buf = NULL;
            } else if (out_reserve(c, r->len) == 0) {
                memcpy(c->out + c->out_len, r->buf, r->len);
                c->out_len += r->len;
            } else {
                conn_close(s, c);
            }
            if (c->fd >= 0) {
                STAT_ADD(s->stats.responses, 1);
                if (process(s, c) != 0) /* queries that arrived behind the transfer */
                    conn_close(s, c);
                else
                    serve(s, c, 0, now);
            }
        }
        free(r->buf);
        free(r);
        r = next;
    }
}

static void expire_idle(zf_tcp_server_t *s, uint64_t now)
{
    /* a connection waiting for the slow path is busy, not idle */
    for (uint64_t k = __atomic_load_n(&s->stats.active, __ATOMIC_RELAXED);
         k > 0 && s->lru_head && s->lru_head->xfr_wait; k--)
        touch(s, s->lru_head, now);
    while (s->lru_head && now - s->lru_head->last_ms >= (uint64_t)s->opts.idle_timeout_ms) {
        STAT_ADD(s->stats.closed_idle, 1);
        conn_close(s, s->lru_head);
    }
}

static inline int should_stop(zf_tcp_server_t *s)
{
    return atomic_load_explicit(&s->stop, memory_order_relaxed) || zf_slot_stopped(s->slot);
}

int tcpio_server_run(zf_tcp_server_t *s)
{
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0)
        return -errno;
    int rc = 0;
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = EV_WAKE};
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->wakefd, &e) != 0) {
        rc = -errno;
        goto out;
    }
    e.events = EPOLLIN;
    e.data.u64 = EV_XFR;
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->xfrfd, &e) != 0) {
        rc = -errno;
        goto out;
    }
    for (int i = 0; i < s->nlisten; i++) {
        /* EPOLLEXCLUSIVE: several TCP threads may share a listener without
         * all waking for each connection. */
        e.events = EPOLLIN | EPOLLEXCLUSIVE;
        e.data.u64 = EV_LISTEN + (uint64_t)i;
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listen_fds[i], &e) != 0) {
            rc = -errno;
            goto out;
        }
    }
    s->reader = zf_slot_register(s->slot);
    if (s->reader < 0) {
        rc = -ENOSPC;
        goto out;
    }

    struct epoll_event evs[MAX_EVENTS];
    while (!should_stop(s)) {
        /* Sleep until the next idle deadline, but wake at least every 100 ms
         * to notice zf_slot_stop(), which has no file descriptor. */
        int timeout = 100;
        uint64_t now = now_ms();
        if (s->lru_head) {
            uint64_t due = s->lru_head->last_ms + (uint64_t)s->opts.idle_timeout_ms;
            uint64_t left = due > now ? due - now : 0;
            if (left < (uint64_t)timeout)
                timeout = (int)left;
        }
        int n = epoll_wait(s->epfd, evs, MAX_EVENTS, timeout);
        if (n < 0 && errno != EINTR) {
            rc = -errno;
            break;
        }
        now = now_ms();
        if (n > 0) {
            s->image = zf_slot_enter(s->slot, s->reader);
            if (s->counters)
                zf_stats_tick(s->counters);
            uint64_t x = s->rng;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            s->rng = x;
            s->seed = (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
            for (int i = 0; i < n; i++) {
                uint64_t tag = evs[i].data.u64;
                if (tag == EV_WAKE) {
                    uint64_t v;
                    ssize_t r = read(s->wakefd, &v, sizeof(v));
                    (void)r;
                } else if (tag == EV_XFR) {
                    xfr_collect(s, now);
                } else if (tag >= EV_LISTEN) {
                    accept_all(s, s->listen_fds[tag - EV_LISTEN], now);
                } else {
                    conn_t *c = &s->conns[tag];
                    if (c->fd >= 0) /* may have been evicted earlier in this round */
                        serve(s, c, evs[i].events, now);
                }
            }
            zf_slot_leave(s->slot, s->reader);
            s->image = NULL;
        }
        expire_idle(s, now);
    }
out:
    while (s->lru_head)
        conn_close(s, s->lru_head);
    zf_slot_unregister(s->slot, s->reader);
    s->reader = -1;
    close(s->epfd);
    s->epfd = -1;
    return rc;
}
