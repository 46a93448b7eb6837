# ---- Image: loading, validation, patching, the Python face (ref/engine.py
#      RefImage) ------------------------------------------------------------------

from zonefront.snapshot.layout import ARRAY_NAMES as ARRAYS
GEO_ARRAYS = ("geo4", "geo6", "geolocs")
# the streams a change appends to, and the least room a growable arena
# leaves after each (at least as much again as the stream holds)
APPENDABLE = {"nodes": 4 << 20, "blocks": 8 << 20, "dnames": 64 << 10, "psets": 256 << 10,
              "cands": 512 << 10}


cdef int cmp_u32(const void* a, const void* b) noexcept nogil:
    cdef uint32_t x = (<const uint32_t*>a)[0], y = (<const uint32_t*>b)[0]
    return (x > y) - (x < y)


cdef inline size_t node_size(const uint8_t* nd) noexcept nogil:
    return <size_t>(node_name(nd) - nd) + nd[0] + 6 * <size_t>le16(nd + 2)


cdef inline void mark(uint8_t* starts, size_t off) noexcept nogil:
    """Records a record start in a walk's bitmap (none when NULL)."""
    if starts != NULL:
        starts[off >> 3] |= <uint8_t>(1 << (off & 7))


cdef bytes copy_without_gil(const uint8_t* src, size_t n):
    """`n` octets at `src` as bytes, the copy made without the GIL (the
    object is only allocated with it)."""
    cdef bytes out = PyBytes_FromStringAndSize(NULL, <Py_ssize_t>n)
    cdef char* dst = PyBytes_AS_STRING(out)
    if n:
        with nogil:
            memcpy(dst, src, n)
    return out


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
                               uint32_t twin, uint8_t forbidden, size_t base) noexcept nogil:
    """A DO twin (dnssec/signer.py) or a twin's prefix is an earlier block
    record without a twin of its own (and a prefix without a prefix), so a
    signed answer is at most two records away.  `starts` marks the records
    from `base` on; one before `base` is in the stream a patch extends,
    which was checked when it was loaded."""
    if twin < base:
        if twin + BLOCK_HEAD > base:
            return 0
    elif not (twin < off and (starts[(twin - base) >> 3] >> ((twin - base) & 7)) & 1):
        return 0
    return not (p[twin + 11] & forbidden)


cdef int walk_blocks(const uint8_t* p, size_t n, uint8_t* starts, uint32_t* count,
                     uint32_t nrows, uint32_t nsigrows, size_t base=0) noexcept nogil:
    """The same for the block stream, with each block's fixups and
    additional-section table checked against its length, serial fixups
    against the `nrows` zone rows and SOA RRSIG fixups against the
    `nsigrows` rows with signature slots (0: the image has none).  `base`:
    where the walk starts (a patch's records, appended to a checked stream;
    `starts` then marks offsets from `base`)."""
    cdef size_t off = base, size, online
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
        size = block_trailer(b)
        if size > n - off:
            return -1
        online = 0
        if b[11] & BF_ONLINE:  # a twin's template: in bounds and well-formed
            if b[11] & BF_SIGNED or size + 2 > n - off or size + 2 + le16(b + size) > n - off \
                    or check_online(b + size + 2, le16(b + size), p, off) != 0:
                return -1
            online = 2 + le16(b + size)
        if b[11] & BF_SIGNED and b[11] & BF_PREFIX:
            return -1  # a prefix belongs to a twin, which has no twin
        if b[11] & BF_SIGNED and not signed_twin_ok(p, starts, off, le32(b + size - 4),
                                                     BF_SIGNED, base):
            return -1
        if b[11] & BF_PREFIX and not signed_twin_ok(p, starts, off, le32(b + size - 4),
                                                     BF_SIGNED | BF_PREFIX, base):
            return -1
        size += online
        for i in range(nfix):
            fx = le32(b + BLOCK_HEAD + 4 * i)
            if ((fx >> 16) & (FIX_BLOCK | FIX_SERIAL)) == FIX_SERIAL:
                if (fx & 0xFFFF) + 4 > length or ((fx >> 16) & FIX_ROW_MASK) >= nrows:
                    return -1
            elif ((fx >> 16) & (FIX_BLOCK | FIX_SERIAL)) == FIX_BLOCK | FIX_SERIAL:
                if (fx & 0xFFFF) >= length or ((fx >> 16) & SIG_ROW_MASK) >= nsigrows:
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
        mark(starts, off - base)
        k += 1
        off += size
    count[0] = k
    return 0


