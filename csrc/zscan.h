/* zscan.h: an RFC 1035 §5 master-file scanner for the fast compile path.
 *
 * It reads the files zonefile.py reads, into a zftable.h table, and gives
 * the same records; what it does not handle it does not guess at:
 *
 * - rdata of types it has no parser for (and RFC 3597 generic rdata of
 *   known types, which must be validated as that type) goes to a callback,
 *   which zonefront.snapshot._fastcompile answers with rdata.from_tokens;
 * - $INCLUDE goes to a callback (path rules and loop checks stay in Python),
 *   which scans the included text with zs_scan() and the same state;
 * - anything it finds wrong, or cannot be sure about (non-ASCII outside
 *   quoted strings, quoted owners, a class word other than IN, ...), stops
 *   the scan with `why` set.  The caller then reads the file with
 *   zonefile.py, which raises the real `file:line: reason`, or loads what
 *   this scanner was unsure of: a fault is never reported from here, so the
 *   messages have one statement.
 *
 * Tokens follow rdata.scan_line exactly: a quoted token keeps its escapes
 * and is marked quoted; `key="a b"` is one token with the quotes removed.
 */
#ifndef ZF_SCAN_H
#define ZF_SCAN_H

#include <stdint.h>

#include "zftable.h"

typedef struct {
    const char *src;  /* the text in the file itself, or NULL: at `off` */
    uint32_t off;     /* in the scanner's token buffer, when src is NULL */
    uint32_t len;
    uint8_t quoted;   /* written between double quotes */
    uint8_t nonascii; /* holds an octet >= 0x80 */
} zs_tok_t;

typedef struct zs_scanner zs_scanner_t;

/* rdata the scanner has no parser for: wire into `out` and 0, or -1 (the
 * Python side raised; the scan stops) */
typedef int (*zs_rdata_fn)(zs_scanner_t *s, uint16_t type, const zs_tok_t *toks, int ntoks,
                           const uint8_t *origin, int origin_len, zbuf_t *out);
/* $INCLUDE with its arguments; 0, or -1 to stop */
typedef int (*zs_include_fn)(zs_scanner_t *s, const zs_tok_t *args, int nargs,
                             const uint8_t *origin, int origin_len, int depth);

struct zs_scanner {
    zf_table_t *t;         /* where records go */
    uint16_t zone;         /* the zone being read */
    int64_t dollar_ttl;    /* $TTL (RFC 2308 §4), -1 until given */
    int64_t last_ttl;      /* last explicit TTL (RFC 1035 §5.1), -1 until given */
    zbuf_t tokbuf;         /* token text of the record being read */
    zs_tok_t *toks;
    int ntoks, captoks;
    zbuf_t wire;           /* rdata being built */
    void *ctx;             /* the Python scanner object */
    zs_rdata_fn rdata_fn;
    zs_include_fn include_fn;
    const char *why;       /* why the scan stopped */
    uint32_t why_line;     /* on which line of the innermost file */
    uint32_t fallbacks;    /* rdatas parsed by the callback */
    /* the next zs_scan's text is a private, read-only file mapping: the
     * pages it has passed are dropped (madvise), so a big file is never
     * resident whole beside the table it fills; reset by zs_scan */
    int release_behind;
};

/* the type mnemonics, from rdata._TYPES (one table, in Python) */
int zs_add_type(const char *mnemonic, uint16_t value);

int zs_init(zs_scanner_t *s, zf_table_t *t, uint16_t zone);
void zs_free(zs_scanner_t *s);

/* scans one file's text; `origin` (case kept) completes relative names,
 * origin_len < 0: none yet.  0, or -1 with s->why set */
int zs_scan(zs_scanner_t *s, const uint8_t *text, size_t len, const uint8_t *origin,
            int origin_len, int depth);

/* the text of token i of the record being read: most tokens (a run of
 * plain octets) are read where they lie in the file; those with escapes or
 * quotes are copied into the token buffer as scanned */
static inline const char *zs_tok_text(const zs_scanner_t *s, const zs_tok_t *tok)
{
    return tok->src != NULL ? tok->src : (const char *)s->tokbuf.p + tok->off;
}

#endif
