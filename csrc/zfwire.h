/* zfwire.h: the DNS wire vocabulary of the C and Cython code, in one place.
 *
 * One name walker, one case folder and one name hash, used by the engine
 * (src/zonefront/core/_wire.pxi, _records.pxi, _prefetch.pxi), the zone
 * table and compiler (zftable.c, zfcompile.c), the TCP loop (tcpio.c) and
 * response rate limiting (rrl.h); and the numbers the wire format and our
 * answers are made of.  tests/core/test_wire_constants.py holds every
 * number here (and the layout flags the engine declares) equal to the
 * Python tables they mirror (zoneset.py, ref/wire.py, snapshot/layout.py,
 * snapshot/policy.py, snapshot/blocks.py).
 *
 * Names are short (20-40 octets), so the hash is a word-at-a-time
 * multiply-xorshift, about 3x byte-wise FNV and mixing well enough for
 * linear probing; the zone table also stores the full 32-bit hash so most
 * misses never compare names.
 */
#ifndef ZF_WIRE_H
#define ZF_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- numbers ------------------------------------------------------------ */

#define ZF_HEADER_LEN 12
#define ZF_NAME_MAX 255     /* wire octets of a name, its root label included (RFC 1035 §2.3.4) */
#define ZF_LABEL_MAX 63
#define ZF_UDP_CLASSIC 512  /* UDP without EDNS (RFC 1035 §4.2.1), and the least EDNS size we honour */
#define ZF_UDP_PAYLOAD 1232 /* ours, sent and advertised: DNS Flag Day 2020, no fragmentation */
#define ZF_TCP_MAX 65535    /* one TCP message (RFC 1035 §4.2.2 length prefix) */

#define ZF_RCODE_NOERROR 0
#define ZF_RCODE_FORMERR 1
#define ZF_RCODE_SERVFAIL 2
#define ZF_RCODE_NXDOMAIN 3
#define ZF_RCODE_NOTIMP 4
#define ZF_RCODE_REFUSED 5
#define ZF_RCODE_YXDOMAIN 6
#define ZF_RCODE_BADVERS 16 /* extended, its high bits in OPT (RFC 6891 §6.1.3) */

#define ZF_TYPE_CNAME 5
#define ZF_TYPE_SOA 6
#define ZF_TYPE_DNAME 39
#define ZF_TYPE_OPT 41
#define ZF_TYPE_DS 43
#define ZF_TYPE_NSEC3 50
#define ZF_TYPE_TSIG 250
#define ZF_TYPE_IXFR 251
#define ZF_TYPE_AXFR 252
#define ZF_TYPE_ANY 255

#define ZF_EDNS_OPT_ECS 8   /* Client Subnet, RFC 7871 */
#define ZF_EDNS_OPT_EDE 15  /* Extended DNS Error, RFC 8914 */
#define ZF_EDE_NOT_AUTHORITATIVE 20

/* ---- names ---------------------------------------------------------------- */

/* The uncompressed name at m[off, len): its wire length (root label
 * included), or 0 when it is not one (a compression pointer or reserved
 * label type, over ZF_NAME_MAX octets, or running past len).  With
 * label_off, each label's offset from the name's start goes there and
 * their count (the root's included) to *nlabels; more than max_labels
 * labels is not a name either.  Inlined, a NULL label_off costs nothing. */
static inline size_t zf_name_walk(const uint8_t *m, size_t len, size_t off, uint8_t *label_off,
                                  uint32_t *nlabels, uint32_t max_labels)
{
    uint32_t total = 0, nl = 0;
    for (;;) {
        if (off >= len)
            return 0;
        uint32_t n = m[off];
        if (n & 0xC0)
            return 0;
        if (label_off) {
            if (nl >= max_labels)
                return 0;
            label_off[nl++] = (uint8_t)total;
        }
        if (total + n + 1 > ZF_NAME_MAX || off + 1 + n > len)
            return 0;
        total += n + 1;
        off += n + 1;
        if (n == 0)
            break;
    }
    if (label_off)
        *nlabels = nl;
    return total;
}

/* The offset just past the name at m[off, len) that may end in a
 * compression pointer (an RR's owner), or -1. */
static inline ptrdiff_t zf_name_skip(const uint8_t *m, size_t len, size_t off)
{
    size_t total = 0;
    for (;;) {
        if (off >= len)
            return -1;
        uint8_t n = m[off];
        if ((n & 0xC0) == 0xC0)
            return off + 1 >= len ? -1 : (ptrdiff_t)(off + 2);
        if (n & 0xC0)
            return -1;
        off += 1;
        total += (size_t)n + 1;
        if (total > ZF_NAME_MAX || (n && total >= ZF_NAME_MAX))
            return -1;
        if (n == 0)
            return (ptrdiff_t)off;
        off += n;
    }
}

