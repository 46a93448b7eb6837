/* Online compact-denial and wildcard signatures (zfdeny.h). */
#include "zfdeny.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>

#include "zfcrypto.h"  /* libcrypto opened on first use, not at import */

#define KEY_SLOTS 8

typedef struct {
    uint64_t fp;          /* template fingerprint; 0 = empty slot */
    uint8_t nlen;         /* length of name (a wire name is at most 255) */
    uint8_t name[255];    /* lower-cased qname */
    uint8_t sig[64];      /* r || s */
} slot_t;

typedef struct {
    uint8_t pub[65];      /* which key this is */
    EVP_PKEY *pkey;
    EVP_PKEY_CTX *ctx;    /* sign-initialised once, reused per signature */
} key_t_;

typedef struct state {
    slot_t slots[ZFDENY_SLOTS];
    key_t_ keys[KEY_SLOTS];
    unsigned next_key;    /* round-robin replacement among keys */
    uint64_t hits, misses;
    struct state *next, *prev;  /* every thread's state, for zfdeny_total_stats */
} state_t;

/* Threads come and go rarely (workers start once), so the registry of
 * states takes a lock there; answering never does. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static state_t *registry;
static uint64_t gone_hits, gone_misses;  /* counts of threads that ended */

static __thread state_t *tls_state;
static pthread_key_t state_key;
static pthread_once_t state_once = PTHREAD_ONCE_INIT;

static void free_state(void *p)
{
    state_t *st = p;
    pthread_mutex_lock(&registry_lock);
    if (st->prev)
        st->prev->next = st->next;
    else
        registry = st->next;
    if (st->next)
        st->next->prev = st->prev;
    gone_hits += st->hits;
    gone_misses += st->misses;
    pthread_mutex_unlock(&registry_lock);
    for (int i = 0; i < KEY_SLOTS; i++) {
        EVP_PKEY_CTX_free(st->keys[i].ctx);
        EVP_PKEY_free(st->keys[i].pkey);
    }
    free(st);
}

static void make_key(void) { pthread_key_create(&state_key, free_state); }

static state_t *state(void)
{
    if (tls_state == NULL) {
        pthread_once(&state_once, make_key);
        tls_state = calloc(1, sizeof(state_t));
        if (tls_state != NULL) {
            pthread_setspecific(state_key, tls_state);
            pthread_mutex_lock(&registry_lock);
            tls_state->next = registry;
            if (registry)
                registry->prev = tls_state;
            registry = tls_state;
            pthread_mutex_unlock(&registry_lock);
        }
    }
    return tls_state;
}

static EVP_PKEY *pkey_from_raw(const uint8_t *priv, const uint8_t *pub)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    BIGNUM *d = BN_bin2bn(priv, 32, NULL);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (bld && d && ctx &&
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 65) &&
        (params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
        EVP_PKEY_fromdata_init(ctx) > 0)
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(d);
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

/* The signing context for a key, made once per thread (building an
 * EVP_PKEY costs more than a signature). */
static EVP_PKEY_CTX *key_ctx(state_t *st, const uint8_t *priv, const uint8_t *pub)
{
    key_t_ *k;
    if (zfcrypto_load() != 0)
        return NULL;
    for (int i = 0; i < KEY_SLOTS; i++)
        if (st->keys[i].ctx != NULL && memcmp(st->keys[i].pub, pub, 65) == 0)
            return st->keys[i].ctx;
    k = &st->keys[st->next_key++ % KEY_SLOTS];
    EVP_PKEY_CTX_free(k->ctx);
    EVP_PKEY_free(k->pkey);
    k->ctx = NULL;
    k->pkey = pkey_from_raw(priv, pub);
    if (k->pkey == NULL)
        return NULL;
    k->ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
    if (k->ctx == NULL || EVP_PKEY_sign_init(k->ctx) <= 0) {
        EVP_PKEY_CTX_free(k->ctx);
        k->ctx = NULL;
        return NULL;
    }
    memcpy(k->pub, pub, 65);
    return k->ctx;
}

static inline uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void be16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static int sign_digest(EVP_PKEY_CTX *ctx, const uint8_t *data, size_t len, uint8_t *sig)
{
    uint8_t md[32], der[80];
    size_t dlen = sizeof der;
    const uint8_t *p = der;
    const BIGNUM *r, *s;
    ECDSA_SIG *es;
    int ok;
    SHA256(data, len, md);
    if (EVP_PKEY_sign(ctx, der, &dlen, md, 32) <= 0)
        return -1;
    es = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
    if (es == NULL)
        return -1;
    ECDSA_SIG_get0(es, &r, &s);
    ok = BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(s, sig + 32, 32) == 32;
    ECDSA_SIG_free(es);
    return ok ? 0 : -1;
}

