"""Traffic Flow: Route 53's 15 traffic policy operations, as a mixin of
Route53Service (self.store, self.config, self._zone, on_records, _committed).

A policy is a list of immutable versions (JSON documents, validated by
api/trafficdoc.py).  An instance binds one version to a name in a hosted
zone with a TTL: it owns one row of `rrsets` at (name, document type),
listed as Route 53 lists it (Name, Type, TrafficPolicyInstanceId) and
carrying, in private fields (`_zf*`, never listed), the document and TTL
that store/zones.py compiles into the core's nested rule tree.  Creating,
moving (UpdateTrafficPolicyInstance) and deleting an instance rewrite that
row and bump the zone in one transaction, so the data plane swaps from the
old rule tree to the new in one image: no query sees a mix.
"""
from __future__ import annotations

import uuid

from .. import model
from ..store import trafficstore as ts
from ..store.sqlite import RRsetRow
from ..trafficflow import PRIVATE
from ..aws import names
from . import trafficdoc
from ..aws.route53_errors import Route53Error, invalid_input
from .paging import list_limit

MAX_POLICIES = 50
MAX_VERSIONS = 1000
MAX_INSTANCES = 5
MAX_LIST = 100
TTL_MAX = 2147483647


def public_rrset(rrset: dict) -> dict:
    """A stored record set as ListResourceRecordSets shows it."""
    if PRIVATE not in rrset:
        return rrset
    return {k: v for k, v in rrset.items() if k != PRIVATE}


def is_instance_row(rrset: dict) -> bool:
    return PRIVATE in rrset


def check_protected(store, zone_id: str, name: str, rtype: str) -> None:
    """Record-set protections (api/protections.py, helper api17's branch):
    a protected name and type refuses an instance's create, update and
    delete with InvalidChangeBatch, as any other writer of it.  Before that
    module is merged, nothing is protected."""
    try:
        from . import protections  # type: ignore[attr-defined]
    except ImportError:
        return
    protections.check(store, zone_id, [(name, rtype)])


def _conflict(store, zone_id: str, key: bytes, name: str, rtype: str, iid: str | None) -> None:
    """Another record set at the name that the instance's would clash with
    (the same type, or CNAME beside anything), InvalidInput."""
    for r in store.rrsets_at(zone_id, key):
        if iid is not None and r.rrset.get("TrafficPolicyInstanceId") == iid:
            continue
        if r.rtype == rtype or "CNAME" in (r.rtype, rtype):
            raise invalid_input(f"Tried to create resource record set {name} type {rtype}, "
                                f"but it conflicts with the existing record set {name} type "
                                f"{r.rtype}")


def _version(value) -> int:
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise invalid_input(f"Invalid value for TrafficPolicyVersion: {value!r}") from None
    if v < 1:
        raise invalid_input("TrafficPolicyVersion must be at least 1")
    return v


