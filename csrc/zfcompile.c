/* zfcompile.c: zftable.h names -> node and block records (see zfcompile.h).
 *
 * Three parts, each the twin of a Python function it names:
 *   the encoder    blocks._Writer / encode_block / pack_block
 *   the resolver   ZoneSet.lookup, answer_node, chase, referral,
 *                  add_additional (the subset zfcompile.h lists)
 *   the names      compiler.compile_zones' loop body / layout.pack_node
 */
#define _GNU_SOURCE
#include "zfcompile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zfwire.h"

/* layout.py */
#define F_CUT 1
#define F_OCCLUDED 2
#define F_BELOW_DNAME 4
#define F_HAS_DNAME 8
#define F_APEX 16
#define F_WILD 32
#define F_ANY_FIRST 64
#define F_ZONE_NEG 128
#define REDIRECT_FLAGS (F_CUT | F_OCCLUDED | F_BELOW_DNAME | F_HAS_DNAME)
#define MAX_STREAM 0x80000000u

/* blocks.py */
#define FIX_BLOCK 0x8000
#define FIX_SERIAL 0x4000
#define MAX_POINTER_BASE (12 + 255 + 4 + 2 * (255 + 10 + 255))
#define MAX_BLOCK_TARGET (0x3FFF - MAX_POINTER_BASE)
#define MAX_BLOCK (65535 - MAX_POINTER_BASE - 64)

/* zoneset.py */
#define MAX_CHAIN 8
#define ABSENT_QTYPE 65534 /* compiler._ABSENT_QTYPE */

#define MAX_RRS 1024 /* per section; more goes to Python */

typedef struct {
    const uint8_t *owner; /* wire name, NULL: the qname (zoneset.QNAME) */
    uint8_t olen;
    uint16_t type;
    uint32_t ttl;
    const uint8_t *rd;
    uint16_t rdlen;
} zrr_t;

typedef struct {
    zrr_t an[MAX_RRS], ns[MAX_RRS], ar[MAX_RRS];
    int nan, nns, nar;
    int ar_required;
    uint8_t rcode, aa;
    int full; /* a section overflowed: give the name back */
} zres_t;

typedef struct {
    uint32_t key;   /* lower-cased suffix: offset in `low` */
    uint32_t next;  /* the target registered before it with the same length */
    uint8_t klen;
    uint16_t value; /* fixup value: qname suffix length, or FIX_BLOCK | offset */
} ztarget_t;

typedef struct {
    int fd;         /* -1: nothing written out (yet) */
    size_t spilled; /* stream octets before the buffer's first, in the file */
    int done;       /* zc_stream_finish ran: nothing more may be added */
} zspill_t;

typedef struct {
    uint32_t nx, nodata, row;
    uint8_t owner[256];
    int olen;
    uint16_t type; /* 0: a negative answer has no authority RR */
    uint32_t ttl;
    uint8_t *rd;
    uint16_t rdlen;
    int serial_row;
    int neg_ok; /* the C encoder makes this zone's negative blocks exactly */
    int set;
} zc_zone_t;

struct zc {
    zf_table_t *t;
    zc_zone_t *zones;
    uint32_t nzones;
    zbuf_t nodes, blocks;
    uint64_t *dedup; /* direct-mapped: hash << 32 | block offset + 1; 0 empty */
    uint32_t dmask;
    /* encoder */
    zbuf_t buf, low, rec;
    uint32_t *fix;
    uint32_t nfix, capfix;
    ztarget_t *tg;
    uint32_t ntg, captg;
    uint32_t tg_by_len[256]; /* the last target of each length, ZF_NONE: none */
    int reg;
    uint16_t ends[MAX_RRS];
    /* resolver */
    zres_t res, tmp;
    uint8_t chain[MAX_CHAIN + 40][256]; /* lower-cased names a chain visits */
    int nchain;
    uint32_t *refs;   /* referral block by cut name id, lazily */
    size_t nrefs;
    uint16_t *qtypes; /* chain_qtypes scratch */
    uint32_t nq, capq;
    uint8_t *entries; /* node type table being built */
    uint32_t nent, capent;
    uint32_t counts[6];
    int dry; /* pack_block leaves the record in `rec` without adding it */
    uint32_t last_block_hash; /* blk_commit's hash of the last block */
    /* keep_own_answer: encode()'s state once a CNAME owner's CNAME RR is in */
    int keep_own, own_ok;
    const uint8_t *own_context;
    zrr_t own_rr;
    uint8_t own_buf[600], own_low[512];
    uint32_t own_len, own_lowlen;
    uint32_t own_fix[4], own_nfix;
    ztarget_t own_tg[256];
    uint32_t own_ntg;
    /* lookup's last answer */
    uint8_t lk_name[256];
    int lk_len; /* 0: none */
    int lk_kind;
    uint32_t lk_node;
    const char *err;
    /* zc_spill: a stream's head goes to an unlinked temporary file once
     * it holds more than spill_window octets in memory, so that compiling
     * never holds the scanned table and both whole streams at once (1M
     * names: 77 MB of blocks and 44 MB of nodes beside a 123 MB table) */
    size_t spill_window; /* 0: the streams stay in memory */
    zspill_t nsp, bsp;   /* of `nodes`, of `blocks` */
};

const char *zc_error(const zc_t *c) { return c->err; }
size_t zc_stream_len(const zc_t *c, int which)
{
    return which ? c->bsp.spilled + c->blocks.len : c->nsp.spilled + c->nodes.len;
}
zbuf_t *zc_nodes(zc_t *c) { return &c->nodes; }
zbuf_t *zc_blocks(zc_t *c) { return &c->blocks; }

void zc_counts(const zc_t *c, uint32_t out[6])
{
    memcpy(out, c->counts, sizeof(c->counts));
}

zc_t *zc_new(zf_table_t *t)
{
    zc_t *c = calloc(1, sizeof(zc_t));
    if (c == NULL)
        return NULL;
    c->t = t;
    c->nsp.fd = c->bsp.fd = -1;
    c->nzones = t->nzones;
    c->zones = calloc(t->nzones ? t->nzones : 1, sizeof(zc_zone_t));
    c->nrefs = t->nnames ? t->nnames : 1;
    c->refs = zf_realloc(NULL, 0, c->nrefs * sizeof(uint32_t));
    uint32_t size = 1u << 14; /* 128 KiB: in L2, and its 32 pages in the first-level TLB */
    c->dedup = zf_table_alloc(size * sizeof(uint64_t));
    c->dmask = size - 1;
    if (c->zones == NULL || c->refs == NULL || c->dedup == NULL) {
        zc_free(c);
        return NULL;
    }
    memset(c->refs, 0xFF, c->nrefs * sizeof(uint32_t));
    memset(c->tg_by_len, 0xFF, sizeof(c->tg_by_len));
    return c;
}

void zc_trim(zc_t *c)
{
    if (c->zones)
        for (uint32_t z = 0; z < c->nzones; z++)
            free(c->zones[z].rd);
    free(c->zones);
    c->zones = NULL;
    c->nzones = 0;
    zbuf_free(&c->buf);
    zbuf_free(&c->low);
    zbuf_free(&c->rec);
    zf_table_release(c->dedup, c->dedup ? ((size_t)c->dmask + 1) * sizeof(uint64_t) : 0);
    c->dedup = NULL;
    free(c->fix);
    free(c->tg);
    c->fix = NULL;
    c->tg = NULL;
    c->nfix = c->capfix = c->ntg = c->captg = 0;
    zf_dealloc(c->refs, c->nrefs * sizeof(uint32_t));
    c->refs = NULL;
    c->nrefs = 0;
    free(c->qtypes);
    free(c->entries);
    c->qtypes = NULL;
    c->entries = NULL;
    c->nq = c->capq = c->nent = c->capent = 0;
}

