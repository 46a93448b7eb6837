"""Network parameters as the commands take them: HOST:PORT (and back to
text), the default DNS listen address, the EDNS UDP payload size.

One parser for `serve --dns-listen`, `serve --api-listen` and `edge
--dns-listen`, so the two commands cannot drift apart; `hostport_arg`
adapts it to argparse (whose own message for a ValueError would lose the
reason).  Light on purpose: every `zonefront` command builds its parser
from this module before it knows which subcommand runs.
"""
from __future__ import annotations

import argparse

TYPE_CHECKING = False  # typing itself is not imported on the way to a first answer
if TYPE_CHECKING:
    from typing import Callable

DEFAULT_DNS_LISTEN = "127.0.0.1:5300"
DEFAULT_UDP_MAX = 1232  # DNS Flag Day 2020: no IP fragmentation on common paths
UDP_MAX_RANGE = (512, 4096)  # RFC 1035 4.2.1 floor; RFC 6891 6.2.5 practical ceiling


def parse_hostport(text: str, default_port: int | None = None) -> tuple[str, int]:
    """HOST:PORT, [V6]:PORT or a bare V6 literal with a trailing :PORT.
    Raises ValueError with the reason."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
    else:
        host, sep, port = text.rpartition(":")
        if not sep:
            host, port = text, ""
    if not port:
        if default_port is None:
            raise ValueError(f"{text!r}: expected HOST:PORT")
        return host, default_port
    try:
        p = int(port)
    except ValueError:
        raise ValueError(f"{text!r}: port {port!r} is not a number") from None
    if not 0 <= p <= 65535:
        raise ValueError(f"{text!r}: port out of range")
    return host, p


def format_hostport(host: str, port: int) -> str:
    """The inverse: brackets around an IPv6 literal (RFC 3986 3.2.2)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def hostport_arg(default_port: int | None = None) -> Callable[[str], tuple[str, int]]:
    """parse_hostport as an argparse `type=`, keeping its reason in the error."""

    def convert(text: str) -> tuple[str, int]:
        try:
            return parse_hostport(text, default_port)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    convert.__name__ = "HOST:PORT"
    return convert


def udp_size_arg(text: str) -> int:
    """--edns-udp-size as an argparse `type=` (serve and edge take it)."""
    v = int(text)
    lo, hi = UDP_MAX_RANGE
    if not lo <= v <= hi:
        raise argparse.ArgumentTypeError(f"must be within {lo}..{hi}")
    return v


def recv_exact(sock, n: int, closed: str = "connection closed") -> bytes:
    """Exactly n octets from a stream socket; OSError(`closed`) when the
    peer closes first (DNS over TCP's length-prefixed messages, Frame Streams)."""
    buf = b""
    while len(buf) < n:
        part = sock.recv(n - len(buf))
        if not part:
            raise OSError(closed)
        buf += part
    return buf
