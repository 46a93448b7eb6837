"""The `zonefront` command: compile zones, serve them, manage the API store."""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time

from . import __version__, obs_cli
from .errors import InputError
from .netaddr import (DEFAULT_DNS_LISTEN, DEFAULT_UDP_MAX, format_hostport, hostport_arg,
                      parse_hostport, udp_size_arg)

# Each command imports what it runs: `zonefront compile` (run once per
# start by `serve --zone-file`) needs neither the engine nor the sockets,
# and the glue modules of the other commands (edge: socket; checker:
# logging, signal) are imported only when their command is parsed.

def cmd_compile(args) -> int:
    from .serving import load_zone_files
    from .snapshot import format as snapshot_format
    from .snapshot.fastcompile import Stats, compile_zone_files

    stats = Stats()
    try:
        image = compile_zone_files(args.zone_files, stats)
    except (ValueError, OSError) as e:  # ZoneFileError is a ValueError
        print(f"zonefront: {e}", file=sys.stderr)
        return 1
    snapshot_format.write(args.output, image, args.serial)
    records = sum(z["records"] for z in image.zones)
    print(
        f"compiled {len(image.zones)} zone(s), {records} records, {image.node_count} names "
        f"into {args.output} ({os.path.getsize(args.output)} octets; "
        f"parse {stats.parse_s:.2f}s, compile {stats.compile_s:.2f}s)",
        file=sys.stderr,
    )
    return 0


