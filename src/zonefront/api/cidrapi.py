"""CIDR collections (IP-based routing) and the geolocation code list, as
Route 53 operations mixed into Route53Service.

A ChangeCidrCollection commits like a change batch (GetChange works on its
id) and wakes the publisher, which hands the collections to the data plane
through ControlPlane.cidr_collections().
"""
from __future__ import annotations

import re
import uuid

from .. import cidr
from ..store import cidrstore
from ..aws.route53_errors import Route53Error, invalid_input
from .geolocations import CONTINENTS, COUNTRIES, SUBDIVISIONS
from .paging import list_limit

MAX_COLLECTIONS = 5  # Route 53's default quota of CIDR collections per account
MAX_BLOCKS_PER_COLLECTION = 1000
MAX_LIST = 100
# Route 53 accepts IPv4 blocks up to /24 and IPv6 up to /48 (the ECS scope
# resolvers send)
MAX_PREFIX = {4: 24, 6: 48}
_LOCATION = re.compile(r"^[0-9A-Za-z_\-]{1,16}$")


def _arn(cid: str) -> str:
    return f"arn:aws:route53:::cidrcollection/{cid}"


def _summary(c: dict) -> dict:
    return {"Arn": _arn(c["id"]), "Id": c["id"], "Name": c["name"], "Version": c["version"]}


def _page(items: list, token: str | None, limit: int, key) -> tuple[list, str | None]:
    """Items after the one named by `token` (a key of the last item returned)."""
    if token:
        items = [x for x in items if key(x) > token]
    if len(items) > limit:
        return items[:limit], key(items[limit - 1])
    return items, None


def canonical_block(text: str) -> str:
    """Route 53's checks on one CIDR block; the canonical text is stored."""
    try:
        net = cidr.parse_block(text)
    except ValueError:
        raise invalid_input(f"{text} is not a valid CIDR block.") from None
    if net.prefixlen > MAX_PREFIX[net.version]:
        raise invalid_input(f"The CIDR block {text} has a prefix longer than "
                            f"/{MAX_PREFIX[net.version]}, the longest Route 53 accepts "
                            f"for IPv{net.version}.")
    return str(net)


