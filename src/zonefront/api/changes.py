"""ChangeResourceRecordSets: validate a whole change batch against the zone
and turn it into store writes, with Route 53's rules and wording.

Two kinds of refusal, as Route 53 makes them:
- InvalidInput ("Invalid request: ..."): a change that is malformed on its
  own (no TTL and no AliasTarget, SetIdentifier without a routing policy,
  two routing policies, a name that is not a name).  The first one stops.
- InvalidChangeBatch: a change that cannot apply to this zone (exists
  already, not found, values differ, CNAME conflicts, bad rdata, duplicate
  changes of one record set).  Every such message is collected, then the
  whole batch is refused; nothing is written.

Changes apply in order to an overlay of the zone, so DELETE then CREATE of
the same record set (the pre-UPSERT way to replace one) works.
"""
from __future__ import annotations

from .. import model, rdata
from ..store import cidrstore
from ..store.sqlite import RRsetRow, Store
from ..trafficflow import PRIVATE
from ..aws import names
from ..aws._route53_model import SHAPES
from ..aws.route53_errors import Route53Error, invalid_change_batch, invalid_input

POLICY_FIELDS = ("Weight", "Region", "Failover", "GeoLocation", "MultiValueAnswer",
                 "GeoProximityLocation", "CidrRoutingConfig")
_CONTINENTS = {"AF", "AN", "AS", "EU", "OC", "NA", "SA"}
MAX_CHANGES = 1000
MAX_VALUE_CHARS = 32000
MAX_RECORDS = 1000


def _where(action: str, name: str, rtype: str, set_id: str | None) -> str:
    sid = "null" if set_id is None else set_id
    return f"Change with [Action={action}, Name={name}, Type={rtype}, SetIdentifier={sid}]"


def _rrset_label(name: str, rtype: str, set_id: str) -> str:
    if set_id:
        return f"[name='{name}', type='{rtype}', set-identifier='{set_id}']"
    return f"[name='{name}', type='{rtype}']"


def _bad_rdata_message(rtype: str, value: str, err: Exception) -> str:
    if rtype == "A":
        why = "ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address)"
    elif rtype == "AAAA":
        why = "AAAARRDATAIllegalIPv6Address (Value is not a valid IPv6 address)"
    else:
        why = f"{rtype}RRDATAInvalid ({err})"
    return f"Invalid Resource Record: 'FATAL problem: {why} encountered with '{value}''"


class Normalized:
    """One change's record set in stored form, or the message refusing it."""

    def __init__(self, action: str, row: RRsetRow, owner: bytes):
        self.action = action
        self.row = row
        self.owner = owner  # lower-cased wire name

    @property
    def key(self) -> tuple[bytes, str, str]:
        return (self.row.name_key, self.row.rtype, self.row.set_id)