def cmd_serve(args) -> int:
    from .dataplane import rrl_glue, xdp_glue
    from .dataplane.server import DnsServer
    from .serving import ServedZones, ZoneSource, demo_zone_path, describe
    from .snapshot.format import SnapshotError
    zone_files = list(args.zone_file or [])
    if not zone_files and not args.snapshot and not args.no_demo:
        zone_files = [demo_zone_path()]
    # Zone files (and `zonefront compile` snapshots of them) hold no location
    # routing: only hosted zones do.  Without --api the packaged database
    # would cost ~65 MB and its load before the first answer for nothing.
    geoip = args.geoip if (args.geoip is not None or args.api) else "none"
    try:  # no --geoip: the packaged GeoLite2 database (geodefault.py)
        geo, geo_note = None, None
        if geoip is None:  # hosted zones: loaded on the first location routing
            from .geodefault import LazyGeo

            geo = LazyGeo(lambda note: print(note, file=sys.stderr, flush=True))
        elif geoip.lower() != "none":  # not even imported (9 ms) without it
            from .geodefault import geo_from_arg

            geo, geo_note = geo_from_arg(geoip)
    except Exception as e:  # maxminddb raises several types for a bad file
        print(f"zonefront: {args.geoip}: cannot read GeoIP data: {e}", file=sys.stderr)
        return 1
    if geo_note:
        print(geo_note, file=sys.stderr, flush=True)
    source = ZoneSource(zone_files, args.snapshot, args.edns_udp_size, geo)
    source.in_process = bool(args.api or args.allow_transfer or args.tsig_key or args.notify)
    served = ServedZones(source)
    t0 = time.monotonic()
    # with the API, the image served before the last stop answers at once
    # (not REFUSED) while the hosted zones compile again
    last = None
    try:
        last = os.path.join(api_data_dir(args), SERVED_SNAPSHOT) if args.api else None
        engine = served.resume(last) if last else None
        if engine is None:
            engine = served.load().engine
    except (SnapshotError, OSError, ValueError) as e:  # ZoneFileError is a ValueError
        print(f"zonefront: {e}", file=sys.stderr)
        return 1
    load_s = time.monotonic() - t0
    listen = args.dns_listen or [parse_hostport(DEFAULT_DNS_LISTEN)]
    workers = args.workers or os.cpu_count() or 1
    server_kwargs: dict = rrl_glue.server_kwargs(args)
    server_kwargs.update(xdp_glue.server_kwargs(args))
    from .xfr import cli_glue as xfr_glue

    try:
        xfr = xfr_glue.start(args, server_kwargs, lambda: served.current)
    except ValueError as e:
        print(f"zonefront: {e}", file=sys.stderr)
        return 1
    if args.api:  # private zones' recursive fallback: [alias] fallback_resolver
        from .config import load_config
        from .dataplane import forwarder

        try:
            server_kwargs.update(forwarder.server_kwargs(load_config(args.config, {})))
        except (ValueError, OSError) as e:
            print(f"zonefront: {e}", file=sys.stderr)
            return 1
    server = DnsServer(listen, workers=workers, image=engine.image,
                       tcp_idle_timeout=args.tcp_idle_timeout,
                       tcp_max_connections=args.tcp_max_connections,
                       counters=obs_cli.counting_wanted(args), **server_kwargs)
    try:
        server.start()
    except OSError as e:
        if xfr is not None:
            xfr.stop()
        print(f"zonefront: cannot listen: {e}", file=sys.stderr)
        return 1
    served.attach(server)
    if xfr is not None:
        served.on_swap(xfr.update)  # history for IXFR, NOTIFY to secondaries

    control = None
    saver = None
    if args.api:
        try:
            saver = served.persist(last)
            control = start_control_plane(args, served)
        except Exception as e:  # configuration errors, port in use
            server.stop()
            print(f"zonefront: API: {e}", file=sys.stderr)
            return 1

    obs = None
    try:  # nothing counted and no API: nothing to observe, and 6 MB of RSS not imported
        if server.counting or control is not None:
            from . import observability

            obs = observability.start_serve(args, server, served, control,
                                            api_data_dir(args) if args.api else None)
    except (OSError, ValueError) as e:  # ValueError: a bad [metrics] per_record
        if control is not None:
            control.stop()
        server.stop()
        print(f"zonefront: metrics: {e}", file=sys.stderr)
        return 1

    # the workers answer from here on; signal (and its enum classes, ~1 ms)
    # is not on the way to the first answer
    import faulthandler
    import signal

    # `kill -USR2` prints every thread's stack to stderr and serving goes
    # on: where a stop or a change hangs (tests/helpers/procs.py stop()
    # asks for it before it kills a server that does not stop)
    faulthandler.register(signal.SIGUSR2, all_threads=True)

    stop = threading.Event()
    hup = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGHUP, lambda *_: hup.set())

    addrs = " ".join(format_hostport(h, p) for h, p in server.addresses)
    api = f" api http://{format_hostport(*control.api_address)}" if control else ""
    xdp_note = f" xdp {server.xdp.iface}/{server.xdp.mode}" if server.xdp_active else ""
    print(
        f"ready: dns udp+tcp {addrs} workers={workers}{api}{xdp_note}; {describe(engine)}; "
        f"loaded in {load_s:.3f}s, image {engine.memory() / 1e6:.1f} MB",
        file=sys.stderr,
        flush=True,
    )
    while not stop.is_set():
        stop.wait(0.2)
        if hup.is_set():
            hup.clear()
            t0 = time.monotonic()
            try:
                engine = served.reload().engine
                print(f"reloaded: {describe(engine)} in {time.monotonic() - t0:.3f}s",
                      file=sys.stderr, flush=True)
            except (SnapshotError, OSError, ValueError) as e:  # ZoneFileError is a ValueError
                print(f"reload failed, still serving the previous zones: {e}",
                      file=sys.stderr, flush=True)
    if obs is not None:
        obs.stop()
    if control is not None:
        control.stop()
    if saver is not None:
        saver.stop()  # the next start answers from what was served last
    if xfr is not None:
        xfr.stop()
    server.stop()
    print("stopped", file=sys.stderr, flush=True)
    return 0


SERVED_SNAPSHOT = "served.snap"  # in the data directory: the image served last


def api_data_dir(args) -> str:
    """The data directory the control plane will use (flag, then config)."""
    from .config import load_config

    overrides = {"data_dir": args.data_dir} if args.data_dir else {}
    return load_config(args.config, overrides).data_dir


def start_control_plane(args, served):
    """The control plane publishing into `served` (serving.ServedZones)."""
    from .config import load_config
    from .control import ControlPlane
    from .domains import cli_glue as domains_glue

    overrides = {}
    if args.api_listen:
        overrides["api_listen"] = args.api_listen
    if args.data_dir:
        overrides["data_dir"] = args.data_dir
    if args.no_auth:
        overrides["auth"] = False
    if args.nameserver:
        overrides["nameservers"] = args.nameserver
    if args.no_console:
        overrides["console"] = False
    # the console charts the Prometheus metrics through its own signed proxy
    overrides["console_metrics"] = getattr(args, "metrics_listen", None)
    overrides.update(domains_glue.config_overrides(args))
    config = load_config(args.config, overrides)
    if config.auth and not config.credentials:
        key_id, secret, path = local_credentials(config.data_dir)
        config.credentials[key_id] = secret
        print(f"api: no credentials configured; using access key {key_id} "
              f"(secret in {path})", file=sys.stderr, flush=True)
    control = ControlPlane(config, served)
    # routing reads the checkers' health table, the CIDR collections and the VPCs
    served.source.health = control.health
    served.source.cidr_collections = control.cidr_collections
    served.source.vpcs = control.vpcs
    served.source.public_fallback = control.public_fallback  # private zones' public DNS fallback
    control.start()
    return control