/* The name at m[off, end) written out whole into out[ZF_NAME_MAX], its
 * compression pointers followed: its wire length, or 0 when it is not one
 * (over ZF_NAME_MAX octets, a reserved label type, running past end, or a
 * pointer that does not point before itself, so a loop cannot be followed).
 * For names in a response we wrote: a multivalue answer's owner behind a
 * CNAME chain, a pointer to the chain's last target (_deny.pxi). */
static inline size_t zf_name_expand(const uint8_t *m, size_t end, size_t off, uint8_t *out)
{
    size_t total = 0;
    for (;;) {
        if (off >= end)
            return 0;
        uint32_t n = m[off];
        if ((n & 0xC0) == 0xC0) {
            size_t to;
            if (off + 1 >= end)
                return 0;
            to = ((n & 0x3F) << 8) | m[off + 1];
            if (to >= off)
                return 0;
            end = off;  /* each hop points further back: it ends */
            off = to;
            continue;
        }
        if (n & 0xC0 || total + n + 1 > ZF_NAME_MAX || off + 1 + n > end)
            return 0;
        memcpy(out + total, m + off, n + 1);
        total += n + 1;
        off += n + 1;
        if (n == 0)
            return total;
    }
}

/* ASCII 'A'-'Z' -> 'a'-'z' in all eight octets of w at once; octets of
 * 0x80 and above and label lengths (at most 63, below 'A') stay. */
static inline uint64_t zf_fold8(uint64_t w)
{
    uint64_t h = w & 0x7F7F7F7F7F7F7F7FULL;
    /* bit 7 of each octet: (h >= 'A') xor (h > 'Z'); no carry crosses octets */
    uint64_t up = ((h + 0x3F3F3F3F3F3F3F3FULL) ^ (h + 0x2525252525252525ULL)) & ~w &
                  0x8080808080808080ULL;
    return w | (up >> 2);
}

static inline uint8_t zf_fold1(uint8_t c)
{
    return (uint8_t)(c + ((unsigned)(c - 'A') < 26u ? 32 : 0));
}

/* Copies n octets of a wire name lower-casing its letters; the whole name
 * goes through unchanged but for them.  d and s do not overlap. */
static inline void zf_fold_copy(uint8_t *d, const uint8_t *s, size_t n)
{
    uint64_t w;
    if (n < 8) {
        while (n) {
            *d++ = zf_fold1(*s++);
            n--;
        }
        return;
    }
    const uint8_t *last = s + n - 8;
    uint8_t *dlast = d + n - 8;
    while (n >= 8) {
        memcpy(&w, s, 8);
        w = zf_fold8(w);
        memcpy(d, &w, 8);
        s += 8;
        d += 8;
        n -= 8;
    }
    if (n) { /* the last eight octets, over some already written: no byte loop */
        memcpy(&w, last, 8);
        w = zf_fold8(w);
        memcpy(dlast, &w, 8);
    }
}

/* The hash's body over n octets from state h, lower-casing them first when
 * fold is set (a constant where it is inlined); a finisher follows it.
 * rrl.h keys its buckets with it too, from its own seed and finisher. */
static inline uint64_t zf_hash_words(uint64_t h, const uint8_t *p, size_t n, int fold)
{
    uint64_t w;
    const size_t whole = n;
    while (n >= 8) {
        memcpy(&w, p, 8);
        h = (h ^ (fold ? zf_fold8(w) : w)) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    /* the last n < 8 octets as a word, zero above them (what a copy of
     * n octets into a zeroed word gives on this little-endian machine),
     * read in at most three loads instead of octet by octet */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n == 0) {
        w = 0;
    } else if (whole >= 8) { /* the word ending with them: its first octets were hashed */
        memcpy(&w, p + n - 8, 8);
        w >>= 64 - 8 * n;
    } else if (n >= 4) { /* two overlapping halves */
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + n - 4, 4);
        w = lo | (uint64_t)hi << (8 * (n - 4));
    } else {
        w = p[0] | (uint64_t)p[n >> 1] << (8 * (n >> 1)) | (uint64_t)p[n - 1] << (8 * (n - 1));
    }
#else
    w = 0;
    memcpy(&w, p, n);
#endif
    return (h ^ (fold ? zf_fold8(w) : w)) * 0xc4ceb9fe1a85ec53ULL;
}

/* The zone table's hash of a (lower-cased) name; ref/policy.py zf_hash is
 * its twin. */
#define ZF_HASH_SEED 0x9E3779B97F4A7C15ULL

static inline uint32_t zf_hash(const uint8_t *p, size_t n)
{
    uint64_t h = zf_hash_words(ZF_HASH_SEED ^ (uint64_t)n, p, n, 0);
    h ^= h >> 29;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return (uint32_t)h;
}

#endif
