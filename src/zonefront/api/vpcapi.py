"""Private hosted zones as Route 53 operations mixed into Route53Service:
VPC associations, cross-account association authorizations, and the
zonefront extension that defines VPCs (see api/vpcext.py for its HTTP side).

Accounts: an access key acts for `config.account_of(key)`.  A hosted zone
belongs to the account that created it; a VPC to the account named in its
definition ([vpcs.<id>] account, or the creator's).  As in Route 53, a VPC
can be associated by the account that owns it, with a zone of its own
account or of another account that has authorized the association
(CreateVPCAssociationAuthorization), and disassociated by either owner.

Every association change (and every VPC definition change) is one Change:
the publisher hands the zones over with their new `vpcs` (and the VPCs'
networks through ControlPlane.vpcs()), then marks it INSYNC.
"""
from __future__ import annotations

import base64
import binascii

from .. import vpcdef
from ..store import vpcstore
from ..store.sqlite import ZoneRow
from ..aws.route53_errors import Route53Error, invalid_input
from .paging import list_limit

MAX_LIST_BY_VPC = 100  # ListHostedZonesByVPC MaxItems default and cap
MAX_LIST_AUTHORIZATIONS = 50  # ListVPCAssociationAuthorizations MaxResults default


def _invalid_vpc(vpc_id: str, region: str, why: str = "") -> Route53Error:
    return Route53Error("InvalidVPCId", f"The VPC ID {vpc_id!r} in region {region!r} either "
                        "isn't a valid ID or the current account is not authorized to access "
                        f"this VPC{': ' + why if why else ''}.")


def _vpc_arg(vpc: dict | None) -> tuple[str, str]:
    if not vpc or not vpc.get("VPCId") or not vpc.get("VPCRegion"):
        raise invalid_input("The VPC must be given with both VPCId and VPCRegion.")
    return vpc["VPCRegion"], vpc["VPCId"]


