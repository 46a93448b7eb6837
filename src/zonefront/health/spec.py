"""A health check's settings: Route 53's HealthCheckConfig checked and given
its defaults (for the API and the store), and the frozen CheckSpec the
checkers and the state keeper work from."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ..errors import InputError

PROBED = ("HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP")
TLS_TYPES = ("HTTPS", "HTTPS_STR_MATCH")
MATCH_TYPES = ("HTTP_STR_MATCH", "HTTPS_STR_MATCH")
ROUTE53_INTERVALS = (10, 30)
DEFAULT_INTERVAL = 30
DEFAULT_THRESHOLD = 3
SEARCH_LIMIT = 5120  # Route 53 looks for SearchString in this much of the body

# A tag on a health check that sets its state by hand (maintenance, tests):
# "healthy" or "unhealthy"; removing the tag hands the state back to probing.
STATE_TAG = "zonefront:state"
STATE_VALUES = {"healthy": True, "unhealthy": False}

# members of HealthCheckConfig that only some types may carry
_ENDPOINT_ONLY = ("IPAddress", "Port", "ResourcePath", "FullyQualifiedDomainName",
                  "SearchString", "EnableSNI", "Regions", "MeasureLatency")
_CALC_ONLY = ("HealthThreshold", "ChildHealthChecks")


class SpecError(InputError, ValueError):
    """A HealthCheckConfig Route 53 would refuse; the message is InvalidInput's."""


def _check_ip(ip: str) -> None:
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        raise SpecError(f"Invalid IP address: {ip}") from None


def normalize(cfg: dict, min_interval: int = 10) -> dict:
    """Validate a HealthCheckConfig and fill in what Route 53 fills in; the
    result is what GetHealthCheck returns and what the store keeps."""
    t = cfg.get("Type")
    out = {k: v for k, v in cfg.items() if v is not None}
    if t in PROBED:
        if not out.get("IPAddress") and not out.get("FullyQualifiedDomainName"):
            raise SpecError("Invalid parameter: either IPAddress or FullyQualifiedDomainName "
                            f"must be specified for a health check of type {t}.")
        if out.get("IPAddress"):
            _check_ip(out["IPAddress"])
        if "Port" not in out:
            if t == "TCP":
                raise SpecError("Invalid parameter: Port is required for a health check of "
                                "type TCP.")
            out["Port"] = 443 if t in TLS_TYPES else 80
        if t in MATCH_TYPES:
            if not out.get("SearchString"):
                raise SpecError(f"Invalid parameter: SearchString is required for a health "
                                f"check of type {t}.")
        elif "SearchString" in out:
            raise SpecError(f"Invalid parameter: SearchString is not allowed for a health "
                            f"check of type {t}.")
        if t == "TCP" and "ResourcePath" in out:
            raise SpecError("Invalid parameter: ResourcePath is not allowed for a health "
                            "check of type TCP.")
        interval = out.setdefault("RequestInterval", DEFAULT_INTERVAL)
        if interval not in ROUTE53_INTERVALS and not min_interval <= interval < 10:
            allowed = "10 or 30" if min_interval >= 10 else \
                f"10, 30 or {min_interval}..9 (zonefront extension)"
            raise SpecError(f"Invalid parameter: RequestInterval must be {allowed}, got "
                            f"{interval}.")
        out.setdefault("FailureThreshold", DEFAULT_THRESHOLD)
        out.setdefault("MeasureLatency", False)
        out.setdefault("EnableSNI", t in TLS_TYPES)
        for k in _CALC_ONLY:
            if k in out:
                raise SpecError(f"Invalid parameter: {k} is only allowed for a health check "
                                f"of type CALCULATED.")
    elif t == "CALCULATED":
        for k in _ENDPOINT_ONLY + ("RequestInterval", "FailureThreshold"):
            if k in out:
                raise SpecError(f"Invalid parameter: {k} is not allowed for a health check "
                                f"of type CALCULATED.")
        if "HealthThreshold" not in out:
            raise SpecError("Invalid parameter: HealthThreshold is required for a health "
                            "check of type CALCULATED.")
        out.setdefault("ChildHealthChecks", [])
        if len(set(out["ChildHealthChecks"])) != len(out["ChildHealthChecks"]):
            raise SpecError("Invalid parameter: ChildHealthChecks contains duplicates.")
    elif t == "CLOUDWATCH_METRIC":
        if "AlarmIdentifier" not in out:
            raise SpecError("Invalid parameter: AlarmIdentifier is required for a health "
                            "check of type CLOUDWATCH_METRIC.")
        out.setdefault("InsufficientDataHealthStatus", "LastKnownStatus")
    elif t == "RECOVERY_CONTROL":
        if not out.get("RoutingControlArn"):
            raise SpecError("Invalid parameter: RoutingControlArn is required for a health "
                            "check of type RECOVERY_CONTROL.")
    else:
        raise SpecError(f"Invalid parameter: unknown health check type {t}.")
    if "Regions" in out and len(set(out["Regions"])) != len(out["Regions"]):
        raise SpecError("Invalid parameter: Regions contains duplicates.")
    out.setdefault("Inverted", False)
    out.setdefault("Disabled", False)
    return out