void zc_free(zc_t *c)
{
    if (c == NULL)
        return;
    zc_trim(c);
    zbuf_free(&c->nodes);
    zbuf_free(&c->blocks);
    if (c->nsp.fd >= 0)
        close(c->nsp.fd);
    if (c->bsp.fd >= 0)
        close(c->bsp.fd);
    free(c);
}

int zc_set_zone(zc_t *c, uint32_t zone, uint32_t nx, uint32_t nodata, uint32_t row,
                const uint8_t *owner, int owner_len, uint16_t rr_type, uint32_t ttl,
                const uint8_t *rdata, int rdlen, int serial_row)
{
    if (zone >= c->t->nzones || owner_len > 255 || rdlen > 0xFFFF)
        return -1;
    zc_zone_t *z = &c->zones[zone];
    z->nx = nx;
    z->nodata = nodata;
    z->row = row;
    z->type = rr_type;
    z->ttl = ttl;
    z->olen = owner_len;
    if (owner_len > 0)
        memcpy(z->owner, owner, (size_t)owner_len);
    free(z->rd);
    z->rd = malloc(rdlen ? (size_t)rdlen : 1);
    if (z->rd == NULL)
        return -1;
    if (rdlen)
        memcpy(z->rd, rdata, (size_t)rdlen);
    z->rdlen = (uint16_t)rdlen;
    z->serial_row = serial_row;
    z->neg_ok = 0;
    z->set = 1;
    return 0;
}

/* ---- small helpers ------------------------------------------------------------- */

static inline void put_le16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline int name_len(const uint8_t *n)
{
    int i = 0;
    while (n[i] != 0)
        i += 1 + n[i];
    return i + 1;
}

/* a word at a time (zfwire.h): byte by byte this was ~37M of the 618M
 * instructions of a 100k-name zone file's compile */
static inline void lower_copy(uint8_t *dst, const uint8_t *src, int n)
{
    zf_fold_copy(dst, src, (size_t)n);
}

static int is_subdomain(const uint8_t *name, int len, const uint8_t *anc, int alen)
{
    if (alen > len || memcmp(name + len - alen, anc, (size_t)alen) != 0)
        return 0;
    int i = 0, cut = len - alen;
    while (i < cut)
        i += 1 + name[i];
    return i == cut;
}

/* ---- block stream ------------------------------------------------------------------ */

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int open_spill(void)
{
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || *dir == 0)
        dir = "/tmp";
#ifdef O_TMPFILE
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
#endif
    char path[4096];
    if (snprintf(path, sizeof(path), "%s/zonefront-blocks-XXXXXX", dir) >= (int)sizeof(path))
        return -1;
    fd = mkstemp(path);
    if (fd >= 0)
        unlink(path);
    return fd;
}

static inline zspill_t *spill_of(zc_t *c, const zbuf_t *s)
{
    return s == &c->blocks ? &c->bsp : &c->nsp;
}

/* Writes a stream's head out, keeping its last `keep` octets in memory
 * (where the dedup cache still finds recent blocks). */
static int spill_stream(zc_t *c, zbuf_t *s, size_t keep)
{
    zspill_t *sp = spill_of(c, s);
    if (s->len <= keep)
        return 0;
    if (sp->fd < 0 && (sp->fd = open_spill()) < 0)
        return -1;
    size_t out = s->len - keep;
    if (write_all(sp->fd, s->p, out) != 0)
        return -1;
    memmove(s->p, s->p + out, keep);
    s->len = keep;
    sp->spilled += out;
    return 0;
}

/* stream_room when the fast path cannot vouch for the room */
static uint32_t stream_room_slow(zc_t *c, zbuf_t *s, size_t len)
{
    zspill_t *sp = spill_of(c, s);
    if (sp->spilled + s->len + len >= MAX_STREAM) {
        c->err = s == &c->blocks ? "compiled answers exceed 2 GiB" : "compiled names exceed 2 GiB";
        return ZF_NONE;
    }
    if (sp->done) {
        c->err = "the stream is finished";
        return ZF_NONE;
    }
    if (c->spill_window && s->len + len > c->spill_window &&
        spill_stream(c, s, c->spill_window / 2) != 0) {
        c->err = "cannot write compiled records to a temporary file";
        return ZF_NONE;
    }
    if (zbuf_reserve(s, len) != 0) {
        c->err = "out of memory";
        return ZF_NONE;
    }
    return (uint32_t)(sp->spilled + s->len);
}

/* Room for `len` more octets of stream `s`, written out first if the
 * window is full; the logical offset they will have, or ZF_NONE.  Asked
 * once per node and block record: the common case (room in memory, the
 * window not reached, far from 2 GiB) is decided inline. */
static inline uint32_t stream_room(zc_t *c, zbuf_t *s, size_t len)
{
    const zspill_t *sp = spill_of(c, s);
    size_t end = s->len + len;
    if (end <= s->cap && (c->spill_window == 0 || end <= c->spill_window) && !sp->done &&
        sp->spilled + end < MAX_STREAM)
        return (uint32_t)(sp->spilled + s->len);
    return stream_room_slow(c, s, len);
}

/* Reads (or, with `out` NULL, writes `in`) n octets at logical offset
 * `off` of a stream, wherever they are: the file, memory, or both. */
