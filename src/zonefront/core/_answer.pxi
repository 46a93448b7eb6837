# ---- answer: the stages of engine_answer, named as in ref/engine.py -----------
#
# parse_query (_wire.pxi) -> response_limit -> view_for / decide (_decide.pxi)
# -> make_client, select_to_values / select_ref (_policy.pxi) -> answer_dname,
# answer_values or answer_block -> finish.  Each stage is inlined: one
# function's code, as before the cut.

ctypedef struct answer_t:
    size_t pos              # octets of the response written so far
    size_t limit            # the most the response may take
    size_t olen             # kept free for the OPT record
    size_t qsec             # where the question ends
    uint32_t rcode
    uint8_t aa
    uint8_t tc
    uint16_t counts[3]      # answer, authority, additional (OPT not counted)


cdef inline size_t response_limit(const image_t* img, const query_t* qr, const zf_qctx_t* ctx,
                                  size_t cap) noexcept nogil:
    """The most octets the response may take: 65535 over TCP, else the
    client's EDNS size within ours, else 512; never more than cap."""
    cdef size_t limit
    if ctx.tcp:
        limit = TCP_MAX
    elif qr.edns:
        limit = qr.edns_size if qr.edns_size < img.udp_max else img.udp_max
    else:
        limit = UDP_CLASSIC
    return limit if limit <= cap else cap


cdef inline uint8_t lc(uint8_t c) noexcept nogil:
    return c + 32 if 65 <= c <= 90 else c


cdef inline ssize_t dname_repeat(const uint8_t* r, size_t pos, size_t end, uint32_t count,
                                 const uint8_t* owner, uint32_t owner_len,
                                 const uint8_t* target, uint32_t target_len) noexcept nogil:
    """Where the last of the `count` records in r[pos:end] starts, when it is
    the DNAME `owner` -> `target` already in the answer (a chase after DNAME
    substitution that came back to the owner for qtype DNAME or ANY); -1
    otherwise.  ref/engine.py's dname_repeat."""
    cdef ssize_t last = -1
    cdef size_t fixed = 0, p, o = 0
    cdef uint32_t i, n, hops = 0
    for i in range(count):
        last = <ssize_t>pos
        while pos < end and r[pos] and r[pos] < 0xC0:
            pos += 1 + r[pos]
        if pos >= end:
            return -1
        pos += 2 if r[pos] else 1
        fixed = pos
        if pos + 10 > end:
            return -1
        pos += 10 + ld16(r + pos + 8)
    if last < 0 or pos != end:
        return -1
    p = <size_t>last
    while True:  # the owner, through compression pointers, against `owner`
        if r[p] >= 0xC0:
            hops += 1
            if hops > 64:
                return -1
            p = ld16(r + p) & 0x3FFF
            continue
        n = r[p]
        if o + 1 + n > owner_len or owner[o] != n:
            return -1
        for i in range(n):
            if lc(r[p + 1 + i]) != lc(owner[o + 1 + i]):
                return -1
        if n == 0:
            break
        p += 1 + n
        o += 1 + n
    if ld16(r + fixed) != TYPE_DNAME or ld16(r + fixed + 8) != target_len:
        return -1
    for i in range(target_len):
        if lc(r[end - target_len + i]) != lc(target[i]):
            return -1
    return last


cdef inline void fail_signing(answer_t* a) noexcept nogil:
    """An answer of a signed zone whose online signature could not be made:
    SERVFAIL with no records, never the answer unsigned or half signed (RFC
    4035 §3.1)."""
    a.rcode = RCODE_SERVFAIL
    a.aa = 0
    a.tc = 0
    a.pos = a.qsec
    a.counts[0] = a.counts[1] = a.counts[2] = 0