cdef enum:
    FILL_AHEAD = 16  # names hashed (their slots prefetched) before each is placed


cdef void fill_table(slot_t* table, uint32_t size, const uint8_t* nodes, uint32_t n,
                     const uint32_t* live) noexcept nogil:
    """The name hash table of `n` node records (in stream order, or at the
    `live` offsets): each name's home slot is prefetched FILL_AHEAD names
    before it is placed, since at 100k names and more the table is larger
    than the caches and every placement was a miss (2/3 of a trusted load's
    table time)."""
    cdef uint32_t ring_h[FILL_AHEAD]
    cdef uint32_t ring_off[FILL_AHEAD]
    cdef uint32_t i, j, k, h, off = 0
    cdef const uint8_t* nd
    for i in range(n + FILL_AHEAD):
        k = i % FILL_AHEAD
        if i >= FILL_AHEAD:  # the name hashed FILL_AHEAD names ago: its slot is loaded by now
            h = ring_h[k]
            j = <uint32_t>((<uint64_t>h * size) >> 32)
            while table[j].node != NONE:
                j += 1
                if j == size:
                    j = 0
            table[j].hash = h
            table[j].node = ring_off[k]
        if i < n:
            if live != NULL:
                off = live[i]
            nd = nodes + off
            h = zf_hash(node_name(nd), nd[0])
            __builtin_prefetch(&table[<uint32_t>((<uint64_t>h * size) >> 32)])
            ring_h[k] = h
            ring_off[k] = off
            off += node_size(nd)