static int stream_rw(zc_t *c, zbuf_t *s, size_t off, uint8_t *out, const uint8_t *in, size_t n)
{
    zspill_t *sp = spill_of(c, s);
    if (off + n > sp->spilled + s->len)
        return -1;
    while (n > 0 && off < sp->spilled) {
        size_t k = sp->spilled - off < n ? sp->spilled - off : n;
        ssize_t r = out ? pread(sp->fd, out, k, (off_t)off) : pwrite(sp->fd, in, k, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        off += (size_t)r;
        n -= (size_t)r;
        if (out)
            out += r;
        else
            in += r;
    }
    if (n > 0) {
        if (out)
            memcpy(out, s->p + (off - sp->spilled), n);
        else
            memcpy(s->p + (off - sp->spilled), in, n);
    }
    return 0;
}

static uint32_t stream_append(zc_t *c, zbuf_t *s, const uint8_t *rec, size_t len)
{
    uint32_t off = stream_room(c, s, len);
    if (off == ZF_NONE)
        return ZF_NONE;
    if (len)
        memcpy(s->p + s->len, rec, len);
    s->len += len;
    return off;
}


uint32_t zc_append_block(zc_t *c, const uint8_t *rec, size_t len)
{
    return stream_append(c, &c->blocks, rec, len);
}

/* Where a block record of at most `max` octets is built: the free tail of
 * the block stream when it fits there without anything being written out
 * (blk_commit then keeps it in place, no copy), else the `rec` scratch
 * buffer (and always in a dry run, which leaves the record in `rec`).
 * NULL when out of memory. */
static uint8_t *blk_open(zc_t *c, size_t max)
{
    zbuf_t *s = &c->blocks;
    if (!c->dry && !c->bsp.done && (c->spill_window == 0 || s->len + max <= c->spill_window)) {
        if (zbuf_reserve(s, max) != 0) {
            c->err = "out of memory";
            return NULL;
        }
        return s->p + s->len;
    }
    if (zbuf_reserve(&c->rec, max) != 0) {
        c->err = "out of memory";
        return NULL;
    }
    return c->rec.p;
}

/* A block record built at `rec` (blk_open), shared with an identical one
 * written recently.  The table is direct-mapped and small enough to stay
 * in cache (a full hash of every block missed the cache on each probe:
 * half a second for a million names); it catches the duplicates that
 * matter, the blocks one name repeats (a CNAME's own and ANY answers) and
 * the RRsets many names share (a popular address), and an occasional miss
 * only costs octets.  Its offset, or ZF_NONE with c->err. */
static uint32_t blk_commit(zc_t *c, const uint8_t *rec, size_t len)
{
    if (c->dry) {
        c->rec.len = len;
        return 0;
    }
    zbuf_t *s = &c->blocks;
    uint32_t h = zf_hash(rec, len);
    uint64_t *slot = &c->dedup[h & c->dmask];
    uint64_t e = *slot;
    size_t base = c->bsp.spilled;
    if (e && (uint32_t)(e >> 32) == h) {
        uint32_t off = (uint32_t)e - 1; /* written out already: a miss */
        if (off >= base && off - base + len <= s->len &&
            memcmp(s->p + (off - base), rec, len) == 0) {
            c->last_block_hash = h;
            return off;
        }
    }
    uint32_t off;
    if (rec == s->p + s->len) { /* built in place: stream_room's checks, no copy */
        if (base + s->len + len >= MAX_STREAM) {
            c->err = "compiled answers exceed 2 GiB";
            return ZF_NONE;
        }
        off = (uint32_t)(base + s->len);
        s->len += len;
    } else {
        off = stream_append(c, s, rec, len);
        if (off == ZF_NONE)
            return ZF_NONE;
    }
    *slot = (uint64_t)h << 32 | ((uint64_t)off + 1);
    c->last_block_hash = h;
    return off;
}

/* layout.pack_block; ZF_NONE with c->err on a hard error, or (err NULL)
 * when the block is too large: the name goes back to Python, which raises */
static uint32_t pack_block(zc_t *c, const uint8_t *data, size_t len, const uint32_t *fix, uint32_t nfix,
                           int an, int ns, int ar, uint32_t ar_start, int ar_required,
                           const uint16_t *ends, uint8_t rcode, int aa)
{
    if (len > 0xFFFF || nfix > 0xFFFF || an > 0xFFFF || ns > 0xFFFF || ar > 0xFFFF)
        return ZF_NONE;
    size_t need = 12 + 4 * (size_t)nfix + len + (ar ? 2 * (2 + (size_t)ar) : 0);
    uint8_t *rec = blk_open(c, need);
    if (rec == NULL)
        return ZF_NONE;
    uint8_t *p = rec;
    put_le16(p, (uint32_t)len);
    put_le16(p + 2, nfix);
    put_le16(p + 4, (uint32_t)an);
    put_le16(p + 6, (uint32_t)ns);
    put_le16(p + 8, (uint32_t)ar);
    p[10] = rcode;
    p[11] = aa ? 1 : 0;
    p += 12;
    for (uint32_t i = 0; i < nfix; i++, p += 4)
        put_le32(p, fix[i]);
    memcpy(p, data, len);
    p += len;
    if (ar) {
        put_le16(p, ar_start);
        put_le16(p + 2, (uint32_t)ar_required);
        p += 4;
        for (int i = 0; i < ar; i++, p += 2)
            put_le16(p, ends[i]);
    }
    return blk_commit(c, rec, need);
}

/* ---- the encoder (blocks._Writer) -------------------------------------------------- */

static int enc_grow_slow(zc_t *c, uint32_t targets)
{
    if (c->nfix + 1 > c->capfix) {
        uint32_t cap = c->capfix ? c->capfix * 2 : 256;
        uint32_t *f = realloc(c->fix, cap * sizeof(uint32_t));
        if (f == NULL)
            return -1;
        c->fix = f;
        c->capfix = cap;
    }
    if (c->ntg + targets > c->captg) {
        uint32_t cap = c->captg ? c->captg * 2 : 256;
        while (cap < c->ntg + targets)
            cap *= 2;
        ztarget_t *g = realloc(c->tg, cap * sizeof(ztarget_t));
        if (g == NULL)
            return -1;
        c->tg = g;
        c->captg = cap;
    }
    return zbuf_reserve(&c->buf, 600);
}

/* room for one more fixup, `targets` more targets and 600 octets (a name
 * and a pointer): asked once per name, the common case (all there) inline */
static inline int enc_grow(zc_t *c, uint32_t targets)
{
    if (c->nfix < c->capfix && c->ntg + targets <= c->captg && c->buf.len + 600 <= c->buf.cap)
        return 0;
    return enc_grow_slow(c, targets);
}

/* The targets are chained by length: a suffix is compared only with
 * those as long as it, mostly none or one (scanning them all was a third
 * of encoding).  No key is registered twice (enc_name adds only suffixes
 * it did not find), so the first match is the only one. */
static int enc_find(const zc_t *c, const uint8_t *key, int klen)
{
    for (uint32_t i = c->tg_by_len[klen]; i != ZF_NONE; i = c->tg[i].next) {
        const ztarget_t *g = &c->tg[i];
        if (memcmp(c->low.p + g->key, key, (size_t)klen) == 0)
            return g->value;
    }
    return -1;
}

static void enc_target(zc_t *c, uint32_t key, int klen, uint16_t value)
{
    uint32_t i = c->ntg++;
    ztarget_t *g = &c->tg[i];
    g->key = key;
    g->klen = (uint8_t)klen;
    g->value = value;
    g->next = c->tg_by_len[klen];
    c->tg_by_len[klen] = i;
}

/* forgets every target (a new block) */
static void enc_clear_targets(zc_t *c)
{
    for (uint32_t i = 0; i < c->ntg; i++)
        c->tg_by_len[c->tg[i].klen] = ZF_NONE;
    c->ntg = 0;
}

static void enc_pointer(zc_t *c, uint32_t value)
{
    c->fix[c->nfix++] = (uint32_t)c->buf.len | value << 16;
    c->buf.p[c->buf.len++] = 0xC0;
    c->buf.p[c->buf.len++] = 0x00;
}

/* blocks._Writer.name: the labels before the longest suffix written
 * already (in their own case), each of their suffixes a target for later
 * names, then a pointer to that suffix or the root label */
static int enc_name(zc_t *c, const uint8_t *name, int nlen)
{
    if (enc_grow(c, 128) != 0) /* a name has at most 127 labels */
        return -1;
    if (name == NULL) {
        enc_pointer(c, 0);
        return 0;
    }
    if (zbuf_reserve(&c->low, (size_t)nlen) != 0)
        return -1;
    uint32_t lowoff = (uint32_t)c->low.len;
    lower_copy(c->low.p + lowoff, name, nlen);
    c->low.len += (size_t)nlen;
    int i = 0, hit = -1;
    for (; name[i] != 0; i += 1 + name[i]) {
        hit = enc_find(c, c->low.p + lowoff + i, nlen - i);
        if (hit >= 0)
            break;
    }
    /* none of the suffixes before i is known (nor made known by adding
     * another: they differ in length), so each becomes a target */
    size_t off = c->buf.len;
    if (c->reg)
        for (int j = 0; j < i && off + (size_t)j <= MAX_BLOCK_TARGET; j += 1 + name[j])
            enc_target(c, lowoff + (uint32_t)j, nlen - j, (uint16_t)(FIX_BLOCK | (off + (size_t)j)));
    memcpy(c->buf.p + off, name, (size_t)(unsigned)i);
    c->buf.len += (size_t)(unsigned)i;
    if (hit >= 0)
        enc_pointer(c, (uint32_t)hit);
    else
        c->buf.p[c->buf.len++] = 0;
    return 0;
}

/* the row of an apex whose SOA carries a serial fixup, or -1 */
static int serial_row_of(const zc_t *c, const zrr_t *rr)
{
    if (rr->owner == NULL)
        return -1;
    uint32_t id = zf_find(c->t, rr->owner, rr->olen);
    if (id == ZF_NONE || !(c->t->names[id].flags & ZN_APEX))
        return -1;
    return c->zones[c->t->names[id].zone].serial_row;
}

static int enc_rr(zc_t *c, const zrr_t *rr)
{
    if (enc_name(c, rr->owner, rr->olen) != 0 || zbuf_reserve(&c->buf, 10 + (size_t)rr->rdlen + 600) != 0)
        return -1;
    uint8_t *h = c->buf.p + c->buf.len;
    size_t start = c->buf.len;
    h[0] = (uint8_t)(rr->type >> 8);
    h[1] = (uint8_t)rr->type;
    h[2] = 0;
    h[3] = 1;
    h[4] = (uint8_t)(rr->ttl >> 24);
    h[5] = (uint8_t)(rr->ttl >> 16);
    h[6] = (uint8_t)(rr->ttl >> 8);
    h[7] = (uint8_t)rr->ttl;
    h[8] = h[9] = 0;
    c->buf.len += 10;
    size_t rd_start = c->buf.len;
    const uint8_t *rd = rr->rd;
    switch (rr->type) {
    case ZT_NS: case ZT_CNAME: case ZT_PTR:
        if (enc_name(c, rd, rr->rdlen) != 0)
            return -1;
        break;
    case ZT_MX:
        memcpy(c->buf.p + c->buf.len, rd, 2);
        c->buf.len += 2;
        if (enc_name(c, rd + 2, rr->rdlen - 2) != 0)
            return -1;
        break;
    case ZT_SOA: {
        int m = name_len(rd), r = name_len(rd + m);
        if (enc_name(c, rd, m) != 0 || enc_name(c, rd + m, r) != 0 ||
            zbuf_reserve(&c->buf, (size_t)(rr->rdlen - m - r)) != 0)
            return -1;
        memcpy(c->buf.p + c->buf.len, rd + m + r, (size_t)(rr->rdlen - m - r));
        c->buf.len += (size_t)(rr->rdlen - m - r);
        break;
    }
    default:
        memcpy(c->buf.p + c->buf.len, rd, rr->rdlen);
        c->buf.len += rr->rdlen;
    }
    size_t rdl = c->buf.len - rd_start;
    c->buf.p[start + 8] = (uint8_t)(rdl >> 8);
    c->buf.p[start + 9] = (uint8_t)rdl;
    if (rr->type == ZT_SOA) {
        int row = serial_row_of(c, rr);
        if (row >= 0) {
            size_t pos = c->buf.len - 20;
            memset(c->buf.p + pos, 0, 4);
            if (enc_grow(c, 0) != 0)
                return -1;
            c->fix[c->nfix++] = (uint32_t)pos | (uint32_t)(FIX_SERIAL | row) << 16;
        }
    }
    return 0;
}

/* A CNAME owner's answers all begin with its CNAME RR, owned by the
 * qname, and its answer to qtype CNAME is that RR alone.  What encode()
 * has written once that RR is in (octets, fixups, lower-cased names and
 * compression targets) is kept from the default answer: the answer to
 * qtype CNAME is packed from it, and the answers that go on along the
 * chain start from it instead of encoding the qname's suffixes and the
 * CNAME RR again (the encoder would arrive at the same state). */
static int keep_own_answer(zc_t *c, const zrr_t *rr, const uint8_t *context)
{
    c->own_ok = 0;
    if (rr->type != ZT_CNAME || rr->owner != NULL || c->nfix > 4 || c->buf.len > sizeof(c->own_buf) ||
        c->low.len > sizeof(c->own_low) || c->ntg > sizeof(c->own_tg) / sizeof(c->own_tg[0]))
        return 0;
    memcpy(c->own_buf, c->buf.p, c->buf.len);
    c->own_len = (uint32_t)c->buf.len;
    memcpy(c->own_fix, c->fix, c->nfix * sizeof(uint32_t));
    c->own_nfix = c->nfix;
    memcpy(c->own_low, c->low.p, c->low.len);
    c->own_lowlen = (uint32_t)c->low.len;
    memcpy(c->own_tg, c->tg, c->ntg * sizeof(ztarget_t));
    c->own_ntg = c->ntg;
    c->own_rr = *rr;
    c->own_context = context;
    c->own_ok = 1;
    return 0;
}

/* encode()'s state back to keep_own_answer's when `res` starts with the
 * kept CNAME RR under the same qname: 1, or 0 (start afresh), -1 out of
 * memory */
static int resume_own_answer(zc_t *c, const zres_t *res, const uint8_t *context)
{
    const zrr_t *a = &res->an[0], *k = &c->own_rr;
    if (!c->own_ok || c->keep_own || res->nan == 0 || context != c->own_context ||
        a->owner != NULL || a->type != k->type || a->ttl != k->ttl || a->rd != k->rd ||
        a->rdlen != k->rdlen)
        return 0;
    /* the fixup array only grows: it held these fixups when they were kept */
    if (enc_grow(c, c->own_ntg) != 0 || zbuf_reserve(&c->low, c->own_lowlen) != 0 ||
        c->capfix < c->own_nfix)
        return -1;
    memcpy(c->buf.p, c->own_buf, c->own_len);
    c->buf.len = c->own_len;
    memcpy(c->fix, c->own_fix, c->own_nfix * sizeof(uint32_t));
    c->nfix = c->own_nfix;
    memcpy(c->low.p, c->own_low, c->own_lowlen);
    c->low.len = c->own_lowlen;
    for (uint32_t i = 0; i < c->own_ntg; i++) {
        const ztarget_t *g = &c->own_tg[i];
        enc_target(c, g->key, g->klen, g->value);
    }
    return 1;
}

/* encode_block(res, suffixes_of(context)) + pack_block; ZF_NONE with
 * c->err set on a hard error, or with c->err NULL to give the name back */
static uint32_t encode(zc_t *c, const zres_t *res, const uint8_t *context, int clen)
{
    c->buf.len = c->low.len = 0;
    c->nfix = 0;
    enc_clear_targets(c);
    c->reg = 1;
    int first = resume_own_answer(c, res, context);
    if (first < 0)
        goto nomem;
    if (first == 0) {
        if (zbuf_reserve(&c->low, (size_t)clen) != 0 || enc_grow(c, 128) != 0)
            goto nomem;
        memcpy(c->low.p, context, (size_t)clen); /* node names are lower-cased */
        c->low.len = (size_t)clen;
        for (int i = 0; context[i] != 0; i += 1 + context[i])
            enc_target(c, (uint32_t)i, clen - i, (uint16_t)(clen - i));
    }
    for (int i = first; i < res->nan; i++) {
        if (enc_rr(c, &res->an[i]) != 0)
            goto nomem;
        if (i == 0 && c->keep_own && keep_own_answer(c, &res->an[0], context) != 0)
            goto nomem;
    }
    for (int i = 0; i < res->nns; i++)
        if (enc_rr(c, &res->ns[i]) != 0)
            goto nomem;
    uint32_t ar_start = (uint32_t)c->buf.len;
    for (int i = 0; i < res->nar; i++) {
        if (enc_rr(c, &res->ar[i]) != 0)
            goto nomem;
        c->ends[i] = (uint16_t)c->buf.len;
        if (c->buf.len > 0xFFFF)
            return ZF_NONE;
    }
    if (c->buf.len > MAX_BLOCK)
        return ZF_NONE; /* Python raises "response sections larger than ..." */
    return pack_block(c, c->buf.p, c->buf.len, c->fix, c->nfix, res->nan, res->nns, res->nar,
                      ar_start, res->ar_required, c->ends, res->rcode, res->aa);
nomem:
    c->err = "out of memory";
    return ZF_NONE;
}

/* Builder.add_rrset_answer: one RRset owned by the qname, written as
 * pack_block would pack it (a pointer fixup per RR, nothing else) straight
 * into its record: no section buffer, no fixup array */
static uint32_t rrset_block(zc_t *c, const zf_rrset_t *rs)
{
    const zf_table_t *t = c->t;
    const uint32_t *rdi = t->rdidx + rs->first;
    size_t len = 0;
    for (uint32_t i = 0; i < rs->n; i++) {
        const uint8_t *p = t->rdata.p + rdi[i];
        len += 12 + (size_t)(p[0] | (p[1] << 8));
    }
    if (len > 0xFFFF)
        return ZF_NONE;
    size_t need = 12 + 4 * (size_t)rs->n + len;
    uint8_t *rec = blk_open(c, need);
    if (rec == NULL)
        return ZF_NONE;
    put_le16(rec, (uint32_t)len);
    put_le16(rec + 2, rs->n);
    put_le16(rec + 4, rs->n);
    memset(rec + 6, 0, 4); /* no authority, no additional */
    rec[10] = 0;
    rec[11] = 1;
    uint8_t *fix = rec + 12, *p = fix + 4 * (size_t)rs->n;
    uint8_t head[10] = {(uint8_t)(rs->type >> 8), (uint8_t)rs->type, 0, 1,
                        (uint8_t)(rs->ttl >> 24), (uint8_t)(rs->ttl >> 16),
                        (uint8_t)(rs->ttl >> 8), (uint8_t)rs->ttl, 0, 0};
    uint32_t at = 0;
    for (uint32_t i = 0; i < rs->n; i++, fix += 4) {
        const uint8_t *rd = t->rdata.p + rdi[i];
        uint32_t n = (uint32_t)(rd[0] | (rd[1] << 8));
        put_le32(fix, at); /* a pointer to the qname: fixup value 0 */
        p[0] = 0xC0;
        p[1] = 0;
        memcpy(p + 2, head, 8);
        p[10] = (uint8_t)(n >> 8);
        p[11] = (uint8_t)n;
        memcpy(p + 12, rd + 2, n);
        p += 12 + n;
        at += 12 + n;
    }
    return blk_commit(c, rec, need);
}

/* ---- the resolver (zoneset.ZoneSet) ------------------------------------------------ */

enum { L_REFUSED, L_REFERRAL, L_CUT, L_DNAME, L_NXDOMAIN, L_EXACT, L_WILDCARD };

static int lookup_table(const zc_t *c, const uint8_t *name, int len, uint32_t *node);

/* ZoneSet.lookup of a lower-cased name.  A CNAME's target is looked up by
 * chain_qtypes and again by every answer compiled for its owner (three or
 * more), so the last answer is kept: the table does not change while
 * compiling. */
static int lookup(zc_t *c, const uint8_t *name, int len, uint32_t *node)
{
    if (c->lk_len == len && memcmp(c->lk_name, name, (size_t)len) == 0) {
        *node = c->lk_node;
        return c->lk_kind;
    }
    int kind = lookup_table(c, name, len, node);
    memcpy(c->lk_name, name, (size_t)len);
    c->lk_len = len;
    c->lk_kind = kind;
    c->lk_node = *node;
    return kind;
}

static int lookup_table(const zc_t *c, const uint8_t *name, int len, uint32_t *node)
{
    const zf_table_t *t = c->t;
    *node = ZF_NONE;
    uint32_t id = zf_find(t, name, (size_t)len);
    if (id != ZF_NONE) {
        const zf_name_t *n = &t->names[id];
        if (n->cut_above != ZF_NONE) {
            *node = n->cut_above;
            return L_REFERRAL;
        }
        *node = id;
        if (n->dname_above != ZF_NONE) {
            *node = n->dname_above;
            return L_DNAME;
        }
        return (n->flags & ZN_CUT) ? L_CUT : L_EXACT;
    }
    int i = 0;
    while (name[i] != 0) {
        i += 1 + name[i];
        uint32_t e = zf_find(t, name + i, (size_t)(len - i));
        if (e == ZF_NONE)
            continue;
        const zf_name_t *enc = &t->names[e];
        if (enc->cut_above != ZF_NONE) {
            *node = enc->cut_above;
            return L_REFERRAL;
        }
        *node = e;
        if (enc->flags & ZN_CUT)
            return L_REFERRAL;
        if (enc->dname_above != ZF_NONE) {
            *node = enc->dname_above;
            return L_DNAME;
        }
        if (enc->flags & ZN_HAS_DNAME)
            return L_DNAME;
        if (enc->wild != ZF_NONE) {
            *node = enc->wild;
            return L_WILDCARD;
        }
        return L_NXDOMAIN;
    }
    return L_REFUSED;
}

static int push_rr(zres_t *res, zrr_t *list, int *n, const uint8_t *owner, int olen, uint16_t type,
                   uint32_t ttl, const uint8_t *rd, uint16_t rdlen)
{
    if (*n >= MAX_RRS) {
        res->full = 1;
        return -1;
    }
    zrr_t *r = &list[(*n)++];
    r->owner = owner;
    r->olen = (uint8_t)olen;
    r->type = type;
    r->ttl = ttl;
    r->rd = rd;
    r->rdlen = rdlen;
    return 0;
}

/* zoneset.rrset_rrs */
static int push_rrset(const zc_t *c, zres_t *res, zrr_t *list, int *n, const zf_rrset_t *rs,
                      const uint8_t *owner, int olen)
{
    for (uint32_t i = 0; i < rs->n; i++) {
        uint16_t len;
        const uint8_t *rd = zf_rdata(c->t, c->t->rdidx[rs->first + i], &len);
        if (push_rr(res, list, n, owner, olen, rs->type, rs->ttl, rd, len) != 0)
            return -1;
    }
    return 0;
}

static int same_rr(const zrr_t *a, const zrr_t *b)
{
    if (a->type != b->type || a->ttl != b->ttl || a->rdlen != b->rdlen)
        return 0;
    if ((a->owner == NULL) != (b->owner == NULL))
        return 0;
    if (a->owner && (a->olen != b->olen || memcmp(a->owner, b->owner, a->olen) != 0))
        return 0;
    return memcmp(a->rd, b->rd, a->rdlen) == 0;
}

/* zoneset._dedupe, in place */
static int dedupe(zrr_t *list, int n)
{
    int out = 0;
    for (int i = 0; i < n; i++) {
        int dup = 0;
        for (int j = 0; j < out && !dup; j++)
            dup = same_rr(&list[j], &list[i]);
        if (!dup)
            list[out++] = list[i];
    }
    return out;
}

/* the name additional-section processing follows (rdata_target), lower-cased */
static int rdata_target(const zrr_t *rr, uint8_t *out)
{
    int at;
    if (rr->type == ZT_NS)
        at = 0;
    else if (rr->type == ZT_MX)
        at = 2;
    else if (rr->type == ZT_SRV)
        at = 6;
    else
        return -1;
    int n = name_len(rr->rd + at);
    lower_copy(out, rr->rd + at, n);
    return n;
}

/* ZoneSet.add_additional */
static int add_additional(zc_t *c, zres_t *res)
{
    const zf_table_t *t = c->t;
    int total = res->nan + res->nns;
    for (int k = 0; k < total; k++) {
        const zrr_t *rr = k < res->nan ? &res->an[k] : &res->ns[k - res->nan];
        uint8_t target[256];
        int tl = rdata_target(rr, target);
        if (tl < 0)
            continue;
        uint32_t id = zf_find(t, target, (size_t)tl);
        if (id == ZF_NONE || t->names[id].dname_above != ZF_NONE)
            continue;
        const uint8_t *tname = zf_name(t, id);
        static const uint16_t addr_types[2] = {ZT_A, ZT_AAAA};
        for (int a = 0; a < 2; a++) {
            const zf_rrset_t *rs = zf_rrset_of(t, id, addr_types[a]);
            if (rs == NULL)
                continue;
            int present = 0;
            for (int i = 0; i < res->nan && !present; i++) {
                const zrr_t *x = &res->an[i];
                present = x->type == addr_types[a] && x->owner != NULL && x->olen == tl &&
                          memcmp(x->owner, target, (size_t)tl) == 0;
            }
            if (!present && push_rrset(c, res, res->ar, &res->nar, rs, tname, tl) != 0)
                return -1;
        }
    }
    res->nar = dedupe(res->ar, res->nar);
    return 0;
}

static void res_clear(zres_t *res)
{
    res->nan = res->nns = res->nar = 0;
    res->ar_required = 0;
    res->rcode = 0;
    res->aa = 1;
    res->full = 0;
}

/* ZoneSet.negative; gives the name back when the C encoder cannot vouch
 * for the zone's negative blocks */
static int negative(zc_t *c, zres_t *res, uint16_t zone, uint8_t rcode)
{
    zc_zone_t *z = &c->zones[zone];
    if (!z->set || !z->neg_ok)
        return ZC_GIVE_BACK;
    res->rcode = rcode;
    if (z->type && push_rr(res, res->ns, &res->nns, z->owner, z->olen, z->type, z->ttl, z->rd, z->rdlen) != 0)
        return ZC_GIVE_BACK;
    return ZC_OK;
}

static int in_chain(const zc_t *c, const uint8_t *name, int len)
{
    for (int i = 0; i < c->nchain; i++)
        if (name_len(c->chain[i]) == len && memcmp(c->chain[i], name, (size_t)len) == 0)
            return 1;
    return 0;
}

static int chase(zc_t *c, zres_t *res, const uint8_t *rd, uint16_t qtype);

/* ZoneSet.answer_node, for names without routed record sets */
static int answer_node(zc_t *c, zres_t *res, uint32_t id, const uint8_t *owner, int olen, uint16_t qtype)
{
    const zf_table_t *t = c->t;
    const zf_name_t *n = &t->names[id];
    if (qtype == ZT_DS && (n->flags & ZN_APEX))
        return ZC_GIVE_BACK; /* a child apex: DS is the parent's data */
    if (qtype == ZT_ANY) {
        if (n->nrr == 0)
            return negative(c, res, n->zone, 0);
        qtype = t->rrsets[n->rr].type; /* RFC 8482: the lowest type */
    }
    const zf_rrset_t *rs = zf_rrset_of(t, id, qtype);
    if (rs != NULL)
        return push_rrset(c, res, res->an, &res->nan, rs, owner, olen) == 0 ? ZC_OK : ZC_GIVE_BACK;
    const zf_rrset_t *cname = zf_rrset_of(t, id, ZT_CNAME);
    if (cname == NULL)
        return negative(c, res, n->zone, 0);
    if (push_rrset(c, res, res->an, &res->nan, cname, owner, olen) != 0)
        return ZC_GIVE_BACK;
    uint16_t len;
    const uint8_t *rd = zf_rdata(t, t->rdidx[cname->first], &len);
    return chase(c, res, rd, qtype);
}

/* ZoneSet.chase (RFC 1034 §4.3.2 step 3.a) */
static int chase(zc_t *c, zres_t *res, const uint8_t *rd, uint16_t qtype)
{
    int len = name_len(rd);
    uint8_t target[256];
    lower_copy(target, rd, len);
    if (in_chain(c, target, len) || c->nchain > MAX_CHAIN)
        return ZC_OK;
    if (c->nchain >= (int)(sizeof(c->chain) / sizeof(c->chain[0])))
        return ZC_GIVE_BACK;
    uint8_t *owner = c->chain[c->nchain++];
    memcpy(owner, target, (size_t)len);
    uint32_t node;
    switch (lookup(c, owner, len, &node)) {
    case L_REFUSED:
        return ZC_OK;
    case L_REFERRAL: case L_CUT: /* the chain continues with the referral: Python's chase */
        return ZC_GIVE_BACK;
    case L_NXDOMAIN:
        return negative(c, res, c->t->names[node].zone, 3);
    case L_DNAME:
        return ZC_GIVE_BACK;
    default:
        return answer_node(c, res, node, owner, len, qtype);
    }
}

/* compiler.zs_resolve_node for a name that is not a cut: the answer to
 * `qtype` landing exactly on it, additional section included */
static int resolve(zc_t *c, zres_t *res, uint32_t id, uint16_t qtype)
{
    res_clear(res);
    const uint8_t *name = zf_name(c->t, id);
    c->nchain = 1;
    memcpy(c->chain[0], name, c->t->names[id].len);
    int rc = answer_node(c, res, id, NULL, 0, qtype);
    if (rc != ZC_OK)
        return rc;
    if (add_additional(c, res) != 0 || res->full)
        return ZC_GIVE_BACK;
    return ZC_OK;
}

/* ZoneSet.referral: NS in authority, glue (required) and other addresses */
static int referral(zc_t *c, uint32_t cut, uint32_t *block)
{
    if (c->refs[cut] != ZF_NONE) {
        *block = c->refs[cut];
        return ZC_OK;
    }
    const zf_table_t *t = c->t;
    zres_t *res = &c->res, *opt = &c->tmp;
    res_clear(res);
    res_clear(opt);
    res->aa = 0;
    const uint8_t *cname = zf_name(t, cut);
    int clen = t->names[cut].len;
    const zf_rrset_t *ns = zf_rrset_of(t, cut, ZT_NS);
    if (ns == NULL || push_rrset(c, res, res->ns, &res->nns, ns, cname, clen) != 0)
        return ZC_GIVE_BACK;
    for (uint32_t i = 0; i < ns->n; i++) {
        uint16_t rdlen;
        const uint8_t *rd = zf_rdata(t, t->rdidx[ns->first + i], &rdlen);
        uint8_t target[256];
        int tl = name_len(rd);
        lower_copy(target, rd, tl);
        uint32_t id = zf_find(t, target, (size_t)tl);
        if (id == ZF_NONE)
            continue;
        int glue = is_subdomain(target, tl, cname, clen);
        static const uint16_t addr_types[2] = {ZT_A, ZT_AAAA};
        for (int a = 0; a < 2; a++) {
            const zf_rrset_t *rs = zf_rrset_of(t, id, addr_types[a]);
            if (rs == NULL)
                continue;
            zres_t *into = glue ? res : opt;
            if (push_rrset(c, into, into->ar, &into->nar, rs, zf_name(t, id), tl) != 0)
                return ZC_GIVE_BACK;
        }
    }
    res->nar = dedupe(res->ar, res->nar);
    res->ar_required = res->nar;
    for (int i = 0; i < opt->nar; i++)
        if (push_rr(res, res->ar, &res->nar, opt->ar[i].owner, opt->ar[i].olen, opt->ar[i].type,
                    opt->ar[i].ttl, opt->ar[i].rd, opt->ar[i].rdlen) != 0)
            return ZC_GIVE_BACK;
    res->nar = dedupe(res->ar, res->nar);
    uint32_t b = encode(c, res, cname, clen);
    if (b == ZF_NONE)
        return c->err ? ZC_ERROR : ZC_GIVE_BACK;
    *block = c->refs[cut] = b;
    return ZC_OK;
}

/* ---- names (compiler.compile_zones' loop, layout.pack_node) ------------------------ */

static int grow_entries(zc_t *c)
{
    uint32_t cap = c->capent ? c->capent * 2 : 64;
    uint8_t *e = realloc(c->entries, (size_t)cap * 6);
    if (e == NULL) {
        c->err = "out of memory";
        return ZC_ERROR;
    }
    c->entries = e;
    c->capent = cap;
    return ZC_OK;
}

static inline int add_entry(zc_t *c, uint16_t qtype, uint32_t block)
{
    if (c->nent == c->capent && grow_entries(c) != ZC_OK)
        return ZC_ERROR;
    uint8_t *e = c->entries + 6 * c->nent++;
    put_le16(e, qtype);
    put_le32(e + 2, block);
    return ZC_OK;
}

static uint32_t entry_block(const zc_t *c, uint32_t i)
{
    const uint8_t *e = c->entries + 6 * i;
    return (uint32_t)e[2] | (uint32_t)e[3] << 8 | (uint32_t)e[4] << 16 | (uint32_t)e[5] << 24;
}

static int pack_node(zc_t *c, uint32_t id, uint8_t flags, uint32_t default_block, uint32_t any_block,
                     uint32_t redirect, uint32_t nx)
{
    const zf_table_t *t = c->t;
    const zf_name_t *n = &t->names[id];
    const zc_zone_t *z = &c->zones[n->zone];
    if (n->wild != ZF_NONE)
        flags |= F_WILD;
    if (c->nent && entry_block(c, 0) == any_block)
        flags |= F_ANY_FIRST;
    if (default_block == z->nodata && z->row <= 0xFFFF)
        flags |= F_ZONE_NEG;
    uint8_t head[20];
    size_t h = 4;
    head[0] = n->len;
    head[1] = flags;
    put_le16(head + 2, c->nent);
    if (flags & F_ZONE_NEG) {
        put_le16(head + h, z->row);
        h += 2;
    } else {
        put_le32(head + h, default_block);
        put_le32(head + h + 4, nx);
        h += 8;
    }
    if (!(flags & F_ANY_FIRST)) {
        put_le32(head + h, any_block);
        h += 4;
    }
    if (flags & REDIRECT_FLAGS) {
        put_le32(head + h, redirect);
        h += 4;
    }
    if (flags & F_WILD) {
        put_le32(head + h, 0); /* zc_patch_wild */
        h += 4;
    }
    zbuf_t *s = &c->nodes;
    uint32_t at = stream_room(c, s, h + n->len + 6 * (size_t)c->nent);
    if (at == ZF_NONE)
        return ZC_ERROR;
    t->names[id].node = at;
    memcpy(s->p + s->len, head, h);
    s->len += h;
    memcpy(s->p + s->len, zf_name(t, id), n->len);
    s->len += n->len;
    memcpy(s->p + s->len, c->entries, 6 * (size_t)c->nent);
    s->len += 6 * (size_t)c->nent;
    return ZC_OK;
}

int zc_append_node(zc_t *c, uint32_t name, const uint8_t *rec, size_t len)
{
    if (name >= c->t->nnames)
        return -1;
    uint32_t off = stream_append(c, &c->nodes, rec, len);
    if (off == ZF_NONE)
        return -1;
    c->t->names[name].node = off;
    return 0;
}

#define CHECK_BLOCK(b) do { if ((b) == ZF_NONE) return c->err ? ZC_ERROR : ZC_GIVE_BACK; } while (0)

static int self_contained(uint16_t type)
{
    switch (type) {
    case ZT_NS: case ZT_CNAME: case ZT_PTR: case ZT_MX: case ZT_SOA: case ZT_SRV: case ZT_DNAME:
        return 0;
    default:
        return 1; /* DS too: away from an apex its answer is just the RRset */
    }
}

static int compile_plain(zc_t *c, uint32_t id)
{
    const zf_table_t *t = c->t;
    const zf_name_t *n = &t->names[id];
    const zc_zone_t *z = &c->zones[n->zone];
    for (uint32_t i = 0; i < n->nrr; i++) {
        const zf_rrset_t *rs = &t->rrsets[n->rr + i];
        uint32_t b;
        if (self_contained(rs->type)) {
            b = rrset_block(c, rs);
        } else {
            int rc = resolve(c, &c->res, id, rs->type);
            if (rc != ZC_OK)
                return rc;
            b = encode(c, &c->res, zf_name(t, id), n->len);
        }
        CHECK_BLOCK(b);
        if (add_entry(c, rs->type, b) != ZC_OK)
            return ZC_ERROR;
    }
    uint32_t any = c->nent ? entry_block(c, 0) : z->nodata;
    return pack_node(c, id, 0, z->nodata, any, ZF_NONE, z->nx);
}

static int compile_redirect(zc_t *c, uint32_t id, int cut)
{
    const zf_table_t *t = c->t;
    const zf_name_t *n = &t->names[id];
    const zc_zone_t *z = &c->zones[n->zone];
    uint32_t redirect;
    int rc = referral(c, cut ? id : n->cut_above, &redirect);
    if (rc != ZC_OK)
        return rc;
    if (cut) {
        const zf_rrset_t *ds = zf_rrset_of(t, id, ZT_DS);
        if (ds != NULL) {
            uint32_t b = rrset_block(c, ds);
            CHECK_BLOCK(b);
            if (add_entry(c, ZT_DS, b) != ZC_OK)
                return ZC_ERROR;
        }
    }
    return pack_node(c, id, cut ? F_CUT : F_OCCLUDED, z->nodata, z->nodata, redirect, z->nx);
}

static int cmp_u16(const void *a, const void *b)
{
    return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* mostly a handful of types (an owner's and its chain's): insertion sort,
 * qsort past that */
static void sort_u16(uint16_t *v, uint32_t n)
{
    if (n > 32) {
        qsort(v, n, sizeof(uint16_t), cmp_u16);
        return;
    }
    for (uint32_t i = 1; i < n; i++) {
        uint16_t x = v[i];
        uint32_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

static int add_qtype(zc_t *c, uint16_t q)
{
    if (c->nq == c->capq) {
        uint32_t cap = c->capq ? c->capq * 2 : 64;
        uint16_t *p = realloc(c->qtypes, cap * sizeof(uint16_t));
        if (p == NULL) {
            c->err = "out of memory";
            return ZC_ERROR;
        }
        c->qtypes = p;
        c->capq = cap;
    }
    c->qtypes[c->nq++] = q;
    return ZC_OK;
}

/* compiler.chain_qtypes: every type present along the chain (a CNAME owner
 * has one target here: no routed record sets in a scanned zone) */
static int chain_qtypes(zc_t *c, uint32_t id)
{
    const zf_table_t *t = c->t;
    uint8_t seen[33][256];
    int nseen = 1;
    memcpy(seen[0], zf_name(t, id), t->names[id].len);
    const zf_rrset_t *cn = zf_rrset_of(t, id, ZT_CNAME);
    uint16_t len;
    const uint8_t *rd = zf_rdata(t, t->rdidx[cn->first], &len);
    while (rd != NULL && nseen <= 32) {
        int tl = name_len(rd);
        uint8_t target[256];
        lower_copy(target, rd, tl);
        rd = NULL;
        int dup = 0;
        for (int i = 0; i < nseen && !dup; i++)
            dup = name_len(seen[i]) == tl && memcmp(seen[i], target, (size_t)tl) == 0;
        if (dup)
            continue; /* the one pending target was seen: the walk ends */
        memcpy(seen[nseen++], target, (size_t)tl);
        uint32_t node;
        int kind = lookup(c, target, tl, &node);
        if (kind != L_EXACT && kind != L_WILDCARD)
            continue;
        const zf_name_t *n = &t->names[node];
        for (uint32_t i = 0; i < n->nrr; i++)
            if (t->rrsets[n->rr + i].type != ZT_CNAME && add_qtype(c, t->rrsets[n->rr + i].type) != ZC_OK)
                return ZC_ERROR;
        const zf_rrset_t *next = zf_rrset_of(t, node, ZT_CNAME);
        if (next != NULL)
            rd = zf_rdata(t, t->rdidx[next->first], &len);
    }
    return ZC_OK;
}

static int compile_cname(zc_t *c, uint32_t id)
{
    const zf_table_t *t = c->t;
    const zf_name_t *n = &t->names[id];
    const zc_zone_t *z = &c->zones[n->zone];
    c->nq = 0;
    for (uint32_t i = 0; i < n->nrr; i++)
        if (add_qtype(c, t->rrsets[n->rr + i].type) != ZC_OK)
            return ZC_ERROR;
    if (chain_qtypes(c, id) != ZC_OK)
        return ZC_ERROR;
    sort_u16(c->qtypes, c->nq);
    uint32_t nq = 0;
    for (uint32_t i = 0; i < c->nq; i++)
        if (nq == 0 || c->qtypes[nq - 1] != c->qtypes[i])
            c->qtypes[nq++] = c->qtypes[i];
    c->nq = nq;
    if (nq && c->qtypes[nq - 1] == ABSENT_QTYPE)
        return ZC_GIVE_BACK; /* Python raises: the type is reserved */
    const uint8_t *name = zf_name(t, id);
    int rc = resolve(c, &c->res, id, ABSENT_QTYPE);
    if (rc != ZC_OK)
        return rc;
    c->keep_own = 1;
    c->own_ok = 0;
    uint32_t def = encode(c, &c->res, name, n->len);
    c->keep_own = 0;
    CHECK_BLOCK(def);
    uint32_t own = ZF_NONE, own_hash = 0; /* the answer to qtype CNAME */
    for (uint32_t i = 0; i < c->nq; i++) {
        uint32_t b;
        if (c->qtypes[i] == ZT_CNAME && c->own_ok) {
            /* ZoneSet.answer_node: the CNAME RRset alone (no chase, no
             * additional section), as keep_own_answer kept it */
            b = pack_block(c, c->own_buf, c->own_len, c->own_fix, c->own_nfix, 1, 0, 0,
                           c->own_len, 0, NULL, 0, 1);
        } else {
            rc = resolve(c, &c->res, id, c->qtypes[i]);
            if (rc != ZC_OK)
                return rc;
            b = encode(c, &c->res, name, n->len);
        }
        CHECK_BLOCK(b);
        if (c->qtypes[i] == ZT_CNAME) {
            own = b;
            own_hash = c->last_block_hash;
        }
        if (add_entry(c, c->qtypes[i], b) != ZC_OK)
            return ZC_ERROR;
    }
    /* ANY answers the lowest type (RFC 8482), here the CNAME (RRSIG and
     * NSEC sort after it): the same octets as qtype CNAME, which
     * pack_block finds again while the dedup slot points at them */
    uint32_t any;
    if (own != ZF_NONE && c->dedup[own_hash & c->dmask] == ((uint64_t)own_hash << 32 | ((uint64_t)own + 1)) &&
        own >= c->bsp.spilled && t->rrsets[n->rr].type == ZT_CNAME) {
        any = own;
    } else {
        rc = resolve(c, &c->res, id, ZT_ANY);
        if (rc != ZC_OK)
            return rc;
        any = encode(c, &c->res, name, n->len);
        CHECK_BLOCK(any);
    }
    return pack_node(c, id, 0, def, any, ZF_NONE, z->nx);
}

int zc_compile(zc_t *c)
{
    zf_table_t *t = c->t;
    for (uint32_t id = 0; id < t->nnames; id++) {
        zf_name_t *n = &t->names[id];
        if (n->kind == ZK_PYTHON) {
            c->counts[ZK_PYTHON]++;
            continue;
        }
        c->nent = 0;
        c->own_ok = 0; /* keep_own_answer's state is one CNAME owner's */
        int rc;
        switch (n->kind) {
        case ZK_PLAIN: case ZK_NAMED: rc = compile_plain(c, id); break;
        case ZK_CNAME: rc = compile_cname(c, id); break;
        case ZK_CUT: rc = compile_redirect(c, id, 1); break;
        case ZK_OCCLUDED: rc = compile_redirect(c, id, 0); break;
        default: rc = ZC_GIVE_BACK;
        }
        if (rc == ZC_ERROR)
            return ZC_ERROR;
        if (rc == ZC_GIVE_BACK)
            t->names[id].kind = ZK_PYTHON;
        c->counts[t->names[id].kind]++;
    }
    return ZC_OK;
}

uint32_t zc_check_negatives(zc_t *c)
{
    uint32_t ok = 0;
    for (uint32_t zi = 0; zi < c->t->nzones; zi++) {
        zc_zone_t *z = &c->zones[zi];
        if (!z->set)
            continue;
        z->neg_ok = 1; /* tentatively, so negative() adds the RR */
        zres_t *res = &c->res;
        res_clear(res);
        negative(c, res, (uint16_t)zi, 0);
        uint32_t apex = c->t->zones[zi].apex;
        c->dry = 1;
        uint32_t b = encode(c, res, zf_name(c->t, apex), c->t->names[apex].len);
        c->dry = 0;
        size_t base = c->bsp.spilled; /* a block written out already: left to Python */
        z->neg_ok = b != ZF_NONE && z->nodata >= base &&
                    (size_t)z->nodata - base + c->rec.len <= c->blocks.len &&
                    memcmp(c->blocks.p + (z->nodata - base), c->rec.p, c->rec.len) == 0;
        c->err = NULL;
        ok += (uint32_t)z->neg_ok;
    }
    return ok;
}

int zc_patch_wild(zc_t *c)
{
    const zf_table_t *t = c->t;
    for (uint32_t id = 0; id < t->nnames; id++) {
        const zf_name_t *n = &t->names[id];
        if (n->wild == ZF_NONE)
            continue;
        uint32_t off = n->node, to = t->names[n->wild].node;
        uint8_t head[4], val[4];
        if (off == ZF_NONE || to == ZF_NONE || stream_rw(c, &c->nodes, off, head, NULL, 4) != 0)
            return -1;
        uint8_t flags = head[1];
        if (!(flags & F_WILD))
            return -1;
        size_t pos = 4 + ((flags & F_ZONE_NEG) ? 2 : 8) + ((flags & F_ANY_FIRST) ? 0 : 4) +
                     ((flags & REDIRECT_FLAGS) ? 4 : 0);
        put_le32(val, to);
        if (stream_rw(c, &c->nodes, (size_t)off + pos, NULL, val, 4) != 0)
            return -1;
    }
    return 0;
}

void zc_spill(zc_t *c, size_t window)
{
    c->spill_window = window;
}

int zc_stream_finish(zc_t *c, int which)
{
    zbuf_t *s = which ? &c->blocks : &c->nodes;
    zspill_t *sp = spill_of(c, s);
    if (sp->fd < 0)
        return -1;
    if (spill_stream(c, s, 0) != 0) {
        c->err = "cannot write compiled records to a temporary file";
        return -2;
    }
    zbuf_free(s);
    sp->done = 1;
    return sp->fd;
}
