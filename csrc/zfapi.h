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
} zf_qctx_t;

/* Answer one query of qlen bytes into resp (capacity cap, at least 512;
 * 65535 for TCP).  Returns the response length, or 0 to send nothing. */
typedef size_t (*zf_answer_fn)(const void *image, const uint8_t *query, size_t qlen,
                               uint8_t *resp, size_t cap, const zf_qctx_t *ctx);

#endif
