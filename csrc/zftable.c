/* zftable.c: interned names, records -> RRsets, and the zoneset.py marks.
 *
 * Every rule here restates one in zonefile.py (_Reader.finish and the
 * singleton checks) or zoneset.py (ZoneSet._zone_nodes).  A zone that
 * breaks a zonefile.py rule is not reported from here: the check fails with
 * a short `why`, and the caller reads the file with zonefile.py, which
 * raises the real `file:line: reason` (one statement of the messages).
 */
#define _GNU_SOURCE
#include "zftable.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "zfwire.h"

#define HUGE_MIN ((size_t)2 << 20)

void *zf_table_alloc(size_t size)
{
    if (size < HUGE_MIN)
        return calloc(1, size);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, size, MADV_HUGEPAGE);
#endif
    return p;
}

void zf_table_release(void *p, size_t size)
{
    if (p == NULL)
        return;
    if (size < HUGE_MIN)
        free(p);
    else
        munmap(p, size);
}

#define MAP_MIN ((size_t)256 << 10)

/* A mapped array's mapping: whole 2 MiB extents on transparent huge pages
 * from the start, so filling it costs a fault per 2 MiB instead of one per
 * 4 KiB page (a 100,000-name compile touched ~6,600 pages of temporary
 * arrays, ~3 us a fault on this VM), and growth within the last extent is
 * free.  At most one partly used extent per array. */
static inline size_t map_size(size_t cap)
{
    return (cap + HUGE_MIN - 1) & ~(HUGE_MIN - 1);
}

