# The compiled engine's C-level interface, cimported by the socket workers.
from libc.stdint cimport int32_t, uint8_t, uint16_t, uint32_t, uint64_t

cdef extern from "zfapi.h":
    ctypedef struct zf_hint_t:
        uint32_t hash
        uint32_t ref
        uint16_t qname_len
        uint16_t qtype
        uint8_t key[256]
    ctypedef struct zf_qctx_t:
        const void* src
        uint32_t seed
        uint8_t tcp
        void* stats
        const zf_hint_t* hint
        uint8_t* defer
    ctypedef size_t (*zf_answer_fn)(const void* image, const uint8_t* query, size_t qlen,
                                    uint8_t* resp, size_t cap, const zf_qctx_t* ctx) noexcept nogil
    ctypedef void (*zf_prefetch_fn)(const void* image, const uint8_t* query, size_t qlen,
                                    zf_hint_t* hint, int stage) noexcept nogil
    int ZF_PREFETCH_STAGES

# Answers from a compiled image; matches zf_answer_fn.
cdef size_t engine_answer(const void* image, const uint8_t* query, size_t qlen,
                          uint8_t* resp, size_t cap, const zf_qctx_t* ctx) noexcept nogil

# Warms what engine_answer will read for a batch; matches zf_prefetch_fn.
cdef void engine_prefetch(const void* image, const uint8_t* query, size_t qlen,
                          zf_hint_t* hint, int stage) noexcept nogil

# The wire's numbers, defined once in csrc/zfwire.h (tests/core/test_wire_constants.py
# holds them and the layout numbers below equal to the Python tables).
cdef extern from "zfwire.h":
    const uint16_t TYPE_CNAME "ZF_TYPE_CNAME"
    const uint16_t TYPE_DNAME "ZF_TYPE_DNAME"
    const uint16_t TYPE_OPT "ZF_TYPE_OPT"
    const uint16_t TYPE_DS "ZF_TYPE_DS"
    const uint16_t TYPE_IXFR "ZF_TYPE_IXFR"
    const uint16_t TYPE_AXFR "ZF_TYPE_AXFR"
    const uint16_t TYPE_ANY "ZF_TYPE_ANY"
    const uint8_t RCODE_FORMERR "ZF_RCODE_FORMERR"
    const uint8_t RCODE_SERVFAIL "ZF_RCODE_SERVFAIL"
    const uint8_t RCODE_NOTIMP "ZF_RCODE_NOTIMP"
    const uint8_t RCODE_REFUSED "ZF_RCODE_REFUSED"
    const uint8_t RCODE_YXDOMAIN "ZF_RCODE_YXDOMAIN"
    const uint32_t RCODE_BADVERS "ZF_RCODE_BADVERS"
    const uint16_t OUR_UDP_PAYLOAD "ZF_UDP_PAYLOAD"
    const uint16_t UDP_CLASSIC "ZF_UDP_CLASSIC"
    const uint32_t TCP_MAX "ZF_TCP_MAX"
    const uint16_t EDNS_OPT_ECS "ZF_EDNS_OPT_ECS"
    const uint16_t EDNS_OPT_EDE "ZF_EDNS_OPT_EDE"
    const uint16_t EDE_NOT_AUTHORITATIVE "ZF_EDE_NOT_AUTHORITATIVE"
    const uint32_t HEADER_LEN "ZF_HEADER_LEN"

