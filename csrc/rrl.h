/* rrl.h: Response Rate Limiting for the UDP loop (in the spirit of BIND, NSD
 * and Knot RRL), so a spoofed source cannot turn the server into an amplifier.
 *
 * Plain C, no Python.h.  One table per UDP worker, touched only by that
 * worker's thread: no locks, no atomics, no allocation after rrl_new().
 *
 * A response is keyed by (client prefix, response class, qtype, lowercased
 * qname); each key has a token bucket holding at most rate * window responses
 * and refilled at rate per second from the clock read once per batch.  A
 * response that finds its bucket empty is "limited": every slip-th one goes out
 * as a bare TC=1 reply (header + question) so a real resolver behind that
 * address retries over TCP, the rest are dropped.  TCP is never limited.
 *
 * The per-packet path is static inline here so udpio.c needs no other object
 * file (tests/dataplane/rcu_stress.c builds udpio.c alone); creation and
 * configuration live in rrl.c.
 */
#ifndef ZF_RRL_H
#define ZF_RRL_H

#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "zfwire.h"

/* Response classes (BIND's "responses", "nodata"/"referrals", "nxdomains",
 * "errors"), each with buckets of its own so one cannot starve another. */
#define RRL_CLASS_POSITIVE 0 /* NOERROR with answers */
#define RRL_CLASS_NODATA 1   /* NOERROR without answers: NODATA and referrals */
#define RRL_CLASS_NXDOMAIN 2 /* NXDOMAIN */
#define RRL_CLASS_ERROR 3    /* any other rcode (REFUSED, FORMERR, SERVFAIL ...) */

/* rrl_account() verdicts. */
#define RRL_PASS 0  /* send the response as it is */
#define RRL_DROP 1  /* send nothing */
#define RRL_SLIP 2  /* the response was rewritten to a TC=1 reply; send that */

#define RRL_WAYS 4         /* entries per bucket set: 4 x 16 octets = one cache line */
#define RRL_UNIT 1000      /* tokens per response: refill is rate tokens per ms */
#define RRL_MAX_BURST 1000000 /* rate * window is capped here so tokens fit an int32 */

typedef struct rrl_config {
    uint32_t responses_per_second; /* refill rate of every bucket; > 0 */
    uint32_t slip;                 /* every slip-th limited response goes out TC=1; 0 = drop all */
    uint32_t window;               /* seconds of rate a bucket can hold (burst depth); >= 1 */
    uint8_t ipv4_prefix;           /* client prefix length for IPv4 sources, 0..32 */
    uint8_t ipv6_prefix;           /* client prefix length for IPv6 sources, 0..128 */
    uint32_t table_size;           /* entries, rounded up to a power of two >= RRL_WAYS */
} rrl_config_t;

typedef struct rrl_entry {
    uint32_t tag;     /* high 32 bits of the key hash, never 0; 0 = empty entry */
    uint32_t stamp;   /* table clock (ms since rrl_new) of the last refill */
    int32_t tokens;   /* balance in 1/RRL_UNIT of a response */
    uint32_t limited; /* responses limited on this key so far; every slip-th slips */
} rrl_entry_t;

typedef struct rrl {
    rrl_entry_t *entries;  /* nsets * RRL_WAYS, cache-line aligned */
    uint32_t set_mask;     /* nsets - 1; nsets is a power of two */
    uint32_t rate;         /* tokens added per ms (= responses per second) */
    int32_t capacity;      /* bucket depth in tokens: rate * window * RRL_UNIT, capped */
    uint32_t slip;         /* from the config */
    uint32_t mask4;        /* IPv4 prefix mask, network byte order */
    uint64_t mask6[2];     /* IPv6 prefix mask as two words, in memory byte order */
    uint64_t epoch_ms;     /* CLOCK_MONOTONIC at rrl_new, so stamps fit 32 bits */
    uint32_t now;          /* table clock for the current batch (rrl_tick) */
    rrl_config_t config;   /* as given, after defaults and clamping */
} rrl_t;

/* Defaults: 20 responses/s with a one-second burst, BIND's slip 2, /24 and
 * /56 client prefixes, 64 Ki entries (1 MiB). */
void rrl_config_default(rrl_config_t *c);
/* A table for one worker, or NULL (bad config: rate 0; or no memory). */
rrl_t *rrl_new(const rrl_config_t *c);
void rrl_free(rrl_t *r);

static inline uint64_t rrl_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Once per batch: the one clock reading every bucket in it refills from.
 * The 32-bit stamp wraps after 49.7 days; an entry idle for a multiple of
 * that (give or take its window) would refill short once, which we accept. */
