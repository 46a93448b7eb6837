"""Zone files -> a compiled image at the speed of the servers we are compared with.

`zonefile.parse_zone_file` + `compiler.compile_zones` build a Python object
for every record, RRset and name, then one resolution per (name, type):
about 45 us a name, 87 s and gigabytes for a million names.  This path
reads the files with a C scanner (csrc/zscan.c) into flat arrays
(csrc/zftable.c) and compiles most names in C (csrc/zfcompile.c); the rest
go through the Python compiler, one `Compiler.compile_node` at a time:

  C       names with only self-contained RRsets (A, AAAA, TXT, ...), empty
          non-terminals, PTR/MX/SRV owners, CNAMEs whose chains run through
          ordinary names, delegations and the names below them;
  Python  the apexes, wildcards that own names, DNAME owners and the names
          below them, and any name the C side gives back (a chain meeting a
          DNAME, an answer too large for a block, ...); the zones' negative
          answers, referrals and SOA blocks are made by Python too.

The Python compiler sees the scanned zones through `_TableZoneSet`, a
ZoneSet whose nodes are made on first use, so `zoneset.py` stays the one
statement of the answer rules, and the C twin is checked against it by
tests/differential/test_fastcompile.py (identical answers, every name and
a set of qtypes, generated zones with the tricky cases).

Faults are reported by zonefile.py: when the scanner meets anything wrong
or unusual in a file, that file is read by zonefile.py, which raises the
usual `file:line: reason` or returns the zone, whose records then join the
table; when the zone set breaks a rule checked after reading (CNAME and
other data, nested zones with data below an inner apex, ...), every file is
read and compiled by the Python path.  Rdata of types the scanner has no
parser for is parsed by rdata.from_tokens, record by record.  zonefile.py
itself is imported only when a file needs it (a fault, a fallback,
$INCLUDE), not on a clean file's way to its first answer.
"""
from __future__ import annotations

import mmap
import os
import time

from ..model import TYPE_SOA, RRset, Zone, parent_of
from ..zoneset import Node, Resolution, ZoneSet
from . import _fastcompile
from .compiler import CompiledArrays, Compiler, compile_zones

Unsupported = _fastcompile.Unsupported

# Octets of each compiled stream (nodes, blocks) kept in memory while
# compiling; a stream's head goes to an unlinked temporary file beyond that
# and is mapped back once the scanned table is freed.  At 1M names the
# streams are 44 + 77 MB beside a 123 MB table: written out, compiling no
# longer holds all three at once (issue 13: peak within 1.5x the image).
# A zone whose streams fit never touches a file.
SPILL_WINDOW = 8 << 20


class Stats:
    """What the last compile did, for `zonefront compile` and tests."""

    def __init__(self) -> None:
        self.parse_s = 0.0
        self.compile_s = 0.0
        self.python_files: list[str] = []  # files zonefile.py read instead
        self.python_all = ""  # why the whole set went through the Python path, if it did
        self.kinds: dict[str, int] = {}  # names compiled by each path
        self.negatives_in_c = 0  # zones whose negative blocks the C encoder matches


def compile_zone_files(paths: list[str], stats: Stats | None = None,
                       spill_window: int | None = None,
                       python_fallback: bool = True) -> CompiledArrays:
    """Master files -> CompiledArrays, as `compile_zones([parse_zone_file(p) ...])`
    would answer; raises ZoneFileError for a broken file and ValueError
    where the Python compiler raises.  `python_fallback=False`: raises
    Unsupported where a file or the whole set would go to the Python path
    (a fault, or anything unusual): serving.compile_files compiles in its
    own process only what holds no Python object per record."""
    stats = stats if stats is not None else Stats()
    t0 = time.perf_counter()
    table = _fastcompile.Table()
    zones: list[Zone] = []
    for path in paths:
        zones.append(_read_file(table, os.fspath(path), stats, python_fallback))
    try:
        table.finish()
    except Unsupported as e:
        if not python_fallback:
            raise
        from ..zonefile import parse_zone_file

        stats.python_all = str(e)
        python_zones = [parse_zone_file(p) for p in paths]
        stats.parse_s = time.perf_counter() - t0
        image = compile_zones(python_zones)
        stats.compile_s = time.perf_counter() - t0 - stats.parse_s
        return image
    for zone in zones:
        if not zone.rrsets:  # scanned: its SOA is known once the records are grouped
            zi = table.find_zone(zone.origin)
            ttl, rd = table.zone_soa(zi)
            zone.rrsets[(zone.origin, TYPE_SOA)] = RRset(zone.origin, TYPE_SOA, ttl, [rd])
    t1 = time.perf_counter()
    stats.parse_s = t1 - t0
    image = _compile(table, zones, stats, SPILL_WINDOW if spill_window is None else spill_window)
    stats.compile_s = time.perf_counter() - t1
    return image


