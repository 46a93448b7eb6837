# ---- records: node and block records read in place (snapshot/layout.py) ------

cdef inline uint32_t le32(const uint8_t* p) noexcept nogil:
    cdef uint32_t v
    memcpy(&v, p, 4)  # one unaligned load; records are packed and little-endian
    return v


cdef inline uint16_t le16(const uint8_t* p) noexcept nogil:
    cdef uint16_t v
    memcpy(&v, p, 2)
    return v


# ---- node records (snapshot/layout.py) ---------------------------------------

cdef inline uint32_t node_opt(const uint8_t* nd, uint8_t field) noexcept nogil:
    """Offset of an optional field (F_ANY_FIRST clear -> any, REDIRECT_FLAGS ->
    redirect, F_WILD -> wild) given which of the earlier ones are present."""
    cdef uint8_t f = nd[1]
    cdef uint32_t pos = NODE_HEAD + (2 if f & F_ZONE_NEG else 8)
    if field == 0:
        return pos
    if not (f & F_ANY_FIRST):
        pos += 4
    if field == 1:
        return pos
    if f & REDIRECT_FLAGS:
        pos += 4
    return pos


cdef inline const uint8_t* node_name(const uint8_t* nd) noexcept nogil:
    cdef uint8_t f = nd[1]
    return nd + NODE_HEAD + (2 if f & F_ZONE_NEG else 8) + (0 if f & F_ANY_FIRST else 4) + \
        (4 if f & REDIRECT_FLAGS else 0) + (4 if f & F_WILD else 0)


cdef inline uint32_t node_default(const image_t* img, const uint8_t* nd) noexcept nogil:
    """The block for a type the node lacks (NODATA, or CNAME chain + NODATA)."""
    if nd[1] & F_ZONE_NEG:
        return img.negatives[2 * <uint32_t>le16(nd + NODE_HEAD)]
    return le32(nd + NODE_HEAD)


cdef inline uint32_t node_nx(const image_t* img, const uint8_t* nd) noexcept nogil:
    """The zone's NXDOMAIN block."""
    if nd[1] & F_ZONE_NEG:
        return img.negatives[2 * <uint32_t>le16(nd + NODE_HEAD) + 1]
    return le32(nd + NODE_HEAD + 4)


cdef inline uint32_t node_redirect(const uint8_t* nd) noexcept nogil:
    return le32(nd + node_opt(nd, 1))


cdef inline uint32_t node_wild(const uint8_t* nd) noexcept nogil:
    if not (nd[1] & F_WILD):
        return NONE
    return le32(nd + node_opt(nd, 2))


cdef inline int names_equal(const uint8_t* a, const uint8_t* b, uint32_t n) noexcept nogil:
    """Equality of two short names, eight octets at a time (no libc call)."""
    cdef uint64_t x, y
    while n >= 8:
        memcpy(&x, a, 8)
        memcpy(&y, b, 8)
        if x != y:
            return 0
        a += 8
        b += 8
        n -= 8
    while n:
        if a[0] != b[0]:
            return 0
        a += 1
        b += 1
        n -= 1
    return 1


cdef inline uint32_t find_node(const image_t* img, const uint8_t* key, uint32_t n) noexcept nogil:
    """Byte offset of the node named `key` (lower-cased wire form), or NONE."""
    return find_node_hashed(img, key, n, zf_hash(key, n))


cdef inline uint32_t find_node_hashed(const image_t* img, const uint8_t* key, uint32_t n,
                                      uint32_t h) noexcept nogil:
    """find_node with the key's zf_hash known already."""
    cdef uint32_t i = <uint32_t>((<uint64_t>h * img.tsize) >> 32)
    cdef const uint8_t* nd
    ZF_ASSERT(i < img.tsize)
    while True:
        if img.table[i].node == NONE:
            return NONE
        if img.table[i].hash == h:
            nd = img.nodes + img.table[i].node
            if nd[0] == n and names_equal(node_name(nd), key, n):
                return img.table[i].node
        i += 1
        if i == img.tsize:
            i = 0


cdef inline uint32_t type_block(const image_t* img, const uint8_t* nd, uint16_t qtype) noexcept nogil:
    cdef uint32_t i, ntypes = le16(nd + 2)
    cdef const uint8_t* t = node_name(nd) + nd[0]
    if qtype == TYPE_ANY:
        if nd[1] & F_ANY_FIRST:
            return le32(t + 2)
        return le32(nd + node_opt(nd, 0))
    for i in range(ntypes):
        if le16(t + 6 * i) == qtype:
            return le32(t + 6 * i + 2)
    return node_default(img, nd)


# ---- block records ------------------------------------------------------------

cdef inline const uint8_t* block_data(const image_t* img, uint32_t ref) noexcept nogil:
    cdef const uint8_t* b = img.blocks + ref
    return b + BLOCK_HEAD + 4 * <uint32_t>le16(b + 2)


cdef inline uint8_t block_rcode(const image_t* img, uint32_t ref) noexcept nogil:
    return img.blocks[ref + 10]


cdef inline uint8_t block_aa(const image_t* img, uint32_t ref) noexcept nogil:
    return img.blocks[ref + 11] & 1


cdef inline uint32_t signed_block(const image_t* img, uint32_t ref) noexcept nogil:
    """The DO twin of a block (layout.py BF_SIGNED), or the block itself."""
    cdef const uint8_t* b = img.blocks + ref
    cdef uint32_t ar
    if not (b[11] & BF_SIGNED):
        return ref
    ar = le16(b + 8)
    return le32(b + BLOCK_HEAD + 4 * <size_t>le16(b + 2) + le16(b) + (4 + 2 * <size_t>ar if ar else 0))


cdef inline uint32_t prefix_block(const image_t* img, uint32_t ref) noexcept nogil:
    """A DO twin's shared first part (layout.py BF_PREFIX), or NONE."""
    cdef const uint8_t* b = img.blocks + ref
    cdef uint32_t ar
    if not (b[11] & BF_PREFIX):
        return NONE
    ar = le16(b + 8)
    return le32(b + BLOCK_HEAD + 4 * <size_t>le16(b + 2) + le16(b) + (4 + 2 * <size_t>ar if ar else 0) +
                (4 if b[11] & BF_SIGNED else 0))



