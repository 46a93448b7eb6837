"""Route 53 query logging configurations (CreateQueryLoggingConfig,
GetQueryLoggingConfig, ListQueryLoggingConfigs, DeleteQueryLoggingConfig),
mixed into Route53Service.

A configuration names a CloudWatch Logs group by ARN
(arn:aws:logs:REGION:ACCOUNT:log-group:NAME); zonefront has no CloudWatch,
so the data plane writes the group's lines to a local sink instead
(dataplane/querylog.py: DATA_DIR/query-logs/NAME.log by default).  As in
Route 53, only public hosted zones log, one configuration per zone.
"""
from __future__ import annotations

import re
import uuid

from ..store import querylogstore
from ..aws.route53_errors import Route53Error, invalid_input

MAX_LIST = 100
# Route 53 takes the group's ARN with or without the trailing ":*"
LOG_GROUP_ARN = re.compile(
    r"^arn:aws[a-z-]*:logs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):log-group:"
    r"(?P<name>[A-Za-z0-9_\-/.#]{1,512})(?::\*)?$")


def log_group_name(arn: str) -> str | None:
    """The group's name in a CloudWatch Logs log group ARN, or None."""
    m = LOG_GROUP_ARN.match(arn or "")
    return m.group("name") if m else None


def _out(c: dict) -> dict:
    return {"Id": c["id"], "HostedZoneId": c["zone_id"],
            "CloudWatchLogsLogGroupArn": c["log_group"]}


class QueryLoggingOperations:
    """Mixed into Route53Service: needs self.store, self._zone()."""

    def _qlc(self, qid: str) -> dict:
        c = querylogstore.get(self.store, qid or "")
        if c is None:
            raise Route53Error("NoSuchQueryLoggingConfig",
                               "There is no DNS query logging configuration with the ID "
                               f"{qid}.")
        return c

    def CreateQueryLoggingConfig(self, inp: dict, ctx) -> dict:
        arn = inp["CloudWatchLogsLogGroupArn"]
        if log_group_name(arn) is None:
            raise invalid_input(f"{arn} is not a valid CloudWatch Logs log group ARN "
                                "(arn:aws:logs:REGION:ACCOUNT:log-group:NAME).")
        with self.store.transaction():
            z = self._zone(inp["HostedZoneId"])
            if z.private:
                raise invalid_input("Query logging is only available for public hosted "
                                    "zones.")
            if querylogstore.for_zone(self.store, z.id) is not None:
                raise Route53Error("QueryLoggingConfigAlreadyExists",
                                   "A query logging configuration already exists for this "
                                   "hosted zone.")
            qid = str(uuid.uuid4())
            querylogstore.insert(self.store, qid, z.id, arn)
            c = querylogstore.get(self.store, qid)
        self._committed()
        return {"QueryLoggingConfig": _out(c),
                "Location": f"{ctx.base_url}/2013-04-01/queryloggingconfig/{qid}"}

    def GetQueryLoggingConfig(self, inp: dict, ctx) -> dict:
        return {"QueryLoggingConfig": _out(self._qlc(inp["Id"]))}

    def ListQueryLoggingConfigs(self, inp: dict, ctx) -> dict:
        configs = querylogstore.all_configs(self.store)
        if inp.get("HostedZoneId"):
            z = self._zone(inp["HostedZoneId"])
            configs = [c for c in configs if c["zone_id"] == z.id]
        limit = MAX_LIST
        if inp.get("MaxResults") not in (None, ""):
            try:
                limit = max(1, min(MAX_LIST, int(inp["MaxResults"])))
            except (TypeError, ValueError):
                raise invalid_input("MaxResults must be an integer") from None
        token = inp.get("NextToken")
        if token:
            if not any(c["id"] == token for c in configs):
                raise Route53Error("InvalidPaginationToken",
                                   "The value that you specified for NextToken in a List "
                                   "request isn't valid.")
            configs = [c for c in configs if c["id"] > token]
        out = {"QueryLoggingConfigs": [_out(c) for c in configs[:limit]]}
        if len(configs) > limit:
            out["NextToken"] = configs[limit - 1]["id"]
        return out

    def DeleteQueryLoggingConfig(self, inp: dict, ctx) -> dict:
        with self.store.transaction():
            c = self._qlc(inp["Id"])
            querylogstore.delete(self.store, c["id"])
        self._committed()
        return {}
