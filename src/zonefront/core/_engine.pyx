# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The compiled answer path: parse -> find node -> pick block -> relocate.

Everything per query is C with no Python object: the socket loops call
engine_answer() with the GIL released.  The answer logic itself was run at
compile time (snapshot/compiler.py); here a query costs one parse, one to a
few hash probes and one memcpy.  ref/engine.py is the readable twin and
tests/differential compare the two byte for byte.

One translation unit, read in parts (`include`, in this order), each named
after what it shares with the twin:

    _wire.pxi      byte order, parse_query (ref/wire.py); names: csrc/zfwire.h
    _records.pxi   node and block records in place (snapshot/layout.py)
    _policy.pxi    make_client, select_ref / select_to_values (ref/policy.py)
    _encode.pxi    write_header_only, opt_record, put_block, copy_block
    _decide.pxi    decide, view_for: what answers (ref/engine.py)
    _answer.pxi    engine_answer and its stages, by ref/engine.py's names
    _counters.pxi  per-worker counters (csrc/zfstats.h)
    _prefetch.pxi  engine_prefetch: the batch's stages (csrc/zfapi.h)
    _image.pxi     Image: loading, validation, patching; answer_batched
"""
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, qsort
from libc.string cimport memcpy, memset
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize

cdef extern from "zfwire.h" nogil:
    # one name walker, case folder and hash for the engine, the loops and RRL
    size_t zf_name_walk(const uint8_t* m, size_t len, size_t off, uint8_t* label_off,
                        uint32_t* nlabels, uint32_t max_labels)
    ssize_t zf_name_skip(const uint8_t* m, size_t len, size_t off)
    void zf_fold_copy(uint8_t* d, const uint8_t* s, size_t n)
    uint32_t zf_hash(const uint8_t* p, size_t n)

cdef extern from "zfdebug.h":
    # a debug build (ZONEFRONT_DEBUG=1) checks these and aborts naming the one
    # that failed; a release build compiles them to nothing
    void ZF_ASSERT(bint cond) nogil
    int ZF_DEBUG_BUILD

DEBUG_BUILD = bool(ZF_DEBUG_BUILD)  # the tests of the CI debug pass check they run on one


def _check_invariant(bint cond):
    """ZF_ASSERT(cond), for the test that a debug build really aborts."""
    ZF_ASSERT(cond)

cdef extern from "zfarena.h":
    void* arena_alloc(size_t size, size_t* mapped, int* huge, uint8_t** start) nogil
    void arena_seal(void* base, size_t mapped, int huge) nogil
    void arena_free(void* base, size_t mapped, int huge) nogil
    void arena_copy(uint8_t* dst, const uint8_t* src, size_t n, int release) nogil

cdef extern from *:
    """
    /* A zone row's fixup, out of line: answers that quote an SOA are the
     * rarer ones, and kept small the block copy that every answer runs stays
     * inlined into its callers (a second call there cost that, ~34
     * instructions an answer): kind S, the serial, or kind G, a signed SOA's
     * RRSIG rdata
     * (blocks.py).  After the `nrows` serials come per row the block record
     * of the RRSIG at the SOA's TTL, then per row at the negative TTL (an
     * image holds kind G fixups only with them, walk_blocks); `room` is what
     * the copy holds from `p` on. */
    static __attribute__((noinline)) void zf_put_row(uint8_t *p, size_t room,
            const uint32_t *serials, const uint8_t *blocks, uint32_t nrows, uint32_t val)
    {
        const uint8_t *b;
        uint32_t off, len, nfix;
        if (!(val & 0x8000)) {
            if (room >= 4) {
                off = serials[val & 0x3FFF];
                p[0] = off >> 24; p[1] = (off >> 16) & 0xFF; p[2] = (off >> 8) & 0xFF;
                p[3] = off & 0xFF;
            }
            return;
        }
        off = serials[nrows + ((val >> 13) & 1) * nrows + (val & 0x1FFF)];
        if (off == 0xFFFFFFFFu)
            return;
        b = blocks + off;
        len = (uint32_t)b[0] | (uint32_t)b[1] << 8;
        nfix = (uint32_t)b[2] | (uint32_t)b[3] << 8;
        if (len <= room)
            memcpy(p, b + 12 + 4 * nfix, len);  /* 12: BLOCK_HEAD */
    }
    """
    void zf_put_row(uint8_t* p, size_t room, const uint32_t* serials, const uint8_t* blocks,
                    uint32_t nrows, uint32_t val) noexcept nogil

cdef extern from "zfstats.h" nogil:
    # per-worker counters (issue 15): the loop hands its own in ctx.stats
    ctypedef struct zf_stats_t:
        pass
    const uint32_t ZF_ZONE_ID_PRIVATE
    const uint32_t ZF_ZONE_ID_NONE
    void zf_stats_answer(zf_stats_t* st, unsigned tcp, uint16_t qtype, unsigned rcode,
                         uint32_t zone, unsigned tc)
    void zf_stats_routed(zf_stats_t* st, unsigned kind, uint32_t cand)
    uint32_t zf_stats_row_of_nx(zf_stats_t* st, const uint32_t* negatives, uint32_t nneg,
                                uint32_t nx)
    void zf_stats_view(zf_stats_t* st, uint32_t view)
    # per-record counters (csrc/zfrecs.h): NULL unless --metrics-per-record
    ctypedef struct zf_recs_t:
        pass
    zf_recs_t* zf_stats_recs(zf_stats_t* st)
    void zf_recs_count(zf_recs_t* t, const uint8_t* owner, unsigned len, uint16_t qtype,
                       unsigned rcode)

include "_wire.pxi"
include "_records.pxi"
include "_policy.pxi"
include "_encode.pxi"
include "_decide.pxi"
include "_answer.pxi"
include "_counters.pxi"
include "_prefetch.pxi"
include "_image.pxi"


def wire_constants():
    """The numbers this build was compiled with, by the names of the Python
    tables they mirror: tests/core/test_wire_constants.py holds them equal."""
    return {
        "TYPE_CNAME": TYPE_CNAME, "TYPE_DNAME": TYPE_DNAME, "TYPE_OPT": TYPE_OPT, "TYPE_DS": TYPE_DS,
        "TYPE_IXFR": TYPE_IXFR, "TYPE_AXFR": TYPE_AXFR, "TYPE_ANY": TYPE_ANY,
        "RCODE_FORMERR": RCODE_FORMERR, "RCODE_SERVFAIL": RCODE_SERVFAIL,
        "RCODE_NOTIMP": RCODE_NOTIMP, "RCODE_REFUSED": RCODE_REFUSED,
        "RCODE_YXDOMAIN": RCODE_YXDOMAIN, "RCODE_BADVERS": RCODE_BADVERS,
        "OUR_UDP_PAYLOAD": OUR_UDP_PAYLOAD, "EDNS_OPT_ECS": EDNS_OPT_ECS,
        "EDE_NOT_AUTHORITATIVE": EDE_NOT_AUTHORITATIVE,
        "F_CUT": F_CUT, "F_OCCLUDED": F_OCCLUDED, "F_BELOW_DNAME": F_BELOW_DNAME,
        "F_HAS_DNAME": F_HAS_DNAME, "F_WILD": F_WILD, "F_ANY_FIRST": F_ANY_FIRST,
        "F_ZONE_NEG": F_ZONE_NEG, "REDIRECT_FLAGS": REDIRECT_FLAGS,
        "NODE_HEAD": NODE_HEAD, "BLOCK_HEAD": BLOCK_HEAD,
        "BF_SIGNED": BF_SIGNED, "BF_PREFIX": BF_PREFIX,
        "K_WEIGHTED": K_WEIGHTED, "K_FAILOVER": K_FAILOVER, "K_MULTIVALUE": K_MULTIVALUE,
        "K_LATENCY": K_LATENCY, "K_GEO": K_GEO, "K_GEOPROX": K_GEOPROX, "K_CIDR": K_CIDR,
        "K_ALIAS": K_ALIAS, "P_VALUES": P_VALUES,
        "C_EVAL_TARGET": C_EVAL_TARGET, "C_DEFAULT": C_DEFAULT, "C_PRIMARY": C_PRIMARY,
        "C_SECONDARY": C_SECONDARY, "C_CONTINENT": C_CONTINENT, "C_COUNTRY": C_COUNTRY,
        "C_SUBDIVISION": C_SUBDIVISION, "MAX_MULTIVALUE": MAX_MULTIVALUE,
        "MAX_CANDS": MAX_CANDS, "FIX_BLOCK": FIX_BLOCK, "FIX_SERIAL": FIX_SERIAL,
        "FIX_ROW_MASK": FIX_ROW_MASK, "SIG_NEGATIVE": SIG_NEGATIVE, "NONE": NONE, "PSET_BIT": PSET_BIT,
    }
