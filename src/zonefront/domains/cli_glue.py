"""`zonefront serve` flags of the registry, kept here so cli.py only calls
two functions: `add_arguments(serve_parser)` and `config_overrides(args)`."""
from __future__ import annotations


def add_arguments(serve_parser) -> None:
    serve_parser.add_argument(
        "--registry-tld", action="append", metavar="TLD", dest="registry_tld",
        help="run the registry for TLD (repeatable; adds to [registry] tlds): "
             "Route 53 Domains registers names below it and its zone is served")


def config_overrides(args) -> dict:
    """What to merge into load_config's overrides (None means: flag not given)."""
    tlds = getattr(args, "registry_tld", None)
    return {"registry_tlds": list(tlds) if tlds else None}
