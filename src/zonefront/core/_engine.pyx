# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The compiled answer path: parse -> find node -> pick block -> relocate.

Everything per query is C with no Python object: the socket loops call
engine_answer() with the GIL released.  The answer logic itself was run at
compile time (snapshot/compiler.py); here a query costs one parse, one to a
few hash probes and one memcpy.  ref/engine.py is the readable twin and
tests/differential compare the two byte for byte.
"""
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, qsort
from libc.string cimport memcpy, memset

cdef extern from "zfhash.h":
    uint32_t zf_hash(const uint8_t* p, size_t n) nogil

cdef extern from "zfdebug.h":
    # a debug build (ZONEFRONT_DEBUG=1) checks these and aborts naming the one
    # that failed; a release build compiles them to nothing
    void ZF_ASSERT(bint cond) nogil
    int ZF_DEBUG_BUILD

DEBUG_BUILD = bool(ZF_DEBUG_BUILD)  # the tests of the CI debug pass check they run on one


def _check_invariant(bint cond):
    """ZF_ASSERT(cond), for the test that a debug build really aborts."""
    ZF_ASSERT(cond)

cdef extern from "zfarena.h":
    void* arena_alloc(size_t size, size_t* mapped, int* huge, uint8_t** start) nogil
    void arena_seal(void* base, size_t mapped, int huge) nogil
    void arena_free(void* base, size_t mapped, int huge) nogil
    void arena_copy(uint8_t* dst, const uint8_t* src, size_t n, int release) nogil

cdef extern from *:
    """
    /* Out of line: negative answers are the rarer ones, and kept small the
     * block copy that every answer runs stays inlined into its callers. */
    static __attribute__((noinline)) void zf_put_serial(uint8_t *p, const uint32_t *serials,
                                                        uint32_t row)
    {
        uint32_t v = serials[row];
        p[0] = v >> 24; p[1] = (v >> 16) & 0xFF; p[2] = (v >> 8) & 0xFF; p[3] = v & 0xFF;
    }
    """
    void zf_put_serial(uint8_t* p, const uint32_t* serials, uint32_t row) noexcept nogil

cdef extern from "zfstats.h" nogil:
    # per-worker counters (issue 15): the loop hands its own in ctx.stats
    ctypedef struct zf_stats_t:
        pass
    const uint32_t ZF_ZONE_ID_PRIVATE
    const uint32_t ZF_ZONE_ID_NONE
    void zf_stats_answer(zf_stats_t* st, unsigned tcp, uint16_t qtype, unsigned rcode,
                         uint32_t zone, unsigned tc)
    void zf_stats_routed(zf_stats_t* st, unsigned kind, uint32_t cand)
    uint32_t zf_stats_row_of_nx(zf_stats_t* st, const uint32_t* negatives, uint32_t nneg,
                                uint32_t nx)
    void zf_stats_view(zf_stats_t* st, uint32_t view)

cdef int cmp_u32(const void* a, const void* b) noexcept nogil:
    cdef uint32_t x = (<const uint32_t*>a)[0], y = (<const uint32_t*>b)[0]
    return (x > y) - (x < y)


cdef uint8_t LOWER[256]
for _i in range(256):
    LOWER[_i] = _i + 32 if 65 <= _i <= 90 else _i


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

cdef inline ssize_t skip_name(const uint8_t* q, size_t qlen, size_t off) noexcept nogil:
    """Offset after a name that may end in a compression pointer, or -1."""
    cdef size_t total = 0
    cdef uint8_t n
    while True:
        if off >= qlen:
            return -1
        n = q[off]
        if (n & 0xC0) == 0xC0:
            if off + 1 >= qlen:
                return -1
            return off + 2
        if n & 0xC0:
            return -1
        off += 1
        total += n + 1
        if total > 255 or (n and total >= 255):  # 255 octets with the root label (RFC 1035 §2.3.4)
            return -1
        if n == 0:
            return off
        off += n


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
        if code == 8:  # Client Subnet, RFC 7871 §6
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


cdef inline void lower_copy(uint8_t* d, const uint8_t* s, uint32_t n) noexcept nogil:
    """Copies a wire name lower-casing ASCII letters, eight octets at a time.
    Length octets (at most 63) are never in 'A'..'Z', so the whole name goes
    through unchanged but for its letters."""
    cdef uint64_t w, h, up
    while n >= 8:
        memcpy(&w, s, 8)
        h = w & 0x7F7F7F7F7F7F7F7FULL
        # bit 7 of each octet: (h >= 'A') xor (h > 'Z'), for octets below 0x80
        up = ((h + 0x3F3F3F3F3F3F3F3FULL) ^ (h + 0x2525252525252525ULL)) & ~w & 0x8080808080808080ULL
        w |= up >> 2
        memcpy(d, &w, 8)
        s += 8
        d += 8
        n -= 8
    while n:
        d[0] = LOWER[s[0]]
        s += 1
        d += 1
        n -= 1


cdef int parse_query(const uint8_t* q, size_t qlen, query_t* qr) noexcept nogil:
    """0, or -1 for FORMERR.  The header is known to be 12 octets, QR clear
    and opcode QUERY."""
    cdef size_t off = 12
    cdef uint32_t total = 0, i
    cdef uint8_t n
    cdef ssize_t s
    cdef size_t start
    cdef uint16_t rtype, rdlen
    cdef uint32_t an, ns, ar
    if ld16(q + 4) != 1:
        return -1
    qr.nlabels = 0
    qr.edns = 0
    qr.edns_do = 0  # a query without OPT never has DO (it was left unset)
    qr.has_ecs = 0
    while True:  # structure first, one step per label
        if off >= qlen:
            return -1
        n = q[off]
        if n & 0xC0:
            return -1
        if qr.nlabels >= MAX_LABELS:
            return -1
        qr.label_off[qr.nlabels] = total
        qr.nlabels += 1
        if total + n + 1 > 255 or off + 1 + n > qlen:
            return -1
        total += n + 1
        off += n + 1
        if n == 0:
            break
    lower_copy(qr.key, q + 12, total)
    qr.qname_len = total
    if off + 4 > qlen:
        return -1
    qr.qtype = ld16(q + off)
    qr.qclass = ld16(q + off + 2)
    off += 4
    an = ld16(q + 6)
    ns = ld16(q + 8)
    ar = ld16(q + 10)
    for i in range(an + ns):
        s = skip_name(q, qlen, off)
        if s < 0 or <size_t>s + 10 > qlen:
            return -1
        rdlen = ld16(q + s + 8)
        if <size_t>s + 10 + rdlen > qlen:
            return -1
        off = s + 10 + rdlen
    for i in range(ar):
        start = off
        s = skip_name(q, qlen, off)
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
            if qr.edns_size < 512:
                qr.edns_size = 512
            qr.edns_version = q[s + 5]
            qr.edns_do = 1 if q[s + 6] & 0x80 else 0
            if parse_options(qr, q + s + 10, rdlen) != 0:
                return -1
        off = s + 10 + rdlen
    if off != qlen:
        return -1
    return 0


# ---- lookup ----------------------------------------------------------------

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
    cdef uint32_t h = zf_hash(key, n)
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



# ---- routing policies (snapshot/policy.py) -----------------------------------

cdef extern from "<math.h>" nogil:
    double sin(double x)
    double cos(double x)
    double asin(double x)
    double sqrt(double x)
    int isnan(double x)

cdef extern from "<netinet/in.h>" nogil:
    ctypedef unsigned short sa_family_t
    cdef int AF_INET
    cdef int AF_INET6

DEF MAX_CANDS = 256


cdef inline uint64_t splitmix64(uint64_t* state) noexcept nogil:
    cdef uint64_t z
    state[0] += 0x9E3779B97F4A7C15ULL
    z = state[0]
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline uint64_t next_rand(client_t* cl) noexcept nogil:
    if not cl.rnd_init:  # hashing the qname costs ~10 ns: only when routing asks
        cl.rnd ^= zf_hash(cl.key, cl.key_len)
        cl.rnd_init = 1
    return splitmix64(&cl.rnd)


cdef inline uint64_t load64(const uint8_t* p) noexcept nogil:
    cdef uint64_t v = 0
    cdef int i
    for i in range(8):
        v = (v << 8) | p[i]
    return v


cdef void set_client(client_t* cl, const query_t* qr, const zf_qctx_t* ctx,
                     uint16_t qid) noexcept nogil:
    """The address routing decides on: the Client Subnet option when the
    query has one (RFC 7871), else the source address."""
    cdef const uint8_t* sa
    cdef uint8_t buf[16]
    cdef uint16_t fam
    cl.family = 0
    cl.scope = 0
    cl.geo_done = 0
    cl.geoloc = NONE
    cl.geoprefix = 0
    cl.v4 = 0
    cl.hi = cl.lo = 0
    cl.rnd = (<uint64_t>ctx.seed << 32) ^ (<uint64_t>qid << 16)
    cl.rnd_init = 0
    cl.key = qr.key
    cl.key_len = qr.qname_len
    memset(buf, 0, 16)
    if qr.has_ecs:
        memcpy(buf, qr.ecs_addr, qr.ecs_addr_len)
        cl.bits = qr.ecs_source
        if qr.ecs_family == 1:
            cl.family = 4
            cl.v4 = be32(buf)
        else:
            cl.family = 6
            cl.hi = load64(buf)
            cl.lo = load64(buf + 8)
        return
    if ctx.src == NULL:
        return
    sa = <const uint8_t*>ctx.src
    fam = (<const sa_family_t*>sa)[0]
    if fam == AF_INET:
        cl.family = 4
        cl.bits = 32
        cl.v4 = be32(sa + 4)
    elif fam == AF_INET6:
        cl.hi = load64(sa + 8)
        cl.lo = load64(sa + 16)
        if cl.hi == 0 and (cl.lo >> 32) == 0xFFFF:  # IPv4-mapped
            cl.family = 4
            cl.bits = 32
            cl.v4 = <uint32_t>(cl.lo & 0xFFFFFFFFULL)
        else:
            cl.family = 6
            cl.bits = 128


cdef inline int find4(const range4_t* r, uint32_t n, uint32_t a) noexcept nogil:
    """Index of the range holding `a`, or -1 (ranges sorted, disjoint)."""
    cdef int64_t lo = 0, hi = <int64_t>n - 1, mid
    while lo <= hi:
        mid = (lo + hi) >> 1
        if a < r[mid].start:
            hi = mid - 1
        elif a > r[mid].end:
            lo = mid + 1
        else:
            return <int>mid
    return -1


cdef inline int lt128(uint64_t ah, uint64_t al, uint64_t bh, uint64_t bl) noexcept nogil:
    return ah < bh or (ah == bh and al < bl)


cdef inline int find6(const range6_t* r, uint32_t n, uint64_t h, uint64_t l) noexcept nogil:
    cdef int64_t lo = 0, hi = <int64_t>n - 1, mid
    while lo <= hi:
        mid = (lo + hi) >> 1
        if lt128(h, l, r[mid].start_hi, r[mid].start_lo):
            hi = mid - 1
        elif lt128(r[mid].end_hi, r[mid].end_lo, h, l):
            lo = mid + 1
        else:
            return <int>mid
    return -1


cdef inline int locate4(const range4_t* r, uint32_t n, uint32_t a, uint32_t* lo,
                        uint32_t* hi) noexcept nogil:
    """Index of the range holding `a`, or -1; either way [lo, hi] is the
    range or the gap around `a` in which every address gets that answer."""
    cdef int64_t l = 0, h = <int64_t>n, mid
    while l < h:  # first range starting above a
        mid = (l + h) >> 1
        if r[mid].start <= a:
            l = mid + 1
        else:
            h = mid
    if l > 0 and r[l - 1].end >= a:
        lo[0], hi[0] = r[l - 1].start, r[l - 1].end
        return <int>(l - 1)
    lo[0] = r[l - 1].end + 1 if l > 0 else 0
    hi[0] = r[l].start - 1 if l < n else 0xFFFFFFFF
    return -1


cdef inline uint8_t fit4(uint32_t a, uint32_t lo, uint32_t hi) noexcept nogil:
    """The shortest prefix whose network around `a` lies inside [lo, hi]:
    the ECS scope within which the answer cannot change (RFC 7871 §7.2.1)."""
    cdef int k
    cdef uint32_t mask, net
    for k in range(33):
        mask = 0 if k == 0 else (<uint32_t>0xFFFFFFFF) << (32 - k)
        net = a & mask
        if net >= lo and (net | ~mask) <= hi:
            return k
    return 32


cdef inline int locate6(const range6_t* r, uint32_t n, uint64_t ah, uint64_t al, uint64_t* lo,
                        uint64_t* hi) noexcept nogil:
    """locate4 for IPv6: lo/hi are (hi word, lo word) pairs."""
    cdef int64_t l = 0, h = <int64_t>n, mid
    while l < h:
        mid = (l + h) >> 1
        if not lt128(ah, al, r[mid].start_hi, r[mid].start_lo):
            l = mid + 1
        else:
            h = mid
    if l > 0 and not lt128(r[l - 1].end_hi, r[l - 1].end_lo, ah, al):
        lo[0], lo[1] = r[l - 1].start_hi, r[l - 1].start_lo
        hi[0], hi[1] = r[l - 1].end_hi, r[l - 1].end_lo
        return <int>(l - 1)
    if l > 0:  # one past the previous range's end
        lo[0], lo[1] = r[l - 1].end_hi, r[l - 1].end_lo + 1
        if lo[1] == 0:
            lo[0] += 1
    else:
        lo[0] = lo[1] = 0
    if l < n:  # one before the next range's start
        hi[0], hi[1] = r[l].start_hi, r[l].start_lo - 1
        if r[l].start_lo == 0:
            hi[0] -= 1
    else:
        hi[0] = hi[1] = 0xFFFFFFFFFFFFFFFFULL
    return -1


cdef inline uint8_t fit6(uint64_t ah, uint64_t al, const uint64_t* lo, const uint64_t* hi) noexcept nogil:
    cdef int k
    cdef uint64_t mh, ml, nh, nl
    for k in range(129):
        if k <= 64:
            mh = 0 if k == 0 else (<uint64_t>0xFFFFFFFFFFFFFFFFULL) << (64 - k)
            ml = 0
        else:
            mh = 0xFFFFFFFFFFFFFFFFULL
            ml = (<uint64_t>0xFFFFFFFFFFFFFFFFULL) << (128 - k)
        nh, nl = ah & mh, al & ml
        if not lt128(nh, nl, lo[0], lo[1]) and not lt128(hi[0], hi[1], nh | ~mh, nl | ~ml):
            return k
    return 128


cdef inline void use_scope(client_t* cl, uint8_t prefix) noexcept nogil:
    if prefix > cl.scope:
        cl.scope = prefix


cdef const geoloc_t* client_geo(const image_t* img, client_t* cl) noexcept nogil:
    """The client's GeoIP location (looked up once per query), or NULL."""
    cdef int i
    if not cl.geo_done:
        cl.geo_done = 1
        if cl.family == 4 and img.ngeo4:
            i = find4(img.geo4, img.ngeo4, cl.v4)
            if i >= 0 and img.geo4[i].loc < img.ngeolocs:
                cl.geoloc = img.geo4[i].loc
                cl.geoprefix = img.geo4[i].prefix
        elif cl.family == 6 and img.ngeo6:
            i = find6(img.geo6, img.ngeo6, cl.hi, cl.lo)
            if i >= 0 and img.geo6[i].loc < img.ngeolocs:
                cl.geoloc = img.geo6[i].loc
                cl.geoprefix = img.geo6[i].prefix
    if cl.geoloc == NONE:
        return NULL
    use_scope(cl, cl.geoprefix)
    return &img.geolocs[cl.geoloc]


