/* zfstats.h: per-worker counters and the per-worker query record ring.
 *
 * Every UDP worker and TCP thread owns one zf_stats_t and is its only
 * writer: increments are plain adds into arrays indexed by small ints, no
 * atomics and no sharing between cores (each block sits on its own cache
 * lines).  A scrape reads them racily and sums across workers; a 64-bit
 * aligned load never tears on the machines we run on, and a counter a scrape
 * misses by one batch shows up in the next.
 *
 * The ring (zf_ring_t) carries one record per answered query to the query
 * log and dnstap sinks: single producer (the worker), single consumer (the
 * drain thread), so the only ordering needed is release on head/tail.  A
 * full ring drops the record and counts it; the worker never waits.
 *
 * Plain C, no Python.h; engine_answer (core/_engine.pyx) counts answers,
 * the loops (udpio.c, tcpio.c) count batches and write the records.
 */
#ifndef ZF_STATS_H
#define ZF_STATS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "zfrecs.h"

/* qtype buckets: the common types, then "other" (labels in dataplane/metrics.py) */
#define ZF_ST_QTYPES 16
#define ZF_ST_QT_OTHER 15
/* rcode buckets: 0..6 as themselves, 7 = BADVERS (16) or anything else */
#define ZF_ST_RCODES 8
/* zone slots: public zone rows 0..ZF_ST_ZONE_OTHER-1; rows beyond share
 * "other"; answers from a private view share "private"; no zone: "none" */
#define ZF_ST_ZONES 1024
#define ZF_ST_ZONE_OTHER 1021
#define ZF_ST_ZONE_PRIVATE 1022
#define ZF_ST_ZONE_NONE 1023
/* the ring's zone field when there is no public row */
#define ZF_ZONE_ID_PRIVATE 0xFFFFFFFEu
#define ZF_ZONE_ID_NONE 0xFFFFFFFFu
#define ZF_ZONE_ID_OTHER 0xFFFFFFFDu
#define ZF_ST_KINDS 9          /* routing policy kinds, K_* of snapshot/policy.py */
#define ZF_ST_CANDS 4096       /* candidates (cands index) counted one by one */
#define ZF_ST_VIEWS 64         /* private views counted one by one; more share the last */
#define ZF_ST_BATCH_BUCKETS 12 /* UDP batch sizes: <=1, <=2, <=4 ... <=1024, more */

/* ring record header; the query's bytes follow, then (if rlen) the response's */
typedef struct zf_qrec {
    uint32_t size;       /* whole record in octets, 8-aligned; 0 = wrap marker */
    uint32_t zone;       /* zone row in the public image, or ZF_ST_ZONE_* */
    uint64_t ts_us;      /* CLOCK_REALTIME, microseconds (one reading per batch) */
    uint8_t tcp;         /* 1 over TCP */
    uint8_t family;      /* 4 or 6 (0: unknown source) */
    uint16_t port;       /* source port, host order */
    uint16_t qlen;       /* query octets that follow */
    uint16_t rlen;       /* response octets after them (0 unless full messages are kept) */
    uint8_t addr[16];    /* source address (IPv4 in the first four octets) */
    uint16_t dport;      /* the port the query arrived on */
    uint8_t pad[6];
} zf_qrec_t;

/* per public zone row: 1 = write its queries to the ring (query logging) */
typedef struct zf_rows {
    uint32_t n;
    uint8_t on[];
} zf_rows_t;

typedef struct zf_ring {
    _Alignas(64) _Atomic uint64_t head; /* producer: octets written, ever */
    _Alignas(64) _Atomic uint64_t tail; /* consumer: octets consumed, ever */
    _Alignas(64) uint64_t written;      /* records put (producer) */
    uint64_t dropped;                   /* records lost to a full ring (producer) */
    uint32_t cap;                       /* power of two */
    uint8_t full_messages;              /* also keep the response (dnstap) */
    uint8_t *buf;
} zf_ring_t;

typedef struct zf_stats {
    /* responses by zone slot, transport, qtype bucket, rcode bucket */
    uint64_t resp[ZF_ST_ZONES][2][ZF_ST_QTYPES][ZF_ST_RCODES];
    _Alignas(64) uint64_t tc[2];        /* answers sent with TC=1, per transport */
    uint64_t routed[ZF_ST_KINDS];       /* answers decided by a routing policy, by kind */
    uint64_t cand[ZF_ST_CANDS];         /* ... by chosen candidate (cands index) */
    uint64_t cand_other;                /* ... candidates beyond ZF_ST_CANDS */
    uint64_t view_hits[ZF_ST_VIEWS];    /* answers from a private view, by view index */
    uint64_t batch[ZF_ST_BATCH_BUCKETS]; /* UDP receive batch sizes */
    uint64_t batch_sum;                 /* datagrams over those batches */
    uint32_t nx_key[64];                /* cache: a zone's NXDOMAIN block ... */
    uint32_t nx_row[64];                /* ... -> its row (checked against the image on use) */
    uint32_t last_zone;                 /* the last answer's zone row, or ZF_ZONE_ID_* (ring) */
    uint32_t port;                      /* local port (the ring's dport) */
    uint64_t now_us;                    /* the loop's clock for ring records */
    /* set by Python while the loop runs: pointers swapped whole */
    _Atomic(zf_ring_t *) ring;          /* NULL: no records */
    _Atomic(const zf_rows_t *) log_rows; /* zone rows with query logging on, or NULL */
    _Atomic uint8_t log_all;            /* dnstap: every query, not only logged zones */
    _Atomic(zf_recs_t *) recs;          /* per-record counters (zfrecs.h), or NULL: off */
} zf_stats_t;