cdef enum:
    F_CUT = 1
    F_OCCLUDED = 2
    F_BELOW_DNAME = 4
    F_HAS_DNAME = 8
    F_WILD = 32
    F_ANY_FIRST = 64
    F_ZONE_NEG = 128
    REDIRECT_FLAGS = 15
    NODE_HEAD = 4
    BLOCK_HEAD = 12
    BF_SIGNED = 2  # block flags: a DO twin's u32 ends the record (layout.py)
    BF_PREFIX = 4  # a twin's shared first part: a u32 after that (layout.py)
    BF_DEFER = 16  # a fallback zone's NXDOMAIN: the recursive resolver answers (zfdefer.h)
    K_WEIGHTED = 1
    K_FAILOVER = 2
    K_MULTIVALUE = 3
    K_LATENCY = 4
    K_GEO = 5
    K_GEOPROX = 6
    K_CIDR = 7
    K_ALIAS = 8
    P_VALUES = 1            # pset flag: a traffic policy's multivalue rule (answer its values)
    C_EVAL_TARGET = 1
    C_DEFAULT = 2
    C_PRIMARY = 4
    C_SECONDARY = 8
    C_CONTINENT = 16
    C_COUNTRY = 32
    C_SUBDIVISION = 64
    MAX_MULTIVALUE = 8
    FIX_BLOCK = 0x8000
    FIX_SERIAL = 0x4000
    FIX_ROW_MASK = 0x3FFF
    SIG_ROW_MASK = 0x1FFF   # kind G (FIX_BLOCK | FIX_SERIAL): the row, below SIG_NEGATIVE
    SIG_NEGATIVE = 0x2000
    MAX_LABELS = 128
    MAX_CANDS = 256         # candidates one policy set is chosen among (ref/policy.py)

cdef extern from *:
    """
    #define ZF_NONE 0xFFFFFFFFu
    #define ZF_PSET_BIT 0x80000000u
    """
    const uint32_t NONE "ZF_NONE"
    const uint32_t PSET_BIT "ZF_PSET_BIT"

# Nodes and blocks are variable-length records read in place; their layout
# is snapshot/layout.py's (node: name_len, flags, ntypes, zone row or
# default_block + nx_block, optional any/redirect/wild, name, (qtype, block)
# entries; block:
# len, nfix, an, ns, ar, rcode, flags, fixups, data, optional ar table).
ctypedef struct dname_t:
    uint32_t block          # the DNAME RR, its target written last
    uint16_t owner_len
    uint16_t target_pos     # offset of the target name within the block
    uint16_t target_len
    uint16_t pad
    uint32_t ttl

ctypedef struct pset_t:
    uint8_t kind            # K_* (snapshot/policy.py KIND)
    uint8_t flags
    uint16_t ncand
    uint32_t cand_off       # first candidate in cands
    uint32_t prefix         # multivalue: block before the values, or NONE
    uint32_t nomatch        # ref answered when no candidate applies
    uint32_t coll           # CIDR collection index, or NONE

ctypedef struct cand_t:
    uint32_t ref            # block, or pset | PSET_BIT
    uint16_t health         # health slot, 0xFFFF = always healthy
    uint8_t flags           # C_*
    uint8_t pad
    uint32_t key            # weight, region index, geo code or CIDR location id
    uint32_t key2           # geo subdivision code
    float lat               # geoproximity coordinates
    float lon
    int32_t bias            # geoproximity bias, -99..99
    uint32_t pad2

ctypedef struct coll_t:
    uint32_t v4_off
    uint32_t v4_n
    uint32_t v6_off
    uint32_t v6_n

ctypedef struct range4_t:
    uint32_t start
    uint32_t end            # inclusive
    uint32_t loc            # geolocs index, or CIDR location id
    uint8_t prefix          # the prefix length of the network this came from
    uint8_t pad[3]

ctypedef struct range6_t:
    uint64_t start_hi
    uint64_t start_lo
    uint64_t end_hi
    uint64_t end_lo
    uint32_t loc
    uint8_t prefix
    uint8_t pad[3]

ctypedef struct geoloc_t:
    uint16_t continent      # two ASCII letters, big-endian
    uint16_t country
    uint32_t subdivision    # up to three ASCII letters, big-endian
    float lat               # NaN when unknown
    float lon

ctypedef struct region_t:
    float lat
    float lon

ctypedef struct client_t:
    uint8_t family          # 0 unknown, 4, 6
    uint8_t bits            # significant bits: ECS source prefix, else 32/128
    uint8_t scope           # ECS scope: the longest prefix a decision used
    uint8_t geo_done        # geoloc looked up already
    uint32_t v4
    uint64_t hi
    uint64_t lo
    uint32_t geoloc         # geolocs index, or NONE
    uint8_t geoprefix
    uint8_t rnd_init        # rnd seeded from (seed, query id, qname) yet
    uint64_t rnd            # per-query random state (splitmix64)
    const uint8_t* key      # the qname key, hashed into rnd on first use
    uint32_t key_len

