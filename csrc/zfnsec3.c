/* Precomputed NSEC3 denial: see zfnsec3.h; the Python twin is
 * dnssec/nsec3.py (proof, put), and both must give the same octets. */
#include "zfnsec3.h"

#include <string.h>

#include <openssl/sha.h>

static inline uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int zfnsec3_check(const uint8_t *tmpl, size_t tlen, size_t limit)
{
    size_t n, i;
    const uint8_t *e;
    if (tlen < ZFNSEC3_HEAD || tmpl[0] != ZFNSEC3_KIND || (tmpl[1] != ZFNSEC3_NXDOMAIN && tmpl[1] != ZFNSEC3_COVER))
        return -1;
    n = le16(tmpl + 2);
    if (n == 0 || tlen != ZFNSEC3_HEAD + n * ZFNSEC3_ENTRY)
        return -1;
    for (i = 0; i < n; i++) {
        e = tmpl + ZFNSEC3_HEAD + i * ZFNSEC3_ENTRY;
        if ((size_t)le32(e + 20) + le16(e + 24) > limit)
            return -1;
        if (i > 0 && memcmp(e - ZFNSEC3_ENTRY, e, 20) >= 0)
            return -1;
    }
    return 0;
}

/* The entry matching or covering `h` (the last digest not above it, the
 * last of all when it is below the first); *hit when it matches. */
static uint32_t find(const uint8_t *tmpl, uint32_t n, const uint8_t *h, int *hit)
{
    uint32_t lo = 0, hi = n, mid, i;
    while (lo < hi) {
        mid = (lo + hi) / 2;
        if (memcmp(tmpl + ZFNSEC3_HEAD + mid * ZFNSEC3_ENTRY, h, 20) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    i = lo ? lo - 1 : n - 1;
    *hit = memcmp(tmpl + ZFNSEC3_HEAD + i * ZFNSEC3_ENTRY, h, 20) == 0;
    return i;
}

ssize_t zfnsec3_put(const uint8_t *tmpl, const uint8_t *blocks, const uint8_t *name,
                    uint32_t name_len, uint8_t *out, size_t room, uint16_t *counts)
{
    uint8_t lc[2 + 255];
    uint8_t h[SHA_DIGEST_LENGTH];
    uint32_t starts[128], nlabels = 0, n = le16(tmpl + 2), i, k, picked[3], npicked = 0;
    uint32_t pos = 0, ce = 0;
    int hit = 0;
    size_t w = 0, len;
    const uint8_t *e;
    if (name_len > 255)
        return 0;
    /* the lower-cased qname, the wildcard label room in front of it */
    for (i = 0; i < name_len; i++)
        lc[2 + i] = (name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i];
    while (pos < name_len && lc[2 + pos] != 0 && nlabels < 128) {
        starts[nlabels++] = pos;
        pos += 1 + lc[2 + pos];
    }
    if (pos >= name_len || nlabels >= 128)
        return 0;
    starts[nlabels] = pos;  /* the root */
    for (i = 0; i <= nlabels; i++) {  /* the longest suffix in the chain */
        SHA1(lc + 2 + starts[i], name_len - starts[i], h);
        ce = find(tmpl, n, h, &hit);
        if (hit)
            break;
    }
    if (!hit)
        return 0;
    if (tmpl[1] == ZFNSEC3_COVER) {
        if (i == 0)
            return 0;
        SHA1(lc + 2 + starts[i - 1], name_len - starts[i - 1], h);
        picked[npicked++] = find(tmpl, n, h, &hit);
    } else {
        picked[npicked++] = ce;
    }
    if (i > 0 && tmpl[1] == ZFNSEC3_NXDOMAIN) {
        SHA1(lc + 2 + starts[i - 1], name_len - starts[i - 1], h);  /* next closer name */
        picked[npicked++] = find(tmpl, n, h, &hit);
        lc[starts[i]] = 1;  /* "*" then the closest encloser */
        lc[starts[i] + 1] = '*';
        SHA1(lc + starts[i], name_len - starts[i] + 2, h);
        picked[npicked++] = find(tmpl, n, h, &hit);
    }
    for (i = 0; i < npicked; i++) {
        for (k = 0; k < i && picked[k] != picked[i]; k++)
            ;
        if (k < i)
            continue;  /* one entry proves two things: written once */
        e = tmpl + ZFNSEC3_HEAD + picked[i] * ZFNSEC3_ENTRY;
        len = le16(e + 24);
        if (w + len > room)
            return -1;
        memcpy(out + w, blocks + le32(e + 20), len);
        w += len;
        counts[1] += 2;
    }
    return (ssize_t)w;
}