static inline unsigned zf_st_qtype(uint16_t qtype)
{
    switch (qtype) {
    case 1: return 0;   /* A */
    case 2: return 1;   /* NS */
    case 5: return 2;   /* CNAME */
    case 6: return 3;   /* SOA */
    case 12: return 4;  /* PTR */
    case 15: return 5;  /* MX */
    case 16: return 6;  /* TXT */
    case 28: return 7;  /* AAAA */
    case 33: return 8;  /* SRV */
    case 35: return 9;  /* NAPTR */
    case 43: return 10; /* DS */
    case 48: return 11; /* DNSKEY */
    case 65: return 12; /* HTTPS */
    case 257: return 13; /* CAA */
    case 255: return 14; /* ANY */
    default: return ZF_ST_QT_OTHER;
    }
}

/* One answer: what every dashboard starts from. */
static inline void zf_stats_answer(zf_stats_t *st, unsigned tcp, uint16_t qtype, unsigned rcode,
                                   uint32_t zone, unsigned tc)
{
    unsigned rc = rcode < 7 ? rcode : 7;
    uint32_t slot = zone;
    if (zone == ZF_ZONE_ID_NONE)
        slot = ZF_ST_ZONE_NONE;
    else if (zone == ZF_ZONE_ID_PRIVATE)
        slot = ZF_ST_ZONE_PRIVATE;
    else if (zone >= ZF_ST_ZONE_OTHER)
        slot = ZF_ST_ZONE_OTHER;
    st->resp[slot][tcp & 1][zf_st_qtype(qtype)][rc]++;
    st->tc[tcp & 1] += tc;
    st->last_zone = zone;
}

/* A routed answer; cand is the chosen candidate's cands index, or
 * 0xFFFFFFFF when no single one was (multivalue, no match). */
static inline void zf_stats_routed(zf_stats_t *st, unsigned kind, uint32_t cand)
{
    st->routed[kind < ZF_ST_KINDS ? kind : 0]++;
    if (cand < ZF_ST_CANDS)
        st->cand[cand]++;
    else if (cand != 0xFFFFFFFFu)
        st->cand_other++;
}

/* The zone row whose NXDOMAIN block is nx (negatives: per row nodata, nx).
 * Only names whose node does not carry its row (CNAME owners, mostly) come
 * here; a small cache keeps the scan off the common case, and every hit is
 * checked against the image in hand, so a swap never misattributes. */
static inline uint32_t zf_stats_row_of_nx(zf_stats_t *st, const uint32_t *negatives, uint32_t nneg,
                                          uint32_t nx)
{
    unsigned k = (nx * 2654435761u) >> 26;
    uint32_t row = st->nx_row[k];
    if (st->nx_key[k] == nx && row < nneg && negatives[2 * row + 1] == nx)
        return row;
    for (row = 0; row < nneg; row++)
        if (negatives[2 * row + 1] == nx) {
            st->nx_key[k] = nx;
            st->nx_row[k] = row;
            return row;
        }
    return ZF_ZONE_ID_OTHER; /* not a zone's block: counted under "other" */
}

/* The per-record table when --metrics-per-record is on, else NULL: the
 * engine tests this before it works out the owner to count. */
static inline zf_recs_t *zf_stats_recs(zf_stats_t *st)
{
    return atomic_load_explicit(&st->recs, memory_order_relaxed);
}

static inline void zf_stats_set_recs(zf_stats_t *st, zf_recs_t *t)
{
    atomic_store_explicit(&st->recs, t, memory_order_release);
}

static inline void zf_stats_view(zf_stats_t *st, uint32_t view)
{
    st->view_hits[view < ZF_ST_VIEWS ? view : ZF_ST_VIEWS - 1]++;
}

static inline void zf_stats_batch(zf_stats_t *st, unsigned n)
{
    unsigned b = 0;
    while (b < ZF_ST_BATCH_BUCKETS - 1 && (1u << b) < n)
        b++;
    st->batch[b]++;
    st->batch_sum += n;
}

static inline uint64_t zf_stats_clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Called by a loop once per batch: the ring's timestamp. */
static inline void zf_stats_tick(zf_stats_t *st)
{
    if (atomic_load_explicit(&st->ring, memory_order_relaxed))
        st->now_us = zf_stats_clock_us();
}

/* ---- ring ------------------------------------------------------------ */

static inline zf_ring_t *zf_ring_new(uint32_t cap, int full_messages)
{
    uint32_t c = 4096;
    while (c < cap && c < (1u << 30))
        c <<= 1;
    zf_ring_t *r = aligned_alloc(64, sizeof(zf_ring_t));
    if (!r)
        return NULL;
    memset(r, 0, sizeof(*r));
    r->buf = malloc(c);
    if (!r->buf) {
        free(r);
        return NULL;
    }
    r->cap = c;
    r->full_messages = (uint8_t)(full_messages != 0);
    return r;
}

