"""The command-line and TOML side of issue 15 (metrics, query logs, dnstap):
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
        g.add_argument("--dnstap-socket", metavar="PATH", default=None,
                       help="send dnstap (AUTH_QUERY/AUTH_RESPONSE) to this Frame Streams "
                            "Unix socket; a path ending in .fstrm or .dnstap is written as "
                            "a file instead")
        g.add_argument("--query-log-location", metavar="NAME", default=None,
                       help="edge location field of query log lines (default: the host name)")


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
    return bool(metrics_address(args, sections) or getattr(args, "dnstap_socket", None)
                or getattr(args, "api", False))
