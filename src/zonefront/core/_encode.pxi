# ---- encode: header, OPT, block copy and relocation (ref/engine.py put_block,
#      copy_block, opt_record) ---------------------------------------------------

cdef inline size_t write_header_only(const uint8_t* q, uint8_t* r, uint8_t rcode) noexcept nogil:
    r[0] = q[0]
    r[1] = q[1]
    r[2] = 0x80 | (q[2] & 0x79)  # QR, opcode and RD echoed
    r[3] = (q[3] & 0x10) | rcode
    r[4] = r[5] = r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0
    return 12


cdef inline size_t opt_len(const query_t* qr) noexcept nogil:
    if not qr.edns:
        return 0
    if qr.has_ecs:
        return 11 + 8 + qr.ecs_addr_len
    return 11


cdef inline size_t opt_record(const query_t* qr, uint8_t* p, uint32_t rcode, uint16_t udp_max,
                             uint8_t scope) noexcept nogil:
    cdef size_t n = 11
    p[0] = 0
    st16(p + 1, TYPE_OPT)
    st16(p + 3, udp_max)
    p[5] = (rcode >> 4) & 0xFF
    p[6] = 0
    p[7] = 0x80 if qr.edns_do else 0
    p[8] = 0
    if qr.has_ecs:
        st16(p + 9, 8 + qr.ecs_addr_len)
        st16(p + 11, 8)
        st16(p + 13, 4 + qr.ecs_addr_len)
        st16(p + 15, qr.ecs_family)
        p[17] = qr.ecs_source
        p[18] = scope  # the prefix our answer depended on; 0 for static answers
        memcpy(p + 19, qr.ecs_addr, qr.ecs_addr_len)
        n += 8 + qr.ecs_addr_len
    else:
        st16(p + 9, 0)
    return n


cdef inline size_t put_ede(uint8_t* opt, uint8_t* p, uint16_t info) noexcept nogil:
    """Append an Extended DNS Error option (RFC 8914 §2, no extra text) at
    `p`, the end of the OPT record written at `opt`, and grow its RDLENGTH."""
    st16(p, EDNS_OPT_EDE)
    st16(p + 2, 2)
    st16(p + 4, info)
    st16(opt + 9, ld16(opt + 9) + 6)
    return 6


include "_deny.pxi"


cdef inline ssize_t put_block(const image_t* img, uint32_t ref, uint8_t* r, size_t pos,
                              size_t room, size_t base, uint32_t qname_off, uint32_t qname_len,
                              uint16_t* counts, uint8_t do) noexcept nogil:
    """Copy a block after the question and relocate its pointers; drops
    optional additional RRs that do not fit.  Returns the octets written,
    -1 when the required part does not fit (the caller sets TC), or
    SIGN_FAILED when an online signature could not be made.  With
    `do` (the query's DO bit) a block of a signed zone is replaced by its
    DO twin, the same answer with its RRSIGs (RFC 4035 §3.1.1); a twin
    with a prefix (layout.py BF_PREFIX) is that prefix, the records its
    template signs for the qname, then its own data (a wildcard answer's
    authority and additional sections come after the answer's RRSIG)."""
    cdef uint32_t head
    cdef ssize_t w0, w1, w2
    cdef uint16_t c0[3]
    if do:
        ref = signed_block(img, ref)
        head = prefix_block(img, ref)
        if head != NONE:
            w0 = copy_block(img, head, r, pos, room, base, qname_off, qname_len, c0)
            if w0 < 0:
                return -1
            w2 = put_online(img, ref, r, pos + w0, room - w0, qname_off, qname_len, c0)
            if w2 < 0:
                counts[0] = counts[1] = counts[2] = 0
                return w2
            w0 += w2
            w1 = copy_block(img, ref, r, pos + w0, room - w0, base + w0, qname_off, qname_len,
                            counts)
            if w1 < 0:
                return -1
            counts[0] += c0[0]
            counts[1] += c0[1]
            counts[2] += c0[2]
            return w0 + w1
        else:
            w1 = copy_block(img, ref, r, pos, room, base, qname_off, qname_len, counts)
            if w1 < 0:
                return -1
        # a twin signed while answering (_deny.pxi): its records for the qname
        w2 = put_online(img, ref, r, pos + w1, room - w1, qname_off, qname_len, counts)
        if w2 < 0:
            counts[0] = counts[1] = counts[2] = 0  # as when the copy itself does not fit
            return w2
        return w1 + w2
    return copy_block(img, ref, r, pos, room, base, qname_off, qname_len, counts)


cdef inline ssize_t copy_block(const image_t* img, uint32_t ref, uint8_t* r, size_t pos,
                               size_t room, size_t base, uint32_t qname_off, uint32_t qname_len,
                               uint16_t* counts) noexcept nogil:
    """put_block's copy and relocation of one block record."""
    cdef const uint8_t* b = img.blocks + ref
    cdef uint32_t length = le16(b)
    cdef uint32_t nfix = le16(b + 2)
    cdef const uint8_t* fix = b + BLOCK_HEAD
    cdef const uint8_t* data = fix + 4 * nfix
    cdef const uint8_t* ext = data + length  # ar_start, ar_required, ar_ends
    cdef size_t n = length
    cdef uint32_t ar = le16(b + 8)
    cdef uint32_t i, fx, fpos, val
    if n > room:
        if ar == 0:  # no additional section to shed (and no ar table to read)
            return -1
        while ar > le16(ext + 2):
            ar -= 1
            n = le16(ext + 4 + 2 * (ar - 1)) if ar > 0 else le16(ext)
            if n <= room:
                break
        if n > room:
            return -1
    ZF_ASSERT(n <= room)  # what is copied fits where the caller has room
    memcpy(r + pos, data, n)
    for i in range(nfix):
        fx = le32(fix + 4 * i)
        fpos = fx & 0xFFFF
        if fpos >= n:
            continue
        val = fx >> 16
        if val & FIX_SERIAL:  # kind S, or with FIX_BLOCK kind G (a block offset is < 0x4000)
            zf_put_row(r + pos + fpos, n - fpos, img.serials, img.blocks, img.nneg, val)
            continue
        if val & FIX_BLOCK:
            val = base + (val & 0x7FFF)
        elif val == 0:
            val = qname_off
        else:
            val = qname_off + qname_len - val
        st16(r + pos + fpos, 0xC000 | val)
    counts[0] = le16(b + 4)
    counts[1] = le16(b + 6)
    counts[2] = ar
    return n


