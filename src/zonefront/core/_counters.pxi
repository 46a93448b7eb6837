# ---- counters (csrc/zfstats.h, csrc/zfrecs.h) ------------------------------------

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


cdef inline void count_record(const image_t* pub, const image_t* img, uint32_t node,
                              const query_t* qr, uint32_t rcode, zf_stats_t* st) noexcept nogil:
    """Per-record counters, when on: the answer's owner is the query name's
    own node, or the wildcard that answered below an encloser; anything else
    (NXDOMAIN, a referral or DNAME from above, a private view) has no record
    of its own and is not counted per record."""
    cdef zf_recs_t* t = zf_stats_recs(st)
    cdef const uint8_t* nd
    cdef uint32_t wild
    if t == NULL or node == NONE or img != pub:
        return
    nd = img.nodes + node
    if nd[0] != qr.qname_len:  # the closest encloser, not the name itself
        if nd[1] & (F_OCCLUDED | F_CUT | F_BELOW_DNAME | F_HAS_DNAME):
            return
        wild = node_wild(nd)
        if wild == NONE:
            return
        nd = img.nodes + wild
    zf_recs_count(t, node_name(nd), nd[0], qr.qtype, rcode)


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


