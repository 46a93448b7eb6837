/* zfcompile.h: node and block records (snapshot/layout.py) from a zftable.h
 * table, for the names whose answers follow from a few rules.
 *
 * zoneset.py stays the statement of the answer rules and the Python
 * compiler (snapshot/compiler.py) the reference; this file restates only
 * what most names of big zones need, and gives a name back to the Python
 * compiler (kind ZK_PYTHON) as soon as it meets anything else:
 *
 *   ZK_PLAIN     self-contained RRsets only (A, AAAA, TXT, ...), or none;
 *   ZK_NAMED     PTR, MX, SRV: compressed names, additional A/AAAA;
 *   ZK_CNAME     a CNAME chain through ordinary names, the way
 *                ZoneSet.answer_node/chase walk it (a DNAME, or a negative
 *                answer the C encoder cannot vouch for, gives it back);
 *   ZK_CUT       a delegation: the referral (NS, glue) and DS;
 *   ZK_OCCLUDED  a name below a delegation: the cut's referral.
 *
 * The apex, wildcards that own names, DNAME owners and the names below
 * them stay with Python, as do the zones' negative answers: their blocks
 * are made by the Python compiler (so the SOA rules live in one place) and
 * handed in with zc_set_zone().  Before a chain may end in one, the C
 * encoder encodes the zone's NODATA block itself and must produce exactly
 * the Python compiler's octets (zc_check_negatives): if blocks.py changes
 * how an SOA is encoded, chains fall back to Python instead of diverging.
 */
#ifndef ZF_COMPILE_H
#define ZF_COMPILE_H

#include <stdint.h>

#include "zftable.h"

#define ZC_OK 0
#define ZC_GIVE_BACK 1  /* the name goes to the Python compiler */
#define ZC_ERROR (-1)   /* out of memory, or a stream over 2 GiB */

typedef struct zc zc_t;

zc_t *zc_new(zf_table_t *t);
void zc_free(zc_t *c);
/* Frees everything but the node and block streams (and their spill
 * files): an image may answer from the streams where they lie, holding the
 * compiler, so nothing else of it should stay.  Nothing may be compiled
 * afterwards. */
void zc_trim(zc_t *c);

/* a zone's negative blocks (made by the Python compiler), its row in the
 * "negatives" array, and the RR a negative answer puts in the authority
 * section (zoneset.negative): owner, type, TTL, rdata; rr_type 0: none.
 * serial_row >= 0: encode an SOA owned by this apex with a serial fixup of
 * that row (blocks.py FIX_SERIAL), -1: with its serial inline. */
int zc_set_zone(zc_t *c, uint32_t zone, uint32_t nx, uint32_t nodata, uint32_t row,
                const uint8_t *owner, int owner_len, uint16_t rr_type, uint32_t ttl,
                const uint8_t *rdata, int rdlen, int serial_row);

/* Encodes each zone's NODATA as the C encoder would and compares it with
 * the Python compiler's block; returns how many zones matched.  Chains
 * that end in a negative answer stay in C only for those zones. */
uint32_t zc_check_negatives(zc_t *c);

/* every name whose kind is not ZK_PYTHON; names given back are marked
 * ZK_PYTHON.  ZC_OK or ZC_ERROR (with zc_error()) */
int zc_compile(zc_t *c);

/* append records made by the Python compiler; offsets, or ZF_NONE */
uint32_t zc_append_block(zc_t *c, const uint8_t *rec, size_t len);
int zc_append_node(zc_t *c, uint32_t name, const uint8_t *rec, size_t len);

/* fills every node's wildcard reference once all nodes are written */
int zc_patch_wild(zc_t *c);

const char *zc_error(const zc_t *c);
zbuf_t *zc_nodes(zc_t *c);
zbuf_t *zc_blocks(zc_t *c);
/* the node (0) or block (1) stream's length, written out or not */
size_t zc_stream_len(const zc_t *c, int which);
/* Keep at most `window` octets of each stream in memory; the rest is
 * written to an unlinked temporary file as the stream grows (0: never). */
void zc_spill(zc_t *c, size_t window);
/* After the stream's last record (zc_patch_wild included): the file's
 * descriptor holding the whole stream (the memory copy is freed; the zc_t
 * closes it), -1 when nothing was written out (the stream is
 * zc_nodes()/zc_blocks()), -2 on a write error. */
int zc_stream_finish(zc_t *c, int which);
/* how many names each kind compiled (for tests and the report) */
void zc_counts(const zc_t *c, uint32_t out[6]);

#endif