def _token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _untoken(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Route53Error("InvalidPaginationToken", "The value that you specified for "
                           "NextToken in a List request isn't valid.") from None


class VPCOperations:
    """Mixed into Route53Service: needs self.store, self.config, self._zone(),
    self._change() and self._committed()."""

    # -- VPC definitions -----------------------------------------------------

    def vpc_defs(self) -> dict[str, vpcdef.VPCDef]:
        """Every defined VPC: the configuration's, then the store's (an id in
        both is the configuration's)."""
        out = dict(self.config.vpcs)
        for v in vpcstore.list_vpcs(self.store):
            if v["id"] not in out:
                out[v["id"]] = vpcdef.VPCDef(v["id"], v["region"], v["cidrs"], v["account"],
                                             "api")
        return out

    def _defined_vpc(self, region: str, vpc_id: str, account: str | None) -> vpcdef.VPCDef:
        """The VPC, checked as Route 53 checks it for the caller's account:
        it must exist, be in that region, and belong to the caller."""
        d = self.vpc_defs().get(vpc_id)
        if d is None:
            raise _invalid_vpc(vpc_id, region, "no such VPC is defined (define it in [vpcs] "
                               "or with POST /2013-04-01/zonefront/vpc)")
        if d.region != region:
            raise _invalid_vpc(vpc_id, region, f"the VPC is in {d.region}")
        if account is not None and d.account != account:
            raise _invalid_vpc(vpc_id, region, f"the VPC belongs to account {d.account}")
        return d

    def _zone_account(self, z: ZoneRow) -> str:
        return vpcstore.zone_account(self.store, z.id, self.config.account_id)

    def _conflicting_zone(self, name: str, region: str, vpc_id: str,
                          except_id: str | None = None) -> ZoneRow | None:
        """Route 53's rule: a VPC may be associated with one private zone of a
        given name (zones of overlapping names, example.com and
        a.example.com, may share it; the most specific one answers)."""
        for z in vpcstore.zones_with_vpc(self.store, region, vpc_id):
            if z.name == name and z.id != except_id:
                return z
        return None

    def check_private_create(self, name: str, vpc: dict, account: str) -> None:
        """CreateHostedZone with a VPC, inside its transaction."""
        region, vpc_id = _vpc_arg(vpc)
        self._defined_vpc(region, vpc_id, account)
        other = self._conflicting_zone(name, region, vpc_id)
        if other is not None:
            raise Route53Error("ConflictingDomainExists", f"A private hosted zone named {name} "
                               f"({other.id}) is already associated with the VPC {vpc_id} in "
                               f"{region}.")

    # -- associations --------------------------------------------------------

    def AssociateVPCWithHostedZone(self, inp: dict, ctx) -> dict:
        region, vpc_id = _vpc_arg(inp.get("VPC"))
        account = self.config.account_of(ctx.access_key)
        with self.store.transaction():
            z = self._zone(inp["HostedZoneId"])
            self._defined_vpc(region, vpc_id, account)
            if not z.private:
                raise Route53Error("PublicZoneVPCAssociation", "You're trying to associate a "
                                   "VPC with a public hosted zone. Amazon Route 53 doesn't "
                                   "support associating a VPC with a public hosted zone.")
            owner = self._zone_account(z)
            if owner != account and not vpcstore.is_authorized(self.store, z.id, region,
                                                               vpc_id):
                raise Route53Error("NotAuthorizedException", f"The hosted zone {z.id} belongs "
                                   f"to account {owner}; it must authorize the association "
                                   f"of VPC {vpc_id} with CreateVPCAssociationAuthorization "
                                   "first.")
            if vpcstore.has_vpc(z, region, vpc_id):
                raise Route53Error("ConflictingDomainExists", f"The VPC {vpc_id} in {region} "
                                   f"is already associated with the hosted zone {z.id} "
                                   f"({z.name}).")
            other = self._conflicting_zone(z.name, region, vpc_id, z.id)
            if other is not None:
                raise Route53Error("ConflictingDomainExists", f"The VPC {vpc_id} in {region} "
                                   f"is already associated with another hosted zone named "
                                   f"{z.name} ({other.id}).")
            if len(z.vpcs) >= self.config.max_vpcs_per_zone:
                raise Route53Error("LimitsExceeded", "The hosted zone has reached the limit "
                                   f"of {self.config.max_vpcs_per_zone} associated VPCs "
                                   "(MAX_VPCS_ASSOCIATED_BY_ZONE).")
            vpcstore.set_zone_vpcs(self.store, z.id,
                                   z.vpcs + [{"VPCRegion": region, "VPCId": vpc_id}])
            change = self._change(inp.get("Comment"))
        self._committed()
        return {"ChangeInfo": change}

    def DisassociateVPCFromHostedZone(self, inp: dict, ctx) -> dict:
        region, vpc_id = _vpc_arg(inp.get("VPC"))
        account = self.config.account_of(ctx.access_key)
        with self.store.transaction():
            z = self._zone(inp["HostedZoneId"])
            if not (z.private and vpcstore.has_vpc(z, region, vpc_id)):
                # an association outlives its VPC's definition (a [vpcs] entry
                # removed from the file), so it is looked for first
                d = self.vpc_defs().get(vpc_id)
                if d is None or d.region != region:
                    raise _invalid_vpc(vpc_id, region, "no such VPC is defined")
                raise Route53Error("VPCAssociationNotFound", f"The VPC {vpc_id} in {region} "
                                   f"is not associated with the hosted zone {z.id}.")
            d = self.vpc_defs().get(vpc_id)
            vpc_owner = d.account if d is not None else None
            if account not in (self._zone_account(z), vpc_owner):
                raise Route53Error("NotAuthorizedException", "Only the account that owns the "
                                   "hosted zone or the one that owns the VPC can "
                                   "disassociate them.")
            if len(z.vpcs) == 1:
                raise Route53Error("LastVPCAssociation", f"The VPC {vpc_id} is the last VPC "
                                   f"associated with the private hosted zone {z.id}; a "
                                   "private hosted zone keeps at least one (delete the zone "
                                   "instead).")
            vpcstore.set_zone_vpcs(self.store, z.id, [
                v for v in z.vpcs if not (v["VPCId"] == vpc_id and v["VPCRegion"] == region)])
            change = self._change(inp.get("Comment"))
        self._committed()
        return {"ChangeInfo": change}

    def ListHostedZonesByVPC(self, inp: dict, ctx) -> dict:
        limit = list_limit(inp.get("MaxItems"), MAX_LIST_BY_VPC, "MaxItems")
        start = 0
        if inp.get("NextToken"):
            text = _untoken(inp["NextToken"])
            if not text.isdigit():
                raise Route53Error("InvalidPaginationToken", "The value that you specified "
                                   "for NextToken in a List request isn't valid.")
            start = int(text)
        zones = [z for z in vpcstore.zones_with_vpc(self.store, inp["VPCRegion"], inp["VPCId"])
                 if z.seq >= start]
        out = {"HostedZoneSummaries": [
            {"HostedZoneId": z.id, "Name": z.name,
             "Owner": {"OwningAccount": self._zone_account(z)}} for z in zones[:limit]],
            "MaxItems": str(limit)}
        if len(zones) > limit:
            out["NextToken"] = _token(str(zones[limit].seq))
        return out

    # -- cross-account authorizations ---------------------------------------

    def _own_private_zone(self, zone_id: str, ctx) -> ZoneRow:
        z = self._zone(zone_id)
        owner = self._zone_account(z)
        if owner != self.config.account_of(ctx.access_key):
            raise Route53Error("NotAuthorizedException", f"The hosted zone {z.id} belongs to "
                               f"account {owner}; only it manages the zone's VPC association "
                               "authorizations.")
        if not z.private:
            raise invalid_input(f"The hosted zone {z.id} is a public hosted zone; VPCs are "
                                "associated with private hosted zones only.")
        return z

    def CreateVPCAssociationAuthorization(self, inp: dict, ctx) -> dict:
        region, vpc_id = _vpc_arg(inp.get("VPC"))
        with self.store.transaction():
            z = self._own_private_zone(inp["HostedZoneId"], ctx)
            self._defined_vpc(region, vpc_id, None)  # another account's VPC, usually
            have = vpcstore.authorizations(self.store, z.id)
            if (region, vpc_id) not in have:
                if len(have) >= self.config.max_vpc_authorizations_per_zone:
                    raise Route53Error("TooManyVPCAssociationAuthorizations", "You've created "
                                       "the maximum number of authorizations "
                                       f"({self.config.max_vpc_authorizations_per_zone}) for "
                                       f"the hosted zone {z.id}; delete one with "
                                       "DeleteVPCAssociationAuthorization first.")
                vpcstore.authorize(self.store, z.id, region, vpc_id)
        return {"HostedZoneId": z.id, "VPC": {"VPCRegion": region, "VPCId": vpc_id}}

    def ListVPCAssociationAuthorizations(self, inp: dict, ctx) -> dict:
        limit = list_limit(inp.get("MaxResults"), MAX_LIST_AUTHORIZATIONS, "MaxResults")
        z = self._own_private_zone(inp["HostedZoneId"], ctx)
        items = vpcstore.authorizations(self.store, z.id)
        if inp.get("NextToken"):
            region, sep, vpc_id = _untoken(inp["NextToken"]).partition("/")
            if not sep:
                raise Route53Error("InvalidPaginationToken", "The value that you specified "
                                   "for NextToken in a List request isn't valid.")
            items = [a for a in items if a >= (region, vpc_id)]
        out = {"HostedZoneId": z.id,
               "VPCs": [{"VPCRegion": r, "VPCId": v} for r, v in items[:limit]]}
        if len(items) > limit:
            out["NextToken"] = _token("/".join(items[limit]))
        return out

    def DeleteVPCAssociationAuthorization(self, inp: dict, ctx) -> dict:
        region, vpc_id = _vpc_arg(inp.get("VPC"))
        with self.store.transaction():
            z = self._own_private_zone(inp["HostedZoneId"], ctx)
            if not vpcstore.deauthorize(self.store, z.id, region, vpc_id):
                d = self.vpc_defs().get(vpc_id)
                if d is None or d.region != region:
                    raise _invalid_vpc(vpc_id, region, "no such VPC is defined")
                raise Route53Error("VPCAssociationAuthorizationNotFound", f"The VPC {vpc_id} "
                                   f"in {region} is not authorized to be associated with the "
                                   f"hosted zone {z.id}.")
        return {}

    # -- the zonefront VPC extension (api/vpcext.py) ------------------------

    def _vpc_out(self, d: vpcdef.VPCDef) -> dict:
        return {"VPCId": d.vpc_id, "VPCRegion": d.region, "Cidrs": list(d.cidrs),
                "OwningAccount": d.account, "Source": d.source}

    def _api_vpc(self, vpc_id: str, account: str) -> vpcdef.VPCDef:
        d = self.vpc_defs().get(vpc_id)
        if d is None:
            raise Route53Error("NoSuchVPC", f"No VPC is defined with the ID {vpc_id}.", 404)
        if d.source == "config":
            raise Route53Error("VPCDefinedInConfiguration", f"The VPC {vpc_id} is defined in "
                               "the configuration file ([vpcs]); change it there.", 409)
        if d.account != account:
            raise Route53Error("NotAuthorizedException", f"The VPC {vpc_id} belongs to account "
                               f"{d.account}.")
        return d

    def _check_new_networks(self, d: vpcdef.VPCDef) -> None:
        others = [o for o in self.vpc_defs().values() if o.vpc_id != d.vpc_id]
        try:
            vpcdef.check_disjoint(others + [d])
        except vpcdef.VPCDefError as e:
            raise invalid_input(str(e)) from None

    def zf_create_vpc(self, body: dict, access_key: str | None) -> dict:
        account = self.config.account_of(access_key)
        try:
            d = vpcdef.make(body.get("VPCId"), body.get("VPCRegion"), body.get("Cidrs"),
                            account, "api")
        except vpcdef.VPCDefError as e:
            raise invalid_input(str(e)) from None
        with self.store.transaction():
            old = self.vpc_defs().get(d.vpc_id)
            if old is not None:
                raise Route53Error("VPCAlreadyExists", f"A VPC with the ID {d.vpc_id} is "
                                   f"already defined (in {old.region}, from the "
                                   f"{'configuration' if old.source == 'config' else 'API'}).",
                                   409)
            self._check_new_networks(d)
            vpcstore.put_vpc(self.store, d.vpc_id, d.region, d.cidrs, d.account)
            change = self._change(f"define VPC {d.vpc_id}")
        self._committed()
        return {"VPC": self._vpc_out(d), "ChangeInfo": change}

    def zf_update_vpc(self, vpc_id: str, body: dict, access_key: str | None) -> dict:
        account = self.config.account_of(access_key)
        with self.store.transaction():
            d = self._api_vpc(vpc_id, account)
            if body.get("VPCRegion") not in (None, d.region):
                raise invalid_input(f"The VPC {vpc_id} is in {d.region}; a VPC's region "
                                    "cannot change (define a new VPC instead).")
            if body.get("VPCId") not in (None, vpc_id):
                raise invalid_input("The VPCId in the body differs from the one in the path.")
            try:
                cidrs = vpcdef.canonical_cidrs(body.get("Cidrs"))
            except vpcdef.VPCDefError as e:
                raise invalid_input(str(e)) from None
            d = vpcdef.VPCDef(d.vpc_id, d.region, cidrs, d.account, "api")
            self._check_new_networks(d)
            vpcstore.put_vpc(self.store, d.vpc_id, d.region, d.cidrs, d.account)
            change = self._change(f"update VPC {d.vpc_id}")
        self._committed()
        return {"VPC": self._vpc_out(d), "ChangeInfo": change}

    def zf_delete_vpc(self, vpc_id: str, access_key: str | None) -> dict:
        account = self.config.account_of(access_key)
        with self.store.transaction():
            d = self._api_vpc(vpc_id, account)
            used = vpcstore.zones_with_vpc_id(self.store, vpc_id)
            if used:
                raise Route53Error("VPCInUse", f"The VPC {vpc_id} is associated with "
                                   f"{len(used)} private hosted zone(s) "
                                   f"({', '.join(z.id for z in used[:5])}); disassociate "
                                   "them (or delete the zones) first.", 400)
            vpcstore.delete_vpc(self.store, d.vpc_id)
            change = self._change(f"delete VPC {d.vpc_id}")
        self._committed()
        return {"ChangeInfo": change}

    def zf_get_vpc(self, vpc_id: str) -> dict:
        d = self.vpc_defs().get(vpc_id)
        if d is None:
            raise Route53Error("NoSuchVPC", f"No VPC is defined with the ID {vpc_id}.", 404)
        return {"VPC": self._vpc_out(d)}

    def zf_list_vpcs(self) -> dict:
        return {"VPCs": [self._vpc_out(d) for _id, d in sorted(self.vpc_defs().items())]}


def startup_problems(service) -> tuple[list[str], list[str]]:
    """(errors, warnings) about the VPC definitions as the server starts: a
    [vpcs] entry added to the file may clash with a VPC defined through the
    API (same id, overlapping networks), and a [vpcs] entry removed from it
    may still be associated with zones (they then answer no source there)."""
    errors, warnings = [], []
    stored = {v["id"]: v for v in vpcstore.list_vpcs(service.store)}
    for vid in sorted(set(stored) & set(service.config.vpcs)):
        warnings.append(f"VPC {vid} is defined both in the configuration and through the API; "
                        "the configuration's definition is used")
    try:
        vpcdef.check_disjoint(service.vpc_defs().values())
    except vpcdef.VPCDefError as e:
        errors.append(f"VPC definitions clash: {e}; change [vpcs] in the configuration or "
                      "the VPC defined through the API")
    defined = service.vpc_defs()
    for z in vpcstore.private_zones(service.store):
        for v in z.vpcs:
            d = defined.get(v["VPCId"])
            if d is None or d.region != v["VPCRegion"]:
                warnings.append(f"private hosted zone {z.id} ({z.name}) is associated with "
                                f"{v['VPCId']} in {v['VPCRegion']}, which is not defined: no "
                                "source address sees the zone through it")
    return errors, warnings
