/* zfdebug.h: invariant checks compiled in by a debug build.
 *
 * `ZONEFRONT_DEBUG=1 pip install .` builds with -DZONEFRONT_DEBUG (setup.py):
 * every ZF_ASSERT then checks its condition and, when it does not hold,
 * names it with file and line on stderr and aborts, so a broken invariant
 * stops the test that reached it instead of answering from bad memory.  A
 * release build compiles them to nothing: the hot path pays no branch.
 */
#ifndef ZF_DEBUG_H
#define ZF_DEBUG_H

#ifdef ZONEFRONT_DEBUG
#include <stdio.h>
#include <stdlib.h>
#define ZF_DEBUG_BUILD 1
#define ZF_ASSERT(cond)                                                              \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "zonefront: invariant failed: %s (%s:%d)\n", #cond,      \
                    __FILE__, __LINE__);                                             \
            abort();                                                                 \
        }                                                                            \
    } while (0)
#else
#define ZF_DEBUG_BUILD 0
#define ZF_ASSERT(cond) ((void)0)
#endif

#endif
