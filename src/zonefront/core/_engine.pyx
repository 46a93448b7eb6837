# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The compiled answer path: parse -> find node -> pick block -> relocate.

Everything per query is C with no Python object: the socket loops call
engine_answer() with the GIL released.  The answer logic itself was run at
compile time (snapshot/compiler.py); here a query costs one parse, one to a
few hash probes and one memcpy.  ref/engine.py is the readable twin and
tests/differential compare the two byte for byte.
"""
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdint cimport uint8_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcmp, memcpy

cdef extern from "zfhash.h":
    uint32_t zf_hash(const uint8_t* p, size_t n) nogil

cdef uint8_t LOWER[256]
for _i in range(256):
    LOWER[_i] = _i + 32 if 65 <= _i <= 90 else _i


cdef inline uint16_t ld16(const uint8_t* p) noexcept nogil:
    return (p[0] << 8) | p[1]


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
        if total + 1 > 255:
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
    qr.has_ecs = 0
    while True:
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
        qr.key[total] = n
        for i in range(n):
            qr.key[total + 1 + i] = LOWER[q[off + 1 + i]]
        total += n + 1
        off += n + 1
        if n == 0:
            break
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

cdef inline uint32_t find_node(const image_t* img, const uint8_t* key, uint32_t n) noexcept nogil:
    cdef uint32_t h = zf_hash(key, n)
    cdef uint32_t i = h & img.mask
    cdef const node_t* node
    while True:
        if img.table[i].node == NONE:
            return NONE
        if img.table[i].hash == h:
            node = &img.nodes[img.table[i].node]
            if node.name_len == n and memcmp(img.names + node.name_off, key, n) == 0:
                return img.table[i].node
        i = (i + 1) & img.mask


cdef inline uint32_t type_block(const image_t* img, const node_t* node, uint16_t qtype) noexcept nogil:
    cdef uint32_t i
    cdef const type_entry_t* t = img.types + node.types_off
    if qtype == TYPE_ANY:
        return node.any_block
    for i in range(node.ntypes):
        if t[i].qtype == qtype:
            return t[i].block
    return node.default_block


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


cdef inline size_t write_opt(const query_t* qr, uint8_t* p, uint32_t rcode, uint16_t udp_max) noexcept nogil:
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
        p[18] = 0  # scope: static answers do not depend on the client
        memcpy(p + 19, qr.ecs_addr, qr.ecs_addr_len)
        n += 8 + qr.ecs_addr_len
    else:
        st16(p + 9, 0)
    return n


cdef inline ssize_t put_block(const image_t* img, const block_t* blk, uint8_t* r, size_t pos,
                              size_t room, uint32_t qname_off, uint32_t qname_len,
                              uint16_t* counts) noexcept nogil:
    """Copy a block after the question and relocate its pointers; drops
    optional additional RRs that do not fit.  Returns the octets written,
    or -1 when the required part does not fit (the caller sets TC)."""
    cdef size_t n = blk.len
    cdef uint32_t ar = blk.ar
    cdef uint32_t i, fx, fpos, val
    cdef const uint16_t* ends
    if n > room:
        ends = img.ar_ends + blk.ar_off
        ar = blk.ar
        while ar > blk.ar_required:
            ar -= 1
            n = ends[ar - 1] if ar > 0 else blk.ar_start
            if n <= room:
                break
        if n > room:
            return -1
    memcpy(r + pos, img.data + blk.data_off, n)
    for i in range(blk.nfix):
        fx = img.fixups[blk.fix_off + i]
        fpos = fx & 0xFFFF
        if fpos >= n:
            continue
        val = fx >> 16
        if val & FIX_BLOCK:
            val = pos + (val & 0x7FFF)
        elif val == 0:
            val = qname_off
        else:
            val = qname_off + qname_len - val
        st16(r + pos + fpos, 0xC000 | val)
    counts[0] = blk.an
    counts[1] = blk.ns
    counts[2] = ar
    return n


cdef inline void set_key(query_t* nq, const uint8_t* name, uint32_t n) noexcept nogil:
    """Lower-cased key and label offsets of an uncompressed wire name that
    the engine itself wrote (so known to be well-formed)."""
    cdef uint32_t off = 0, i
    nq.nlabels = 0
    nq.qname_len = n
    while off < n:
        nq.label_off[nq.nlabels] = off
        nq.nlabels += 1
        nq.key[off] = name[off]
        for i in range(name[off]):
            nq.key[off + 1 + i] = LOWER[name[off + 1 + i]]
        if name[off] == 0:
            break
        off += 1 + name[off]


cdef inline uint32_t find_answer(const image_t* img, const query_t* qr, uint32_t* blk_out,
                                 uint32_t* dname_out) noexcept nogil:
    """Pick what answers: a block, a DNAME to synthesize from, or only an
    rcode.  The same decisions as ref/engine.py's decide()."""
    cdef uint32_t idx, i, rcode = 0
    cdef uint32_t blk_idx = NONE, dname_idx = NONE
    cdef const node_t* node
    if qr[0].edns and qr[0].edns_version > 0:
        rcode = 16  # BADVERS, RFC 6891 §6.1.3
    elif (qr[0].qclass != 1 and qr[0].qclass != 255) or qr[0].qtype == TYPE_AXFR or qr[0].qtype == TYPE_IXFR:
        rcode = RCODE_REFUSED
    else:
        idx = find_node(img, qr[0].key, qr[0].qname_len)
        if idx != NONE:
            node = &img.nodes[idx]
            if node.flags & F_OCCLUDED:
                blk_idx = node.redirect
            elif node.flags & F_BELOW_DNAME:
                dname_idx = node.redirect
            elif (node.flags & F_CUT) and qr[0].qtype != TYPE_DS:
                blk_idx = node.redirect
            else:
                blk_idx = type_block(img, node, qr[0].qtype)
        else:
            rcode = RCODE_REFUSED
            for i in range(1, qr[0].nlabels):
                idx = find_node(img, qr[0].key + qr[0].label_off[i], qr[0].qname_len - qr[0].label_off[i])
                if idx == NONE:
                    continue
                rcode = 0
                node = &img.nodes[idx]
                if node.flags & (F_OCCLUDED | F_CUT):
                    blk_idx = node.redirect
                elif node.flags & (F_BELOW_DNAME | F_HAS_DNAME):
                    dname_idx = node.redirect
                elif node.wild != NONE:
                    node = &img.nodes[node.wild]
                    if node.flags & F_CUT:
                        blk_idx = node.redirect
                    else:
                        blk_idx = type_block(img, node, qr[0].qtype)
                else:
                    blk_idx = node.nx_block
                break

    blk_out[0] = blk_idx
    dname_out[0] = dname_idx
    return rcode


