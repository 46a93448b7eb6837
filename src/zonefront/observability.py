"""Observability's assembly: `--metrics-listen`, query logging and `--dnstap-socket`
for `zonefront serve` (and the metrics listener for `edge` and `checker`).

It joins the data plane's counters and record drain (dataplane/metrics.py,
dataplane/querylog.py, dataplane/dnstap.py) with what only the assembly
knows: the zones served now and their hosted zone ids, the query logging
configurations in the store, the control plane's health checks and edges.
The TOML sections `[metrics]` (listen) and `[query_logging]` (location,
max_bytes, keep, and a `[query_logging.sinks]` table of log group name ->
path or "-") are read here.
"""
from __future__ import annotations

import logging
import time

from .dataplane import metrics
from .obs_cli import metrics_address, per_record, read_sections

log = logging.getLogger("zonefront.observability")


class Observability:
    """What serve runs for metrics, query logs and dnstap; stop() in reverse order."""

    def __init__(self):
        self.registry = metrics.Registry()
        self.http: metrics.MetricsServer | None = None
        self.drain = None
        self.publishes = PublishTimes()

    def stop(self) -> None:
        if self.http is not None:
            self.http.stop()
        if self.drain is not None:
            self.drain.stop()


class PublishTimes:
    """Last publish time and duration, and the change -> INSYNC histogram,
    fed by the wrappers start_serve() puts around the publisher."""

    def __init__(self):
        self.last = 0.0
        self.duration = 0.0
        self.count = 0
        self.insync = metrics.Histogram((0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))

    def families(self) -> list[metrics.Family]:
        return [
            metrics.Family("zonefront_image_last_publish_time_seconds", "gauge",
                           "When the served image last changed (Unix time)").add(self.last),
            metrics.Family("zonefront_image_publish_duration_seconds", "gauge",
                           "How long the last publish (compile and swap) took")
            .add(self.duration),
            metrics.Family("zonefront_image_publishes_total", "counter",
                           "Publishes (images swapped in)").add(self.count),
            self.insync.fill(metrics.Family(
                "zonefront_change_insync_seconds", "histogram",
                "From a committed change to INSYNC (served by every live edge)")),
        ]


class CandidateLabels:
    """cands index -> "name type set-identifier" for the served public image,
    so that zonefront_dns_routing_choices_total names the record set chosen.

    The compiled image keeps no set identifiers: the labels come from walking
    its nodes to the policy sets (psets) their types answer with, and pairing
    each pset's candidates, in order, with the zone's routed record sets of
    that owner and type (the order the compiler gave them, zoneset.py).  The
    walk runs only when a scrape finds routed answers, once per image (and
    at most every `every` seconds while images change)."""

    def __init__(self, served, every: float = 30.0):
        self.served = served
        self.every = every
        self._key = None
        self._at = 0.0
        self._labels: dict[int, str] = {}

    def __call__(self, idx: int) -> str | None:
        built = getattr(self.served, "built", None)
        if built is not None and built is not self._key and \
                time.monotonic() - self._at >= (self.every if self._labels else 0):
            self._key = built
            self._at = time.monotonic()
            try:
                self._labels = self.build(built)
            except Exception:  # noqa: BLE001 (labels are optional; the counts stay)
                log.exception("routing candidate labels")
                self._labels = {}
        return self._labels.get(idx)

    @staticmethod
    def build(built) -> dict[int, str]:
        import struct

        from .model import TYPE_CNAME
        from .snapshot.layout import decode_node
        from .snapshot.policy import PSET, PSET_BIT

        image = getattr(built, "image", None)
        if image is None:
            return {}
        arrays = image.arrays()
        nodes, psets = arrays["nodes"], arrays.get("psets", b"")
        live = arrays.get("live", b"")
        if not psets:
            return {}
        routed: dict[tuple[bytes, int], list] = {}
        for z in built.zones:
            for r in getattr(z, "routed", ()):
                routed.setdefault((r.owner, r.rtype), []).append(r)
        offsets = (struct.unpack_from(f"<{len(live) // 4}I", live) if live else None)
        labels: dict[int, str] = {}
        seen: set[int] = set()
        off = 0
        i = 0
        while True:
            if offsets is not None:
                if i >= len(offsets):
                    break
                off = offsets[i]
                i += 1
            elif off >= len(nodes):
                break
            rec, nxt = decode_node(nodes, off)
            off = nxt
            for qtype, ref in rec.types:
                if not ref & PSET_BIT or ref in seen:
                    continue
                seen.add(ref)
                recs = routed.get((rec.name, qtype)) or routed.get((rec.name, TYPE_CNAME))
                if not recs:
                    continue
                _kind, _f, ncand, cand_off, _p, _n, _c = PSET.unpack_from(
                    psets, (ref & ~PSET_BIT) * PSET.size)
                name = _wire_to_text(rec.name)
                for k in range(min(ncand, len(recs))):
                    r = recs[k]
                    labels[cand_off + k] = f"{name} {_type_text(r.rtype)} {r.set_id or '-'}"
        return labels