def local_credentials(data_dir: str) -> tuple[str, str, str]:
    """The data directory's own API key pair, made on first use (mode 0600),
    so `zonefront serve` is signed-only from its first start without any
    configuration: the operator reads the secret from the file."""
    import secrets

    os.makedirs(data_dir, exist_ok=True)
    path = os.path.join(data_dir, "api-credentials")
    try:
        with open(path) as f:
            key_id, secret = f.read().split()[:2]
            return key_id, secret, path
    except FileNotFoundError:
        pass
    key_id = "AKZF" + secrets.token_hex(8).upper()
    secret = secrets.token_urlsafe(30)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"{key_id} {secret}\n")
    return key_id, secret, path


def cmd_zone(args) -> int:
    from .api import zoneio
    from .config import load_config
    from .errors import ZonefrontError

    try:
        config = load_config(args.config, {"data_dir": args.data_dir})
        data_dir = config.data_dir
        if args.zone_cmd == "import":
            print(zoneio.import_zone(data_dir, args.zone, args.file, config), file=sys.stderr)
        else:
            sys.stdout.write(zoneio.export_zone(data_dir, args.zone, config))
    except (ZonefrontError, OSError) as e:  # zoneio raises with line and reason
        print(f"zonefront: {e}", file=sys.stderr)
        return 1
    return 0


def cmd_key(args) -> int:
    """Managed API keys in the data directory (api/keys.py); the running API
    sees a change at its next request.  The secret is printed once."""
    import json

    from .api.keys import KeyError_, ManagedKeys
    from .config import load_config

    try:
        config = load_config(args.config, {"data_dir": args.data_dir})
        keys = ManagedKeys(config.data_dir)
        if args.key_cmd == "create":
            policy = None
            if args.policy:
                with open(args.policy) as f:
                    policy = json.load(f)
            key_id, secret = keys.create(args.name or "", policy)
            print(f"AccessKeyId      {key_id}\nSecretAccessKey  {secret}\n"
                  "(the secret is shown only now; it is stored encrypted)")
        elif args.key_cmd == "list":
            for k in keys.listing():
                scope = "full access" if k["Policy"] is None else "policy: " + json.dumps(
                    k["Policy"], separators=(",", ":"))
                print(f"{k['AccessKeyId']}  {k['UserName']}  {scope}")
        else:
            keys.delete(args.key_id)
    except (KeyError_, OSError, ValueError) as e:
        print(f"zonefront: {e}", file=sys.stderr)
        return 1
    return 0


def _add_compile(sub) -> None:
    c = sub.add_parser("compile", help="compile zone files into a snapshot")
    c.add_argument("zone_files", nargs="+", metavar="ZONEFILE")
    c.add_argument("-o", "--output", required=True, metavar="OUT.snap")
    c.add_argument("--serial", type=int, default=None, help="snapshot serial (default: now)")
    c.set_defaults(func=cmd_compile)


def _add_serve(sub) -> None:
    from .dataplane import rrl_glue, xdp_glue
    from .domains import cli_glue as domains_glue
    from .xfr import cli_glue as xfr_glue

    s = sub.add_parser("serve", help="serve DNS (and the Route 53 API)")
    s.add_argument("--zone-file", action="append", metavar="FILE")
    s.add_argument("--snapshot", metavar="FILE")
    s.add_argument("--dns-listen", action="append", type=hostport_arg(), metavar="HOST:PORT",
                   help=f"repeatable; default {DEFAULT_DNS_LISTEN}")
    s.add_argument("--workers", type=int, default=0, help="UDP worker threads (default: cores)")
    s.add_argument("--geoip", metavar="FILE.mmdb",
                   help="MaxMind GeoIP2/GeoLite2 City or Country database for routing "
                        "(default with the API: the GeoLite2-City of the maxminddb-geolite2 "
                        "package; without it none, since zone files hold no location routing; "
                        "'none': no GeoIP data)")
    s.add_argument("--edns-udp-size", type=udp_size_arg, default=DEFAULT_UDP_MAX, metavar="OCTETS",
                   help="largest UDP response, advertised in EDNS (512..4096, default 1232)")
    s.add_argument("--tcp-idle-timeout", type=float, default=10.0)
    s.add_argument("--tcp-max-connections", type=int, default=1000)
    s.add_argument("--api", dest="api", action="store_true", default=None,
                   help="run the Route 53 API (default when no zone file/snapshot is given)")
    s.add_argument("--no-api", dest="api", action="store_false")
    s.add_argument("--no-demo", action="store_true",
                   help="do not serve the built-in demo zone when no zone file is given")
    s.add_argument("--api-listen", type=hostport_arg(8053), metavar="HOST:PORT")
    s.add_argument("--data-dir", metavar="DIR")
    s.add_argument("--config", metavar="FILE")
    s.add_argument("--no-auth", action="store_true", help="accept unsigned API requests")
    s.add_argument("--no-console", action="store_true",
                   help="do not serve the web console under /console/ on the API port")
    s.add_argument("--nameserver", action="append", metavar="NAME",
                   help="name server handed out in delegation sets (repeatable)")
    domains_glue.add_arguments(s)
    xfr_glue.add_arguments(s)
    rrl_glue.add_arguments(s)
    xdp_glue.add_arguments(s)
    obs_cli.add_arguments(s)
    s.set_defaults(func=cmd_serve)


