/* Precomputed NSEC3 denial: see zfnsec3.h; the Python twin is
 * dnssec/nsec3.py (proof, put), and both must give the same octets. */
#include "zfnsec3.h"
#include "zfwire.h"

#include <string.h>

#define SHA1_LEN 20

static inline uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int zfnsec3_check(const uint8_t *tmpl, size_t tlen, const uint8_t *blocks, size_t limit)
{
    size_t nseg, i, k, count;
    const uint8_t *d, *seg, *e, *last = NULL;
    if (tlen < ZFNSEC3_HEAD || tmpl[0] != ZFNSEC3_KIND ||
        (tmpl[1] != ZFNSEC3_NXDOMAIN && tmpl[1] != ZFNSEC3_COVER && tmpl[1] != ZFNSEC3_CHAIN))
        return -1;
    nseg = le16(tmpl + 2);
    if (nseg == 0)  /* a row template proves; it does not hold the chain */
        return tlen == ZFNSEC3_HEAD && tmpl[1] != ZFNSEC3_CHAIN && le32(tmpl + 8) == 0 &&
               le32(tmpl + 12) == 0 ? 0 : -1;
    if (tlen != ZFNSEC3_HEAD + nseg * ZFNSEC3_ENTRY)
        return -1;
    for (i = 0; i < nseg; i++) {
        d = tmpl + ZFNSEC3_HEAD + i * ZFNSEC3_ENTRY;
        count = le16(d + 24);
        if (count == 0 || (size_t)le32(d + 20) + count * ZFNSEC3_ENTRY > limit)
            return -1;
        seg = blocks + le32(d + 20);
        if (memcmp(seg, d, 20) != 0)
            return -1;  /* the directory names each segment by its first digest */
        for (k = 0; k < count; k++) {
            e = seg + k * ZFNSEC3_ENTRY;
            if ((size_t)le32(e + 20) + le16(e + 24) > limit)
                return -1;
            if (last != NULL && memcmp(last, e, 20) >= 0)
                return -1;
            last = e;
        }
    }
    return 0;
}

static inline uint32_t rol(uint32_t x, int n) { return x << n | x >> (32 - n); }

/* SHA-1 (FIPS 180-4 §6.1) of a name, at most 257 octets, one or more
 * 64-octet blocks.  ~2,400 instructions a name (bench/RESULTS.md §18);
 * libcrypto's SHA1() was used at first and not compared with it. */