cdef inline void answer_dname(const image_t* img, const query_t* qr, const uint8_t* q, uint8_t* r,
                              answer_t* a, uint32_t dname_idx, client_t* cl) noexcept nogil:
    """A name below a DNAME: the DNAME, the CNAME synthesized from it and
    the answer at the new name, chased once (RFC 6672 §3)."""
    cdef const dname_t* dn = &img.dnames[dname_idx]
    cdef ssize_t w
    cdef uint32_t prefix, newlen, newpos, crcode, blk_idx, dn2, node
    cdef query_t nq
    cdef uint16_t chased[3]
    cdef ssize_t last
    w = put_block(img, dn.block, r, a.pos, a.limit - a.pos - a.olen, a.pos, 12, qr.qname_len,
                  a.counts, qr.edns_do)
    a.aa = 1
    prefix = qr.qname_len - dn.owner_len
    newlen = prefix + dn.target_len
    if w == SIGN_FAILED:
        fail_signing(a)
    elif w < 0:
        a.tc = 1
    elif newlen > 255:
        a.rcode = RCODE_YXDOMAIN
        a.pos += w
    elif a.pos + w + 12 + newlen + a.olen > a.limit:
        a.tc = 1
        a.counts[0] = 0
    else:
        a.pos += w
        # the synthesized CNAME (RFC 6672 §3.1): qname's prefix + the DNAME
        # target, written out whole so the chased answer can point into it
        st16(r + a.pos, 0xC00C)
        st16(r + a.pos + 2, TYPE_CNAME)
        st16(r + a.pos + 4, 1)
        st32(r + a.pos + 6, dn.ttl)
        st16(r + a.pos + 10, newlen)
        memcpy(r + a.pos + 12, q + 12, prefix)
        memcpy(r + a.pos + 12 + prefix, block_data(img, dn.block) + dn.target_pos, dn.target_len)
        newpos = a.pos + 12
        a.pos += 12 + newlen
        a.counts[0] = 2
        # RFC 6672 §3.2: restart the lookup at the new name, once
        set_key(&nq, r + newpos, newlen)
        nq.qtype = qr.qtype
        nq.qclass = qr.qclass
        nq.edns = 0
        crcode = decide(img, &nq, &blk_idx, &dn2, &node)
        blk_idx = select_ref(img, blk_idx, cl)
        if crcode == 0 and blk_idx != NONE and block_aa(img, blk_idx):
            w = put_block(img, blk_idx, r, a.pos, a.limit - a.pos - a.olen, a.pos,
                          newpos, newlen, chased, qr.edns_do)
            if w == SIGN_FAILED:
                fail_signing(a)
            elif w < 0:
                a.tc = 1
                a.pos = a.qsec
                a.counts[0] = 0
            else:
                if chased[1] == 0 and chased[2] == 0:
                    last = dname_repeat(r, a.pos, a.pos + w, chased[0], q + 12 + prefix,
                                        dn.owner_len, r + newpos + prefix, dn.target_len)
                    if last >= 0:  # RFC 2181 §5: the DNAME is not given twice
                        w = last - <ssize_t>a.pos
                        chased[0] -= 1
                a.pos += w
                a.rcode = block_rcode(img, rcode_block(img, blk_idx, qr))
                a.counts[0] = 2 + chased[0]
                a.counts[1] = chased[1]
                a.counts[2] = chased[2]


