/* tcpio.c: DNS over TCP (RFC 7766): epoll loop, 2-byte length framing,
 * pipelined queries answered in order, idle timeout, connection cap. */
#define _GNU_SOURCE
#include "tcpio.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
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
#define EV_LISTEN (UINT64_MAX - 1 - MAX_LISTEN) /* + listener index */

typedef struct conn {
    int fd;               /* -1 while on the free list */
    uint32_t events;      /* interest currently registered with epoll */
    uint8_t eof;          /* peer shut down its sending side */
    uint8_t paused;       /* too much queued output: not reading */
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
    _Alignas(64) zf_tcp_stats_t stats;
};

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
    s->conns = calloc((size_t)s->opts.max_connections, sizeof(conn_t));
    s->scratch = malloc(2 + ZF_TCP_MAX_MSG);
    if (s->wakefd < 0 || !s->conns || !s->scratch) {
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
    if (!c->paused && !c->eof)
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
    while (c->in_len - off >= 2) {
        size_t mlen = ((size_t)c->in[off] << 8) | c->in[off + 1];
        if (c->in_len - off - 2 < mlen)
            break;
        if (c->out_len - c->out_off >= s->opts.max_pending) {
            c->paused = 1; /* resume once the client reads its replies */
            break;
        }
        size_t rlen = s->slot->answer(s->image, c->in + off + 2, mlen, s->scratch + 2,
                                      ZF_TCP_MAX_MSG, &ctx);
        off += 2 + mlen;
        STAT_ADD(s->stats.queries, 1);
        if (rlen == 0 || rlen > ZF_TCP_MAX_MSG) {
            STAT_ADD(s->stats.dropped, 1);
            continue;
        }
        s->scratch[0] = (uint8_t)(rlen >> 8);
        s->scratch[1] = (uint8_t)rlen;
        if (out_reserve(c, 2 + rlen) != 0)
            return -1;
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
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->paused && !c->eof) {
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
    if (c->eof && c->out_len == c->out_off && !c->paused)
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

static void expire_idle(zf_tcp_server_t *s, uint64_t now)
{
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
