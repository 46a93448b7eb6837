# Online signing in the answer path: compact denial of existence (RFC 9824)
# and wildcard RRsets signed as the qname's.  Included by _encode.pxi before
# put_block, which calls it; the work is in csrc/zfdeny.c, the templates come from
# dnssec/online.py through a DO twin's BF_ONLINE trailer (layout.py).

cdef extern from "zfdeny.h" nogil:
    ssize_t zfdeny_put(const uint8_t* tmpl, const uint8_t* name, uint32_t name_len,
                       uint32_t name_off, uint8_t* out, size_t room, uint16_t* counts)
    ssize_t zfdeny_put_set(const uint8_t* tmpl, const uint8_t* name, uint32_t name_len,
                           uint32_t name_off, const uint8_t* const* rrs, const uint16_t* lens,
                           uint32_t n, uint8_t* out, size_t room, uint16_t* counts)
    int zfdeny_check(const uint8_t* tmpl, size_t tlen)
    void zfdeny_thread_stats(uint64_t* hits, uint64_t* misses)
    void zfdeny_total_stats(uint64_t* hits, uint64_t* misses)

cdef extern from "zfnsec3.h" nogil:
    int zfnsec3_check(const uint8_t* tmpl, size_t tlen, const uint8_t* blocks, size_t limit)
    ssize_t zfnsec3_put(const uint8_t* tmpl, const uint8_t* root, const uint8_t* blocks,
                        const uint8_t* name, uint32_t name_len, const uint8_t* msg,
                        uint8_t* out, size_t room, uint16_t* counts)
    int64_t zfnsec3_row(const uint8_t* tmpl)
    enum: ZFNSEC3_KIND

cdef extern from "zfwire.h" nogil:
    size_t zf_name_expand(const uint8_t* m, size_t end, size_t off, uint8_t* out)

cdef enum:
    BF_ONLINE = 8  # block flag: a twin's online template (u16 length, bytes) ends the record
    SIGN_FAILED = -2  # zfdeny_put's "could not sign": the answer is SERVFAIL, never unsigned


cdef inline size_t block_trailer(const uint8_t* b) noexcept nogil:
    """Where a block record's BF_ONLINE trailer starts (after the twin and
    prefix references)."""
    cdef size_t ar = le16(b + 8)
    return BLOCK_HEAD + 4 * <size_t>le16(b + 2) + le16(b) + (4 + 2 * ar if ar else 0) + \
        (4 if b[11] & BF_SIGNED else 0) + (4 if b[11] & BF_PREFIX else 0)


cdef inline const uint8_t* nsec3_root(const image_t* img, const uint8_t* tmpl) noexcept nogil:
    """The template with the chain a precomputed NSEC3 template proves from:
    itself, or for a row template (zfnsec3.h) the one its zone's row holds
    now (the DO twin of the row's NODATA block); NULL when that row has
    none (the caller answers SERVFAIL, never unsigned)."""
    cdef int64_t row = zfnsec3_row(tmpl)
    cdef uint32_t nodata, twin
    cdef const uint8_t* b
    cdef const uint8_t* t
    if row < 0:
        return tmpl
    if row >= img.nneg:
        return NULL
    nodata = img.negatives[2 * row]
    if nodata == NONE or nodata & PSET_BIT:
        return NULL
    twin = signed_block(img, nodata)
    b = img.blocks + twin
    if twin == nodata or not (b[11] & BF_ONLINE):
        return NULL
    t = b + block_trailer(b) + 2
    if t[0] != ZFNSEC3_KIND or zfnsec3_row(t) >= 0:
        return NULL
    return t


cdef ssize_t put_nsec3(const image_t* img, const uint8_t* tmpl, uint8_t* r, size_t pos,
                      size_t room, uint32_t qname_off, uint32_t qname_len,
                      uint16_t* counts) noexcept nogil:
    """put_online's precomputed NSEC3 proof, out of line: put_online stays
    small enough to inline into put_block for the answers without one.
    The response so far (`r` up to `pos`) goes along: an NSEC3 already in
    it is not repeated (zfnsec3.h)."""
    cdef const uint8_t* root = nsec3_root(img, tmpl)
    cdef ssize_t w
    if root == NULL:
        return SIGN_FAILED
    w = zfnsec3_put(tmpl, root, img.blocks, r + qname_off, qname_len, r, r + pos, room, counts)
    return w if w >= 0 else -1