static inline void rrl_tick(rrl_t *r)
{
    r->now = (uint32_t)(rrl_clock_ms() - r->epoch_ms);
}

/* Same as rrl_tick with a given table clock (tests replay time with it). */
static inline void rrl_set_clock(rrl_t *r, uint32_t now_ms)
{
    r->now = now_ms;
}

static inline uint64_t rrl_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* Decides one UDP response resp[0, *len) to src (sockaddr_in or _in6).  On
 * RRL_SLIP the response has been cut in place to header + question with
 * TC=1 and *len updated; on RRL_DROP it must not be sent. */
static inline int rrl_account(rrl_t *r, const struct sockaddr *src, uint8_t *resp, size_t *len)
{
    size_t n = *len;
    if (n < 12)
        return RRL_PASS;
    unsigned rcode = resp[3] & 0x0F;
    unsigned ancount = ((unsigned)resp[6] << 8) | resp[7];
    unsigned qdcount = ((unsigned)resp[4] << 8) | resp[5];
    unsigned cls = rcode == 0 ? (ancount ? RRL_CLASS_POSITIVE : RRL_CLASS_NODATA)
                 : rcode == 3 ? RRL_CLASS_NXDOMAIN : RRL_CLASS_ERROR;

    /* The question: its name and type are part of the key. */
    size_t qname_len = qdcount ? zf_name_walk(resp, n, ZF_HEADER_LEN, NULL, NULL, 0) : 0;
    if (qname_len && 12 + qname_len + 4 > n)
        qname_len = 0;
    unsigned qtype = qname_len ? ((unsigned)resp[12 + qname_len] << 8) | resp[13 + qname_len] : 0;

    uint64_t h = ZF_HASH_SEED ^ ((uint64_t)cls << 56) ^ ((uint64_t)qtype << 32) ^ qname_len;
    if (src->sa_family == AF_INET) {
        uint32_t a = ((const struct sockaddr_in *)src)->sin_addr.s_addr & r->mask4;
        h = rrl_mix(h ^ a);
    } else if (src->sa_family == AF_INET6) {
        uint64_t a[2];
        memcpy(a, &((const struct sockaddr_in6 *)src)->sin6_addr, 16);
        h = rrl_mix(h ^ (a[0] & r->mask6[0]) ^ 6);
        h = rrl_mix(h ^ (a[1] & r->mask6[1]));
    }
    h = zf_hash_words(h, resp + ZF_HEADER_LEN, qname_len, 1); /* the name, case folded */
    h = rrl_mix(h);

    /* Find the key in its set, or take the empty / least recently refilled way. */
    uint32_t tag = (uint32_t)(h >> 32) | 1u;
    rrl_entry_t *set = r->entries + (size_t)((uint32_t)h & r->set_mask) * RRL_WAYS;
    rrl_entry_t *e = NULL, *victim = set;
    uint32_t now = r->now, oldest = 0;
    for (int k = 0; k < RRL_WAYS; k++) {
        if (set[k].tag == tag) {
            e = &set[k];
            break;
        }
        uint32_t age = set[k].tag ? now - set[k].stamp : UINT32_MAX;
        if (age >= oldest) {
            oldest = age;
            victim = &set[k];
        }
    }
    if (e == NULL) {
        e = victim;
        e->tag = tag;
        e->stamp = now;
        e->tokens = r->capacity - RRL_UNIT;
        e->limited = 0;
        return RRL_PASS;
    }

    uint32_t elapsed = now - e->stamp;
    if (elapsed) {
        e->stamp = now;
        /* elapsed > 2^31: the clock went "backwards" through wrap; treat as idle. */
        int64_t t = elapsed >= 0x80000000u ? (int64_t)r->capacity
                                           : (int64_t)e->tokens + (int64_t)elapsed * r->rate;
        e->tokens = t > r->capacity ? r->capacity : (int32_t)t;
    }
    if (e->tokens >= RRL_UNIT) {
        e->tokens -= RRL_UNIT;
        return RRL_PASS;
    }
    e->limited++;
    if (r->slip == 0 || e->limited % r->slip != 0)
        return RRL_DROP;

    /* Slip: header with TC, question kept, every other section gone (and
     * with it EDNS, which a TC reply may omit). */
    size_t keep = 12;
    resp[4] = 0;
    resp[5] = 0;
    if (qname_len) {
        keep += qname_len + 4;
        resp[5] = 1;
    }
    resp[2] |= 0x02;
    memset(resp + 6, 0, 6);
    *len = keep;
    return RRL_SLIP;
}

#endif
