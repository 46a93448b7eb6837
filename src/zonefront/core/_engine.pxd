# The compiled engine's C-level interface, cimported by the socket workers.
from libc.stdint cimport uint8_t, uint32_t

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

cdef class Image:
    # Owns one compiled zone set; `ptr` stays valid while this object lives.
    cdef void* ptr
