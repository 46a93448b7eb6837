"""The Route 53 operations themselves: decoded request dict in, response dict
out (shapes as botocore's model names them), state in the Store.

Every write is one store transaction; after it commits, `on_commit()` tells
the control plane to publish (GetChange stays PENDING until that publish has
returned).
"""
from __future__ import annotations

import time
import uuid
from typing import Callable

from .. import model, rdata
from ..config import Config
from ..health import spec as hspec
from ..store import dnssecstore, historystore, protstore, vpcstore, zonefeatures
from ..store.sqlite import RRsetRow, Store, ZoneRow
from . import changes as changes_mod
from .cidrapi import CidrOperations
from .dnssecapi import DNSSECOperations
from . import hcsources, history, protections, tiers
from .hcsources import HealthCheckSourceOperations
from .history import HistoryOperations
from .protections import ProtectionOperations
from .querylog import QueryLoggingOperations
from .testanswer import TestDNSAnswerOperations
from .tiers import TierOperations
from .vpcapi import VPCOperations
from .traffic import TrafficOperations, public_rrset
from ..aws import names
from ..aws.ids import bare_id, new_id
from ..aws.zone_defaults import DEFAULT_SOA_TIMERS, NS_TTL, SOA_TTL
from ..aws._route53_model import OPERATIONS
from ..aws.route53_errors import Route53Error, invalid_input
from .paging import list_limit

# limits Route 53 enforces on list calls
MAX_LIST_ZONES = 100
MAX_LIST_RRSETS = 300
MAX_LIST_HEALTH_CHECKS = 1000


def _max_items(value, default: int, cap: int) -> int:
    return list_limit(value, cap, "MaxItems", default)


class Context:
    """Per-request facts a handler may need."""

    def __init__(self, base_url: str, access_key: str | None = None,
                 request_id: str | None = None, principal: str | None = None,
                 client_ip: str | None = None):
        self.base_url = base_url
        self.access_key = access_key
        self.request_id = request_id  # x-amzn-RequestId of this call (change history)
        self.principal = principal  # the access key's IAM user ARN (change history)
        self.client_ip = client_ip  # the request's source address (TestDNSAnswer)


