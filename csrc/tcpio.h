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

#endif
