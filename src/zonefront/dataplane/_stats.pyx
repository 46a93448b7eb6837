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
from libc.string cimport memcpy, memset
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
        self.recs = NULL
        self._rows = []

    def __dealloc__(self):
        # The loop holding this object has returned (it keeps a reference).
        if self.st != NULL:
            free(self.st)
            self.st = NULL
        if self.ring != NULL:
            zf_ring_free(self.ring)
            self.ring = NULL
        if self.recs != NULL:
            zf_recs_free(self.recs)
            self.recs = NULL

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

    def enable_records(self, unsigned slots=4096):
        """Start counting answers per (owner, qtype, rcode) in a table of
        `slots` (rounded up to a power of two; 3/4 of them usable).  Once per
        Counters, like the ring: the table lives as long as this object."""
        if self.recs != NULL:
            raise RuntimeError("per-record counters already enabled")
        if slots < 1 or slots > (1 << 20):
            raise ValueError(f"per-record slots must be 1..{1 << 20}, not {slots}")
        self.recs = zf_recs_new(slots)
        if self.recs == NULL:
            raise MemoryError()
        zf_stats_set_recs(self.st, self.recs)

    @property
    def records_enabled(self):
        return self.recs != NULL

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

    @property
    def address(self):
        """The C counters' address (core._engine.Image.answer_many's stats=,
        for benchmarks); valid while this object lives."""
        return <size_t>self.st


def sum_records(list counters):
    """Every worker's per-record counters added up: ({(owner wire, qtype):
    [answers per rcode bucket]}, answers that found no slot, slots taken)."""
    cdef Counters c
    cdef zf_rec_owner_t o
    cdef uint64_t n[8]
    cdef uint32_t i
    cdef int r
    out = {}
    overflow = used = 0
    for c in counters:
        if c.recs == NULL:
            continue
        overflow += c.recs.overflow
        used += c.recs.used
        for i in range(c.recs.cap):
            if not zf_recs_slot(c.recs, i, &o, n):
                continue
            key = (PyBytes_FromStringAndSize(<char*>o.name, o.len), o.qtype)
            acc = out.get(key)
            if acc is None:
                acc = out[key] = [0] * ZF_RECS_RCODES
            for r in range(ZF_RECS_RCODES):
                acc[r] += n[r]
    return out, overflow, used


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


# ---------------------------------------------------------------------------
# Route 53 query log lines in C (dataplane/querylog.py format_line is the
# readable twin, and the tests hold the two to the same bytes)

cdef extern from "<stdio.h>" nogil:
    int snprintf(char* s, size_t n, const char* fmt, ...)

cdef extern from "<time.h>" nogil:
    ctypedef long time_t
    struct tm:
        int tm_sec
        int tm_min
        int tm_hour
        int tm_mday
        int tm_mon
        int tm_year
    tm* gmtime_r(const time_t* t, tm* out)

cdef extern from "<arpa/inet.h>" nogil:
    const char* inet_ntop(int af, const void* src, char* dst, unsigned size)
    int AF_INET
    int AF_INET6

cdef const char* _RCODES[17]
_RCODES[:] = [b"NOERROR", b"FORMERR", b"SERVFAIL", b"NXDOMAIN", b"NOTIMP", b"REFUSED",
              b"YXDOMAIN", b"YXRRSET", b"NXRRSET", b"NOTAUTH", b"NOTZONE", b"RCODE11",
              b"RCODE12", b"RCODE13", b"RCODE14", b"RCODE15", b"BADVERS"]

_TYPE_NAMES = {1: b"A", 2: b"NS", 5: b"CNAME", 6: b"SOA", 12: b"PTR", 13: b"HINFO", 15: b"MX",
               16: b"TXT", 28: b"AAAA", 33: b"SRV", 35: b"NAPTR", 43: b"DS", 46: b"RRSIG",
               47: b"NSEC", 48: b"DNSKEY", 50: b"NSEC3", 64: b"SVCB", 65: b"HTTPS", 99: b"SPF",
               252: b"AXFR", 251: b"IXFR", 255: b"ANY", 257: b"CAA", 41: b"OPT", 52: b"TLSA",
               44: b"SSHFP", 29: b"LOC", 39: b"DNAME"}


cdef size_t _qname(const uint8_t* q, size_t n, char* out, size_t* end) noexcept nogil:
    """The question's name as sent (dots, no trailing dot; "." for the root);
    returns its length and sets end to the offset after it."""
    cdef size_t off = 12, w = 0
    cdef uint8_t ln, c
    cdef size_t i
    while off < n:
        ln = q[off]
        if ln == 0 or ln & 0xC0:
            off += 1
            break
        if off + 1 + ln > n:
            off = n
            break
        if w:
            out[w] = b'.'
            w += 1
        for i in range(ln):
            c = q[off + 1 + i]
            if c <= 32 or c >= 127:
                out[w] = b'?'
            else:
                out[w] = <char>c
            w += 1
        off += 1 + ln
    if w == 0:
        out[0] = b'.'
        w = 1
    end[0] = off
    return w


