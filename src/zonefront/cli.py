"""The `zonefront` command: compile zones, serve them, manage the API store."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from importlib import resources

from . import __version__
from .dataplane import rrl_glue
from .domains import cli_glue as domains_glue
from .edge import cli_glue as edge_glue
from .xfr import cli_glue as xfr_glue

DEFAULT_DNS_LISTEN = "127.0.0.1:5300"


def parse_hostport(text: str, default_port: int | None = None) -> tuple[str, int]:
    """HOST:PORT, [V6]:PORT or a bare V6 literal with a trailing :PORT."""
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
            raise argparse.ArgumentTypeError(f"{text!r}: expected HOST:PORT")
        return host, default_port
    try:
        p = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: port {port!r} is not a number") from None
    if not 0 <= p <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: port out of range")
    return host, p


def demo_zone_path() -> str:
    return str(resources.files("zonefront").joinpath("data/demo.zone"))


def load_zone_files(paths: list[str]):
    from .zonefile import parse_zone_file

    return [parse_zone_file(p) for p in paths]


def cmd_compile(args) -> int:
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


class ZoneSource:
    """Where the served zones come from: zone files, a snapshot and/or the
    API's store.  `build()` makes a new Engine or raises, leaving the old one
    serving."""

    def __init__(self, zone_files: list[str], snapshot: str | None, udp_max: int = 1232,
                 geo=None):
        self.udp_max = udp_max
        self.zone_files = zone_files
        self.snapshot = snapshot
        self.api_zones: list = []
        self.geo = geo  # geo.GeoDB for latency/geolocation/geoproximity routing
        self.health = None  # health.table.HealthTable, from the control plane
        self.cidr_collections = lambda: {}
        self.vpcs = lambda: {}  # vpc id -> {"region", "cidrs"}: private views
        self.current: list = []  # the zones last compiled (zone transfers read them)
        # Zone files alone are parsed and compiled in a child process: the
        # Python objects of a big zone cost several times the compiled image
        # and CPython keeps the memory; the server then only maps the arrays.
        # In-process when the API publishes zones or transfers need them.
        self.in_process = False
        self.lock = threading.Lock()

    def build(self):
        from .core.engine import Engine

        if self.snapshot and not self.api_zones and not self.zone_files:
            return Engine.from_snapshot(self.snapshot, self.udp_max).attach(self.geo, self.health)
        if self.zone_files and not self.in_process and not self.snapshot:
            return self.compile_in_child().attach(self.geo, self.health)
        from .snapshot.compiler import compile_zones

        # a hosted zone in the API store replaces a file zone of the same name
        api_zones = []
        api_origins = set()
        for z in self.api_zones:
            # a private zone never answers the public; it is a view (below)
            if z.origin not in api_origins and not z.private:
                api_origins.add(z.origin)
                api_zones.append(z)
        files = [z for z in load_zone_files(self.zone_files) if z.origin not in api_origins]
        zones = files + api_zones
        if self.snapshot:
            # a snapshot holds compiled arrays only; it cannot be merged
            raise ValueError("--snapshot cannot be combined with --zone-file or API zones")
        cidr = self.cidr_collections()
        image = compile_zones(zones, self.health, cidr)
        engine = Engine(image.arrays(), image.zones, udp_max=self.udp_max)
        engine.attach(self.geo, self.health)
        views = self.build_views(cidr)
        if views:
            engine.image.set_views(views)
        self.current = zones
        return engine

    def compile_in_child(self):
        """`zonefront compile` in a subprocess, then load its snapshot."""
        import subprocess
        import tempfile

        from .core.engine import Engine

        fd, tmp = tempfile.mkstemp(prefix="zonefront-", suffix=".snap")
        os.close(fd)
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "zonefront.cli", "compile", *self.zone_files, "-o", tmp,
                 "--serial", str(int(time.time()))],
                capture_output=True, text=True)
            if proc.returncode != 0:
                lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
                msg = lines[-1] if lines else f"compiler exited with {proc.returncode}"
                raise ValueError(msg.removeprefix("zonefront: "))
            return Engine.from_snapshot(tmp, self.udp_max)
        finally:
            os.unlink(tmp)

    def build_views(self, cidr: dict) -> list:
        """One compiled view per set of VPCs sharing a network: the private
        zones associated with any of them (issue 7)."""
        from .core.engine import Engine
        from .snapshot.compiler import compile_zones

        private = [z for z in self.api_zones if z.private]
        if not private:
            return []
        by_cidr: dict[str, set] = {}
        for vpc_id, vpc in self.vpcs().items():
            for block in vpc.get("cidrs", []):
                by_cidr.setdefault(block, set()).add(vpc_id)
        groups: dict[frozenset, list[str]] = {}
        for block, ids in by_cidr.items():
            groups.setdefault(frozenset(ids), []).append(block)
        views = []
        for ids, blocks in sorted(groups.items(), key=lambda kv: sorted(kv[1])):
            zones, seen = [], set()
            for z in private:
                if z.origin not in seen and any(vpc in ids for _region, vpc in z.vpcs):
                    seen.add(z.origin)
                    zones.append(z)
            if zones:
                image = compile_zones(zones, self.health, cidr)
                view = Engine(image.arrays(), image.zones, udp_max=self.udp_max)
                view.attach(self.geo, self.health)
                views.append((view.image, blocks))
        return views


def describe(engine) -> str:
    zones = ", ".join(
        f"{_origin_text(z['origin'])} (serial {z['serial']})" for z in engine.zones[:5]
    )
    more = f" and {len(engine.zones) - 5} more" if len(engine.zones) > 5 else ""
    return f"{len(engine.zones)} zone(s): {zones}{more}"


def _origin_text(origin) -> str:
    from .model import name_to_text

    return name_to_text(origin) if isinstance(origin, bytes) else str(origin)


def cmd_serve(args) -> int:
    from .dataplane.server import DnsServer
    from .snapshot.format import SnapshotError
    zone_files = list(args.zone_file or [])
    if not zone_files and not args.snapshot and not args.no_demo:
        zone_files = [demo_zone_path()]
    geo = None
    if args.geoip:
        from .geo import GeoDB

        try:
            geo = GeoDB.from_mmdb(args.geoip)
        except Exception as e:  # maxminddb raises several types for a bad file
            print(f"zonefront: {args.geoip}: cannot read GeoIP data: {e}", file=sys.stderr)
            return 1
    source = ZoneSource(zone_files, args.snapshot, args.edns_udp_size, geo)
    source.in_process = bool(args.api or args.allow_transfer or args.tsig_key or args.notify)
    t0 = time.monotonic()
    try:
        engine = source.build()
    except (SnapshotError, OSError, ValueError) as e:  # ZoneFileError is a ValueError
        print(f"zonefront: {e}", file=sys.stderr)
        return 1
    load_s = time.monotonic() - t0
    listen = args.dns_listen or [parse_hostport(DEFAULT_DNS_LISTEN)]
    workers = args.workers or os.cpu_count() or 1
    server_kwargs: dict = rrl_glue.server_kwargs(args)
    try:
        xfr = xfr_glue.start(args, server_kwargs, lambda: source.current)
    except ValueError as e:
        print(f"zonefront: {e}", file=sys.stderr)
        return 1
    server = DnsServer(listen, workers=workers, image=engine.image,
                       tcp_idle_timeout=args.tcp_idle_timeout,
                       tcp_max_connections=args.tcp_max_connections, **server_kwargs)
    try:
        server.start()
    except OSError as e:
        if xfr is not None:
            xfr.stop()
        print(f"zonefront: cannot listen: {e}", file=sys.stderr)
        return 1
    state = {"engine": engine}
    reload_lock = threading.Lock()

    def publish(zones=None) -> None:
        """Compile and swap in; raises (old zones keep serving) on failure."""
        with reload_lock:
            if zones is not None:
                source.api_zones = list(zones)
            new = source.build()
            server.reload(new.image)
            state["engine"] = new
            if xfr is not None:
                xfr.update()  # history for IXFR, NOTIFY to secondaries

    control = None
    if args.api:
        try:
            control = start_control_plane(args, publish, source)
        except Exception as e:  # configuration errors, port in use
            server.stop()
            print(f"zonefront: API: {e}", file=sys.stderr)
            return 1

    stop = threading.Event()
    hup = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGHUP, lambda *_: hup.set())

    addrs = " ".join(f"{_hp(h, p)}" for h, p in server.addresses)
    api = f" api http://{_hp(*control.api_address)}" if control else ""
    print(
        f"ready: dns udp+tcp {addrs} workers={workers}{api}; {describe(engine)}; "
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
                publish()
                print(f"reloaded: {describe(state['engine'])} in {time.monotonic() - t0:.3f}s",
                      file=sys.stderr, flush=True)
            except (SnapshotError, OSError, ValueError) as e:  # ZoneFileError is a ValueError
                print(f"reload failed, still serving the previous zones: {e}",
                      file=sys.stderr, flush=True)
    if control is not None:
        control.stop()
    if xfr is not None:
        xfr.stop()
    server.stop()
    print("stopped", file=sys.stderr, flush=True)
    return 0


def _hp(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def start_control_plane(args, publish, source=None):
    from .api.control import ControlPlane
    from .config import load_config

    overrides = {}
    if args.api_listen:
        overrides["api_listen"] = args.api_listen
    if args.data_dir:
        overrides["data_dir"] = args.data_dir
    if args.no_auth:
        overrides["auth"] = False
    if args.nameserver:
        overrides["nameservers"] = args.nameserver
    overrides.update(domains_glue.config_overrides(args))
    config = load_config(args.config, overrides)
    if config.auth and not config.credentials:
        key_id, secret, path = local_credentials(config.data_dir)
        config.credentials[key_id] = secret
        print(f"api: no credentials configured; using access key {key_id} "
              f"(secret in {path})", file=sys.stderr, flush=True)
    control = ControlPlane(config, publish)
    if source is not None:
        # routing reads the checkers' health table and the CIDR collections
        source.health = getattr(control, "health", None)
        if hasattr(control, "cidr_collections"):
            source.cidr_collections = control.cidr_collections
        if hasattr(control, "vpcs"):
            source.vpcs = control.vpcs
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

    try:
        config = load_config(args.config, {"data_dir": args.data_dir})
        data_dir = config.data_dir
        if args.zone_cmd == "import":
            print(zoneio.import_zone(data_dir, args.zone, args.file, config), file=sys.stderr)
        else:
            sys.stdout.write(zoneio.export_zone(data_dir, args.zone, config))
    except Exception as e:  # zoneio raises with line and reason
        print(f"zonefront: {e}", file=sys.stderr)
        return 1
    return 0


def _udp_size(text: str) -> int:
    v = int(text)
    if not 512 <= v <= 4096:
        raise argparse.ArgumentTypeError("must be within 512..4096")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="zonefront", description=__doc__)
    p.add_argument("--version", action="version", version=f"zonefront {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)

    c = sub.add_parser("compile", help="compile zone files into a snapshot")
    c.add_argument("zone_files", nargs="+", metavar="ZONEFILE")
    c.add_argument("-o", "--output", required=True, metavar="OUT.snap")
    c.add_argument("--serial", type=int, default=None, help="snapshot serial (default: now)")
    c.set_defaults(func=cmd_compile)

    s = sub.add_parser("serve", help="serve DNS (and the Route 53 API)")
    s.add_argument("--zone-file", action="append", metavar="FILE")
    s.add_argument("--snapshot", metavar="FILE")
    s.add_argument("--dns-listen", action="append", type=parse_hostport, metavar="HOST:PORT",
                   help=f"repeatable; default {DEFAULT_DNS_LISTEN}")
    s.add_argument("--workers", type=int, default=0, help="UDP worker threads (default: cores)")
    s.add_argument("--geoip", metavar="FILE.mmdb",
                   help="MaxMind GeoIP2/GeoLite2 City or Country database for routing")
    s.add_argument("--edns-udp-size", type=_udp_size, default=1232, metavar="OCTETS",
                   help="largest UDP response, advertised in EDNS (512..4096, default 1232)")
    s.add_argument("--tcp-idle-timeout", type=float, default=10.0)
    s.add_argument("--tcp-max-connections", type=int, default=1000)
    s.add_argument("--api", dest="api", action="store_true", default=None,
                   help="run the Route 53 API (default when no zone file/snapshot is given)")
    s.add_argument("--no-api", dest="api", action="store_false")
    s.add_argument("--no-demo", action="store_true",
                   help="do not serve the built-in demo zone when no zone file is given")
    s.add_argument("--api-listen", type=lambda t: parse_hostport(t, 8053), metavar="HOST:PORT")
    s.add_argument("--data-dir", metavar="DIR")
    s.add_argument("--config", metavar="FILE")
    s.add_argument("--no-auth", action="store_true", help="accept unsigned API requests")
    s.add_argument("--nameserver", action="append", metavar="NAME",
                   help="name server handed out in delegation sets (repeatable)")
    domains_glue.add_arguments(s)
    xfr_glue.add_arguments(s)
    rrl_glue.add_arguments(s)
    s.set_defaults(func=cmd_serve)

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

    from .health.cli_glue import add_checker_parser

    add_checker_parser(sub)  # `zonefront checker --location NAME`: a remote checker location
    edge_glue.add_edge_parser(sub)  # `zonefront edge --control-plane URL`: data plane only
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.cmd == "serve" and args.api is None:
        args.api = not (args.zone_file or args.snapshot) and _api_available()
    return args.func(args)


def _api_available() -> bool:
    try:
        from .api import control  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
