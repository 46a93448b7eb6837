"""The `zonefront serve` options for Response Rate Limiting, and DnsServer's rrl= from them."""
from __future__ import annotations

import argparse


def add_arguments(serve_parser: argparse.ArgumentParser) -> None:
    """--rrl-* options; rate limiting stays off unless --rrl-rate is given."""
    g = serve_parser.add_argument_group(
        "response rate limiting (UDP only; off unless --rrl-rate is given)")
    g.add_argument("--rrl-rate", type=int, default=None, metavar="N",
                   help="responses per second per client prefix, response class and name")
    g.add_argument("--rrl-slip", type=int, default=None, metavar="N",
                   help="send every Nth limited response as TC=1 so clients retry over "
                        "TCP; 0 drops them all (default 2)")
    g.add_argument("--rrl-window", type=int, default=None, metavar="S",
                   help="burst allowance in seconds of rate (default 1)")
    g.add_argument("--rrl-ipv4-prefix", type=int, default=None, metavar="BITS",
                   help="IPv4 client prefix length (default 24)")
    g.add_argument("--rrl-ipv6-prefix", type=int, default=None, metavar="BITS",
                   help="IPv6 client prefix length (default 56)")


def server_kwargs(args: argparse.Namespace) -> dict:
    """{"rrl": {...}} for DnsServer when --rrl-rate is set, else {}."""
    rate = getattr(args, "rrl_rate", None)
    if not rate:
        return {}
    rrl = {"responses_per_second": rate}
    for opt, key in (("rrl_slip", "slip"), ("rrl_window", "window"),
                     ("rrl_ipv4_prefix", "ipv4_prefix"), ("rrl_ipv6_prefix", "ipv6_prefix")):
        value = getattr(args, opt, None)
        if value is not None:
            rrl[key] = value
    if rrl.get("slip", 0) < 0 or rrl.get("window", 1) < 1:
        raise SystemExit("--rrl-slip must be >= 0 and --rrl-window >= 1")
    if not 0 <= rrl.get("ipv4_prefix", 24) <= 32 or not 0 <= rrl.get("ipv6_prefix", 56) <= 128:
        raise SystemExit("--rrl-ipv4-prefix must be 0..32 and --rrl-ipv6-prefix 0..128")
    return {"rrl": rrl}