def normalize(action: str, rrs: dict, zone_origin: bytes, zone_name: str,
              messages: list[str]) -> Normalized | None:
    """Check one change's ResourceRecordSet on its own.  Structural faults
    raise InvalidInput; value faults are appended to `messages`."""
    rtype = rrs["Type"]
    set_id = rrs.get("SetIdentifier")
    raw_name = rrs["Name"]
    try:
        owner = names.name_from_text(raw_name)
    except names.BadName as e:
        raise invalid_input(f"Invalid request: domain name {raw_name!r} is not valid ({e})")
    name = names.name_to_text(owner)
    where = _where(action, name, rtype, set_id)
    alias = rrs.get("AliasTarget")
    has_ttl = rrs.get("TTL") is not None
    has_rr = rrs.get("ResourceRecords") is not None
    if rrs.get("TrafficPolicyInstanceId") is not None:
        return _instance_change(action, rrs, owner, name, rtype, where, alias is not None
                                or has_ttl or has_rr, zone_origin, messages)
    if alias is not None and (has_ttl or has_rr):
        raise invalid_input("Invalid request: Expected exactly one of [AliasTarget, all of "
                            "[TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found "
                            f"more than one in {where}")
    if alias is None and not (has_ttl and has_rr):
        if has_ttl or has_rr:
            missing = "ResourceRecords" if has_ttl else "TTL"
            raise invalid_input(f"Invalid request: Missing field '{missing}' in {where}")
        raise invalid_input("Invalid request: Expected exactly one of [AliasTarget, all of "
                            "[TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found "
                            f"none in {where}")
    policies = [f for f in POLICY_FIELDS if rrs.get(f) is not None]
    if policies and set_id is None:
        raise invalid_input(f"Invalid request: Missing field 'SetIdentifier' in {where}")
    if set_id is not None:
        if not policies:
            raise invalid_input("Invalid request: Expected exactly one of [Weight, Region, "
                                "Failover, GeoLocation, MultiValueAnswer, GeoProximityLocation, "
                                f"or CidrRoutingConfig], but found none in {where}")
        if len(policies) > 1:
            raise invalid_input("Invalid request: Expected exactly one of [Weight, Region, "
                                "Failover, GeoLocation, MultiValueAnswer, GeoProximityLocation, "
                                f"or CidrRoutingConfig], but found more than one in {where}")
        if rtype in ("SOA",) or (rtype == "NS" and owner == zone_origin):
            messages.append(f"RRSet of type {rtype} with DNS name {name} is not permitted "
                            "to have a routing policy")
            return None
    geo = rrs.get("GeoLocation")
    if geo is not None:
        _check_geo(geo, where)
    prox = rrs.get("GeoProximityLocation")
    if prox is not None:
        _check_geoproximity(prox, where)
    if rrs.get("MultiValueAnswer") is not None and alias is not None:
        raise invalid_input(f"Invalid request: MultiValueAnswer cannot be used with an alias "
                            f"in {where}")
    if rrs.get("HealthCheckId") is not None and rtype == "SOA":
        raise invalid_input(f"Invalid request: a health check cannot be associated with "
                            f"an SOA record in {where}")

    if not model.is_subdomain(owner, zone_origin):
        messages.append(f"RRSet with DNS name {name} is not permitted in zone {zone_name}")
        return None

    out = {"Name": name, "Type": rtype}
    for k in ("SetIdentifier",) + POLICY_FIELDS + ("HealthCheckId",):
        if rrs.get(k) is not None:
            out[k] = rrs[k]
    wire: list[bytes] = []
    if alias is not None:
        try:
            target = names.name_from_text(alias["DNSName"])
        except names.BadName as e:
            raise invalid_input(f"Invalid request: alias target {alias['DNSName']!r} is not a "
                                f"valid domain name ({e}) in {where}")
        out["AliasTarget"] = {"HostedZoneId": _bare_zone_id(alias["HostedZoneId"]),
                              "DNSName": names.name_to_text(target),
                              "EvaluateTargetHealth": bool(alias["EvaluateTargetHealth"])}
        if rtype in ("SOA", "NS") and owner == zone_origin:
            messages.append(f"RRSet of type {rtype} with DNS name {name} cannot be an alias")
            return None
    else:
        out["TTL"] = rrs["TTL"]
        values = [r.get("Value") for r in rrs["ResourceRecords"]]
        if not values:
            raise invalid_input(f"Invalid request: ResourceRecords is empty in {where}")
        if len(values) > MAX_RECORDS:
            messages.append(f"Number of records limit of {MAX_RECORDS} exceeded.")
            return None
        try:
            rt = rdata.rrtype_from_text(rtype)
        except rdata.RdataError as e:
            raise invalid_input(f"Invalid request: {e} in {where}")
        seen: set[bytes] = set()
        ok = True
        for v in values:
            if v is None or v == "":
                raise invalid_input(f"Invalid request: a ResourceRecord has no Value in {where}")
            try:
                w = rdata.from_text(rt, v, model.ROOT)
            except (rdata.RdataError, model.NameError_, ValueError) as e:
                messages.append(_bad_rdata_message(rtype, v, e))
                ok = False
                continue
            if w in seen:
                messages.append(f"Duplicate Resource Record: '{v}'")
                ok = False
                continue
            seen.add(w)
            wire.append(w)
        if not ok:
            return None
        if rtype in ("CNAME", "SOA") and len(values) > 1:
            messages.append(f"RRSet of type {rtype} with DNS name {name} has more than one "
                            "resource record (only one is allowed)")
            return None
        if rtype == "SOA" and owner != zone_origin:
            messages.append(f"RRSet of type SOA with DNS name {name} is not permitted "
                            f"because SOA records are only allowed at the apex of zone "
                            f"{zone_name}")
            return None
        out["ResourceRecords"] = [{"Value": v} for v in values]
    row = RRsetRow(names.sort_key(owner), rtype, set_id or "", out, wire)
    return Normalized(action, row, owner)