UPDATABLE = ("IPAddress", "Port", "ResourcePath", "FullyQualifiedDomainName", "SearchString",
             "FailureThreshold", "Inverted", "Disabled", "HealthThreshold",
             "ChildHealthChecks", "EnableSNI", "Regions", "AlarmIdentifier",
             "InsufficientDataHealthStatus")


def apply_update(current: dict, upd: dict, min_interval: int = 10) -> dict:
    """UpdateHealthCheck: the members given replace the stored ones,
    ResetElements drop theirs back to the default."""
    new = dict(current)
    for k in upd.get("ResetElements") or ():
        new.pop(k, None)
        if k == "ChildHealthChecks":
            new[k] = []
    for k in UPDATABLE:
        if upd.get(k) is not None:
            new[k] = upd[k]
    return normalize(new, min_interval)


@dataclass(frozen=True)
class CheckSpec:
    """What the checkers and the state keeper need of one check."""

    id: str
    type: str
    ip: str | None = None  # IPAddress
    fqdn: str | None = None  # FullyQualifiedDomainName: Host header, SNI, or resolved
    port: int = 80
    path: str = "/"
    search: bytes = b""
    interval: float = DEFAULT_INTERVAL
    threshold: int = DEFAULT_THRESHOLD
    inverted: bool = False
    disabled: bool = False
    sni: bool = False
    measure_latency: bool = False
    regions: tuple[str, ...] = ()
    children: tuple[str, ...] = ()
    health_threshold: int = 0
    insufficient: str | None = None  # InsufficientDataHealthStatus (CLOUDWATCH_METRIC)
    forced: bool | None = None  # the zonefront:state tag, when set
    source: str | None = None  # HealthCheckSourceId: only that source's checkers probe it

    @property
    def probed(self) -> bool:
        return self.type in PROBED and not self.disabled

    @classmethod
    def from_config(cls, check_id: str, cfg: dict, forced: bool | None = None) -> CheckSpec:
        path = cfg.get("ResourcePath") or "/"
        if not path.startswith("/"):
            path = "/" + path
        return cls(
            id=check_id, type=cfg["Type"], ip=cfg.get("IPAddress"),
            fqdn=(cfg.get("FullyQualifiedDomainName") or "").rstrip(".") or None,
            port=int(cfg.get("Port") or (443 if cfg["Type"] in TLS_TYPES else 80)),
            path=path, search=(cfg.get("SearchString") or "").encode("utf-8"),
            interval=float(cfg.get("RequestInterval") or DEFAULT_INTERVAL),
            threshold=int(cfg.get("FailureThreshold") or DEFAULT_THRESHOLD),
            inverted=bool(cfg.get("Inverted")), disabled=bool(cfg.get("Disabled")),
            sni=bool(cfg.get("EnableSNI")), measure_latency=bool(cfg.get("MeasureLatency")),
            regions=tuple(cfg.get("Regions") or ()),
            children=tuple(cfg.get("ChildHealthChecks") or ()),
            health_threshold=int(cfg.get("HealthThreshold") or 0),
            insufficient=cfg.get("InsufficientDataHealthStatus"), forced=forced,
            source=cfg.get("HealthCheckSourceId") or None)


def forced_from_tags(tags) -> bool | None:
    for k, v in tags:
        if k == STATE_TAG:
            return STATE_VALUES.get(v.strip().lower())
    return None