class TrafficOperations:
    # -- policies ---------------------------------------------------------------

    @staticmethod
    def _policy_out(p: dict) -> dict:
        out = {"Id": p["id"], "Version": p["version"], "Name": p["name"], "Type": p["rtype"],
               "Document": p["document"]}
        if p["comment"] is not None:
            out["Comment"] = p["comment"]
        return out

    def _policy(self, pid: str, version=None) -> dict:
        p = ts.get_policy(self.store, pid, None if version is None else _version(version))
        if p is None:
            what = f"{pid}" + (f" version {version}" if version is not None else "")
            raise Route53Error("NoSuchTrafficPolicy", f"No traffic policy found with ID {what}")
        return p

    def _parse_document(self, text: str) -> dict:
        return trafficdoc.parse(text, self.store.health_check_exists)

    def CreateTrafficPolicy(self, inp: dict, ctx) -> dict:
        doc = self._parse_document(inp["Document"])
        with self.store.transaction():
            for pid in ts.policy_ids(self.store):
                if ts.get_policy(self.store, pid)["name"] == inp["Name"]:
                    raise Route53Error("TrafficPolicyAlreadyExists", "A traffic policy that "
                                       f"has the same value for Name ({inp['Name']}) already "
                                       "exists.", 409)
            if ts.count_policies(self.store) >= MAX_POLICIES:
                raise Route53Error("TooManyTrafficPolicies", "This traffic policy can't be "
                                   "created because the current account has reached the limit "
                                   f"on the number of traffic policies ({MAX_POLICIES}).")
            pid = str(uuid.uuid4())
            ts.insert_policy(self.store, pid, 1, inp["Name"], doc["RecordType"], inp["Document"],
                             inp.get("Comment"))
        p = ts.get_policy(self.store, pid, 1)
        return {"TrafficPolicy": self._policy_out(p),
                "Location": f"{ctx.base_url}/2013-04-01/trafficpolicy/{pid}/1"}

    def CreateTrafficPolicyVersion(self, inp: dict, ctx) -> dict:
        pid = inp["Id"]
        doc = self._parse_document(inp["Document"])
        with self.store.transaction():
            latest = self._policy(pid)
            if doc["RecordType"] != latest["rtype"]:
                raise trafficdoc.DocumentError(
                    f"The RecordType {doc['RecordType']} of the new version differs from the "
                    f"policy's RecordType {latest['rtype']}.")
            if ts.count_versions(self.store, pid) >= MAX_VERSIONS:
                raise Route53Error("TooManyTrafficPolicyVersionsForCurrentPolicy",
                                   f"The traffic policy has {MAX_VERSIONS} versions; delete "
                                   "some before creating another.")
            version = ts.max_version(self.store, pid) + 1
            ts.insert_policy(self.store, pid, version, latest["name"], latest["rtype"],
                             inp["Document"], inp.get("Comment"))
        p = ts.get_policy(self.store, pid, version)
        return {"TrafficPolicy": self._policy_out(p),
                "Location": f"{ctx.base_url}/2013-04-01/trafficpolicy/{pid}/{version}"}

    def GetTrafficPolicy(self, inp: dict, ctx) -> dict:
        return {"TrafficPolicy": self._policy_out(self._policy(inp["Id"], inp["Version"]))}

    def ListTrafficPolicies(self, inp: dict, ctx) -> dict:
        limit = list_limit(inp.get("MaxItems"), MAX_LIST, "MaxItems")
        marker = inp.get("TrafficPolicyIdMarker") or ""
        # the marker is the first id of the next page (inclusive)
        ids = ts.policy_ids(self.store, "", -1)
        ids = [i for i in ids if i >= marker]
        page, rest = ids[:limit], ids[limit:]
        out = []
        for pid in page:
            latest = ts.get_policy(self.store, pid)
            out.append({"Id": pid, "Name": latest["name"], "Type": latest["rtype"],
                        "LatestVersion": latest["version"],
                        "TrafficPolicyCount": ts.count_versions(self.store, pid)})
        return {"TrafficPolicySummaries": out, "IsTruncated": bool(rest),
                "TrafficPolicyIdMarker": rest[0] if rest else (page[-1] if page else ""),
                "MaxItems": str(limit)}

    def ListTrafficPolicyVersions(self, inp: dict, ctx) -> dict:
        pid = inp["Id"]
        self._policy(pid)
        limit = list_limit(inp.get("MaxItems"), MAX_LIST, "MaxItems")
        marker = inp.get("TrafficPolicyVersionMarker")
        after = _version(marker) - 1 if marker else 0
        rows = ts.policy_versions(self.store, pid, after, limit + 1)
        page, rest = rows[:limit], rows[limit:]
        return {"TrafficPolicies": [self._policy_out(p) for p in page],
                "IsTruncated": bool(rest),
                "TrafficPolicyVersionMarker": str(rest[0]["version"]) if rest else
                (str(page[-1]["version"]) if page else ""),
                "MaxItems": str(limit)}

    def UpdateTrafficPolicyComment(self, inp: dict, ctx) -> dict:
        with self.store.transaction():
            p = self._policy(inp["Id"], inp["Version"])
            ts.set_policy_comment(self.store, p["id"], p["version"], inp["Comment"])
        return {"TrafficPolicy": self._policy_out(self._policy(inp["Id"], inp["Version"]))}

    def DeleteTrafficPolicy(self, inp: dict, ctx) -> dict:
        with self.store.transaction():
            p = self._policy(inp["Id"], inp["Version"])
            if ts.count_instances(self.store, (p["id"], p["version"])):
                raise Route53Error("TrafficPolicyInUse", "One or more traffic policy instances "
                                   "were created by using the specified traffic policy.")
            ts.delete_policy(self.store, p["id"], p["version"])
        return {}

    # -- instances ----------------------------------------------------------

    def _instance(self, iid: str) -> dict:
        inst = ts.get_instance(self.store, iid)
        if inst is None:
            raise Route53Error("NoSuchTrafficPolicyInstance",
                               f"No traffic policy instance found with ID {iid}")
        return inst

    @staticmethod
    def _instance_out(inst: dict) -> dict:
        return {"Id": inst["id"], "HostedZoneId": inst["zone_id"], "Name": inst["name"],
                "TTL": inst["ttl"], "State": inst["state"], "Message": inst["message"],
                "TrafficPolicyId": inst["policy_id"], "TrafficPolicyVersion": inst["version"],
                "TrafficPolicyType": inst["rtype"]}

    @staticmethod
    def _ttl(value) -> int:
        try:
            ttl = int(value)
        except (TypeError, ValueError):
            raise invalid_input(f"Invalid value for TTL: {value!r}") from None
        if not 0 <= ttl <= TTL_MAX:
            raise invalid_input(f"TTL {ttl} is out of range (0 to {TTL_MAX})")
        return ttl

    def _write_instance(self, z, inst: dict, policy: dict) -> None:
        """The instance's record set (replacing its previous one) and the zone
        bump, inside the caller's transaction and store lock."""
        rrset = {"Name": inst["name"], "Type": inst["rtype"], "TrafficPolicyInstanceId":
                 inst["id"], PRIVATE: {"Document": policy["document"], "TTL": inst["ttl"]}}
        self.store.put_rrset(z.id, RRsetRow(inst["name_key"], inst["rtype"], "", rrset, []))
        ts.put_instance(self.store, inst)
        self.store.bump_zone(z.id)

    def _after_write(self, zone_id: str, name: str) -> None:
        version = self.store.zone_version(zone_id)
        self.on_records(zone_id, version, {names.name_from_text(name)})

    def CreateTrafficPolicyInstance(self, inp: dict, ctx) -> dict:
        ttl = self._ttl(inp["TTL"])
        with self.store.lock:
            with self.store.transaction():
                z = self._zone(inp["HostedZoneId"])
                try:
                    owner = names.name_from_text(inp["Name"])
                except names.BadName as e:
                    raise invalid_input(f"Invalid name {inp['Name']!r}: {e}") from None
                origin = names.name_from_text(z.name)
                name = names.name_to_text(owner)
                if not model.is_subdomain(owner, origin):
                    raise invalid_input(f"The name {name} is not in the hosted zone {z.name}")
                policy = self._policy(inp["TrafficPolicyId"], inp["TrafficPolicyVersion"])
                rtype = policy["rtype"]
                key = names.sort_key(owner)
                if ts.instance_at(self.store, z.id, key, rtype) is not None:
                    raise Route53Error("TrafficPolicyInstanceAlreadyExists", "There is already "
                                       f"a traffic policy instance for {name} type {rtype}.", 409)
                if rtype == "CNAME" and owner == origin:
                    raise invalid_input(f"A CNAME record is not permitted at the zone apex "
                                        f"({name})")
                _conflict(self.store, z.id, key, name, rtype, None)
                check_protected(self.store, z.id, name, rtype)
                if ts.count_instances(self.store) >= self.config_max_instances():
                    raise Route53Error("TooManyTrafficPolicyInstances", "This account has "
                                       "reached the limit on traffic policy instances.")
                inst = {"id": str(uuid.uuid4()), "zone_id": z.id, "name": name, "name_key": key,
                        "rtype": rtype, "ttl": ttl, "policy_id": policy["id"],
                        "version": policy["version"], "state": "Applied", "message": ""}
                self._write_instance(z, inst, policy)
            self._after_write(z.id, name)
        self._committed()
        return {"TrafficPolicyInstance": self._instance_out(inst),
                "Location": f"{ctx.base_url}/2013-04-01/trafficpolicyinstance/{inst['id']}"}

    def config_max_instances(self) -> int:
        return int(getattr(self.config, "max_traffic_policy_instances", 0) or MAX_INSTANCES)

    def traffic_limit(self, what: str):
        """(limit, count function) for GetAccountLimit."""
        if what == "instances":
            return self.config_max_instances(), lambda: ts.count_instances(self.store)
        return MAX_POLICIES, lambda: ts.count_policies(self.store)

    def GetTrafficPolicyInstance(self, inp: dict, ctx) -> dict:
        return {"TrafficPolicyInstance": self._instance_out(self._instance(inp["Id"]))}

    def GetTrafficPolicyInstanceCount(self, inp: dict, ctx) -> dict:
        return {"TrafficPolicyInstanceCount": ts.count_instances(self.store)}

    def UpdateTrafficPolicyInstance(self, inp: dict, ctx) -> dict:
        ttl = self._ttl(inp["TTL"])
        with self.store.lock:
            with self.store.transaction():
                inst = dict(self._instance(inp["Id"]))
                policy = self._policy(inp["TrafficPolicyId"], inp["TrafficPolicyVersion"])
                if policy["rtype"] != inst["rtype"]:
                    raise Route53Error("ConflictingTypes", "The new traffic policy's "
                                       f"RecordType {policy['rtype']} differs from the "
                                       f"instance's type {inst['rtype']}.")
                z = self._zone(inst["zone_id"])
                # its record set may have been deleted, and the name reused since
                _conflict(self.store, z.id, inst["name_key"], inst["name"], inst["rtype"],
                          inst["id"])
                check_protected(self.store, z.id, inst["name"], inst["rtype"])
                inst.update(ttl=ttl, policy_id=policy["id"], version=policy["version"],
                            state="Applied", message="")
                self._write_instance(z, inst, policy)
            self._after_write(z.id, inst["name"])
        self._committed()
        return {"TrafficPolicyInstance": self._instance_out(inst)}

    def DeleteTrafficPolicyInstance(self, inp: dict, ctx) -> dict:
        with self.store.lock:
            with self.store.transaction():
                inst = self._instance(inp["Id"])
                ts.delete_instance(self.store, inst["id"])
                # its record set, unless a ChangeResourceRecordSets DELETE took it already
                for r in self.store.rrsets_at(inst["zone_id"], inst["name_key"]):
                    if (r.rtype == inst["rtype"]
                            and r.rrset.get("TrafficPolicyInstanceId") == inst["id"]):
                        check_protected(self.store, inst["zone_id"], inst["name"], inst["rtype"])
                        self.store.delete_rrset(inst["zone_id"], r.name_key, r.rtype, r.set_id)
                self.store.bump_zone(inst["zone_id"])
            self._after_write(inst["zone_id"], inst["name"])
        self._committed()
        return {}

    def _instance_page(self, inp: dict, zone_id=None, policy=None, zone_marker=True) -> dict:
        limit = list_limit(inp.get("MaxItems"), MAX_LIST, "MaxItems")
        start = None
        name_marker = inp.get("TrafficPolicyInstanceNameMarker")
        type_marker = inp.get("TrafficPolicyInstanceTypeMarker")
        zmark = inp.get("HostedZoneIdMarker") if zone_marker else zone_id
        if name_marker or zmark:
            key = names.sort_key(names.name_from_text(name_marker)) if name_marker else b""
            start = (zmark or "", key, type_marker or "")
        rows = ts.list_instances(self.store, zone_id, policy, start, limit + 1)
        page, rest = rows[:limit], rows[limit:]
        out = {"TrafficPolicyInstances": [self._instance_out(i) for i in page],
               "IsTruncated": bool(rest), "MaxItems": str(limit)}
        if rest:
            nxt = rest[0]
            if zone_marker:
                out["HostedZoneIdMarker"] = nxt["zone_id"]
            out["TrafficPolicyInstanceNameMarker"] = nxt["name"]
            out["TrafficPolicyInstanceTypeMarker"] = nxt["rtype"]
        return out

    def ListTrafficPolicyInstances(self, inp: dict, ctx) -> dict:
        return self._instance_page(inp)

    def ListTrafficPolicyInstancesByHostedZone(self, inp: dict, ctx) -> dict:
        z = self._zone(inp["HostedZoneId"])
        return self._instance_page(inp, zone_id=z.id, zone_marker=False)

    def ListTrafficPolicyInstancesByPolicy(self, inp: dict, ctx) -> dict:
        p = self._policy(inp["TrafficPolicyId"], inp["TrafficPolicyVersion"])
        return self._instance_page(inp, policy=(p["id"], p["version"]))

