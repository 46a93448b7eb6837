"""`zonefront serve` options for zone transfers out, and the XfrService they configure."""
from __future__ import annotations

import argparse
import sys

from ..lazylog import get_logger

TYPE_CHECKING = False  # typing itself is not imported on the way to a first answer
if TYPE_CHECKING:  # the transfer machinery loads only when an option asks for it
    from typing import Callable

    from .. import model
    from .service import XfrService

log = get_logger("zonefront.xfr")  # logging is imported at its first message


def _cidr(text: str):
    from .service import _network

    try:
        return _network(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{text!r}: {e}") from None


def _key(text: str):
    from . import tsig

    try:
        return tsig.Key.from_text(text)
    except tsig.TsigError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _hostport(text: str) -> tuple[str, int]:
    host, sep, port = text.strip().rpartition(":")
    if text.startswith("[") and "]" in text:
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":") or "53"
    elif not sep or ":" in host:  # bare host, or a bare IPv6 literal
        host, port = text, "53"
    try:
        p = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: port {port!r} is not a number") from None
    if not 0 < p <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: port out of range")
    return host, p


def add_arguments(serve_parser: argparse.ArgumentParser) -> None:
    g = serve_parser.add_argument_group(
        "zone transfers", "AXFR/IXFR out over TCP to secondaries (NSD, Knot, BIND), NOTIFY "
        "on every change, TSIG (RFC 8945)")
    g.add_argument("--allow-transfer", action="append", type=_cidr, default=[],
                   metavar="CIDR", help="addresses that may AXFR/IXFR (repeatable; "
                   "default: none, every transfer is REFUSED)")
    g.add_argument("--tsig-key", action="append", type=_key, default=[],
                   metavar="NAME:ALG:BASE64SECRET",
                   help="a TSIG key (repeatable; ALG hmac-sha256, hmac-sha512, hmac-sha1...); "
                   "with any key given, transfers must also be signed with one")
    g.add_argument("--notify", action="append", type=_hostport, default=[],
                   metavar="HOST:PORT", help="secondary sent a NOTIFY when a zone changes "
                   "(repeatable; port 53 when left out)")
    g.add_argument("--notify-key", metavar="KEYNAME", default=None,
                   help="the --tsig-key NOTIFY is signed with (default: the only key, if one)")
    g.add_argument("--transfer-without-tsig", action="store_true",
                   help="with keys configured, still let an allowed address transfer unsigned")


def start(args, server_kwargs: dict,
          zones_provider: Callable[[], list[model.Zone]]) -> "XfrService | None":
    """The XfrService for these options, started, and put in server_kwargs
    as DnsServer's `xfr=`; None when no transfer option was given (AXFR/IXFR
    then get the engine's REFUSED).  Raises ValueError on a bad combination."""
    allow = list(getattr(args, "allow_transfer", None) or [])
    keys = list(getattr(args, "tsig_key", None) or [])
    targets = list(getattr(args, "notify", None) or [])
    if not (allow or keys or targets):
        return None
    from .. import model
    from . import tsig
    from .service import XfrService

    ring = tsig.keyring(keys)
    notify_key = None
    name = getattr(args, "notify_key", None)
    if name:
        wire = model.name_lower(model.name_from_text(name.rstrip(".") + "."))
        notify_key = ring.get(wire)
        if notify_key is None:
            raise ValueError(f"--notify-key {name}: no --tsig-key of that name")
    elif len(ring) == 1:
        notify_key = next(iter(ring.values()))
    service = XfrService(allow, keys, zones_provider,
                         notify=targets, notify_key=notify_key,
                         require_tsig=None if not getattr(args, "transfer_without_tsig", False)
                         else False)
    service.start()
    server_kwargs["xfr"] = service
    print("transfers: allow %s; %s; notify %s" % (
        ", ".join(map(str, allow)) or "nobody",
        ("TSIG required (" + ", ".join(k.name_text for k in keys) + ")")
        if service.require_tsig else "TSIG optional",
        ", ".join(f"{h}:{p}" for h, p in targets) or "nobody"), file=sys.stderr, flush=True)
    return service