ctypedef struct slot_t:
    uint32_t hash
    uint32_t node

ctypedef struct image_t  # forward: views point to other images

ctypedef struct image_t:
    const uint8_t* nodes    # node records, by byte offset
    uint32_t nnodes
    const uint8_t* blocks   # block records, by byte offset
    uint32_t nblocks
    const uint32_t* negatives  # per zone: NODATA block, NXDOMAIN block
    uint32_t nneg
    const uint32_t* serials    # per zone row: the SOA serial (native order), for kind S fixups
    const uint32_t* soasigs    # per zone row, twice (SOA TTL, negative TTL): the block record
                               # of the RRSIG over a signed SOA, for kind G; NULL: none signed
    const dname_t* dnames
    slot_t* table
    uint32_t tsize          # slots in table (not a power of two)
    uint16_t udp_max        # largest UDP response we send and advertise (EDNS)
    const pset_t* psets
    uint32_t npsets
    const cand_t* cands
    const coll_t* colls
    const range4_t* cidr4
    const range6_t* cidr6
    const region_t* regions
    uint32_t nregions
    const range4_t* geo4    # GeoIP, attached after load (geo.py arrays)
    uint32_t ngeo4
    const range6_t* geo6
    uint32_t ngeo6
    const geoloc_t* geolocs
    uint32_t ngeolocs
    const uint8_t* health   # HealthTable.buffer, attached after load
    uint32_t nhealth
    const image_t** views   # private views (issue 7), chosen by source address
    uint32_t nviews
    const range4_t* view4   # source networks -> view index (sorted, disjoint)
    uint32_t nview4
    const range6_t* view6
    uint32_t nview6

ctypedef struct query_t:
    uint32_t qname_len      # wire length of the qname
    uint16_t qtype
    uint16_t qclass
    uint8_t edns            # an OPT record was present
    uint8_t edns_version
    uint8_t edns_do
    uint8_t edns_co         # RFC 9824 Compact Answers OK (EDNS flag 0x4000)
    uint16_t edns_size
    uint8_t has_ecs
    uint16_t ecs_family
    uint8_t ecs_source
    uint8_t ecs_addr_len
    uint8_t ecs_addr[16]
    uint32_t nlabels        # labels including the root label
    uint8_t label_off[MAX_LABELS + 1]
    const uint8_t* key      # lower-cased qname: keybuf, or the prefetch hint's key
    uint32_t key_hash       # zf_hash(key), when hashed
    uint8_t hashed
    uint8_t keybuf[256]



cdef class Image:
    # Owns one compiled zone set; `ptr` stays valid while this object lives.
    cdef void* ptr
    cdef image_t img
    cdef void* arena_base   # the mapping (arena_alloc), freed with the image
    cdef size_t arena_size
    cdef uint8_t* arena     # 64-aligned start of the arrays within it
    cdef size_t arena_used
    cdef int huge           # 1: mmap'd on transparent huge pages; 0: malloc
    cdef dict _offsets
    cdef dict _held         # arrays answered from where they lie (keep=), by key
    cdef uint8_t* _block_starts   # during validation: bitmap of block offsets
    cdef uint8_t* _node_starts
    cdef size_t _blocks_len
    cdef int _is_block(self, uint32_t ref)
    cdef int _sig_record_ok(self, uint32_t ref, size_t end, bytes tb)
    cdef _validate_nodes(self, size_t nlen, size_t ndn)
    cdef _count_blocks(self)
    cdef void* table_base   # the hash table's own arena
    cdef size_t table_size
    cdef int table_huge
    cdef _arena_map(self, dict arrays, object release, bint growable, tuple keep)
    cdef _patch_table(self, Image old, list updates)
    cdef object _geo
    cdef object _owner      # the Image whose arena this one shares (patch()), or None
    cdef object _version    # (negatives, serials) bytes of a patched image
    cdef dict _ends         # owner only: octets used of each appendable stream
    cdef dict _caps         # owner only: octets reserved for each (0: not growable)
    cdef dict _lens         # octets of each array this image answers from
    cdef object _health
    cdef object _views
    cdef public object zones
    cdef const uint8_t* _addr(self, str key)
    cdef int _ref_ok(self, uint32_t ref)
