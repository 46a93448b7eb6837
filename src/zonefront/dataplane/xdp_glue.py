"""The `--xdp IFACE[:QUEUES]` option of `zonefront serve` and `edge`, and DnsServer's xdp= from it."""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--xdp", metavar="IFACE[:QUEUES]", default=None,
        help="also answer UDP arriving on IFACE through AF_XDP sockets (one worker per rx "
             "queue; QUEUES: a count, A-B or A,B); bypasses the firewall and packet capture "
             "for those queries; falls back to the kernel path if XDP cannot attach")


def server_kwargs(args: argparse.Namespace) -> dict:
    """{"xdp": spec} when --xdp is given (checked here: a bad spec stops the start)."""
    spec = getattr(args, "xdp", None)
    if not spec:
        return {}
    from .xdp import parse_spec
    try:
        parse_spec(spec)
    except ValueError as e:
        raise SystemExit(f"zonefront: {e}") from None
    return {"xdp": spec}
