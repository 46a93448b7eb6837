"""Prometheus metrics: the text exposition format (0.0.4), the data plane's
collector, and the `/metrics` HTTP listener (`--metrics-listen`).

Nothing here runs per query: the workers count into their own C arrays
(csrc/zfstats.h) and a scrape sums them (`_stats.sum_counters`).  Other
parts (the control plane, health checkers, edges) add collectors to the same
Registry: a collector is a callable returning Family objects.
"""
from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from zonefront import model, rdata
from zonefront.dataplane import _stats

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# the qtype buckets of zfstats.h (zf_st_qtype), in order
QTYPE_LABELS = ("A", "NS", "CNAME", "SOA", "PTR", "MX", "TXT", "AAAA", "SRV", "NAPTR", "DS",
                "DNSKEY", "HTTPS", "CAA", "ANY", "other")
RCODE_LABELS = ("NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN",
                "BADVERS")
TRANSPORTS = ("udp", "tcp")
# snapshot/policy.py KIND, by number
POLICY_KINDS = ("none", "weighted", "failover", "multivalue", "latency", "geo", "geoproximity",
                "cidr", "alias")
# upper bounds of the UDP batch size buckets (zf_stats_batch)
BATCH_BOUNDS = tuple(1 << b for b in range(_stats.BATCH_BUCKETS - 1))


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def format_value(v: float) -> str:
    if isinstance(v, int):
        return str(v)
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if math.isnan(v):
        return "NaN"
    return repr(float(v))


@dataclass
class Family:
    """One metric family: name, type (counter, gauge, histogram), help, and
    samples as (suffix, labels dict, value)."""

    name: str
    type: str
    help: str
    samples: list = field(default_factory=list)

    def add(self, value, suffix: str = "", **labels) -> Family:
        self.samples.append((suffix, labels, value))
        return self

    def add_histogram(self, buckets: Iterable[tuple[float, int]], total: int, sum_: float,
                      **labels) -> Family:
        """buckets: (upper bound, cumulative count) in increasing order."""
        for le, n in buckets:
            self.add(n, "_bucket", le=format_value(float(le)), **labels)
        self.add(total, "_bucket", le="+Inf", **labels)
        self.add(total, "_count", **labels)
        self.add(sum_, "_sum", **labels)
        return self

    def text(self) -> str:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.type}"]
        for suffix, labels, value in self.samples:
            name = self.name + suffix
            if labels:
                lab = ",".join(f'{k}="{escape(str(v))}"' for k, v in labels.items())
                out.append(f"{name}{{{lab}}} {format_value(value)}")
            else:
                out.append(f"{name} {format_value(value)}")
        return "\n".join(out) + "\n"


class Histogram:
    """A thread-safe histogram for the slow paths (API latency, INSYNC),
    labelled by a tuple; observe() takes a lock, which is fine off the hot path."""

    def __init__(self, bounds: Iterable[float]):
        self.bounds = tuple(bounds)
        self._lock = threading.Lock()
        self._data: dict[tuple, list] = {}

    def observe(self, value: float, labels: tuple = ()) -> None:
        with self._lock:
            d = self._data.get(labels)
            if d is None:
                d = self._data[labels] = [[0] * len(self.bounds), 0, 0.0]
            for i, b in enumerate(self.bounds):
                if value <= b:
                    d[0][i] += 1
            d[1] += 1
            d[2] += value

    def fill(self, fam: Family, label_names: tuple = ()) -> Family:
        with self._lock:
            items = [(k, list(v[0]), v[1], v[2]) for k, v in self._data.items()]
        for labels, counts, total, sum_ in items:
            fam.add_histogram(zip(self.bounds, counts), total, sum_,
                              **dict(zip(label_names, labels)))
        return fam


class Registry:
    """The collectors one /metrics listener serves, in registration order."""

    def __init__(self):
        self._collectors: list[Callable[[], Iterable[Family]]] = []
        self._lock = threading.Lock()

    def register(self, collector: Callable[[], Iterable[Family]]) -> None:
        with self._lock:
            self._collectors.append(collector)

    def exposition(self) -> str:
        with self._lock:
            collectors = list(self._collectors)
        parts = []
        for c in collectors:
            try:
                parts.extend(f.text() for f in c())
            except Exception:  # one broken collector must not hide the rest
                log.exception("metrics collector %r failed", c)
        return "".join(parts)


# ---------------------------------------------------------------------------
# the data plane


def _proc_udp_drops(fds: list[int]) -> int:
    """Datagrams the kernel dropped on our sockets (full receive buffers),
    from the drops column of /proc/net/udp{,6}: the socket's own count, with
    no ancillary data per receive (SO_RXQ_OVFL) on the hot path."""
    inodes = set()
    for fd in fds:
        try:
            inodes.add(os.fstat(fd).st_ino)
        except OSError:
            pass
    total = 0
    for path in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if len(cols) >= 13 and int(cols[9]) in inodes:
                        total += int(cols[12])
        except (OSError, ValueError, StopIteration):
            pass
    return total


