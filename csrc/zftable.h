/* zftable.h: zone data as flat C arrays, between the master-file scanner
 * (zscan.c) and the fast compiler (zfcompile.c).
 *
 * The Python reader builds one RRset object per owner and type and one
 * bytes object per rdata; for a million names that is several million
 * objects, most of the time and memory of a load.  Here a record is 16
 * octets in one array, an rdata is a length-prefixed run in one arena, and
 * an owner is an interned, lower-cased wire name whose parent is a suffix
 * of its own octets (so empty non-terminals cost no name storage).
 *
 * Life of a table: zf_add_record() while scanning; zf_group() sorts the
 * records into RRsets and drops the record array; zf_derive() adds the
 * empty non-terminals and the marks zoneset.py computes (cut above, DNAME
 * above, wildcard child); zfcompile.c then writes node and block records.
 */
#ifndef ZF_TABLE_H
#define ZF_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define ZF_NONE 0xFFFFFFFFu
#define ZF_MAX_ZONES 0xFFFE

/* RR types the table looks at (model.py) */
#define ZT_A 1
#define ZT_NS 2
#define ZT_CNAME 5
#define ZT_SOA 6
#define ZT_PTR 12
#define ZT_MX 15
#define ZT_TXT 16
#define ZT_AAAA 28
#define ZT_SRV 33
#define ZT_DNAME 39
#define ZT_DS 43
#define ZT_RRSIG 46
#define ZT_NSEC 47
#define ZT_ANY 255

/* a growable octet buffer; `p` moves when it grows, so keep offsets */
typedef struct {
    uint8_t *p;
    size_t len; /* octets used */
    size_t cap; /* octets allocated */
} zbuf_t;

/* room for `extra` more octets; 0, or -1 out of memory.  The check is
 * inline (the scanner and the encoder ask once per line, label or name:
 * 9M instructions in calls at 100k names), the growth is not. */
int zbuf_grow(zbuf_t *b, size_t extra);
static inline int zbuf_reserve(zbuf_t *b, size_t extra)
{
    return b->len + extra <= b->cap ? 0 : zbuf_grow(b, extra);
}
/* Big arrays grow by mremap and go back to the system when freed: on the
 * malloc heap (glibc raises its mmap threshold after the first big free)
 * each realloc copied and left the old chunk resident, about 60 MB more
 * peak for a million names.  `cap` is the size allocated (0 for NULL). */
void *zf_realloc(void *p, size_t cap, size_t new_cap);
void zf_dealloc(void *p, size_t cap);
/* tables read at random (name hash, block dedup): zeroed, on transparent
 * huge pages when big, since each probe is otherwise a TLB miss too */
void *zf_table_alloc(size_t size);
void zf_table_release(void *p, size_t size);
void zbuf_free(zbuf_t *b);

static inline int zbuf_put(zbuf_t *b, const void *src, size_t n)
{
    if (b->len + n > b->cap && zbuf_reserve(b, n) != 0)
        return -1;
    if (n)
        __builtin_memcpy(b->p + b->len, src, n);
    b->len += n;
    return 0;
}

/* one record as scanned; its rdata is [u16 len][octets] at `rd` */
typedef struct {
    uint32_t owner; /* name id */
    uint16_t type;
    uint16_t zone; /* zone index */
    uint32_t ttl;
    uint32_t rd; /* offset in the rdata arena; also the record's order */
} zf_rec_t;

/* all records of one owner and type, in the order first given (RFC 2181 §5:
 * duplicates dropped); the TTL is the first record's, as zonefile.py keeps */
typedef struct {
    uint32_t owner; /* name id */
    uint16_t type;
    uint16_t n;     /* rdatas */
    uint32_t ttl;
    uint32_t first; /* index of its first rdata offset in `rdidx` */
} zf_rrset_t;

/* name flags */
#define ZN_OWNER 1       /* has records */
#define ZN_APEX 2        /* a zone's origin */
#define ZN_CUT 4         /* NS here, not the apex, not a wildcard: a delegation */
#define ZN_HAS_NS 8
#define ZN_HAS_CNAME 16
#define ZN_HAS_DNAME 32
#define ZN_HAS_NAMED 64  /* PTR, MX or SRV: answers name other names */
#define ZN_WILD_OWNER 128 /* the first label is "*" */
#define ZN_BELOW_DNAME 256 /* some ancestor (to the apex) owns a DNAME */
#define ZN_HAS_SOA 512
#define ZN_DERIVED 1024
#define ZN_OTHER 2048    /* a type beside CNAME other than RRSIG/NSEC */

/* how a name compiles (zfcompile.c) */
enum {
    ZK_PYTHON = 0, /* the Python compiler (apex, DNAME, wildcards with names, ...) */
    ZK_PLAIN,      /* only self-contained RRsets, or none (an empty non-terminal) */
    ZK_NAMED,      /* PTR/MX/SRV answers: compressed names, additional A/AAAA */
    ZK_CNAME,      /* a CNAME, chased here while the chain is ordinary */
    ZK_CUT,        /* a delegation: referral, and DS */
    ZK_OCCLUDED,   /* below a delegation: its referral */
};

