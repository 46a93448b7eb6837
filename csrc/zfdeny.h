/* Online signing for answers that depend on the qname: RFC 9824 compact
 * denial (an NSEC owned by the qname, next name "\000.qname") and RRSIGs over
 * wildcard-synthesized RRsets owned by the qname.  Plain C over libcrypto; no
 * Python.h.
 *
 * A block of a signed zone whose DO twin carries an online template
 * (snapshot/layout.py BF_ONLINE, built by dnssec/online.py) is answered by
 * copying the twin, then calling zfdeny_put, which appends the records
 * signed for this qname.  Signatures are kept in a per-thread 2-way set-associative
 * cache keyed by (template fingerprint, lower-cased qname): no lock, bounded
 * memory (ZFDENY_SLOTS entries per thread), and a random-subdomain flood
 * only ever evicts.
 */
#ifndef ZFDENY_H
#define ZFDENY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* template kinds (dnssec/online.py) */
#define ZFDENY_NSEC 1   /* NSEC at qname + RRSIG, appended to the authority section */
#define ZFDENY_RRSIG 2  /* RRSIG over the answer RRset owned by qname, appended to the answer */
#define ZFDENY_RRSET 3  /* RRSIG over the values a multivalue answer chose (zfdeny_put_set) */

/* fixed template head: u8 kind, u8 0, u16 hlen, u32 ttl, u64 fingerprint,
 * 32 private, 65 public; then the RRSIG rdata head (hlen octets) */
#define ZFDENY_HEAD 113
#define ZFDENY_MAX_DATA 12288  /* what one signature may cover */
#define ZFDENY_SLOTS 4096

/* Append the records `tmpl` describes for `name` (the qname as written in
 * the response at offset `name_off`, any case, `name_len` octets) at `out`,
 * at most `room` octets.  Adds to counts[0] (answer) or counts[1]
 * (authority).  Returns the octets written, -1 when they do not fit, -2
 * when signing failed (then the caller answers SERVFAIL). */
ssize_t zfdeny_put(const uint8_t *tmpl, const uint8_t *name, uint32_t name_len,
                   uint32_t name_off, uint8_t *out, size_t room, uint16_t *counts);

/* The RRSIG over the `n` RRs a multivalue answer wrote (each `rrs[i]`,
 * `lens[i]` octets: a pointer to the qname, then type class ttl rdlength
 * rdata), appended at `out`; they are signed in canonical order, each with
 * the template's TTL.  Same returns as zfdeny_put. */
ssize_t zfdeny_put_set(const uint8_t *tmpl, const uint8_t *name, uint32_t name_len,
                       uint32_t name_off, const uint8_t *const *rrs, const uint16_t *lens,
                       uint32_t n, uint8_t *out, size_t room, uint16_t *counts);

/* 0 when a template of `tlen` octets is well-formed (checked when an image
 * loads, so zfdeny_put reads only inside it). */
int zfdeny_check(const uint8_t *tmpl, size_t tlen);

/* This thread's cache counters since it started. */
void zfdeny_thread_stats(uint64_t *hits, uint64_t *misses);

/* Every thread's counters, ended threads included (for stats and benches). */
void zfdeny_total_stats(uint64_t *hits, uint64_t *misses);

/* Sign `data` (len octets) with the raw P-256 key (priv 32, pub 65) into
 * sig[64] (r || s, RFC 6605); 0 on success.  Used by bulk signing. */
int zfdeny_sign_raw(const uint8_t *priv, const uint8_t *pub, const uint8_t *data, size_t len,
                    uint8_t *sig);

/* zfdeny_sign_raw over n buffers into sigs[64 * n], striped over `threads`
 * threads (this one included); 0 when every signature was made. */
int zfdeny_sign_batch(const uint8_t *priv, const uint8_t *pub, const uint8_t *const *datas,
                      const size_t *lens, size_t n, uint8_t *sigs, unsigned threads);

#endif