cdef size_t engine_answer(const void* image, const uint8_t* q, size_t qlen,
                          uint8_t* r, size_t cap, const zf_qctx_t* ctx) noexcept nogil:
    cdef const image_t* img = <const image_t*>image
    cdef query_t qr
    cdef size_t limit, pos, olen, qsec
    cdef uint32_t idx, i, rcode = 0, aa = 0, tc = 0
    cdef uint32_t dname_idx = NONE, blk_idx = NONE
    cdef const node_t* node
    cdef const dname_t* dn
    cdef uint16_t counts[3]
    cdef ssize_t w
    cdef uint32_t prefix, newlen, newpos, crcode
    cdef query_t nq
    cdef uint16_t chased[3]
    if qlen < 12 or (q[2] & 0x80):
        return 0
    if (q[2] >> 3) & 0xF:
        return write_header_only(q, r, RCODE_NOTIMP)
    if parse_query(q, qlen, &qr) != 0:
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
        return write_header_only(q, r, 2)
    counts[0] = counts[1] = counts[2] = 0

    rcode = find_answer(img, &qr, &blk_idx, &dname_idx)

    # header and question; the qname keeps the client's case (0x20)
    r[0] = q[0]
    r[1] = q[1]
    memcpy(r + 12, q + 12, qr.qname_len + 4)
    pos = qsec
    if dname_idx != NONE:
        dn = &img.dnames[dname_idx]
        w = put_block(img, &img.blocks[dn.block], r, pos, limit - pos - olen, 12, qr.qname_len, counts)
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
            memcpy(r + pos + 12 + prefix, img.data + img.blocks[dn.block].data_off + dn.target_pos,
                   dn.target_len)
            newpos = pos + 12
            pos += 12 + newlen
            counts[0] = 2
            # RFC 6672 §3.2: restart the lookup at the new name, once
            set_key(&nq, r + newpos, newlen)
            nq.qtype = qr.qtype
            nq.qclass = qr.qclass
            nq.edns = 0
            crcode = find_answer(img, &nq, &blk_idx, &dname_idx)
            if crcode == 0 and blk_idx != NONE and (img.blocks[blk_idx].flags & 1):
                w = put_block(img, &img.blocks[blk_idx], r, pos, limit - pos - olen,
                              newpos, newlen, chased)
                if w < 0:
                    tc = 1
                    pos = qsec
                    counts[0] = 0
                else:
                    pos += w
                    rcode = img.blocks[blk_idx].rcode
                    counts[0] = 2 + chased[0]
                    counts[1] = chased[1]
                    counts[2] = chased[2]
    elif blk_idx != NONE:
        w = put_block(img, &img.blocks[blk_idx], r, pos, limit - pos - olen, 12, qr.qname_len, counts)
        rcode = img.blocks[blk_idx].rcode
        aa = img.blocks[blk_idx].flags & 1
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
        pos += write_opt(&qr, r + pos, rcode, img.udp_max)
    return pos