cdef inline double distance_km(double lat1, double lon1, double lat2, double lon2) noexcept nogil:
    """Great-circle distance (haversine, mean Earth radius 6371 km)."""
    cdef double r = 0.017453292519943295
    cdef double dlat = (lat2 - lat1) * r, dlon = (lon2 - lon1) * r
    cdef double a = sin(dlat / 2) * sin(dlat / 2) + cos(lat1 * r) * cos(lat2 * r) * sin(dlon / 2) * sin(dlon / 2)
    if a > 1.0:
        a = 1.0
    return 2 * 6371.0 * asin(sqrt(a))


cdef inline int health_ok(const image_t* img, uint16_t slot) noexcept nogil:
    if slot == 0xFFFF or img.health == NULL or slot >= img.nhealth:
        return 1
    return img.health[slot] != 0


cdef int ref_healthy(const image_t* img, uint32_t ref, int depth) noexcept nogil:
    """A target is healthy when any record it could answer with is."""
    cdef const pset_t* ps
    cdef uint32_t i
    if ref == NONE or not (ref & PSET_BIT) or depth > 8:
        return 1
    ps = &img.psets[ref & ~PSET_BIT]
    for i in range(ps.ncand):
        if cand_healthy(img, &img.cands[ps.cand_off + i], depth + 1):
            return 1
    return 0


cdef inline int cand_healthy(const image_t* img, const cand_t* c, int depth) noexcept nogil:
    if not health_ok(img, c.health):
        return 0
    if c.flags & C_EVAL_TARGET:
        return ref_healthy(img, c.ref, depth)
    return 1


cdef inline uint32_t nth_usable(const cand_t* c, const uint8_t* ok, uint32_t n, uint64_t r,
                                uint32_t otherwise) noexcept nogil:
    """The (r mod usable)-th usable candidate's ref: a uniform pick."""
    cdef uint32_t i, usable = 0
    for i in range(n):
        usable += ok[i]
    if usable == 0:
        return otherwise
    r = r % usable
    for i in range(n):
        if ok[i]:
            if r == 0:
                return c[i].ref
            r -= 1
    return otherwise


cdef uint32_t choose(const image_t* img, const pset_t* ps, client_t* cl, int depth) noexcept nogil:
    """The ref a pset answers with for this client (Route 53's rules per
    policy; README "Routing policies" writes them down)."""
    cdef const cand_t* c = img.cands + ps.cand_off
    cdef uint32_t n = ps.ncand if ps.ncand < MAX_CANDS else MAX_CANDS
    cdef uint8_t ok[MAX_CANDS]
    cdef uint32_t i, healthy = 0, best = NONE, level
    cdef uint64_t total, r
    cdef const geoloc_t* g
    cdef double d, bestd = 0
    cdef int j, pass_
    cdef const coll_t* co
    cdef uint32_t loc = NONE
    cdef uint32_t lo4 = 0, hi4 = 0
    cdef uint64_t lo6[2]
    cdef uint64_t hi6[2]
    if n == 0:
        return ps.nomatch
    for i in range(n):
        ok[i] = cand_healthy(img, &c[i], depth)
        healthy += ok[i]
    if healthy == 0 and ps.kind != K_GEO and ps.kind != K_CIDR:
        # Route 53 answers as if all were healthy when none is
        for i in range(n):
            ok[i] = 1
    if ps.kind == K_ALIAS:
        return c[0].ref
    if ps.kind == K_WEIGHTED:
        total = 0
        for i in range(n):
            if ok[i]:
                total += c[i].key
        r = next_rand(cl)
        if total > 0:
            r = r % total
            for i in range(n):
                if ok[i] and c[i].key:
                    if r < c[i].key:
                        return c[i].ref
                    r -= c[i].key
        return nth_usable(c, ok, n, r, ps.nomatch)  # all usable weigh 0: equal chances
    if ps.kind == K_FAILOVER:
        for pass_ in range(2):
            for i in range(n):
                if (c[i].flags & (C_PRIMARY if pass_ == 0 else C_SECONDARY)) and ok[i]:
                    return c[i].ref
        return ps.nomatch
    if ps.kind == K_MULTIVALUE:  # one value, where only one fits (nested)
        return nth_usable(c, ok, n, next_rand(cl), ps.nomatch)
    if ps.kind == K_LATENCY or ps.kind == K_GEOPROX:
        g = client_geo(img, cl)
        for i in range(n):
            if not ok[i]:
                continue
            if g == NULL or isnan(g.lat):
                return c[i].ref  # no location: the first usable record
            if ps.kind == K_LATENCY:
                if c[i].key >= img.nregions:
                    continue
                d = distance_km(g.lat, g.lon, img.regions[c[i].key].lat, img.regions[c[i].key].lon)
            else:
                # Route 53: biased distance = distance * (1 - bias / 100)
                d = distance_km(g.lat, g.lon, c[i].lat, c[i].lon) * (1.0 - c[i].bias / 100.0)
            if best == NONE or d < bestd:
                best, bestd = i, d
        return c[best].ref if best != NONE else ps.nomatch
    if ps.kind == K_GEO:
        g = client_geo(img, cl)
        # most specific first; an unhealthy match falls back to a larger area
        for pass_ in range(2):
            for level in range(4):
                for i in range(n):
                    if pass_ == 0 and not ok[i]:
                        continue
                    if level == 0 and g != NULL and (c[i].flags & C_SUBDIVISION):
                        if c[i].key == g.country and c[i].key2 == g.subdivision:
                            return c[i].ref
                    elif level == 1 and g != NULL and (c[i].flags & C_COUNTRY):
                        if c[i].key == g.country:
                            return c[i].ref
                    elif level == 2 and g != NULL and (c[i].flags & C_CONTINENT):
                        if c[i].key == g.continent:
                            return c[i].ref
                    elif level == 3 and (c[i].flags & C_DEFAULT):
                        return c[i].ref
        return ps.nomatch
    if ps.kind == K_CIDR:
        if ps.coll != NONE:
            co = &img.colls[ps.coll]
            if cl.family == 4:
                j = locate4(img.cidr4 + co.v4_off, co.v4_n, cl.v4, &lo4, &hi4)
                if j >= 0:
                    loc = img.cidr4[co.v4_off + j].loc
                use_scope(cl, fit4(cl.v4, lo4, hi4))
            elif cl.family == 6:
                j = locate6(img.cidr6 + co.v6_off, co.v6_n, cl.hi, cl.lo, lo6, hi6)
                if j >= 0:
                    loc = img.cidr6[co.v6_off + j].loc
                use_scope(cl, fit6(cl.hi, cl.lo, lo6, hi6))
        for pass_ in range(2):
            for i in range(n):
                if (pass_ == 0 and not ok[i]) or (c[i].flags & C_DEFAULT):
                    continue
                if loc != NONE and c[i].key == loc:
                    return c[i].ref
            for i in range(n):
                if (pass_ == 1 or ok[i]) and (c[i].flags & C_DEFAULT):
                    return c[i].ref
        return ps.nomatch
    return ps.nomatch