def _type_text(t: int) -> str:
    from .dataplane.querylog import type_text
    return type_text(t)


def _zone_names(served) -> list[str]:
    engine = getattr(served, "engine", None)
    zones = getattr(getattr(engine, "image", None), "zones", None) or []
    out = []
    for z in zones:
        origin = z.get("origin", b"") if isinstance(z, dict) else b""
        out.append(_wire_to_text(origin))
    return out


def _wire_to_text(wire: bytes) -> str:
    labels, off = [], 0
    while off < len(wire) and wire[off]:
        n = wire[off]
        labels.append(wire[off + 1:off + 1 + n].decode("ascii", "backslashreplace"))
        off += 1 + n
    return ".".join(labels) + "." if labels else "."


def _image_families(served) -> list[metrics.Family]:
    engine = getattr(served, "engine", None)
    if engine is None:
        return []
    image = engine.image
    out = [metrics.Family("zonefront_image_bytes", "gauge",
                          "Memory of the served compiled image").add(engine.memory())]
    names = getattr(image, "node_count", None)
    if names is None:
        names = getattr(image, "nnodes", None)
    if names is not None:
        out.append(metrics.Family("zonefront_image_names", "gauge",
                                  "Names (nodes) in the served image").add(int(names)))
    out.append(metrics.Family("zonefront_image_zones", "gauge", "Zones in the served image")
               .add(len(getattr(image, "zones", []) or [])))
    stats = getattr(served, "stats", None)  # ServedZones: did a change patch or recompile?
    if stats:
        fam = metrics.Family("zonefront_image_compiles_total", "counter",
                             "Images built in this process: patched from the last, or full")
        for kind in ("patched", "full", "forked"):
            fam.add(stats.get(kind, 0), kind=kind)
        out.append(fam)
    return out


def _health_families(control) -> list[metrics.Family]:
    hc = getattr(control, "health_checks", None)
    if hc is None:
        return []
    state = metrics.Family("zonefront_health_check_healthy", "gauge",
                           "Health check verdict per checker location (1 healthy)")
    lat = metrics.Family("zonefront_health_check_latency_seconds", "gauge",
                         "Last probe latency per check and checker location")
    overall = metrics.Family("zonefront_health_check_status", "gauge",
                             "Health check status as the data plane uses it (1 healthy)")
    for cid in sorted(hc.state.ids()):
        h = hc.healthy(cid)
        if h is not None:
            overall.add(1 if h else 0, health_check=cid)
        for o in hc.observations(cid):
            state.add(1 if o.state else 0, health_check=cid, location=o.location)
            if o.latency_ms is not None:
                lat.add(o.latency_ms / 1000.0, health_check=cid, location=o.location)
    return [overall, state, lat]