class DnsCollector:
    """The DNS server's counters as Prometheus families.

    zone_names() gives the public zone names by row (with trailing dots);
    candidate_label(index) names a routing candidate ("name type set-id"), or
    None to count it only by policy kind.  per_record: export the top N
    (owner, type) pairs of the per-record counters (0: none; the workers'
    tables are enabled separately, Counters.enable_records).
    """

    def __init__(self, server, zone_names: Callable[[], list[str]] | None = None,
                 view_names: Callable[[], list[str]] | None = None,
                 candidate_label: Callable[[int], str | None] | None = None,
                 extra: Callable[[], Iterable[Family]] | None = None, per_record: int = 0):
        self.server = server
        self.per_record = per_record
        self.zone_names = zone_names or (list)
        self.view_names = view_names or (list)
        self.candidate_label = candidate_label
        self.extra = extra

    def zone_label(self, slot: int, names: list[str]) -> str:
        if slot == _stats.ZONE_NONE:
            return "none"
        if slot == _stats.ZONE_PRIVATE:
            return "private"
        if slot < len(names) and slot != _stats.ZONE_OTHER:
            return names[slot]
        return "other"

    def __call__(self) -> list[Family]:
        sums = _stats.sum_counters(list(self.server.counters))
        names = self.zone_names()
        resp = Family("zonefront_dns_responses_total", "counter",
                      "DNS responses by transport, query type, response code and hosted zone")
        queries = Family("zonefront_dns_queries_total", "counter",
                         "DNS queries answered or dropped, by transport")
        merged: dict[tuple, int] = {}
        for (z, t, q, r), n in sorted(sums["responses"].items()):
            key = (TRANSPORTS[t], QTYPE_LABELS[q], RCODE_LABELS[r], self.zone_label(z, names))
            merged[key] = merged.get(key, 0) + n
        for (t, q, r, z), n in merged.items():
            resp.add(n, transport=t, qtype=q, rcode=r, zone=z)
        st = self.server.stats()
        xdp = st.get("xdp") or {}  # AF_XDP is UDP too: counted with it
        queries.add(st["udp"]["queries"] + xdp.get("queries", 0), transport="udp")
        queries.add(st["tcp"]["queries"], transport="tcp")
        errs = Family("zonefront_dns_error_responses_total", "counter",
                      "FORMERR and REFUSED responses (also in zonefront_dns_responses_total)")
        for rc in ("FORMERR", "REFUSED"):
            errs.add(sum(n for (t, q, r, z), n in merged.items() if r == rc), rcode=rc)
        tc = Family("zonefront_dns_truncated_responses_total", "counter",
                    "Responses sent with TC=1 (too big for the client's UDP size)")
        tc.add(sums["tc"][0], transport="udp")
        tc.add(sums["tc"][1], transport="tcp")
        rrl = Family("zonefront_dns_rrl_total", "counter",
                     "Responses rate limited (RRL): dropped, or slipped as TC=1")
        rrl.add(st["rrl_dropped"], action="drop")
        rrl.add(st["rrl_slipped"], action="slip")
        routed = Family("zonefront_dns_routing_decisions_total", "counter",
                        "Answers decided by a routing policy, by policy kind")
        for i, n in enumerate(sums["routed"]):
            if i and (n or POLICY_KINDS[i] != "none"):
                routed.add(n, policy=POLICY_KINDS[i])
        chosen = Family("zonefront_dns_routing_choices_total", "counter",
                        "Routed answers by the record set chosen (name, type, set identifier)")
        by_label: dict[str, int] = {}
        for idx, n in sums["cands"].items():
            lab = self.candidate_label(idx) if self.candidate_label else None
            lab = lab or f"candidate {idx}"
            by_label[lab] = by_label.get(lab, 0) + n
        for lab, n in sorted(by_label.items()):
            name, _, rest = lab.partition(" ")
            rtype, _, set_id = rest.partition(" ")
            chosen.add(n, name=name, type=rtype, set_identifier=set_id)
        views = Family("zonefront_dns_private_view_answers_total", "counter",
                       "Answers from a private hosted zone's view (VPC)")
        vnames = self.view_names()
        for i, n in sorted(sums["views"].items()):
            views.add(n, view=vnames[i] if i < len(vnames) else str(i))
        tcpf = [
            Family("zonefront_dns_tcp_connections_open", "gauge", "TCP connections open now")
            .add(st["tcp"]["active"]),
            Family("zonefront_dns_tcp_connections_accepted_total", "counter",
                   "TCP connections accepted").add(st["tcp"]["accepted"]),
            Family("zonefront_dns_tcp_connections_refused_total", "counter",
                   "TCP connections closed to make room at the connection cap")
            .add(st["tcp"]["evicted"]),
            Family("zonefront_dns_tcp_connections_timed_out_total", "counter",
                   "TCP connections closed by the idle timeout").add(st["tcp"]["closed_idle"]),
        ]
        batch = Family("zonefront_dns_udp_batch_size", "histogram",
                       "Datagrams per UDP receive batch (recvmmsg)")
        cum, acc = [], 0
        for i, b in enumerate(BATCH_BOUNDS):
            acc += sums["batch"][i]
            cum.append((b, acc))
        batch.add_histogram(cum, acc + sums["batch"][-1], sums["batch_sum"])
        drops = Family("zonefront_dns_udp_kernel_drops_total", "counter",
                       "Datagrams the kernel dropped on our UDP sockets (receive buffer full)")
        drops.add(_proc_udp_drops(self.server.udp_fds))
        gen = Family("zonefront_dns_image_generation", "gauge",
                     "Images swapped in since the start (RCU generation)")
        gen.add(self.server.image_slot.generation)
        fams = [resp, queries, errs, tc, rrl, routed, chosen, views, *tcpf, batch, drops, gen]
        if self.per_record > 0:
            fams.extend(record_families(self.server.counters, names, self.per_record))
        if "fallback" in st:  # the recursive fallback (dataplane/forwarder.py)
            fb = Family("zonefront_dns_recursive_fallback_total", "counter",
                        "Queries of public DNS fallback zones sent to the recursive resolver, "
                        "by outcome (overflow, busy, timeout, error: answered SERVFAIL)")
            for outcome, key in (("answered", "answered"), ("overflow", "overflow"),
                                 ("busy", "busy"), ("timeout", "timeouts"), ("error", "errors")):
                fb.add(st["fallback"][key], outcome=outcome)
            fams.append(fb)
        if self.extra is not None:
            fams.extend(self.extra())
        return fams


