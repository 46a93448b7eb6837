/* udpio.h: UDP socket helpers, the recvmmsg/sendmmsg worker loop, and the
 * RCU image slot shared by the UDP and TCP loops.
 *
 * Plain C, no Python.h.  The loops call a zf_answer_fn (zfapi.h) per query
 * with the GIL released; Python only starts, stops and swaps.
 */
#ifndef ZF_UDPIO_H
#define ZF_UDPIO_H

#include <stdatomic.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/socket.h>

#include "zfapi.h"
#include "rrl.h"
#include "zfstats.h"

#define ZF_CACHELINE 64

/* ------------------------------------------------------------------------
 * RCU image slot
 *
 * Readers (UDP workers, TCP threads) are quiescent-state based: a reader is
 * "online" only between loading the image pointer and finishing the batch it
 * answers with it, and "offline" (seen == ZF_READER_OFFLINE) while blocked in
 * recvmmsg/epoll_wait.  zf_slot_swap() stores the new pointer, bumps the
 * generation, then waits until every registered reader is offline or has
 * observed the new generation; after that nobody can hold the old pointer.
 * All accesses are seq_cst: the swap's "store image, bump gen, read seen" and
 * the reader's "read gen, store seen, read image" must not reorder.
 * ------------------------------------------------------------------------ */

#define ZF_SLOT_MAX_READERS 256
#define ZF_READER_OFFLINE 0 /* generations start at 1 */

typedef struct zf_reader {
    _Alignas(ZF_CACHELINE) _Atomic uint64_t seen; /* generation observed, or OFFLINE */
    _Atomic int used;                              /* 1 while a loop owns this record */
} zf_reader_t;

typedef struct zf_slot {
    _Atomic(const void *) image;  /* current compiled image (opaque) */
    _Atomic uint64_t gen;         /* bumped by every swap; starts at 1 */
    _Atomic int stop;             /* set once: every loop on this slot returns */
    zf_answer_fn answer;          /* fixed for the slot's life */
    zf_prefetch_fn prefetch;      /* optional (NULL), set before any loop runs */
    pthread_mutex_t lock;         /* serialises swaps and reader registration */
    zf_reader_t readers[ZF_SLOT_MAX_READERS];
} zf_slot_t;

zf_slot_t *zf_slot_new(zf_answer_fn answer, const void *image);
void zf_slot_set_prefetch(zf_slot_t *s, zf_prefetch_fn prefetch);
void zf_slot_free(zf_slot_t *s);
/* Returns 0 once no reader can hold the previous image, -1 if timeout_ms
 * passed first (the old image must then be kept until zf_slot_quiesced()). */
int zf_slot_swap(zf_slot_t *s, const void *image, int timeout_ms);
/* 1 if every live reader is offline or has observed generation >= gen. */
int zf_slot_quiesced(zf_slot_t *s, uint64_t gen);
uint64_t zf_slot_generation(zf_slot_t *s);
void zf_slot_stop(zf_slot_t *s);
int zf_slot_stopped(zf_slot_t *s);

/* Reader side, used by the loops.  register returns -1 when all records are taken. */
int zf_slot_register(zf_slot_t *s);
void zf_slot_unregister(zf_slot_t *s, int reader);

static inline const void *zf_slot_enter(zf_slot_t *s, int reader)
{
    uint64_t g = atomic_load(&s->gen);
    atomic_store(&s->readers[reader].seen, g);
    return atomic_load(&s->image);
}

static inline void zf_slot_leave(zf_slot_t *s, int reader)
{
    atomic_store(&s->readers[reader].seen, (uint64_t)ZF_READER_OFFLINE);
}

/* ------------------------------------------------------------------------
 * Sockets
 * ------------------------------------------------------------------------ */

/* Parses host (IPv4 or IPv6 literal, "" = 0.0.0.0) into ss; returns its
 * length or 0 if it is not an address literal. */
socklen_t zf_sockaddr_parse(const char *host, uint16_t port, struct sockaddr_storage *ss);
/* Bound port of fd, or -1. */
int zf_socket_port(int fd);

/* A bound UDP socket with SO_REUSEPORT, big buffers (bufsize bytes, 0 = 4 MiB),
 * IPV6_V6ONLY for IPv6 and a receive timeout of rcvtimeo_ms so blocked loops
 * notice stop requests.  Returns the fd, or -errno. */
int udpio_open(const char *host, uint16_t port, int bufsize, int rcvtimeo_ms);

/* ------------------------------------------------------------------------
 * UDP worker
 * ------------------------------------------------------------------------ */

#define ZF_UDP_RX_SIZE 4096 /* bigger datagrams arrive MSG_TRUNC and are dropped */
#define ZF_UDP_TX_SIZE 4096 /* cap given to the engine; it enforces the EDNS size */
#define ZF_UDP_MAX_BATCH 1024

/* Force the portable recvfrom/sendto path even where recvmmsg exists. */
#define ZF_UDP_NO_MMSG 1

/* Written only by the worker (relaxed atomics), read by anyone. */
typedef struct zf_udp_stats {
    uint64_t queries;   /* datagrams received */
    uint64_t responses; /* datagrams sent */
    uint64_t dropped;   /* no answer, truncated on receive, or send failed */
    uint64_t batches;   /* receive calls that returned data */
    uint64_t errors;    /* unexpected receive/send errors */
    uint64_t rrl_dropped; /* answers rate limited away (also counted in dropped) */
    uint64_t rrl_slipped; /* rate limited answers sent as TC=1 (counted in responses) */
} zf_udp_stats_t;

typedef struct zf_udp_worker zf_udp_worker_t;

zf_udp_worker_t *udpio_worker_new(int fd, zf_slot_t *slot, unsigned batch, int flags);
void udpio_worker_free(zf_udp_worker_t *w);
/* Blocks until udpio_worker_stop() or zf_slot_stop(); returns 0, or -errno
 * if the socket failed for good (EBADF, ENOTSOCK ...). */
int udpio_worker_run(zf_udp_worker_t *w);
/* Applies Response Rate Limiting (rrl.h) to this worker's replies, or stops
 * when rrl is NULL.  The caller owns rrl, and sets it only while the worker
 * is not running; the worker is its only user then. */
void udpio_worker_set_rrl(zf_udp_worker_t *w, rrl_t *rrl);
/* Counts answers, batches and routing decisions into st (zfstats.h), and
 * writes query records to st's ring when a sink has set one; NULL stops.
 * Same rules as set_rrl: only while the worker is not running. */
void udpio_worker_set_counters(zf_udp_worker_t *w, zf_stats_t *st);
/* Hands queries the engine defers (zfapi.h zf_qctx_t.defer) to q, or
 * answers them NXDOMAIN when q is NULL; same rules as set_rrl. */
struct zf_defer_q;
void udpio_worker_set_defer(zf_udp_worker_t *w, struct zf_defer_q *q);
void udpio_worker_stop(zf_udp_worker_t *w);
/* Wakes every loop blocked in a receive on fd at once; for shutdown only,
 * since the socket then reads as empty forever. */
void udpio_wake(int fd);
void udpio_worker_stats(const zf_udp_worker_t *w, zf_udp_stats_t *out);
/* 1 if this build has recvmmsg/sendmmsg. */
int udpio_have_mmsg(void);

#endif
