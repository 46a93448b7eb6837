"""Operator configuration: a TOML file plus command-line overrides, validated
into one plain dataclass that the rest of the control plane reads.

Example file (every key optional)::

    [api]
    listen = "127.0.0.1:8053"
    auth = true
    access_key_id = "AKIAEXAMPLE"          # one key, or a table of them:
    secret_access_key = "..."
    readonly_keys = ["AKIAREADONLY"]       # may read, gets AccessDenied on writes
    tls_cert = "/etc/zonefront/api.crt"
    tls_key = "/etc/zonefront/api.key"
    max_body = 2097152

    [api.credentials]
    AKIAOTHER = "other-secret"
    AKIACERTBOT = "certbot-secret"

    [api.policies]                         # IAM identity policies (JSON text or TOML tables);
    AKIACERTBOT = '''{"Version": "2012-10-17", "Statement": [...]}'''   # a key without
                                           # one has full access (readonly_keys: reads only)

    [store]
    data_dir = "/var/lib/zonefront"
    backend = "sqlite"                     # or "postgresql": several API processes, one database
    dsn = "postgresql://zonefront@db.example.net/zonefront"   # libpq URI; backend = "postgresql"

    [zones]
    nameservers = ["ns1.example.net.", "ns2.example.net."]
    soa_rname = "hostmaster.example.net."   # default: hostmaster.<zone>
    max_rrsets_per_zone = 10000
    max_hosted_zones = 500

    [vpcs.vpc-0a1b2c3d]                     # private hosted zones answer sources in these
    region = "us-east-1"                    # one of Route 53's VPCRegion values
    cidrs = ["10.0.0.0/16", "fd00::/48"]    # networks of all VPCs must not overlap
    account = "111122223333"                # owner (cross-account); default api.account_id

    [health]
    locations = ["us-east-1", "us-west-2", "eu-west-1"]  # checker locations run in-process
    remote_locations = []          # run by `zonefront checker --location NAME` processes
    threads = 1                    # event-loop threads probing (checks are sharded)
    max_sockets = 512              # probes in flight at once, per process
    connect_timeout = 4.0          # Route 53: TCP (and TLS) connection within 4 s
    read_timeout = 2.0             # Route 53: status line within 2 s of connecting
    min_interval = 1               # shortest RequestInterval accepted (Route 53: 10)
    checker_ip_ranges = ["192.0.2.0/24"]  # added to GetCheckerIpRanges

    [edges]                        # `zonefront edge` processes pulling from this API
    stale_after = 10.0             # seconds without a heartbeat before an edge is stale
    history = 1000                 # publishes kept for deltas (older edges get a full copy)
    access_key_id = "AKIAEDGE"     # optional key that may call only the edge endpoints
    secret_access_key = "..."

    [registry]                              # zonefront as registry of its own TLDs
    tlds = ["corp", "lab"]                  # also: serve --registry-tld TLD (repeatable)
    nameservers = ["ns1.nic.corp."]         # NS of the TLD zones; default zones.nameservers
    reserved = ["nic", "www.corp"]          # a label (in every TLD) or a full name: RESERVED
    premium = ["shop.corp"]                 # UNAVAILABLE_PREMIUM
    currency = "USD"
    grace_days = 30                         # after expiry the delegation stays this long
    redemption_days = 30                    # then RenewDomain restores it (RESTORE_DOMAIN)
    max_domains = 100                       # per account: DomainLimitExceeded
    max_operations = 20                     # in flight per account: OperationLimitExceeded
    accounts = { AKIAOTHER = "111122223333" }  # access key -> account; default api.account_id

    [registry.prices.default]               # a TLD's own table overrides: [registry.prices.corp]
    registration = 12.0
    renewal = 12.0
    transfer = 12.0
    change_ownership = 0.0
    restoration = 80.0

Unknown keys are an error that names the key (a typo must not silently fall
back to a default).  `ZONEFRONT_ACCESS_KEY_ID` / `ZONEFRONT_SECRET_ACCESS_KEY`
add one more key pair from the environment.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field

from . import netaddr, vpcdef
from .errors import InputError

DEFAULT_NAMESERVERS = [
    "ns1.zonefront.local.",
    "ns2.zonefront.local.",
    "ns3.zonefront.local.",
    "ns4.zonefront.local.",
]


DEFAULT_CHECKER_LOCATIONS = ["us-east-1", "us-west-2", "eu-west-1"]


class ConfigError(InputError, ValueError):
    """A configuration file or flag that cannot be used; the message says which key."""


@dataclass
class HealthSettings:
    """[health]: where and how health checks are probed."""

    locations: list[str] = field(default_factory=lambda: list(DEFAULT_CHECKER_LOCATIONS))
    remote_locations: list[str] = field(default_factory=list)  # separate checker processes
    threads: int = 1  # asyncio loop threads in a process; each probes a shard of the checks
    max_sockets: int = 512  # probes in flight per process (one socket each)
    connect_timeout: float = 4.0  # seconds for TCP connect (+ TLS handshake)
    read_timeout: float = 2.0  # seconds from connected to status line (and body for STR_MATCH)
    min_interval: int = 1  # shortest RequestInterval accepted; Route 53 allows only 10 and 30
    checker_ip_ranges: list[str] = field(default_factory=list)  # CIDRs for GetCheckerIpRanges
    enabled: bool = True  # False: no in-process probing (checks are still stored and served)


@dataclass
class EdgeSettings:
    """[edges]: how the control plane treats `zonefront edge` processes."""

    stale_after: float = 10.0  # seconds without a heartbeat: stale, no longer holds changes
    history: int = 1000  # publishes remembered for deltas; an edge further behind gets a full copy
    credentials: dict[str, str] = field(default_factory=dict)  # keys valid only for edge calls


@dataclass
class Config:
    api_listen: tuple[str, int] = ("127.0.0.1", 8053)  # where the Route 53 API listens
    data_dir: str = "./zonefront-data"  # holds zonefront.db (SQLite, WAL)
    store_backend: str = "sqlite"  # "sqlite" (data_dir) or "postgresql" (store_dsn)
    store_dsn: str | None = None  # libpq connection string for the PostgreSQL store
    auth: bool = True  # False only with --no-auth: requests are not signature-checked
    credentials: dict[str, str] = field(default_factory=dict)  # access key id -> secret
    readonly_keys: list[str] = field(default_factory=list)  # keys refused on writes
    # access key id -> IAM policy document (dict, or its JSON text), checked by aws/iam.py
    policies: dict[str, object] = field(default_factory=dict)
    nameservers: list[str] = field(default_factory=lambda: list(DEFAULT_NAMESERVERS))
    soa_rname: str | None = None  # SOA RNAME for new zones; None: hostmaster.<zone>
    tls_cert: str | None = None  # PEM certificate; with tls_key the API speaks HTTPS
    tls_key: str | None = None
    console: bool = True  # the web console under /console/ on the API port (--no-console)
    console_metrics: tuple[str, int] | None = None  # --metrics-listen, proxied by the console
    max_body: int = 2 * 1024 * 1024  # request bodies above this are refused unread
    max_rrsets_per_zone: int = 10000  # Route 53's default MAX_RRSETS_BY_ZONE
    max_hosted_zones: int = 500  # Route 53's default MAX_HOSTED_ZONES_BY_OWNER
    max_vpcs_per_zone: int = 300  # MAX_VPCS_ASSOCIATED_BY_ZONE
    max_zones_per_delegation_set: int = 100  # MAX_ZONES_BY_REUSABLE_DELEGATION_SET
    max_reusable_delegation_sets: int = 100  # MAX_REUSABLE_DELEGATION_SETS_BY_OWNER
    max_health_checks: int = 200  # MAX_HEALTH_CHECKS_BY_OWNER
    max_vpc_authorizations_per_zone: int = 100  # TooManyVPCAssociationAuthorizations
    # UpdateHostedZoneFeatures LimitsExceeded: private zones with public DNS fallback;
    # each one's view is compiled with the public names it lacks (fallback.py)
    max_public_fallback_zones: int = 100
    change_history_days: int = 90  # ADVANCED zones' change history is kept this long
    account_id: str = "000000000000"  # shown in ARNs of AccessDenied messages
    health: HealthSettings = field(default_factory=HealthSettings)
    registry: "RegistryConfig" = field(default_factory=lambda: RegistryConfig())
    edges: EdgeSettings = field(default_factory=EdgeSettings)
    dnssec: "DNSSECSettings" = field(default_factory=lambda: DNSSECSettings())
    # [vpcs.<id>]: VPCs defined by the operator (read-only through the API)
    vpcs: dict[str, vpcdef.VPCDef] = field(default_factory=dict)
    # [alias] resolver: the recursive resolver that aliases to outside names
    # (CloudFront, ELB, ZONEFRONTRESOLVE...) are followed through: "HOST:PORT",
    # "system" (/etc/resolv.conf's first nameserver) or "none" (outside/)
    alias_resolver: str = "system"
    alias_min_refresh: float = 1.0  # [alias] min_refresh: seconds between questions, at least
    # [alias] fallback_resolver: the recursive resolver that answers, for a private
    # zone with public DNS fallback, the names it lacks when no public zone here
    # covers it: "HOST:PORT", "system" or "none" (the private NXDOMAIN stands)
    alias_fallback_resolver: str = "none"
    alias_fallback_timeout: float = 2.0  # [alias] fallback_timeout: seconds, then SERVFAIL

    def account_of(self, access_key: str | None) -> str:
        """The account an access key acts for: [registry] accounts maps keys
        to accounts; any other key (and no key, with --no-auth) is api.account_id."""
        if access_key is None:
            return self.account_id
        return self.registry.accounts.get(access_key, self.account_id)


@dataclass
class DNSSECSettings:
    """The [dnssec] section (DNSSEC signing): how long signatures last and how the
    zone-signing keys roll (dnssec/zonekeys.py, dnssec/rollover.py)."""

    signature_validity: int = 14 * 86400  # seconds an RRSIG is valid; refreshed at a third
    zsk_lifetime: int = 30 * 86400  # seconds a ZSK signs before the next one takes over
    zsk_prepublish: int = 86400  # seconds a ZSK is published before it signs (and after)
    dnskey_ttl: int = 3600  # TTL of the DNSKEY RRset; zsk_prepublish must cover it
    # seconds until a publish is served everywhere (edges, secondaries): RFC
    # 7583's Dprp, added to the DNSKEY TTL before a new ZSK signs and to the
    # zone's largest TTL before the ZSK it replaced leaves the DNSKEY RRset
    propagation_delay: int = 60
    # how names that do not exist are denied: "compact" (RFC 9824, one signature
    # made per unique qname, Route 53's behaviour) or "nsec3" (RFC 5155 chain with
    # RFC 9276 parameters, signed at compile time; no signing while answering)
    denial: str = "compact"


DENIAL_MODES = ("compact", "nsec3")
MAX_DNSKEY_TTL = 7 * 86400  # Route 53 serves 3600; a week is far past any use


def _dnssec_settings(raw: dict) -> DNSSECSettings:
    out = DNSSECSettings()
    for key in ("signature_validity", "zsk_lifetime", "zsk_prepublish", "dnskey_ttl",
                "propagation_delay"):
        if key in raw:
            setattr(out, key, _typed(raw[key], int, f"dnssec.{key}"))
    if out.signature_validity < 300:
        raise ConfigError("dnssec.signature_validity: at least 300 seconds")
    if out.zsk_prepublish < 1 or out.zsk_lifetime <= 2 * out.zsk_prepublish:
        raise ConfigError("dnssec.zsk_lifetime must exceed twice dnssec.zsk_prepublish (> 0)")
    if not 1 <= out.dnskey_ttl <= MAX_DNSKEY_TTL:
        raise ConfigError(f"dnssec.dnskey_ttl: 1 to {MAX_DNSKEY_TTL} seconds, "
                          f"got {out.dnskey_ttl}")
    if out.propagation_delay < 0:
        raise ConfigError("dnssec.propagation_delay must not be negative")
    if out.zsk_prepublish < out.dnskey_ttl + out.propagation_delay:
        # a resolver holding the DNSKEY RRset fetched just before the new ZSK
        # appeared would meet its signatures without the key (RFC 7583 §3.3.1)
        raise ConfigError(f"dnssec.zsk_prepublish ({out.zsk_prepublish}) must be at least "
                          f"dnssec.dnskey_ttl + dnssec.propagation_delay "
                          f"({out.dnskey_ttl} + {out.propagation_delay})")
    if "denial" in raw:
        out.denial = _typed(raw["denial"], str, "dnssec.denial")
        if out.denial not in DENIAL_MODES:
            raise ConfigError(f"dnssec.denial: expected one of {', '.join(DENIAL_MODES)}, "
                              f"got {out.denial!r}")
    return out


PRICE_KINDS = ("registration", "renewal", "transfer", "change_ownership", "restoration")


@dataclass
class RegistryConfig:
    """The [registry] section: the TLDs zonefront runs as registry (domains/)."""

    tlds: list[str] = field(default_factory=list)  # lower-case A-labels, no trailing dot
    nameservers: list[str] = field(default_factory=list)  # TLD zone NS; [] = zones.nameservers
    reserved: list[str] = field(default_factory=list)  # labels (any TLD) or full names
    premium: list[str] = field(default_factory=list)  # full names offered at a premium
    currency: str = "USD"
    # TLD name (or "default") -> price kind -> price per year
    prices: dict[str, dict[str, float]] = field(default_factory=dict)
    grace_days: float = 30.0  # expired, still delegated (auto-renew grace period)
    redemption_days: float = 30.0  # delegation removed; RenewDomain restores
    max_domains: int = 100  # per account (DomainLimitExceeded)
    max_operations: int = 20  # operations in flight per account (OperationLimitExceeded)
    max_years: int = 10  # registration may not reach further into the future
    max_ds: int = 8  # DS records per domain (DnssecLimitExceeded)
    max_tags: int = 50  # tags per domain
    idn: bool = True  # internationalized labels (xn--) accepted
    delegation_ttl: int = 172800  # TTL of NS/glue in the TLD zones
    ds_ttl: int = 86400
    operation_delay: float = 0.0  # seconds an operation stays SUBMITTED (tests, throttling)
    sweep_interval: float = 60.0  # seconds between expiry sweeps
    accounts: dict[str, str] = field(default_factory=dict)  # access key id -> account id
    registrar_name: str = "zonefront"
    registrar_url: str = "http://127.0.0.1/"
    whois_server: str = "whois.zonefront.local"
    abuse_email: str = "abuse@zonefront.local"
    abuse_phone: str = "+1.5555550100"

    def price(self, tld: str, kind: str) -> float:
        for key in (tld, "default"):
            table = self.prices.get(key)
            if table and kind in table:
                return float(table[kind])
        return 0.0


def parse_hostport(text: str, what: str = "api.listen") -> tuple[str, int]:
    """'HOST:PORT' or '[v6]:PORT' -> (host, port): netaddr's one parser,
    its reason prefixed with the setting it came from."""
    try:
        host, port = netaddr.parse_hostport(text)
    except ValueError as e:
        raise ConfigError(f"{what}: {e}") from None
    if not host:
        raise ConfigError(f"{what}: expected HOST:PORT, got {text!r}")
    return host, port


def _absolute_ns(name: str, what: str) -> str:
    if not isinstance(name, str) or not name.strip(".") or " " in name:
        raise ConfigError(f"{what}: {name!r} is not a domain name")
    return name if name.endswith(".") else name + "."


_SCHEMA = {
    "api": {"listen", "auth", "access_key_id", "secret_access_key", "credentials",
            "readonly_keys", "tls_cert", "tls_key", "max_body", "account_id", "policies",
            "console"},
    "store": {"data_dir", "backend", "dsn"},
    "zones": {"nameservers", "soa_rname", "max_rrsets_per_zone", "max_hosted_zones",
              "max_vpcs_per_zone", "max_zones_per_delegation_set",
              "max_reusable_delegation_sets", "max_health_checks",
              "max_vpc_authorizations_per_zone", "change_history_days",
              "max_public_fallback_zones"},
    "health": {"locations", "remote_locations", "threads", "max_sockets", "connect_timeout",
               "read_timeout", "min_interval", "checker_ip_ranges", "enabled"},
    "registry": {"tlds", "nameservers", "reserved", "premium", "currency", "prices",
                 "grace_days", "redemption_days", "max_domains", "max_operations",
                 "max_years", "max_ds", "max_tags", "idn", "delegation_ttl", "ds_ttl",
                 "operation_delay", "sweep_interval", "accounts", "registrar_name",
                 "registrar_url", "whois_server", "abuse_email", "abuse_phone"},
    "edges": {"stale_after", "history", "access_key_id", "secret_access_key"},
    "alias": {"resolver", "min_refresh", "fallback_resolver", "fallback_timeout"},
    "dnssec": {"signature_validity", "zsk_lifetime", "zsk_prepublish", "dnskey_ttl",
               "propagation_delay", "denial"},
}


def _check_keys(doc: dict, path: str) -> None:
    for section, value in doc.items():
        if section not in _SCHEMA:
            # sections owned by other parts of zonefront (dns, health...) are
            # theirs to validate; only ours are checked strictly
            continue
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: [{section}] must be a table")
        for key in value:
            if key not in _SCHEMA[section]:
                known = ", ".join(sorted(_SCHEMA[section]))
                raise ConfigError(f"{path}: unknown key {section}.{key} (known: {known})")


def _typed(value, kind, what):
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{what}: expected an integer, got {value!r}")
    if kind is bool and not isinstance(value, bool):
        raise ConfigError(f"{what}: expected true or false, got {value!r}")
    if kind is str and not isinstance(value, str):
        raise ConfigError(f"{what}: expected a string, got {value!r}")
    return value


def _names(value, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{what}: expected a list of names")
    if len(set(value)) != len(value):
        raise ConfigError(f"{what}: names must be unique")
    return list(value)


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{what}: expected a positive number of seconds, got {value!r}")
    return float(value)


def _health_settings(sec: dict) -> HealthSettings:
    h = HealthSettings()
    if "locations" in sec:
        h.locations = _names(sec["locations"], "health.locations")
    if "remote_locations" in sec:
        h.remote_locations = _names(sec["remote_locations"], "health.remote_locations")
    clash = set(h.locations) & set(h.remote_locations)
    if clash:
        raise ConfigError(f"health: location {sorted(clash)[0]!r} is both in-process and remote")
    for key in ("threads", "max_sockets", "min_interval"):
        if key in sec:
            v = _typed(sec[key], int, f"health.{key}")
            if v < 1:
                raise ConfigError(f"health.{key}: must be at least 1")
            setattr(h, key, v)
    if h.min_interval > 10:
        raise ConfigError("health.min_interval: must be 10 or less (Route 53 allows 10)")
    for key in ("connect_timeout", "read_timeout"):
        if key in sec:
            setattr(h, key, _number(sec[key], f"health.{key}"))
    if "checker_ip_ranges" in sec:
        import ipaddress

        ranges = sec["checker_ip_ranges"]
        if not isinstance(ranges, list):
            raise ConfigError("health.checker_ip_ranges: expected a list of CIDR blocks")
        for r in ranges:
            try:
                ipaddress.ip_network(_typed(r, str, "health.checker_ip_ranges"), strict=False)
            except ValueError:
                raise ConfigError(f"health.checker_ip_ranges: {r!r} is not a CIDR block") from None
        h.checker_ip_ranges = list(ranges)
    if "enabled" in sec:
        h.enabled = _typed(sec["enabled"], bool, "health.enabled")
    return h


def _policies(sec, where: str) -> dict[str, object]:
    """[api.policies]: key id -> a policy as JSON text or as TOML tables.  Only
    the shape is checked here; aws/iam.py parses the policy language when the
    API starts (and refuses to start on a policy it cannot enforce exactly)."""
    import json

    if not isinstance(sec, dict):
        raise ConfigError(f"{where}: [api.policies] must be a table of key id = policy")
    out: dict[str, object] = {}
    for key_id, doc in sec.items():
        if isinstance(doc, str):
            try:
                doc = json.loads(doc)
            except ValueError as e:
                raise ConfigError(f"{where}: api.policies.{key_id}: not valid JSON: {e}") \
                    from None
        if not isinstance(doc, dict):
            raise ConfigError(f"{where}: api.policies.{key_id}: a policy is a JSON object "
                              "(or a TOML table) with Version and Statement")
        out[key_id] = doc
    return out


def _edge_settings(sec: dict, where: str) -> EdgeSettings:
    e = EdgeSettings()
    if "stale_after" in sec:
        e.stale_after = _number(sec["stale_after"], "edges.stale_after")
    if "history" in sec:
        e.history = _typed(sec["history"], int, "edges.history")
        if e.history < 1:
            raise ConfigError("edges.history: must be at least 1")
    if ("access_key_id" in sec) != ("secret_access_key" in sec):
        raise ConfigError(f"{where}: edges.access_key_id and edges.secret_access_key go together")
    if "access_key_id" in sec:
        e.credentials[_typed(sec["access_key_id"], str, "edges.access_key_id")] = _typed(
            sec["secret_access_key"], str, "edges.secret_access_key")
    return e


def load_config(path: str | None, overrides: dict | None = None,
                environ: dict | None = None) -> Config:
    """Read `path` (TOML; None for defaults), then apply `overrides`.

    `overrides` keys are Config field names (e.g. from flags: api_listen as
    'HOST:PORT' or a tuple, data_dir, auth, nameservers, credentials); a value
    of None means "flag not given" and is ignored.
    """
    cfg = Config()
    env = os.environ if environ is None else environ
    doc: dict = {}
    where = path or "<defaults>"
    if path is not None:
        try:
            with open(path, "rb") as f:
                doc = tomllib.load(f)
        except OSError as e:
            raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from None
    _check_keys(doc, where)
    api = doc.get("api", {})
    store = doc.get("store", {})
    zones = doc.get("zones", {})
    if "listen" in api:
        cfg.api_listen = parse_hostport(_typed(api["listen"], str, "api.listen"))
    if "auth" in api:
        cfg.auth = _typed(api["auth"], bool, "api.auth")
    if "console" in api:
        cfg.console = _typed(api["console"], bool, "api.console")
    if ("access_key_id" in api) != ("secret_access_key" in api):
        raise ConfigError(f"{where}: api.access_key_id and api.secret_access_key go together")
    if "access_key_id" in api:
        cfg.credentials[_typed(api["access_key_id"], str, "api.access_key_id")] = _typed(
            api["secret_access_key"], str, "api.secret_access_key")
    creds = api.get("credentials", {})
    if not isinstance(creds, dict):
        raise ConfigError(f"{where}: [api.credentials] must be a table of key id = secret")
    for k, v in creds.items():
        cfg.credentials[k] = _typed(v, str, f"api.credentials.{k}")
    if "readonly_keys" in api:
        ro = api["readonly_keys"]
        if not isinstance(ro, list):
            raise ConfigError(f"{where}: api.readonly_keys must be a list of key ids")
        cfg.readonly_keys = [_typed(k, str, "api.readonly_keys") for k in ro]
    if "policies" in api:
        cfg.policies = _policies(api["policies"], where)
    for key in ("tls_cert", "tls_key", "account_id"):
        if key in api:
            setattr(cfg, key, _typed(api[key], str, f"api.{key}"))
    if "max_body" in api:
        cfg.max_body = _typed(api["max_body"], int, "api.max_body")
    if "data_dir" in store:
        cfg.data_dir = _typed(store["data_dir"], str, "store.data_dir")
    if "backend" in store:
        cfg.store_backend = _typed(store["backend"], str, "store.backend")
        if cfg.store_backend not in ("sqlite", "postgresql"):
            raise ConfigError(f"{where}: store.backend must be \"sqlite\" or \"postgresql\", "
                              f"not {cfg.store_backend!r}")
    if "dsn" in store:
        cfg.store_dsn = _typed(store["dsn"], str, "store.dsn")
    if cfg.store_backend == "postgresql" and not cfg.store_dsn:
        raise ConfigError(f"{where}: store.backend = \"postgresql\" needs store.dsn "
                          "(e.g. \"postgresql://zonefront@/zonefront?host=/run/postgresql\")")
    if "nameservers" in zones:
        ns = zones["nameservers"]
        if not isinstance(ns, list) or not ns:
            raise ConfigError(f"{where}: zones.nameservers must be a non-empty list")
        cfg.nameservers = [_absolute_ns(n, "zones.nameservers") for n in ns]
    if "soa_rname" in zones:
        cfg.soa_rname = _absolute_ns(_typed(zones["soa_rname"], str, "zones.soa_rname"),
                                     "zones.soa_rname")
    for key in ("max_rrsets_per_zone", "max_hosted_zones", "max_vpcs_per_zone",
                "max_zones_per_delegation_set", "max_reusable_delegation_sets",
                "max_health_checks", "max_vpc_authorizations_per_zone", "change_history_days",
                "max_public_fallback_zones"):
        if key in zones:
            setattr(cfg, key, _typed(zones[key], int, f"zones.{key}"))

    if "registry" in doc:
        _load_registry(cfg.registry, doc["registry"], where)

    if "health" in doc:
        cfg.health = _health_settings(doc["health"])

    if "edges" in doc:
        cfg.edges = _edge_settings(doc["edges"], where)

    if "vpcs" in doc:
        cfg.vpcs = _load_vpcs(doc["vpcs"], where, cfg.account_id)

    alias = doc.get("alias", {})
    if "resolver" in alias:
        cfg.alias_resolver = _typed(alias["resolver"], str, "alias.resolver")
        if cfg.alias_resolver not in ("system", "none"):
            parse_hostport(cfg.alias_resolver, "alias.resolver")
    if "min_refresh" in alias:
        cfg.alias_min_refresh = _number(alias["min_refresh"], "alias.min_refresh")
    if "fallback_resolver" in alias:
        cfg.alias_fallback_resolver = _typed(alias["fallback_resolver"], str,
                                             "alias.fallback_resolver")
        if cfg.alias_fallback_resolver not in ("system", "none"):
            parse_hostport(cfg.alias_fallback_resolver, "alias.fallback_resolver")
    if "fallback_timeout" in alias:
        cfg.alias_fallback_timeout = _number(alias["fallback_timeout"], "alias.fallback_timeout")
        if not 0 < cfg.alias_fallback_timeout <= 30:
            raise ConfigError("alias.fallback_timeout must be within (0, 30] seconds")
    if "dnssec" in doc:
        cfg.dnssec = _dnssec_settings(doc["dnssec"])

    akid = env.get("ZONEFRONT_ACCESS_KEY_ID")
    secret = env.get("ZONEFRONT_SECRET_ACCESS_KEY")
    if bool(akid) != bool(secret):
        raise ConfigError("ZONEFRONT_ACCESS_KEY_ID and ZONEFRONT_SECRET_ACCESS_KEY go together")
    if akid:
        cfg.credentials[akid] = secret

    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if not hasattr(cfg, key) and key != "registry_tlds":
            raise ConfigError(f"unknown setting {key!r}")
        if key == "api_listen" and isinstance(value, str):
            value = parse_hostport(value, "--api-listen")
        elif key == "nameservers":
            if isinstance(value, str):
                value = [v for v in value.split(",") if v]
            value = [_absolute_ns(n, "--nameservers") for n in value]
            if not value:
                raise ConfigError("--nameservers: at least one name server is needed")
        elif key == "credentials":
            value = {**cfg.credentials, **value}
        elif key == "registry_tlds":
            # --registry-tld adds to the file's list
            for t in value:
                t = _tld(t, "--registry-tld")
                if t not in cfg.registry.tlds:
                    cfg.registry.tlds.append(t)
            continue
        setattr(cfg, key, value)

    if (cfg.tls_cert is None) != (cfg.tls_key is None):
        raise ConfigError("api.tls_cert and api.tls_key go together")
    if cfg.max_body < 1024:
        raise ConfigError("api.max_body must be at least 1024 bytes")
    return cfg


_VPC_KEYS = {"region", "cidrs", "account"}


def _load_vpcs(sec, where: str, default_account: str) -> dict[str, vpcdef.VPCDef]:
    if not isinstance(sec, dict):
        raise ConfigError(f"{where}: [vpcs] must be a table of [vpcs.<vpc-id>] tables")
    out: dict[str, vpcdef.VPCDef] = {}
    for vpc_id, table in sec.items():
        what = f"vpcs.{vpc_id}"
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [{what}] must be a table with region and cidrs")
        for key in table:
            if key not in _VPC_KEYS:
                raise ConfigError(f"{where}: unknown key {what}.{key} "
                                  f"(known: {', '.join(sorted(_VPC_KEYS))})")
        for key in ("region", "cidrs"):
            if key not in table:
                raise ConfigError(f"{where}: {what}.{key} is required")
        account = default_account
        if "account" in table:
            account = _typed(table["account"], str, f"{what}.account")
            if not (len(account) == 12 and account.isdigit()):
                raise ConfigError(f"{where}: {what}.account: an account id is 12 digits")
        try:
            out[vpc_id] = vpcdef.make(vpc_id, table["region"], table["cidrs"], account,
                                      "config")
        except vpcdef.VPCDefError as e:
            raise ConfigError(f"{where}: {what}: {e}") from None
    try:
        vpcdef.check_disjoint(out.values())
    except vpcdef.VPCDefError as e:
        raise ConfigError(f"{where}: [vpcs]: {e}") from None
    return out


def _tld(text, what: str) -> str:
    if not isinstance(text, str):
        raise ConfigError(f"{what}: expected a TLD name, got {text!r}")
    t = text.strip().rstrip(".").lower()
    try:
        t = t.encode("idna").decode("ascii") if not t.isascii() else t
    except UnicodeError:
        raise ConfigError(f"{what}: {text!r} is not a valid TLD name") from None
    labels = t.split(".")
    for lab in labels:
        if not (1 <= len(lab) <= 63) or lab.startswith("-") or lab.endswith("-") or \
                not all(c.isalnum() or c == "-" for c in lab) or not lab.isascii():
            raise ConfigError(f"{what}: {text!r} is not a valid TLD name")
    return t


def _load_registry(reg: RegistryConfig, sec: dict, where: str) -> None:
    def str_list(key: str) -> list[str]:
        v = sec[key]
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise ConfigError(f"{where}: registry.{key} must be a list of strings")
        return v

    if "tlds" in sec:
        reg.tlds = []
        for t in str_list("tlds"):
            t = _tld(t, "registry.tlds")
            if t not in reg.tlds:
                reg.tlds.append(t)
    if "nameservers" in sec:
        reg.nameservers = [_absolute_ns(n, "registry.nameservers")
                           for n in str_list("nameservers")]
    for key in ("reserved", "premium"):
        if key in sec:
            setattr(reg, key, [x.strip().rstrip(".").lower() for x in str_list(key)])
    for key in ("currency", "registrar_name", "registrar_url", "whois_server",
                "abuse_email", "abuse_phone"):
        if key in sec:
            setattr(reg, key, _typed(sec[key], str, f"registry.{key}"))
    if len(reg.currency) != 3:
        raise ConfigError(f"{where}: registry.currency must be a 3-letter code")
    for key in ("max_domains", "max_operations", "max_years", "max_ds", "max_tags",
                "delegation_ttl", "ds_ttl"):
        if key in sec:
            v = _typed(sec[key], int, f"registry.{key}")
            if v < 0:
                raise ConfigError(f"{where}: registry.{key} must not be negative")
            setattr(reg, key, v)
    if not 1 <= reg.max_years <= 10:
        raise ConfigError(f"{where}: registry.max_years must be within 1..10")
    for key in ("grace_days", "redemption_days", "operation_delay", "sweep_interval"):
        if key in sec:
            v = sec[key]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                raise ConfigError(f"{where}: registry.{key} must be a non-negative number")
            setattr(reg, key, float(v))
    if "idn" in sec:
        reg.idn = _typed(sec["idn"], bool, "registry.idn")
    if "accounts" in sec:
        acc = sec["accounts"]
        if not isinstance(acc, dict):
            raise ConfigError(f"{where}: registry.accounts must be a table of key id = account")
        for k, v in acc.items():
            v = _typed(v, str, f"registry.accounts.{k}")
            if not (len(v) == 12 and v.isdigit()):
                raise ConfigError(f"{where}: registry.accounts.{k}: an account id is 12 digits")
            reg.accounts[k] = v
    if "prices" in sec:
        prices = sec["prices"]
        if not isinstance(prices, dict):
            raise ConfigError(f"{where}: [registry.prices] must be a table")
        for tld, table in prices.items():
            what = f"registry.prices.{tld}"
            if not isinstance(table, dict):
                raise ConfigError(f"{where}: [{what}] must be a table")
            key = tld if tld == "default" else _tld(tld, what)
            out = {}
            for kind, v in table.items():
                if kind not in PRICE_KINDS:
                    raise ConfigError(f"{where}: unknown key {what}.{kind} "
                                      f"(known: {', '.join(PRICE_KINDS)})")
                if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                    raise ConfigError(f"{where}: {what}.{kind} must be a non-negative number")
                out[kind] = float(v)
            reg.prices[key] = out
