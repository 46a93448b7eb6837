# cdef extern declarations for the fast compile path's C (csrc/zftable.h,
# csrc/zscan.h, csrc/zfcompile.h): only what _fastcompile.pyx uses.
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t


cdef extern from "zftable.h":
    enum: ZF_NONE
    ctypedef struct zbuf_t:
        uint8_t* p
        size_t len
        size_t cap
    int zbuf_put(zbuf_t* b, const void* src, size_t n)

    ctypedef struct zf_rrset_t:
        uint32_t owner
        uint16_t type
        uint16_t n
        uint32_t ttl
        uint32_t first

    ctypedef struct zf_name_t:
        uint32_t off
        uint32_t parent
        uint32_t rr
        uint32_t cut_above
        uint32_t dname_above
        uint32_t wild
        uint32_t node
        uint16_t nrr
        uint16_t zone
        uint16_t flags
        uint8_t len
        uint8_t kind

    ctypedef struct zf_zone_t:
        uint32_t apex
        uint32_t soa
        uint32_t nrrsets
        uint32_t nrecords

    ctypedef struct zf_table_t:
        zbuf_t arena
        zf_name_t* names
        uint32_t nnames
        zbuf_t rdata
        size_t nrecs
        zf_rrset_t* rrsets
        uint32_t nrrsets
        uint32_t* rdidx
        zf_zone_t* zones
        uint32_t nzones
        const char* why

    int zf_table_init(zf_table_t* t)
    void zf_table_free(zf_table_t* t)
    int zf_add_zone(zf_table_t* t)
    uint32_t zf_find(const zf_table_t* t, const uint8_t* name, size_t len)
    uint32_t zf_intern(zf_table_t* t, const uint8_t* name, size_t len)
    int zf_add_record(zf_table_t* t, uint32_t owner, uint16_t type, uint16_t zone, uint32_t ttl,
                      const uint8_t* rdata, size_t rdlen)
    int zf_group(zf_table_t* t)
    int zf_derive(zf_table_t* t)
    int zf_truncate(zf_table_t* t, uint32_t nnames, size_t nrecs, size_t rdata_len,
                    size_t arena_len, uint32_t nzones)
    const uint8_t* zf_name(const zf_table_t* t, uint32_t id)
    const uint8_t* zf_rdata(const zf_table_t* t, uint32_t rd, uint16_t* len)


cdef extern from "zscan.h":
    ctypedef struct zs_tok_t:
        const char* src
        uint32_t off
        uint32_t len
        uint8_t quoted
        uint8_t nonascii

    ctypedef struct zs_scanner_t
    ctypedef int (*zs_rdata_fn)(zs_scanner_t* s, uint16_t type, const zs_tok_t* toks, int ntoks,
                                const uint8_t* origin, int origin_len, zbuf_t* out) noexcept
    ctypedef int (*zs_include_fn)(zs_scanner_t* s, const zs_tok_t* args, int nargs,
                                  const uint8_t* origin, int origin_len, int depth) noexcept

    ctypedef struct zs_scanner_t:
        zf_table_t* t
        uint16_t zone
        int64_t dollar_ttl
        int64_t last_ttl
        zbuf_t tokbuf
        void* ctx
        zs_rdata_fn rdata_fn
        zs_include_fn include_fn
        const char* why
        uint32_t why_line
        uint32_t fallbacks
        int release_behind

    const char* zs_tok_text(const zs_scanner_t* s, const zs_tok_t* tok)
    int zs_add_type(const char* mnemonic, uint16_t value)
    int zs_init(zs_scanner_t* s, zf_table_t* t, uint16_t zone)
    void zs_free(zs_scanner_t* s)
    int zs_scan(zs_scanner_t* s, const uint8_t* text, size_t len, const uint8_t* origin,
                int origin_len, int depth)


cdef extern from "zfcompile.h":
    enum: ZC_OK
    enum: ZC_ERROR
    ctypedef struct zc_t
    zc_t* zc_new(zf_table_t* t)
    void zc_free(zc_t* c)
    void zc_trim(zc_t* c)
    int zc_set_zone(zc_t* c, uint32_t zone, uint32_t nx, uint32_t nodata, uint32_t row,
                    const uint8_t* owner, int owner_len, uint16_t rr_type, uint32_t ttl,
                    const uint8_t* rdata, int rdlen, int serial_row)
    uint32_t zc_check_negatives(zc_t* c)
    int zc_compile(zc_t* c)
    uint32_t zc_append_block(zc_t* c, const uint8_t* rec, size_t len)
    int zc_append_node(zc_t* c, uint32_t name, const uint8_t* rec, size_t len)
    int zc_patch_wild(zc_t* c)
    const char* zc_error(const zc_t* c)
    zbuf_t* zc_nodes(zc_t* c)
    zbuf_t* zc_blocks(zc_t* c)
    size_t zc_stream_len(const zc_t* c, int which)
    void zc_spill(zc_t* c, size_t window)
    int zc_stream_finish(zc_t* c, int which)
    void zc_counts(const zc_t* c, uint32_t* out)
