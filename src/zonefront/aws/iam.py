"""IAM identity policies: parse the AWS policy language and decide a request
the way IAM does (an explicit Deny wins, then any Allow, else the implicit
deny), so a key can be scoped as on AWS (a certbot host that may touch only
`_acme-challenge` TXT records of one zone, external-dns on one zone).

What is understood: Version, Statement (one or a list), Sid, Effect,
Action/NotAction (wildcards `*` `?`, case-insensitive), Resource/NotResource
(ARN wildcards, case-sensitive), and Condition with the String*, Bool, Null,
IpAddress/NotIpAddress and Arn* operators, the `...IfExists` suffix and the
`ForAllValues:` / `ForAnyValue:` set qualifiers.  Anything else is refused
when the policy is loaded (MalformedPolicyDocument), never ignored: a policy
that does not say what its author believes is worse than none.
"""
from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field

from ..errors import InputError

VERSIONS = ("2012-10-17", "2008-10-17")
FULL_ACCESS = {"Version": "2012-10-17",
               "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
# what api.readonly_keys has always meant: every read of both APIs
READ_ONLY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
    "route53:Get*", "route53:List*", "route53:TestDNSAnswer",
    "route53domains:Check*", "route53domains:Get*", "route53domains:List*",
    "route53domains:View*", "zonefront:GetVPC", "zonefront:ListVPCs", "zonefront:EdgeSync",
    "zonefront:GetMetrics"]}]}  # the console's charts (/console/metrics) are reads too

_BASE_OPS = {"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase",
             "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike", "Bool", "Null",
             "IpAddress", "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals",
             "ArnNotLike"}
_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "NotIpAddress",
            "ArnNotEquals", "ArnNotLike"}


class PolicyError(InputError, ValueError):
    """The document is not a policy we can enforce exactly (MalformedPolicyDocument)."""


@dataclass
class Request:
    """What one call asks for: the action (service:Operation), the ARNs it
    touches (all must be allowed) and the condition keys that describe it."""

    action: str
    resources: list[str] = field(default_factory=lambda: ["*"])
    context: dict[str, list[str]] = field(default_factory=dict)


def _glob(pattern: str, value: str, ignore_case: bool = False) -> bool:
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    if "*" not in pattern and "?" not in pattern:
        return pattern == value
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value, re.S) is not None


