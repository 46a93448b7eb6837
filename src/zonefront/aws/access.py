"""What a Route 53 (or Domains, or zonefront extension) call asks of IAM:
the action, the resource ARNs and the condition keys, built as AWS's
"Actions, resources, and condition keys for Amazon Route 53" lists them.

- Resources are `arn:aws:route53:::<type>/<id>` for hostedzone, healthcheck,
  change, delegationset, cidrcollection, queryloggingconfig, trafficpolicy
  and trafficpolicyinstance; calls on no one resource (ListHostedZones,
  CreateHostedZone, ...) are on `*`.
- ChangeResourceRecordSets carries route53:ChangeResourceRecordSets-
  NormalizedRecordNames / -RecordTypes / -Actions (every value in the batch:
  names lower-cased, escapes decoded, no trailing dot).
- Calls that name a VPC carry route53:VPCs as "VPCId=<id>,VPCRegion=<region>".
- Every call carries aws:SourceIp, aws:SecureTransport and aws:username.
"""
from __future__ import annotations

import re

from . import iam
from ._route53_model import OPERATIONS, SHAPES

ARN_PREFIX = "arn:aws:route53:::"
_BY_SEGMENT = {  # first path segment -> ARN resource type
    "hostedzone": "hostedzone", "hostedzonelimit": "hostedzone",
    "keysigningkey": "hostedzone", "healthcheck": "healthcheck", "change": "change",
    "delegationset": "delegationset", "reusabledelegationsetlimit": "delegationset",
    "cidrcollection": "cidrcollection", "queryloggingconfig": "queryloggingconfig",
    "trafficpolicy": "trafficpolicy", "trafficpolicyinstance": "trafficpolicyinstance",
}
_ESCAPE = re.compile(r"\\([0-7]{3}|.)")


def normalized_name(text: str) -> str:
    """A record name as route53:ChangeResourceRecordSetsNormalizedRecordNames
    compares it: lower case, escapes decoded, no trailing dot.  Route 53
    writes its escapes as three octal digits (\\052 is '*'), not RFC 1035's
    decimal."""
    def unescape(m):
        s = m.group(1)
        return chr(int(s, 8)) if s.isdigit() else s
    return _ESCAPE.sub(unescape, text).lower().rstrip(".")


def _bare(value: str) -> str:
    return value.strip().rstrip("/").rsplit("/", 1)[-1]


def _resources(op_name: str, inp: dict) -> list[str]:
    uri = OPERATIONS[op_name]["uri"]
    parts = uri.split("/")[2:]  # after /2013-04-01/
    if not parts:
        return ["*"]
    if parts[0] == "tags":
        rtype = inp.get("ResourceType")
        if "ResourceIds" in inp:
            return [f"{ARN_PREFIX}{rtype}/{_bare(r)}" for r in inp["ResourceIds"]] or ["*"]
        return [f"{ARN_PREFIX}{rtype}/{_bare(inp.get('ResourceId', ''))}"]
    rtype = _BY_SEGMENT.get(parts[0])
    if rtype is None or len(parts) < 2 or not parts[1].startswith("{"):
        return ["*"]
    value = inp.get(_member_at(op_name, parts[1].strip("{}")))
    if value is None:
        return ["*"]
    return [f"{ARN_PREFIX}{rtype}/{_bare(str(value))}"]


def _member_at(op_name: str, location: str) -> str:
    """The input member a URI placeholder fills ({Id} is HostedZoneId's locationName)."""
    shape = OPERATIONS[op_name]["input"]
    for member, ref in (SHAPES[shape]["members"].items() if shape else ()):
        if ref.get("location") == "uri" and ref.get("locationName", member) == location:
            return member
    return location


def _vpc_value(vpc: dict | None) -> list[str]:
    if not vpc or not vpc.get("VPCId"):
        return []
    return [f"VPCId={vpc['VPCId']},VPCRegion={vpc.get('VPCRegion', '')}"]


def route53_request(op_name: str, inp: dict) -> iam.Request:
    ctx: dict[str, list[str]] = {}
    if op_name == "ChangeResourceRecordSets":
        changes = (inp.get("ChangeBatch") or {}).get("Changes") or []
        names, types, actions = [], [], []
        for c in changes:
            rrs = c.get("ResourceRecordSet") or {}
            for lst, v in ((names, normalized_name(rrs.get("Name") or "")),
                           (types, rrs.get("Type") or ""), (actions, c.get("Action") or "")):
                if v not in lst:
                    lst.append(v)
        ctx["route53:changeresourcerecordsetsnormalizedrecordnames"] = names
        ctx["route53:changeresourcerecordsetsrecordtypes"] = types
        ctx["route53:changeresourcerecordsetsactions"] = actions
    vpcs = _vpc_value(inp.get("VPC"))
    if not vpcs and inp.get("VPCId"):
        vpcs = _vpc_value({"VPCId": inp["VPCId"], "VPCRegion": inp.get("VPCRegion")})
    if vpcs:
        ctx["route53:vpcs"] = vpcs
    return iam.Request(f"route53:{op_name}", _resources(op_name, inp), ctx)


def add_globals(req: iam.Request, username: str, source_ip: str, secure: bool) -> iam.Request:
    req.context.setdefault("aws:username", [username])
    req.context.setdefault("aws:sourceip", [source_ip])
    req.context.setdefault("aws:securetransport", ["true" if secure else "false"])
    return req
