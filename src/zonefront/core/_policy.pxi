# ---- routing policies (snapshot/policy.py; ref/policy.py) -------------------

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


cdef void make_client(client_t* cl, const query_t* qr, const zf_qctx_t* ctx,
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


