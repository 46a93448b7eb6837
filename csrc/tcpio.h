/* tcpio.h: DNS over TCP (RFC 7766) with epoll: length framing, pipelining,
 * idle timeouts and a connection cap.  Plain C; runs with the GIL released. */
#ifndef ZF_TCPIO_H
#define ZF_TCPIO_H

#include <stddef.h>
#include <stdint.h>

#include "udpio.h"

#define ZF_TCP_MAX_MSG 65535

typedef struct zf_tcp_opts {
    int idle_timeout_ms;  /* close a connection with no traffic for this long (RFC 7766 s6.2.3) */
    int max_connections;  /* beyond it the least recently active connection is closed */
    size_t max_pending;   /* queued reply bytes per connection before we stop reading it */
} zf_tcp_opts_t;

/* Written only by the TCP thread (relaxed atomics), read by anyone. */
typedef struct zf_tcp_stats {
    uint64_t accepted;    /* connections accepted */
    uint64_t active;      /* connections open now */
    uint64_t queries;     /* framed messages handed to the engine */
    uint64_t responses;   /* replies queued */
    uint64_t dropped;     /* queries the engine answered with nothing */
    uint64_t closed_idle; /* closed by the idle timeout */
    uint64_t evicted;     /* closed to make room under the connection cap */
    uint64_t errors;      /* accept/read/write failures */
    uint64_t xfr;         /* messages handed to the zone-transfer slow path */
} zf_tcp_stats_t;

typedef struct zf_tcp_server zf_tcp_server_t;

/* A listening TCP socket (SO_REUSEADDR, IPV6_V6ONLY, non-blocking).
 * Returns the fd, or -errno. */
int tcpio_listen(const char *host, uint16_t port, int backlog);

/* listen_fds stay owned by the caller.  opts may be NULL for the defaults
 * (10 s idle, 1000 connections, 256 KiB pending output). */
zf_tcp_server_t *tcpio_server_new(const int *listen_fds, int nfds, zf_slot_t *slot,
                                  const zf_tcp_opts_t *opts);
void tcpio_server_free(zf_tcp_server_t *s);
/* Blocks until tcpio_server_stop() or zf_slot_stop(); closes every client
 * connection before it returns.  0, or -errno on setup failure. */
int tcpio_server_run(zf_tcp_server_t *s);
/* Async-signal-safe; wakes the loop at once. */
void tcpio_server_stop(zf_tcp_server_t *s);
void tcpio_server_stats(const zf_tcp_server_t *s, zf_tcp_stats_t *out);
/* This thread's counters and query records (zfstats.h), or NULL; set only
 * while the server is not running. */
void tcpio_server_set_counters(zf_tcp_server_t *s, zf_stats_t *st);

/* Zone transfers are a slow path outside the engine.  With a callback set,
 * a framed QUERY for AXFR or IXFR, or a TSIG-signed SOA query (a secondary's
 * refresh check), is not answered by the engine: the loop calls xfr() (on the
 * TCP thread, inside its RCU read section: it must only queue the work and
 * return), stops reading that connection and answers nothing more on it until
 * tcpio_xfr_done() hands back the replies, so pipelined answers stay in order.
 * host is the peer's address literal. */
typedef void (*zf_xfr_fn)(void *ctx, uint32_t conn, uint32_t gen, const uint8_t *query,
                          size_t qlen, const char *host, uint16_t port);
/* Before tcpio_server_run(); fn NULL turns the slow path off. */
void tcpio_server_set_xfr(zf_tcp_server_t *s, zf_xfr_fn fn, void *ctx);
/* From any thread.  Takes ownership of buf (malloc'd, framed replies back to
 * back, len octets); buf NULL or len 0 closes the connection.  A reply for a
 * connection closed meanwhile (gen moved on) is freed unsent. */
void tcpio_xfr_done(zf_tcp_server_t *s, uint32_t conn, uint32_t gen, uint8_t *buf, size_t len);
/* Queries the engine defers (zfapi.h zf_qctx_t.defer) go to q (zfdefer.h)
 * with this server, the connection and its gen; the connection then waits
 * as for a transfer until tcpio_xfr_done() brings the reply.  NULL: the
 * engine answers them NXDOMAIN.  Before tcpio_server_run(). */
struct zf_defer_q;
void tcpio_server_set_defer(zf_tcp_server_t *s, struct zf_defer_q *q);
/* 1 when the framed message (without its length prefix) goes to the slow path. */
int tcpio_is_xfr(const uint8_t *m, size_t len);

#endif
