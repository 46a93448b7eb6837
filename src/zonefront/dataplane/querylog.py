"""Route 53 query logs: the drain thread that empties the workers' record
rings (csrc/zfstats.h) into log sinks, and the sinks.

Workers never wait for us: each writes its records into a ring of its own
and, when the ring is full because this thread (or the disk) fell behind,
drops the record and counts it.  This thread formats Route 53's line format
(10 space-separated fields, https://docs.aws.amazon.com/Route53/latest/
DeveloperGuide/query-logs.html):

    1.0 2017-12-13T08:15:50.235Z Z123412341234 example.com A NOERROR UDP FRA6 192.168.1.1 -

version, timestamp (UTC, milliseconds), hosted zone id, query name without
the trailing dot, query type, response code, protocol, edge location,
resolver address, EDNS client subnet (or "-").

A CloudWatch Logs group (`arn:aws:logs:REGION:ACCOUNT:log-group:NAME`) maps
to the file DATA_DIR/query-logs/NAME.log by default (a "/" in NAME makes
subdirectories), rotated by size into NAME.log.1, .2 ...; `[query_logging]`
in the configuration may name another path, or "-" for stdout, per group.
"""
from __future__ import annotations

import logging
import os
import struct
import sys
import threading
import time
from collections.abc import Callable

from zonefront.dataplane import _stats

log = logging.getLogger(__name__)

TYPE_NAMES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 13: "HINFO", 15: "MX",
              16: "TXT", 28: "AAAA", 33: "SRV", 35: "NAPTR", 43: "DS", 46: "RRSIG",
              47: "NSEC", 48: "DNSKEY", 50: "NSEC3", 64: "SVCB", 65: "HTTPS", 99: "SPF",
              252: "AXFR", 251: "IXFR", 255: "ANY", 257: "CAA", 41: "OPT", 52: "TLSA",
              44: "SSHFP", 29: "LOC", 39: "DNAME"}
RCODE_NAMES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP",
               5: "REFUSED", 6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH",
               10: "NOTZONE", 16: "BADVERS"}


def type_text(t: int) -> str:
    return TYPE_NAMES.get(t) or f"TYPE{t}"


def parse_question(q: bytes) -> tuple[str, int, str]:
    """(query name as sent, without the trailing dot; qtype; EDNS client
    subnet as "address/prefix" or "-") from a query's wire bytes."""
    labels = []
    off = 12
    n = len(q)
    while off < n:
        ln = q[off]
        if ln == 0 or ln & 0xC0:
            off += 1
            break
        labels.append(q[off + 1:off + 1 + ln].decode("ascii", "backslashreplace"))
        off += 1 + ln
    qtype = struct.unpack_from("!H", q, off)[0] if off + 2 <= n else 0
    name = ".".join(labels) if labels else "."
    ecs = "-"
    if n >= 12 and q[11] and off + 4 < n:  # ARCOUNT: look for OPT's client subnet
        ecs = _find_ecs(q, off + 4) or "-"
    return name, qtype, ecs


def _find_ecs(q: bytes, off: int) -> str | None:
    n = len(q)
    try:
        while off < n:
            while off < n and q[off] != 0 and not q[off] & 0xC0:  # owner name
                off += 1 + q[off]
            off += 2 if off < n and q[off] & 0xC0 else 1
            rtype, _cls, _ttl, rdlen = struct.unpack_from("!HHIH", q, off)
            off += 10
            if rtype == 41:
                end = off + rdlen
                while off + 4 <= end:
                    code, olen = struct.unpack_from("!HH", q, off)
                    if code == 8 and olen >= 4:
                        fam, src = struct.unpack_from("!HB", q, off + 4)
                        addr = q[off + 8:off + 4 + olen]
                        if fam == 1:
                            import ipaddress
                            a = ipaddress.IPv4Address(addr.ljust(4, b"\0")[:4])
                            return f"{a}/{src}"
                        if fam == 2:
                            import ipaddress
                            a = ipaddress.IPv6Address(addr.ljust(16, b"\0")[:16])
                            return f"{a}/{src}"
                    off += 4 + olen
                return None
            off += rdlen
    except (struct.error, ValueError, IndexError):
        return None
    return None


def address_text(family: int, addr: bytes) -> str:
    import ipaddress
    if family == 4:
        return str(ipaddress.IPv4Address(addr[:4]))
    if family == 6:
        a = ipaddress.IPv6Address(addr)
        return str(a.ipv4_mapped or a)
    return "-"


