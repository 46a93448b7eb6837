# ---- wire: byte order and the query parser (ref/wire.py; csrc/zfwire.h) -----

cdef inline uint16_t ld16(const uint8_t* p) noexcept nogil:
    return (p[0] << 8) | p[1]


cdef inline uint32_t be32(const uint8_t* p) noexcept nogil:
    """Each octet widened before its shift: `p[0] << 24` shifts an int, and
    an octet of 128 or more overflows it (undefined behaviour, found by
    UBSan under tests/fuzz: client 198.51.100.200)."""
    return (<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | p[3]


cdef inline void st16(uint8_t* p, uint32_t v) noexcept nogil:
    p[0] = (v >> 8) & 0xFF
    p[1] = v & 0xFF


cdef inline void st32(uint8_t* p, uint32_t v) noexcept nogil:
    p[0] = v >> 24
    p[1] = (v >> 16) & 0xFF
    p[2] = (v >> 8) & 0xFF
    p[3] = v & 0xFF


# ---- parse -----------------------------------------------------------------

cdef int parse_options(query_t* qr, const uint8_t* p, size_t n) noexcept nogil:
    cdef size_t off = 0
    cdef uint16_t code, olen, family
    cdef uint8_t src, scope
    while off < n:
        if off + 4 > n:
            return -1
        code = ld16(p + off)
        olen = ld16(p + off + 2)
        if off + 4 + olen > n:
            return -1
        if code == EDNS_OPT_ECS:  # RFC 7871 §6
            if qr.has_ecs or olen < 4:
                return -1
            family = ld16(p + off + 4)
            src = p[off + 6]
            scope = p[off + 7]
            if family == 1:
                if src > 32:
                    return -1
            elif family == 2:
                if src > 128:
                    return -1
            else:
                return -1
            if scope != 0 or olen - 4 != (src + 7) // 8:
                return -1
            if (src % 8) and (p[off + 4 + olen - 1] & (0xFF >> (src % 8))):
                return -1
            qr.has_ecs = 1
            qr.ecs_family = family
            qr.ecs_source = src
            qr.ecs_addr_len = olen - 4
            memcpy(qr.ecs_addr, p + off + 8, olen - 4)
        off += 4 + olen
    return 0


cdef int parse_query(const uint8_t* q, size_t qlen, query_t* qr,
                     const zf_hint_t* hint) noexcept nogil:
    """0, or -1 for FORMERR.  The header is known to be 12 octets, QR clear
    and opcode QUERY.  With a hint (engine_prefetch's stage 0 on the same
    octets) the lower-cased key and its hash are taken from it."""
    cdef size_t off = 12
    cdef uint32_t total = 0, i
    cdef ssize_t s
    cdef size_t start
    cdef uint16_t rtype, rdlen
    cdef uint32_t an, ns, ar
    if ld16(q + 4) != 1:
        return -1
    qr.nlabels = 0
    qr.edns = 0
    qr.edns_do = 0  # a query without OPT never has DO (it was left unset)
    qr.edns_co = 0
    qr.has_ecs = 0
    total = <uint32_t>zf_name_walk(q, qlen, 12, qr.label_off, &qr.nlabels, MAX_LABELS)
    if total == 0:
        return -1
    off += total
    qr.qname_len = total
    if hint != NULL and hint.qname_len == total:
        qr.key = hint.key
        qr.key_hash = hint.hash
        qr.hashed = 1
    else:
        zf_fold_copy(qr.keybuf, q + 12, total)
        qr.key = qr.keybuf
        qr.hashed = 0
    if off + 4 > qlen:
        return -1
    qr.qtype = ld16(q + off)
    qr.qclass = ld16(q + off + 2)
    off += 4
    an = ld16(q + 6)
    ns = ld16(q + 8)
    ar = ld16(q + 10)
    for i in range(an + ns):
        s = zf_name_skip(q, qlen, off)
        if s < 0 or <size_t>s + 10 > qlen:
            return -1
        rdlen = ld16(q + s + 8)
        if <size_t>s + 10 + rdlen > qlen:
            return -1
        off = s + 10 + rdlen
    for i in range(ar):
        start = off
        s = zf_name_skip(q, qlen, off)
        if s < 0 or <size_t>s + 10 > qlen:
            return -1
        rtype = ld16(q + s)
        rdlen = ld16(q + s + 8)
        if <size_t>s + 10 + rdlen > qlen:
            return -1
        if rtype == TYPE_OPT:
            if qr.edns or q[start] != 0 or <size_t>s != start + 1:
                return -1
            qr.edns = 1
            qr.edns_size = ld16(q + s + 2)
            if qr.edns_size < UDP_CLASSIC:
                qr.edns_size = UDP_CLASSIC
            qr.edns_version = q[s + 5]
            qr.edns_do = 1 if q[s + 6] & 0x80 else 0
            qr.edns_co = 1 if q[s + 6] & 0x40 else 0
            if parse_options(qr, q + s + 10, rdlen) != 0:
                return -1
        off = s + 10 + rdlen
    if off != qlen:
        return -1
    return 0


