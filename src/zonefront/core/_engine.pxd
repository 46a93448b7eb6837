# The compiled engine's C-level interface, cimported by the socket workers.
from libc.stdint cimport uint8_t, uint16_t, uint32_t

cdef extern from "zfapi.h":
    ctypedef struct zf_qctx_t:
        const void* src
        uint32_t seed
        uint8_t tcp
    ctypedef size_t (*zf_answer_fn)(const void* image, const uint8_t* query, size_t qlen,
                                    uint8_t* resp, size_t cap, const zf_qctx_t* ctx) noexcept nogil

# Answers from a compiled image; matches zf_answer_fn.
cdef size_t engine_answer(const void* image, const uint8_t* query, size_t qlen,
                          uint8_t* resp, size_t cap, const zf_qctx_t* ctx) noexcept nogil


cdef enum:
    F_CUT = 1
    F_OCCLUDED = 2
    F_BELOW_DNAME = 4
    F_HAS_DNAME = 8
    TYPE_CNAME = 5
    TYPE_OPT = 41
    TYPE_DS = 43
    TYPE_IXFR = 251
    TYPE_AXFR = 252
    TYPE_ANY = 255
    RCODE_FORMERR = 1
    RCODE_NOTIMP = 4
    RCODE_REFUSED = 5
    RCODE_YXDOMAIN = 6
    OUR_UDP_PAYLOAD = 1232
    FIX_BLOCK = 0x8000
    MAX_LABELS = 128

cdef extern from *:
    """
    #define ZF_NONE 0xFFFFFFFFu
    """
    const uint32_t NONE "ZF_NONE"

ctypedef struct node_t:
    uint32_t name_off       # into names
    uint8_t name_len        # wire length of the lower-cased name
    uint8_t flags           # F_*
    uint16_t ntypes         # entries in types from types_off
    uint32_t types_off
    uint32_t default_block  # qtype not present: NODATA, or CNAME chain + NODATA
    uint32_t any_block      # RFC 8482 minimal ANY
    uint32_t redirect       # referral block, or dnames index
    uint32_t wild           # the "*" child node, or NONE
    uint32_t nx_block       # the zone's NXDOMAIN block

ctypedef struct type_entry_t:
    uint16_t qtype
    uint16_t pad
    uint32_t block

ctypedef struct block_t:
    uint32_t data_off
    uint32_t fix_off        # first fixup (u32 index)
    uint32_t ar_off         # first ar_ends entry (u16 index)
    uint16_t len
    uint16_t nfix
    uint16_t an
    uint16_t ns
    uint16_t ar
    uint16_t ar_start       # where the additional section starts
    uint16_t ar_required    # additional RRs that must fit, else TC
    uint8_t rcode
    uint8_t flags           # 1: AA
    uint32_t pad

ctypedef struct dname_t:
    uint32_t block          # the DNAME RR, its target written last
    uint16_t owner_len
    uint16_t target_pos     # offset of the target name within the block
    uint16_t target_len
    uint16_t pad
    uint32_t ttl

ctypedef struct slot_t:
    uint32_t hash
    uint32_t node

ctypedef struct image_t:
    const uint8_t* names
    const node_t* nodes
    uint32_t nnodes
    const type_entry_t* types
    const block_t* blocks
    uint32_t nblocks
    const uint8_t* data
    const uint32_t* fixups
    const uint16_t* ar_ends
    const dname_t* dnames
    slot_t* table
    uint32_t mask
    uint16_t udp_max        # largest UDP response we send and advertise (EDNS)

ctypedef struct query_t:
    uint32_t qname_len      # wire length of the qname
    uint16_t qtype
    uint16_t qclass
    uint8_t edns            # an OPT record was present
    uint8_t edns_version
    uint8_t edns_do
    uint16_t edns_size
    uint8_t has_ecs
    uint16_t ecs_family
    uint8_t ecs_source
    uint8_t ecs_addr_len
    uint8_t ecs_addr[16]
    uint32_t nlabels        # labels including the root label
    uint8_t label_off[MAX_LABELS + 1]
    uint8_t key[256]        # lower-cased qname



cdef class Image:
    # Owns one compiled zone set; `ptr` stays valid while this object lives.
    cdef void* ptr
    cdef image_t img
    cdef object _keep
    cdef public object zones
    cdef const uint8_t* _addr(self, str key)
