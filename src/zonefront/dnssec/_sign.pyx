# cython: language_level=3
"""The C ECDSA P-256 signer (csrc/zfdeny.c) for signing at compile time:
bulk RRSIGs without the GIL.  A module of its own, beside the engine that
links the same file for signing while answering, so that dnssec/ needs
nothing from core/ (the layers point down: core's twin in ref/ reads
dnssec/online.py's templates)."""
from libc.stdint cimport uint8_t
from libc.stdlib cimport free, malloc

cdef extern from "zfdeny.h" nogil:
    int zfdeny_sign_raw(const uint8_t* priv, const uint8_t* pub, const uint8_t* data,
                        size_t length, uint8_t* sig)
    int zfdeny_sign_batch(const uint8_t* priv, const uint8_t* pub, const uint8_t* const* datas,
                          const size_t* lens, size_t n, uint8_t* sigs, unsigned threads)


def sign_raw(const uint8_t[::1] priv, const uint8_t[::1] pub, const uint8_t[::1] data):
    """r || s over `data` with a raw P-256 key (32-octet scalar, 65-octet
    point): the C signer, for tests and bulk signing."""
    cdef uint8_t sig[64]
    cdef int rc
    if priv.shape[0] != 32 or pub.shape[0] != 65:
        raise ValueError("a P-256 key is a 32-octet scalar and a 65-octet point")
    with nogil:
        rc = zfdeny_sign_raw(&priv[0], &pub[0], &data[0] if data.shape[0] else NULL,
                             data.shape[0], sig)
    if rc != 0:
        raise ValueError("signing failed")
    return bytes(sig[:64])


def sign_many(const uint8_t[::1] priv, const uint8_t[::1] pub, list datas, unsigned threads=1):
    """r || s over each of `datas` (bytes) with one raw P-256 key, without
    the GIL and striped over `threads` threads: bulk signing at compile time
    (dnssec/signer.py prefill).  A list of 64-octet signatures, in order."""
    cdef Py_ssize_t n = len(datas), i
    cdef const uint8_t** ptrs
    cdef size_t* lens
    cdef uint8_t* sigs
    cdef bytes d
    cdef int bad = 0
    if priv.shape[0] != 32 or pub.shape[0] != 65:
        raise ValueError("a P-256 key is a 32-octet scalar and a 65-octet point")
    for d in datas:  # bytes only (a TypeError otherwise): their buffers stay put
        pass         # while the list holds them
    ptrs = <const uint8_t**>malloc(sizeof(uint8_t*) * (n + 1))
    lens = <size_t*>malloc(sizeof(size_t) * (n + 1))
    sigs = <uint8_t*>malloc(64 * (n + 1))
    if ptrs == NULL or lens == NULL or sigs == NULL:
        free(ptrs)
        free(lens)
        free(sigs)
        raise MemoryError()
    try:
        for i in range(n):
            d = datas[i]
            ptrs[i] = <const uint8_t*>(<char*>d)
            lens[i] = len(d)
        with nogil:
            bad = zfdeny_sign_batch(&priv[0], &pub[0], ptrs, lens, n, sigs, threads) != 0
        if bad:
            raise ValueError("signing failed")
        return [sigs[64 * i:64 * i + 64] for i in range(n)]
    finally:
        free(ptrs)
        free(lens)
        free(sigs)