def _instance_change(action: str, rrs: dict, owner: bytes, name: str, rtype: str, where: str,
                     other_fields: bool, zone_origin: bytes,
                     messages: list[str]) -> Normalized | None:
    """A change naming TrafficPolicyInstanceId: only a DELETE of an
    instance's record set is possible (Route 53 then leaves the instance,
    with no record set, until DeleteTrafficPolicyInstance)."""
    if other_fields:
        raise invalid_input("Invalid request: Expected exactly one of [AliasTarget, all of "
                            "[TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found "
                            f"more than one in {where}")
    if action != "DELETE":
        messages.append(f"Tried to {action.lower()} resource record set {name} type {rtype} "
                        "with a TrafficPolicyInstanceId, but the record sets of a traffic "
                        "policy instance are created only by CreateTrafficPolicyInstance and "
                        "UpdateTrafficPolicyInstance")
        return None
    if not model.is_subdomain(owner, zone_origin):
        messages.append(f"RRSet with DNS name {name} is not permitted in zone")
        return None
    out = {"Name": name, "Type": rtype, "TrafficPolicyInstanceId": rrs["TrafficPolicyInstanceId"]}
    return Normalized(action, RRsetRow(names.sort_key(owner), rtype, "", out, []), owner)


def _bare_zone_id(zid: str) -> str:
    return zid.rsplit("/", 1)[-1]


def _check_geo(geo: dict, where: str) -> None:
    cont, country, sub = geo.get("ContinentCode"), geo.get("CountryCode"), \
        geo.get("SubdivisionCode")
    if cont is None and country is None and sub is None:
        raise invalid_input(f"Invalid request: GeoLocation is empty in {where}")
    if cont is not None and (country is not None or sub is not None):
        raise invalid_input("Invalid request: ContinentCode cannot be specified together "
                            f"with CountryCode or SubdivisionCode in {where}")
    if cont is not None and cont not in _CONTINENTS:
        raise invalid_input(f"Invalid request: '{cont}' is not a valid continent code "
                            f"in {where}")
    if sub is not None and country is None:
        raise invalid_input(f"Invalid request: SubdivisionCode requires CountryCode in {where}")
    if country is not None and not (country == "*" or (len(country) == 2 and
                                                        country.isalpha() and
                                                        country.isupper())):
        raise invalid_input(f"Invalid request: '{country}' is not a valid country code "
                            f"in {where}")
    if country == "*" and sub is not None:
        raise invalid_input(f"Invalid request: the default location '*' takes no "
                            f"SubdivisionCode in {where}")


def _check_geoproximity(prox: dict, where: str) -> None:
    given = [k for k in ("AWSRegion", "LocalZoneGroup", "Coordinates") if prox.get(k)]
    if len(given) != 1:
        raise invalid_input("Invalid request: GeoProximityLocation needs exactly one of "
                            f"[AWSRegion, LocalZoneGroup, Coordinates] in {where}")
    c = prox.get("Coordinates")
    if c is not None:
        for field, lim in (("Latitude", 90.0), ("Longitude", 180.0)):
            try:
                v = float(c[field])
            except (TypeError, ValueError, KeyError):
                raise invalid_input(f"Invalid request: {field} {c.get(field)!r} is not a "
                                    f"number in {where}") from None
            if not -lim <= v <= lim:
                raise invalid_input(f"Invalid request: {field} {c[field]} is out of range "
                                    f"-{lim:g}..{lim:g} in {where}")


def _same_content(a: dict, b: dict, wa: list[bytes], wb: list[bytes]) -> bool:
    """DELETE must name the record set exactly: TTL, values, routing fields."""
    ka = {k: v for k, v in a.items() if k not in ("ResourceRecords", PRIVATE)}
    kb = {k: v for k, v in b.items() if k not in ("ResourceRecords", PRIVATE)}
    return ka == kb and sorted(wa) == sorted(wb)


