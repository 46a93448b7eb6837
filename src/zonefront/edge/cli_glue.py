"""`zonefront edge`: the data plane alone, fed by a control plane over HTTP.

cli.py adds it with one line in build_parser():

    edge_glue.add_edge_parser(sub)      # from .edge import cli_glue as edge_glue
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading

from ..netaddr import (DEFAULT_DNS_LISTEN, DEFAULT_UDP_MAX, format_hostport, hostport_arg,
                       parse_hostport, udp_size_arg)


def add_edge_parser(subparsers) -> argparse.ArgumentParser:
    e = subparsers.add_parser(
        "edge", help="serve DNS from snapshots pulled from a control plane",
        description="Run only the data plane: pull compiled zones (full, then deltas) and "
                    "the health table from a control plane's API, keep the last good copy "
                    "on disk, and report the serial served.")
    e.add_argument("--control-plane", required=True, metavar="URL",
                   help="the control plane's API, e.g. http://127.0.0.1:8053")
    e.add_argument("--dns-listen", action="append", type=hostport_arg(), metavar="HOST:PORT",
                   help=f"repeatable; default {DEFAULT_DNS_LISTEN}")
    e.add_argument("--workers", type=int, default=0, help="UDP worker threads (default: cores)")
    e.add_argument("--data-dir", required=True, metavar="DIR",
                   help="where the last good snapshot is kept")
    e.add_argument("--edge-id", metavar="ID",
                   help="name reported to the control plane (default: HOSTNAME-PORT)")
    e.add_argument("--address", metavar="TEXT",
                   help="address reported to the control plane (default: the DNS listen addresses)")
    e.add_argument("--access-key-id", metavar="KEY",
                   help="API key (default: env ZONEFRONT_ACCESS_KEY_ID)")
    e.add_argument("--secret-access-key", metavar="SECRET",
                   help="API secret (default: env ZONEFRONT_SECRET_ACCESS_KEY)")
    e.add_argument("--geoip", metavar="FILE.mmdb",
                   help="MaxMind GeoIP2/GeoLite2 City or Country database for routing "
                        "(default: the maxminddb-geolite2 package's; 'none': no GeoIP data)")
    e.add_argument("--edns-udp-size", type=udp_size_arg, default=DEFAULT_UDP_MAX, metavar="OCTETS")
    e.add_argument("--tcp-idle-timeout", type=float, default=10.0)
    e.add_argument("--tcp-max-connections", type=int, default=1000)
    e.add_argument("--poll-wait", type=float, default=10.0, metavar="SECONDS",
                   help="long-poll duration for new serials and health (default 10)")
    e.add_argument("--heartbeat", type=float, default=1.0, metavar="SECONDS",
                   help="heartbeat period (default 1; at most stale_after/4)")
    e.add_argument("--fallback-resolver", default="none", metavar="HOST:PORT|system|none",
                   help="recursive resolver for private zones with public DNS fallback that "
                        "no public zone here covers, as [alias] fallback_resolver on the "
                        "control plane: HOST:PORT, 'system' (/etc/resolv.conf's first "
                        "nameserver) or 'none' (default: the private NXDOMAIN stands)")
    e.add_argument("--fallback-timeout", default="2.0", metavar="SECONDS",
                   help="seconds to wait for that resolver, then SERVFAIL (default 2.0; "
                        "at most 30)")
    from ..dataplane.xdp_glue import add_arguments as add_xdp
    add_xdp(e)
    from ..obs_cli import add_arguments as add_observability
    add_observability(e, dns=False)
    e.set_defaults(func=cmd_edge)
    return e


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _xdp_spec(args):
    from ..dataplane.xdp_glue import server_kwargs
    return server_kwargs(args).get("xdp")


def fallback_forwarder(setting: str, timeout_text: str):
    """The --fallback-resolver / --fallback-timeout pair as a Forwarder (not
    started) for DnsServer, or None for "none" (and for "system" with no
    nameserver in /etc/resolv.conf).  The same values and limits as the
    control plane's [alias] fallback_resolver / fallback_timeout; a bad one
    raises ValueError naming the flag."""
    from ..dataplane import forwarder

    try:
        timeout = float(timeout_text)
    except ValueError:
        raise ValueError(f"--fallback-timeout {timeout_text!r}: not a number") from None
    if not 0 < timeout <= 30:  # NaN fails this too
        raise ValueError(f"--fallback-timeout {timeout_text!r}: must be within (0, 30] seconds")
    try:
        server = forwarder.resolver_address(setting.strip())
    except ValueError as e:
        raise ValueError(f"--fallback-resolver: {e}") from None
    if server is None:
        return None
    host, port = server
    if not host or not 0 < port:
        raise ValueError(f"--fallback-resolver {setting!r}: expected HOST:PORT, 'system' "
                         f"or 'none'")
    try:  # the forwarder resolves it when it starts: a bad name fails here, named
        socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except (OSError, UnicodeError) as e:
        raise ValueError(f"--fallback-resolver {setting!r}: {e}") from None
    return forwarder.Forwarder(server, timeout=timeout)


def cmd_edge(args) -> int:
    # imported here: every `zonefront` command builds this parser, and the
    # edge's HTTP client and GeoIP reader cost 60 ms of start-up (measured)
    from ..geodefault import geo_from_arg
    from .node import Edge

    key = args.access_key_id or os.environ.get("ZONEFRONT_ACCESS_KEY_ID")
    secret = args.secret_access_key or os.environ.get("ZONEFRONT_SECRET_ACCESS_KEY")
    if bool(key) != bool(secret):
        _say("zonefront: the access key id and the secret access key go together")
        return 1
    try:  # no --geoip: the packaged GeoLite2 database (geodefault.py)
        geo, geo_note = geo_from_arg(args.geoip)
    except Exception as e:  # maxminddb raises several types for a bad file
        _say(f"zonefront: {args.geoip}: cannot read GeoIP data: {e}")
        return 1
    if geo_note:
        _say(geo_note)
    try:
        fallback = fallback_forwarder(args.fallback_resolver, args.fallback_timeout)
    except ValueError as e:
        _say(f"zonefront: {e}")
        return 1
    listen = args.dns_listen or [parse_hostport(DEFAULT_DNS_LISTEN)]
    workers = args.workers or os.cpu_count() or 1
    edge_id = args.edge_id or f"{socket.gethostname()}-{listen[0][1]}"
    try:
        edge = Edge(args.control_plane, key, secret, listen, workers, args.data_dir, edge_id,
                    address=args.address, geo=geo, udp_max=args.edns_udp_size,
                    wait=args.poll_wait, heartbeat=args.heartbeat,
                    tcp_idle_timeout=args.tcp_idle_timeout,
                    tcp_max_connections=args.tcp_max_connections, emit=_say,
                    counters=bool(args.metrics_listen), xdp=_xdp_spec(args),
                    fallback=fallback)
    except ValueError as e:
        _say(f"zonefront: {e}")
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        edge.start()
    except OSError as e:
        _say(f"zonefront: cannot listen: {e}")
        return 1
    if not edge.ready.is_set():
        _say(f"edge {edge_id}: nothing on disk in {args.data_dir}; waiting for "
             f"{args.control_plane}")
    metrics = None
    if args.metrics_listen:
        from .. import observability
        try:
            metrics = observability.start_edge_metrics(args.metrics_listen, edge)
        except OSError as e:
            edge.stop()
            _say(f"zonefront: metrics: {e}")
            return 1
    announced = False
    while not stop.is_set():
        if not announced and edge.ready.wait(0.05):
            announced = True
            addrs = " ".join(format_hostport(h, p) for h, p in edge.server.addresses)
            _say(f"ready: edge {edge_id} dns udp+tcp {addrs} workers={workers} "
                 f"control-plane {args.control_plane}; serial {edge.served[1]} "
                 f"({edge.describe}); loaded in {edge.load_s:.3f}s"
                 + (f"; fallback resolver {format_hostport(*fallback.resolver)}"
                    if fallback is not None else ""))
        stop.wait(0.2 if announced else 0.0)
    if metrics is not None:
        metrics.stop()
    edge.stop()
    _say("stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="zonefront")
    sub = p.add_subparsers(dest="cmd", required=True)
    add_edge_parser(sub)
    args = p.parse_args(["edge", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)