def _edge_families(control) -> list[metrics.Family]:
    hub = getattr(control, "edges", None)
    if hub is None:
        return []
    lag = metrics.Family("zonefront_edge_serial_lag", "gauge",
                         "Publishes an edge is behind the control plane (0: current)")
    beat = metrics.Family("zonefront_edge_last_heartbeat_seconds", "gauge",
                          "When each edge last reported (Unix time)")
    live = metrics.Family("zonefront_edge_live", "gauge", "1 while an edge reports in time")
    for e in hub.list():
        lag.add(0 if e["Current"] else 1, edge=e["Id"])
        if e["LastSeen"] is not None:
            beat.add(e["LastSeen"], edge=e["Id"])
        live.add(1 if e["State"] == "LIVE" else 0, edge=e["Id"])
    return [lag, beat, live]


def _registry_families(control) -> list[metrics.Family]:
    reg = getattr(control, "registry", None)
    store = getattr(control, "store", None)
    if reg is None or store is None:
        return []
    fam = metrics.Family("zonefront_registry_operations", "gauge",
                         "Route 53 Domains operations by state")
    try:
        with store.lock:
            rows = store.db.execute("SELECT status, COUNT(*) FROM registry_operations "
                                    "GROUP BY status").fetchall()
    except Exception as e:  # noqa: BLE001 (a store without the Domains tables: no figures)
        log.debug("no registry figures: %s", e)
        rows = []
    for status, n in rows:
        fam.add(n, state=str(status))
    return [fam]


def _query_log_table(served, control):
    """{row: (zone id, group)} for the public image served now."""
    from .api.querylog import log_group_name
    from .store import querylogstore

    store = getattr(control, "store", None)
    if store is None:
        return {}
    configs = querylogstore.all_configs(store)
    if not configs:
        return {}
    by_zone = {c["zone_id"]: log_group_name(c["log_group"]) for c in configs}
    id_by_origin = {}
    for z in getattr(served, "current", []) or []:
        src = getattr(z, "source", "") or ""
        if src.startswith("/hostedzone/"):
            id_by_origin[z.origin] = src[len("/hostedzone/"):]
    engine = getattr(served, "engine", None)
    zones = getattr(getattr(engine, "image", None), "zones", None) or []
    out = {}
    for row, z in enumerate(zones):
        zid = id_by_origin.get(z.get("origin"))
        if zid is not None and by_zone.get(zid):
            out[row] = (zid, by_zone[zid])
    return out


def start_serve(args, server, served, control, data_dir: str | None) -> Observability:
    """Metrics listener, query log drain and dnstap for a running serve."""
    import socket as _socket

    from .dataplane.querylog import RecordDrain

    obs = Observability()
    sections = read_sections(getattr(args, "config", None))
    qcfg = sections.get("query_logging", {})
    top = per_record(args, sections)  # checked before anything starts
    if top and server.counters:
        for c in server.counters:
            c.enable_records(max(4096, 2 * top))
    if server.counters:
        dnstap = None
        if getattr(args, "dnstap_socket", None):
            from .dataplane.dnstap import DnstapWriter
            dnstap = DnstapWriter(args.dnstap_socket)
        location = (getattr(args, "query_log_location", None) or qcfg.get("location")
                    or _socket.gethostname())
        if control is not None or dnstap is not None:
            obs.drain = RecordDrain(
                server.counters, location, data_dir=data_dir or ".",
                zone_table=(lambda: _query_log_table(served, control)),
                sinks=qcfg.get("sinks", {}), max_bytes=int(qcfg.get("max_bytes", 100 << 20)),
                keep=int(qcfg.get("keep", 5)), dnstap=dnstap).start()
    if control is not None:
        _wrap_publish(control, obs.publishes)
        from .api import server as api_server
        if api_observer not in api_server.REQUEST_OBSERVERS:
            api_server.REQUEST_OBSERVERS.append(api_observer)

    def dns_extra():
        fams = _image_families(served) + obs.publishes.families()
        if obs.drain is not None:
            fams.append(metrics.Family("zonefront_query_log_records_dropped_total", "counter",
                                       "Query records the workers dropped (sink behind)")
                        .add(obs.drain.dropped()))
            fams.append(metrics.Family("zonefront_query_log_lines_total", "counter",
                                       "Query log lines written").add(obs.drain.lines))
        if control is not None:
            for part in (_health_families, _edge_families, _registry_families):
                try:  # one part failing must not hide the DNS counters
                    fams += part(control)
                except Exception:  # noqa: BLE001
                    log.exception("metrics: %s failed", part.__name__)
            fams += api_families()
        return fams

    addr = metrics_address(args, sections)
    if addr is not None:
        obs.registry.register(metrics.DnsCollector(server, zone_names=lambda: _zone_names(served),
                                                   candidate_label=CandidateLabels(served),
                                                   extra=dns_extra, per_record=top))
        obs.registry.register(lambda: metrics.process_families(metrics.START_TIME))
        obs.http = metrics.MetricsServer(addr[0], addr[1], obs.registry).start()
        log.info("metrics on http://%s:%d/metrics", *obs.http.address[:2])
    return obs