def plan_batch(store: Store, zone_id: str, zone_origin: bytes, zone_name: str,
               changes: list[dict], max_rrsets: int,
               alias_lookup) -> tuple[list[RRsetRow], list[tuple], int]:
    """Validate `changes` against the zone (inside the caller's transaction).

    Returns (rows to write, keys to delete, resulting record-set count) or
    raises Route53Error.  `alias_lookup(zone_id, name_wire, rtype)` answers
    whether an alias target inside one of our zones exists (None: not ours).
    """
    if len(changes) > MAX_CHANGES:
        raise invalid_change_batch([f"Number of records limit of {MAX_CHANGES} exceeded."])
    # Route 53 counts an UPSERT twice (a DELETE and a CREATE) toward both limits
    total_records = total_chars = 0
    for c in changes:
        weight = 2 if c["Action"] == "UPSERT" else 1
        rrs = c["ResourceRecordSet"].get("ResourceRecords") or ()
        total_records += weight * len(rrs)
        total_chars += weight * sum(len(r.get("Value") or "") for r in rrs)
    if total_records > MAX_RECORDS:
        raise invalid_change_batch([f"Number of records limit of {MAX_RECORDS} exceeded."])
    if total_chars > MAX_VALUE_CHARS:
        raise invalid_change_batch(["Number of characters in Value elements exceeds the limit "
                                    f"of {MAX_VALUE_CHARS:,}."])
    messages: list[str] = []
    norm: list[Normalized | None] = []
    for c in changes:
        norm.append(normalize(c["Action"], c["ResourceRecordSet"], zone_origin, zone_name,
                              messages))

    # duplicate changes of one record set: only DELETE followed by CREATE is a valid pair
    by_key: dict[tuple, list[str]] = {}
    for n in norm:
        if n is not None:
            by_key.setdefault(n.key, []).append(n.action)
    for key, actions in by_key.items():
        if len(actions) > 1 and actions != ["DELETE", "CREATE"]:
            n = next(x for x in norm if x is not None and x.key == key)
            messages.append("The request contains an invalid set of changes for a resource "
                            f"record set '{key[1]} {n.row.rrset['Name']}'")
            norm = [x if x is None or x.key != key else None for x in norm]

    overlay: dict[bytes, dict[tuple[str, str], RRsetRow]] = {}

    def at(name_key: bytes) -> dict[tuple[str, str], RRsetRow]:
        if name_key not in overlay:
            overlay[name_key] = {(r.rtype, r.set_id): r
                                 for r in store.rrsets_at(zone_id, name_key)}
        return overlay[name_key]

    count = store.count_rrsets(zone_id)
    touched: set[bytes] = set()
    for n in norm:
        if n is None:
            continue
        r = n.row
        here = at(r.name_key)
        name = r.rrset["Name"]
        label = _rrset_label(name, r.rtype, r.set_id)
        cur = here.get((r.rtype, r.set_id))
        if n.action == "DELETE":
            if cur is None:
                messages.append(f"Tried to delete resource record set {label} but it was "
                                "not found")
                continue
            if not _same_content(cur.rrset, r.rrset, cur.wire, r.wire):
                messages.append(f"Tried to delete resource record set {label} but the values "
                                "provided do not match the current values")
                continue
            if n.owner == zone_origin and r.rtype == "SOA":
                messages.append("A HostedZone must contain exactly one SOA record.")
                continue
            del here[(r.rtype, r.set_id)]
            count -= 1
            touched.add(r.name_key)
            continue
        owned = next((x for (t, _s), x in here.items() if t == r.rtype and PRIVATE in x.rrset),
                     None)
        if owned is not None:
            messages.append(f"Tried to {n.action.lower()} resource record set {label} but it "
                            "belongs to traffic policy instance "
                            f"{owned.rrset['TrafficPolicyInstanceId']}; use "
                            "UpdateTrafficPolicyInstance or DeleteTrafficPolicyInstance")
            continue
        if n.action == "CREATE" and cur is not None:
            messages.append(f"Tried to create resource record set {label} but it already "
                            "exists")
            continue
        if n.owner == zone_origin and r.rtype == "CNAME":
            messages.append(f"RRSet of type CNAME with DNS name {name} is not permitted at "
                            f"apex in zone {zone_name}")
            continue
        if n.owner == zone_origin and r.rtype == "SOA" and cur is None:
            messages.append("A HostedZone must contain exactly one SOA record.")
            continue
        others = {t for (t, _s) in here if t != r.rtype}
        if r.rtype == "CNAME" and others:
            messages.append(f"RRSet of type CNAME with DNS name {name} is not permitted as it "
                            f"conflicts with other records with the same DNS name in zone "
                            f"{zone_name}")
            continue
        if r.rtype != "CNAME" and "CNAME" in others:
            messages.append(f"RRSet of type {r.rtype} with DNS name {name} is not permitted "
                            "because a conflicting RRSet of type  CNAME with the same DNS "
                            f"name already exists in zone {zone_name}")
            continue
        same_type = [x for (t, s), x in here.items() if t == r.rtype and s != r.set_id]
        if same_type:
            if not r.set_id:
                messages.append(f"RRSet with DNS name {name}, type {r.rtype} cannot be created "
                                "as other RRSets exist with the same name and type.")
                continue
            other = same_type[0]
            if not other.set_id:
                messages.append(f"RRSet with DNS name {name}, type {r.rtype}, SetIdentifier "
                                f"{r.set_id} cannot be created as a non-routing-policy set "
                                "exists with the same name and type.")
                continue
            mine = _policy_of(r.rrset)
            theirs = _policy_of(other.rrset)
            if mine != theirs:
                messages.append(f"RRSet with DNS name {name}, type {r.rtype}, SetIdentifier "
                                f"{r.set_id} cannot be created because a {_POLICY_WORD[theirs]}"
                                " set exists with the same name and type.")
                continue
        routing = r.rrset.get("CidrRoutingConfig")
        if routing is not None:
            _check_cidr_routing(store, routing)
            others = [x.rrset["CidrRoutingConfig"]["CollectionId"] for x in same_type
                      if x.rrset.get("CidrRoutingConfig")]
            if any(o != routing["CollectionId"] for o in others):
                messages.append(f"RRSet with DNS name {name}, type {r.rtype}, SetIdentifier "
                                f"{r.set_id} cannot be created because the IP-based record "
                                "sets of one name and type must all use one CIDR collection.")
                continue
        check = r.rrset.get("HealthCheckId")
        if check and not store.health_check_exists(check):
            # Route 53 refuses a record set naming a check that does not
            # exist; a DELETE of one whose check was deleted since stays
            # allowed (handled above, before this point)
            messages.append(f"Invalid request: HealthCheckId {check} does not exist for "
                            f"resource record set {label}")
            continue
        alias = r.rrset.get("AliasTarget")
        if alias is not None:
            found = alias_lookup(alias["HostedZoneId"], names.name_from_text(alias["DNSName"]),
                                 r.rtype, zone_id, overlay)
            if found is False:
                messages.append(f"Tried to create an alias that targets {alias['DNSName']}, "
                                f"type {r.rtype} in zone {alias['HostedZoneId']}, but the "
                                "alias target name does not lie within the target zone")
                continue
            if found == "missing":
                messages.append(f"Tried to create an alias that targets {alias['DNSName']}, "
                                f"type {r.rtype} in zone {alias['HostedZoneId']}, but that "
                                "target was not found")
                continue
        if cur is None:
            count += 1
        here[(r.rtype, r.set_id)] = r
        touched.add(r.name_key)

    apex_key = names.sort_key(zone_origin)
    if apex_key in touched and not any(t == "NS" for (t, _s) in at(apex_key)):
        messages.append("A HostedZone must contain at least one NS record for the zone itself.")
    if count > max_rrsets:
        messages.append(f"The hosted zone would contain {count} resource record sets, more "
                        f"than its limit of {max_rrsets} (MAX_RRSETS_BY_ZONE).")
    if messages:
        raise invalid_change_batch(messages)

    writes: list[RRsetRow] = []
    deletes: list[tuple] = []
    for name_key in touched:
        before = {(r.rtype, r.set_id): r for r in store.rrsets_at(zone_id, name_key)}
        after = overlay[name_key]
        for k in before:
            if k not in after:
                deletes.append((name_key, k[0], k[1]))
        for k, r in after.items():
            if before.get(k) is not r:
                writes.append(r)
    return writes, deletes, count


def _check_cidr_routing(store: Store, routing: dict) -> None:
    """The collection and location must exist ('*' is every collection's
    default), or Route 53 refuses the whole request with its own error."""
    c = cidrstore.get_collection(store, routing["CollectionId"])
    if c is None:
        raise Route53Error("NoSuchCidrCollectionException",
                           "The CIDR collection you specified, doesn't exist.")
    loc = routing["LocationName"]
    if loc != "*" and loc not in cidrstore.locations(store, c["id"]):
        raise Route53Error("NoSuchCidrLocationException",
                           "The CIDR collection location doesn't match any location in your "
                           "account.")


def _policy_of(rrset: dict) -> str:
    for f in POLICY_FIELDS:
        if rrset.get(f) is not None:
            return f
    return ""


_POLICY_WORD = {"Weight": "weighted", "Region": "latency", "Failover": "failover",
                "GeoLocation": "geolocation", "MultiValueAnswer": "multivalue answer",
                "GeoProximityLocation": "geoproximity", "CidrRoutingConfig": "IP-based", "":
                "simple"}

# the model names the routing-policy shapes; keep the list above in step with it
assert set(POLICY_FIELDS) <= set(SHAPES["ResourceRecordSet"]["members"])