static void sha1(const uint8_t *msg, size_t len, uint8_t *out)
{
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    uint32_t w[80], a, b, c, d, e, t;
    uint8_t buf[320];
    size_t total = (len + 9 + 63) & ~(size_t)63, blk, i;
    uint64_t bits = (uint64_t)len * 8;
    memcpy(buf, msg, len);
    buf[len] = 0x80;
    memset(buf + len + 1, 0, total - len - 1);
    for (i = 0; i < 8; i++)
        buf[total - 1 - i] = (uint8_t)(bits >> (8 * i));
    for (blk = 0; blk < total; blk += 64) {
        for (i = 0; i < 16; i++)
            w[i] = (uint32_t)buf[blk + 4 * i] << 24 | (uint32_t)buf[blk + 4 * i + 1] << 16 |
                   (uint32_t)buf[blk + 4 * i + 2] << 8 | buf[blk + 4 * i + 3];
        for (i = 16; i < 80; i++)
            w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
#define SHA1_ROUND(F, K)                                   \
    do {                                                   \
        t = rol(a, 5) + (F) + e + (K) + w[i];              \
        e = d, d = c, c = rol(b, 30), b = a, a = t;        \
    } while (0)
        for (i = 0; i < 20; i++)
            SHA1_ROUND(d ^ (b & (c ^ d)), 0x5A827999);
        for (; i < 40; i++)
            SHA1_ROUND(b ^ c ^ d, 0x6ED9EBA1);
        for (; i < 60; i++)
            SHA1_ROUND((b & c) | (d & (b | c)), 0x8F1BBCDC);
        for (; i < 80; i++)
            SHA1_ROUND(b ^ c ^ d, 0xCA62C1D6);
#undef SHA1_ROUND
        h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
    }
    for (i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}

/* The entry matching or covering `h` (the last digest not above it, the
 * last of all when it is below the first); *hit when it matches. */
static const uint8_t *find(const uint8_t *tmpl, const uint8_t *blocks, const uint8_t *h,
                           int *hit)
{
    uint32_t nseg = le16(tmpl + 2), lo = 0, hi = nseg, mid, count;
    const uint8_t *d, *seg, *e;
    while (lo < hi) {  /* the last segment starting at or below h */
        mid = (lo + hi) / 2;
        if (memcmp(tmpl + ZFNSEC3_HEAD + mid * ZFNSEC3_ENTRY, h, 20) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    d = tmpl + ZFNSEC3_HEAD + (lo ? lo - 1 : nseg - 1) * ZFNSEC3_ENTRY;
    seg = blocks + le32(d + 20);
    count = le16(d + 24);
    if (lo == 0) {  /* below the first digest: the last NSEC3 covers it (the wrap) */
        *hit = 0;
        return seg + (count - 1) * ZFNSEC3_ENTRY;
    }
    lo = 0;
    hi = count;
    while (lo < hi) {
        mid = (lo + hi) / 2;
        if (memcmp(seg + mid * ZFNSEC3_ENTRY, h, 20) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    e = seg + (lo - 1) * ZFNSEC3_ENTRY;  /* lo >= 1: the segment starts at or below h */
    *hit = memcmp(e, h, 20) == 0;
    return e;
}

/* A picked entry and its NSEC3 RR, read when the response is found to
 * hold an NSEC3 to compare it with (most hold none: an NXDOMAIN's SOA,
 * a wildcard's RRset) and then once for all of them. */
typedef struct {
    const uint8_t *entry;  /* in a segment: digest, offset, length of the octets */
    const uint8_t *owner;  /* in full, lower case, as the compiler writes it */
    const uint8_t *rdata;
    size_t owner_len;      /* 0: not an RR to compare (never is, for a checked image) */
    uint16_t rdlen;
    uint8_t read;          /* owner, rdata and their lengths are set */
    uint8_t sent;          /* the response already holds it */
} pick_t;

static void read_pick(const uint8_t *blocks, pick_t *pk)
{
    const uint8_t *pair = blocks + le32(pk->entry + 20);
    size_t pair_len = le16(pk->entry + 24), n = zf_name_walk(pair, pair_len, 0, NULL, NULL, 0);
    pk->read = 1;
    pk->owner_len = 0;
    if (n == 0 || n + 10 > pair_len)
        return;
    pk->rdlen = (uint16_t)(pair[n + 8] << 8 | pair[n + 9]);
    if (n + 10 + pk->rdlen > pair_len)
        return;
    pk->owner = pair;
    pk->rdata = pair + n + 10;
    pk->owner_len = n;
}

/* Whether the NSEC3 RR at msg[owner, rd + rdlen) (its owner possibly
 * compressed) is the picked one: the same rdata, then the same owner,
 * letters compared in any case.  The rdata first: in one chain it differs
 * at the next hashed owner, so a miss costs a short memcmp and no name
 * expansion. */
static int same_nsec3(const uint8_t *msg, size_t end, size_t owner, size_t rd, uint16_t rdlen,
                      const pick_t *pk)
{
    uint8_t seen[ZF_NAME_MAX];
    size_t i;
    if (pk->owner_len == 0 || pk->rdlen != rdlen || memcmp(pk->rdata, msg + rd, rdlen) != 0)
        return 0;
    if (zf_name_expand(msg, end, owner, seen) != pk->owner_len)
        return 0;
    for (i = 0; i < pk->owner_len; i++)
        if (zf_fold1(seen[i]) != zf_fold1(pk->owner[i]))
            return 0;
    return 1;
}

/* Marks the picks whose NSEC3 is already among the records of msg[from,
 * end) (a response: whole records after its question): a wildcard's cover
 * and the closest-encloser proof a block carries for a CNAME target can
 * pick the same NSEC3, and an RRset is sent once (RFC 2181 §5).  An NSEC3
 * is only ever in the authority section (hashed owners are no names of the
 * zone's tree), so every record is looked at, with no section counts. */
static void mark_sent(const uint8_t *msg, size_t from, size_t end, const uint8_t *blocks,
                      pick_t *picks, uint32_t npicked)
{
    size_t off = from, rd;
    ptrdiff_t p;
    uint16_t rdlen;
    uint32_t k;
    while (off < end) {
        p = msg[off] >= 0xC0 ? (ptrdiff_t)off + 2 : zf_name_skip(msg, end, off);
        if (p < 0 || (size_t)p + 10 > end)
            return;
        rd = (size_t)p + 10;
        rdlen = (uint16_t)(msg[p + 8] << 8 | msg[p + 9]);
        if (rd + rdlen > end)
            return;
        if (msg[p] == (ZF_TYPE_NSEC3 >> 8) && msg[p + 1] == (ZF_TYPE_NSEC3 & 0xFF))
            for (k = 0; k < npicked; k++) {
                if (!picks[k].read)
                    read_pick(blocks, &picks[k]);
                if (!picks[k].sent && same_nsec3(msg, end, off, rd, rdlen, &picks[k]))
                    picks[k].sent = 1;
            }
        off = rd + rdlen;
    }
}

/* Where the records after a response's question start: past the qname at
 * 12 (uncompressed), its type and class; 0 when it is not a name. */
static size_t records_start(const uint8_t *msg, size_t end, const uint8_t *name,
                            uint32_t name_len)
{
    size_t n;
    if (name == msg + 12)  /* the question's qname: every caller's but a chase behind a DNAME */
        return 12 + (size_t)name_len + 4;
    n = zf_name_walk(msg, end, 12, NULL, NULL, 0);
    return n ? 12 + n + 4 : 0;
}

ssize_t zfnsec3_put(const uint8_t *tmpl, const uint8_t *root, const uint8_t *blocks,
                    const uint8_t *name, uint32_t name_len, const uint8_t *msg, uint8_t *out,
                    size_t room, uint16_t *counts)
{
    uint8_t lc[2 + 255];
    uint8_t h[SHA1_LEN], prev[SHA1_LEN];
    uint32_t starts[128], nlabels = 0, i, k, npicked = 0, pos = 0;
    const uint8_t *ce = NULL;
    int hit = 0;
    pick_t picks[3];
    size_t from;
    size_t w = 0, len;
    const uint8_t *e;
    if (name_len > 255 || tmpl[1] == ZFNSEC3_CHAIN)
        return 0;
    /* the lower-cased qname, the wildcard label room in front of it */
    zf_fold_copy(lc + 2, name, name_len);
    while (pos < name_len && lc[2 + pos] != 0 && nlabels < 128) {
        starts[nlabels++] = pos;
        pos += 1 + lc[2 + pos];
    }
    if (pos >= name_len || nlabels >= 128)
        return 0;
    starts[nlabels] = pos;  /* the root */
    for (i = 0; i <= nlabels; i++) {  /* the longest suffix in the chain */
        if (i > 0)
            memcpy(prev, h, SHA1_LEN);  /* the next closer name's, if this one is CE */
        sha1(lc + 2 + starts[i], name_len - starts[i], h);
        ce = find(root, blocks, h, &hit);
        if (hit)
            break;
    }
    if (!hit)
        return 0;
    if (tmpl[1] == ZFNSEC3_COVER) {
        if (i == 0)
            return 0;
        picks[npicked++].entry = find(root, blocks, prev, &hit);
    } else {
        picks[npicked++].entry = ce;
    }
    if (i > 0 && tmpl[1] == ZFNSEC3_NXDOMAIN) {
        picks[npicked++].entry = find(root, blocks, prev, &hit);  /* next closer name */
        lc[starts[i]] = 1;  /* "*" then the closest encloser */
        lc[starts[i] + 1] = '*';
        sha1(lc + starts[i], name_len - starts[i] + 2, h);
        picks[npicked++].entry = find(root, blocks, h, &hit);
    }
    for (i = 0; i < npicked; i++)
        picks[i].read = picks[i].sent = 0;
    from = records_start(msg, (size_t)(out - msg), name, name_len);
    if (from)
        mark_sent(msg, from, (size_t)(out - msg), blocks, picks, npicked);
    for (i = 0; i < npicked; i++) {
        for (k = 0; k < i && picks[k].entry != picks[i].entry; k++)
            ;
        if (k < i || picks[i].sent)
            continue;  /* one entry proves two things, or the response has it: written once */
        e = picks[i].entry;
        len = le16(e + 24);
        if (w + len > room)
            return -1;
        memcpy(out + w, blocks + le32(e + 20), len);
        w += len;
        counts[1] += 2;
    }
    return (ssize_t)w;
}