cdef inline void answer_values(const image_t* img, const query_t* qr, uint8_t* r, answer_t* a,
                               const pset_t* ps, client_t* cl) noexcept nogil:
    """A multivalue answer: the set's shared first part, then up to eight
    healthy values picked at random, as many as fit.  A DO query in a
    signed zone copies the first part's twin instead (a CNAME chain before
    the values, then its RRSIGs: the values' pointers into it stay right),
    and the values' RRSIG is made after them (behind a wildcard CNAME,
    then the CNAME's RRSIG for the qname or the NSEC3 covering it)."""
    cdef ssize_t w
    cdef uint32_t values[MAX_MULTIVALUE]
    cdef uint32_t nvals, i, nwritten = 0
    cdef uint16_t chased[3]
    cdef size_t base
    cdef size_t vstart[MAX_MULTIVALUE + 1]
    cdef uint32_t first = signed_block(img, ps.prefix) if qr.edns_do else ps.prefix
    a.rcode = block_rcode(img, ps.prefix)
    a.aa = block_aa(img, ps.prefix)
    w = put_block(img, first, r, a.pos, a.limit - a.pos - a.olen, a.pos, 12, qr.qname_len,
                  a.counts, 0)
    if w < 0:
        a.tc = 1
    else:
        base = a.pos
        a.pos += w
        nvals = pick_values(img, ps, cl, values)
        for i in range(nvals):
            w = put_block(img, values[i], r, a.pos, a.limit - a.pos - a.olen, base, 12,
                          qr.qname_len, chased, 0)
            if w < 0:
                break
            vstart[nwritten] = a.pos
            nwritten += 1
            a.pos += w
            a.counts[0] += chased[0]
        if a.counts[0] == 0 and nvals:
            a.tc = 1
            a.pos = a.qsec
        elif qr.edns_do:  # signed zone: the chosen values' RRSIG (_deny.pxi)
            w = 0
            if nwritten:
                vstart[nwritten] = a.pos
                w = put_values_signature(img, ps.prefix, first, r, vstart, nwritten,
                                         a.limit - a.pos - a.olen, qr.qname_len, a.counts)
            if w >= 0:  # behind a wildcard CNAME, then what is made for the qname
                a.pos += w
                w = put_wildcard_part(img, ps.prefix, first, r, a.pos,
                                      a.limit - a.pos - a.olen, qr.qname_len, a.counts)
            if w == SIGN_FAILED:
                fail_signing(a)
            elif w < 0:
                a.tc = 1
                a.pos = a.qsec
                a.counts[0] = 0
            else:
                a.pos += w


cdef inline void answer_block(const image_t* img, const query_t* qr, uint8_t* r, answer_t* a,
                              uint32_t blk_idx) noexcept nogil:
    """One pre-encoded answer (a static name, or the block a policy chose):
    copied, relocated, TC when its required part does not fit."""
    cdef ssize_t w = put_block(img, blk_idx, r, a.pos, a.limit - a.pos - a.olen, a.pos, 12,
                               qr.qname_len, a.counts, qr.edns_do)
    cdef uint32_t shown = rcode_block(img, blk_idx, qr)  # a DO twin's rcode (RFC 9824)
    a.rcode = block_rcode(img, shown)
    a.aa = block_aa(img, shown)
    if w == SIGN_FAILED:
        fail_signing(a)
    elif w < 0:
        a.tc = 1
    else:
        a.pos += w


cdef inline size_t finish(const image_t* img, const query_t* qr, const uint8_t* q, uint8_t* r,
                          answer_t* a, bint ede, uint8_t scope) noexcept nogil:
    """The header's flags and counts, then the OPT record (with EDE 20 when
    the name is in none of our zones and it fits); the response length."""
    cdef size_t optpos
    r[2] = 0x80 | (q[2] & 0x01) | (0x04 if a.aa else 0) | (0x02 if a.tc else 0)
    r[3] = (q[3] & 0x10) | (a.rcode & 0xF)
    st16(r + 4, 1)
    st16(r + 6, a.counts[0])
    st16(r + 8, a.counts[1])
    st16(r + 10, a.counts[2] + (1 if qr.edns else 0))
    if qr.edns:
        optpos = a.pos
        a.pos += opt_record(qr, r + a.pos, a.rcode, img.udp_max, scope)
        if ede and a.pos + 6 <= a.limit:
            a.pos += put_ede(r + optpos, r + a.pos, EDE_NOT_AUTHORITATIVE)
    ZF_ASSERT(a.pos <= a.limit)  # truncation kept the response within what the client takes
    return a.pos


