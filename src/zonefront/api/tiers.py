"""Hosted zone tiers and features (UpdateHostedZoneTier,
UpdateHostedZoneFeatures, the Features GetHostedZone returns), mixed into
Route53Service, and the change guardrails a zone may enable.

The tier gates change history (ADVANCED keeps it, from the moment the zone
became ADVANCED).  Public DNS fallback applies to private zones only and is
a data-plane feature: the publisher hands `zonefeatures.fallback_zones()` to
the compiler.  Guardrails refuse the change batches they name with
InvalidChangeBatch, as Route 53 does.
"""
from __future__ import annotations

import ipaddress
import time

from ..store import zonefeatures
from ..aws import names
from ..aws._route53_model import SHAPES
from ..aws.route53_errors import Route53Error, invalid_change_batch, invalid_input

GUARDRAILS = tuple(SHAPES["ChangeGuardrailName"]["enum"])
TIERS = tuple(SHAPES["HostedZoneTier"]["enum"])
ADDRESS_TYPES = ("A", "AAAA", "CNAME")


def features_out(f: zonefeatures.ZoneFeatures, private: bool) -> dict:
    out = {"AcceleratedRecoveryStatus": "ENABLED" if f.accelerated else "DISABLED",
           "ChangeHistory": {"Status": "ENABLED" if f.tier == "ADVANCED" else "DISABLED"}}
    if f.tier == "ADVANCED" and f.advanced_since is not None:
        out["ChangeHistory"]["RetentionStartsAt"] = f.advanced_since
    if private:
        out["PublicDNSFallbackStatus"] = "ENABLED" if f.public_fallback else "DISABLED"
    if f.guardrails:
        out["ChangeGuardrails"] = [{"Name": n, "Status": s}
                                   for n, s in sorted(f.guardrails.items())]
    return out


def _bool(value) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise invalid_input(f"{value!r} is not a boolean")


class TierOperations:
    """Mixed into Route53Service: needs self.store, self._zone()."""

    def UpdateHostedZoneTier(self, inp: dict, ctx) -> dict:
        tier = inp.get("HostedZoneTier")
        if tier not in TIERS:
            raise invalid_input(f"HostedZoneTier must be one of {', '.join(TIERS)}")
        with self.store.transaction():
            z = self._zone(inp["HostedZoneId"])
            f = zonefeatures.get(self.store, z.id)
            if _bool(inp.get("DryRun")) or f.tier == tier:
                return {}
            f.tier = tier
            f.advanced_since = time.time() if tier == "ADVANCED" else None
            zonefeatures.put(self.store, z.id, f)
        return {}

    def UpdateHostedZoneFeatures(self, inp: dict, ctx) -> dict:
        with self.store.transaction():
            z = self._zone(inp["HostedZoneId"])
            f = zonefeatures.get(self.store, z.id)
            fallback = _bool(inp.get("EnablePublicDNSFallback"))
            accelerated = _bool(inp.get("EnableAcceleratedRecovery"))
            rails = inp.get("ChangeGuardrails")
            if fallback is None and accelerated is None and not rails:
                raise invalid_input("Give at least one of EnablePublicDNSFallback, "
                                    "EnableAcceleratedRecovery and ChangeGuardrails.")
            if fallback and not z.private:
                raise invalid_input("Public DNS fallback applies to private hosted zones "
                                    "only.")
            new = dict(f.guardrails)
            seen = set()
            for g in rails or []:
                name, status = g.get("Name"), g.get("Status")
                if name not in GUARDRAILS:
                    raise invalid_input(f"Unknown change guardrail {name!r}")
                if status not in ("ENABLED", "DISABLED"):
                    raise invalid_input(f"Guardrail status must be ENABLED or DISABLED, "
                                        f"not {status!r}")
                if name in seen:
                    raise invalid_input(f"Guardrail {name} is given more than once")
                seen.add(name)
                new[name] = status
            if fallback and not f.public_fallback:
                limit = self.config.max_public_fallback_zones
                if len(zonefeatures.fallback_zones(self.store) - {z.id}) >= limit:
                    raise Route53Error("LimitsExceeded", f"At most {limit} private hosted "
                                       "zones can have public DNS fallback enabled "
                                       "([zones] max_public_fallback_zones).")
            if _bool(inp.get("DryRun")):
                return {}
            if fallback is not None:
                f.public_fallback = fallback
            if accelerated is not None:
                f.accelerated = accelerated
            f.guardrails = new
            zonefeatures.put(self.store, z.id, f)
        self._committed()  # public DNS fallback changes what the data plane answers
        return {}


