/* zfhash.h: the name hash of the compiled zone table.
 *
 * Names are short (20-40 octets), so a word-at-a-time multiply-xorshift beats
 * byte-wise FNV by about 3x and mixes well enough for linear probing; the
 * table also stores the full 32-bit hash so most misses never memcmp.
 */
#ifndef ZF_HASH_H
#define ZF_HASH_H

#include <stdint.h>
#include <string.h>

static inline uint32_t zf_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n;
    uint64_t w;
    while (n >= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    w = 0;
    memcpy(&w, p, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 29;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return (uint32_t)h;
}

#endif
