/* zfapi.h: the contract between the compiled answer engine and the socket loops.
 *
 * The engine (src/zonefront/core/_engine.pyx) exposes one function of type
 * zf_answer_fn; the loops in udpio.c / tcpio.c call it per query with the GIL
 * released.  The image pointer is opaque here: a compiled zone set that is
 * immutable while any worker may read it (swapped RCU-style, see udpio.h).
 */
#ifndef ZF_API_H
#define ZF_API_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct zf_qctx {
    const struct sockaddr *src; /* query source: sockaddr_in or sockaddr_in6 */
    uint32_t seed;              /* per-batch randomness for routing policies */
    uint8_t tcp;                /* 1 over TCP: the 64 KiB limit, not the UDP one */
    struct zf_stats *stats;     /* the calling loop's counters (zfstats.h), or NULL */
    const struct zf_hint *hint; /* this query's prefetch stages' result, or NULL */
    uint8_t *defer;             /* NULL: answer everything; else the engine sets *defer = 1 and
                                 * returns 0 for a query the recursive fallback answers (zfdefer.h) */
} zf_qctx_t;

/* Answer one query of qlen bytes into resp (capacity cap, at least 512;
 * 65535 for TCP).  Returns the response length, or 0 to send nothing. */
typedef size_t (*zf_answer_fn)(const void *image, const uint8_t *query, size_t qlen,
                               uint8_t *resp, size_t cap, const zf_qctx_t *ctx);

/* Optional, per slot: warms the cache lines a query's answer will read, so a
 * batch overlaps its memory misses instead of taking them one query after
 * another.  The loop calls it with stage 0, 1, 2, then 3 for every query of
 * a batch before answering any; `hint` carries state between the stages.  It
 * only reads the image and never changes an answer.  Stage 0 walks, folds
 * and hashes the qname once for the batch: a loop that ran the stages hands
 * the hint to the answer (zf_qctx_t.hint), which then takes the name and
 * hash from it instead of folding and hashing again. */
typedef struct zf_hint {
    uint32_t hash;      /* of the lower-cased qname */
    uint32_t ref;       /* stage 1: the node; stage 2: a policy set; 0xFFFFFFFF none */
    uint16_t qname_len; /* 0: nothing to warm for this query (and no key) */
    uint16_t qtype;
    uint8_t key[256];   /* the qname lower-cased, qname_len octets */
} zf_hint_t;

typedef void (*zf_prefetch_fn)(const void *image, const uint8_t *query, size_t qlen,
                               zf_hint_t *hint, int stage);

#define ZF_PREFETCH_STAGES 4

#endif