def _add_zone(sub) -> None:
    z = sub.add_parser("zone", help="import/export hosted zones in the API store")
    z.add_argument("--data-dir", metavar="DIR")
    z.add_argument("--config", metavar="FILE")
    zsub = z.add_subparsers(dest="zone_cmd", required=True)
    zi = zsub.add_parser("import")
    zi.add_argument("zone")
    zi.add_argument("file")
    ze = zsub.add_parser("export")
    ze.add_argument("zone")
    z.set_defaults(func=cmd_zone)


def _add_key(sub) -> None:
    k = sub.add_parser("key", help="API access keys with IAM policies (create/list/delete)")
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--data-dir", metavar="DIR")
    where.add_argument("--config", metavar="FILE")
    ksub = k.add_subparsers(dest="key_cmd", required=True)
    kc = ksub.add_parser("create", parents=[where])
    kc.add_argument("--name", metavar="NAME", help="shown in AccessDenied messages")
    kc.add_argument("--policy", metavar="FILE.json", help="IAM policy (default: full access)")
    ksub.add_parser("list", parents=[where])
    kd = ksub.add_parser("delete", parents=[where])
    kd.add_argument("key_id", metavar="ACCESS_KEY_ID")
    k.set_defaults(func=cmd_key)


def _add_checker(sub) -> None:
    from .health.cli_glue import add_checker_parser

    add_checker_parser(sub)  # `zonefront checker --location NAME`: a remote checker location


def _add_edge(sub) -> None:
    from .edge import cli_glue as edge_glue

    edge_glue.add_edge_parser(sub)  # `zonefront edge --control-plane URL`: data plane only


# every command, in the order `zonefront --help` lists them
COMMANDS = {"compile": _add_compile, "serve": _add_serve, "zone": _add_zone, "key": _add_key,
            "checker": _add_checker, "edge": _add_edge}


class _OneCommandParser(argparse.ArgumentParser):
    """The parser of one command only (main() builds it for the command
    named): any error goes back to main(), which parses again with every
    command, so the message and usage are the full parser's."""

    def error(self, message: str):
        raise _ParseAgain(message)


class _ParseAgain(InputError):
    """Never leaves main(): the one-command parse failed, the full one follows."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The `zonefront` parser; with `command`, holding that command's
    subparser alone.  Building every command's subparser costs ~2 ms and
    the imports of their glue modules (socket, logging, signal) on every
    start, and a `serve --zone-file` start is what issue 13 times."""
    cls = argparse.ArgumentParser if command is None else _OneCommandParser
    p = cls(prog="zonefront", description=__doc__)
    p.add_argument("--version", action="version", version=f"zonefront {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name, add in COMMANDS.items():
        if command is None or name == command:
            add(sub)
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """`argv` parsed by the parser of the command it names (the first word
    that is not an option: the top level's options take no value), or by
    the full parser (help, an unknown command, any error)."""
    words = sys.argv[1:] if argv is None else list(argv)
    command = next((w for w in words if not w.startswith("-")), None)
    if command in COMMANDS:
        try:
            return build_parser(command).parse_args(words)
        except _ParseAgain:
            pass
    return build_parser().parse_args(words)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.cmd == "serve" and args.api is None:
        args.api = not (args.zone_file or args.snapshot) and _api_available()
    return args.func(args)


def _api_available() -> bool:
    try:
        from . import control  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
