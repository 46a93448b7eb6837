"""Record-set protections (Create/Delete/ListResourceRecordSetProtections),
mixed into Route53Service, and `check()`, the one gate every writer of
record sets calls before it changes a name and type.

A protected owner name + type refuses every change, whatever the path:
ChangeResourceRecordSets, `zonefront zone import`, and a traffic policy
instance (its writer calls `check()` with the sets it would write).  The
refusal is InvalidChangeBatch, as Route 53 answers a change batch that
touches a protected record set.
"""
from __future__ import annotations

import base64
import json
import time
from xml.sax.saxutils import escape

from ..store import protstore
from ..aws import names
from ..aws.route53_errors import Route53Error, invalid_change_batch, invalid_input
from .paging import list_limit

MAX_LIST = 100  # ListResourceRecordSetProtections' largest page
MAX_PER_ZONE = 1000  # a zonefront quota (LimitsExceeded beyond it)


def canonical(name: str, rtype: str) -> tuple[str, str]:
    """(owner text, type) as stored: lower case, absolute, escapes resolved."""
    try:
        return names.name_to_text(names.name_from_text(name)), rtype.upper()
    except names.BadName as e:
        raise invalid_input(f"{name} is not a valid domain name: {e}") from None


def check(store, zone_id: str, keys) -> None:
    """Raise InvalidChangeBatch when any (name, type) of `keys` is protected
    in the hosted zone.  Call it inside the writer's transaction, so a
    protection created concurrently is either seen or created after."""
    wanted = [canonical(n, t) for n, t in keys]
    hit = protstore.protected(store, zone_id, wanted)
    if hit:
        raise invalid_change_batch([
            f"RRSet with DNS name {n} and type {t} is protected by a resource record set "
            f"protection; delete the protection before changing it" for n, t in
            sorted(hit, key=lambda k: (names.sort_key(names.name_from_text(k[0])), k[1]))])


def _sort_key(owner_text: str, rtype: str) -> tuple[bytes, str]:
    return names.sort_key(names.name_from_text(owner_text)), rtype


def _errors_xml(items: list[tuple[str, str, str, str]]) -> str:
    return "<Errors>" + "".join(
        f"<ProtectionError><RecordName>{escape(n)}</RecordName><RecordType>{escape(t)}"
        f"</RecordType><Code>{escape(c)}</Code><Message>{escape(m)}</Message>"
        f"</ProtectionError>" for n, t, c, m in items) + "</Errors>"


def _batch_error(code: str, items: list[tuple[str, str, str, str]]) -> Route53Error:
    return Route53Error(code, "; ".join(m for _n, _t, _c, m in items),
                        extra_xml=_errors_xml(items))


def _token_out(key: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def _token_in(token: str) -> tuple[str, str]:
    try:
        n, t = json.loads(base64.urlsafe_b64decode(token.encode()))
        return str(n), str(t)
    except (ValueError, TypeError):  # not base64, not JSON, not a pair
        raise Route53Error("InvalidPaginationToken", "The pagination token is not valid.") \
            from None


class ProtectionOperations:
    """Mixed into Route53Service: needs self.store, self._zone()."""

    def _protection_batch(self, inp: dict) -> list[tuple[str, str, dict]]:
        out, seen, dup = [], set(), []
        for p in inp.get("Protections") or []:
            key = canonical(p["RecordName"], p["RecordType"])
            if key in seen:
                dup.append((*key, "DuplicateProtection",
                            f"{key[0]} {key[1]} appears more than once in the request"))
            seen.add(key)
            out.append((*key, p))
        if dup:
            raise _batch_error("InvalidResourceRecordSetProtectionBatch", dup)
        return out

    def CreateResourceRecordSetProtections(self, inp: dict, ctx) -> dict:
        with self.store.transaction():
            z = self._zone(inp["HostedZoneId"])
            batch = self._protection_batch(inp)
            exists = protstore.protected(self.store, z.id, [(n, t) for n, t, _p in batch])
            if exists:
                raise _batch_error("ProtectionAlreadyExists", [
                    (n, t, "ProtectionAlreadyExists", f"{n} {t} is already protected")
                    for n, t in sorted(exists)])
            if protstore.count(self.store, z.id) + len(batch) > MAX_PER_ZONE:
                raise Route53Error("LimitsExceeded", f"A hosted zone can have at most "
                                   f"{MAX_PER_ZONE} resource record set protections.")
            now = time.time()
            for n, t, p in batch:
                protstore.insert(self.store, z.id, n, t, p.get("Comment"), now)
        return {}

    def DeleteResourceRecordSetProtections(self, inp: dict, ctx) -> dict:
        with self.store.transaction():
            z = self._zone(inp["HostedZoneId"])
            batch = self._protection_batch(inp)
            keys = [(n, t) for n, t, _p in batch]
            missing = sorted(set(keys) - protstore.protected(self.store, z.id, keys))
            if missing:
                raise _batch_error("InvalidResourceRecordSetProtectionBatch", [
                    (n, t, "NoSuchProtection", f"{n} {t} is not protected")
                    for n, t in missing])
            for n, t in keys:
                protstore.delete(self.store, z.id, n, t)
        return {}

    def ListResourceRecordSetProtections(self, inp: dict, ctx) -> dict:
        z = self._zone(inp["HostedZoneId"])
        limit = list_limit(inp.get("MaxResults"), MAX_LIST)
        rows = sorted(protstore.list_protections(self.store, z.id),
                      key=lambda r: _sort_key(r["owner_text"], r["rtype"]))
        start = None
        if inp.get("NextToken"):
            start = _sort_key(*_token_in(inp["NextToken"]))
        elif inp.get("StartRecordName"):
            n, t = canonical(inp["StartRecordName"], inp.get("StartRecordType") or "")
            start = _sort_key(n, t)
        elif inp.get("StartRecordType"):
            raise invalid_input("StartRecordType requires StartRecordName")
        if start is not None:
            rows = [r for r in rows if _sort_key(r["owner_text"], r["rtype"]) >= start]
        out = {"ResourceRecordSetProtections": [
            {"RecordName": r["owner_text"], "RecordType": r["rtype"],
             **({"Comment": r["comment"]} if r["comment"] is not None else {})}
            for r in rows[:limit]]}
        if len(rows) > limit:
            nxt = rows[limit]
            out["NextToken"] = _token_out((nxt["owner_text"], nxt["rtype"]))
        return out
