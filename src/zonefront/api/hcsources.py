"""Health check sources (private endpoint health checks), mixed into
Route53Service: Create/Get/List/DeleteHealthCheckSource and
ListHealthChecksBySource, and the check that a health check naming a source
names one that exists.

In zonefront a source is a checker location inside a named network (a VPC
of the [vpcs] definitions): `zonefront checker --source ID`, started in that
network, probes the health checks that name the source (and only it does:
the other locations cannot reach private endpoints).  The source is
CREATE_PENDING until such a checker has registered, then CREATE_COMPLETED.
"""
from __future__ import annotations

import uuid

from ..store import hcsourcestore
from ..aws.route53_errors import Route53Error, invalid_input
from .paging import list_limit

MAX_SOURCES = 50  # a zonefront quota: TooManyHealthCheckSources beyond it
MAX_LIST = 100


def _no_such(source_id: str) -> Route53Error:
    return Route53Error("NoSuchHealthCheckSource",
                        f"No health check source exists with the ID {source_id}.")


def check_config(store, cfg: dict) -> None:
    """A HealthCheckConfig naming a source: the source must exist, and the
    check is then a PRIVATE endpoint check."""
    sid = cfg.get("HealthCheckSourceId")
    if sid and hcsourcestore.get(store, sid) is None:
        raise invalid_input(f"The health check source {sid} does not exist.")
    if cfg.get("EndpointType") == "PRIVATE" and not sid:
        raise invalid_input("A PRIVATE endpoint health check must name its "
                            "HealthCheckSourceId.")


class HealthCheckSourceOperations:
    """Mixed into Route53Service: needs self.store, self.vpc_defs(), self._health_check_out()."""

    def _source_out(self, s: dict) -> dict:
        ready = bool(hcsourcestore.checkers(self.store, s["id"]))
        return {"HealthCheckSourceId": s["id"],
                "HealthCheckSourceStatus": "CREATE_COMPLETED" if ready else "CREATE_PENDING",
                "HealthCheckSourceConfig": s["config"]}

    def _source(self, source_id: str) -> dict:
        s = hcsourcestore.get(self.store, source_id or "")
        if s is None:
            raise _no_such(source_id)
        return s

    def CreateHealthCheckSource(self, inp: dict, ctx) -> dict:
        ref = inp["CallerReference"]
        cfg = inp["HealthCheckSourceConfig"]
        subnets = cfg.get("SubnetConfigurationList") or []
        if not 2 <= len(subnets) <= 3:
            raise invalid_input("SubnetConfigurationList must hold two or three subnets.")
        with self.store.transaction():
            existing = hcsourcestore.by_caller_ref(self.store, ref)
            if existing is not None:
                raise Route53Error("HealthCheckSourceAlreadyExists", "A health check source "
                                   "with this caller reference already exists.")
            if cfg["VpcId"] not in self.vpc_defs():
                raise Route53Error("InvalidVPCId", f"The VPC ID '{cfg['VpcId']}' is not "
                                   f"defined (define it in [vpcs] or with POST "
                                   f"/2013-04-01/zonefront/vpc).")
            if len(hcsourcestore.list_sources(self.store)) >= MAX_SOURCES:
                raise Route53Error("TooManyHealthCheckSources", f"An account can have at "
                                   f"most {MAX_SOURCES} health check sources.")
            sid = str(uuid.uuid4())
            hcsourcestore.insert(self.store, sid, ref, cfg["VpcId"], cfg)
            for t in inp.get("Tags") or []:
                self.store.set_tag("healthchecksource", sid, t["Key"], t.get("Value", ""))
        return {"HealthCheckSourceId": sid, "HealthCheckSourceStatus": "CREATE_PENDING",
                "Location": f"{ctx.base_url}/2013-04-01/healthchecksource/{sid}"}

    def GetHealthCheckSource(self, inp: dict, ctx) -> dict:
        return {"HealthCheckSource": self._source_out(self._source(inp["HealthCheckSourceId"]))}

    def ListHealthCheckSources(self, inp: dict, ctx) -> dict:
        limit = list_limit(inp.get("MaxResults"), MAX_LIST)
        rows = hcsourcestore.list_sources(self.store)
        token = inp.get("NextToken")
        if token:
            rows = [s for s in rows if s["id"] > token]
        out = {"HealthCheckSources": [self._source_out(s) for s in rows[:limit]]}
        if len(rows) > limit:
            out["NextToken"] = rows[limit - 1]["id"]
        return out

    def DeleteHealthCheckSource(self, inp: dict, ctx) -> dict:
        with self.store.transaction():
            s = self._source(inp["HealthCheckSourceId"])
            users = [h["id"] for h in self.store.list_health_checks()
                     if h["config"].get("HealthCheckSourceId") == s["id"]]
            if users:
                raise invalid_input(f"The health check source {s['id']} is used by "
                                    f"{len(users)} health checks ({users[0]}, ...); delete "
                                    f"them first.")
            hcsourcestore.delete(self.store, s["id"])
        return {"HealthCheckSourceId": s["id"], "HealthCheckSourceStatus": "DELETE_COMPLETED"}

    def ListHealthChecksBySource(self, inp: dict, ctx) -> dict:
        s = self._source(inp["HealthCheckSourceId"])
        limit = list_limit(inp.get("MaxItems"), MAX_LIST, "MaxItems")
        rows = [h for h in self.store.list_health_checks()
                if h["config"].get("HealthCheckSourceId") == s["id"]]
        marker = inp.get("Marker")
        if marker:
            ids = [h["id"] for h in rows]
            if marker not in ids:
                raise invalid_input(f"Marker {marker} names no health check of this source.")
            rows = rows[ids.index(marker):]
        out = {"HealthChecks": [self._health_check_out(h) for h in rows[:limit]],
               "Marker": marker or "", "IsTruncated": len(rows) > limit,
               "MaxItems": str(limit)}
        if len(rows) > limit:
            out["NextMarker"] = rows[limit]["id"]
        return out