int zfdeny_sign_raw(const uint8_t *priv, const uint8_t *pub, const uint8_t *data, size_t len,
                    uint8_t *sig)
{
    state_t *st = state();
    EVP_PKEY_CTX *ctx;
    if (st == NULL || (ctx = key_ctx(st, priv, pub)) == NULL)
        return -1;
    return sign_digest(ctx, data, len, sig);
}

void zfdeny_total_stats(uint64_t *hits, uint64_t *misses)
{
    pthread_mutex_lock(&registry_lock);
    *hits = gone_hits;
    *misses = gone_misses;
    for (state_t *st = registry; st; st = st->next) {
        *hits += __atomic_load_n(&st->hits, __ATOMIC_RELAXED);
        *misses += __atomic_load_n(&st->misses, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&registry_lock);
}

int zfdeny_check(const uint8_t *tmpl, size_t tlen)
{
    size_t hlen, n, i, off;
    if (tlen < ZFDENY_HEAD + 2)
        return -1;
    hlen = le16(tmpl + 2);
    if (hlen < 19 || hlen > 18 + 255 || ZFDENY_HEAD + hlen + 2 > tlen)
        return -1;
    off = ZFDENY_HEAD + hlen;
    n = le16(tmpl + off);
    off += 2;
    if (tmpl[0] == ZFDENY_NSEC)
        return off + n == tlen && hlen + 512 + n < ZFDENY_MAX_DATA ? 0 : -1;
    if (tmpl[0] == ZFDENY_RRSET)
        return n == 0 && off == tlen ? 0 : -1;
    if (tmpl[0] != ZFDENY_RRSIG)
        return -1;
    for (i = 0; i < n; i++) {
        if (off + 2 > tlen || off + 2 + le16(tmpl + off) > tlen)
            return -1;
        off += 2 + le16(tmpl + off);
    }
    return off == tlen && hlen + 256 * n + tlen < ZFDENY_MAX_DATA ? 0 : -1;
}

void zfdeny_thread_stats(uint64_t *hits, uint64_t *misses)
{
    state_t *st = state();
    *hits = st ? st->hits : 0;
    *misses = st ? st->misses : 0;
}

/* An RR's fixed part after a compression pointer to the qname. */
static inline uint8_t *put_rr_head(uint8_t *p, uint32_t name_off, uint16_t type, uint32_t ttl,
                                   uint16_t rdlen)
{
    be16(p, 0xC000 | name_off);
    be16(p + 2, type);
    be16(p + 4, 1);
    be32(p + 6, ttl);
    be16(p + 10, rdlen);
    return p + 12;
}

/* The cache is 2-way set associative: a key may sit in either slot of its
 * pair, the most recently signed first.  Returns the slot holding the key
 * (*hit = 1), or the pair's first slot, its old entry moved to the second
 * (*hit = 0), to be filled by the caller. */
/* A cache miss: sign `data` into the slot and key it by (fp, name); an
 * emptied slot and -1 when the key cannot sign. */
static int fill_slot(state_t *st, slot_t *slot, const uint8_t *priv, const uint8_t *pub,
                     const uint8_t *data, size_t dlen, uint64_t fp, const uint8_t *lc,
                     uint32_t name_len)
{
    EVP_PKEY_CTX *ctx = key_ctx(st, priv, pub);
    if (ctx == NULL || sign_digest(ctx, data, dlen, slot->sig) != 0) {
        slot->fp = 0;
        return -1;
    }
    st->misses++;
    slot->fp = fp;
    slot->nlen = (uint8_t)name_len;
    memcpy(slot->name, lc, name_len);
    return 0;
}


static slot_t *cache_slot(state_t *st, uint64_t h, uint64_t key, const uint8_t *lc,
                          uint32_t len, int *hit)
{
    slot_t *a = &st->slots[(h ^ (h >> 29)) & (ZFDENY_SLOTS - 2)], *b = a + 1;
    if (a->fp == key && a->nlen == len && memcmp(a->name, lc, len) == 0) {
        *hit = 1;
        return a;
    }
    if (b->fp == key && b->nlen == len && memcmp(b->name, lc, len) == 0) {
        *hit = 1;
        return b;
    }
    *hit = 0;
    if (a->fp != 0)
        memcpy(b, a, sizeof *a);
    a->fp = 0;
    return a;
}

ssize_t zfdeny_put(const uint8_t *tmpl, const uint8_t *name, uint32_t name_len,
                   uint32_t name_off, uint8_t *out, size_t room, uint16_t *counts)
{
    uint8_t kind = tmpl[0];
    uint32_t hlen = le16(tmpl + 2), ttl = le32(tmpl + 4);
    uint64_t fp;
    const uint8_t *priv = tmpl + 16, *pub = tmpl + 48, *head = tmpl + ZFDENY_HEAD;
    const uint8_t *rest = head + hlen;
    uint8_t lc[255];
    uint8_t data[ZFDENY_MAX_DATA];
    uint32_t labels = 0, i, off, blen = 0, nsec_rdlen = 0;
    size_t need, dlen;
    uint64_t h;
    slot_t *slot;
    state_t *st;
    uint8_t *p;
    int hit;

    if (name_len == 0 || name_len > 255 || name_off > 0x3FFF)
        return -2;
    memcpy(&fp, tmpl + 8, 8);
    for (i = 0; i < name_len; i++)
        lc[i] = (name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i];
    for (off = 0; off < name_len && lc[off] != 0; off += 1 + lc[off])
        labels++;  /* length octets are below 64, so lower-casing never touched one */

    if (kind == ZFDENY_NSEC) {
        blen = le16(rest);
        nsec_rdlen = 2 + name_len + blen;
        need = 12 + nsec_rdlen + 12 + hlen + 64;
    } else if (kind == ZFDENY_RRSIG) {
        need = 12 + hlen + 64;
    } else {
        return -2;
    }
    if (need > room)
        return -1;

    st = state();
    if (st == NULL)
        return -2;
    h = fp ^ 0xcbf29ce484222325ULL;
    for (i = 0; i < name_len; i++)
        h = (h ^ lc[i]) * 0x100000001b3ULL;
    slot = cache_slot(st, h, fp, lc, name_len, &hit);

    p = out;
    if (kind == ZFDENY_NSEC) {
        p = put_rr_head(p, name_off, 47, ttl, (uint16_t)nsec_rdlen);
        p[0] = 1;
        p[1] = 0;
        memcpy(p + 2, lc, name_len);
        memcpy(p + 2 + name_len, rest + 2, blen);
        p += nsec_rdlen;
    }
    p = put_rr_head(p, name_off, 46, ttl, (uint16_t)(hlen + 64));
    memcpy(p, head, hlen);
    p[3] = (uint8_t)labels;

    if (hit) {
        st->hits++;
    } else {
        /* RFC 4034 §3.1.8.1: RRSIG rdata without the signature, then the
         * RRset in canonical form, owner = the lower-cased qname */
        memcpy(data, p, hlen);
        dlen = hlen;
        if (kind == ZFDENY_NSEC) {
            if (dlen + name_len + 10 + nsec_rdlen > sizeof data)
                return -2;
            memcpy(data + dlen, lc, name_len);
            dlen += name_len;
            memcpy(data + dlen, out + 2, 10 + nsec_rdlen);  /* type..rdata as written */
            dlen += 10 + nsec_rdlen;
        } else {
            uint32_t n = le16(rest);
            const uint8_t *t = rest + 2;
            for (i = 0; i < n; i++) {
                uint32_t tl = le16(t);
                if (dlen + name_len + tl > sizeof data)
                    return -2;
                memcpy(data + dlen, lc, name_len);
                memcpy(data + dlen + name_len, t + 2, tl);
                dlen += name_len + tl;
                t += 2 + tl;
            }
        }
        if (fill_slot(st, slot, priv, pub, data, dlen, fp, lc, name_len) != 0)
            return -2;
    }
    memcpy(p + hlen, slot->sig, 64);
    p += hlen + 64;
    if (kind == ZFDENY_NSEC)
        counts[1] += 2;
    else
        counts[0] += 1;
    return p - out;
}

/* canonical order of two RRs of one RRset: by rdata octets (RFC 4034 §6.3) */
static int cmp_rdata(const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen)
{
    uint32_t n = alen < blen ? alen : blen;
    int c = memcmp(a, b, n);
    return c ? c : (alen > blen) - (alen < blen);
}

#define SET_MAX 16

ssize_t zfdeny_put_set(const uint8_t *tmpl, const uint8_t *name, uint32_t name_len,
                       uint32_t name_off, const uint8_t *const *rrs, const uint16_t *lens,
                       uint32_t n, uint8_t *out, size_t room, uint16_t *counts)
{
    uint32_t hlen = le16(tmpl + 2), ttl = le32(tmpl + 4);
    uint64_t fp, h;
    const uint8_t *priv = tmpl + 16, *pub = tmpl + 48, *head = tmpl + ZFDENY_HEAD;
    uint8_t lc[255];
    uint8_t data[ZFDENY_MAX_DATA];
    uint32_t order[SET_MAX], labels = 0, i, j, off, k;
    size_t dlen;
    slot_t *slot;
    state_t *st;
    uint8_t *p = out;
    int hit;

    if (tmpl[0] != ZFDENY_RRSET || n == 0 || n > SET_MAX || name_len == 0 || name_len > 255 ||
        name_off > 0x3FFF)
        return -2;
    if (12 + hlen + 64 > room)
        return -1;
    for (i = 0; i < n; i++)
        if (lens[i] < 12)
            return -2;
    memcpy(&fp, tmpl + 8, 8);
    for (i = 0; i < name_len; i++)
        lc[i] = (name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i];
    for (off = 0; off < name_len && lc[off] != 0; off += 1 + lc[off])
        labels++;
    /* insertion sort of at most 16 by rdata; duplicates are one RR */
    for (i = 0; i < n; i++) {
        for (j = i; j > 0 && cmp_rdata(rrs[order[j - 1]] + 12, lens[order[j - 1]] - 12,
                                       rrs[i] + 12, lens[i] - 12) > 0; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    /* the cache key: the template, the qname and the set of rdatas */
    h = fp ^ 0xcbf29ce484222325ULL;
    for (i = 0; i < name_len; i++)
        h = (h ^ lc[i]) * 0x100000001b3ULL;
    for (i = 0; i < n; i++)
        for (j = 10; j < lens[order[i]]; j++)
            h = (h ^ rrs[order[i]][j]) * 0x100000001b3ULL;
    h |= 1;  /* never the empty slot's 0 */

    st = state();
    if (st == NULL)
        return -2;
    slot = cache_slot(st, h, h, lc, name_len, &hit);
    p = put_rr_head(p, name_off, 46, ttl, (uint16_t)(hlen + 64));
    memcpy(p, head, hlen);
    p[3] = (uint8_t)labels;
    if (hit) {
        st->hits++;
    } else {
        memcpy(data, p, hlen);
        dlen = hlen;
        for (k = 0; k < n; k++) {
            i = order[k];
            if (k > 0 && cmp_rdata(rrs[order[k - 1]] + 12, lens[order[k - 1]] - 12,
                                   rrs[i] + 12, lens[i] - 12) == 0)
                continue;
            if (dlen + name_len + lens[i] > sizeof data)
                return -2;
            memcpy(data + dlen, lc, name_len);
            dlen += name_len;
            memcpy(data + dlen, rrs[i] + 2, lens[i] - 2);  /* type class ttl rdlength rdata */
            be32(data + dlen + 4, ttl);                      /* the RRSIG's original TTL */
            dlen += lens[i] - 2;
        }
        if (fill_slot(st, slot, priv, pub, data, dlen, h, lc, name_len) != 0)
            return -2;
    }
    memcpy(p + hlen, slot->sig, 64);
    p += hlen + 64;
    counts[0] += 1;
    return p - out;
}

typedef struct {
    const uint8_t *priv, *pub;
    const uint8_t *const *datas;
    const size_t *lens;
    uint8_t *sigs;
    size_t first, step, n;
    int failed;
} batch_t;

static void *sign_stripe(void *arg)
{
    batch_t *b = arg;
    for (size_t i = b->first; i < b->n; i += b->step)
        if (zfdeny_sign_raw(b->priv, b->pub, b->datas[i], b->lens[i], b->sigs + 64 * i) != 0) {
            b->failed = 1;
            break;
        }
    return NULL;
}

int zfdeny_sign_batch(const uint8_t *priv, const uint8_t *pub, const uint8_t *const *datas,
                      const size_t *lens, size_t n, uint8_t *sigs, unsigned threads)
{
    batch_t parts[16];
    pthread_t tids[16];
    unsigned t, started = 0;
    int failed = 0;
    if (threads < 1)
        threads = 1;
    if (threads > 16)
        threads = 16;
    for (t = 0; t < threads; t++)
        parts[t] = (batch_t){priv, pub, datas, lens, sigs, t, threads, n, 0};
    for (t = 1; t < threads; t++) {
        if (pthread_create(&tids[t], NULL, sign_stripe, &parts[t]) != 0)
            break;
        started = t;
    }
    /* stripes whose thread did not start are signed here */
    for (t = 0; t < threads; t++)
        if (t == 0 || t > started)
            sign_stripe(&parts[t]);
    for (t = 1; t <= started; t++)
        pthread_join(tids[t], NULL);
    for (t = 0; t < threads; t++)
        failed |= parts[t].failed;
    return failed ? -1 : 0;
}
