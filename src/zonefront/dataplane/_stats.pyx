# cython: boundscheck=False, wraparound=False, cdivision=True
"""Owns the per-worker counters and query record rings of csrc/zfstats.h.

One Counters per UDP worker or TCP thread: the loop writes it without locks
or atomics, and sum() adds every worker's up when /metrics is scraped
(dataplane/metrics.py turns the sums into Prometheus text).  A ring, once
enabled, carries a record per answered query to the query log and dnstap
drain thread (dataplane/querylog.py); take() empties it.
"""
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING

import struct

QTYPES = ZF_ST_QTYPES
RCODES = ZF_ST_RCODES
ZONES = ZF_ST_ZONES
KINDS = ZF_ST_KINDS
CANDS = ZF_ST_CANDS
VIEWS = ZF_ST_VIEWS
BATCH_BUCKETS = ZF_ST_BATCH_BUCKETS
ZONE_OTHER = 1021
ZONE_PRIVATE = 1022
ZONE_NONE = 1023
ZONE_ID_PRIVATE = 0xFFFFFFFE
ZONE_ID_NONE = 0xFFFFFFFF
ZONE_ID_OTHER = 0xFFFFFFFD

# zf_qrec_t: size, zone, ts_us, tcp, family, port, qlen, rlen, addr, dport, pad
QREC = struct.Struct("<IIQBBHHH16sH6x")
assert QREC.size == sizeof(zf_qrec_t)


cdef class Counters:
    """One loop's counters (and, once enable_ring() ran, its record ring)."""

    def __cinit__(self):
        self.st = zf_stats_new()
        if self.st == NULL:
            raise MemoryError()
        self.ring = NULL
        self._rows = []

    def __dealloc__(self):
        # The loop holding this object has returned (it keeps a reference).
        if self.st != NULL:
            free(self.st)
            self.st = NULL
        if self.ring != NULL:
            zf_ring_free(self.ring)
            self.ring = NULL

    def enable_ring(self, unsigned capacity=1 << 20, bint full_messages=False):
        """Start writing records (queries only, or with full_messages the
        responses too, for dnstap).  Once per Counters: a ring is never
        freed while a loop might be writing it."""
        if self.ring != NULL:
            raise RuntimeError("ring already enabled")
        self.ring = zf_ring_new(capacity, full_messages)
        if self.ring == NULL:
            raise MemoryError()
        zf_stats_set_ring(self.st, self.ring)

    def set_log_rows(self, rows):
        """Which public zone rows query logging records (an iterable of
        row numbers); the old table stays alive with this object."""
        rows = sorted(set(int(r) for r in rows))
        n = (max(rows) + 1) if rows else 0
        buf = bytearray(4 + n)
        struct.pack_into("<I", buf, 0, n)
        for r in rows:
            buf[4 + r] = 1
        b = bytes(buf)
        self._rows.append(b)
        if len(self._rows) > 64:  # a loop reads a table for one query at most
            del self._rows[:len(self._rows) - 32]
        zf_stats_set_rows(self.st, <const void*>PyBytes_AS_STRING(b))

    def set_log_all(self, bint on):
        """Record every query, not only those of logged zones (dnstap)."""
        zf_stats_set_log_all(self.st, on)

    def take(self, size_t limit=1 << 20):
        """The records written since the last take() (whole records, at most
        limit octets), as one bytes; b"" when there is no ring."""
        cdef uint8_t* buf
        cdef size_t n
        if self.ring == NULL:
            return b""
        buf = <uint8_t*>malloc(limit)
        if buf == NULL:
            raise MemoryError()
        try:
            with nogil:
                n = zf_ring_take(self.ring, buf, limit)
            return PyBytes_FromStringAndSize(<char*>buf, n)
        finally:
            free(buf)

    def ring_stats(self):
        """(records written, records dropped on a full ring)."""
        if self.ring == NULL:
            return (0, 0)
        return (self.ring.written, self.ring.dropped)

    @property
    def port(self):
        return self.st.port