cdef int _ecs(const uint8_t* q, size_t n, size_t off, char* out) noexcept nogil:
    """The client subnet option as "address/prefix" into out; 0 if none."""
    cdef uint16_t rtype, rdlen, code, olen, fam
    cdef uint8_t src
    cdef size_t end, k
    cdef uint8_t addr[16]
    cdef int w
    if n < 12 or q[11] == 0:
        return 0
    off += 4
    while off < n:
        while off < n and q[off] != 0 and not (q[off] & 0xC0):
            off += 1 + q[off]
        if off >= n:
            return 0
        off += 2 if q[off] & 0xC0 else 1
        if off + 10 > n:
            return 0
        rtype = (q[off] << 8) | q[off + 1]
        rdlen = (q[off + 8] << 8) | q[off + 9]
        off += 10
        if rtype == 41:
            end = off + rdlen if off + rdlen <= n else n
            while off + 4 <= end:
                code = (q[off] << 8) | q[off + 1]
                olen = (q[off + 2] << 8) | q[off + 3]
                if code == 8 and olen >= 4 and off + 4 + olen <= end:
                    fam = (q[off + 4] << 8) | q[off + 5]
                    src = q[off + 6]
                    memset(addr, 0, 16)
                    for k in range(olen - 4):
                        if k < 16:
                            addr[k] = q[off + 8 + k]
                    if fam == 1 and inet_ntop(AF_INET, addr, out, 64) != NULL:
                        w = <int>len_c(out)
                        return w + snprintf(out + w, 8, "/%u", src)
                    if fam == 2 and inet_ntop(AF_INET6, addr, out, 64) != NULL:
                        w = <int>len_c(out)
                        return w + snprintf(out + w, 8, "/%u", src)
                    return 0
                off += 4 + olen
            return 0
        off += rdlen
    return 0


cdef size_t len_c(const char* s) noexcept nogil:
    cdef size_t n = 0
    while s[n]:
        n += 1
    return n