def timestamp_text(ts_us: int) -> str:
    sec, us = divmod(ts_us, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{us // 1000:03d}Z"


def format_line(ts_us: int, zone_id: str, query: bytes, response: bytes | None, rcode: int,
                tcp: bool, location: str, family: int, addr: bytes) -> str:
    name, qtype, ecs = parse_question(query)
    return (f"1.0 {timestamp_text(ts_us)} {zone_id} {name} {type_text(qtype)} "
            f"{RCODE_NAMES.get(rcode, str(rcode))} {'TCP' if tcp else 'UDP'} {location} "
            f"{address_text(family, addr)} {ecs}\n")


# ---------------------------------------------------------------------------
# sinks


class FileSink:
    """Appends lines to a file and rotates it by size: NAME.log -> NAME.log.1
    -> NAME.log.2 ... up to `keep` old files."""

    def __init__(self, path: str, max_bytes: int = 100 << 20, keep: int = 5):
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self._f = open(path, "ab")
        self._size = self._f.tell()

    def write(self, text: bytes | str) -> None:
        if isinstance(text, str):
            text = text.encode()
        if self._size + len(text) > self.max_bytes and self._size > 0:
            self.rotate()
        self._f.write(text)
        self._size += len(text)

    def rotate(self) -> None:
        self._f.close()
        for i in range(self.keep - 1, 0, -1):
            src = f"{self.path}.{i}"
            if os.path.exists(src):
                os.replace(src, f"{self.path}.{i + 1}")
        os.replace(self.path, f"{self.path}.1")
        self._f = open(self.path, "ab")
        self._size = 0

    def flush(self) -> None:
        self._f.flush()

    def close(self) -> None:
        self._f.close()


class StreamSink:
    """Lines to an open text stream (stdout)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def write(self, text: bytes | str) -> None:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        self.flush()


def group_path(data_dir: str, group: str) -> str:
    """DATA_DIR/query-logs/NAME.log; a "/" in NAME makes subdirectories, and
    no NAME escapes the directory."""
    parts = [p for p in group.split("/") if p and p not in (".", "..")]
    base = os.path.join(data_dir, "query-logs")
    return os.path.join(base, *parts[:-1], (parts[-1] if parts else "default") + ".log")


# ---------------------------------------------------------------------------
# the drain thread


class RecordDrain:
    """Empties every Counters' ring on a thread of its own and hands each
    record to the consumers: the query log (zones with a configuration) and
    dnstap (every query), whichever are on.

    zone_table() -> {row: (hosted zone id, log group name)} for the public
    image served now (rows with a query logging configuration only); it is
    re-read every `refresh` seconds and pushed to the workers, so a
    configuration logs from the first publish that serves it.
    """

    def __init__(self, counters: list, location: str, *, data_dir: str = ".",
                 zone_table: Callable[[], dict] = dict, sinks: dict | None = None,
                 max_bytes: int = 100 << 20, keep: int = 5, dnstap=None,
                 refresh: float = 0.5, interval: float = 0.05):
        self.counters = counters
        self.location = location
        self.data_dir = data_dir
        self.zone_table = zone_table
        self.sink_paths = dict(sinks or {})  # group name -> path, or "-" for stdout
        self.max_bytes = max_bytes
        self.keep = keep
        self.dnstap = dnstap
        self.refresh = refresh
        self.interval = interval
        self._table: dict = {}
        self._ctable: dict = {}  # row -> (zone id as bytes, group), for _stats.format_lines
        self._sinks: dict[str, object] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lines = 0  # lines written
        self.sink_errors = 0  # lines lost to a failing sink
        self._last_refresh = 0.0
        for c in counters:
            c.enable_ring(full_messages=dnstap is not None)
            if dnstap is not None:
                c.set_log_all(True)

    def start(self) -> RecordDrain:
        self.update_table()
        self._thread = threading.Thread(target=self._run, name="zf-querylog", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.drain_once()
        for s in self._sinks.values():
            try:
                s.close()
            except OSError:
                pass
        if self.dnstap is not None:
            self.dnstap.close()

    def dropped(self) -> int:
        """Records the workers dropped on a full ring."""
        return sum(c.ring_stats()[1] for c in self.counters)

    def written(self) -> int:
        return sum(c.ring_stats()[0] for c in self.counters)

    def update_table(self) -> None:
        try:
            table = dict(self.zone_table())
        except Exception:
            log.exception("query logging: reading the configurations failed")
            return
        self._table = table
        self._ctable = {row: (zid.encode(), group) for row, (zid, group) in table.items()}
        for c in self.counters:
            c.set_log_rows(table.keys())
        self._last_refresh = time.monotonic()

    def _sink(self, group: str):
        s = self._sinks.get(group)
        if s is None:
            path = self.sink_paths.get(group)
            if path == "-":
                s = StreamSink()
            else:
                s = FileSink(path or group_path(self.data_dir, group), self.max_bytes, self.keep)
            self._sinks[group] = s
        return s

    def _run(self) -> None:
        while not self._stop.is_set():
            if time.monotonic() - self._last_refresh >= self.refresh:
                self.update_table()
            if not self.drain_once():
                self._stop.wait(self.interval)

    def drain_once(self) -> int:
        """Takes and writes what the rings hold; returns the records handled.
        Lines are formatted in C (_stats.format_lines, the twin of
        format_line): a Python line per query would cap the log at a few
        tens of thousands of lines a second."""
        handled = 0
        touched = set()
        loc = self.location.encode()
        for c in self.counters:
            data = c.take()
            if not data:
                continue
            handled += 1
            if self.dnstap is not None:
                self.dnstap.records(data)
            if not self._ctable:
                continue
            by_group, n = _stats.format_lines(data, self._ctable, loc)
            for group, text in by_group.items():
                try:
                    sink = self._sink(group)
                    sink.write(bytes(text))
                    touched.add(sink)
                except OSError:
                    self.sink_errors += text.count(b"\n")
            self.lines += n
        for s in touched:
            try:
                s.flush()
            except OSError:
                pass
        if self.dnstap is not None and handled:
            self.dnstap.flush()
        return handled
