# cython: language_level=3, boundscheck=False, wraparound=False
"""The C side of fastcompile.py: a table of scanned zones and the node and
block streams compiled from it.

Python objects appear only at the edges: a token list for rdata the C
scanner hands back (rdata.from_tokens parses it), the $INCLUDE directive,
the few names the Python compiler compiles (`name_info`, `rrsets`), and
the records it returns.  The streams are exported as read-only buffers, so
the image's arrays are the C buffers themselves, never copied into bytes.
"""
from libc.stdint cimport uint8_t, uint16_t, uint32_t
from cpython.buffer cimport PyBuffer_FillInfo

from .. import rrtypes
from ..errors import ZonefrontError

ZK_NAMES = ("python", "plain", "named", "cname", "cut", "occluded")
_ZN_APEX = 2
_ZN_CUT = 4


class Unsupported(ZonefrontError):
    """The C path gave up on a file or a zone set: a fault in it (which
    zonefile.py then reports), or something only the Python path handles."""


for _mnemonic, _value in rrtypes.TYPES.items():
    if zs_add_type(_mnemonic.encode(), _value) != 0:
        raise RuntimeError("type mnemonic table full")

cdef const uint8_t* EMPTY = <const uint8_t*>b""


def _rdata():
    """rdata.py, imported by the first record whose type the scanner has no
    parser for (a clean file of common types never needs it)."""
    from .. import rdata

    return rdata


cdef list _tokens(zs_scanner_t* s, const zs_tok_t* toks, int n):
    """Tokens as rdata.scan_line gives them: str, or Quoted."""
    cdef list out = []
    cdef int i
    for i in range(n):
        text = zs_tok_text(s, &toks[i])[:toks[i].len].decode("utf-8")
        out.append(_rdata().Quoted(text) if toks[i].quoted else text)
    return out


cdef object _origin(const uint8_t* origin, int olen):
    return (<const char*>origin)[:olen] if olen >= 0 else None


cdef int _rdata_cb(zs_scanner_t* s, uint16_t rtype, const zs_tok_t* toks, int ntoks,
                   const uint8_t* origin, int olen, zbuf_t* out) noexcept with gil:
    cdef Table table = <Table>s.ctx
    cdef bytes wire
    try:
        wire = _rdata().from_tokens(rtype, _tokens(s, toks, ntoks), _origin(origin, olen))
        if zbuf_put(out, <const char*>wire, len(wire)) != 0:
            return -1
        return 0
    except Exception as e:  # any fault: zonefile.py reads the file and reports it
        table.error = e
        return -1


cdef int _include_cb(zs_scanner_t* s, const zs_tok_t* args, int nargs, const uint8_t* origin,
                     int olen, int depth) noexcept with gil:
    cdef Table table = <Table>s.ctx
    try:
        table.includer(table, _tokens(s, args, nargs), _origin(origin, olen), depth)
        return 0
    except Exception as e:
        table.error = e
        return -1


cdef class Stream:
    """The node or block stream: bytearray-like for the Python compiler
    (`len`, `+=` appends a record), then a read-only buffer for the image."""

    cdef Table table
    cdef int which  # 0 nodes, 1 blocks
    cdef int exports

    def __cinit__(self, Table table, int which):
        self.table = table
        self.which = which

    cdef zbuf_t* _buf(self):
        return zc_blocks(self.table.c) if self.which else zc_nodes(self.table.c)

    def __len__(self):
        return zc_stream_len(self.table.c, self.which)

    def __iadd__(self, const uint8_t[::1] record):
        if self.exports:
            raise BufferError("the stream is exported")
        if not self.which:
            raise TypeError("node records are added with Table.append_node")
        if zc_append_block(self.table.c, &record[0] if len(record) else EMPTY, len(record)) == ZF_NONE:
            raise ValueError((zc_error(self.table.c) or b"out of memory").decode())
        return self

    def __getbuffer__(self, Py_buffer* view, int flags):
        cdef zbuf_t* b = self._buf()
        if zc_stream_len(self.table.c, self.which) != b.len:
            raise BufferError("the stream is in a file: Table.finish_stream()")
        PyBuffer_FillInfo(view, self, <void*>(b.p if b.p != NULL else EMPTY), b.len, 1, flags)
        self.exports += 1

    def __releasebuffer__(self, Py_buffer* view):
        self.exports -= 1