def _read_file(table, path: str, stats: Stats, python_fallback: bool = True) -> Zone:
    """Scans one file into the table; the Zone stands for it in the
    ZoneSet (origin and, once grouped, the SOA: the names stay in the
    table)."""
    try:
        raw = _map(path)
    except OSError as e:
        from ..zonefile import ZoneFileError

        raise ZoneFileError(path, 0, f"cannot read zone file: {e.strerror}") from None
    mark = table.mark()
    include = _Includer(os.path.dirname(path) or ".", path)
    try:
        zi = table.scan_zone(raw, include, isinstance(raw, mmap.mmap))
    except Unsupported:
        from ..zonefile import parse_zone_file

        _close(raw)
        if not python_fallback:
            raise
        table.rollback(mark)
        stats.python_files.append(path)
        zone = parse_zone_file(path)  # raises the file's fault, if it has one
        zone.source = path
        table.ingest(zone)
        return zone
    _close(raw)
    return Zone(table.zone_apex(zi), source=path)


def _map(path: str):
    """The file's octets: a private read-only mapping, whose pages the
    scanner drops behind it (1M names: the 60 MB file is never resident
    beside the table it fills), or b"" for an empty file."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return f.read()  # not a regular file with a size (a pipe), or empty
        return mmap.mmap(f.fileno(), size, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)


def _close(raw) -> None:
    if isinstance(raw, mmap.mmap):
        raw.close()


class _Includer:
    """$INCLUDE as zonefile._Reader.directive reads it: relative to the
    including file, with its loop and depth checks; faults are left to
    zonefile.py (raising here makes the file go to it)."""

    def __init__(self, base_dir: str, path: str):
        self.base_dir = base_dir
        self.stack = [os.path.realpath(path)]

    def __call__(self, table, args: list[str], origin: bytes | None, depth: int) -> None:
        from ..rdata import fast_name_from_text, unescape  # a clean file never needs rdata.py
        from ..zonefile import MAX_INCLUDE_DEPTH

        if depth >= MAX_INCLUDE_DEPTH:
            raise Unsupported("$INCLUDE too deep")
        path = os.path.join(self.base_dir, unescape(args[0]).decode())
        sub_origin = fast_name_from_text(args[1], origin) if len(args) == 2 else origin
        real = os.path.realpath(path)
        if real in self.stack:
            raise Unsupported("$INCLUDE loop")
        with open(path, encoding="utf-8") as f:  # text mode: newlines as zonefile.py sees them
            text = f.read()
        self.stack.append(real)
        outer = self.base_dir
        self.base_dir = os.path.dirname(path)
        try:
            table.scan_text(text.encode("utf-8"), sub_origin, depth + 1)
        finally:
            self.base_dir = outer
            self.stack.pop()


def _compile(table, zones: list[Zone], stats: Stats, spill_window: int) -> CompiledArrays:
    zs = _TableZoneSet(zones, table)
    compiler = Compiler(zones, zoneset=zs)
    table.prepare(spill_window)
    nodes, blocks = table.stream(0), table.stream(1)
    compiler.b.blocks = blocks  # the Python compiler's blocks join the C stream
    serial_rows = compiler.b.serial_rows
    for zone in zs.zones:
        nx, nodata, row = compiler.zone_negative(zone)
        res = Resolution()
        zs.negative(zone, res, 0)
        rr = None
        if len(res.authority) == 1:
            a = res.authority[0]
            rr = (a.owner, a.rtype, a.ttl, a.rdata)
        # any other shape fails check_negatives: chains ending there stay in Python
        table.set_zone(zs.index[zone.origin], nx, nodata, row, rr,
                       serial_rows.get(zone.origin, -1))
    stats.negatives_in_c = table.check_negatives()
    table.compile()
    for i in table.python_names():
        node = zs.nodes.by_id(i)
        table.append_node(i, compiler.compile_node(node))
    table.patch_wild()
    stats.kinds = table.counts()
    info = []
    for zone in zs.zones:
        nrrsets, nrecords = table.zone_counts(zs.index[zone.origin])
        info.append({"origin": zone.origin, "serial": zone.serial, "rrsets": nrrsets,
                     "records": nrecords})
    node_count = table.node_count
    table.release()
    # the table's memory is gone before the files are mapped
    nodes, blocks = table.finish_stream(0), table.finish_stream(1)
    streams = {"nodes": nodes, "blocks": blocks}
    mapped = tuple(k for k, v in streams.items() if isinstance(v.obj, mmap.mmap))
    return CompiledArrays(nodes, blocks, bytes(compiler.negatives),
                 bytes(compiler.dnames), info, compiler.b.policy.arrays(), node_count,
                 compiler.serials(), in_place=tuple(k for k in streams if k not in mapped),
                 mapped=mapped)


class _TableZoneSet(ZoneSet):
    """A ZoneSet over a scanned table: the same rules (zoneset.py), with
    Node objects made only for the names the Python compiler touches."""

    def __init__(self, zones: list[Zone], table):
        self.zones = sorted(zones, key=lambda z: len(z.origin))
        self.index = {table.zone_apex(i): i for i in range(table.zone_count)}
        by_index = {self.index[z.origin]: z for z in zones}
        self.nodes = _TableNodes(table, by_index)


class _TableNodes:
    """`ZoneSet.nodes` as a mapping over the table (get, [], in)."""

    def __init__(self, table, zones: dict[int, Zone]):
        self.table = table
        self.zones = zones
        self.made: dict[int, Node] = {}

    def get(self, name: bytes, default=None):
        i = self.table.find(name)
        return default if i < 0 else self.by_id(i)

    def __getitem__(self, name: bytes) -> Node:
        node = self.get(name)
        if node is None:
            raise KeyError(name)
        return node

    def __contains__(self, name: bytes) -> bool:
        return self.table.find(name) >= 0

    def by_id(self, i: int) -> Node:
        node = self.made.get(i)
        if node is not None:
            return node
        t = self.table
        name = t.name(i)
        zi, is_apex, is_cut, cut_above, dname_above, wild = t.name_info(i)
        zone = self.zones[zi]
        node = self.made[i] = Node(name, zone, is_apex=is_apex, is_cut=is_cut)
        for rtype, ttl, rdatas in t.rrsets(i):
            node.rrsets[rtype] = RRset(name, rtype, ttl, rdatas)
        node.cut_above = self.by_id(cut_above) if cut_above >= 0 else None
        node.dname_above = self.by_id(dname_above) if dname_above >= 0 else None
        node.wildcard = self.by_id(wild) if wild >= 0 else None
        if is_apex:
            node.parent_zone = self._enclosing_zone(name)
        return node

    def _enclosing_zone(self, origin: bytes) -> Zone | None:
        """ZoneSet: a child apex whose parent we serve answers DS from the
        parent (the table refuses a parent with data at the child apex, so
        parent_ds stays None)."""
        name = origin
        while name != b"\x00":
            name = parent_of(name)
            i = self.table.find(name)
            if i >= 0 and self.table.name_info(i)[1]:
                return self.zones[self.table.name_info(i)[0]]
        return None
