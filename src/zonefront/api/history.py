"""Change history of ADVANCED hosted zones: GetHostedZoneChangeBatch,
ListHostedZoneChangeBatches and ListResourceRecordSetChanges, mixed into
Route53Service, and `record()`, which a writer calls inside its own
transaction so that the batch and its history commit together.

Who submitted is the access key's principal (its IAM user ARN), with the
request id the API answered with.  Entries are kept `change_history_days`
(config [zones]); a zone's history starts when it became ADVANCED and is
FeatureNotEnabled while it is STANDARD.
"""
from __future__ import annotations

import base64
import json
import time
from datetime import datetime

from ..store import historystore, zonefeatures
from ..aws import names
from ..aws.route53_errors import Route53Error, invalid_input
from .paging import list_limit

MAX_LIST = 100
DEFAULT_RETENTION_DAYS = 90


def _retention_start(config) -> float:
    days = getattr(config, "change_history_days", DEFAULT_RETENTION_DAYS)
    return time.time() - days * 86400.0


def record(store, config, zone_id: str, change_id: str, operation: str, changes: list,
           comment: str | None, ctx) -> None:
    """Note one committed batch (call inside its transaction); a no-op for a
    STANDARD zone."""
    if zonefeatures.get(store, zone_id).tier != "ADVANCED":
        return
    historystore.insert(store, {
        "change_id": change_id.rsplit("/", 1)[-1], "zone_id": zone_id,
        "submitted": time.time(), "operation": operation,
        "principal": getattr(ctx, "principal", None),
        "request_id": getattr(ctx, "request_id", None), "comment": comment,
        "change_count": len(changes), "changes": changes}, _retention_start(config))


def _time_bound(value, what: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise invalid_input(f"{what} {value!r} is not an ISO 8601 date and time") from None
    if t.tzinfo is None:
        raise invalid_input(f"{what} must give a time zone (Z or +hh:mm)")
    return t.timestamp()


def _token_out(position: int, context: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([position, context]).encode()).decode()


def _token_in(token: str | None, context: str) -> int:
    """The position a NextToken names; it must come from the same query."""
    if not token:
        return 0
    try:
        position, ctx = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError):  # not base64, not JSON, not a pair
        position, ctx = None, None
    if ctx == context and isinstance(position, int) and position >= 0:
        return position
    raise Route53Error("InvalidPaginationToken", "The pagination token is not valid.")


def _summary(e: dict) -> dict:
    out = {"ChangeId": e["change_id"], "Operation": e["operation"],
           "SubmittedAt": e["submitted"], "ChangeCount": e["change_count"]}
    for key, member in (("principal", "SubmittedBy"), ("request_id", "RequestId"),
                        ("comment", "Comment")):
        if e[key] is not None:
            out[member] = e[key]
    return out


def _sort(entries: list, order) -> list:
    if order in (None, "", "ASCENDING"):
        return entries
    if order == "DESCENDING":
        return entries[::-1]
    raise invalid_input(f"SortOrder must be ASCENDING or DESCENDING, not {order!r}")


class HistoryOperations:
    """Mixed into Route53Service: needs self.store, self.config, self._zone()."""

    def _history_zone(self, zone_id: str):
        z = self._zone(zone_id)
        if zonefeatures.get(self.store, z.id).tier != "ADVANCED":
            raise Route53Error("FeatureNotEnabled", "Change history is a feature of the "
                               "ADVANCED tier; use UpdateHostedZoneTier to enable it.")
        return z

    def _entries(self, z, inp: dict) -> list[dict]:
        after = _time_bound(inp.get("SubmittedAfter"), "SubmittedAfter")
        before = _time_bound(inp.get("SubmittedBefore"), "SubmittedBefore")
        if after is not None and before is not None and after > before:
            raise invalid_input("SubmittedAfter must not be later than SubmittedBefore")
        entries = historystore.list_entries(self.store, z.id, after, before,
                                            _retention_start(self.config))
        return _sort(entries, inp.get("SortOrder"))

    def GetHostedZoneChangeBatch(self, inp: dict, ctx) -> dict:
        z = self._history_zone(inp["HostedZoneId"])
        cid = inp["ChangeId"].removeprefix("/change/")
        if not (0 < len(cid) <= 32 and cid.isascii() and cid.isalnum()):
            raise invalid_input(f"ChangeId {inp['ChangeId']!r} is not a change id "
                                "(up to 32 letters and digits)")
        e = historystore.get(self.store, z.id, cid)
        if e is None or e["submitted"] < _retention_start(self.config):
            raise Route53Error("NoSuchChange", f"A change with the specified change ID "
                               f"does not exist in this hosted zone's history: {cid}")
        batch = {"Changes": e["changes"]}
        if e["comment"] is not None:
            batch["Comment"] = e["comment"]
        return {"ChangeBatchSummary": _summary(e), "ChangeBatch": batch}

    def ListHostedZoneChangeBatches(self, inp: dict, ctx) -> dict:
        z = self._history_zone(inp["HostedZoneId"])
        limit = list_limit(inp.get("MaxResults"), MAX_LIST)
        entries = self._entries(z, inp)
        start_after = inp.get("StartAfterChangeId")
        if start_after:
            sid = start_after.rsplit("/", 1)[-1]
            ids = [e["change_id"] for e in entries]
            if sid not in ids:
                raise Route53Error("InvalidInput",
                                   f"StartAfterChangeId {sid} is not in the selected history")
            entries = entries[ids.index(sid) + 1:]
        query = json.dumps([z.id, inp.get("SubmittedAfter"), inp.get("SubmittedBefore"),
                            inp.get("SortOrder"), start_after])
        pos = _token_in(inp.get("NextToken"), query)
        page = entries[pos:pos + limit]
        out = {"ChangeBatchSummaries": [_summary(e) for e in page]}
        if pos + limit < len(entries):
            out["NextToken"] = _token_out(pos + limit, query)
        return out

    def ListResourceRecordSetChanges(self, inp: dict, ctx) -> dict:
        z = self._history_zone(inp["HostedZoneId"])
        limit = list_limit(inp.get("MaxResults"), MAX_LIST)
        want_name = None
        if inp.get("RecordName"):
            try:
                want_name = names.name_to_text(names.name_from_text(inp["RecordName"]))
            except names.BadName as e:
                raise invalid_input(f"RecordName is not a valid domain name: {e}") from None
        want_type = inp.get("RecordType")
        items = []
        for e in self._entries(z, inp):
            for c in e["changes"]:
                r = c["ResourceRecordSet"]
                if want_name is not None and names.name_to_text(
                        names.name_from_text(r["Name"])) != want_name:
                    continue
                if want_type and r["Type"] != want_type:
                    continue
                item = {k: v for k, v in _summary(e).items()
                        if k in ("ChangeId", "Operation", "SubmittedAt", "SubmittedBy",
                                 "RequestId")}
                item.update(Action=c["Action"], ResourceRecordSet=r)
                items.append(item)
        query = json.dumps([z.id, want_name, want_type, inp.get("SubmittedAfter"),
                            inp.get("SubmittedBefore"), inp.get("SortOrder")])
        pos = _token_in(inp.get("NextToken"), query)
        out = {"ResourceRecordSetChanges": items[pos:pos + limit]}
        if pos + limit < len(items):
            out["NextToken"] = _token_out(pos + limit, query)
        return out
