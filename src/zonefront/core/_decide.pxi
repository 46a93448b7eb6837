# ---- decide: what answers a query (ref/engine.py decide, view_for) -----------

cdef inline void set_key(query_t* nq, const uint8_t* name, uint32_t n) noexcept nogil:
    """Lower-cased key and label offsets of an uncompressed wire name that
    the engine itself wrote (so known to be well-formed)."""
    nq.qname_len = n
    nq.nlabels = 0  # stays 0 if a corrupt image wrote no name: nothing below matches then
    zf_name_walk(name, n, 0, nq.label_off, &nq.nlabels, MAX_LABELS)
    zf_fold_copy(nq.keybuf, name, n)
    nq.key = nq.keybuf
    nq.hashed = 0


cdef inline uint32_t decide(const image_t* img, const query_t* qr, uint32_t* blk_out,
                                 uint32_t* dname_out, uint32_t* node_out) noexcept nogil:
    """Pick what answers: a block, a DNAME to synthesize from, or only an
    rcode.  The same decisions as ref/engine.py's decide()."""
    cdef uint32_t idx = NONE, i, rcode = 0, wild
    cdef uint32_t blk_idx = NONE, dname_idx = NONE
    cdef const uint8_t* node
    cdef uint8_t flags
    if qr[0].edns and qr[0].edns_version > 0:
        rcode = RCODE_BADVERS  # RFC 6891 §6.1.3
    elif (qr[0].qclass != 1 and qr[0].qclass != 255) or qr[0].qtype == TYPE_AXFR or qr[0].qtype == TYPE_IXFR:
        rcode = RCODE_REFUSED
    else:
        idx = find_node_hashed(img, qr[0].key, qr[0].qname_len,
                               qr[0].key_hash if qr[0].hashed else zf_hash(qr[0].key, qr[0].qname_len))
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


cdef const image_t* view_for(const image_t* img, const query_t* qr, const zf_qctx_t* ctx,
                      uint32_t* rcode, uint32_t* blk, uint32_t* dn,
                      uint32_t* node) noexcept nogil:
    """The image that answers, decide() run in it (ref/engine.py view_for
    picks the same one).  Private zones (issue 7): a source address inside a VPC's networks is
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
        rcode[0] = decide(view, qr, blk, dn, node)
        if rcode[0] != RCODE_REFUSED:
            # a fallback zone's NXDOMAIN (BF_DEFER): the resolver answers, if the loop can ask it
            if ctx.defer != NULL and dn[0] == NONE and blk[0] != NONE and not (blk[0] & PSET_BIT) \
                    and view.blocks[blk[0] + 11] & BF_DEFER:
                ctx.defer[0] = 1
                return NULL
            if ctx.stats != NULL:
                zf_stats_view(<zf_stats_t*>ctx.stats, <uint32_t>i)
            return view
    rcode[0] = decide(img, qr, blk, dn, node)
    return img