def start_plain(addr, collectors=()) -> metrics.MetricsServer | None:
    """A metrics listener for `edge`: process metrics plus whatever
    collectors the caller has (dataplane/metrics.py's plain listener)."""
    return metrics.start_plain(addr, collectors)


def _wrap_publish(control, times: PublishTimes) -> None:
    """Times every publish, and observes change -> INSYNC from the gate's marks."""
    original = control._publish_once

    def timed():
        t0 = time.monotonic()
        original()
        times.duration = time.monotonic() - t0
        times.last = time.time()
        times.count += 1

    control._publish_once = timed
    gate = getattr(control, "insync", None)
    store = getattr(control, "store", None)
    if gate is None or store is None:
        return
    mark = gate.mark_insync

    def marked(seq):
        mark(seq)
        try:
            with store.lock:
                rows = store.db.execute("SELECT submitted FROM changes WHERE seq <= ? AND "
                                        "seq > ?", (seq, marked.last)).fetchall()
        except Exception as e:  # noqa: BLE001 (the store closing: no latency this time)
            log.debug("change -> INSYNC latency not read: %s", e)
            rows = []
        now = time.time()
        for (submitted,) in rows:
            times.insync.observe(max(0.0, now - float(submitted)))
        marked.last = max(marked.last, seq)

    marked.last = 0
    gate.mark_insync = marked


# API requests by operation and status, fed by api_observer() (api/server.py hook)
API_LATENCY = metrics.Histogram((0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5))
_API_COUNTS: dict[tuple[str, int], int] = {}


def api_observer(operation: str, status: int, seconds: float) -> None:
    """Appended to api.server.REQUEST_OBSERVERS by start_serve()."""
    key = (operation, int(status))
    _API_COUNTS[key] = _API_COUNTS.get(key, 0) + 1
    API_LATENCY.observe(seconds, (operation,))


def api_families() -> list[metrics.Family]:
    req = metrics.Family("zonefront_api_requests_total", "counter",
                         "Route 53 API requests by operation and HTTP status")
    for (op, status), n in sorted(dict(_API_COUNTS).items()):
        req.add(n, operation=op, status=str(status))
    lat = API_LATENCY.fill(metrics.Family("zonefront_api_request_duration_seconds",
                                          "histogram", "Route 53 API request latency"),
                           ("operation",))
    return [req, lat]


def start_edge_metrics(addr, edge) -> metrics.MetricsServer:
    """`zonefront edge --metrics-listen`: the edge's DNS counters (its zone
    names from the image it serves) and its serial."""
    def zone_names():
        engine = getattr(getattr(edge, "serving", None), "engine", None)
        zones = getattr(getattr(engine, "image", None), "zones", None) or []
        return [_wire_to_text(z.get("origin", b"")) for z in zones]

    def edge_families():
        served = getattr(edge, "served", None) or (None, 0)
        return [metrics.Family("zonefront_edge_served_serial", "gauge",
                               "The control plane serial this edge serves")
                .add(int(served[1] or 0))]

    collectors = []
    server = getattr(edge, "server", None)
    if server is not None and server.counters:
        collectors.append(metrics.DnsCollector(server, zone_names=zone_names,
                                               extra=edge_families))
    else:
        collectors.append(edge_families)
    return start_plain(addr, collectors)
