"""The Route 53 Domains operations: decoded request dict and calling account
in, response dict out (shapes as botocore's model names them).

The request path only validates and queues: an operation that changes a
domain is written as a SUBMITTED row (and, for a registration, a pending
row that reserves the name) in one transaction, and worker.py applies it.
Reads and the synchronous switches (auto-renew, tags) act at once.
"""
from __future__ import annotations

import base64
import datetime as _dt
import ipaddress
import secrets
import string
import time
import uuid
from typing import Callable

from ..config import Config
from ..store.sqlite import Store
from . import contacts as contacts_mod
from . import dnssec, names
from ..aws._domains_model import OPERATIONS
from .restore import RestoreOperations
from .errors import DomainsError, duplicate, invalid_input, tld_rules, unsupported_tld
from .store import DomainRow, RegistryStore

_AUTH_CHARS = string.ascii_letters + string.digits + "!#%*+-=?"
MAX_NAMESERVERS = 13
DEFAULT_PAGE = 20
LIVE = ("active", "expired", "redemption")  # states the owner sees


def new_op_id() -> str:
    return str(uuid.uuid4())


def new_auth_code() -> str:
    return "".join(secrets.choice(_AUTH_CHARS) for _ in range(16))


def add_years(ts: float, years: int) -> float:
    d = _dt.datetime.fromtimestamp(ts, _dt.timezone.utc)
    try:
        d = d.replace(year=d.year + years)
    except ValueError:  # 29 February
        d = d.replace(year=d.year + years, day=28)
    return d.timestamp()


def expiry_year(ts: float) -> int:
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).year