def format_lines(bytes data, dict table, bytes location):
    """Route 53 query log lines for the records of one take(): {group: bytes}
    for records whose zone row is in table ({row: (zone id, group)});
    returns (that dict, lines)."""
    cdef const uint8_t* p = data
    cdef size_t n = len(data), off = 0, qend, nl
    cdef const zf_qrec_t* h
    cdef const uint8_t* q
    cdef const uint8_t* r
    cdef char line[1024]
    cdef char name[300]
    cdef char addr[64]
    cdef char ecs[80]
    cdef char ts[40]
    cdef tm t
    cdef time_t sec, last_sec = -1
    cdef int w, e, rc
    cdef uint16_t qtype
    cdef const char* loc = location
    cdef dict out = {}
    cdef int lines = 0
    cdef bytes zid
    cdef bytes tname
    while off + sizeof(zf_qrec_t) <= n:
        h = <const zf_qrec_t*>(p + off)
        if h.size == 0 or off + h.size > n:
            break
        entry = table.get(h.zone)
        if entry is None:
            off += h.size
            continue
        q = p + off + sizeof(zf_qrec_t)
        r = q + h.qlen
        nl = _qname(q, h.qlen, name, &qend)
        qtype = ((q[qend] << 8) | q[qend + 1]) if qend + 2 <= h.qlen else 0
        e = _ecs(q, h.qlen, qend, ecs)
        if e <= 0:
            ecs[0] = b'-'
            ecs[1] = 0
        rc = (r[3] & 0xF) if h.rlen >= 4 else 0
        sec = <time_t>(h.ts_us // 1000000)
        if sec != last_sec:
            gmtime_r(&sec, &t)
            last_sec = sec
        snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d", t.tm_year + 1900, t.tm_mon + 1,
                 t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)
        if h.family == 4:
            inet_ntop(AF_INET, h.addr, addr, sizeof(addr))
        elif h.family == 6:
            if h.addr[10] == 0xFF and h.addr[11] == 0xFF and h.addr[0] == 0 and h.addr[8] == 0:
                inet_ntop(AF_INET, h.addr + 12, addr, sizeof(addr))
            else:
                inet_ntop(AF_INET6, h.addr, addr, sizeof(addr))
        else:
            addr[0] = b'-'
            addr[1] = 0
        tname = _TYPE_NAMES.get(qtype)
        if tname is None:
            tname = b"TYPE%d" % qtype
        zid = entry[0]
        name[nl] = 0
        w = snprintf(line, sizeof(line), "1.0 %s.%03uZ %s %s %s %s %s %s %s %s\n", ts,
                     <unsigned>((h.ts_us // 1000) % 1000), <const char*>zid, name,
                     <const char*>tname, _RCODES[rc if rc < 17 else 0],
                     "TCP" if h.tcp else "UDP", loc, addr, ecs)
        if w > 0:
            if w >= <int>sizeof(line):
                w = sizeof(line) - 1
            group = entry[1]
            buf = out.get(group)
            if buf is None:
                buf = out[group] = bytearray()
            (<bytearray>buf).extend(line[:w])
            lines += 1
        off += h.size
    return out, lines


# ---------------------------------------------------------------------------
# dnstap frames in C (dataplane/dnstap.py encode_message is the readable
# twin; a test holds the two to the same bytes)

cdef inline size_t _pv(uint8_t* o, uint64_t v) noexcept nogil:
    cdef size_t n = 0
    while v >= 0x80:
        o[n] = <uint8_t>(v | 0x80)
        v >>= 7
        n += 1
    o[n] = <uint8_t>v
    return n + 1


cdef inline size_t _pvf(uint8_t* o, uint32_t field, uint64_t v) noexcept nogil:
    cdef size_t n = _pv(o, field << 3)
    return n + _pv(o + n, v)


cdef inline size_t _pbf(uint8_t* o, uint32_t field, const uint8_t* b, size_t len) noexcept nogil:
    cdef size_t n = _pv(o, (field << 3) | 2)
    n += _pv(o + n, len)
    memcpy(o + n, b, len)
    return n + len


cdef inline size_t _pf32(uint8_t* o, uint32_t field, uint32_t v) noexcept nogil:
    cdef size_t n = _pv(o, (field << 3) | 5)
    o[n] = v & 0xFF
    o[n + 1] = (v >> 8) & 0xFF
    o[n + 2] = (v >> 16) & 0xFF
    o[n + 3] = (v >> 24) & 0xFF
    return n + 4


cdef size_t _dnstap_msg(uint8_t* o, const zf_qrec_t* h, const uint8_t* q, const uint8_t* r,
                        uint32_t mtype, const uint8_t* ident, size_t nident,
                        const uint8_t* ver, size_t nver) noexcept nogil:
    """One length-prefixed Frame Streams data frame holding a Dnstap message."""
    cdef uint8_t m[140000]
    cdef size_t n = 0, d = 4
    cdef uint64_t sec = h.ts_us // 1000000
    cdef uint32_t ns = <uint32_t>((h.ts_us % 1000000) * 1000)
    n += _pvf(m + n, 1, mtype)
    n += _pvf(m + n, 2, 2 if h.family == 6 else 1)
    n += _pvf(m + n, 3, 2 if h.tcp else 1)
    n += _pbf(m + n, 4, h.addr, 16 if h.family == 6 else 4)
    n += _pvf(m + n, 6, h.port)
    n += _pvf(m + n, 7, h.dport)
    n += _pvf(m + n, 8, sec)
    n += _pf32(m + n, 9, ns)
    n += _pbf(m + n, 10, q, h.qlen)
    if mtype == 2:
        n += _pvf(m + n, 12, sec)
        n += _pf32(m + n, 13, ns)
        if h.rlen:
            n += _pbf(m + n, 14, r, h.rlen)
    if nident:
        d += _pbf(o + d, 1, ident, nident)
    if nver:
        d += _pbf(o + d, 2, ver, nver)
    d += _pbf(o + d, 14, m, n)
    d += _pvf(o + d, 15, 1)
    o[0] = <uint8_t>((d - 4) >> 24)
    o[1] = <uint8_t>((d - 4) >> 16)
    o[2] = <uint8_t>((d - 4) >> 8)
    o[3] = <uint8_t>(d - 4)
    return d


def dnstap_frames(bytes data, bytes identity, bytes version):
    """Frame Streams data frames (AUTH_QUERY then AUTH_RESPONSE) for every
    record of one take(); returns (bytes, frames)."""
    cdef const uint8_t* p = data
    cdef size_t n = len(data), off = 0, w = 0, cap
    cdef const zf_qrec_t* h
    cdef const uint8_t* q
    cdef uint8_t* out
    cdef int frames = 0
    cdef const uint8_t* ip = identity
    cdef const uint8_t* vp = version
    cdef size_t ni = len(identity), nv = len(version)
    cap = 2 * n + 1024 * 1024
    out = <uint8_t*>malloc(cap)
    if out == NULL:
        raise MemoryError()
    try:
        with nogil:
            while off + sizeof(zf_qrec_t) <= n:
                h = <const zf_qrec_t*>(p + off)
                if h.size == 0 or off + h.size > n:
                    break
                if w + 2 * (h.qlen + h.rlen + 512 + ni + nv) > cap:
                    break
                q = p + off + sizeof(zf_qrec_t)
                w += _dnstap_msg(out + w, h, q, q + h.qlen, 1, ip, ni, vp, nv)
                w += _dnstap_msg(out + w, h, q, q + h.qlen, 2, ip, ni, vp, nv)
                frames += 2
                off += h.size
        return PyBytes_FromStringAndSize(<char*>out, w), frames
    finally:
        free(out)