def record_families(counters, zone_names: list[str], top: int) -> list[Family]:
    """zonefront_dns_record_queries_total{zone,name,type,rcode} for the `top`
    busiest (owner, type) pairs of the workers' per-record tables, plus what
    the bounds left out: answers that found no slot, pairs beyond `top`."""
    sums, overflow, used = _stats.sum_records(list(counters))
    zones = {z.lower() for z in zone_names}
    busiest = sorted(sums.items(), key=lambda kv: (-sum(kv[1]), kv[0]))[:top]
    fam = Family("zonefront_dns_record_queries_total", "counter",
                 "Answers per record (owner name and query type; a wildcard counts its "
                 "synthesised answers) and response code, for the busiest records "
                 "(--metrics-per-record)")
    for (owner, qtype), counts in busiest:
        name = model.name_to_text(owner)
        zone = _zone_of(owner, zones)
        for rc, n in enumerate(counts):
            if n:
                fam.add(n, zone=zone, name=name, type=rdata.rrtype_to_text(qtype),
                        rcode=RCODE_LABELS[rc])
    lost = Family("zonefront_dns_record_uncounted_total", "counter",
                  "Answers not counted per record because every worker's table was full")
    lost.add(overflow)
    hidden = Family("zonefront_dns_record_series_hidden", "gauge",
                    "Records counted but left out of this scrape (beyond the top N)")
    hidden.add(max(0, len(sums) - top))
    slots = Family("zonefront_dns_record_slots_used", "gauge",
                   "Per-record table slots taken, summed over workers")
    slots.add(used)
    return [fam, lost, hidden, slots]


def _zone_of(owner: bytes, zones: set[str]) -> str:
    """The longest public zone name that owner is in (text, trailing dot)."""
    labels = model.labels_of(owner)
    for i in range(len(labels) + 1):
        text = ".".join(model.label_to_text(lab) for lab in labels[i:]) + "." if i < len(labels) \
            else "."
        if text.lower() in zones:
            return text.lower()
    return "other"


# ---------------------------------------------------------------------------
# the listener


class MetricsServer:
    """GET /metrics (and / for a pointer to it) on an HTTP listener of its own."""

    def __init__(self, host: str, port: int, registry: Registry):
        self.registry = registry
        reg = registry

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    body = reg.exposition().encode()
                    self.send_response(200)
                    self.send_header("Content-Type", CONTENT_TYPE)
                elif path == "/":
                    body = b"zonefront metrics: /metrics\n"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                else:
                    body = b"not found\n"
                    self.send_response(404)
                    self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        cls = ThreadingHTTPServer
        if ":" in host:
            import socket

            class V6(ThreadingHTTPServer):
                address_family = socket.AF_INET6
            cls = V6
        self.httpd = cls((host, port), Handler)
        self.httpd.daemon_threads = True
        self.address = self.httpd.server_address[:2]
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="zf-metrics",
                                        daemon=True)

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)


def process_families(started: float) -> list[Family]:
    """Process start time, for rate() over restarts and uptime panels."""
    return [Family("zonefront_start_time_seconds", "gauge",
                   "When this process started (Unix time)").add(started)]


START_TIME = time.time()


def start_plain(addr, collectors=()) -> MetricsServer | None:
    """A listener with process metrics plus whatever collectors the caller
    has (`zonefront edge` and `zonefront checker`); None when addr is None."""
    if addr is None:
        return None
    reg = Registry()
    reg.register(lambda: process_families(START_TIME))
    for c in collectors:
        reg.register(c)
    return MetricsServer(addr[0], addr[1], reg).start()