def check_guardrails(store, z, changes: list) -> None:
    """Raise InvalidChangeBatch when an enabled guardrail refuses a change of
    the batch (call inside the batch's transaction, before it writes)."""
    f = zonefeatures.get(store, z.id)
    if not any(v == "ENABLED" for v in f.guardrails.values()):
        return
    apex = z.name
    existing = store.list_rrsets(z.id)
    problems = []

    def canon(n: str) -> str:
        return names.name_to_text(names.name_from_text(n))

    for c in changes:
        r, action = c["ResourceRecordSet"], c["Action"]
        name, rtype = canon(r["Name"]), r["Type"]
        values = [v["Value"] for v in r.get("ResourceRecords") or []]
        if rtype == "NS" and f.guardrail("NS_FORMAT_CHECK") and action != "DELETE":
            for v in values:
                try:
                    ipaddress.ip_address(v.rstrip("."))
                    bad = True
                except ValueError:
                    bad = "." not in v.rstrip(".")
                if bad:
                    problems.append(f"NS_FORMAT_CHECK: {v} is not a name server's host name")
        if rtype == "NS" and name == apex and action == "UPSERT" and \
                f.guardrail("NS_DELEGATION_AUTHORITY_CHECK"):
            given = {canon(v) for v in values}
            if not given & {canon(n) for n in z.nameservers}:
                problems.append("NS_DELEGATION_AUTHORITY_CHECK: the apex NS would name none "
                                "of the zone's assigned name servers")
        if rtype == "NS" and name != apex and action == "DELETE" and \
                f.guardrail("ACTIVE_DELEGATION_CHECK"):
            problems.append(f"ACTIVE_DELEGATION_CHECK: {name} NS is an active delegation")
        if rtype == "NS" and name != apex and action != "DELETE" and \
                f.guardrail("NS_OCCLUSION_CHECK"):
            below = [x.rrset["Name"] for x in existing
                     if canon(x.rrset["Name"]).endswith("." + name)]
            if below:
                problems.append(f"NS_OCCLUSION_CHECK: a delegation at {name} would hide "
                                f"{canon(below[0])}")
        alias = r.get("AliasTarget")
        if alias and action != "DELETE" and f.guardrail("ALIAS_TARGET_CHECK") and \
                alias["HostedZoneId"].rsplit("/", 1)[-1] == z.id:
            target = canon(alias["DNSName"])
            if not any(canon(x.rrset["Name"]) == target for x in existing):
                problems.append(f"ALIAS_TARGET_CHECK: alias target {target} has no records")
    if f.guardrail("ACTIVE_RECORD_CHECK"):
        def address(rr):
            return rr["Type"] in ADDRESS_TYPES or bool(rr.get("AliasTarget"))
        before = {(canon(x.rrset["Name"]), x.rtype, x.set_id) for x in existing
                  if address(x.rrset)}
        after = set(before)
        for c in changes:
            rr = c["ResourceRecordSet"]
            key = (canon(rr["Name"]), rr["Type"], rr.get("SetIdentifier") or "")
            if c["Action"] == "DELETE":
                after.discard(key)
            elif address(rr):
                after.add(key)
        if before and not after:
            problems.append("ACTIVE_RECORD_CHECK: the batch deletes the zone's last "
                            "address record set")
    if problems:
        raise invalid_change_batch(problems)