cdef uint32_t select_ref(const image_t* img, uint32_t ref, client_t* cl) noexcept nogil:
    """Walk psets (aliases, policies) down to the block that answers."""
    cdef int depth = 0
    while ref != NONE and (ref & PSET_BIT):
        depth += 1
        if depth > 8 or (ref & ~PSET_BIT) >= img.npsets:
            return NONE
        ref = choose(img, &img.psets[ref & ~PSET_BIT], cl, depth)
    return ref


cdef uint32_t select_to_values(const image_t* img, uint32_t ref, client_t* cl) noexcept nogil:
    """select_ref, except that it stops at (returns) a multivalue pset whose
    values are answered together: the answer's own one (depth 1), or a
    traffic policy's multivalue rule under other rules (P_VALUES).  Any other
    multivalue pset reached on the way (an alias's target) gives one value."""
    cdef int depth = 0
    cdef const pset_t* ps
    while ref != NONE and (ref & PSET_BIT):
        depth += 1
        if depth > 8 or (ref & ~PSET_BIT) >= img.npsets:
            return NONE
        ps = &img.psets[ref & ~PSET_BIT]
        if ps.kind == K_MULTIVALUE and ps.prefix != NONE and (depth == 1 or ps.flags & P_VALUES):
            return ref
        ref = choose(img, ps, cl, depth)
    return ref


cdef uint32_t pick_values(const image_t* img, const pset_t* ps, client_t* cl,
                          uint32_t* out) noexcept nogil:
    """Multivalue answer: up to eight healthy values in random order (all
    of them as candidates when none is healthy, as Route 53 does)."""
    cdef uint32_t idx[MAX_CANDS]
    cdef uint32_t n = ps.ncand if ps.ncand < MAX_CANDS else MAX_CANDS
    cdef uint32_t i, k = 0, j, t
    for i in range(n):
        if cand_healthy(img, &img.cands[ps.cand_off + i], 1):
            idx[k] = i
            k += 1
    if k == 0:
        for i in range(n):
            idx[i] = i
        k = n
    for i in range(k if k < MAX_MULTIVALUE else MAX_MULTIVALUE):  # partial Fisher-Yates
        j = i + <uint32_t>(next_rand(cl) % (k - i))
        t = idx[i]
        idx[i] = idx[j]
        idx[j] = t
        out[i] = img.cands[ps.cand_off + idx[i]].ref
    return k if k < MAX_MULTIVALUE else MAX_MULTIVALUE


# ---- encode ----------------------------------------------------------------

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