class Route53Service(CidrOperations, VPCOperations, ProtectionOperations, HistoryOperations,
                     TierOperations, HealthCheckSourceOperations, TestDNSAnswerOperations,
                     QueryLoggingOperations, TrafficOperations, DNSSECOperations):
    def __init__(self, store: Store, config: Config, on_commit: Callable[[], None] = lambda: None,
                 on_records: Callable[[str, int, set], None] = lambda *a: None,
                 health=None):
        self.store = store
        self.config = config
        self.on_commit = on_commit  # wake the publisher
        self.on_records = on_records  # (zone id, new version, owner names touched)
        self.health = health  # health.manager.HealthManager, or None (no checking)

    # -- helpers -----------------------------------------------------------

    def _zone(self, zone_id: str) -> ZoneRow:
        zid = bare_id(zone_id or "", "hostedzone")
        z = self.store.get_zone(zid)
        if z is None:
            raise Route53Error("NoSuchHostedZone", f"No hosted zone found with ID: {zid}")
        return z

    def _hosted_zone(self, z: ZoneRow) -> dict:
        config = {"PrivateZone": z.private}
        if z.comment is not None:
            config["Comment"] = z.comment
        return {"Id": f"/hostedzone/{z.id}", "Name": z.name, "CallerReference": z.caller_ref,
                "Config": config, "ResourceRecordSetCount": self.store.count_rrsets(z.id)}

    def _delegation_set(self, z: ZoneRow) -> dict:
        d = {"NameServers": list(z.nameservers)}
        if z.deleg_id:
            d["Id"] = f"/delegationset/{z.deleg_id}"
            ds = self.store.get_deleg(z.deleg_id)
            if ds:
                d["CallerReference"] = ds["caller_ref"]
        return d

    def _change(self, comment: str | None = None) -> dict:
        row = self.store.insert_change(new_id("C"), comment)
        return self._change_info(row)

    @staticmethod
    def _change_info(row) -> dict:
        info = {"Id": f"/change/{row.id}", "Status": row.status, "SubmittedAt": row.submitted}
        if row.comment is not None:
            info["Comment"] = row.comment
        return info

    def _committed(self) -> None:
        self.on_commit()

    # -- hosted zones ------------------------------------------------------

    def CreateHostedZone(self, inp: dict, ctx: Context) -> dict:
        try:
            origin = names.name_from_text(inp["Name"])
        except names.BadName as e:
            raise Route53Error("InvalidDomainName", f"{inp['Name']} is not a valid domain "
                               f"name: {e}") from None
        if origin == model.ROOT:
            raise Route53Error("InvalidDomainName", "The root zone cannot be a hosted zone.")
        name = names.name_to_text(origin)
        cfg = inp.get("HostedZoneConfig") or {}
        vpc = inp.get("VPC")
        private = bool(cfg.get("PrivateZone")) or vpc is not None
        if private and vpc is None:
            raise invalid_input("When you're creating a private hosted zone (when you specify "
                                "true for PrivateZone), you must also specify values for "
                                "VPCId and VPCRegion.")
        if vpc is not None and (not vpc.get("VPCId") or not vpc.get("VPCRegion")):
            raise Route53Error("InvalidVPCId", "The VPC ID and region must both be given.")
        if vpc is not None:
            vpc = {"VPCRegion": vpc["VPCRegion"], "VPCId": vpc["VPCId"]}
        account = self.config.account_of(ctx.access_key)
        deleg_id = inp.get("DelegationSetId")
        if deleg_id is not None and private:
            raise invalid_input("A private hosted zone cannot use a reusable delegation set.")
        with self.store.transaction():
            if self.store.zone_by_caller_ref(inp["CallerReference"]) is not None:
                raise Route53Error("HostedZoneAlreadyExists",
                                   "A hosted zone has already been created with the specified "
                                   "caller reference.", 409)
            if self.store.count_zones() >= self.config.max_hosted_zones:
                raise Route53Error("TooManyHostedZones", "This operation can't be completed "
                                   "because the current account has reached the limit on the "
                                   "number of hosted zones.")
            if private:
                self.check_private_create(name, vpc, account)
            nameservers = list(self.config.nameservers)
            if deleg_id is not None:
                deleg_id = bare_id(deleg_id, "delegationset")
                ds = self.store.get_deleg(deleg_id)
                if ds is None:
                    raise Route53Error("NoSuchDelegationSet", "A reusable delegation set with "
                                       "the specified ID does not exist.")
                if self.store.count_zones(deleg_id) >= self.config.max_zones_per_delegation_set:
                    raise Route53Error("DelegationSetNotAvailable", "The reusable delegation "
                                       "set has reached its limit of hosted zones.")
                nameservers = ds["nameservers"]
            z = ZoneRow(new_id("Z"), name, names.sort_key(origin), inp["CallerReference"],
                        cfg.get("Comment"), private, [vpc] if vpc else [], deleg_id,
                        nameservers, 0, time.time(), 0)
            self.store.insert_zone(z)
            vpcstore.set_zone_account(self.store, z.id, account)
            rname = self.config.soa_rname or ("hostmaster." + name)
            soa_value = f"{nameservers[0]} {rname} {DEFAULT_SOA_TIMERS}"
            soa = {"Name": name, "Type": "SOA", "TTL": SOA_TTL,
                   "ResourceRecords": [{"Value": soa_value}]}
            ns = {"Name": name, "Type": "NS", "TTL": NS_TTL,
                  "ResourceRecords": [{"Value": n} for n in nameservers]}
            self.store.put_rrset(z.id, RRsetRow(z.name_key, "SOA", "", soa, [
                rdata.from_text(model.TYPE_SOA, soa_value, model.ROOT)]))
            self.store.put_rrset(z.id, RRsetRow(z.name_key, "NS", "", ns, [
                rdata.from_text(model.TYPE_NS, n, model.ROOT) for n in nameservers]))
            change = self._change()
            if cfg.get("HostedZoneTier") == "ADVANCED":
                zonefeatures.put(self.store, z.id, zonefeatures.ZoneFeatures(
                    "ADVANCED", time.time()))
                history.record(self.store, self.config, z.id, change["Id"], "CreateHostedZone",
                               [{"Action": "CREATE", "ResourceRecordSet": r} for r in (soa, ns)],
                               None, ctx)
        self._committed()
        out = {"HostedZone": self._hosted_zone(z), "ChangeInfo": change,
               "Location": f"{ctx.base_url}/2013-04-01/hostedzone/{z.id}"}
        if private:
            out["VPC"] = vpc
        else:
            out["DelegationSet"] = self._delegation_set(z)
        return out

    def GetHostedZone(self, inp: dict, ctx: Context) -> dict:
        z = self._zone(inp["Id"])
        out = {"HostedZone": self._hosted_zone(z)}
        f = zonefeatures.get(self.store, z.id)
        if f.stored:  # as before tiers existed, for zones whose tier and features were never set
            out["HostedZone"]["Config"]["HostedZoneTier"] = f.tier
            out["HostedZone"]["Features"] = tiers.features_out(f, z.private)
        if z.private:
            out["VPCs"] = z.vpcs
        else:
            out["DelegationSet"] = self._delegation_set(z)
        return out

    def ListHostedZones(self, inp: dict, ctx: Context) -> dict:
        limit = _max_items(inp.get("MaxItems"), MAX_LIST_ZONES, MAX_LIST_ZONES)
        start_seq = 0
        marker = inp.get("Marker")
        if marker:
            mz = self.store.get_zone(bare_id(marker, "hostedzone"))
            if mz is None:
                raise invalid_input(f"Invalid marker: {marker}")
            start_seq = mz.seq
        deleg = inp.get("DelegationSetId")
        if deleg:
            deleg = bare_id(deleg, "delegationset")
            if self.store.get_deleg(deleg) is None:
                raise Route53Error("NoSuchDelegationSet", "A reusable delegation set with the "
                                   "specified ID does not exist.")
        zt = inp.get("HostedZoneType")
        private = True if zt == "PrivateHostedZone" else None
        rows = self.store.list_zones(start_seq, limit + 1, deleg, private)
        out = {"HostedZones": [self._hosted_zone(z) for z in rows[:limit]],
               "Marker": marker or "", "IsTruncated": len(rows) > limit,
               "MaxItems": str(limit)}
        if len(rows) > limit:
            out["NextMarker"] = rows[limit].id
        return out

    def ListHostedZonesByName(self, inp: dict, ctx: Context) -> dict:
        limit = _max_items(inp.get("MaxItems"), MAX_LIST_ZONES, MAX_LIST_ZONES)
        dns = inp.get("DNSName")
        zid = inp.get("HostedZoneId")
        if zid and not dns:
            raise invalid_input("HostedZoneId can only be given together with DNSName.")
        start_key = None
        if dns:
            try:
                start_key = names.sort_key(names.name_from_text(dns))
            except names.BadName as e:
                raise Route53Error("InvalidDomainName", f"{dns} is not a valid domain name: "
                                   f"{e}") from None
        rows = self.store.list_zones_by_name(start_key, bare_id(zid, "hostedzone")
                                             if zid else None, limit + 1)
        out = {"HostedZones": [self._hosted_zone(z) for z in rows[:limit]],
               "IsTruncated": len(rows) > limit, "MaxItems": str(limit)}
        if dns:
            out["DNSName"] = dns
        if zid:
            out["HostedZoneId"] = zid
        if len(rows) > limit:
            out["NextDNSName"] = rows[limit].name
            out["NextHostedZoneId"] = rows[limit].id
        return out

    def GetHostedZoneCount(self, inp: dict, ctx: Context) -> dict:
        return {"HostedZoneCount": self.store.count_zones()}

    def UpdateHostedZoneComment(self, inp: dict, ctx: Context) -> dict:
        with self.store.transaction():
            z = self._zone(inp["Id"])
            self.store.update_zone_comment(z.id, inp.get("Comment"))
            z = self._zone(z.id)
        return {"HostedZone": self._hosted_zone(z)}

    def DeleteHostedZone(self, inp: dict, ctx: Context) -> dict:
        with self.store.transaction():
            z = self._zone(inp["Id"])
            for r in self.store.list_rrsets(z.id):
                if not (r.name_key == z.name_key and r.rtype in ("SOA", "NS") and not r.set_id):
                    raise Route53Error("HostedZoneNotEmpty", "The specified hosted zone "
                                       "contains non-required resource record sets and so "
                                       "cannot be deleted.")
            self.store.delete_zone(z.id)
            vpcstore.forget_zone(self.store, z.id)
            protstore.delete_zone(self.store, z.id)
            zonefeatures.delete_zone(self.store, z.id)
            historystore.delete_zone(self.store, z.id)
            dnssecstore.forget_zone(self.store, z.id)
            change = self._change()
        self._committed()
        return {"ChangeInfo": change}

    def GetHostedZoneLimit(self, inp: dict, ctx: Context) -> dict:
        z = self._zone(inp["HostedZoneId"])
        t = inp["Type"]
        if t == "MAX_RRSETS_BY_ZONE":
            value, count = self.config.max_rrsets_per_zone, self.store.count_rrsets(z.id)
        else:  # MAX_VPCS_ASSOCIATED_BY_ZONE
            if not z.private:
                raise Route53Error("HostedZoneNotPrivate", "The specified hosted zone is a "
                                   "public hosted zone, not a private hosted zone.")
            value, count = self.config.max_vpcs_per_zone, len(z.vpcs)
        return {"Limit": {"Type": t, "Value": value}, "Count": count}

    def GetAccountLimit(self, inp: dict, ctx: Context) -> dict:
        t = inp["Type"]
        table = {
            "MAX_HOSTED_ZONES_BY_OWNER": (self.config.max_hosted_zones,
                                          self.store.count_zones),
            "MAX_REUSABLE_DELEGATION_SETS_BY_OWNER": (self.config.max_reusable_delegation_sets,
                                                      self.store.count_delegs),
            "MAX_HEALTH_CHECKS_BY_OWNER": (self.config.max_health_checks,
                                           self.store.count_health_checks),
            "MAX_TRAFFIC_POLICY_INSTANCES_BY_OWNER": self.traffic_limit("instances"),
            "MAX_TRAFFIC_POLICIES_BY_OWNER": self.traffic_limit("policies"),
        }
        value, count = table[t]
        return {"Limit": {"Type": t, "Value": value}, "Count": count()}

    # -- reusable delegation sets -----------------------------------------

    def _deleg_out(self, ds: dict) -> dict:
        return {"Id": f"/delegationset/{ds['id']}", "CallerReference": ds["caller_ref"],
                "NameServers": ds["nameservers"]}

    def _deleg(self, deleg_id: str) -> dict:
        did = bare_id(deleg_id or "", "delegationset")
        ds = self.store.get_deleg(did)
        if ds is None:
            raise Route53Error("NoSuchDelegationSet", "A reusable delegation set with the "
                               "specified ID does not exist.")
        return ds

    def CreateReusableDelegationSet(self, inp: dict, ctx: Context) -> dict:
        with self.store.transaction():
            if self.store.deleg_by_caller_ref(inp["CallerReference"]) is not None:
                raise Route53Error("DelegationSetAlreadyCreated", "A delegation set with the "
                                   "same owner and caller reference combination has already "
                                   "been created.")
            if self.store.count_delegs() >= self.config.max_reusable_delegation_sets:
                raise Route53Error("LimitsExceeded", "This operation can't be completed "
                                   "because the current account has reached the limit on "
                                   "reusable delegation sets.")
            nameservers = list(self.config.nameservers)
            zone = None
            if inp.get("HostedZoneId"):
                zid = bare_id(inp["HostedZoneId"], "hostedzone")
                zone = self.store.get_zone(zid)
                if zone is None:
                    raise Route53Error("HostedZoneNotFound", "The specified HostedZone can't "
                                       "be found.")
                if zone.private:
                    raise Route53Error("InvalidArgument", "A private hosted zone has no "
                                       "delegation set.")
                if zone.deleg_id:
                    raise Route53Error("DelegationSetAlreadyReusable", "The specified "
                                       "delegation set has already been marked as reusable.")
                nameservers = list(zone.nameservers)
            did = new_id("N")
            self.store.insert_deleg(did, inp["CallerReference"], nameservers)
            if zone is not None:
                self.store.set_zone_deleg(zone.id, did)
            ds = self.store.get_deleg(did)
        return {"DelegationSet": self._deleg_out(ds),
                "Location": f"{ctx.base_url}/2013-04-01/delegationset/{did}"}

    def GetReusableDelegationSet(self, inp: dict, ctx: Context) -> dict:
        return {"DelegationSet": self._deleg_out(self._deleg(inp["Id"]))}

    def ListReusableDelegationSets(self, inp: dict, ctx: Context) -> dict:
        limit = _max_items(inp.get("MaxItems"), MAX_LIST_ZONES, MAX_LIST_ZONES)
        marker = inp.get("Marker")
        rows = self.store.list_delegs(bare_id(marker, "delegationset") if marker else None,
                                      limit + 1)
        out = {"DelegationSets": [self._deleg_out(d) for d in rows[:limit]],
               "Marker": marker or "", "IsTruncated": len(rows) > limit,
               "MaxItems": str(limit)}
        if len(rows) > limit:
            out["NextMarker"] = rows[limit]["id"]
        return out

    def DeleteReusableDelegationSet(self, inp: dict, ctx: Context) -> dict:
        with self.store.transaction():
            ds = self._deleg(inp["Id"])
            if self.store.count_zones(ds["id"]):
                raise Route53Error("DelegationSetInUse", "The specified delegation set "
                                   "contains associated hosted zones which must be deleted "
                                   "before the reusable delegation set can be deleted.")
            self.store.delete_deleg(ds["id"])
        return {}

    def GetReusableDelegationSetLimit(self, inp: dict, ctx: Context) -> dict:
        ds = self._deleg(inp["DelegationSetId"])
        return {"Limit": {"Type": inp["Type"],
                          "Value": self.config.max_zones_per_delegation_set},
                "Count": self.store.count_zones(ds["id"])}

    # -- record sets -------------------------------------------------------

    def _alias_lookup(self, target_zone_id, target_name, rtype, own_zone_id, overlay):
        """False: target name outside the target zone; 'missing': no such record
        set; True: found; None: the zone is not one of ours (AWS service)."""
        tz = self.store.get_zone(target_zone_id)
        if tz is None:
            return None
        origin = names.name_from_text(tz.name)
        if not model.is_subdomain(target_name, origin):
            return False
        key = names.sort_key(target_name)
        if target_zone_id == own_zone_id and key in overlay:
            here = overlay[key]
            ok = any(t == rtype for (t, _s) in here)
        else:
            ok = any(r.rtype == rtype for r in self.store.rrsets_at(tz.id, key))
        return True if ok else "missing"

    def ChangeResourceRecordSets(self, inp: dict, ctx: Context) -> dict:
        batch = inp["ChangeBatch"]
        # the store's lock is held until the batch's owners are noted: a
        # publisher reading zone versions (under the same lock) never sees
        # this version without them, which would rebuild the zone whole
        with self.store.lock:
            with self.store.transaction():
                z = self._zone(inp["HostedZoneId"])
                protections.check(self.store, z.id, [
                    (c["ResourceRecordSet"]["Name"], c["ResourceRecordSet"]["Type"])
                    for c in batch["Changes"]])
                tiers.check_guardrails(self.store, z, batch["Changes"])
                origin = names.name_from_text(z.name)
                writes, deletes, count = changes_mod.plan_batch(
                    self.store, z.id, origin, z.name, batch["Changes"],
                    self.config.max_rrsets_per_zone, self._alias_lookup)
                for key in deletes:
                    self.store.delete_rrset(z.id, *key)
                for row in writes:
                    self.store.put_rrset(z.id, row)
                self.store.bump_zone(z.id)
                version = self.store.zone_version(z.id)
                change = self._change(batch.get("Comment"))
                history.record(self.store, self.config, z.id, change["Id"],
                               "ChangeResourceRecordSets", batch["Changes"],
                               batch.get("Comment"), ctx)
            self.store.note_rrset_count(z.id, version, count)  # committed: the next count is known
            # every owner a write or delete touched is named in the batch
            owners = {names.name_from_text(c["ResourceRecordSet"]["Name"])
                      for c in batch["Changes"]}
            self.on_records(z.id, version, owners)
        self._committed()
        return {"ChangeInfo": change}

    def ListResourceRecordSets(self, inp: dict, ctx: Context) -> dict:
        z = self._zone(inp["HostedZoneId"])
        limit = _max_items(inp.get("MaxItems"), MAX_LIST_RRSETS, MAX_LIST_RRSETS)
        sname, stype, sid = (inp.get("StartRecordName"), inp.get("StartRecordType"),
                             inp.get("StartRecordIdentifier"))
        if stype and not sname:
            raise invalid_input("The input is not valid: StartRecordType requires "
                                "StartRecordName.")
        if sid and not stype:
            raise invalid_input("The input is not valid: StartRecordIdentifier requires "
                                "StartRecordType.")
        start = None
        if sname:
            try:
                key = names.sort_key(names.name_from_text(sname))
            except names.BadName as e:
                raise invalid_input(f"Invalid StartRecordName {sname!r}: {e}") from None
            start = (key, stype, sid)
        rows = self.store.list_rrsets(z.id, start, limit + 1)
        out = {"ResourceRecordSets": [public_rrset(r.rrset) for r in rows[:limit]],
               "IsTruncated": len(rows) > limit, "MaxItems": str(limit)}
        if len(rows) > limit:
            nxt = rows[limit]
            out["NextRecordName"] = nxt.rrset["Name"]
            out["NextRecordType"] = nxt.rtype
            if nxt.set_id:
                out["NextRecordIdentifier"] = nxt.set_id
        return out

    def GetChange(self, inp: dict, ctx: Context) -> dict:
        cid = bare_id(inp["Id"], "change")
        row = self.store.get_change(cid)
        if row is None:
            raise Route53Error("NoSuchChange", f"A change with the specified change ID does "
                               f"not exist: {cid}")
        return {"ChangeInfo": self._change_info(row)}

    # -- tags --------------------------------------------------------------

    def _tag_resource(self, rtype: str, rid: str) -> str:
        if rtype == "hostedzone":
            zid = bare_id(rid, "hostedzone")
            if self.store.get_zone(zid) is None:
                raise Route53Error("NoSuchHostedZone", f"No hosted zone found with ID: {zid}")
            return zid
        rid = bare_id(rid, "healthcheck")
        if not self.store.health_check_exists(rid):
            raise Route53Error("NoSuchHealthCheck", f"A health check with id {rid} does not "
                               "exist.")
        return rid

    def ChangeTagsForResource(self, inp: dict, ctx: Context) -> dict:
        rtype = inp["ResourceType"]
        add = inp.get("AddTags") or []
        remove = inp.get("RemoveTagKeys") or []
        for t in add:
            if t.get("Key") is None:
                raise invalid_input("Tag keys must be given.")
        for t in add:
            if (rtype == "healthcheck" and t["Key"] == hspec.STATE_TAG
                    and (t.get("Value") or "").strip().lower() not in hspec.STATE_VALUES):
                raise invalid_input(f"The {hspec.STATE_TAG} tag must be 'healthy' or "
                                    "'unhealthy' (remove the tag to return to probing).")
        with self.store.transaction():
            rid = self._tag_resource(rtype, inp["ResourceId"])
            for k in remove:
                self.store.remove_tag(rtype, rid, k)
            for t in add:
                self.store.set_tag(rtype, rid, t["Key"], t.get("Value") or "")
            if len(self.store.tags_of(rtype, rid)) > 10:
                raise invalid_input("A resource can have at most 10 tags.")
        if rtype == "healthcheck":
            self._health_changed(rid)
        return {}

    def _tag_set(self, rtype: str, rid: str) -> dict:
        return {"ResourceType": rtype, "ResourceId": rid,
                "Tags": [{"Key": k, "Value": v} for k, v in self.store.tags_of(rtype, rid)]}

    def ListTagsForResource(self, inp: dict, ctx: Context) -> dict:
        rtype = inp["ResourceType"]
        rid = self._tag_resource(rtype, inp["ResourceId"])
        return {"ResourceTagSet": self._tag_set(rtype, rid)}

    def ListTagsForResources(self, inp: dict, ctx: Context) -> dict:
        rtype = inp["ResourceType"]
        rids = [self._tag_resource(rtype, r) for r in inp["ResourceIds"]]
        return {"ResourceTagSets": [self._tag_set(rtype, r) for r in rids]}

    # -- health checks -----------------------------------------------------

    def _hc(self, hc_id: str) -> dict:
        hid = bare_id(hc_id or "", "healthcheck")
        row = self.store.get_health_check(hid)
        if row is None:
            raise Route53Error("NoSuchHealthCheck", f"No health check exists with the "
                               f"specified ID {hid}.")
        return row

    @staticmethod
    def _health_check_out(row: dict) -> dict:
        return {"Id": row["id"], "CallerReference": row["caller_ref"],
                "HealthCheckConfig": row["config"], "HealthCheckVersion": row["version"]}

    def _health_changed(self, hc_id: str) -> None:
        if self.health is not None:
            self.health.reload(hc_id)

    def _normalize_hc(self, make) -> dict:
        try:
            return make()
        except hspec.SpecError as e:
            raise invalid_input(str(e)) from None

    def _check_children(self, hc_id: str | None, cfg: dict) -> None:
        children = cfg.get("ChildHealthChecks") or []
        for child in children:
            if child == hc_id:
                raise invalid_input("Invalid parameter: a calculated health check cannot be "
                                    "its own child.")
            if self.store.get_health_check(child) is None:
                raise invalid_input(f"Invalid parameter: child health check {child} does "
                                    "not exist.")
        if cfg.get("HealthThreshold", 0) > len(children):
            raise invalid_input("Invalid parameter: HealthThreshold is greater than the "
                                "number of child health checks.")
        if hc_id is not None and self.health is not None and \
                self.health.state.creates_cycle(hc_id, children):
            raise invalid_input("Invalid parameter: ChildHealthChecks would make a cycle of "
                                "calculated health checks.")

    def CreateHealthCheck(self, inp: dict, ctx: Context) -> dict:
        ref = inp["CallerReference"]
        cfg = self._normalize_hc(lambda: hspec.normalize(
            inp["HealthCheckConfig"], self.config.health.min_interval))
        hcsources.check_config(self.store, cfg)
        with self.store.transaction():
            existing = self.store.health_check_by_caller_ref(ref)
            if existing is not None:
                if existing["config"] != cfg:
                    raise Route53Error("HealthCheckAlreadyExists", "A health check with this "
                                       "caller reference already exists with different "
                                       "settings.", 409)
                row = existing  # the same request again: Route 53 answers with the check
            else:
                if self.store.health_check_ref_used(ref):
                    raise Route53Error("HealthCheckAlreadyExists", "A health check with this "
                                       "caller reference was created and deleted; caller "
                                       "references cannot be reused.", 409)
                if self.store.count_health_checks() >= self.config.max_health_checks:
                    raise Route53Error("TooManyHealthChecks", "This health check can't be "
                                       "created because the current account has reached the "
                                       "limit on the number of active health checks.")
                if cfg["Type"] == "CALCULATED":
                    self._check_children(None, cfg)
                hid = str(uuid.uuid4())
                self.store.insert_health_check(hid, ref, cfg)
                row = self.store.get_health_check(hid)
        self._health_changed(row["id"])
        return {"HealthCheck": self._health_check_out(row),
                "Location": f"{ctx.base_url}/2013-04-01/healthcheck/{row['id']}"}

    def GetHealthCheck(self, inp: dict, ctx: Context) -> dict:
        return {"HealthCheck": self._health_check_out(self._hc(inp["HealthCheckId"]))}

    def ListHealthChecks(self, inp: dict, ctx: Context) -> dict:
        limit = _max_items(inp.get("MaxItems"), 100, MAX_LIST_HEALTH_CHECKS)
        marker = inp.get("Marker")
        start = None
        if marker:
            start = bare_id(marker, "healthcheck")
            if self.store.get_health_check(start) is None:
                raise invalid_input(f"Invalid marker: {marker}")
        rows = self.store.list_health_checks(start, limit + 1)
        out = {"HealthChecks": [self._health_check_out(r) for r in rows[:limit]],
               "Marker": marker or "", "IsTruncated": len(rows) > limit,
               "MaxItems": str(limit)}
        if len(rows) > limit:
            out["NextMarker"] = rows[limit]["id"]
        return out

    def UpdateHealthCheck(self, inp: dict, ctx: Context) -> dict:
        with self.store.transaction():
            row = self._hc(inp["HealthCheckId"])
            want = inp.get("HealthCheckVersion")
            if want is not None and want != row["version"]:
                raise Route53Error("HealthCheckVersionMismatch", "The value of "
                                   "HealthCheckVersion in the request doesn't match the value "
                                   "of HealthCheckVersion in the health check.", 409)
            cfg = self._normalize_hc(lambda: hspec.apply_update(
                row["config"], inp, self.config.health.min_interval))
            if cfg["Type"] == "CALCULATED":
                self._check_children(row["id"], cfg)
            if cfg != row["config"]:
                self.store.update_health_check(row["id"], cfg)
            row = self.store.get_health_check(row["id"])
        self._health_changed(row["id"])
        return {"HealthCheck": self._health_check_out(row)}

    def DeleteHealthCheck(self, inp: dict, ctx: Context) -> dict:
        # Route 53 deletes a check even while record sets name it; those
        # records are then answered as healthy (the health table's rule)
        with self.store.transaction():
            row = self._hc(inp["HealthCheckId"])
            self.store.delete_health_check(row["id"])
        self._health_changed(row["id"])
        return {}

    def _observations(self, rows) -> list[dict]:
        out = []
        for loc, status, when, ip in rows:
            o = {"Region": loc, "StatusReport": {"Status": status, "CheckedTime": when}}
            if ip:
                o["IPAddress"] = ip
            out.append(o)
        return out

    def GetHealthCheckStatus(self, inp: dict, ctx: Context) -> dict:
        row = self._hc(inp["HealthCheckId"])
        if self.health is None:
            return {"HealthCheckObservations": []}
        spec = row["config"]
        now = time.time()
        healthy = self.health.healthy(row["id"])
        word = "Success" if healthy else "Failure"
        notes = []
        forced = hspec.forced_from_tags(self.store.tags_of("healthcheck", row["id"]))
        if forced is not None:
            notes.append(f"{word}: the state is set by the {hspec.STATE_TAG} tag "
                         f"({'healthy' if forced else 'unhealthy'}).")
        elif spec.get("Disabled"):
            notes.append("Success: the health check is disabled and considered healthy.")
        if spec["Type"] == "CALCULATED":
            up, n = self.health.children_summary(row["id"])
            notes.append(f"{word}: {up} of {n} child health checks are healthy "
                         f"(HealthThreshold {spec.get('HealthThreshold', 0)}"
                         f"{', inverted' if spec.get('Inverted') else ''}).")
        elif spec["Type"] in ("CLOUDWATCH_METRIC", "RECOVERY_CONTROL") and not notes:
            source = ("InsufficientDataHealthStatus" if spec["Type"] == "CLOUDWATCH_METRIC"
                      else f"the {hspec.STATE_TAG} tag")
            notes.append(f"{word}: nothing to probe here; the state follows {source}.")
        obs = [{"StatusReport": {"Status": t, "CheckedTime": now}} for t in notes]
        obs += self._observations((o.location, o.status, o.checked, o.ip)
                                  for o in self.health.observations(row["id"]))
        return {"HealthCheckObservations": obs}

    def GetHealthCheckLastFailureReason(self, inp: dict, ctx: Context) -> dict:
        row = self._hc(inp["HealthCheckId"])
        fails = self.health.failures(row["id"]) if self.health is not None else []
        return {"HealthCheckObservations": self._observations(fails)}

    def GetHealthCheckCount(self, inp: dict, ctx: Context) -> dict:
        return {"HealthCheckCount": self.store.count_health_checks()}

    def GetCheckerIpRanges(self, inp: dict, ctx: Context) -> dict:
        if self.health is not None:
            return {"CheckerIpRanges": self.health.checker_ip_ranges()}
        return {"CheckerIpRanges": list(self.config.health.checker_ip_ranges)}


SUPPORTED = sorted(n for n in OPERATIONS if callable(getattr(Route53Service, n, None)))