static void *map_array(size_t cap)
{
    void *q = mmap(NULL, map_size(cap), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(q, map_size(cap), MADV_HUGEPAGE);
#endif
    return q;
}

void *zf_realloc(void *p, size_t cap, size_t new_cap)
{
    if (new_cap < MAP_MIN && cap < MAP_MIN)
        return realloc(p, new_cap ? new_cap : 1);
    void *q;
    if (cap >= MAP_MIN && new_cap >= MAP_MIN) {
        if (map_size(new_cap) == map_size(cap))
            return p;
        q = mremap(p, map_size(cap), map_size(new_cap), MREMAP_MAYMOVE);
        if (q == MAP_FAILED)
            return NULL;
    } else if (new_cap >= MAP_MIN) {
        q = map_array(new_cap);
        if (q == NULL)
            return NULL;
        if (p != NULL)
            memcpy(q, p, cap);
        free(p);
    } else { /* shrinking below the mapped size */
        q = malloc(new_cap ? new_cap : 1);
        if (q == NULL)
            return NULL;
        memcpy(q, p, new_cap);
        munmap(p, map_size(cap));
    }
    return q;
}

void zf_dealloc(void *p, size_t cap)
{
    if (p == NULL)
        return;
    if (cap >= MAP_MIN)
        munmap(p, map_size(cap));
    else
        free(p);
}

int zbuf_grow(zbuf_t *b, size_t extra)
{
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need)
        cap += cap / 2 + 4096;
    uint8_t *p = zf_realloc(b->p, b->cap, cap);
    if (p == NULL)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

void zbuf_free(zbuf_t *b)
{
    zf_dealloc(b->p, b->cap);
    b->p = NULL;
    b->len = b->cap = 0;
}

int zf_table_init(zf_table_t *t)
{
    memset(t, 0, sizeof(*t));
    t->hmask = (1u << 12) - 1;
    t->htab = zf_table_alloc((size_t)(t->hmask + 1) * sizeof(uint64_t)); /* zeroed: empty */
    return t->htab == NULL ? -1 : 0;
}

void zf_table_free(zf_table_t *t)
{
    zbuf_free(&t->arena);
    zbuf_free(&t->rdata);
    zf_dealloc(t->names, (size_t)t->capnames * sizeof(zf_name_t));
    zf_table_release(t->htab, t->htab ? (size_t)(t->hmask + 1) * sizeof(uint64_t) : 0);
    zf_dealloc(t->recs, t->caprecs * sizeof(zf_rec_t));
    zf_dealloc(t->rrsets, (size_t)t->nrrsets * sizeof(zf_rrset_t));
    zf_dealloc(t->rdidx, t->caprdidx * sizeof(uint32_t));
    free(t->zones);
    memset(t, 0, sizeof(*t));
}

int zf_add_zone(zf_table_t *t)
{
    if (t->nzones >= ZF_MAX_ZONES)
        return -1;
    if (t->nzones == t->capzones) {
        uint32_t cap = t->capzones ? t->capzones * 2 : 8;
        zf_zone_t *z = realloc(t->zones, cap * sizeof(zf_zone_t));
        if (z == NULL)
            return -1;
        t->zones = z;
        t->capzones = cap;
    }
    zf_zone_t *z = &t->zones[t->nzones];
    z->apex = ZF_NONE;
    z->soa = ZF_NONE;
    z->nrrsets = z->nrecords = 0;
    return (int)t->nzones++;
}

/* ---- names ---------------------------------------------------------------- */

/* zf_find with the name's hash already made (zf_intern hashes once) */
static inline uint32_t find_hashed(const zf_table_t *t, const uint8_t *name, size_t len,
                                   uint32_t h)
{
    for (uint32_t i = h & t->hmask;; i = (i + 1) & t->hmask) {
        uint64_t e = t->htab[i];
        if (e == 0)
            return ZF_NONE;
        if ((uint32_t)(e >> 32) != h)
            continue;
        uint32_t id = (uint32_t)e - 1;
        const zf_name_t *n = &t->names[id];
        if (n->len == len && memcmp(t->arena.p + n->off, name, len) == 0)
            return id;
    }
}

uint32_t zf_find(const zf_table_t *t, const uint8_t *name, size_t len)
{
    return find_hashed(t, name, len, zf_hash(name, len));
}

static int rehash(zf_table_t *t, uint32_t size)
{
    uint64_t *tab = zf_table_alloc((size_t)size * sizeof(uint64_t)); /* zeroed: empty */
    if (tab == NULL)
        return -1;
    uint32_t mask = size - 1;
    for (uint32_t id = 0; id < t->nnames; id++) {
        uint32_t h = t->names[id].hash, i = h & mask;
        while (tab[i] != 0)
            i = (i + 1) & mask;
        tab[i] = (uint64_t)h << 32 | (id + 1);
    }
    zf_table_release(t->htab, (size_t)(t->hmask + 1) * sizeof(uint64_t));
    t->htab = tab;
    t->hmask = mask;
    return 0;
}

static int grow_hash(zf_table_t *t)
{
    return rehash(t, (t->hmask + 1) * 2);
}

int zf_table_expect(zf_table_t *t, size_t names)
{
    size_t size = (size_t)t->hmask + 1;
    while (size < names * 2 && size < ((size_t)1 << 31))
        size *= 2;
    return size == (size_t)t->hmask + 1 ? 0 : rehash(t, (uint32_t)size);
}

/* adds a name whose octets are at `off` in the arena (already stored) */
static uint32_t add_name(zf_table_t *t, uint32_t off, size_t len, uint32_t h)
{
    if ((size_t)(t->nnames + 1) * 2 > (size_t)t->hmask + 1 && grow_hash(t) != 0)
        return ZF_NONE;
    if (t->nnames == t->capnames) {
        uint32_t cap = t->capnames ? t->capnames + t->capnames / 2 : 1024;
        zf_name_t *n = zf_realloc(t->names, (size_t)t->capnames * sizeof(zf_name_t),
                                  (size_t)cap * sizeof(zf_name_t));
        if (n == NULL)
            return ZF_NONE;
        t->names = n;
        t->capnames = cap;
    }
    uint32_t id = t->nnames++;
    zf_name_t *n = &t->names[id];
    n->off = off;
    n->hash = h;
    n->len = (uint8_t)len;
    n->parent = n->rr = n->cut_above = n->dname_above = n->wild = n->node = ZF_NONE;
    n->nrr = 0;
    n->zone = 0xFFFF;
    n->flags = 0;
    n->kind = ZK_PYTHON;
    uint32_t i = h & t->hmask;
    while (t->htab[i] != 0)
        i = (i + 1) & t->hmask;
    t->htab[i] = (uint64_t)h << 32 | (id + 1);
    return id;
}

uint32_t zf_intern(zf_table_t *t, const uint8_t *name, size_t len)
{
    return zf_intern_hashed(t, name, len, zf_hash(name, len));
}

uint32_t zf_intern_hashed(zf_table_t *t, const uint8_t *name, size_t len, uint32_t h)
{
    uint32_t id = find_hashed(t, name, len, h);
    if (id != ZF_NONE)
        return id;
    if (t->arena.len + len > 0xFFFFFFFFu)
        return ZF_NONE;
    uint32_t off = (uint32_t)t->arena.len;
    if (zbuf_put(&t->arena, name, len) != 0)
        return ZF_NONE;
    return add_name(t, off, len, h);
}

/* a parent is a suffix of its child's octets: share them.  Most owners
 * have one of a few parents, so a small cache of recent parents saves the
 * hash probe (a cache miss each) for nearly all of them. */
static uint32_t intern_suffix(zf_table_t *t, uint32_t off, size_t len, uint32_t *recent)
{
    const uint8_t *p = t->arena.p + off;
    uint32_t h = zf_hash(p, len);
    uint32_t *slot = &recent[h & 255];
    uint32_t id = *slot;
    if (id != ZF_NONE && t->names[id].hash == h && t->names[id].len == len &&
        memcmp(t->arena.p + t->names[id].off, p, len) == 0)
        return id;
    id = find_hashed(t, p, len, h);
    if (id == ZF_NONE)
        id = add_name(t, off, len, h);
    *slot = id;
    return id;
}

/* ---- records -------------------------------------------------------------- */

int zf_add_record(zf_table_t *t, uint32_t owner, uint16_t type, uint16_t zone, uint32_t ttl,
                  const uint8_t *rdata, size_t rdlen)
{
    if (rdlen > 0xFFFF || t->rdata.len + 2 + rdlen > 0xFFFFFFFFu)
        return -1;
    if (t->nrecs == t->caprecs) {
        size_t cap = t->caprecs ? t->caprecs + t->caprecs / 2 : 4096;
        zf_rec_t *r = zf_realloc(t->recs, t->caprecs * sizeof(zf_rec_t), cap * sizeof(zf_rec_t));
        if (r == NULL)
            return -1;
        t->recs = r;
        t->caprecs = cap;
    }
    uint32_t rd = (uint32_t)t->rdata.len;
    if (zbuf_reserve(&t->rdata, 2 + rdlen) != 0)
        return -1;
    uint8_t *p = t->rdata.p + rd;
    p[0] = (uint8_t)rdlen;
    p[1] = (uint8_t)(rdlen >> 8);
    if (rdlen)
        memcpy(p + 2, rdata, rdlen);
    t->rdata.len += 2 + rdlen;
    zf_rec_t *r = &t->recs[t->nrecs++];
    r->owner = owner;
    r->type = type;
    r->zone = zone;
    r->ttl = ttl;
    r->rd = rd;
    return 0;
}

static int same_rdata(const zf_table_t *t, uint32_t a, uint32_t b)
{
    const uint8_t *pa = t->rdata.p + a, *pb = t->rdata.p + b;
    size_t la = pa[0] | (pa[1] << 8), lb = pb[0] | (pb[1] << 8);
    return la == lb && memcmp(pa + 2, pb + 2, la) == 0;
}

static int by_type_then_order(const void *x, const void *y, void *ctx)
{
    const zf_rec_t *recs = ctx;
    const zf_rec_t *a = &recs[*(const uint32_t *)x], *b = &recs[*(const uint32_t *)y];
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    return a->rd < b->rd ? -1 : a->rd > b->rd;
}

static int is_singleton(uint16_t type)
{
    return type == ZT_SOA || type == ZT_CNAME || type == ZT_DNAME;
}

static uint16_t type_flag(uint16_t type)
{
    switch (type) {
    case ZT_NS: return ZN_HAS_NS;
    case ZT_CNAME: return ZN_HAS_CNAME;
    case ZT_DNAME: return ZN_HAS_DNAME;
    case ZT_SOA: return ZN_HAS_SOA;
    case ZT_PTR: case ZT_MX: case ZT_SRV: return ZN_HAS_NAMED;
    default: return 0;
    }
}

int zf_group(zf_table_t *t)
{
    size_t n = t->nrecs;
    size_t count_cap = ((size_t)t->nnames + 1) * sizeof(uint32_t);
    size_t perm_cap = (n ? n : 1) * sizeof(uint32_t);
    size_t rrsets_cap = (n ? n : 1) * sizeof(zf_rrset_t);
    size_t rdidx_cap = (n ? n : 1) * sizeof(uint32_t);
    uint32_t *count = zf_realloc(NULL, 0, count_cap);
    uint32_t *perm = zf_realloc(NULL, 0, perm_cap);
    zf_rrset_t *rrsets = zf_realloc(NULL, 0, rrsets_cap);
    uint32_t *rdidx = zf_realloc(NULL, 0, rdidx_cap);
    if (count != NULL)
        memset(count, 0, count_cap);
    int rc = -1;
    if (count == NULL || perm == NULL || rrsets == NULL || rdidx == NULL) {
        t->why = "out of memory";
        goto out;
    }
    /* a counting sort by owner keeps each owner's records in file order */
    for (size_t i = 0; i < n; i++)
        count[t->recs[i].owner + 1]++;
    for (uint32_t o = 0; o < t->nnames; o++)
        count[o + 1] += count[o];
    for (size_t i = 0; i < n; i++)
        perm[count[t->recs[i].owner]++] = (uint32_t)i;
    /* count[o] is now the end of owner o's run */
    uint32_t nrr = 0, nrd = 0;
    size_t start = 0;
    for (uint32_t o = 0; o < t->nnames; o++) {
        size_t end = count[o];
        if (end == start)
            continue;
        uint32_t *run = perm + start;
        size_t k = end - start;
        if (k > 16) {
            qsort_r(run, k, sizeof(uint32_t), by_type_then_order, t->recs);
        } else {
            /* most owners have a few records: a stable insertion sort by
             * type keeps file order within a type, as the comparison does */
            for (size_t i = 1; i < k; i++) {
                uint32_t x = run[i];
                uint16_t tx = t->recs[x].type;
                size_t j = i;
                for (; j > 0 && t->recs[run[j - 1]].type > tx; j--)
                    run[j] = run[j - 1];
                run[j] = x;
            }
        }
        zf_name_t *nm = &t->names[o];
        uint16_t zone = t->recs[run[0]].zone;
        nm->zone = zone;
        nm->flags |= ZN_OWNER;
        nm->rr = nrr;
        for (size_t i = 0; i < k;) {
            const zf_rec_t *r = &t->recs[run[i]];
            if (r->zone != zone) {
                t->why = "one owner in two zones";
                goto out;
            }
            zf_rrset_t *rs = &rrsets[nrr++];
            rs->owner = o;
            rs->type = r->type;
            rs->ttl = r->ttl;
            rs->first = nrd;
            uint32_t m = 0;
            size_t j = i;
            for (; j < k && t->recs[run[j]].type == r->type; j++) {
                uint32_t rd = t->recs[run[j]].rd;
                int dup = 0;
                for (uint32_t q = 0; q < m && !dup; q++)
                    dup = same_rdata(t, rdidx[rs->first + q], rd);
                if (!dup) {
                    if (m == 0xFFFF) {
                        t->why = "RRset of more than 65535 records";
                        goto out;
                    }
                    rdidx[nrd++] = rd;
                    m++;
                }
            }
            rs->n = (uint16_t)m;
            i = j;
            if (is_singleton(rs->type) && m > 1) {
                t->why = "more than one SOA, CNAME or DNAME record";
                goto out;
            }
            if (rs->type != ZT_CNAME && rs->type != ZT_RRSIG && rs->type != ZT_NSEC)
                nm->flags |= ZN_OTHER;
            nm->flags |= type_flag(rs->type);
            zf_zone_t *z = &t->zones[zone];
            z->nrrsets++;
            z->nrecords += m;
            if (rs->type == ZT_SOA) {
                if (z->soa != ZF_NONE || o != z->apex) {
                    t->why = "SOA not alone at the apex";
                    goto out;
                }
                z->soa = nrr - 1;
            }
        }
        if ((nm->flags & ZN_HAS_CNAME) && (nm->flags & ZN_OTHER)) {
            t->why = "CNAME and other data";
            goto out;
        }
        if (nrr - nm->rr > 0xFFFF) {
            t->why = "too many types at one owner";
            goto out;
        }
        nm->nrr = (uint16_t)(nrr - nm->rr);
        start = end;
    }
    for (uint32_t z = 0; z < t->nzones; z++) {
        if (t->zones[z].soa == ZF_NONE) {
            t->why = "no SOA record";
            goto out;
        }
    }
    zf_dealloc(t->recs, t->caprecs * sizeof(zf_rec_t));
    t->recs = NULL;
    t->nrecs = t->caprecs = 0;
    t->rrsets = zf_realloc(rrsets, rrsets_cap, (nrr ? nrr : 1) * sizeof(zf_rrset_t));
    if (t->rrsets == NULL) {
        t->why = "out of memory";
        t->rrsets = rrsets; /* freed with the wrong size otherwise */
        t->nrrsets = (uint32_t)(rrsets_cap / sizeof(zf_rrset_t));
        rrsets = NULL;
        goto out;
    }
    rrsets = NULL;
    t->nrrsets = nrr;
    t->rdidx = rdidx;
    t->caprdidx = rdidx_cap / sizeof(uint32_t);
    rdidx = NULL;
    rc = 0;
out:
    zf_dealloc(count, count_cap);
    zf_dealloc(perm, perm_cap);
    zf_dealloc(rrsets, rrsets_cap);
    zf_dealloc(rdidx, rdidx_cap);
    return rc;
}

/* ---- empty non-terminals and marks ------------------------------------------ */

static int is_subdomain(const uint8_t *name, size_t len, const uint8_t *anc, size_t alen)
{
    if (alen > len || memcmp(name + len - alen, anc, alen) != 0)
        return 0;
    size_t i = 0, cut = len - alen;
    while (i < cut)
        i += 1 + name[i];
    return i == cut;
}

static void mark(zf_table_t *t, uint32_t id)
{
    zf_name_t *n = &t->names[id];
    if (n->flags & ZN_HAS_NS && !(n->flags & (ZN_APEX | ZN_WILD_OWNER)))
        n->flags |= ZN_CUT;
    if (!(n->flags & ZN_APEX) && n->parent != ZF_NONE) {
        const zf_name_t *p = &t->names[n->parent];
        n->cut_above = p->cut_above != ZF_NONE ? p->cut_above : (p->flags & ZN_CUT ? n->parent : ZF_NONE);
        if (n->cut_above == ZF_NONE)
            n->dname_above = p->dname_above != ZF_NONE ? p->dname_above
                             : (p->flags & ZN_HAS_DNAME ? n->parent : ZF_NONE);
        if (p->flags & (ZN_BELOW_DNAME | ZN_HAS_DNAME))
            n->flags |= ZN_BELOW_DNAME;
    }
    if ((n->flags & ZN_WILD_OWNER) && n->parent != ZF_NONE)
        t->names[n->parent].wild = id;
    n->flags |= ZN_DERIVED;
}

/* which compiler a name needs (zfcompile.h); the order follows
 * compiler.compile_zones: occluded, below a DNAME, cut, then the rest */
static uint8_t classify(const zf_name_t *n)
{
    uint16_t f = n->flags;
    if (f & ZN_APEX)
        return ZK_PYTHON;
    if (n->cut_above != ZF_NONE)
        return ZK_OCCLUDED;
    if (n->dname_above != ZF_NONE)
        return ZK_PYTHON;
    if (f & ZN_CUT)
        return ZK_CUT;
    if (f & (ZN_HAS_DNAME | ZN_HAS_NS | ZN_HAS_SOA))
        return ZK_PYTHON;
    if (f & ZN_HAS_CNAME)
        return (f & ZN_WILD_OWNER) ? ZK_PYTHON : ZK_CNAME;
    if (f & ZN_HAS_NAMED)
        return (f & ZN_WILD_OWNER) ? ZK_PYTHON : ZK_NAMED;
    return ZK_PLAIN;
}

int zf_derive(zf_table_t *t)
{
    for (uint32_t z = 0; z < t->nzones; z++) {
        zf_name_t *apex = &t->names[t->zones[z].apex];
        if (apex->flags & ZN_APEX) {
            t->why = "two zones with the same origin";
            return -1;
        }
        apex->flags |= ZN_APEX;
    }
    uint32_t owners = t->nnames; /* names added below are empty non-terminals */
    uint32_t recent[256];
    memset(recent, 0xFF, sizeof(recent));
    for (uint32_t o = 0; o < owners; o++) {
        zf_name_t *n = &t->names[o];
        if (!(n->flags & ZN_OWNER))
            continue;
        uint16_t zone = n->zone;
        uint32_t apex = t->zones[zone].apex;
        const zf_name_t *a = &t->names[apex];
        const uint8_t *name = t->arena.p + n->off;
        if (name[0] == 1 && name[1] == '*')
            n->flags |= ZN_WILD_OWNER;
        if (!is_subdomain(name, n->len, t->arena.p + a->off, a->len)) {
            t->why = "owner out of zone";
            return -1;
        }
        uint32_t cur = o;
        while (cur != apex && t->names[cur].parent == ZF_NONE) {
            zf_name_t *c = &t->names[cur];
            uint32_t off = c->off + 1 + t->arena.p[c->off];
            size_t plen = c->len - 1 - t->arena.p[c->off];
            /* the owner ends in the apex (checked above), so a parent as
             * long as the apex is the apex: most owners', with no hash */
            uint32_t pid = plen == a->len ? apex : intern_suffix(t, off, plen, recent);
            if (pid == ZF_NONE) {
                t->why = "out of memory";
                return -1;
            }
            zf_name_t *p = &t->names[pid];
            if (p->zone == 0xFFFF) {
                p->zone = zone;
                const uint8_t *pn = t->arena.p + p->off;
                if (pn[0] == 1 && pn[1] == '*')
                    p->flags |= ZN_WILD_OWNER;
            } else if (p->zone != zone) {
                t->why = "zones nested with data below the inner apex";
                return -1;
            }
            t->names[cur].parent = pid;
            cur = pid;
        }
    }
    /* parents before children: the marks are inherited downwards */
    uint32_t stack[130];
    for (uint32_t id = 0; id < t->nnames; id++) {
        int depth = 0;
        uint32_t cur = id;
        while (cur != ZF_NONE && !(t->names[cur].flags & ZN_DERIVED) && depth < 130) {
            stack[depth++] = cur;
            cur = t->names[cur].parent;
        }
        while (depth > 0)
            mark(t, stack[--depth]);
    }
    for (uint32_t id = 0; id < t->nnames; id++) {
        zf_name_t *n = &t->names[id];
        if ((n->flags & ZN_OWNER) && (n->flags & ZN_BELOW_DNAME)) {
            t->why = "data below a DNAME";
            return -1;
        }
        n->kind = classify(n);
    }
    return 0;
}

/* ---- undoing a file the scanner gave up on ----------------------------------- */

int zf_truncate(zf_table_t *t, uint32_t nnames, size_t nrecs, size_t rdata_len, size_t arena_len,
                uint32_t nzones)
{
    if (nnames > t->nnames || nrecs > t->nrecs || nzones > t->nzones)
        return -1;
    t->nnames = nnames;
    t->nrecs = nrecs;
    t->rdata.len = rdata_len;
    t->arena.len = arena_len;
    t->nzones = nzones;
    memset(t->htab, 0, (size_t)(t->hmask + 1) * sizeof(uint64_t));
    for (uint32_t id = 0; id < t->nnames; id++) {
        uint32_t h = t->names[id].hash, i = h & t->hmask;
        while (t->htab[i] != 0)
            i = (i + 1) & t->hmask;
        t->htab[i] = (uint64_t)h << 32 | (id + 1);
    }
    return 0;
}