cdef class Table:
    """Scanned zones (zftable.h) and their compiled streams (zfcompile.h)."""

    cdef zf_table_t t
    cdef zs_scanner_t s
    cdef zc_t* c
    cdef bint released
    cdef public object includer  # include(table, tokens, origin, depth) for $INCLUDE
    cdef public object error    # the exception a callback swallowed
    cdef public uint32_t rdata_fallbacks  # rdatas parsed by rdata.from_tokens

    def __cinit__(self):
        if zf_table_init(&self.t) != 0:
            raise MemoryError()
        self.c = NULL

    def __dealloc__(self):
        zc_free(self.c)
        zf_table_free(&self.t)

    # ---- scanning --------------------------------------------------------

    def mark(self):
        return (self.t.nnames, self.t.nrecs, self.t.rdata.len, self.t.arena.len, self.t.nzones)

    def rollback(self, mark):
        if zf_truncate(&self.t, mark[0], mark[1], mark[2], mark[3], mark[4]) != 0:
            raise ValueError("bad table mark")

    def scan_zone(self, const uint8_t[::1] text, includer, bint mapped=False):
        """One master file's text as a new zone (its index); Unsupported
        when the scanner gives up.  `includer` serves $INCLUDE.  `mapped`:
        the text is a private read-only mapping of the file, whose pages
        the scanner drops once read (never pass heap memory)."""
        cdef int zone = zf_add_zone(&self.t)
        if zone < 0:
            raise Unsupported("too many zones")
        zs_init(&self.s, &self.t, <uint16_t>zone)
        self.s.ctx = <void*>self
        self.s.rdata_fn = _rdata_cb
        self.s.include_fn = _include_cb
        self.includer = includer
        self.error = None
        try:
            self.s.release_behind = mapped
            self.scan_text(text, None, 0)
            self.rdata_fallbacks += self.s.fallbacks
        finally:
            zs_free(&self.s)
        if self.t.zones[zone].apex == ZF_NONE:
            raise Unsupported("no SOA record")
        return zone

    def scan_text(self, const uint8_t[::1] text, origin, int depth):
        """Text read under the zone being scanned (the file, an $INCLUDE)."""
        cdef const uint8_t* o = NULL
        cdef int olen = -1
        cdef const uint8_t* p = &text[0] if len(text) else EMPTY
        if origin is not None:
            o = origin
            olen = len(origin)
        if zs_scan(&self.s, p, len(text), o, olen, depth) != 0:
            why = (self.s.why or b"?").decode()
            raise Unsupported(f"line {self.s.why_line}: {why}") from self.error

    def ingest(self, zone):
        """A zone zonefile.py read (the scanner gave up on its file)."""
        cdef int z = zf_add_zone(&self.t)
        cdef uint32_t owner
        cdef bytes rd
        if z < 0:
            raise Unsupported("too many zones")
        if zone.routed:
            raise Unsupported("routed record sets")
        self.t.zones[z].apex = self._intern(zone.origin)
        for (name, rtype), rrset in zone.rrsets.items():
            owner = self._intern(name)
            for rd in rrset.rdatas:
                if zf_add_record(&self.t, owner, rtype, <uint16_t>z, rrset.ttl, rd, len(rd)) != 0:
                    raise MemoryError()
        return z

    cdef uint32_t _intern(self, bytes name) except? 0xFFFFFFFF:
        cdef uint32_t id = zf_intern(&self.t, name, len(name))
        if id == ZF_NONE:
            raise MemoryError()
        return id

    def finish(self):
        """Records -> RRsets, empty non-terminals and marks; Unsupported
        when a zone breaks a rule (zonefile.py says which) or nests."""
        if zf_group(&self.t) != 0 or zf_derive(&self.t) != 0:
            raise Unsupported((self.t.why or b"?").decode())

    # ---- what the Python side reads --------------------------------------

    @property
    def zone_count(self):
        return self.t.nzones

    @property
    def node_count(self):
        return self.t.nnames

    def zone_apex(self, int zone):
        return self.name(self.t.zones[zone].apex)

    def find_zone(self, bytes origin):
        cdef uint32_t i
        for i in range(self.t.nzones):
            if self.name(self.t.zones[i].apex) == origin:
                return i
        raise KeyError(origin)

    def zone_counts(self, int zone):
        return self.t.zones[zone].nrrsets, self.t.zones[zone].nrecords

    def zone_soa(self, int zone):
        """(ttl, rdata) of the zone's SOA."""
        cdef const zf_rrset_t* rs = &self.t.rrsets[self.t.zones[zone].soa]
        return rs.ttl, self._rdata(rs.first)

    cdef bytes _rdata(self, uint32_t i):
        cdef uint16_t n
        cdef const uint8_t* p = zf_rdata(&self.t, self.t.rdidx[i], &n)
        return (<const char*>p)[:n]

    def find(self, bytes name):
        cdef uint32_t id = zf_find(&self.t, name, len(name))
        return -1 if id == ZF_NONE else id

    def name(self, uint32_t id):
        return (<const char*>zf_name(&self.t, id))[:self.t.names[id].len]

    def name_info(self, uint32_t id):
        """(zone, is_apex, is_cut, cut_above, dname_above, wild); -1 for none."""
        cdef zf_name_t* n = &self.t.names[id]
        def ref(uint32_t x):
            return -1 if x == ZF_NONE else x
        return (n.zone, bool(n.flags & _ZN_APEX), bool(n.flags & _ZN_CUT), ref(n.cut_above),
                ref(n.dname_above), ref(n.wild))

    def rrsets(self, uint32_t id):
        """[(type, ttl, [rdata, ...]), ...] sorted by type."""
        cdef zf_name_t* n = &self.t.names[id]
        cdef const zf_rrset_t* rs
        cdef uint32_t i, j
        out = []
        for i in range(n.nrr):
            rs = &self.t.rrsets[n.rr + i]
            out.append((rs.type, rs.ttl, [self._rdata(rs.first + j) for j in range(rs.n)]))
        return out

    # ---- compiling --------------------------------------------------------

    def prepare(self, size_t spill_window=0):
        """`spill_window`: octets of each stream held in memory at most,
        the rest going to an unlinked temporary file (0: all in memory);
        finish_stream() then maps the file."""
        self.c = zc_new(&self.t)
        if self.c == NULL:
            raise MemoryError()
        zc_spill(self.c, spill_window)

    cdef zc_t* _compiler(self) except NULL:
        """The compiler, while records may still be compiled."""
        if self.c == NULL:
            raise ValueError("prepare() first")
        if self.released:
            raise ValueError("the table was released")
        return self.c

    def finish_stream(self, int which):
        """The whole node (0) or block (1) stream as a read-only buffer: the
        stream itself, or a read-only mapping of the file it was written
        to.  Nothing may be added to it afterwards."""
        cdef int fd = zc_stream_finish(self.c, which)
        if fd == -2:
            raise OSError((zc_error(self.c) or b"write error").decode())
        if fd == -1:
            return memoryview(Stream(self, which))
        import mmap
        return memoryview(mmap.mmap(fd, zc_stream_len(self.c, which), access=mmap.ACCESS_READ))

    def stream(self, int which):
        """The node (0) or block (1) stream.  Streams hold the table, never
        the other way round: no cycle keeps the buffers alive until the
        cyclic collector runs."""
        if self.c == NULL:
            raise ValueError("prepare() first")
        return Stream(self, which)

    def set_zone(self, int zone, uint32_t nx, uint32_t nodata, uint32_t row, rr, int serial_row):
        """The zone's negative blocks and the authority RR of a negative
        answer (owner, type, ttl, rdata), or None."""
        cdef bytes owner = b"", rd = b""
        cdef uint16_t rtype = 0
        cdef uint32_t ttl = 0
        if rr is not None:
            owner, rtype, ttl, rd = rr
        if zc_set_zone(self._compiler(), zone, nx, nodata, row, owner, len(owner), rtype, ttl, rd, len(rd),
                       serial_row) != 0:
            raise ValueError("bad zone for the compiler")

    def check_negatives(self):
        return zc_check_negatives(self._compiler())

    def compile(self):
        if zc_compile(self._compiler()) != ZC_OK:
            raise ValueError((zc_error(self.c) or b"out of memory").decode())

    def python_names(self):
        """Names the Python compiler compiles (given back by the C one)."""
        cdef uint32_t i
        return [i for i in range(self.t.nnames) if self.t.names[i].kind == 0]

    def append_node(self, uint32_t id, const uint8_t[::1] record):
        if zc_append_node(self._compiler(), id, &record[0], len(record)) != 0:
            raise ValueError((zc_error(self.c) or b"bad node record").decode())

    def patch_wild(self):
        if zc_patch_wild(self._compiler()) != 0:
            raise ValueError("a wildcard child has no node record")

    def counts(self):
        """Names compiled by each path: {"plain": n, ..., "python": n}."""
        cdef uint32_t out[6]
        zc_counts(self.c, out)
        return {ZK_NAMES[i]: out[i] for i in range(6)}

    def release(self):
        """Frees the scanned zones and the compiler's working memory,
        keeping the compiled streams (an image may answer from them)."""
        zf_table_free(&self.t)
        if self.c != NULL:
            zc_trim(self.c)
        self.released = True
