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
    cdef uint32_t total = 0, i, probes, ref
    cdef const uint8_t* nd
    cdef const pset_t* ps
    cdef const cand_t* c
    if stage == 0:
        hint.qname_len = 0
        hint.ref = NONE
        if qlen < 17 or (q[2] & 0x80):
            return
        # a name that runs to the end: nothing past it is ours to read
        total = <uint32_t>zf_name_walk(q, qlen, 12, NULL, NULL, 0)
        off = 12 + total
        if total == 0 or off + 2 > qlen:
            return
        zf_fold_copy(hint.key, q + 12, total)
        hint.hash = zf_hash(hint.key, total)
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


