"""The command-line and TOML side of observability (metrics, query logs, dnstap):
options and settings only, so that parsing arguments loads no compiled
module; observability.py runs what they ask for."""
from __future__ import annotations

import argparse

from .netaddr import hostport_arg


def add_arguments(p: argparse.ArgumentParser, dns: bool = True) -> None:
    g = p.add_argument_group("observability")
    g.add_argument("--metrics-listen", type=hostport_arg(9153), metavar="HOST:PORT",
                   default=None, help="serve Prometheus metrics at GET /metrics (off by default)")
    if dns:
        g.add_argument("--metrics-per-record", type=_per_record_arg, metavar="N", default=None,
                       help="also count answers per record (owner name, type, rcode) and "
                            "export the N busiest as zonefront_dns_record_queries_total "
                            f"(1..{MAX_PER_RECORD}; off by default; TOML [metrics] per_record)")
        g.add_argument("--dnstap-socket", metavar="PATH", default=None,
                       help="send dnstap (AUTH_QUERY/AUTH_RESPONSE) to this Frame Streams "
                            "Unix socket; a path ending in .fstrm or .dnstap is written as "
                            "a file instead")
        g.add_argument("--query-log-location", metavar="NAME", default=None,
                       help="edge location field of query log lines (default: the host name)")


MAX_PER_RECORD = 10000  # series a scrape may carry; each worker keeps 2N slots (>= 4096)


def _per_record_arg(text: str) -> int:
    try:
        return per_record_value(int(text))
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def per_record_value(n) -> int:
    """N of --metrics-per-record / [metrics] per_record, checked (0 = off)."""
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_PER_RECORD:
        raise ValueError(f"per-record metrics: N must be an integer 0..{MAX_PER_RECORD} "
                         f"(records exported per scrape), not {n!r}")
    return n


def per_record(args, sections: dict) -> int:
    """How many records a scrape exports (0: per-record counting off)."""
    n = getattr(args, "metrics_per_record", None)
    if n is None:
        n = sections.get("metrics", {}).get("per_record", 0)
    n = per_record_value(n)
    if n and metrics_address(args, sections) is None:
        raise ValueError("per-record metrics need a metrics listener (--metrics-listen or "
                         "[metrics] listen)")
    return n


def read_sections(path: str | None) -> dict:
    """The [metrics] and [query_logging] tables of the configuration file."""
    if not path:
        return {}
    import tomllib  # 3 ms of every start, only when there is a file to read

    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        return {}  # config.load_config reports these
    return {k: doc.get(k, {}) for k in ("metrics", "query_logging")}


def metrics_address(args, sections: dict):
    if getattr(args, "metrics_listen", None):
        return args.metrics_listen
    listen = sections.get("metrics", {}).get("listen")
    if listen:
        from .netaddr import parse_hostport
        return parse_hostport(listen)
    return None


def counting_wanted(args) -> bool:
    sections = read_sections(getattr(args, "config", None))
    # --metrics-per-record alone counts too, so that start_serve refuses it
    # without a metrics listener instead of the option going unheard
    return bool(metrics_address(args, sections) or getattr(args, "dnstap_socket", None)
                or getattr(args, "api", False) or getattr(args, "metrics_per_record", None))
