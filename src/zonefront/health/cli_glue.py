"""The `zonefront checker` subcommand, kept here so cli.py only wires it:

    from .health.cli_glue import add_checker_parser
    add_checker_parser(sub)

`python -m zonefront.health.cli_glue --location NAME ...` runs the same.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys


def cmd_checker(args) -> int:
    from ..config import ConfigError, load_config
    from .remote import RemoteChecker

    try:
        config = load_config(args.config, {"data_dir": args.data_dir})
    except ConfigError as e:
        print(f"zonefront: {e}", file=sys.stderr)
        return 1
    settings = config.health
    if args.threads:
        settings.threads = args.threads
    if args.source:
        return _run_source_checker(args, config)
    if not args.location:
        print("zonefront: give --location NAME or --source ID", file=sys.stderr)
        return 1
    if args.location in settings.locations:
        print(f"zonefront: location {args.location!r} is an in-process location of the "
              "server ([health] locations); a separate checker must use a name listed in "
              "[health] remote_locations", file=sys.stderr)
        return 1
    if args.location not in settings.remote_locations:
        print(f"zonefront: warning: {args.location!r} is not in [health] remote_locations; "
              "the server ignores its reports until it is", file=sys.stderr)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    from ..store.backend import open_store

    checker = RemoteChecker(settings, config.data_dir, args.location, store=open_store(config))
    metrics = None
    if getattr(args, "metrics_listen", None):
        metrics = start_checker_metrics(args.metrics_listen, checker, args.location)
    signal.signal(signal.SIGTERM, lambda *_: checker.stop_event.set())
    signal.signal(signal.SIGINT, lambda *_: checker.stop_event.set())
    print(f"checker ready: location {args.location}, data {config.data_dir}", file=sys.stderr,
          flush=True)
    checker.run()
    if metrics is not None:
        metrics.stop()
    print("checker stopped", file=sys.stderr, flush=True)
    return 0


def start_checker_metrics(addr, checker, location: str):
    """`zonefront checker --metrics-listen`: the probes of this location."""
    from ..dataplane import metrics

    def families():
        fam = metrics.Family("zonefront_checker_probes", "gauge",
                             "Probe pool figures of this checker location")
        try:
            for k, v in sorted(checker.pool.stats().items()):
                if isinstance(v, (int, float)):
                    fam.add(v, location=location, figure=str(k))
        except Exception:  # noqa: BLE001, S110 (a pool without figures yet)
            pass
        return [fam]
    return metrics.start_plain(addr, [families])


def _run_source_checker(args, config) -> int:
    """A health check source's checker: registers with the store (the source
    turns CREATE_COMPLETED) and probes the checks that name the source."""
    import os
    import socket

    from ..store import hcsourcestore
    from ..store.backend import open_store
    from .remote import RemoteChecker

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    store = open_store(config)
    host = f"{socket.gethostname()}:{os.getpid()}"
    if not hcsourcestore.register_checker(store, args.source, host):
        print(f"zonefront: no health check source {args.source!r}", file=sys.stderr)
        store.close()
        return 1
    location = hcsourcestore.location_of(args.source)
    checker = RemoteChecker(config.health, config.data_dir, location, store=store,
                            source=args.source)
    signal.signal(signal.SIGTERM, lambda *_: checker.stop_event.set())
    signal.signal(signal.SIGINT, lambda *_: checker.stop_event.set())
    print(f"checker ready: health check source {args.source}, data {config.data_dir}",
          file=sys.stderr, flush=True)
    checker.run()
    print("checker stopped", file=sys.stderr, flush=True)
    return 0


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--location", metavar="NAME",
                   help="the checker location this process runs (a [health] remote_locations "
                        "name)")
    p.add_argument("--source", metavar="ID",
                   help="run as the checker of this health check source (private endpoint "
                        "checks), inside the source's network")
    p.add_argument("--data-dir", metavar="DIR", help="the control plane's data directory")
    p.add_argument("--config", metavar="FILE")
    p.add_argument("--threads", type=int, default=0, help="probe loop threads")
    from ..obs_cli import add_arguments as add_observability
    add_observability(p, dns=False)
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_checker)


def add_checker_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("checker", help="run one health checker location as its own "
                                              "process")
    _configure(p)
    return p


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="zonefront checker")
    _configure(p)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
