# C declarations for csrc/zfstats.h: per-worker counters and the query record ring.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t

cdef extern from "zfstats.h" nogil:
    int ZF_ST_QTYPES
    int ZF_ST_RCODES
    int ZF_ST_ZONES
    int ZF_ST_KINDS
    int ZF_ST_CANDS
    int ZF_ST_VIEWS
    int ZF_ST_BATCH_BUCKETS
    ctypedef struct zf_qrec_t:
        uint32_t size
        uint32_t zone
        uint64_t ts_us
        uint8_t tcp
        uint8_t family
        uint16_t port
        uint16_t qlen
        uint16_t rlen
        uint8_t addr[16]
        uint16_t dport
    ctypedef struct zf_ring_t:
        uint64_t written
        uint64_t dropped
        uint32_t cap
    ctypedef struct zf_stats_t:
        uint64_t resp[1024][2][16][8]
        uint64_t tc[2]
        uint64_t routed[9]
        uint64_t cand[4096]
        uint64_t cand_other
        uint64_t view_hits[64]
        uint64_t batch[12]
        uint64_t batch_sum
        uint32_t port
    ctypedef struct zf_rec_owner_t:
        uint16_t qtype
        uint8_t len
        uint8_t name[256]
    ctypedef struct zf_recs_t:
        uint32_t cap
        uint32_t used
        uint64_t overflow
    int ZF_RECS_RCODES
    zf_recs_t* zf_recs_new(uint32_t slots)
    void zf_recs_free(zf_recs_t* t)
    int zf_recs_slot(const zf_recs_t* t, uint32_t i, zf_rec_owner_t* owner, uint64_t* counts)
    void zf_stats_set_recs(zf_stats_t* st, zf_recs_t* t)
    zf_stats_t* zf_stats_new()
    void zf_stats_set_ring(zf_stats_t* st, zf_ring_t* r)
    void zf_stats_set_rows(zf_stats_t* st, const void* rows)
    void zf_stats_set_log_all(zf_stats_t* st, int on)
    zf_ring_t* zf_ring_new(uint32_t cap, int full_messages)
    void zf_ring_free(zf_ring_t* r)
    size_t zf_ring_take(zf_ring_t* r, uint8_t* out, size_t cap)


cdef class Counters:
    cdef zf_stats_t* st            # owned; written by one loop only
    cdef zf_ring_t* ring           # owned once enabled; never freed while a loop may run
    cdef zf_recs_t* recs           # owned once enabled (per-record counters); freed with this
    cdef list _rows                # every log_rows buffer handed to C (kept alive)
