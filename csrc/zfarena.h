/* zfarena.h: the one allocation that holds a compiled image's arrays.
 *
 * Lookups read the node table, names, blocks and data at random; on 4 KiB
 * pages a 100k-name image misses the TLB on most of those reads, and in a VM
 * each miss is a two-level page walk.  So a big image lives in an anonymous
 * mapping aligned to 2 MiB and advised onto transparent huge pages, and is
 * made read-only once built (the hot path never writes it).  Small images
 * (tests, private views) stay on malloc so they do not each pin 2 MiB.
 */
#ifndef ZF_ARENA_H
#define ZF_ARENA_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define ZF_ARENA_HUGE (2u << 20)
#define ZF_ARENA_HUGE_MIN (1u << 20)

/* Returns the base to free later (NULL on failure); *start is 64-aligned. */
static inline void *arena_alloc(size_t size, size_t *mapped, int *huge, uint8_t **start)
{
    if (size == 0)
        size = 64;
    if (size >= ZF_ARENA_HUGE_MIN) {
        size_t len = size + ZF_ARENA_HUGE;
        void *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (base != MAP_FAILED) {
            uintptr_t aligned = ((uintptr_t)base + ZF_ARENA_HUGE - 1) & ~(uintptr_t)(ZF_ARENA_HUGE - 1);
#ifdef MADV_HUGEPAGE
            /* whole huge pages only: a partly used last one would be
             * resident whole (up to 2 MiB per arena, 0.7 MiB of a 1M-name
             * image); the tail stays on 4 KiB pages, touched as used */
            (void)madvise((void *)aligned, size & ~(size_t)(ZF_ARENA_HUGE - 1), MADV_HUGEPAGE);
#endif
            *mapped = len;
            *huge = 1;
            *start = (uint8_t *)aligned;
            return base;
        }
    }
    void *p = aligned_alloc(64, (size + 63) & ~(size_t)63);
    *mapped = size;
    *huge = 0;
    *start = (uint8_t *)p;
    return p;
}

/* Copies n octets in 4 MiB steps; with `release`, drops each step's source
 * pages from this process once copied (MADV_DONTNEED), so loading a mapped
 * snapshot never holds the file and the arena whole at once.  Only for a
 * source that is a file mapping: on anonymous memory DONTNEED zeroes it. */
static inline void arena_copy(uint8_t *dst, const uint8_t *src, size_t n, int release)
{
    const size_t step = (size_t)4 << 20;
    const uintptr_t page = 4096;
    for (size_t done = 0; done < n;) {
        size_t len = n - done < step ? n - done : step;
        memcpy(dst + done, src + done, len);
        if (release) {
            uintptr_t lo = ((uintptr_t)(src + done) + page - 1) & ~(page - 1);
            uintptr_t hi = ((uintptr_t)(src + done + len)) & ~(page - 1);
            if (hi > lo)
                (void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
        }
        done += len;
    }
}

/* Read-only from here on: a stray write through a bad index faults instead
 * of changing answers. */
static inline void arena_seal(void *base, size_t mapped, int huge)
{
    if (huge)
        (void)mprotect(base, mapped, PROT_READ);
}

static inline void arena_free(void *base, size_t mapped, int huge)
{
    if (huge)
        (void)munmap(base, mapped);
    else
        free(base);
}

#endif