cdef inline size_t write_opt(const query_t* qr, uint8_t* p, uint32_t rcode, uint16_t udp_max,
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


cdef enum:
    EDE_NOT_AUTHORITATIVE = 20  # RFC 8914 §4.21


cdef inline size_t put_ede(uint8_t* opt, uint8_t* p, uint16_t info) noexcept nogil:
    """Append an Extended DNS Error option (RFC 8914 §2, no extra text) at
    `p`, the end of the OPT record written at `opt`, and grow its RDLENGTH."""
    st16(p, 15)
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
    or -1 when the required part does not fit (the caller sets TC).  With
    `do` (the query's DO bit) a block of a signed zone is replaced by its
    DO twin, the same answer with its RRSIGs (RFC 4035 §3.1.1); a twin
    with a prefix (layout.py BF_PREFIX) is that prefix, then its own data."""
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
            w1 = copy_block(img, ref, r, pos + w0, room - w0, base + w0, qname_off, qname_len,
                            counts)
            if w1 < 0:
                return -1
            counts[0] += c0[0]
            counts[1] += c0[1]
            counts[2] += c0[2]
            w1 += w0
        else:
            w1 = copy_block(img, ref, r, pos, room, base, qname_off, qname_len, counts)
            if w1 < 0:
                return -1
        w2 = put_online(img, ref, r, pos + w1, room - w1, qname_off, qname_len, counts)
        if w2 < 0:
            counts[0] = counts[1] = counts[2] = 0  # as when the copy itself does not fit
            return -1
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
        if (val & (FIX_BLOCK | FIX_SERIAL)) == FIX_SERIAL:
            if fpos + 4 <= n:
                zf_put_serial(r + pos + fpos, img.serials, val & FIX_ROW_MASK)
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


cdef inline void set_key(query_t* nq, const uint8_t* name, uint32_t n) noexcept nogil:
    """Lower-cased key and label offsets of an uncompressed wire name that
    the engine itself wrote (so known to be well-formed)."""
    cdef uint32_t off = 0
    nq.nlabels = 0
    nq.qname_len = n
    while off < n:
        nq.label_off[nq.nlabels] = off
        nq.nlabels += 1
        if name[off] == 0:
            break
        off += 1 + name[off]
    lower_copy(nq.key, name, n)


cdef inline uint32_t find_answer(const image_t* img, const query_t* qr, uint32_t* blk_out,
                                 uint32_t* dname_out, uint32_t* node_out) noexcept nogil:
    """Pick what answers: a block, a DNAME to synthesize from, or only an
    rcode.  The same decisions as ref/engine.py's decide()."""
    cdef uint32_t idx = NONE, i, rcode = 0, wild
    cdef uint32_t blk_idx = NONE, dname_idx = NONE
    cdef const uint8_t* node
    cdef uint8_t flags
    if qr[0].edns and qr[0].edns_version > 0:
        rcode = 16  # BADVERS, RFC 6891 §6.1.3
    elif (qr[0].qclass != 1 and qr[0].qclass != 255) or qr[0].qtype == TYPE_AXFR or qr[0].qtype == TYPE_IXFR:
        rcode = RCODE_REFUSED
    else:
        idx = find_node(img, qr[0].key, qr[0].qname_len)
        if idx != NONE:
            node = img.nodes + idx
            flags = node[1]
            if flags & F_OCCLUDED:
                blk_idx = node_redirect(node)
            elif flags & F_BELOW_DNAME:
                dname_idx = node_redirect(node)
            elif (flags & F_CUT) and qr[0].qtype != TYPE_DS:
                blk_idx = node_redirect(node)
            else:
                blk_idx = type_block(img, node, qr[0].qtype)
        else:
            rcode = RCODE_REFUSED
            for i in range(1, qr[0].nlabels):
                idx = find_node(img, qr[0].key + qr[0].label_off[i], qr[0].qname_len - qr[0].label_off[i])
                if idx == NONE:
                    continue
                rcode = 0
                node = img.nodes + idx
                flags = node[1]
                wild = node_wild(node)
                if flags & (F_OCCLUDED | F_CUT):
                    blk_idx = node_redirect(node)
                elif flags & (F_BELOW_DNAME | F_HAS_DNAME):
                    dname_idx = node_redirect(node)
                elif wild != NONE:
                    node = img.nodes + wild
                    if node[1] & F_CUT:
                        blk_idx = node_redirect(node)
                    else:
                        blk_idx = type_block(img, node, qr[0].qtype)
                else:
                    blk_idx = node_nx(img, node)
                break

    blk_out[0] = blk_idx
    dname_out[0] = dname_idx
    node_out[0] = idx  # NONE when nothing matched (REFUSED, BADVERS)
    return rcode


cdef const image_t* choose_view(const image_t* img, const query_t* qr, const zf_qctx_t* ctx,
                               uint32_t* rcode, uint32_t* blk, uint32_t* dn,
                               uint32_t* node) noexcept nogil:
    """Private zones (issue 7): a source address inside a VPC's networks is
    answered from that VPC's view when the view holds a zone for the qname;
    otherwise, and for every other source, from the public zones.  Only the
    packet's source decides, never the Client Subnet option, which the
    client controls."""
    cdef const uint8_t* sa
    cdef uint16_t fam
    cdef uint32_t v4
    cdef uint64_t hi, lo
    cdef int i = -1
    cdef const image_t* view
    if ctx.src != NULL:
        sa = <const uint8_t*>ctx.src
        fam = (<const sa_family_t*>sa)[0]
        if fam == AF_INET:
            v4 = be32(sa + 4)
            i = find4(img.view4, img.nview4, v4)
            if i >= 0:
                i = img.view4[i].loc
        elif fam == AF_INET6:
            hi = load64(sa + 8)
            lo = load64(sa + 16)
            if hi == 0 and (lo >> 32) == 0xFFFF:
                i = find4(img.view4, img.nview4, <uint32_t>(lo & 0xFFFFFFFFULL))
                if i >= 0:
                    i = img.view4[i].loc
            else:
                i = find6(img.view6, img.nview6, hi, lo)
                if i >= 0:
                    i = img.view6[i].loc
    if i >= 0 and <uint32_t>i < img.nviews:
        view = img.views[i]
        rcode[0] = find_answer(view, qr, blk, dn, node)
        if rcode[0] != RCODE_REFUSED:
            if ctx.stats != NULL:
                zf_stats_view(<zf_stats_t*>ctx.stats, <uint32_t>i)
            return view
    rcode[0] = find_answer(img, qr, blk, dn, node)
    return img


cdef size_t engine_answer(const void* image, const uint8_t* q, size_t qlen,
                          uint8_t* r, size_t cap, const zf_qctx_t* ctx) noexcept nogil:
    cdef const image_t* img = <const image_t*>image
    cdef query_t qr
    cdef size_t limit, pos, olen, qsec
    cdef uint32_t idx, i, rcode = 0, aa = 0, tc = 0
    cdef uint32_t dname_idx = NONE, blk_idx = NONE
    cdef const dname_t* dn
    cdef uint16_t counts[3]
    cdef ssize_t w
    cdef uint32_t prefix, newlen, newpos, crcode
    cdef query_t nq
    cdef uint16_t chased[3]
    cdef client_t cl
    cdef const pset_t* ps
    cdef uint32_t values[MAX_MULTIVALUE]
    cdef uint32_t nvals, nwritten
    cdef size_t vstart[MAX_MULTIVALUE + 1]
    cdef size_t base, optpos
    cdef bint ede
    cdef uint32_t node, top
    cdef zf_stats_t* st = <zf_stats_t*>ctx.stats
    if qlen < 12 or (q[2] & 0x80):
        return 0
    if (q[2] >> 3) & 0xF:
        if st != NULL:
            zf_stats_answer(st, ctx.tcp, 0, RCODE_NOTIMP, ZF_ZONE_ID_NONE, 0)
        return write_header_only(q, r, RCODE_NOTIMP)
    if parse_query(q, qlen, &qr) != 0:
        if st != NULL:
            zf_stats_answer(st, ctx.tcp, 0, RCODE_FORMERR, ZF_ZONE_ID_NONE, 0)
        return write_header_only(q, r, RCODE_FORMERR)

    if ctx.tcp:
        limit = 65535
    elif qr.edns:
        limit = qr.edns_size if qr.edns_size < img.udp_max else img.udp_max
    else:
        limit = 512
    if limit > cap:
        limit = cap
    olen = opt_len(&qr)
    qsec = 12 + qr.qname_len + 4
    if limit < qsec + olen:
        if st != NULL:
            zf_stats_answer(st, ctx.tcp, qr.qtype, 2, ZF_ZONE_ID_NONE, 0)
        return write_header_only(q, r, 2)
    counts[0] = counts[1] = counts[2] = 0

    if img.nviews:
        img = choose_view(img, &qr, ctx, &rcode, &blk_idx, &dname_idx, &node)
    else:
        rcode = find_answer(img, &qr, &blk_idx, &dname_idx, &node)
    # a name in none of our zones: REFUSED with EDE 20, Not Authoritative
    # (RFC 8914 §4.21, as NSD and Knot answer)
    ede = rcode == RCODE_REFUSED and blk_idx == NONE and dname_idx == NONE \
        and (qr.qclass == 1 or qr.qclass == 255) and qr.qtype != TYPE_AXFR \
        and qr.qtype != TYPE_IXFR
    set_client(&cl, &qr, ctx, (q[0] << 8) | q[1])

    # header and question; the qname keeps the client's case (0x20)
    r[0] = q[0]
    r[1] = q[1]
    memcpy(r + 12, q + 12, qr.qname_len + 4)
    pos = qsec
    if dname_idx == NONE and blk_idx != NONE and (blk_idx & PSET_BIT):
        top = blk_idx
        blk_idx = select_to_values(img, blk_idx, &cl)
        if st != NULL and blk_idx != top:  # a multivalue answer counts itself below
            count_route(img, top, blk_idx, st)
        if blk_idx == NONE:
            if st != NULL:
                zf_stats_answer(st, ctx.tcp, qr.qtype, 2, answer_zone(<const image_t*>image, img, node, st), 0)
            return write_header_only(q, r, 2)
    if dname_idx != NONE:
        dn = &img.dnames[dname_idx]
        w = put_block(img, dn.block, r, pos, limit - pos - olen, pos, 12, qr.qname_len, counts,
                      qr.edns_do)
        aa = 1
        prefix = qr.qname_len - dn.owner_len
        newlen = prefix + dn.target_len
        if w < 0:
            tc = 1
        elif newlen > 255:
            rcode = RCODE_YXDOMAIN
            pos += w
        elif pos + w + 12 + newlen + olen > limit:
            tc = 1
            counts[0] = 0
        else:
            pos += w
            # the synthesized CNAME (RFC 6672 §3.1): qname's prefix + the DNAME
            # target, written out whole so the chased answer can point into it
            st16(r + pos, 0xC00C)
            st16(r + pos + 2, TYPE_CNAME)
            st16(r + pos + 4, 1)
            st32(r + pos + 6, dn.ttl)
            st16(r + pos + 10, newlen)
            memcpy(r + pos + 12, q + 12, prefix)
            memcpy(r + pos + 12 + prefix, block_data(img, dn.block) + dn.target_pos, dn.target_len)
            newpos = pos + 12
            pos += 12 + newlen
            counts[0] = 2
            # RFC 6672 §3.2: restart the lookup at the new name, once
            set_key(&nq, r + newpos, newlen)
            nq.qtype = qr.qtype
            nq.qclass = qr.qclass
            nq.edns = 0
            crcode = find_answer(img, &nq, &blk_idx, &dname_idx, &top)
            blk_idx = select_ref(img, blk_idx, &cl)
            if crcode == 0 and blk_idx != NONE and block_aa(img, blk_idx):
                w = put_block(img, blk_idx, r, pos, limit - pos - olen, pos,
                              newpos, newlen, chased, qr.edns_do)
                if w < 0:
                    tc = 1
                    pos = qsec
                    counts[0] = 0
                else:
                    pos += w
                    rcode = block_rcode(img, answer_block(img, blk_idx, qr.edns_do))
                    counts[0] = 2 + chased[0]
                    counts[1] = chased[1]
                    counts[2] = chased[2]
    elif blk_idx != NONE and (blk_idx & PSET_BIT) and img.psets[blk_idx & ~PSET_BIT].kind == K_MULTIVALUE \
            and img.psets[blk_idx & ~PSET_BIT].prefix != NONE:
        ps = &img.psets[blk_idx & ~PSET_BIT]
        if st != NULL:
            zf_stats_routed(st, K_MULTIVALUE, NONE)
        rcode = block_rcode(img, ps.prefix)
        aa = block_aa(img, ps.prefix)
        w = put_block(img, ps.prefix, r, pos, limit - pos - olen, pos, 12, qr.qname_len, counts, 0)
        if w < 0:
            tc = 1
        else:
            base = pos
            pos += w
            nvals = pick_values(img, ps, &cl, values)
            nwritten = 0
            for i in range(nvals):
                w = put_block(img, values[i], r, pos, limit - pos - olen, base, 12,
                              qr.qname_len, chased, 0)
                if w < 0:
                    break
                vstart[nwritten] = pos
                nwritten += 1
                pos += w
                counts[0] += chased[0]
            if counts[0] == 0 and nvals:
                tc = 1
                pos = qsec
            elif qr.edns_do and nwritten:  # signed zone: the chosen values' RRSIG (_deny.pxi)
                vstart[nwritten] = pos
                w = put_values_signature(img, ps.prefix, r, vstart, nwritten, limit - pos - olen,
                                         qr.qname_len, counts)
                if w < 0:
                    tc = 1
                    pos = qsec
                    counts[0] = 0
                else:
                    pos += w
    elif blk_idx != NONE:
        top = blk_idx
        blk_idx = select_ref(img, blk_idx, &cl)
        if st != NULL and (top & PSET_BIT):
            count_route(img, top, blk_idx, st)
        if blk_idx == NONE:
            if st != NULL:
                zf_stats_answer(st, ctx.tcp, qr.qtype, 2, answer_zone(<const image_t*>image, img, node, st), 0)
            return write_header_only(q, r, 2)
        w = put_block(img, blk_idx, r, pos, limit - pos - olen, pos, 12, qr.qname_len, counts,
                      qr.edns_do)
        rcode = block_rcode(img, answer_block(img, blk_idx, qr.edns_do))
        aa = block_aa(img, answer_block(img, blk_idx, qr.edns_do))
        if w < 0:
            tc = 1
        else:
            pos += w

    r[2] = 0x80 | (q[2] & 0x01) | (0x04 if aa else 0) | (0x02 if tc else 0)
    r[3] = (q[3] & 0x10) | (rcode & 0xF)
    st16(r + 4, 1)
    st16(r + 6, counts[0])
    st16(r + 8, counts[1])
    st16(r + 10, counts[2] + (1 if qr.edns else 0))
    if qr.edns:
        optpos = pos
        pos += write_opt(&qr, r + pos, rcode, img.udp_max, cl.scope)
        if ede and pos + 6 <= limit:
            pos += put_ede(r + optpos, r + pos, EDE_NOT_AUTHORITATIVE)
    ZF_ASSERT(pos <= limit)  # truncation kept the response within what the client takes
    if st != NULL:
        zf_stats_answer(st, ctx.tcp, qr.qtype, rcode, answer_zone(<const image_t*>image, img, node, st), tc)
    return pos


# ---- counters (issue 15; csrc/zfstats.h) ------------------------------------------

cdef inline uint32_t answer_zone(const image_t* pub, const image_t* img, uint32_t node,
                                 zf_stats_t* st) noexcept nogil:
    """The zone slot an answer is counted under: the public zone's row, read
    from the node that decided (or found from its NXDOMAIN block when the
    node does not carry it); private answers and REFUSED share a slot each."""
    cdef const uint8_t* nd
    if node == NONE:
        return ZF_ZONE_ID_NONE
    if img != pub:
        return ZF_ZONE_ID_PRIVATE
    nd = img.nodes + node
    if nd[1] & F_ZONE_NEG:
        return le16(nd + NODE_HEAD)
    return zf_stats_row_of_nx(st, img.negatives, img.nneg, le32(nd + NODE_HEAD + 4))


cdef void count_route(const image_t* img, uint32_t top, uint32_t chosen,
                      zf_stats_t* st) noexcept nogil:
    """A routed answer: the top policy's kind, and which of its candidates
    led to the block served (through an alias's single target when the top
    is an alias)."""
    cdef const pset_t* ps = &img.psets[top & ~PSET_BIT]
    cdef const pset_t* inner
    cdef const cand_t* c
    cdef uint32_t i, cand = NONE
    if (top & ~PSET_BIT) >= img.npsets:
        return
    if ps.kind == K_ALIAS and ps.ncand and (img.cands[ps.cand_off].ref & PSET_BIT) \
            and (img.cands[ps.cand_off].ref & ~PSET_BIT) < img.npsets:
        inner = &img.psets[img.cands[ps.cand_off].ref & ~PSET_BIT]
        if inner.kind != K_ALIAS:
            ps = inner
    c = img.cands + ps.cand_off
    for i in range(ps.ncand):
        if c[i].ref == chosen:
            cand = ps.cand_off + i
            break
    zf_stats_routed(st, ps.kind, cand)


# ---- prefetch (zfapi.h) ---------------------------------------------------------

cdef extern from *:
    void __builtin_prefetch(const void* p) nogil


cdef void engine_prefetch(const void* image, const uint8_t* q, size_t qlen,
                          zf_hint_t* hint, int stage) noexcept nogil:
    """Stage 0 hashes the qname and touches its table slot, stage 1 the node
    the slot leads to, stage 2 the block the qtype selects there (or, for a
    routed name, its policy set and candidates), stage 3 the candidates'
    blocks.  Only the exact-match path of the public zones is warmed (a
    query a private view answers just gets no head start); anything else is
    left to the answer."""
    cdef const image_t* img = <const image_t*>image
    cdef size_t off = 12
    cdef uint32_t total = 0, n, i, probes, ref
    cdef uint8_t key[256]
    cdef const uint8_t* nd
    cdef const pset_t* ps
    cdef const cand_t* c
    if stage == 0:
        hint.qname_len = 0
        hint.ref = NONE
        if qlen < 17 or (q[2] & 0x80):
            return
        while True:
            if off >= qlen:  # a name that runs to the end: nothing past it is ours to read
                return
            n = q[off]
            if n & 0xC0 or total + n + 1 > 255 or off + 1 + n > qlen:
                return
            total += n + 1
            off += n + 1
            if n == 0:
                break
        if off + 2 > qlen:
            return
        lower_copy(key, q + 12, total)
        hint.hash = zf_hash(key, total)
        hint.qname_len = total
        hint.qtype = (q[off] << 8) | q[off + 1]
        __builtin_prefetch(&img.table[<uint32_t>((<uint64_t>hint.hash * img.tsize) >> 32)])
    elif stage == 1:
        if hint.qname_len == 0:
            return
        i = <uint32_t>((<uint64_t>hint.hash * img.tsize) >> 32)
        for probes in range(8):
            if img.table[i].node == NONE:
                return
            if img.table[i].hash == hint.hash:
                hint.ref = img.table[i].node
                __builtin_prefetch(img.nodes + hint.ref)
                __builtin_prefetch(img.nodes + hint.ref + 64)
                return
            i += 1
            if i == img.tsize:
                i = 0
    elif stage == 2:
        if hint.ref == NONE:
            return
        nd = img.nodes + hint.ref
        hint.ref = NONE
        if nd[1] & REDIRECT_FLAGS:
            return
        ref = type_block(img, nd, hint.qtype)
        if ref & PSET_BIT:
            if (ref & ~PSET_BIT) < img.npsets:
                ps = &img.psets[ref & ~PSET_BIT]
                __builtin_prefetch(ps)
                __builtin_prefetch(&img.cands[ps.cand_off])
                hint.ref = ref  # stage 3 follows the candidates
            return
        __builtin_prefetch(img.blocks + ref)
        __builtin_prefetch(img.blocks + ref + 64)
    elif hint.ref != NONE:
        ps = &img.psets[hint.ref & ~PSET_BIT]
        if ps.prefix != NONE:
            __builtin_prefetch(img.blocks + ps.prefix)
        for i in range(ps.ncand if ps.ncand < 8 else 8):
            c = &img.cands[ps.cand_off + i]
            if c.ref & PSET_BIT:
                if (c.ref & ~PSET_BIT) < img.npsets:
                    __builtin_prefetch(&img.psets[c.ref & ~PSET_BIT])
            else:
                __builtin_prefetch(img.blocks + c.ref)


# ---- loading -----------------------------------------------------------------

from zonefront.snapshot.layout import ARRAY_NAMES as ARRAYS
GEO_ARRAYS = ("geo4", "geo6", "geolocs")
# the streams a change appends to, and the least room a growable arena
# leaves after each (at least as much again as the stream holds)
APPENDABLE = {"nodes": 4 << 20, "blocks": 8 << 20, "dnames": 64 << 10, "psets": 256 << 10,
              "cands": 512 << 10}


cdef inline size_t node_size(const uint8_t* nd) noexcept nogil:
    return <size_t>(node_name(nd) - nd) + nd[0] + 6 * <size_t>le16(nd + 2)


cdef inline void mark(uint8_t* starts, size_t off) noexcept nogil:
    """Records a record start in a walk's bitmap (none when NULL)."""
    if starts != NULL:
        starts[off >> 3] |= <uint8_t>(1 << (off & 7))


cdef int walk_nodes(const uint8_t* p, size_t n, uint8_t* starts, uint32_t* count) noexcept nogil:
    """Checks that the node stream is whole records; marks each start in
    `starts` (a bitmap, or NULL) and counts them.  0, or -1 when malformed."""
    cdef size_t off = 0, size
    cdef uint32_t k = 0
    cdef const uint8_t* nd
    while off < n:
        if n - off < NODE_HEAD:
            return -1
        nd = p + off
        if nd[0] == 0 or ((nd[1] & F_ANY_FIRST) and le16(nd + 2) == 0):
            return -1
        if <size_t>(node_name(nd) - nd) > n - off:
            return -1
        size = node_size(nd)
        if size > n - off:
            return -1
        mark(starts, off)
        k += 1
        off += size
    count[0] = k
    return 0


cdef inline int signed_twin_ok(const uint8_t* p, const uint8_t* starts, size_t off,
                               uint32_t twin, uint8_t forbidden) noexcept nogil:
    """A DO twin (dnssec/signer.py) or a twin's prefix is an earlier block
    record without a twin of its own (and a prefix without a prefix), so a
    signed answer is at most two records away."""
    return twin < off and (starts[twin >> 3] >> (twin & 7)) & 1 and \
        not (p[twin + 11] & forbidden)


cdef int walk_blocks(const uint8_t* p, size_t n, uint8_t* starts, uint32_t* count,
                     uint32_t nrows) noexcept nogil:
    """The same for the block stream, with each block's fixups and
    additional-section table checked against its length, and serial fixups
    against the `nrows` zone rows."""
    cdef size_t off = 0, size, online
    cdef uint32_t k = 0, length, nfix, ar, i, fx
    cdef const uint8_t* b
    cdef const uint8_t* ext
    while off < n:
        if n - off < BLOCK_HEAD:
            return -1
        b = p + off
        length = le16(b)
        nfix = le16(b + 2)
        ar = le16(b + 8)
        size = BLOCK_HEAD + 4 * <size_t>nfix + length + (4 + 2 * <size_t>ar if ar else 0) + \
            (4 if b[11] & BF_SIGNED else 0) + (4 if b[11] & BF_PREFIX else 0)
        if size > n - off:
            return -1
        online = 0
        if b[11] & BF_ONLINE:  # a twin's template: in bounds and well-formed
            if b[11] & BF_SIGNED or size + 2 > n - off or size + 2 + le16(b + size) > n - off \
                    or zfdeny_check(b + size + 2, le16(b + size)) != 0:
                return -1
            online = 2 + le16(b + size)
        if b[11] & BF_SIGNED and b[11] & BF_PREFIX:
            return -1  # a prefix belongs to a twin, which has no twin
        if b[11] & BF_SIGNED and not signed_twin_ok(p, starts, off, le32(b + size - 4),
                                                     BF_SIGNED):
            return -1
        if b[11] & BF_PREFIX and not signed_twin_ok(p, starts, off, le32(b + size - 4),
                                                     BF_SIGNED | BF_PREFIX):
            return -1
        size += online
        for i in range(nfix):
            fx = le32(b + BLOCK_HEAD + 4 * i)
            if ((fx >> 16) & (FIX_BLOCK | FIX_SERIAL)) == FIX_SERIAL:
                if (fx & 0xFFFF) + 4 > length or ((fx >> 16) & FIX_ROW_MASK) >= nrows:
                    return -1
            elif (fx & 0xFFFF) + 2 > length:
                return -1
        if ar:
            ext = b + BLOCK_HEAD + 4 * nfix + length
            if le16(ext) > length or le16(ext + 2) > ar:
                return -1
            for i in range(ar):
                if le16(ext + 4 + 2 * i) > length:
                    return -1
        mark(starts, off)
        k += 1
        off += size
    count[0] = k
    return 0


cdef inline int marked(const uint8_t* starts, size_t n, uint32_t off) noexcept nogil:
    return off < n and (starts[off >> 3] >> (off & 7)) & 1


cdef class Image:
    """One compiled zone set, immutable once built: the arrays copied into
    one arena (zfarena.h) with the name hash table after them."""

    def __cinit__(self):
        self.ptr = NULL
        self.arena_base = NULL
        self.table_base = NULL
        self._block_starts = NULL
        self._node_starts = NULL
        self.img.table = NULL
        self.img.views = NULL
        self.img.nviews = 0

    def __init__(self, dict arrays, zones=None, int udp_max=OUR_UDP_PAYLOAD, *,
                 bint release_source=False, bint growable=False):
        """`release_source`: the arrays are views of a mapped file (a
        snapshot, format.read); their pages are dropped from this process
        as they are copied, which keeps a load's peak memory near the
        image's own size.  Never for arrays in ordinary memory.

        `growable`: reserve room after each record stream so that patch()
        can append a change's records; such an arena is not sealed
        read-only, since later patches write past what is served."""
        cdef const uint8_t[::1] mv
        cdef uint32_t n = 0, size, i, h, j
        cdef size_t off
        cdef const uint8_t* nd
        for k in ARRAYS:
            if not isinstance(arrays.get(k), (bytes, memoryview)):
                raise ValueError(f"image array {k!r} missing or not bytes")
        if not 512 <= udp_max <= 65535:
            raise ValueError("udp_max must be within 512..65535")
        if len(arrays["nodes"]) >= PSET_BIT or len(arrays["blocks"]) >= PSET_BIT:
            raise ValueError("image streams exceed 2 GiB")
        if len(arrays["negatives"]) % 8 or len(arrays["dnames"]) % sizeof(dname_t):
            raise ValueError("image arrays have a partial record")
        if len(arrays["serials"]) != len(arrays["negatives"]) // 2:
            raise ValueError("image serials do not match its zones")
        self.img.udp_max = udp_max
        self.zones = zones or []
        self._arena_map(arrays, release_source, growable)
        self.img.nodes = self._addr("nodes")
        if walk_nodes(self.img.nodes, len(arrays["nodes"]), NULL, &n) != 0:
            raise ValueError("image node records are malformed")
        if len(arrays["live"]) % 4:
            raise ValueError("image live index has a partial entry")
        if len(arrays["live"]):
            n = len(arrays["live"]) // 4  # the named records; the rest were replaced
        self.img.nnodes = n
        self.img.blocks = self._addr("blocks")
        self.img.negatives = <const uint32_t*>self._addr("negatives")
        self.img.nneg = len(arrays["negatives"]) // 8
        self.img.serials = <const uint32_t*>self._addr("serials")
        self.img.dnames = <const dname_t*>self._addr("dnames")
        self.img.psets = <const pset_t*>self._addr("psets")
        self.img.npsets = len(arrays["psets"]) // sizeof(pset_t)
        self.img.cands = <const cand_t*>self._addr("cands")
        self.img.colls = <const coll_t*>self._addr("colls")
        self.img.cidr4 = <const range4_t*>self._addr("cidr4")
        self.img.cidr6 = <const range6_t*>self._addr("cidr6")
        self.img.regions = <const region_t*>self._addr("regions")
        self.img.nregions = len(arrays["regions"]) // sizeof(region_t)
        self.img.ngeo4 = self.img.ngeo6 = self.img.ngeolocs = self.img.nhealth = 0
        self.img.health = NULL
        self.img.views = NULL
        self.img.nviews = self.img.nview4 = self.img.nview6 = 0
        self._validate(arrays)
        cdef const uint32_t* live = NULL
        if len(arrays["live"]):
            live = <const uint32_t*>self._addr("live")
        size = n + n // 3 + 16  # load factor at most 3/4
        if growable:
            size += n // 2  # names a change adds fit without rehashing at once
        self.table_base = arena_alloc(size * sizeof(slot_t), &self.table_size, &self.table_huge,
                                      <uint8_t**>&self.img.table)
        if self.table_base == NULL:
            raise MemoryError()
        self.img.tsize = size
        with nogil:
            for i in range(size):
                self.img.table[i].node = NONE
            off = 0
            for i in range(n):
                if live != NULL:
                    off = live[i]
                nd = self.img.nodes + off
                h = zf_hash(node_name(nd), nd[0])
                j = <uint32_t>((<uint64_t>h * size) >> 32)
                while self.img.table[j].node != NONE:
                    j += 1
                    if j == size:
                        j = 0
                self.img.table[j].hash = h
                self.img.table[j].node = <uint32_t>off
                off += node_size(nd)
        if not growable:
            arena_seal(self.arena_base, self.arena_size, self.huge)
        arena_seal(self.table_base, self.table_size, self.table_huge)
        self.ptr = &self.img

    cdef const uint8_t* _addr(self, str key):
        return self.arena + <size_t>self._offsets[key]

    cdef _arena_map(self, dict arrays, bint release, bint growable):
        """Copies the arrays into one arena: 64-octet aligned, and on
        transparent huge pages when it is big enough, so the lookups' random
        reads miss the TLB far less.  The hash table gets its own arena once
        the nodes are counted.  A growable arena leaves room after each
        appendable stream (untouched pages cost no memory)."""
        cdef size_t total = 0, off, cap
        cdef const uint8_t[::1] src
        self._offsets = {}
        self._ends = {}
        self._caps = {}
        self._lens = {k: len(arrays[k]) for k in ARRAYS}
        for k in ARRAYS:
            self._offsets[k] = total
            cap = len(arrays[k])
            if growable and k in APPENDABLE:
                self._ends[k] = cap
                cap += max(cap, APPENDABLE[k])
                self._caps[k] = cap
            total += (cap + 63) & ~(<size_t>63)
        self.arena_base = arena_alloc(total, &self.arena_size, &self.huge, &self.arena)
        if self.arena_base == NULL:
            raise MemoryError()
        for k in ARRAYS:
            src = arrays[k]
            if len(src):
                arena_copy(self.arena + <size_t>self._offsets[k], &src[0], len(src), release)
        self.arena_used = total

    def _validate(self, arrays):
        """Every record whole and every reference landing on a record start,
        so a corrupt or hostile snapshot cannot make the hot path read outside
        the arrays."""
        cdef size_t nlen = len(arrays["nodes"]), blen = len(arrays["blocks"])
        cdef size_t ndn = len(arrays["dnames"]) // sizeof(dname_t)
        cdef uint32_t count = 0
        cdef size_t i
        cdef const dname_t* dn
        cdef const uint32_t* live
        self._blocks_len = blen
        try:
            self._block_starts = <uint8_t*>calloc(blen // 8 + 1, 1)
            self._node_starts = <uint8_t*>calloc(nlen // 8 + 1, 1)
            if self._block_starts == NULL or self._node_starts == NULL:
                raise MemoryError()
            if walk_blocks(self.img.blocks, blen, self._block_starts, &count, self.img.nneg) != 0:
                raise ValueError("image block records are malformed")
            self.img.nblocks = count
            for i in range(self.img.nneg):
                if not self._ref_ok(self.img.negatives[2 * i]) or not self._is_block(self.img.negatives[2 * i + 1]):
                    raise ValueError(f"zone {i}: negative answers out of range")
            if walk_nodes(self.img.nodes, nlen, self._node_starts, &count) != 0:
                raise ValueError("image node records are malformed")
            self._validate_nodes(nlen, ndn)
            live = <const uint32_t*>self._addr("live")
            for i in range(len(arrays["live"]) // 4):
                if not marked(self._node_starts, nlen, live[i]):
                    raise ValueError(f"live index entry {i} is not a node")
            for i in range(ndn):
                dn = &self.img.dnames[i]
                if (not self._is_block(dn.block) or
                        dn.target_pos + <size_t>dn.target_len > le16(self.img.blocks + dn.block)):
                    raise ValueError(f"dname {i} out of range")
            self._validate_policy(arrays)
        finally:
            free(self._block_starts)
            free(self._node_starts)
            self._block_starts = self._node_starts = NULL

    cdef _validate_nodes(self, size_t nlen, size_t ndn):
        cdef size_t off = 0
        cdef const uint8_t* nd
        cdef const uint8_t* t
        cdef uint8_t flags
        cdef uint32_t j, wild, redirect
        while off < nlen:
            nd = self.img.nodes + off
            flags = nd[1]
            t = node_name(nd) + nd[0]
            for j in range(le16(nd + 2)):
                if not self._ref_ok(le32(t + 6 * j + 2)):
                    raise ValueError(f"node at {off}: type block out of range")
            if (flags & F_ZONE_NEG) and le16(nd + NODE_HEAD) >= self.img.nneg:
                raise ValueError(f"node at {off}: zone out of range")
            if (not self._ref_ok(node_default(&self.img, nd)) or not self._is_block(node_nx(&self.img, nd))
                    or not self._ref_ok(type_block(&self.img, nd, TYPE_ANY))):
                raise ValueError(f"node at {off}: block out of range")
            wild = node_wild(nd)
            if wild != NONE and not marked(self._node_starts, nlen, wild):
                raise ValueError(f"node at {off}: wildcard out of range")
            if flags & REDIRECT_FLAGS:
                redirect = node_redirect(nd)
                if (flags & (F_BELOW_DNAME | F_HAS_DNAME)) and (flags & (F_CUT | F_OCCLUDED)):
                    raise ValueError(f"node at {off}: both a referral and a DNAME")
                if flags & (F_BELOW_DNAME | F_HAS_DNAME):
                    if redirect >= ndn:
                        raise ValueError(f"node at {off}: dname out of range")
                    # the DNAME's owner is this name or an ancestor: engine_answer
                    # copies the qname's first (qname - owner) octets, which a
                    # longer owner would make a wrapped, 4 GiB memcpy (tests/fuzz)
                    if self.img.dnames[redirect].owner_len > nd[0]:
                        raise ValueError(f"node at {off}: DNAME owner longer than the name")
                elif not self._is_block(redirect):
                    raise ValueError(f"node at {off}: referral out of range")
            off += node_size(nd)

    def _validate_policy(self, arrays):
        cdef uint32_t i, j
        cdef const pset_t* ps
        cdef size_t ncands = len(arrays["cands"]) // sizeof(cand_t)
        cdef size_t ncolls = len(arrays["colls"]) // sizeof(coll_t)
        cdef size_t n4 = len(arrays["cidr4"]) // sizeof(range4_t)
        cdef size_t n6 = len(arrays["cidr6"]) // sizeof(range6_t)
        for i in range(self.img.npsets):
            ps = &self.img.psets[i]
            if (ps.cand_off + <size_t>ps.ncand > ncands or not self._ref_ok(ps.nomatch)
                    or (ps.prefix != NONE and not self._is_block(ps.prefix))
                    or (ps.coll != NONE and ps.coll >= ncolls)):
                raise ValueError(f"pset {i} out of range")
            for j in range(ps.ncand):
                if not self._ref_ok(self.img.cands[ps.cand_off + j].ref):
                    raise ValueError(f"pset {i} candidate out of range")
                if ps.prefix != NONE and self.img.cands[ps.cand_off + j].ref & PSET_BIT:
                    raise ValueError(f"pset {i}: multivalue parts must be blocks")
        for i in range(ncolls):
            if (self.img.colls[i].v4_off + <size_t>self.img.colls[i].v4_n > n4 or
                    self.img.colls[i].v6_off + <size_t>self.img.colls[i].v6_n > n6):
                raise ValueError(f"CIDR collection {i} out of range")

    cdef int _ref_ok(self, uint32_t ref):
        if ref & PSET_BIT:
            return (ref & ~PSET_BIT) < self.img.npsets
        return self._is_block(ref)

    cdef int _is_block(self, uint32_t ref):
        """Only while validating: `ref` is the offset of a block record."""
        return marked(self._block_starts, self._blocks_len, ref)

    def node_offset(self, bytes key):
        """The offset of the node record for a lower-cased wire name, or
        None: the incremental compiler asks where an unchanged node is."""
        cdef uint32_t h = zf_hash(<const uint8_t*>key, len(key))
        cdef uint32_t i = <uint32_t>((<uint64_t>h * self.img.tsize) >> 32)
        cdef const uint8_t* nd
        # not find_node(): a third caller would make the compiler stop
        # inlining it into the answer path
        while self.img.table[i].node != NONE:
            nd = self.img.nodes + self.img.table[i].node
            if self.img.table[i].hash == h and nd[0] == len(key) and \
                    names_equal(node_name(nd), <const uint8_t*>key, len(key)):
                return self.img.table[i].node
            i += 1
            if i == self.img.tsize:
                i = 0
        return None

    def stream_ends(self):
        """Octets in use of each appendable stream (shared by every image
        patched from the same arena): where a change's records will go."""
        root = self._owner if self._owner is not None else self
        return dict((<Image>root)._ends)

    def patch(self, dict tail, bytes negatives, bytes serials, list updates, zones=None):
        """A new Image: this one plus a change.  `tail` holds records to
        append to the appendable streams, their references already absolute
        (made against stream_ends()); `negatives` and `serials` replace the
        per-zone rows; `updates` is [(name key, node offset or None)], None
        removing the name.  This image keeps answering as before: nothing it
        reads is written, the new records go past its ends and the new image
        gets its own hash table.  Raises OverflowError when the reserved
        room is used up (compile in full then), ValueError for a malformed
        change; in both cases nothing is appended."""
        cdef Image root = self._owner if self._owner is not None else self
        cdef Image new
        cdef const uint8_t[::1] src
        cdef uint32_t count = 0, nrows, i, ref
        cdef size_t off, nlen
        cdef const uint8_t* nd
        cdef const uint8_t* t
        cdef uint32_t j
        if not root._caps:
            raise ValueError("image was not built growable")
        if len(negatives) % 8 or len(serials) != len(negatives) // 2:
            raise ValueError("negatives and serials do not match")
        nrows = len(negatives) // 8
        ends = dict(root._ends)
        for k, data in tail.items():
            if k not in APPENDABLE:
                raise ValueError(f"{k!r} is not an appendable stream")
            if ends[k] + len(data) > root._caps[k]:
                raise OverflowError(f"no room left in the {k} stream")
        new_ends = {k: ends[k] + len(tail.get(k, b"")) for k in ends}
        if new_ends["nodes"] >= PSET_BIT or new_ends["blocks"] >= PSET_BIT:
            raise OverflowError("image streams exceed 2 GiB")
        # the appended records must be whole records before anything is copied
        tb = tail.get("blocks", b"")
        tn = tail.get("nodes", b"")
        if walk_blocks(<const uint8_t*>tb, len(tb), NULL, &count, nrows) != 0:
            raise ValueError("patch block records are malformed")
        if walk_nodes(<const uint8_t*>tn, len(tn), NULL, &count) != 0:
            raise ValueError("patch node records are malformed")
        if len(tail.get("psets", b"")) % sizeof(pset_t) or \
                len(tail.get("cands", b"")) % sizeof(cand_t) or \
                len(tail.get("dnames", b"")) % sizeof(dname_t):
            raise ValueError("patch arrays have a partial record")
        for i in range(nrows):
            for j in range(2):
                ref = (<const uint32_t*><const uint8_t*>negatives)[2 * i + j]
                if ref & PSET_BIT or ref >= new_ends["blocks"]:
                    raise ValueError(f"zone row {i}: negative answers out of range")
        off = 0
        nlen = len(tn)
        while off < nlen:
            nd = <const uint8_t*>tn + off
            if (nd[1] & F_ZONE_NEG) and le16(nd + NODE_HEAD) >= nrows:
                raise ValueError("patch node names a zone row that is not there")
            t = node_name(nd) + nd[0]
            for j in range(le16(nd + 2)):
                ref = le32(t + 6 * j + 2)
                if (ref & PSET_BIT and (ref & ~PSET_BIT) * sizeof(pset_t) >= new_ends["psets"]) \
                        or (not ref & PSET_BIT and ref >= new_ends["blocks"]):
                    raise ValueError("patch node refers past the streams")
            if node_wild(nd) != NONE and node_wild(nd) >= new_ends["nodes"]:
                raise ValueError("patch node's wildcard refers past the streams")
            off += node_size(nd)
        for k, data in tail.items():
            if len(data):
                src = data
                memcpy(root.arena + <size_t>root._offsets[k] + <size_t>ends[k], &src[0], len(data))
        root._ends = new_ends

        new = Image.__new__(Image)
        new.img = self.img
        new.img.views = NULL
        new.img.nviews = new.img.nview4 = new.img.nview6 = 0
        new._owner = root
        new.arena = root.arena
        new.arena_used = root.arena_used
        new._offsets = root._offsets
        new._version = (negatives, serials)
        new.img.negatives = <const uint32_t*><const uint8_t*>negatives
        new.img.serials = <const uint32_t*><const uint8_t*>serials
        new.img.nneg = nrows
        new.img.npsets = new_ends["psets"] // sizeof(pset_t)
        new._lens = dict(self._lens, negatives=len(negatives), serials=len(serials))
        new._lens.update({k: new_ends[k] for k in APPENDABLE})
        new.zones = zones if zones is not None else self.zones
        new._patch_table(self, updates)
        new._geo = self._geo
        new._health = self._health
        if self._views is not None:
            new.set_views(list(zip(self._views[0], self._views[2])))
        new.ptr = &new.img
        return new

    def export_arrays(self, bint compact=True):
        """The arrays of what this image answers, loadable as a new Image or
        written as a snapshot.  `compact`: the node records its hash table
        names, in stream order, with wildcard references moved to match (a
        patched image's stream also holds the records its changes replaced);
        otherwise the streams exactly as they are, with a "live" index of the
        named records, so that the patches made after this one apply to the
        copy too (edges).  The other arrays as they are (an unreferenced
        block costs room only).  The walk runs without the GIL: a million
        names take a second, and the threads applying changes go on."""
        cdef uint32_t i, j, k = 0, wild, lo, hi, mid
        cdef size_t pos = 0, n
        cdef const uint8_t* nd
        cdef uint8_t* out
        cdef uint32_t* live = <uint32_t*>malloc(<size_t>self.img.tsize * 4 + 4)
        cdef uint32_t* moved = NULL
        if live == NULL:
            raise MemoryError()
        try:
            with nogil:
                for i in range(self.img.tsize):
                    if self.img.table[i].node != NONE:
                        live[k] = self.img.table[i].node
                        k += 1
                qsort(live, k, 4, cmp_u32)
            if not compact:
                arrays = self._arrays_as_held(("live",))
                arrays["live"] = (<const uint8_t*>live)[:<size_t>k * 4]
                return arrays
            moved = <uint32_t*>malloc(<size_t>k * 4 + 4)
            if moved == NULL:
                raise MemoryError()
            with nogil:
                for j in range(k):
                    moved[j] = <uint32_t>pos
                    pos += node_size(self.img.nodes + live[j])
            nodes = bytearray(pos)
            out = nodes
            with nogil:
                pos = 0
                for j in range(k):
                    nd = self.img.nodes + live[j]
                    n = node_size(nd)
                    memcpy(out + pos, nd, n)
                    wild = node_wild(nd)
                    if wild != NONE:
                        lo = 0  # the wildcard child is live: find its new place
                        hi = k
                        while lo < hi:
                            mid = (lo + hi) >> 1
                            if live[mid] < wild:
                                lo = mid + 1
                            else:
                                hi = mid
                        ZF_ASSERT(lo < k and live[lo] == wild)
                        memcpy(out + pos + node_opt(nd, 2), &moved[lo], 4)  # little-endian
                    pos += n
        finally:
            free(live)
            free(moved)
        arrays = self._arrays_as_held(("nodes", "live"))
        arrays["nodes"] = bytes(nodes)
        arrays["live"] = b""
        return arrays

    def _arrays_as_held(self, tuple but):
        """Every array but `but` as this image answers from it: the streams'
        used part, and this image's own negatives and serials."""
        arrays = {key: (self.arena + <size_t>self._offsets[key])[:self._lens[key]]
                  for key in ARRAYS if key not in ("negatives", "serials") and key not in but}
        arrays["negatives"] = (<const uint8_t*>self.img.negatives)[:self._lens["negatives"]]
        arrays["serials"] = (<const uint8_t*>self.img.serials)[:self._lens["serials"]]
        return arrays

    cdef _patch_table(self, Image old, list updates):
        """This image's hash table: the old one copied (or grown), then the
        updates applied.  Deleting backward-shifts the probe run behind the
        emptied slot, so no tombstones build up over many patches."""
        cdef uint32_t size = old.img.tsize, n = old.img.nnodes, i, j, h, k, home
        cdef uint32_t grow = 0
        cdef slot_t* table
        cdef bytes key
        cdef uint32_t inserts = 0
        cdef const uint8_t* nd
        for key, off in updates:
            if off is not None:
                inserts += 1
        if (<uint64_t>(n + inserts)) * 4 > (<uint64_t>size) * 3:
            size = (n + inserts) + (n + inserts) // 3 + 16
            size += size // 2  # room for the next patches before growing again
            grow = 1
        self.table_base = arena_alloc(size * sizeof(slot_t), &self.table_size, &self.table_huge,
                                      <uint8_t**>&table)
        if self.table_base == NULL:
            raise MemoryError()
        self.img.table = table
        self.img.tsize = size
        with nogil:
            if not grow:
                memcpy(table, old.img.table, size * sizeof(slot_t))
            else:
                for i in range(size):
                    table[i].node = NONE
                for i in range(old.img.tsize):
                    if old.img.table[i].node != NONE:
                        j = <uint32_t>((<uint64_t>old.img.table[i].hash * size) >> 32)
                        while table[j].node != NONE:
                            j += 1
                            if j == size:
                                j = 0
                        table[j] = old.img.table[i]
        for key, off in updates:
            h = zf_hash(<const uint8_t*>key, len(key))
            j = <uint32_t>((<uint64_t>h * size) >> 32)
            while table[j].node != NONE:
                nd = self.img.nodes + table[j].node
                if table[j].hash == h and nd[0] == len(key) and \
                        names_equal(node_name(nd), <const uint8_t*>key, len(key)):
                    break
                j += 1
                if j == size:
                    j = 0
            if off is not None:
                if table[j].node == NONE:
                    n += 1
                table[j].hash = h
                table[j].node = <uint32_t>off
            elif table[j].node != NONE:
                n -= 1
                table[j].node = NONE
                # backward shift: pull later entries of the run into the hole
                i = j
                k = j
                while True:
                    k += 1
                    if k == size:
                        k = 0
                    if table[k].node == NONE:
                        break
                    home = <uint32_t>((<uint64_t>table[k].hash * size) >> 32)
                    # leave an entry whose home lies cyclically in (i, k]
                    if (i <= k and i < home <= k) or (i > k and (home > i or home <= k)):
                        continue
                    table[i] = table[k]
                    table[k].node = NONE
                    i = k
        ZF_ASSERT(n < size)  # linear probing needs an empty slot to end every probe
        self.img.nnodes = n

    def attach(self, geo=None, health=None):
        """Give routing its inputs: GeoIP arrays (geo.GeoDB.arrays()) and the
        health table's buffer (health.table.HealthTable.buffer, never
        resized, read without locks).  Call before serving the image."""
        if geo is not None:
            arrays = geo if isinstance(geo, dict) else geo.arrays()
            for k in GEO_ARRAYS:
                if not isinstance(arrays.get(k), bytes):
                    raise ValueError(f"geo array {k!r} missing")
            nlocs = len(arrays["geolocs"]) // sizeof(geoloc_t)
            self._geo = {k: arrays[k] for k in GEO_ARRAYS}
            self.img.geo4 = <const range4_t*><const uint8_t*>self._geo["geo4"]
            self.img.geo6 = <const range6_t*><const uint8_t*>self._geo["geo6"]
            self.img.geolocs = <const geoloc_t*><const uint8_t*>self._geo["geolocs"]
            self.img.ngeolocs = nlocs
            self.img.ngeo4 = len(arrays["geo4"]) // sizeof(range4_t)
            self.img.ngeo6 = len(arrays["geo6"]) // sizeof(range6_t)
        if health is not None:
            buf = health.buffer if hasattr(health, "buffer") else health
            if not isinstance(buf, bytearray):
                raise TypeError("health must be a HealthTable or its bytearray")
            self._health = buf
            self.img.health = <const uint8_t*><char*>buf
            self.img.nhealth = len(buf)
        return self

    def set_views(self, list views):
        """Attach private views: [(Image, [cidr, ...]), ...]; a source in a
        view's networks is answered from it first (longest prefix wins).
        Call before the image is served; views are not themselves viewed."""
        from ..cidr import flatten

        cdef const image_t** arr
        cdef Image v
        cdef uint32_t i
        blocks = []
        for i, (view, cidrs) in enumerate(views):
            if not isinstance(view, Image):
                raise TypeError("views must be core._engine.Image objects")
            blocks += [(c, i) for c in cidrs]
        flat = flatten(blocks) if blocks else {"v4": b"", "v6": b""}
        arr = <const image_t**>calloc(len(views) + 1, sizeof(void*))
        if arr == NULL:
            raise MemoryError()
        for i in range(len(views)):
            v = views[i][0]
            arr[i] = &v.img
        if self.img.views != NULL:
            free(<void*>self.img.views)
        self._views = ([v for v, _ in views], flat, [list(c) for _, c in views])
        self.img.views = arr
        self.img.nviews = len(views)
        self.img.view4 = <const range4_t*><const uint8_t*>flat["v4"]
        self.img.nview4 = len(flat["v4"]) // sizeof(range4_t)
        self.img.view6 = <const range6_t*><const uint8_t*>flat["v6"]
        self.img.nview6 = len(flat["v6"]) // sizeof(range6_t)
        return self

    def __dealloc__(self):
        if self.img.views != NULL:
            free(<void*>self.img.views)
            self.img.views = NULL
        self.img.table = NULL
        if self.table_base != NULL:
            arena_free(self.table_base, self.table_size, self.table_huge)
            self.table_base = NULL
        if self.arena_base != NULL:
            arena_free(self.arena_base, self.arena_size, self.huge)
            self.arena_base = NULL
        self.ptr = NULL

    @property
    def node_count(self):
        return self.img.nnodes

    @property
    def block_count(self):
        return self.img.nblocks

    def memory(self):
        """Octets held: the arrays plus the hash table."""
        return self.arena_used + self.img.tsize * sizeof(slot_t)

    def answer(self, const uint8_t[::1] query, bint tcp=False, client=None, uint32_t seed=0):
        """Answer one query (for embedding and tests); b"" means no reply.
        `client` is the source address ("192.0.2.1", "2001:db8::1") that
        routing decides on when the query carries no Client Subnet option;
        `seed` stands for the socket loop's per-batch randomness."""
        cdef uint8_t* out
        cdef size_t n
        cdef zf_qctx_t ctx
        cdef size_t qlen = query.shape[0]
        cdef const uint8_t* qp = <const uint8_t*>b"\0"
        cdef const uint8_t* sp
        if qlen:
            qp = &query[0]
        sa = sockaddr_bytes(client)
        ctx.src = NULL
        if sa is not None:
            sp = sa
            ctx.src = sp
        ctx.seed = seed
        ctx.tcp = 1 if tcp else 0
        ctx.stats = NULL
        buf = bytearray(65535)
        out = buf
        with nogil:
            n = engine_answer(&self.img, qp, qlen, out, 65535, &ctx)
        return bytes(buf[:n])

    def answer_many(self, list queries, int rounds=1, int stage=2, size_t stats=0):
        """Run `rounds` passes over the queries in one nogil loop, for the
        micro-benchmarks: stage 0 parses only, 1 parses and looks up,
        2 answers in full, 3 answers in full in batches of 64 with
        engine_prefetch's stages run over each batch first, as the UDP loop
        does.  Returns a checksum so nothing is optimised out.  `stats`:
        the address of a dataplane._stats.Counters' C counters
        (Counters.address), to measure what counting costs."""
        cdef uint8_t* out
        cdef zf_qctx_t ctx
        cdef query_t qr
        cdef uint32_t blk, dn, node
        cdef size_t total = 0
        cdef int r, i, j, pstage, nq = len(queries)
        cdef zf_hint_t hints[64]
        cdef const uint8_t** qp = <const uint8_t**>calloc(nq + 1, sizeof(void*))
        cdef size_t* ql = <size_t*>calloc(nq + 1, sizeof(size_t))
        if qp == NULL or ql == NULL:
            free(qp)
            free(ql)
            raise MemoryError()
        ctx.src = NULL
        ctx.seed = 0
        ctx.tcp = 0
        ctx.stats = <void*>stats
        buf = bytearray(65535)
        out = buf
        try:
            for i in range(nq):
                if len(queries[i]) < 12:
                    raise ValueError("benchmark queries must be well-formed")
                qp[i] = <const uint8_t*>(<bytes>queries[i])
                ql[i] = len(queries[i])
            with nogil:
                for r in range(rounds):
                    if stage == 3:
                        for i in range(0, nq, 64):
                            for pstage in range(ZF_PREFETCH_STAGES):
                                for j in range(i, min(i + 64, nq)):
                                    engine_prefetch(&self.img, qp[j], ql[j], &hints[j - i], pstage)
                            for j in range(i, min(i + 64, nq)):
                                total += engine_answer(&self.img, qp[j], ql[j], out, 65535, &ctx)
                        continue
                    for i in range(nq):
                        if stage == 2:
                            total += engine_answer(&self.img, qp[i], ql[i], out, 65535, &ctx)
                        elif parse_query(qp[i], ql[i], &qr) == 0:
                            total += qr.qname_len
                            if stage == 1:
                                total += find_answer(&self.img, &qr, &blk, &dn, &node) + blk
        finally:
            free(qp)
            free(ql)
        return total


def answer_batched(Image image, list queries):
    """Answers as the UDP loop does (engine_prefetch's stages over each batch
    of 64, then engine_answer for each query), returning every response: the
    tests hold it to answer(), query by query."""
    cdef int nq = len(queries), i, j, pstage
    cdef zf_hint_t hints[64]
    cdef zf_qctx_t ctx
    cdef size_t* lens = <size_t*>calloc(nq + 1, sizeof(size_t))
    cdef uint8_t* outs = <uint8_t*>calloc(<size_t>nq * 65535 + 1, 1)
    cdef const uint8_t** qp = <const uint8_t**>calloc(nq + 1, sizeof(void*))
    cdef size_t* ql = <size_t*>calloc(nq + 1, sizeof(size_t))
    ctx.src = NULL
    ctx.seed = 0
    ctx.tcp = 0
    ctx.stats = NULL
    try:
        if lens == NULL or outs == NULL or qp == NULL or ql == NULL:
            raise MemoryError()
        for i in range(nq):
            qp[i] = <const uint8_t*>(<bytes>queries[i])
            ql[i] = len(queries[i])
        with nogil:
            for i in range(0, nq, 64):
                for pstage in range(ZF_PREFETCH_STAGES):
                    for j in range(i, min(i + 64, nq)):
                        engine_prefetch(image.ptr, qp[j], ql[j], &hints[j - i], pstage)
                for j in range(i, min(i + 64, nq)):
                    lens[j] = engine_answer(image.ptr, qp[j], ql[j], outs + <size_t>j * 65535, 65535, &ctx)
        return [(<char*>outs)[<size_t>i * 65535 : <size_t>i * 65535 + lens[i]] for i in range(nq)]
    finally:
        free(lens)
        free(outs)
        free(<void*>qp)
        free(ql)


def sockaddr_bytes(client):
    """A sockaddr_in/sockaddr_in6 for an address string (None: no source)."""
    import socket
    import struct as _struct
    import sys as _sys

    if client is None:
        return None
    fam = _struct.pack("=H", socket.AF_INET)
    if ":" in client:
        fam = _struct.pack("=H", socket.AF_INET6)
        return fam + b"\x00\x35" + bytes(4) + socket.inet_pton(socket.AF_INET6, client) + bytes(4)
    return fam + b"\x00\x35" + socket.inet_pton(socket.AF_INET, client) + bytes(8)