cdef inline ssize_t put_online(const image_t* img, uint32_t twin, uint8_t* r, size_t pos,
                               size_t room, uint32_t qname_off, uint32_t qname_len,
                               uint16_t* counts) noexcept nogil:
    """After a twin's copy: the records its template signs for the qname
    (the name at qname_off in the response); 0 for a twin without one, -1
    when they do not fit (the caller sets TC), SIGN_FAILED when they cannot
    be signed (the caller answers SERVFAIL)."""
    cdef const uint8_t* b = img.blocks + twin
    cdef ssize_t w
    if not (b[11] & BF_ONLINE):
        return 0
    if b[block_trailer(b) + 2] == ZFNSEC3_KIND:  # precomputed NSEC3 denial (zfnsec3.h)
        return put_nsec3(img, b + block_trailer(b) + 2, r, pos, room, qname_off, qname_len,
                         counts)
    w = zfdeny_put(b + block_trailer(b) + 2, r + qname_off, qname_len, qname_off, r + pos, room,
                   counts)
    return w if w >= -1 else SIGN_FAILED


cdef inline int check_online(const uint8_t* tmpl, size_t tlen, const uint8_t* blocks,
                             size_t limit) noexcept nogil:
    """0 when a twin's template is well-formed; an NSEC3 one's segments and
    entries must lie in the block stream before the twin (`limit`, its offset)."""
    if tlen > 0 and tmpl[0] == ZFNSEC3_KIND:
        return zfnsec3_check(tmpl, tlen, blocks, limit)
    return zfdeny_check(tmpl, tlen)


cdef inline ssize_t put_values_signature(const image_t* img, uint32_t prefix, uint32_t twin,
                                        uint8_t* r, const size_t* starts, uint32_t n,
                                        size_t room, uint32_t qname_len,
                                        uint16_t* counts) noexcept nogil:
    """A multivalue answer's RRSIG over the `n` values just written (value i
    from starts[i] to starts[i + 1]), when its prefix block has a twin
    (`twin`, signed_block's, read once) with a ZFDENY_RRSET template; 0
    when it has none, -1 when it does not fit,
    SIGN_FAILED when it cannot be signed.  The values' owner is a pointer:
    to the qname, or behind a CNAME chain to the chain's last target, which
    is signed for (written out whole from the response, in any case)."""
    cdef uint32_t i
    cdef const uint8_t* b = img.blocks + twin
    cdef const uint8_t* rrs[MAX_MULTIVALUE]
    cdef uint16_t lens[MAX_MULTIVALUE]
    cdef uint8_t owner[255]
    cdef const uint8_t* name = r + 12
    cdef size_t name_len = qname_len
    cdef uint32_t name_off = 12
    cdef ssize_t w
    if twin == prefix or not (b[11] & BF_ONLINE) or n > MAX_MULTIVALUE:
        return 0
    if r[starts[0]] < 0xC0:
        return SIGN_FAILED  # not an owner the compiler writes: never unsigned
    name_off = ld16(r + starts[0]) & 0x3FFF
    if name_off != 12:
        name_len = zf_name_expand(r, starts[0], name_off, owner)
        if name_len == 0:
            return SIGN_FAILED
        name = owner
    for i in range(n):
        rrs[i] = r + starts[i]
        lens[i] = <uint16_t>(starts[i + 1] - starts[i])
    w = zfdeny_put_set(b + block_trailer(b) + 2, name, <uint32_t>name_len, name_off, rrs, lens,
                       n, r + starts[n], room, counts)
    return w if w >= -1 else SIGN_FAILED


cdef inline ssize_t put_wildcard_part(const image_t* img, uint32_t prefix, uint32_t twin,
                                      uint8_t* r, size_t pos, size_t room, uint32_t qname_len,
                                      uint16_t* counts) noexcept nogil:
    """A multivalue answer behind a wildcard CNAME, after the values and
    their RRSIG: what its twin's BF_PREFIX block's template gives for the
    qname (compiler.py wildcard_part: the CNAME's RRSIG signed for it, or
    the NSEC3 covering the next closer name); 0 for any other answer, -1
    when it does not fit, SIGN_FAILED when it cannot be signed."""
    if twin == prefix or not (img.blocks[twin + 11] & BF_PREFIX):
        return 0
    return put_online(img, prefix_block(img, twin), r, pos, room, 12, qname_len, counts)


cdef inline uint32_t rcode_block(const image_t* img, uint32_t ref, const query_t* qr) noexcept nogil:
    """The block whose rcode and AA a response takes: a DO query's twin (a
    nonexistent name's is NOERROR with the NXNAME NSEC, RFC 9824 §3), unless
    the query also set CO (Compact Answers OK): then the unsigned block's
    (NXDOMAIN for a nonexistent name, RFC 9824 §4), the records unchanged."""
    return signed_block(img, ref) if qr.edns_do and not qr.edns_co else ref


def deny_cache_stats(bint all_threads=False):
    """(hits, misses) of the online signer's cache in the calling thread,
    or summed over every thread (the socket workers included)."""
    cdef uint64_t hits = 0, misses = 0
    if all_threads:
        zfdeny_total_stats(&hits, &misses)
    else:
        zfdeny_thread_stats(&hits, &misses)
    return hits, misses
