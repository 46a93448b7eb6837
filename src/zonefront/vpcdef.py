"""VPC definitions: a VPC is a named set of networks in a region, the stand-in
for an Amazon VPC that decides which private hosted zones a query's source
address sees.  Shared by the config reader and the API (one set of rules).

The networks of all VPCs are kept disjoint (within a VPC too), so a source
address belongs to at most one VPC: the data plane can pick the view with
one range lookup and never has to break a tie between two VPCs.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from . import cidr
from .aws._route53_model import SHAPES
from .errors import InputError

# Route 53's VPCRegion enum (botocore's model): the regions a VPC may be in
REGIONS = tuple(SHAPES["VPCRegion"]["enum"])
MAX_CIDRS = 1000  # networks per VPC; bounds the data plane's range table
# AWS ids look like vpc-0abc...; operators may pick readable names too
_VPC_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class VPCDefError(InputError, ValueError):
    """A VPC definition that cannot be used; the message says what and why."""


@dataclass
class VPCDef:
    vpc_id: str
    region: str  # one of REGIONS
    cidrs: list[str] = field(default_factory=list)  # canonical text, IPv4 and IPv6
    account: str = ""  # owning account id (cross-account associations)
    source: str = "api"  # "config" (read-only through the API) or "api" (in the store)


def check_id(vpc_id) -> str:
    if not isinstance(vpc_id, str) or not _VPC_ID.match(vpc_id):
        raise VPCDefError(f"{vpc_id!r} is not a valid VPC id: 1 to 64 letters, digits, "
                          "'.', '_' or '-', starting with a letter or digit "
                          "(for example vpc-0a1b2c3d)")
    return vpc_id


def check_region(region) -> str:
    if region not in REGIONS:
        raise VPCDefError(f"unknown region {region!r}; a VPC's region is one of Route 53's "
                          f"VPCRegion values: {', '.join(REGIONS)}")
    return region


def canonical_cidrs(values) -> list[str]:
    """Strict CIDR blocks (no host bits), canonical text, in the order given;
    overlapping blocks in one VPC are refused (list each network once)."""
    if not isinstance(values, (list, tuple)) or not values:
        raise VPCDefError("cidrs must be a non-empty list of CIDR blocks such as "
                          "\"10.0.0.0/16\" or \"fd00::/48\"")
    if len(values) > MAX_CIDRS:
        raise VPCDefError(f"{len(values)} CIDR blocks given; a VPC has at most {MAX_CIDRS}")
    nets = []
    for v in values:
        if not isinstance(v, str):
            raise VPCDefError(f"{v!r} is not a CIDR block (expected a string like "
                              "\"10.0.0.0/16\")")
        try:
            nets.append(cidr.parse_block(v))
        except ValueError:
            raise VPCDefError(_bad_block(v)) from None
    _no_overlap([(n, None) for n in nets])
    return [str(n) for n in nets]


def _bad_block(text: str) -> str:
    try:
        loose = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return f"{text!r} is not a CIDR block (expected an address/prefix such as " \
               "\"10.0.0.0/16\" or \"fd00::/48\")"
    if "/" not in text:
        return f"{text!r} has no prefix length (write {loose.with_prefixlen!r})"
    return f"{text!r} has host bits set; did you mean {str(loose)!r}?"


def _no_overlap(items: list[tuple]) -> None:
    """items: (network, owning vpc id or None); raise on the first overlap."""
    seen: list[tuple] = []
    for net, owner in items:
        for other, other_owner in seen:
            if net.version == other.version and net.overlaps(other):
                if owner == other_owner:
                    where = f" in {owner}" if owner else ""
                    raise VPCDefError(f"CIDR blocks {other} and {net} overlap{where}; "
                                      "list each network once")
                raise VPCDefError(f"CIDR block {net} of {owner} overlaps {other} of "
                                  f"{other_owner}; the networks of different VPCs must not "
                                  "overlap (a source address belongs to one VPC)")
        seen.append((net, owner))


def check_disjoint(defs) -> None:
    """Every network of every VPC in `defs` (VPCDef values) is disjoint."""
    _no_overlap([(cidr.parse_block(c), d.vpc_id) for d in defs for c in d.cidrs])


def make(vpc_id, region, cidrs, account: str, source: str) -> VPCDef:
    return VPCDef(check_id(vpc_id), check_region(region), canonical_cidrs(cidrs), account,
                  source)
