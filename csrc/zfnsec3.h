/* Precomputed NSEC3 denial (RFC 5155 with RFC 9276 parameters): the
 * closest-encloser proof of a nonexistent qname, picked from a zone's chain
 * signed at compile time.  No signing while answering: SHA-1 of a few of the
 * qname's suffixes and binary searches in the template's sorted digests.
 * Plain C, no Python.h.
 *
 * The template (dnssec/nsec3.py, a DO twin's BF_ONLINE trailer) is the
 * directory of the zone's chain, cut in segments so that a chain of any
 * length fits (a template and a block's data are at most 64 KiB):
 *   u8 ZFNSEC3_KIND, u8 mode, u16 nseg, u32 0, u64 0,
 *   nseg x (20 octets first digest, u32 offset, u16 count), digests ascending;
 * a segment is `count` entries in the image's block stream at `offset`:
 *   count x (20 octets digest, u32 offset, u16 length), digests ascending,
 * and an entry's octets (an NSEC3 RR and its RRSIG RR, owners in full) sit
 * in the block stream too.  Integers little-endian.
 *
 * Only a zone's root template (mode ZFNSEC3_CHAIN, on the DO twin of the
 * NODATA block its row in the image's negatives names) holds the directory.  Every other template
 * is a row template: nseg 0, the u32 after it the zone's row; the engine
 * finds the root through the row when answering (_deny.pxi nsec3_root), so
 * a change to the chain replaces the root and the row, not every answer
 * that proves from it.
 */
#ifndef ZFNSEC3_H
#define ZFNSEC3_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ZFNSEC3_KIND 4       /* after zfdeny.h's kinds 1..3 */
#define ZFNSEC3_NXDOMAIN 1   /* mode: RFC 5155 §7.2.2 closest-encloser proof (§7.2.5 too) */
#define ZFNSEC3_COVER 2      /* mode: the next closer name's cover only (§7.2.6) */
#define ZFNSEC3_CHAIN 3      /* mode: none, the zone's root holding the chain for row templates */
#define ZFNSEC3_HEAD 16
#define ZFNSEC3_ENTRY 26

/* 0 when a template of `tlen` octets is well-formed: its segments and
 * their entries' octets inside blocks[0, limit), every digest of the chain
 * ascending (checked when an image loads, so zfnsec3_put reads only inside
 * them); a row template is its head alone (its row is checked when used). */
int zfnsec3_check(const uint8_t *tmpl, size_t tlen, const uint8_t *blocks, size_t limit);

/* The zone row a row template names, or -1 for a template with segments. */
static inline int64_t zfnsec3_row(const uint8_t *tmpl)
{
    if ((tmpl[2] | tmpl[3]) != 0)
        return -1;
    return (int64_t)((uint32_t)tmpl[4] | (uint32_t)tmpl[5] << 8 | (uint32_t)tmpl[6] << 16 |
                     (uint32_t)tmpl[7] << 24);
}

/* Append the proof `tmpl` asks for (its mode) for `name` (the qname as
 * written in the response, any case, `name_len` octets) from the chain of
 * `root` (a template with segments: `tmpl` itself, or for a row template
 * its zone's root) at `out`, at most `room` octets; adds to counts[1]
 * (authority).  `msg` is the response from its first octet up to `out`:
 * an NSEC3 its records after the question already hold (a CNAME target's
 * proof before a wildcard's cover) is not written again.  Returns the
 * octets written, -1 when they do not fit. */
ssize_t zfnsec3_put(const uint8_t *tmpl, const uint8_t *root, const uint8_t *blocks,
                    const uint8_t *name, uint32_t name_len, const uint8_t *msg, uint8_t *out,
                    size_t room, uint16_t *counts);

#endif