def iter_records(bytes data):
    """(header fields..., query bytes, response bytes) for each record of take()."""
    cdef size_t off = 0, n = len(data)
    while off + QREC.size <= n:
        size, zone, ts, tcp, fam, port, qlen, rlen, addr, dport = QREC.unpack_from(data, off)
        if size == 0:
            break
        q = data[off + QREC.size: off + QREC.size + qlen]
        r = data[off + QREC.size + qlen: off + QREC.size + qlen + rlen]
        yield zone, ts, tcp, fam, port, addr, dport, q, r
        off += size


def sum_counters(list counters):
    """Every worker's counters added up: a dict of
    responses: {(zone slot, tcp, qtype bucket, rcode bucket): n} (nonzero only),
    tc: [udp, tcp], routed: [per kind], cands: {cands index: n}, cand_other,
    views: {view index: n}, batch: [per bucket], batch_sum."""
    cdef Counters c
    cdef zf_stats_t* st
    cdef int z, t, q, r, i, nc = len(counters)
    cdef uint64_t v
    cdef uint64_t* tot = <uint64_t*>malloc(sizeof(uint64_t) * ZF_ST_ZONES * 2 * ZF_ST_QTYPES * ZF_ST_RCODES)
    cdef zf_stats_t** sts = <zf_stats_t**>malloc(sizeof(void*) * (nc + 1))
    if tot == NULL or sts == NULL:
        free(tot)
        free(sts)
        raise MemoryError()
    for i in range(nc):
        c = counters[i]
        sts[i] = c.st
    responses = {}
    try:
        memset(tot, 0, sizeof(uint64_t) * ZF_ST_ZONES * 2 * ZF_ST_QTYPES * ZF_ST_RCODES)
        with nogil:
            for i in range(nc):
                st = sts[i]
                for z in range(ZF_ST_ZONES):
                    for t in range(2):
                        for q in range(ZF_ST_QTYPES):
                            for r in range(ZF_ST_RCODES):
                                tot[((z * 2 + t) * ZF_ST_QTYPES + q) * ZF_ST_RCODES + r] += \
                                    (<volatile uint64_t*>&st.resp[z][t][q][r])[0]
        for i in range(ZF_ST_ZONES * 2 * ZF_ST_QTYPES * ZF_ST_RCODES):
            v = tot[i]
            if v:
                r = i % ZF_ST_RCODES
                q = (i // ZF_ST_RCODES) % ZF_ST_QTYPES
                t = (i // (ZF_ST_RCODES * ZF_ST_QTYPES)) % 2
                z = i // (ZF_ST_RCODES * ZF_ST_QTYPES * 2)
                responses[(z, t, q, r)] = v
    finally:
        free(tot)
        free(sts)
    tc = [0, 0]
    routed = [0] * ZF_ST_KINDS
    cands = {}
    views = {}
    batch = [0] * ZF_ST_BATCH_BUCKETS
    cand_other = batch_sum = 0
    for c in counters:
        st = c.st
        tc[0] += st.tc[0]
        tc[1] += st.tc[1]
        for i in range(ZF_ST_KINDS):
            routed[i] += st.routed[i]
        for i in range(ZF_ST_CANDS):
            if st.cand[i]:
                cands[i] = cands.get(i, 0) + st.cand[i]
        cand_other += st.cand_other
        for i in range(ZF_ST_VIEWS):
            if st.view_hits[i]:
                views[i] = views.get(i, 0) + st.view_hits[i]
        for i in range(ZF_ST_BATCH_BUCKETS):
            batch[i] += st.batch[i]
        batch_sum += st.batch_sum
    return {"responses": responses, "tc": tc, "routed": routed, "cands": cands,
            "cand_other": cand_other, "views": views, "batch": batch, "batch_sum": batch_sum}