def _strings(value, what: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise PolicyError(f"{what} must be a string or a non-empty list of strings")


def _cond_values(value, what: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out = []
    for v in items:
        if isinstance(v, bool):
            out.append("true" if v else "false")
        elif isinstance(v, (str, int, float)):
            out.append(str(v))
        else:
            raise PolicyError(f"{what}: condition values are strings")
    if not out:
        raise PolicyError(f"{what}: a condition needs at least one value")
    return out


@dataclass
class Condition:
    qualifier: str  # "", "ForAllValues", "ForAnyValue"
    op: str  # base operator
    if_exists: bool
    key: str
    values: list[str]

    def holds(self, context: dict[str, list[str]]) -> bool:
        present = context.get(self.key)
        if self.op == "Null":
            want_absent = self.values[0].lower() == "true"
            return (not present) == want_absent
        if not present:
            if self.qualifier == "ForAllValues":
                return True  # IAM: vacuously true for a missing key (pair with Null)
            if self.qualifier == "ForAnyValue":
                return False
            return self.if_exists or self.op in _NEGATED
        if self.qualifier == "ForAllValues":
            return all(self._one(v) for v in present)
        # ForAnyValue, and a plain operator on a multivalued key, match any value
        if self.op in _NEGATED and not self.qualifier:
            return all(self._one(v) for v in present)
        return any(self._one(v) for v in present)

    def _one(self, v: str) -> bool:
        op = self.op
        if op in ("StringEquals", "ArnEquals"):
            return v in self.values
        if op in ("StringNotEquals", "ArnNotEquals"):
            return v not in self.values
        if op == "StringEqualsIgnoreCase":
            return v.lower() in (x.lower() for x in self.values)
        if op == "StringNotEqualsIgnoreCase":
            return v.lower() not in (x.lower() for x in self.values)
        if op in ("StringLike", "ArnLike"):
            return any(_glob(p, v) for p in self.values)
        if op in ("StringNotLike", "ArnNotLike"):
            return not any(_glob(p, v) for p in self.values)
        if op == "Bool":
            return v.lower() in (x.lower() for x in self.values)
        if op in ("IpAddress", "NotIpAddress"):
            try:
                addr = ipaddress.ip_address(v)
            except ValueError:
                return op == "NotIpAddress"
            inside = any(addr in ipaddress.ip_network(n, strict=False) for n in self.values
                         if ipaddress.ip_network(n, strict=False).version == addr.version)
            return inside if op == "IpAddress" else not inside
        raise AssertionError(op)


def _conditions(doc, where: str) -> list[Condition]:
    if not isinstance(doc, dict):
        raise PolicyError(f"{where}: Condition must be an object of operators")
    out = []
    for full_op, block in doc.items():
        qualifier, _, op = full_op.rpartition(":")
        if qualifier not in ("", "ForAllValues", "ForAnyValue"):
            raise PolicyError(f"{where}: unknown set operator {qualifier!r}")
        if_exists = op.endswith("IfExists") and op != "IfExists"
        base = op[:-len("IfExists")] if if_exists else op
        if base not in _BASE_OPS:
            raise PolicyError(f"{where}: condition operator {full_op!r} is not supported")
        if not isinstance(block, dict) or not block:
            raise PolicyError(f"{where}: {full_op} must map condition keys to values")
        for key, values in block.items():
            vals = _cond_values(values, f"{where}: {full_op}.{key}")
            if base in ("IpAddress", "NotIpAddress"):
                for n in vals:
                    try:
                        ipaddress.ip_network(n, strict=False)
                    except ValueError:
                        raise PolicyError(f"{where}: {n!r} is not an IP address or CIDR "
                                          "block") from None
            if base == "Null" and (len(vals) != 1 or vals[0].lower() not in ("true", "false")):
                raise PolicyError(f"{where}: Null takes one value, true or false")
            out.append(Condition(qualifier, base, if_exists, key.lower(), vals))
    return out


@dataclass
class Statement:
    effect: str
    actions: list[str] | None  # None: NotAction given
    not_actions: list[str] | None
    resources: list[str] | None
    not_resources: list[str] | None
    conditions: list[Condition]

    def applies(self, req: Request) -> bool:
        if self.actions is not None:
            if not any(_glob(p, req.action, ignore_case=True) for p in self.actions):
                return False
        elif any(_glob(p, req.action, ignore_case=True) for p in self.not_actions):
            return False
        for arn in req.resources:
            if self.resources is not None:
                if not any(_glob(p, arn) for p in self.resources):
                    return False
            elif any(_glob(p, arn) for p in self.not_resources):
                return False
        return all(c.holds(req.context) for c in self.conditions)


@dataclass
class Policy:
    statements: list[Statement]
    document: dict  # as given, for listing

    def decide(self, req: Request) -> str:
        """"Allow", "ExplicitDeny" or "ImplicitDeny" (IAM's three outcomes)."""
        allowed = False
        for s in self.statements:
            if s.applies(req):
                if s.effect == "Deny":
                    return "ExplicitDeny"
                allowed = True
        return "Allow" if allowed else "ImplicitDeny"


_STATEMENT_KEYS = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource",
                   "Condition"}


def parse(doc) -> Policy:
    """A policy from its JSON text or an already-decoded dict."""
    if isinstance(doc, (str, bytes)):
        try:
            doc = json.loads(doc)
        except ValueError as e:
            raise PolicyError(f"the policy is not valid JSON: {e}") from None
    if not isinstance(doc, dict):
        raise PolicyError("a policy is a JSON object with Version and Statement")
    unknown = set(doc) - {"Version", "Statement", "Id"}
    if unknown:
        raise PolicyError(f"unknown policy element {sorted(unknown)[0]!r}")
    if doc.get("Version") not in VERSIONS:
        raise PolicyError(f"Version must be one of {', '.join(VERSIONS)}")
    raw = doc.get("Statement")
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise PolicyError("Statement must be an object or a non-empty list of them")
    out = []
    for i, s in enumerate(raw, 1):
        where = f"Statement {i}" + (f" ({s.get('Sid')})" if isinstance(s, dict)
                                    and s.get("Sid") else "")
        if not isinstance(s, dict):
            raise PolicyError(f"{where}: a statement is an object")
        if "Principal" in s or "NotPrincipal" in s:
            raise PolicyError(f"{where}: an identity policy has no Principal")
        unknown = set(s) - _STATEMENT_KEYS
        if unknown:
            raise PolicyError(f"{where}: unknown element {sorted(unknown)[0]!r}")
        if s.get("Effect") not in ("Allow", "Deny"):
            raise PolicyError(f"{where}: Effect must be Allow or Deny")
        if ("Action" in s) == ("NotAction" in s):
            raise PolicyError(f"{where}: exactly one of Action and NotAction is required")
        if ("Resource" in s) == ("NotResource" in s):
            raise PolicyError(f"{where}: exactly one of Resource and NotResource is required")
        actions = _strings(s["Action"], f"{where}: Action") if "Action" in s else None
        not_actions = _strings(s["NotAction"], f"{where}: NotAction") \
            if "NotAction" in s else None
        for a in actions or not_actions:
            if a != "*" and ":" not in a:
                raise PolicyError(f"{where}: action {a!r} must be service:Operation")
        out.append(Statement(
            s["Effect"], actions, not_actions,
            _strings(s["Resource"], f"{where}: Resource") if "Resource" in s else None,
            _strings(s["NotResource"], f"{where}: NotResource") if "NotResource" in s else None,
            _conditions(s["Condition"], where) if "Condition" in s else []))
    return Policy(out, doc)


def denial_message(user_arn: str, req: Request, outcome: str, resource: str) -> str:
    """Route 53's AccessDenied text, with the reason IAM now appends."""
    on = f" on resource: {resource}" if resource != "*" else ""
    why = ("with an explicit deny in an identity-based policy" if outcome == "ExplicitDeny"
           else f"because no identity-based policy allows the {req.action} action")
    return f"User: {user_arn} is not authorized to perform: {req.action}{on} {why}"


def evaluate(policy: Policy, req: Request) -> tuple[str, str]:
    """(outcome, the resource decided on).  Every resource must be allowed;
    the first one denied is the one named in the message."""
    explicit = None
    implicit = None
    for arn in req.resources:
        one = Request(req.action, [arn], req.context)
        outcome = policy.decide(one)
        if outcome == "ExplicitDeny" and explicit is None:
            explicit = arn
        elif outcome == "ImplicitDeny" and implicit is None:
            implicit = arn
    if explicit is not None:
        return "ExplicitDeny", explicit
    if implicit is not None:
        return "ImplicitDeny", implicit
    return "Allow", req.resources[0] if req.resources else "*"