typedef struct {
    uint32_t off;        /* lower-cased wire name in the names arena */
    uint32_t hash;       /* zf_hash of the name */
    uint32_t parent;     /* name id of the parent inside its zone, ZF_NONE at the apex */
    uint32_t rr;         /* first RRset (sorted by type), ZF_NONE if none */
    uint32_t cut_above;  /* topmost delegation strictly above, same zone */
    uint32_t dname_above;/* topmost DNAME owner strictly above (no cut between) */
    uint32_t wild;       /* the "*" child */
    uint32_t node;       /* offset of its node record once compiled */
    uint16_t nrr;        /* RRsets */
    uint16_t zone;       /* zone index */
    uint16_t flags;      /* ZN_* */
    uint8_t len;         /* wire length */
    uint8_t kind;        /* ZK_* */
} zf_name_t;

typedef struct {
    uint32_t apex;     /* name id of the origin */
    uint32_t soa;      /* RRset index of the SOA, ZF_NONE until grouped */
    uint32_t nrrsets;  /* for zone_info */
    uint32_t nrecords;
} zf_zone_t;

typedef struct zf_table {
    zbuf_t arena;        /* names, lower-cased wire */
    zf_name_t *names;
    uint32_t nnames, capnames;
    uint64_t *htab;      /* open addressing: hash << 32 | name id + 1, 0 empty (a
                            new table is zeroed memory, no fill); the hash is
                            in the slot so a probe touches one line */
    uint32_t hmask;
    zbuf_t rdata;        /* [u16 len][octets] per scanned rdata */
    zf_rec_t *recs;
    size_t nrecs, caprecs;
    zf_rrset_t *rrsets;
    uint32_t nrrsets;
    uint32_t *rdidx;     /* rdata offsets of every RRset, in order */
    size_t caprdidx;
    zf_zone_t *zones;
    uint32_t nzones, capzones;
    const char *why;     /* why the C path gave up (for diagnostics and tests) */
} zf_table_t;

int zf_table_init(zf_table_t *t);
/* room in the name hash for `names` names at once (a hint: the hash still
 * grows past it), so a big file's names are not rehashed at every doubling */
int zf_table_expect(zf_table_t *t, size_t names);
/* a new zone (one master file); its index, or -1 */
int zf_add_zone(zf_table_t *t);
void zf_table_free(zf_table_t *t);

/* id of the lower-cased wire name, or ZF_NONE */
uint32_t zf_find(const zf_table_t *t, const uint8_t *name, size_t len);
/* id of the name, added if new; `name` must already be lower-cased */
uint32_t zf_intern(zf_table_t *t, const uint8_t *name, size_t len);
/* zf_intern with the name's hash (zf_hash) already made */
uint32_t zf_intern_hashed(zf_table_t *t, const uint8_t *name, size_t len, uint32_t h);

/* Starts loading the hash slot a zf_intern of a name with hash `h` probes
 * first: the scanner asks for it when it reads an owner and interns once
 * the rest of the line is read, so the slot's cache miss (most of an
 * intern's time: the table is larger than L2) overlaps that work.  A table
 * that grows in between only makes the hint useless. */
static inline void zf_intern_prefetch(const zf_table_t *t, uint32_t h)
{
    __builtin_prefetch(&t->htab[h & t->hmask]);
}

int zf_add_record(zf_table_t *t, uint32_t owner, uint16_t type, uint16_t zone, uint32_t ttl,
                  const uint8_t *rdata, size_t rdlen);

/* records -> RRsets, with the whole-zone rules of zonefile.py's finish();
 * 0, or -1 with t->why set when the zone breaks one (Python then reports it) */
int zf_group(zf_table_t *t);
/* empty non-terminals and the zoneset.py marks; -1 with t->why on a fault */
int zf_derive(zf_table_t *t);

/* back to an earlier size: the records and names of a file given up on */
int zf_truncate(zf_table_t *t, uint32_t nnames, size_t nrecs, size_t rdata_len, size_t arena_len,
                uint32_t nzones);

static inline const uint8_t *zf_name(const zf_table_t *t, uint32_t id)
{
    return t->arena.p + t->names[id].off;
}

static inline const uint8_t *zf_rdata(const zf_table_t *t, uint32_t rd, uint16_t *len)
{
    const uint8_t *p = t->rdata.p + rd;
    *len = (uint16_t)(p[0] | (p[1] << 8));
    return p + 2;
}

/* the RRset of `type` at a name, or NULL */
static inline const zf_rrset_t *zf_rrset_of(const zf_table_t *t, uint32_t id, uint16_t type)
{
    const zf_name_t *n = &t->names[id];
    for (uint32_t i = 0; i < n->nrr; i++) {
        const zf_rrset_t *rs = &t->rrsets[n->rr + i];
        if (rs->type == type)
            return rs;
        if (rs->type > type)
            break;
    }
    return NULL;
}

#endif