def _marker_out(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def _marker_in(marker: str | None) -> int:
    if not marker:
        return 0
    try:
        text = base64.urlsafe_b64decode(marker.encode()).decode()
        if text.startswith("o:") and int(text[2:]) >= 0:
            return int(text[2:])
    except (ValueError, UnicodeError):
        pass
    raise invalid_input(f"Invalid marker: {marker}")


def _page(items: list, inp: dict, cap: int, default: int = DEFAULT_PAGE):
    start = _marker_in(inp.get("Marker"))
    n = inp.get("MaxItems") or default
    if n < 1 or n > cap:
        raise invalid_input(f"MaxItems must be within 1..{cap}.")
    chunk = items[start:start + n]
    nxt = _marker_out(start + n) if start + n < len(items) else None
    return chunk, nxt


class Registry(RestoreOperations):
    """State in the Store (registry tables); `on_submit()` wakes the worker."""

    def __init__(self, store: Store, config: Config,
                 on_submit: Callable[[], None] = lambda: None):
        self.store = store
        self.rs = RegistryStore(store)
        self.config = config
        self.rc = config.registry
        self.on_submit = on_submit

    # -- names -------------------------------------------------------------

    def account_of(self, access_key: str | None) -> str:
        if access_key is None:
            return self.config.account_id
        return self.rc.accounts.get(access_key, self.config.account_id)

    def registrable(self, text: str) -> tuple[names.Name, str]:
        """A name one label below an operator TLD, or the error saying why not."""
        n = names.parse(text)
        tld, written = names.split(n, self.rc.tlds)
        if tld is None:
            raise unsupported_tld(written)
        if n.ldh == tld:
            raise invalid_input(f"{n.ldh} is a top-level domain; only names below it can be "
                                "registered.")
        if len(n.labels) != len(tld.split(".")) + 1:
            raise invalid_input(f"{n.ldh} is a subdomain; only names directly below .{tld} "
                                "can be registered.")
        if n.idn and not self.rc.idn:
            raise tld_rules(f".{tld} does not accept internationalized domain names.")
        return n, tld

    def availability(self, n: names.Name, tld: str | None) -> str:
        if tld is None:
            return "DONT_KNOW"
        if n.ldh == tld or len(n.labels) != len(tld.split(".")) + 1 or \
                (n.idn and not self.rc.idn):
            return "INVALID_NAME_FOR_TLD"
        if n.ldh in self.rc.reserved or n.labels[0] in self.rc.reserved:
            return "RESERVED"
        if self.rs.get(n.ldh) is not None:
            return "UNAVAILABLE"
        if n.ldh in self.rc.premium:
            return "UNAVAILABLE_PREMIUM"
        return "AVAILABLE"

    def owned(self, text: str, account: str) -> DomainRow:
        n, _tld = self.registrable(text)
        d = self.rs.get(n.ldh)
        if d is None or d.state == "pending" or d.account != account:
            raise invalid_input(f"Domain {n.ldh} not found in account {account}.")
        return d

    # -- operations --------------------------------------------------------

    def _open_ops_check(self, account: str) -> None:
        if self.rs.count_open_ops(account) >= self.rc.max_operations:
            raise DomainsError("OperationLimitExceeded", "The number of operations or jobs "
                               "running exceeded the allowed threshold for the account.")

    def _submit(self, d: DomainRow, account: str, op_type: str, params: dict) -> str:
        """Queue `op_type` on `d` (inside a transaction) and mark it busy."""
        if d.busy_op:
            raise duplicate(d.busy_op)
        self._open_ops_check(account)
        op_id = new_op_id()
        self.rs.add_op(op_id, account, d.name, op_type, params)
        d.busy_op = op_id
        d.updated = time.time()
        self.rs.put(d)
        return op_id

    def _queue(self, text: str, account: str, op_type: str, params: dict,
               check: Callable[[DomainRow], None] | None = None) -> dict:
        with self.store.transaction():
            d = self.owned(text, account)
            if check is not None:
                check(d)
            op_id = self._submit(d, account, op_type, params)
        self.on_submit()
        return {"OperationId": op_id}

    def _contacts(self, inp: dict, required: bool) -> tuple[dict, dict]:
        contacts, privacy = {}, {}
        for kind in contacts_mod.KINDS:
            c = inp.get(f"{kind}Contact")
            if c is None:
                if required and kind != "Billing":
                    raise invalid_input(f"{kind}Contact is required.")
                continue
            contacts[kind] = contacts_mod.check(kind, c)
        for kind in contacts_mod.KINDS:
            privacy[kind] = bool(inp.get(f"PrivacyProtect{kind}Contact", True))
        if "Billing" not in contacts and "Registrant" in contacts:
            contacts["Billing"] = dict(contacts["Registrant"])
        return contacts, privacy

    def _years(self, inp: dict, default: int | None = None) -> int:
        years = inp.get("DurationInYears", default)
        if years is None:
            raise invalid_input("DurationInYears is required.")
        if not 1 <= years <= self.rc.max_years:
            raise invalid_input(f"DurationInYears must be within 1..{self.rc.max_years}, "
                                f"not {years}.")
        return years

    def _domain_limit(self, account: str) -> None:
        if self.rs.count(account) >= self.rc.max_domains:
            raise DomainsError("DomainLimitExceeded", "The number of domains has exceeded "
                               f"the allowed threshold ({self.rc.max_domains}) for the "
                               "account.")

    def nameservers(self, domain: str, given: list[dict]) -> list[dict]:
        if not given:
            raise invalid_input("At least one name server is required.")
        if len(given) > MAX_NAMESERVERS:
            raise invalid_input(f"At most {MAX_NAMESERVERS} name servers are allowed.")
        out, seen = [], set()
        for ns in given:
            host = names.parse(ns["Name"]).ldh
            if host in seen:
                raise invalid_input(f"Name server {host} is listed twice.")
            seen.add(host)
            glue = ns.get("GlueIps") or []
            inside = host == domain or host.endswith("." + domain)
            if inside and not glue:
                raise invalid_input(f"Name server {host} is inside {domain}: its GlueIps "
                                    "are required.")
            if glue and not inside:
                raise invalid_input(f"GlueIps are allowed only for name servers inside "
                                    f"{domain}, not for {host}.")
            ips = []
            for ip in glue:
                try:
                    ips.append(str(ipaddress.ip_address(ip)))
                except ValueError:
                    raise invalid_input(f"Glue IP {ip!r} of {host} is not an IP "
                                        "address.") from None
            if len([i for i in ips if ":" not in i]) > 1 or \
                    len([i for i in ips if ":" in i]) > 1:
                raise invalid_input(f"Name server {host}: at most one IPv4 and one IPv6 "
                                    "glue address.")
            entry = {"Name": host}
            if ips:
                entry["GlueIps"] = ips
            out.append(entry)
        return out

    # -- availability and prices --------------------------------------------

    def CheckDomainAvailability(self, inp: dict, account: str) -> dict:
        n = names.parse(inp["DomainName"])
        tld, _ = names.split(n, self.rc.tlds)
        return {"Availability": self.availability(n, tld)}

    def CheckDomainTransferability(self, inp: dict, account: str) -> dict:
        n = names.parse(inp["DomainName"])
        tld, _ = names.split(n, self.rc.tlds)
        if tld is None:
            return {"Transferability": {"Transferable": "DONT_KNOW"},
                    "Message": f"zonefront is not the registry of .{n.labels[-1]}."}
        d = self.rs.get(n.ldh)
        if d is None or d.state == "pending":
            t, msg = "UNTRANSFERABLE", f"{n.ldh} is not registered."
        elif d.account == account:
            t, msg = "DOMAIN_IN_OWN_ACCOUNT", f"{n.ldh} is already in this account."
        elif d.locked:
            t, msg = "UNTRANSFERABLE", f"{n.ldh} is locked (clientTransferProhibited)."
        elif inp.get("AuthCode") is not None and inp["AuthCode"] != d.auth_code:
            t, msg = "UNTRANSFERABLE", "The authorization code is not correct."
        elif d.state == "redemption":
            t, msg = "UNTRANSFERABLE", f"{n.ldh} is in its redemption period."
        else:
            t, msg = "TRANSFERABLE", f"{n.ldh} can be transferred."
        return {"Transferability": {"Transferable": t}, "Message": msg}

    def GetDomainSuggestions(self, inp: dict, account: str) -> dict:
        n = names.parse(inp["DomainName"])
        tld, written = names.split(n, self.rc.tlds)
        if tld is None:
            raise unsupported_tld(written)
        count = inp["SuggestionCount"]
        if not 1 <= count <= 50:
            raise invalid_input("SuggestionCount must be within 1..50.")
        base = n.labels[0] if n.ldh != tld else "my"
        stems = [base] + [s for s in (f"{base}-online", f"get{base}", f"{base}hq",
                                      f"{base}app", f"the{base}", f"{base}1", f"{base}-net",
                                      f"my{base}", f"{base}now", f"{base}24") if len(s) <= 63]
        tlds = [tld] + [t for t in self.rc.tlds if t != tld]
        out, seen = [], set()
        for stem in stems:
            for t in tlds:
                name = f"{stem}.{t}"
                if name in seen or name == n.ldh:
                    continue
                seen.add(name)
                a = self.availability(names.parse(name), t)
                if inp["OnlyAvailable"] and a != "AVAILABLE":
                    continue
                out.append({"DomainName": name, "Availability": a})
                if len(out) >= count:
                    return {"SuggestionsList": out}
        return {"SuggestionsList": out}

    def _price_entry(self, tld: str) -> dict:
        cur = self.rc.currency

        def p(kind):
            return {"Price": self.rc.price(tld, kind), "Currency": cur}

        return {"Name": tld, "RegistrationPrice": p("registration"),
                "TransferPrice": p("transfer"), "RenewalPrice": p("renewal"),
                "ChangeOwnershipPrice": p("change_ownership"),
                "RestorationPrice": p("restoration")}

    def ListPrices(self, inp: dict, account: str) -> dict:
        tld = inp.get("Tld")
        if tld is not None:
            t = tld.strip(".").lower()
            if t not in self.rc.tlds:
                raise unsupported_tld(t)
            return {"Prices": [self._price_entry(t)]}
        chunk, nxt = _page(sorted(self.rc.tlds), inp, 1000, 1000)
        out = {"Prices": [self._price_entry(t) for t in chunk]}
        if nxt:
            out["NextPageMarker"] = nxt
        return out

    def ViewBilling(self, inp: dict, account: str) -> dict:
        start = inp.get("Start", 0.0)
        end = inp.get("End", time.time() + 1)
        if end < start:
            raise invalid_input("End must not be earlier than Start.")
        chunk, nxt = _page(self.rs.billing(account, start, end), inp, 100)
        out = {"BillingRecords": chunk}
        if nxt:
            out["NextPageMarker"] = nxt
        return out

    # -- registration, renewal, deletion ---------------------------------------

    def RegisterDomain(self, inp: dict, account: str) -> dict:
        n, tld = self.registrable(inp["DomainName"])
        years = self._years(inp)
        contacts, privacy = self._contacts(inp, required=True)
        with self.store.transaction():
            a = self.availability(n, tld)
            if a == "RESERVED":
                raise tld_rules(f"{n.ldh} is reserved by the .{tld} registry.")
            if a == "UNAVAILABLE_PREMIUM":
                raise invalid_input(f"{n.ldh} is a premium name and cannot be registered "
                                    "through this API.")
            existing = self.rs.get(n.ldh)
            if existing is not None:
                if existing.account == account and existing.busy_op:
                    raise duplicate(existing.busy_op)
                raise invalid_input(f"Domain {n.ldh} is not available.")
            self._domain_limit(account)
            now = time.time()
            d = DomainRow(n.ldh, tld, account, "pending", f"{secrets.token_hex(8).upper()}-ZF",
                          now, now, add_years(now, years), bool(inp.get("AutoRenew", True)),
                          True, [], contacts, privacy, new_auth_code())
            op_id = self._submit(d, account, "REGISTER_DOMAIN", {"years": years})
        self.on_submit()
        return {"OperationId": op_id}

    def RenewDomain(self, inp: dict, account: str) -> dict:
        years = self._years(inp, 1)

        def check(d: DomainRow) -> None:
            if inp["CurrentExpiryYear"] != expiry_year(d.expires):
                raise invalid_input(f"CurrentExpiryYear {inp['CurrentExpiryYear']} does not "
                                    f"match the domain's expiry year "
                                    f"{expiry_year(d.expires)}.")
            if add_years(d.expires, years) > add_years(time.time(), self.rc.max_years):
                raise invalid_input(f"A domain cannot be registered more than "
                                    f"{self.rc.max_years} years into the future.")

        d = self.owned(inp["DomainName"], account)
        kind = "RESTORE_DOMAIN" if d.state == "redemption" else "RENEW_DOMAIN"
        return self._queue(inp["DomainName"], account, kind, {"years": years}, check)

    def DeleteDomain(self, inp: dict, account: str) -> dict:
        return self._queue(inp["DomainName"], account, "DELETE_DOMAIN", {})

    # -- details and lists ---------------------------------------------------

    def status_list(self, d: DomainRow) -> list[str]:
        s = []
        if d.locked:
            s.append("clientTransferProhibited")
        if d.transfer:
            s.append("pendingTransfer")
        if d.state == "expired":
            s.append("autoRenewPeriod")
        if d.state == "redemption":
            s += ["redemptionPeriod", "serverHold"]
        if d.busy_op:
            op = self.rs.get_op(d.busy_op)
            if op is not None and op.type == "DELETE_DOMAIN":
                s.append("pendingDelete")
        return s or ["ok"]

    def GetDomainDetail(self, inp: dict, account: str) -> dict:
        d = self.owned(inp["DomainName"], account)
        keys = self.rs.ds_of(d.name)
        out = {"DomainName": d.name, "Nameservers": d.nameservers, "AutoRenew": d.auto_renew,
               "RegistrarName": self.rc.registrar_name, "WhoIsServer": self.rc.whois_server,
               "RegistrarUrl": self.rc.registrar_url,
               "AbuseContactEmail": self.rc.abuse_email,
               "AbuseContactPhone": self.rc.abuse_phone, "RegistryDomainId": d.roid,
               "CreationDate": d.created, "UpdatedDate": d.updated,
               "ExpirationDate": d.expires, "Reseller": self.rc.registrar_name,
               "DnsSec": "ENABLED" if keys else "DISABLED",
               "StatusList": self.status_list(d), "DnssecKeys": keys}
        for kind in contacts_mod.KINDS:
            if kind in d.contacts:
                out[f"{kind}Contact"] = d.contacts[kind]
            out[f"{kind}Privacy"] = bool(d.privacy.get(kind, True))
        return out

    def ListDomains(self, inp: dict, account: str) -> dict:
        rows = self.rs.domains(account, LIVE)
        for f in inp.get("FilterConditions") or []:
            value = f["Values"][0]
            if f["Name"] == "DomainName":
                v = value.strip(".").lower()
                if f["Operator"] == "BEGINS_WITH":
                    rows = [d for d in rows if d.name.startswith(v)]
                elif f["Operator"] == "LE":
                    rows = [d for d in rows if d.name <= v]
                else:
                    rows = [d for d in rows if d.name >= v]
            else:
                if f["Operator"] == "BEGINS_WITH":
                    raise invalid_input("BEGINS_WITH applies to DomainName only.")
                try:
                    t = float(value)
                except ValueError:
                    try:
                        t = _dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
                    except ValueError:
                        raise invalid_input(f"Expiry value {value!r} is neither epoch "
                                            "seconds nor an ISO 8601 time.") from None
                rows = [d for d in rows if (d.expires <= t if f["Operator"] == "LE"
                                            else d.expires >= t)]
        sort = inp.get("SortCondition")
        if sort:
            key = (lambda d: d.name) if sort["Name"] == "DomainName" else \
                (lambda d: (d.expires, d.name))
            rows.sort(key=key, reverse=sort["SortOrder"] == "DESC")
        chunk, nxt = _page(rows, inp, 100)
        out = {"Domains": [{"DomainName": d.name, "AutoRenew": d.auto_renew,
                            "TransferLock": d.locked, "Expiry": d.expires} for d in chunk]}
        if nxt:
            out["NextPageMarker"] = nxt
        return out

    @staticmethod
    def _op_out(op) -> dict:
        out = {"OperationId": op.id, "Status": op.status, "Type": op.type,
               "DomainName": op.domain, "SubmittedDate": op.submitted,
               "LastUpdatedDate": op.updated}
        if op.message:
            out["Message"] = op.message
        if op.flag:
            out["StatusFlag"] = op.flag
        return out

    def GetOperationDetail(self, inp: dict, account: str) -> dict:
        op = self.rs.get_op(inp["OperationId"])
        if op is None or op.account != account:
            raise invalid_input(f"No operation found with ID {inp['OperationId']}.")
        return self._op_out(op)

    def ListOperations(self, inp: dict, account: str) -> dict:
        ops = self.rs.ops(account)
        since = inp.get("SubmittedSince")
        if since is not None:
            ops = [o for o in ops if o.submitted >= since]
        if inp.get("Status"):
            ops = [o for o in ops if o.status in inp["Status"]]
        if inp.get("Type"):
            ops = [o for o in ops if o.type in inp["Type"]]
        if inp.get("SortOrder") == "DESC":
            ops.reverse()
        chunk, nxt = _page(ops, inp, 100)
        out = {"Operations": [self._op_out(o) for o in chunk]}
        if nxt:
            out["NextPageMarker"] = nxt
        return out

    def ResendOperationAuthorization(self, inp: dict, account: str) -> dict:
        op = self.rs.get_op(inp["OperationId"])
        if op is None or op.account != account:
            raise invalid_input(f"No operation found with ID {inp['OperationId']}.")
        if op.status not in ("SUBMITTED", "IN_PROGRESS"):
            raise invalid_input(f"Operation {op.id} is already {op.status}.")
        return {}

    # -- updates (queued) ------------------------------------------------------

    def UpdateDomainNameservers(self, inp: dict, account: str) -> dict:
        d = self.owned(inp["DomainName"], account)
        ns = self.nameservers(d.name, inp["Nameservers"])
        return self._queue(inp["DomainName"], account, "UPDATE_NAMESERVER",
                           {"nameservers": ns})

    def UpdateDomainContact(self, inp: dict, account: str) -> dict:
        contacts, _ = self._contacts(inp, required=False)
        if not any(inp.get(f"{k}Contact") for k in contacts_mod.KINDS):
            raise invalid_input("At least one contact must be given.")
        given = {k: v for k, v in contacts.items() if inp.get(f"{k}Contact")}
        d = self.owned(inp["DomainName"], account)
        kind = "UPDATE_DOMAIN_CONTACT"
        if "Registrant" in given and contacts_mod.owner_changed(
                d.contacts.get("Registrant", {}), given["Registrant"]):
            price = self.rc.price(d.tld, "change_ownership")
            consent = inp.get("Consent")
            if price > 0:
                if consent is None:
                    raise invalid_input(f"Changing the registrant of {d.name} costs {price} "
                                        f"{self.rc.currency}; give Consent with MaxPrice.")
                if consent["Currency"] != self.rc.currency or consent["MaxPrice"] < price:
                    raise invalid_input(f"Consent MaxPrice {consent['MaxPrice']} "
                                        f"{consent['Currency']} is below the change of "
                                        f"ownership price {price} {self.rc.currency}.")
            kind = "CHANGE_DOMAIN_OWNER"
        return self._queue(inp["DomainName"], account, kind, {"contacts": given})

    def UpdateDomainContactPrivacy(self, inp: dict, account: str) -> dict:
        privacy = {k: inp[f"{k}Privacy"] for k in contacts_mod.KINDS
                   if inp.get(f"{k}Privacy") is not None}
        if not privacy:
            raise invalid_input("At least one of AdminPrivacy, RegistrantPrivacy, TechPrivacy "
                                "and BillingPrivacy must be given.")
        return self._queue(inp["DomainName"], account, "CHANGE_PRIVACY_PROTECTION",
                           {"privacy": privacy})

    def EnableDomainTransferLock(self, inp: dict, account: str) -> dict:
        return self._queue(inp["DomainName"], account, "DOMAIN_LOCK", {"locked": True})

    def DisableDomainTransferLock(self, inp: dict, account: str) -> dict:
        return self._queue(inp["DomainName"], account, "DOMAIN_LOCK", {"locked": False})

    def _auto_renew(self, inp: dict, account: str, on: bool) -> dict:
        with self.store.transaction():
            d = self.owned(inp["DomainName"], account)
            d.auto_renew = on
            d.updated = time.time()
            self.rs.put(d)
        return {}

    def EnableDomainAutoRenew(self, inp: dict, account: str) -> dict:
        return self._auto_renew(inp, account, True)

    def DisableDomainAutoRenew(self, inp: dict, account: str) -> dict:
        return self._auto_renew(inp, account, False)

    def RetrieveDomainAuthCode(self, inp: dict, account: str) -> dict:
        return {"AuthCode": self.owned(inp["DomainName"], account).auth_code}

    # -- DNSSEC ----------------------------------------------------------------

    def AssociateDelegationSignerToDomain(self, inp: dict, account: str) -> dict:
        sa = inp["SigningAttributes"]
        for f in ("Algorithm", "Flags", "PublicKey"):
            if sa.get(f) is None:
                raise invalid_input(f"SigningAttributes.{f} is required.")
        d = self.owned(inp["DomainName"], account)
        try:
            key = dnssec.make_ds(d.name, sa["Flags"], sa["Algorithm"], sa["PublicKey"])
        except dnssec.KeyError_ as e:
            raise invalid_input(str(e)) from None

        def check(d: DomainRow) -> None:
            keys = self.rs.ds_of(d.name)
            if any(k["Digest"] == key["Digest"] for k in keys):
                raise invalid_input(f"This key is already associated with {d.name}.")
            if len(keys) >= self.rc.max_ds:
                raise DomainsError("DnssecLimitExceeded", f"{d.name} already has "
                                   f"{len(keys)} DS records, the most allowed.")

        return self._queue(inp["DomainName"], account, "ADD_DNSSEC", {"key": key}, check)

    def DisassociateDelegationSignerFromDomain(self, inp: dict, account: str) -> dict:
        def check(d: DomainRow) -> None:
            if not any(k["Id"] == inp["Id"] for k in self.rs.ds_of(d.name)):
                raise invalid_input(f"No DNSSEC key with Id {inp['Id']} on {d.name}.")

        return self._queue(inp["DomainName"], account, "REMOVE_DNSSEC", {"id": inp["Id"]},
                           check)

    # -- transfers -------------------------------------------------------------

    def TransferDomain(self, inp: dict, account: str) -> dict:
        n, tld = self.registrable(inp["DomainName"])
        years = self._years(inp, 1)
        contacts, privacy = self._contacts(inp, required=True)
        ns = self.nameservers(n.ldh, inp["Nameservers"]) if inp.get("Nameservers") else None
        with self.store.transaction():
            d = self.rs.get(n.ldh)
            if d is None or d.state == "pending":
                raise invalid_input(f"Domain {n.ldh} is not registered; register it instead.")
            if d.account == account:
                raise invalid_input(f"Domain {n.ldh} is already in account {account}.")
            if d.busy_op:
                raise duplicate(d.busy_op)
            if d.locked:
                raise tld_rules(f"Domain {n.ldh} is locked (clientTransferProhibited); its "
                                "registrant must disable the transfer lock first.")
            if d.state == "redemption":
                raise tld_rules(f"Domain {n.ldh} is in its redemption period.")
            if not inp.get("AuthCode") or inp["AuthCode"] != d.auth_code:
                raise invalid_input("The authorization code for the domain is not correct.")
            self._domain_limit(account)
            self._open_ops_check(account)
            op_id = new_op_id()
            self.rs.add_op(op_id, account, d.name, "TRANSFER_IN_DOMAIN",
                           {"from": d.account, "years": years, "contacts": contacts,
                            "privacy": privacy, "nameservers": ns,
                            "auto_renew": bool(inp.get("AutoRenew", True))})
            d.busy_op = op_id
            self.rs.put(d)
        self.on_submit()
        return {"OperationId": op_id}

    def TransferDomainToAnotherAwsAccount(self, inp: dict, account: str) -> dict:
        to = inp["AccountId"]
        if to == account:
            raise invalid_input("The domain is already in this account.")
        password = secrets.token_urlsafe(12)
        with self.store.transaction():
            d = self.owned(inp["DomainName"], account)
            if d.busy_op:
                raise duplicate(d.busy_op)
            if d.transfer:
                raise duplicate(d.transfer["op"])
            self._open_ops_check(account)
            op_id = new_op_id()
            # waits for the other account: IN_PROGRESS / PENDING_ACCEPTANCE (flagged
            # operations do not count towards OperationLimitExceeded)
            self.rs.add_op(op_id, account, d.name, "INTERNAL_TRANSFER_OUT_DOMAIN",
                           {"to": to}, status="IN_PROGRESS", flag="PENDING_ACCEPTANCE")
            d.transfer = {"to": to, "password": password, "op": op_id,
                          "expires": time.time() + 3 * 86400}
            d.updated = time.time()
            self.rs.put(d)
        return {"OperationId": op_id, "Password": password}

    def _pending_transfer(self, text: str) -> DomainRow:
        n, _tld = self.registrable(text)
        d = self.rs.get(n.ldh)
        if d is None or not d.transfer:
            raise invalid_input(f"There is no pending transfer of {n.ldh}.")
        return d

    def _answer_transfer(self, inp: dict, account: str, accept: bool) -> dict:
        with self.store.transaction():
            d = self._pending_transfer(inp["DomainName"])
            if d.transfer["to"] != account:
                raise invalid_input(f"Domain {d.name} is not being transferred to account "
                                    f"{account}.")
            if accept:
                if inp["Password"] != d.transfer["password"]:
                    raise invalid_input("The password for the domain transfer is not "
                                        "correct.")
                if time.time() > d.transfer["expires"]:
                    raise invalid_input("The transfer request has expired.")
                self._domain_limit(account)
            if d.busy_op:
                raise duplicate(d.busy_op)
            self._open_ops_check(account)
            op_id = new_op_id()
            self.rs.add_op(op_id, account, d.name, "INTERNAL_TRANSFER_IN_DOMAIN",
                           {"accept": accept})
            d.busy_op = op_id
            self.rs.put(d)
        self.on_submit()
        return {"OperationId": op_id}

    def AcceptDomainTransferFromAnotherAwsAccount(self, inp: dict, account: str) -> dict:
        return self._answer_transfer(inp, account, True)

    def RejectDomainTransferFromAnotherAwsAccount(self, inp: dict, account: str) -> dict:
        return self._answer_transfer(inp, account, False)

    def CancelDomainTransferToAnotherAwsAccount(self, inp: dict, account: str) -> dict:
        with self.store.transaction():
            d = self.owned(inp["DomainName"], account)
            if not d.transfer:
                raise invalid_input(f"There is no pending transfer of {d.name}.")
            op_id = self._submit(d, account, "INTERNAL_TRANSFER_OUT_DOMAIN",
                                 {"cancel": True})
        self.on_submit()
        return {"OperationId": op_id}

    def PushDomain(self, inp: dict, account: str) -> dict:
        n = names.parse(inp["DomainName"])
        tld, written = names.split(n, self.rc.tlds)
        if tld is not None:
            self.owned(inp["DomainName"], account)
        # Route 53 pushes only .uk names to another registrar's IPS tag
        raise unsupported_tld(written) if tld is None else tld_rules(
            f"PushDomain moves .uk domains between registrars; .{tld} has no IPS tags.")

    # -- tags and contact reachability -------------------------------------------

    def ListTagsForDomain(self, inp: dict, account: str) -> dict:
        d = self.owned(inp["DomainName"], account)
        return {"TagList": [{"Key": k, "Value": v} for k, v in self.rs.tags(d.name)]}

    def UpdateTagsForDomain(self, inp: dict, account: str) -> dict:
        with self.store.transaction():
            d = self.owned(inp["DomainName"], account)
            for t in inp.get("TagsToUpdate") or []:
                if not t.get("Key"):
                    raise invalid_input("Every tag needs a Key.")
                self.rs.set_tag(d.name, t["Key"], t.get("Value") or "")
            if len(self.rs.tags(d.name)) > self.rc.max_tags:
                raise invalid_input(f"A domain can have at most {self.rc.max_tags} tags.")
        return {}

    def DeleteTagsForDomain(self, inp: dict, account: str) -> dict:
        with self.store.transaction():
            d = self.owned(inp["DomainName"], account)
            for k in inp["TagsToDelete"]:
                self.rs.remove_tag(d.name, k)
        return {}

    def GetContactReachabilityStatus(self, inp: dict, account: str) -> dict:
        if not inp.get("domainName"):
            raise invalid_input("domainName is required.")
        d = self.owned(inp["domainName"], account)
        return {"domainName": d.name, "status": "DONE"}

    def ResendContactReachabilityEmail(self, inp: dict, account: str) -> dict:
        if not inp.get("domainName"):
            raise invalid_input("domainName is required.")
        d = self.owned(inp["domainName"], account)
        return {"domainName": d.name,
                "emailAddress": d.contacts.get("Registrant", {}).get("Email", ""),
                "isAlreadyVerified": True}


SUPPORTED = sorted(n for n in OPERATIONS if callable(getattr(Registry, n, None)))
