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
    cdef uint32_t nvals
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
        limit = TCP_MAX
    elif qr.edns:
        limit = qr.edns_size if qr.edns_size < img.udp_max else img.udp_max
    else:
        limit = UDP_CLASSIC
    if limit > cap:
        limit = cap
    olen = opt_len(&qr)
    qsec = 12 + qr.qname_len + 4
    if limit < qsec + olen:
        if st != NULL:
            zf_stats_answer(st, ctx.tcp, qr.qtype, RCODE_SERVFAIL, ZF_ZONE_ID_NONE, 0)
        return write_header_only(q, r, RCODE_SERVFAIL)
    counts[0] = counts[1] = counts[2] = 0

    if img.nviews:
        img = view_for(img, &qr, ctx, &rcode, &blk_idx, &dname_idx, &node)
    else:
        rcode = decide(img, &qr, &blk_idx, &dname_idx, &node)
    # a name in none of our zones: REFUSED with EDE 20, Not Authoritative
    # (RFC 8914 §4.21, as NSD and Knot answer)
    ede = rcode == RCODE_REFUSED and blk_idx == NONE and dname_idx == NONE \
        and (qr.qclass == 1 or qr.qclass == 255) and qr.qtype != TYPE_AXFR \
        and qr.qtype != TYPE_IXFR
    make_client(&cl, &qr, ctx, (q[0] << 8) | q[1])

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
                zf_stats_answer(st, ctx.tcp, qr.qtype, RCODE_SERVFAIL, answer_zone(<const image_t*>image, img, node, st), 0)
            return write_header_only(q, r, RCODE_SERVFAIL)
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
            crcode = decide(img, &nq, &blk_idx, &dname_idx, &top)
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
                    rcode = block_rcode(img, blk_idx)
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
            for i in range(nvals):
                w = put_block(img, values[i], r, pos, limit - pos - olen, base, 12,
                              qr.qname_len, chased, 0)
                if w < 0:
                    break
                pos += w
                counts[0] += chased[0]
            if counts[0] == 0 and nvals:
                tc = 1
                pos = qsec
    elif blk_idx != NONE:
        top = blk_idx
        blk_idx = select_ref(img, blk_idx, &cl)
        if st != NULL and (top & PSET_BIT):
            count_route(img, top, blk_idx, st)
        if blk_idx == NONE:
            if st != NULL:
                zf_stats_answer(st, ctx.tcp, qr.qtype, RCODE_SERVFAIL, answer_zone(<const image_t*>image, img, node, st), 0)
            return write_header_only(q, r, RCODE_SERVFAIL)
        w = put_block(img, blk_idx, r, pos, limit - pos - olen, pos, 12, qr.qname_len, counts,
                      qr.edns_do)
        rcode = block_rcode(img, blk_idx)
        aa = block_aa(img, blk_idx)
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
        pos += opt_record(&qr, r + pos, rcode, img.udp_max, cl.scope)
        if ede and pos + 6 <= limit:
            pos += put_ede(r + optpos, r + pos, EDE_NOT_AUTHORITATIVE)
    ZF_ASSERT(pos <= limit)  # truncation kept the response within what the client takes
    if st != NULL:
        zf_stats_answer(st, ctx.tcp, qr.qtype, rcode, answer_zone(<const image_t*>image, img, node, st), tc)
    return pos