cdef int count_blocks(const uint8_t* p, size_t n, uint32_t* count) noexcept nogil:
    """walk_blocks' count alone, for an image this process's own compiler
    wrote: each record's extent is still kept within the stream."""
    cdef size_t off = 0, size
    cdef uint32_t k = 0
    while off < n:
        if n - off < BLOCK_HEAD:
            return -1
        size = block_trailer(p + off)
        if p[off + 11] & BF_ONLINE:
            if size + 2 > n - off:
                return -1
            size += 2 + le16(p + off + size)
        if size > n - off:
            return -1
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
                 release_source=False, bint growable=False, bint trusted=False,
                 tuple keep=()):
        """`release_source`: the arrays are views of a mapped file (a
        snapshot, format.read); their pages are dropped from this process
        as they are copied, which keeps a load's peak memory near the
        image's own size.  True for every array, or the keys of those that
        are (a compiler's spilled stream).  Never for ordinary memory.

        `keep`: keys of arrays this image answers from where they lie,
        holding their buffers instead of copying them: the streams of a
        compiler in this process (fastcompile's CompiledArrays.in_place),
        which nothing writes again.  Not with `growable`.

        `growable`: reserve room after each record stream so that patch()
        can append a change's records; such an arena is not sealed
        read-only, since later patches write past what is served.

        `trusted`: the arrays come from this process's own compiler (its
        streams, or a child it forked wrote them to a file only it can
        write), so the checks that guard against corrupt or hostile
        snapshots are skipped; never for a snapshot read from disk."""
        cdef const uint8_t[::1] mv
        cdef uint32_t n = 0, size, i
        for k in ARRAYS:
            if not isinstance(arrays.get(k), (bytes, memoryview)):
                raise ValueError(f"image array {k!r} missing or not bytes")
        if not 512 <= udp_max <= 65535:
            raise ValueError("udp_max must be within 512..65535")
        if len(arrays["nodes"]) >= PSET_BIT or len(arrays["blocks"]) >= PSET_BIT:
            raise ValueError("image streams exceed 2 GiB")
        if len(arrays["negatives"]) % 8 or len(arrays["dnames"]) % sizeof(dname_t):
            raise ValueError("image arrays have a partial record")
        if len(arrays["serials"]) not in (len(arrays["negatives"]) // 2,
                                          3 * (len(arrays["negatives"]) // 2)):
            raise ValueError("image serials do not match its zones")
        if keep and growable:
            raise ValueError("a growable image copies its arrays")
        self.img.udp_max = udp_max
        self.zones = zones or []
        self._arena_map(arrays, ARRAYS if release_source is True else (release_source or ()),
                        growable, keep)
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
        self.img.soasigs = NULL
        if len(arrays["serials"]) > len(arrays["negatives"]) // 2:
            self.img.soasigs = self.img.serials + self.img.nneg
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
        if trusted:
            self._count_blocks()
        else:
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
            fill_table(self.img.table, size, self.img.nodes, n, live)
        if not growable:
            arena_seal(self.arena_base, self.arena_size, self.huge)
        arena_seal(self.table_base, self.table_size, self.table_huge)
        self.ptr = &self.img

    cdef const uint8_t* _addr(self, str key):
        cdef const uint8_t[::1] held
        if self._held and key in self._held:
            held = self._held[key]
            return &held[0]
        return self.arena + <size_t>self._offsets[key]

    cdef _arena_map(self, dict arrays, object release, bint growable, tuple keep):
        """Copies the arrays into one arena: 64-octet aligned, and on
        transparent huge pages when it is big enough, so the lookups' random
        reads miss the TLB far less.  The hash table gets its own arena once
        the nodes are counted.  A growable arena leaves room after each
        appendable stream (untouched pages cost no memory).  The arrays in
        `keep` stay where they are (a compiler's streams are on huge pages
        already); `release`: the keys whose source pages go as they are
        copied."""
        cdef size_t total = 0, off, cap
        cdef const uint8_t[::1] src
        self._offsets = {}
        self._ends = {}
        self._caps = {}
        self._lens = {k: len(arrays[k]) for k in ARRAYS}
        self._held = {k: arrays[k] for k in keep if len(arrays[k])}
        for k in ARRAYS:
            if k in self._held:
                continue
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
            if len(src) and k not in self._held:
                arena_copy(self.arena + <size_t>self._offsets[k], &src[0], len(src), k in release)
        self.arena_used = total

    cdef _count_blocks(self):
        """What a trusted image needs of _validate: the block count."""
        cdef uint32_t count = 0
        self._blocks_len = self._lens["blocks"]
        if count_blocks(self.img.blocks, self._blocks_len, &count) != 0:
            raise ValueError("image block records are malformed")
        self.img.nblocks = count

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
            if walk_blocks(self.img.blocks, blen, self._block_starts, &count, self.img.nneg,
                           self.img.nneg if self.img.soasigs != NULL else 0) != 0:
                raise ValueError("image block records are malformed")
            self.img.nblocks = count
            if self.img.soasigs != NULL:
                for i in range(2 * self.img.nneg):
                    if self.img.soasigs[i] != NONE and not self._is_block(self.img.soasigs[i]):
                        raise ValueError(f"zone row {i % self.img.nneg}: SOA RRSIG out of range")
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

    cdef int _sig_record_ok(self, uint32_t ref, size_t end, bytes tb):
        """Patch only: a kind G row's record is whole within the block
        stream it will be read from (the old part, or the patch's `tb`)."""
        cdef Image root = self._owner if self._owner is not None else self
        cdef const uint8_t* b
        cdef size_t have
        if ref >= end:
            if ref - end + BLOCK_HEAD > <size_t>len(tb):
                return 0
            b = <const uint8_t*>tb + (ref - end)
            have = len(tb) - (ref - end)
        else:
            if ref + BLOCK_HEAD > end:
                return 0
            b = root.arena + <size_t>root._offsets["blocks"] + ref
            have = end - ref
        return BLOCK_HEAD + 4 * <size_t>le16(b + 2) + le16(b) <= have

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
        cdef uint32_t count = 0, nrows, i, ref, nsig
        cdef uint8_t* bstart
        cdef uint8_t* tstarts
        cdef size_t off, nlen
        cdef const uint8_t* nd
        cdef const uint8_t* t
        cdef uint32_t j
        if not root._caps:
            raise ValueError("image was not built growable")
        if len(negatives) % 8 or len(serials) not in (len(negatives) // 2,
                                                      3 * (len(negatives) // 2)):
            raise ValueError("negatives and serials do not match")
        nrows = len(negatives) // 8
        nsig = nrows if len(serials) > len(negatives) // 2 else 0
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
        # the block records are copied first, past what any image reads
        # (the stream's end moves only once all is checked), and walked where
        # they will be read: a DO twin, prefix or NSEC3 segment may be an
        # older record
        bstart = root.arena + <size_t>root._offsets["blocks"]
        if len(tb):
            memcpy(bstart + <size_t>ends["blocks"], <const uint8_t*>tb, len(tb))
        tstarts = <uint8_t*>calloc(len(tb) // 8 + 1, 1)
        if tstarts == NULL:
            raise MemoryError()
        try:
            if walk_blocks(bstart, ends["blocks"] + len(tb), tstarts, &count, nrows, nsig,
                           ends["blocks"]) != 0:
                raise ValueError("patch block records are malformed")
        finally:
            free(tstarts)
        for i in range(2 * nsig):
            ref = (<const uint32_t*><const uint8_t*>serials)[nrows + i]
            if ref != NONE and not self._sig_record_ok(ref, ends["blocks"], tb):
                raise ValueError(f"zone row {i % nrows}: SOA RRSIG out of range")
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
        new.img.soasigs = new.img.serials + nrows if nsig else NULL
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
                arrays["live"] = copy_without_gil(<const uint8_t*>live, <size_t>k * 4)
                return arrays
            moved = <uint32_t*>malloc(<size_t>k * 4 + 4)
            if moved == NULL:
                raise MemoryError()
            with nogil:
                for j in range(k):
                    moved[j] = <uint32_t>pos
                    pos += node_size(self.img.nodes + live[j])
            nodes = PyBytes_FromStringAndSize(NULL, pos)  # filled below, before anyone sees it
            out = <uint8_t*>PyBytes_AS_STRING(nodes)
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
        arrays["nodes"] = nodes
        arrays["live"] = b""
        return arrays

    def _arrays_as_held(self, tuple but):
        """Every array but `but` as this image answers from it: the streams'
        used part, and this image's own negatives and serials, each copied
        without the GIL (copied with it, a million names' ~90 MB held the
        threads applying changes for ~80 ms in one piece)."""
        arrays = {key: copy_without_gil(self._addr(key), self._lens[key])
                  for key in ARRAYS if key not in ("negatives", "serials") and key not in but}
        arrays["negatives"] = copy_without_gil(<const uint8_t*>self.img.negatives,
                                               self._lens["negatives"])
        arrays["serials"] = copy_without_gil(<const uint8_t*>self.img.serials, self._lens["serials"])
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
        if geo is not None and getattr(geo, "lazy", False) and not self.uses_location():
            geo = None  # geodefault.LazyGeo: not loaded for an image that routes by no location
        if geo is not None:
            arrays = geo if isinstance(geo, dict) else geo.arrays()
        if geo is not None and arrays is not None:
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

    def uses_location(self):
        """Whether a latency, geolocation or geoproximity pset is in the
        image: the routing that reads the GeoIP arrays."""
        cdef uint32_t i
        for i in range(self.img.npsets):
            if self.img.psets[i].kind in (K_LATENCY, K_GEO, K_GEOPROX):
                return True
        return False

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

    @property
    def in_place(self):
        """The arrays answered from where they lay (keep=), not copied."""
        return tuple(sorted(self._held)) if self._held else ()

    def memory(self):
        """Octets held: the arrays plus the hash table."""
        held = sum(len(v) for v in self._held.values()) if self._held else 0
        return self.arena_used + held + self.img.tsize * sizeof(slot_t)

    def answer(self, const uint8_t[::1] query, bint tcp=False, client=None, uint32_t seed=0,
               bint deferrable=False):
        """Answer one query (for embedding and tests); b"" means no reply.
        `client` is the source address ("192.0.2.1", "2001:db8::1") that
        routing decides on when the query carries no Client Subnet option;
        `seed` stands for the socket loop's per-batch randomness.
        `deferrable`: return None for a query the recursive fallback
        answers (zfdefer.h), as the socket loops see it."""
        cdef uint8_t* out
        cdef size_t n
        cdef zf_qctx_t ctx
        cdef uint8_t deferred = 0
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
        ctx.hint = NULL
        ctx.defer = &deferred if deferrable else NULL
        buf = bytearray(65535)
        out = buf
        with nogil:
            n = engine_answer(&self.img, qp, qlen, out, 65535, &ctx)
        if deferred:
            return None
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
        ctx.hint = NULL
        ctx.defer = NULL
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
                                ctx.hint = &hints[j - i]
                                total += engine_answer(&self.img, qp[j], ql[j], out, 65535, &ctx)
                        ctx.hint = NULL
                        continue
                    for i in range(nq):
                        if stage == 2:
                            total += engine_answer(&self.img, qp[i], ql[i], out, 65535, &ctx)
                        elif parse_query(qp[i], ql[i], &qr, NULL) == 0:
                            total += qr.qname_len
                            if stage == 1:
                                total += decide(&self.img, &qr, &blk, &dn, &node) + blk
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
    ctx.hint = NULL
    ctx.defer = NULL
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
                    ctx.hint = &hints[j - i]
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