cdef size_t engine_answer(const void* image, const uint8_t* q, size_t qlen,
                          uint8_t* r, size_t cap, const zf_qctx_t* ctx) noexcept nogil:
    cdef const image_t* img = <const image_t*>image
    cdef query_t qr
    cdef answer_t a
    cdef uint32_t dname_idx = NONE, blk_idx = NONE
    cdef client_t cl
    cdef const pset_t* ps
    cdef bint ede
    cdef uint32_t node, top, rcode
    cdef zf_stats_t* st = <zf_stats_t*>ctx.stats
    if qlen < 12 or (q[2] & 0x80):
        return 0
    if (q[2] >> 3) & 0xF:
        if st != NULL:
            zf_stats_answer(st, ctx.tcp, 0, RCODE_NOTIMP, ZF_ZONE_ID_NONE, 0)
        return write_header_only(q, r, RCODE_NOTIMP)
    if parse_query(q, qlen, &qr, ctx.hint) != 0:
        if st != NULL:
            zf_stats_answer(st, ctx.tcp, 0, RCODE_FORMERR, ZF_ZONE_ID_NONE, 0)
        return write_header_only(q, r, RCODE_FORMERR)

    a.limit = response_limit(img, &qr, ctx, cap)
    a.olen = opt_len(&qr)
    a.qsec = 12 + qr.qname_len + 4
    if a.limit < a.qsec + a.olen:
        if st != NULL:
            zf_stats_answer(st, ctx.tcp, qr.qtype, RCODE_SERVFAIL, ZF_ZONE_ID_NONE, 0)
        return write_header_only(q, r, RCODE_SERVFAIL)
    a.counts[0] = a.counts[1] = a.counts[2] = 0
    a.aa = 0
    a.tc = 0

    if img.nviews:
        img = view_for(img, &qr, ctx, &rcode, &blk_idx, &dname_idx, &node)
        if img == NULL:
            return 0  # deferred to the recursive fallback (zfdefer.h)
    else:
        rcode = decide(img, &qr, &blk_idx, &dname_idx, &node)
    a.rcode = rcode
    # a name in none of our zones: REFUSED with EDE 20, Not Authoritative
    # (RFC 8914 §4.21, as NSD and Knot answer)
    ede = a.rcode == RCODE_REFUSED and blk_idx == NONE and dname_idx == NONE \
        and (qr.qclass == 1 or qr.qclass == 255) and qr.qtype != TYPE_AXFR \
        and qr.qtype != TYPE_IXFR
    make_client(&cl, &qr, ctx, (q[0] << 8) | q[1])

    # header and question; the qname keeps the client's case (0x20)
    r[0] = q[0]
    r[1] = q[1]
    memcpy(r + 12, q + 12, qr.qname_len + 4)
    a.pos = a.qsec
    if dname_idx == NONE and blk_idx != NONE and (blk_idx & PSET_BIT):
        top = blk_idx
        blk_idx = select_to_values(img, blk_idx, &cl)
        if st != NULL and blk_idx != top:  # a multivalue answer counts itself below
            count_route(img, top, blk_idx, st)
        if blk_idx == NONE:
            if st != NULL:
                zf_stats_answer(st, ctx.tcp, qr.qtype, RCODE_SERVFAIL, answer_zone(<const image_t*>image, img, node, st), 0)
                count_record(<const image_t*>image, img, node, &qr, RCODE_SERVFAIL, st)
            return write_header_only(q, r, RCODE_SERVFAIL)
    if dname_idx != NONE:
        answer_dname(img, &qr, q, r, &a, dname_idx, &cl)
    elif blk_idx != NONE and (blk_idx & PSET_BIT) and img.psets[blk_idx & ~PSET_BIT].kind == K_MULTIVALUE \
            and img.psets[blk_idx & ~PSET_BIT].prefix != NONE:
        ps = &img.psets[blk_idx & ~PSET_BIT]
        if st != NULL:
            zf_stats_routed(st, K_MULTIVALUE, NONE)
        answer_values(img, &qr, r, &a, ps, &cl)
    elif blk_idx != NONE:
        top = blk_idx
        blk_idx = select_ref(img, blk_idx, &cl)
        if st != NULL and (top & PSET_BIT):
            count_route(img, top, blk_idx, st)
        if blk_idx == NONE:
            if st != NULL:
                zf_stats_answer(st, ctx.tcp, qr.qtype, RCODE_SERVFAIL, answer_zone(<const image_t*>image, img, node, st), 0)
                count_record(<const image_t*>image, img, node, &qr, RCODE_SERVFAIL, st)
            return write_header_only(q, r, RCODE_SERVFAIL)
        answer_block(img, &qr, r, &a, blk_idx)

    finish(img, &qr, q, r, &a, ede, cl.scope)
    if st != NULL:
        zf_stats_answer(st, ctx.tcp, qr.qtype, a.rcode, answer_zone(<const image_t*>image, img, node, st), a.tc)
        count_record(<const image_t*>image, img, node, &qr, a.rcode, st)
    return a.pos