static inline void zf_ring_free(zf_ring_t *r)
{
    if (r) {
        free(r->buf);
        free(r);
    }
}

/* Producer: one record, or a counted drop when it does not fit. */
static inline void zf_ring_put(zf_ring_t *r, zf_stats_t *st, const struct sockaddr *src,
                               unsigned tcp, const uint8_t *q, size_t qlen, const uint8_t *resp,
                               size_t rlen)
{
    if (!r->full_messages)
        rlen = 0;
    if (qlen > 65535 || rlen > 65535) {
        r->dropped++;
        return;
    }
    uint32_t size = (uint32_t)((sizeof(zf_qrec_t) + qlen + rlen + 7) & ~(size_t)7);
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    uint32_t pos = (uint32_t)(head & (r->cap - 1));
    uint32_t room_end = r->cap - pos; /* contiguous octets before the wrap */
    uint64_t need = size + (room_end < size ? room_end : 0);
    if (size > r->cap / 2 || head + need - tail > r->cap) {
        r->dropped++;
        return;
    }
    if (room_end < size) { /* a wrap marker, then start over at 0 */
        if (room_end >= 4)
            memset(r->buf + pos, 0, 4);
        head += room_end;
        pos = 0;
    }
    zf_qrec_t *h = (zf_qrec_t *)(r->buf + pos);
    h->size = size;
    h->zone = st->last_zone;
    h->ts_us = st->now_us;
    h->tcp = (uint8_t)tcp;
    h->qlen = (uint16_t)qlen;
    h->rlen = (uint16_t)rlen;
    h->dport = (uint16_t)st->port;
    h->family = 0;
    h->port = 0;
    if (src && src->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)src;
        h->family = 4;
        memcpy(h->addr, &a->sin_addr, 4);
        h->port = ntohs(a->sin_port);
    } else if (src && src->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)src;
        h->family = 6;
        memcpy(h->addr, &a->sin6_addr, 16);
        h->port = ntohs(a->sin6_port);
    }
    memcpy(r->buf + pos + sizeof(zf_qrec_t), q, qlen);
    if (rlen)
        memcpy(r->buf + pos + sizeof(zf_qrec_t) + qlen, resp, rlen);
    r->written++;
    atomic_store_explicit(&r->head, head + size, memory_order_release);
}

/* The loops' hook after an answer: a record when a sink wants this query. */
static inline void zf_stats_record(zf_stats_t *st, const struct sockaddr *src, unsigned tcp,
                                   const uint8_t *q, size_t qlen, const uint8_t *resp,
                                   size_t rlen)
{
    zf_ring_t *r = atomic_load_explicit(&st->ring, memory_order_acquire);
    if (!r)
        return;
    if (!atomic_load_explicit(&st->log_all, memory_order_relaxed)) {
        uint32_t z = st->last_zone;
        const zf_rows_t *rows = atomic_load_explicit(&st->log_rows, memory_order_acquire);
        if (!rows || z >= rows->n || !rows->on[z])
            return;
    }
    zf_ring_put(r, st, src, tcp, q, qlen, resp, rlen);
}

/* Python's side, while the loop runs: whole pointers, swapped atomically. */
static inline void zf_stats_set_ring(zf_stats_t *st, zf_ring_t *r)
{
    atomic_store_explicit(&st->ring, r, memory_order_release);
}

/* rows: a zf_rows_t the caller keeps alive as long as any loop may read it */
static inline void zf_stats_set_rows(zf_stats_t *st, const void *rows)
{
    atomic_store_explicit(&st->log_rows, (const zf_rows_t *)rows, memory_order_release);
}

static inline void zf_stats_set_log_all(zf_stats_t *st, int on)
{
    atomic_store_explicit(&st->log_all, (uint8_t)(on != 0), memory_order_release);
}

static inline zf_stats_t *zf_stats_new(void)
{
    zf_stats_t *st = aligned_alloc(64, (sizeof(zf_stats_t) + 63) & ~(size_t)63);
    if (st)
        memset(st, 0, sizeof(*st));
    return st;
}

/* Consumer: copies up to cap octets of whole records into out (wrap markers
 * removed) and frees their room; returns the octets copied. */
static inline size_t zf_ring_take(zf_ring_t *r, uint8_t *out, size_t cap)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    size_t n = 0;
    while (tail < head) {
        uint32_t pos = (uint32_t)(tail & (r->cap - 1));
        uint32_t room_end = r->cap - pos;
        uint32_t size = room_end >= 4 ? *(const uint32_t *)(r->buf + pos) : 0;
        if (size == 0 || size > room_end) { /* wrap marker */
            tail += room_end;
            continue;
        }
        if (n + size > cap)
            break;
        memcpy(out + n, r->buf + pos, size);
        n += size;
        tail += size;
    }
    atomic_store_explicit(&r->tail, tail, memory_order_release);
    return n;
}

#endif