# ---- loading -----------------------------------------------------------------

ARRAYS = ("names", "nodes", "types", "blocks", "data", "fixups", "ar_ends", "dnames")


cdef class Image:
    """One compiled zone set, immutable once built.  Holds the array bytes
    (the C pointers point into them) and the name hash table."""

    def __cinit__(self):
        self.ptr = NULL
        self.img.table = NULL

    def __init__(self, dict arrays, zones=None, int udp_max=OUR_UDP_PAYLOAD):
        cdef const uint8_t[::1] mv
        cdef uint32_t n, size, i, h, j
        cdef const node_t* node
        for k in ARRAYS:
            if not isinstance(arrays.get(k), bytes):
                raise ValueError(f"image array {k!r} missing or not bytes")
        if len(arrays["nodes"]) % sizeof(node_t) or len(arrays["blocks"]) % sizeof(block_t):
            raise ValueError("image arrays have a partial record")
        if not 512 <= udp_max <= 65535:
            raise ValueError("udp_max must be within 512..65535")
        self.img.udp_max = udp_max
        self._keep = {k: arrays[k] for k in ARRAYS}
        self.zones = zones or []
        self.img.names = self._addr("names")
        self.img.nodes = <const node_t*>self._addr("nodes")
        self.img.types = <const type_entry_t*>self._addr("types")
        self.img.blocks = <const block_t*>self._addr("blocks")
        self.img.data = self._addr("data")
        self.img.fixups = <const uint32_t*>self._addr("fixups")
        self.img.ar_ends = <const uint16_t*>self._addr("ar_ends")
        self.img.dnames = <const dname_t*>self._addr("dnames")
        self.img.nnodes = len(arrays["nodes"]) // sizeof(node_t)
        self.img.nblocks = len(arrays["blocks"]) // sizeof(block_t)
        self._validate(arrays)
        n = self.img.nnodes
        size = 16
        while size < n * 2:
            size <<= 1
        self.img.table = <slot_t*>calloc(size, sizeof(slot_t))
        if self.img.table == NULL:
            raise MemoryError()
        self.img.mask = size - 1
        with nogil:
            for i in range(size):
                self.img.table[i].node = NONE
            for i in range(n):
                node = &self.img.nodes[i]
                h = zf_hash(self.img.names + node.name_off, node.name_len)
                j = h & self.img.mask
                while self.img.table[j].node != NONE:
                    j = (j + 1) & self.img.mask
                self.img.table[j].hash = h
                self.img.table[j].node = i
        self.ptr = &self.img

    cdef const uint8_t* _addr(self, str key):
        cdef const uint8_t* p = self._keep[key]
        return p

    def _validate(self, arrays):
        """Every index and offset in range, so a corrupt or hostile snapshot
        cannot make the hot path read outside the arrays."""
        cdef uint32_t i, j
        cdef const node_t* nd
        cdef const block_t* b
        cdef size_t nnames = len(arrays["names"]), ndata = len(arrays["data"])
        cdef size_t ntypes = len(arrays["types"]) // sizeof(type_entry_t)
        cdef size_t nfix = len(arrays["fixups"]) // 4, nar = len(arrays["ar_ends"]) // 2
        cdef size_t ndn = len(arrays["dnames"]) // sizeof(dname_t)
        for i in range(self.img.nblocks):
            b = &self.img.blocks[i]
            if (b.data_off + <size_t>b.len > ndata or b.fix_off + <size_t>b.nfix > nfix
                    or b.ar_off + <size_t>b.ar > nar or b.ar_required > b.ar or b.ar_start > b.len):
                raise ValueError(f"block {i} out of range")
            for j in range(b.ar):
                if self.img.ar_ends[b.ar_off + j] > b.len:
                    raise ValueError(f"block {i} additional offsets out of range")
            for j in range(b.nfix):
                if (self.img.fixups[b.fix_off + j] & 0xFFFF) + 2 > b.len:
                    raise ValueError(f"block {i} fixup out of range")
        for i in range(ndn):
            if (self.img.dnames[i].block >= self.img.nblocks or
                    self.img.dnames[i].target_pos + <size_t>self.img.dnames[i].target_len
                    > self.img.blocks[self.img.dnames[i].block].len):
                raise ValueError(f"dname {i} out of range")
        for i in range(self.img.nnodes):
            nd = &self.img.nodes[i]
            if nd.name_off + <size_t>nd.name_len > nnames or nd.name_len == 0:
                raise ValueError(f"node {i} name out of range")
            if nd.types_off + <size_t>nd.ntypes > ntypes:
                raise ValueError(f"node {i} types out of range")
            for j in range(nd.ntypes):
                if self.img.types[nd.types_off + j].block >= self.img.nblocks:
                    raise ValueError(f"node {i} type block out of range")
            if (nd.default_block >= self.img.nblocks or nd.any_block >= self.img.nblocks
                    or nd.nx_block >= self.img.nblocks):
                raise ValueError(f"node {i} block out of range")
            if nd.wild != NONE and nd.wild >= self.img.nnodes:
                raise ValueError(f"node {i} wildcard out of range")
            if nd.flags & (F_BELOW_DNAME | F_HAS_DNAME):
                if nd.redirect >= ndn:
                    raise ValueError(f"node {i} dname out of range")
            elif nd.flags & (F_CUT | F_OCCLUDED):
                if nd.redirect >= self.img.nblocks:
                    raise ValueError(f"node {i} referral out of range")

    def __dealloc__(self):
        if self.img.table != NULL:
            free(self.img.table)
            self.img.table = NULL
        self.ptr = NULL

    @property
    def node_count(self):
        return self.img.nnodes

    @property
    def block_count(self):
        return self.img.nblocks

    def memory(self):
        """Octets held: the arrays plus the hash table."""
        return sum(len(v) for v in self._keep.values()) + (self.img.mask + 1) * sizeof(slot_t)

    def answer(self, const uint8_t[::1] query, bint tcp=False):
        """Answer one query (for embedding and tests); b"" means no reply."""
        cdef uint8_t* out
        cdef size_t n
        cdef zf_qctx_t ctx
        cdef size_t qlen = query.shape[0]
        cdef const uint8_t* qp = <const uint8_t*>b"\0"
        if qlen:
            qp = &query[0]
        ctx.src = NULL
        ctx.seed = 0
        ctx.tcp = 1 if tcp else 0
        buf = bytearray(65535)
        out = buf
        with nogil:
            n = engine_answer(&self.img, qp, qlen, out, 65535, &ctx)
        return bytes(buf[:n])

    def answer_many(self, list queries, int rounds=1, int stage=2):
        """Run `rounds` passes over the queries in one nogil loop, for the
        micro-benchmarks: stage 0 parses only, 1 parses and looks up,
        2 answers in full.  Returns a checksum so nothing is optimised out."""
        cdef uint8_t* out
        cdef zf_qctx_t ctx
        cdef query_t qr
        cdef uint32_t blk, dn
        cdef size_t total = 0
        cdef int r, i, nq = len(queries)
        cdef const uint8_t** qp = <const uint8_t**>calloc(nq + 1, sizeof(void*))
        cdef size_t* ql = <size_t*>calloc(nq + 1, sizeof(size_t))
        if qp == NULL or ql == NULL:
            free(qp)
            free(ql)
            raise MemoryError()
        ctx.src = NULL
        ctx.seed = 0
        ctx.tcp = 0
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
                    for i in range(nq):
                        if stage == 2:
                            total += engine_answer(&self.img, qp[i], ql[i], out, 65535, &ctx)
                        elif parse_query(qp[i], ql[i], &qr) == 0:
                            total += qr.qname_len
                            if stage == 1:
                                total += find_answer(&self.img, &qr, &blk, &dn) + blk
        finally:
            free(qp)
            free(ql)
        return total