class CidrOperations:
    """Mixed into Route53Service: needs self.store, self._change(), self._committed()."""

    def _collection(self, cid: str) -> dict:
        c = cidrstore.get_collection(self.store, cid or "")
        if c is None:
            raise Route53Error("NoSuchCidrCollectionException",
                               "The CIDR collection you specified, doesn't exist.")
        return c

    def CreateCidrCollection(self, inp: dict, ctx) -> dict:
        name, ref = inp["Name"], inp["CallerReference"]
        with self.store.transaction():
            cidrstore.ensure(self.store)
            same_ref = cidrstore.collection_by(self.store, "caller_ref", ref)
            if same_ref is not None:
                if same_ref["name"] != name:
                    raise Route53Error("CidrCollectionAlreadyExistsException",
                                       "A CIDR collection with this caller reference and a "
                                       "different name already exists in this account.")
                c = same_ref  # a retried request: the same answer
            else:
                if cidrstore.collection_by(self.store, "name", name) is not None:
                    raise Route53Error("CidrCollectionAlreadyExistsException",
                                       "A CIDR collection with this name and a different "
                                       "caller reference already exists in this account.")
                if cidrstore.count_collections(self.store) >= MAX_COLLECTIONS:
                    raise Route53Error("LimitsExceeded", "This operation can't be completed "
                                       "because the current account has reached the limit "
                                       f"of {MAX_COLLECTIONS} CIDR collections.")
                cid = str(uuid.uuid4())
                cidrstore.insert_collection(self.store, cid, name, ref)
                c = cidrstore.get_collection(self.store, cid)
        return {"Collection": _summary(c),
                "Location": f"{ctx.base_url}/2013-04-01/cidrcollection/{c['id']}"}

    def ChangeCidrCollection(self, inp: dict, ctx) -> dict:
        changes = inp["Changes"]
        with self.store.transaction():
            c = self._collection(inp["Id"])
            want = inp.get("CollectionVersion")
            if want is not None and int(want) != c["version"]:
                raise Route53Error("CidrCollectionVersionMismatchException",
                                   f"The CIDR collection version you provided, {want}, "
                                   f"doesn't match the one in the ListCidrCollections "
                                   f"operation, {c['version']}.")
            current: dict[str, set[str]] = {}
            for block, loc in cidrstore.blocks(self.store, c["id"]):
                current.setdefault(loc, set()).add(block)
            for ch in changes:
                loc = ch["LocationName"]
                if not _LOCATION.match(loc):
                    raise invalid_input(f"{loc} is not a valid location name: use 1 to 16 "
                                        "letters, digits, '_' or '-' ('*' is only for "
                                        "record sets).")
                blocks = [canonical_block(b) for b in ch["CidrList"]]
                here = current.setdefault(loc, set())
                if ch["Action"] == "PUT":
                    for b in blocks:
                        other = next((x for x, s in current.items() if x != loc and b in s),
                                     None)
                        if other is not None:
                            raise invalid_input(f"The CIDR block {b} is already in location "
                                                f"{other} of this collection.")
                        here.add(b)
                else:  # DELETE_IF_EXISTS
                    here.difference_update(blocks)
            kept = {loc: s for loc, s in current.items() if s}
            if sum(len(s) for s in kept.values()) > MAX_BLOCKS_PER_COLLECTION:
                raise Route53Error("LimitsExceeded", "This operation can't be completed "
                                   "because the collection would have more than "
                                   f"{MAX_BLOCKS_PER_COLLECTION} CIDR blocks.")
            before = {loc for _b, loc in cidrstore.blocks(self.store, c["id"])}
            for loc in sorted(before - set(kept)):
                users = cidrstore.rrsets_using(self.store, c["id"], loc)
                if users:
                    raise Route53Error("CidrBlockInUseException",
                                       f"The last CIDR blocks of location {loc} cannot be "
                                       f"deleted: record set {users[0][1]} in hosted zone "
                                       f"{users[0][0]} uses the location.")
            old = set(cidrstore.blocks(self.store, c["id"]))
            new = {(b, loc) for loc, s in kept.items() for b in s}
            for b, loc in old - new:
                cidrstore.delete_block(self.store, c["id"], loc, b)
            for b, loc in new - old:
                cidrstore.put_block(self.store, c["id"], loc, b)
            cidrstore.bump_collection(self.store, c["id"])
            change = self._change()
        self._committed()
        return {"Id": change["Id"]}

    def ListCidrCollections(self, inp: dict, ctx) -> dict:
        limit = list_limit(inp.get("MaxResults"), MAX_LIST)
        token = inp.get("NextToken") or ""
        rows = cidrstore.list_collections(self.store, token, limit + 1)
        out = {"CidrCollections": [_summary(c) for c in rows[:limit]]}
        if len(rows) > limit:
            out["NextToken"] = rows[limit - 1]["id"]
        return out

    def ListCidrLocations(self, inp: dict, ctx) -> dict:
        c = self._collection(inp["CollectionId"])
        items, nxt = _page(cidrstore.locations(self.store, c["id"]), inp.get("NextToken"),
                           list_limit(inp.get("MaxResults"), MAX_LIST), key=lambda x: x)
        out = {"CidrLocations": [{"LocationName": x} for x in items]}
        if nxt:
            out["NextToken"] = nxt
        return out

    def ListCidrBlocks(self, inp: dict, ctx) -> dict:
        c = self._collection(inp["CollectionId"])
        loc = inp.get("LocationName")
        if loc is not None and loc not in cidrstore.locations(self.store, c["id"]):
            raise Route53Error("NoSuchCidrLocationException",
                               "The CIDR collection location doesn't match any location in "
                               "your account.")
        items, nxt = _page(cidrstore.blocks(self.store, c["id"], loc), inp.get("NextToken"),
                           list_limit(inp.get("MaxResults"), MAX_LIST),
                           key=lambda x: f"{x[1]}/{x[0]}")
        out = {"CidrBlocks": [{"CidrBlock": b, "LocationName": x} for b, x in items]}
        if nxt:
            out["NextToken"] = nxt
        return out

    def DeleteCidrCollection(self, inp: dict, ctx) -> dict:
        with self.store.transaction():
            c = self._collection(inp["Id"])
            users = cidrstore.rrsets_using(self.store, c["id"])
            if users:
                raise Route53Error("CidrCollectionInUseException",
                                   f"This CIDR collection is in use: record set {users[0][1]} "
                                   f"in hosted zone {users[0][0]} uses it.")
            cidrstore.delete_collection(self.store, c["id"])
        self._committed()
        return {}

    # -- geolocation codes -------------------------------------------------

    def GetGeoLocation(self, inp: dict, ctx) -> dict:
        cont, country, sub = (inp.get("ContinentCode"), inp.get("CountryCode"),
                              inp.get("SubdivisionCode"))
        if cont is not None and (country is not None or sub is not None):
            raise invalid_input("ContinentCode cannot be given with CountryCode or "
                                "SubdivisionCode.")
        if sub is not None and country is None:
            raise invalid_input("SubdivisionCode requires CountryCode.")
        if cont is None and country is None:
            # Route 53 answers the default location when nothing is given
            country = "*"
        d = geo_details(cont, country, sub)
        if d is None:
            raise Route53Error("NoSuchGeoLocation", "Amazon Route 53 doesn't support the "
                               "specified geographic location.")
        return {"GeoLocationDetails": d}

    def ListGeoLocations(self, inp: dict, ctx) -> dict:
        try:
            limit = int(inp.get("MaxItems") or MAX_LIST)
        except ValueError:
            raise invalid_input("MaxItems must be an integer") from None
        limit = max(1, min(limit, MAX_LIST))
        cont, country, sub = (inp.get("StartContinentCode"), inp.get("StartCountryCode"),
                              inp.get("StartSubdivisionCode"))
        if cont is not None and (country is not None or sub is not None):
            raise invalid_input("StartContinentCode cannot be given with StartCountryCode "
                                "or StartSubdivisionCode.")
        if sub is not None and country is None:
            raise invalid_input("StartSubdivisionCode requires StartCountryCode.")
        order = GEO_ORDER
        start = 0
        if cont is not None or country is not None:
            key = (cont, country, sub)
            if key not in _GEO_POS:
                raise invalid_input("The start location is not a supported geolocation.")
            start = _GEO_POS[key]
        page = order[start:start + limit]
        out = {"GeoLocationDetailsList": [geo_details(*k) for k in page],
               "IsTruncated": start + limit < len(order), "MaxItems": str(limit)}
        if out["IsTruncated"]:
            c, k, s = order[start + limit]
            if c is not None:
                out["NextContinentCode"] = c
            else:
                out["NextCountryCode"] = k
                if s is not None:
                    out["NextSubdivisionCode"] = s
        return out


def geo_details(cont, country, sub) -> dict | None:
    if cont is not None:
        if cont not in CONTINENTS:
            return None
        return {"ContinentCode": cont, "ContinentName": CONTINENTS[cont]}
    if country == "*":
        return None if sub is not None else {"CountryCode": "*", "CountryName": "Default"}
    if country not in COUNTRIES:
        return None
    d = {"CountryCode": country, "CountryName": COUNTRIES[country]}
    if sub is not None:
        name = SUBDIVISIONS.get(country, {}).get(sub)
        if name is None:
            return None
        d.update(SubdivisionCode=sub, SubdivisionName=name)
    return d


def _geo_order() -> list[tuple]:
    """Route 53's documented order: the default, countries (each followed by
    its subdivisions), then continents."""
    out: list[tuple] = [(None, "*", None)]
    for k in sorted(COUNTRIES):
        out.append((None, k, None))
        out += [(None, k, s) for s in sorted(SUBDIVISIONS.get(k, {}))]
    out += [(c, None, None) for c in sorted(CONTINENTS)]
    return out


GEO_ORDER = _geo_order()
_GEO_POS = {k: i for i, k in enumerate(GEO_ORDER)}
