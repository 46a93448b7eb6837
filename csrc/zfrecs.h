/* zfrecs.h: per-record answer counters (issue 21, `--metrics-per-record`).
 *
 * One table per worker (hung off its zf_stats_t), written by that worker
 * only: plain adds, no atomics on the count path.  A slot is keyed by a
 * 64-bit hash of (owner name, qtype), where the owner is the node that
 * answered: the query name when it exists, or the wildcard that synthesised
 * the answer.  The key is the name itself, not a node offset, so an image
 * swap (new offsets, new zone rows) keeps counting into the same slot, and a
 * scrape names each slot from the owner stored beside it.
 *
 * Cardinality is bounded: a table has a fixed number of slots (a power of
 * two) and stops taking new names at 3/4 full or after ZF_RECS_PROBES
 * probes; answers that find no slot are counted in `overflow`.  Only names
 * that exist in a zone get a slot (NXDOMAIN, REFUSED and referrals below a
 * cut do not), so a random-subdomain flood cannot fill it unless a wildcard
 * covers the names, and then they all share the wildcard's slot.
 *
 * Publication: the worker writes a new slot's owner and qtype, then stores
 * its key with release order; a scrape loads the key with acquire order and
 * reads the counts racily (a 64-bit aligned load does not tear).  Two names
 * whose 64-bit hashes collide would share a slot (the first one's name);
 * with at most a few thousand slots that is about 2^-40 likely.
 *
 * Plain C, no Python.h.
 */
#ifndef ZF_RECS_H
#define ZF_RECS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ZF_RECS_RCODES 8  /* the rcode buckets of zfstats.h: 0..6, then 7 = other */
#define ZF_RECS_PROBES 16 /* linear probes before an answer counts as overflow */

typedef struct zf_rec_owner {
    uint16_t qtype;      /* the query's type */
    uint8_t len;         /* owner octets (wire form, lower case) */
    uint8_t pad;
    uint8_t name[256];   /* the owner, wire form, lower case */
} zf_rec_owner_t;

typedef struct zf_recs {
    uint32_t cap;               /* slots, a power of two */
    uint32_t used;              /* slots taken (the worker's count) */
    uint32_t limit;             /* used stops here: 3/4 of cap */
    uint32_t pad;
    uint64_t overflow;          /* answers that found no slot */
    _Atomic uint64_t *key;      /* per slot: 0 = free, else hash | 1 (release-stored) */
    uint64_t (*n)[ZF_RECS_RCODES]; /* per slot: answers by rcode bucket */
    zf_rec_owner_t *owner;      /* per slot: what the key stands for */
} zf_recs_t;

static inline zf_recs_t *zf_recs_new(uint32_t slots)
{
    uint32_t cap = 64;
    while (cap < slots && cap < (1u << 20))
        cap <<= 1;
    zf_recs_t *t = calloc(1, sizeof(zf_recs_t));
    if (!t)
        return NULL;
    t->key = calloc(cap, sizeof(uint64_t));
    t->n = calloc(cap, sizeof(*t->n));
    t->owner = calloc(cap, sizeof(zf_rec_owner_t));
    if (!t->key || !t->n || !t->owner) {
        free((void *)t->key);
        free(t->n);
        free(t->owner);
        free(t);
        return NULL;
    }
    t->cap = cap;
    t->limit = cap - cap / 4;
    return t;
}

static inline void zf_recs_free(zf_recs_t *t)
{
    if (t) {
        free((void *)t->key);
        free(t->n);
        free(t->owner);
        free(t);
    }
}

/* 64-bit word-at-a-time hash of the owner, with the qtype mixed in (the
 * zfhash.h scheme, kept 64 bits wide so slots need no name compare). */
static inline uint64_t zf_recs_hash(const uint8_t *p, unsigned n, uint16_t qtype)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)qtype << 16) ^ n;
    uint64_t w;
    while (n >= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    /* the tail (0-7 octets) in at most three fixed-size loads: a memcpy of
     * a variable length compiles to a byte loop (38 of ~120 instructions) */
    w = 0;
    if (n & 4) {
        uint32_t x;
        memcpy(&x, p, 4);
        w = x;
        p += 4;
    }
    if (n & 2) {
        uint16_t x;
        memcpy(&x, p, 2);
        w |= (uint64_t)x << ((n & 4) * 8);
        p += 2;
    }
    if (n & 1)
        w |= (uint64_t)p[0] << ((n & 6) * 8);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 29;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h | 1;
}

/* One answer for (owner, qtype) with this rcode. */
static inline void zf_recs_count(zf_recs_t *t, const uint8_t *owner, unsigned len,
                                 uint16_t qtype, unsigned rcode)
{
    uint64_t k = zf_recs_hash(owner, len, qtype);
    uint32_t mask = t->cap - 1, i = (uint32_t)(k >> 32) & mask, p;
    unsigned rc = rcode < 7 ? rcode : 7;
    for (p = 0; p < ZF_RECS_PROBES; p++, i = (i + 1) & mask) {
        uint64_t have = atomic_load_explicit(&t->key[i], memory_order_relaxed);
        if (have == k) {
            t->n[i][rc]++;
            return;
        }
        if (have == 0) {
            if (t->used >= t->limit || len > 255)
                break;
            zf_rec_owner_t *o = &t->owner[i];
            o->qtype = qtype;
            o->len = (uint8_t)len;
            memcpy(o->name, owner, len);
            t->n[i][rc] = 1;
            t->used++;
            atomic_store_explicit(&t->key[i], k, memory_order_release);
            return;
        }
    }
    t->overflow++;
}

/* Scrape side: slot i's owner and counts when it is taken (returns 1). */
static inline int zf_recs_slot(const zf_recs_t *t, uint32_t i, zf_rec_owner_t *owner,
                               uint64_t *counts)
{
    uint64_t k = atomic_load_explicit(&((zf_recs_t *)t)->key[i], memory_order_acquire);
    unsigned r;
    if (!k)
        return 0;
    *owner = t->owner[i];
    for (r = 0; r < ZF_RECS_RCODES; r++)
        counts[r] = ((volatile const uint64_t *)t->n[i])[r];
    return 1;
}

#endif
