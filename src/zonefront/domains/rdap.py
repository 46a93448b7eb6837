"""RDAP (RFC 9082 queries, RFC 9083 JSON) for the registry's domains.

GET /rdap/domain/NAME or /domain/NAME (U-labels or A-labels) answers
`application/rdap+json`; /rdap/help answers the notices.  Status values
follow RFC 8056's EPP mapping.  A contact whose privacy is on is published
redacted as RFC 9537 describes: the name is an empty value and the address,
organization, phone and email are removed, each listed under "redacted".
RDAP is public, so it needs no signature.
"""
from __future__ import annotations

import datetime as _dt
from urllib.parse import unquote

from . import names
from .errors import DomainsError
from .service import Registry

CONTENT_TYPE = "application/rdap+json"
CONFORMANCE = ["rdap_level_0", "redacted"]
ROLES = {"Registrant": "registrant", "Admin": "administrative", "Tech": "technical",
         "Billing": "billing"}
EPP_TO_RDAP = {  # RFC 8056 §2
    "ok": "active", "clientTransferProhibited": "client transfer prohibited",
    "pendingTransfer": "pending transfer", "pendingDelete": "pending delete",
    "redemptionPeriod": "redemption period", "serverHold": "server hold",
    "autoRenewPeriod": "auto renew period",
}
NOTICES = [{
    "title": "Terms of Use",
    "description": ["Registration data of the zonefront registry, published as RDAP "
                    "(RFC 9083). Contacts with privacy protection are redacted (RFC 9537)."],
}]


def _iso(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(code: int, title: str, description: str) -> tuple[int, dict]:
    return code, {"rdapConformance": CONFORMANCE, "errorCode": code, "title": title,
                  "description": [description], "notices": NOTICES}


def _vcard(c: dict) -> list:
    props = [["version", {}, "text", "4.0"],
             ["fn", {}, "text", f"{c.get('FirstName', '')} {c.get('LastName', '')}".strip()],
             ["kind", {}, "text", "individual" if c.get("ContactType") == "PERSON"
              else "org"]]
    if c.get("OrganizationName"):
        props.append(["org", {}, "text", c["OrganizationName"]])
    props.append(["adr", {"cc": c.get("CountryCode", "")}, "text",
                  ["", c.get("AddressLine2", ""), c.get("AddressLine1", ""),
                   c.get("City", ""), c.get("State", ""), c.get("ZipCode", ""), ""]])
    if c.get("PhoneNumber"):
        props.append(["tel", {"type": "voice"}, "uri", "tel:" + c["PhoneNumber"]])
    if c.get("Fax"):
        props.append(["tel", {"type": "fax"}, "uri", "tel:" + c["Fax"]])
    if c.get("Email"):
        props.append(["email", {}, "text", c["Email"]])
    return ["vcard", props]


def _redacted_vcard(c: dict) -> list:
    return ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", ""],
                      ["adr", {"cc": c.get("CountryCode", "")}, "text",
                       ["", "", "", "", c.get("State", ""), "", ""]]]]


def _redactions(role: str) -> list[dict]:
    path = f"$.entities[?(@.roles[0]=='{role}')].vcardArray[1]"
    label = role.capitalize()
    out = [{"name": {"type": f"{label} Name"}, "method": "emptyValue",
            "pathLang": "jsonpath", "postPath": f"{path}[?(@[0]=='fn')][3]",
            "reason": {"type": "Server policy"}}]
    for what, prop in (("Organization", "org"), ("Street", "adr"), ("Phone", "tel"),
                       ("Email", "email")):
        out.append({"name": {"type": f"{label} {what}"}, "method": "removal",
                    "pathLang": "jsonpath", "prePath": f"{path}[?(@[0]=='{prop}')]",
                    "reason": {"type": "Server policy"}})
    return out


def domain(reg: Registry, text: str, base_url: str) -> tuple[int, dict]:
    try:
        n = names.parse(text)
    except DomainsError as e:
        return _error(400, "Bad Request", e.message)
    tld, _ = names.split(n, reg.rc.tlds)
    d = reg.rs.get(n.ldh) if tld else None
    if d is None or d.state == "pending":
        return _error(404, "Not Found", f"{n.ldh} is not registered in this registry.")
    self_url = f"{base_url}/rdap/domain/{d.name}"
    out = {"rdapConformance": CONFORMANCE, "objectClassName": "domain", "handle": d.roid,
           "ldhName": d.name}
    if n.idn:
        out["unicodeName"] = n.unicode
    out["status"] = [EPP_TO_RDAP.get(s, s) for s in reg.status_list(d)]
    out["events"] = [{"eventAction": "registration", "eventDate": _iso(d.created)},
                     {"eventAction": "expiration", "eventDate": _iso(d.expires)},
                     {"eventAction": "last changed", "eventDate": _iso(d.updated)},
                     {"eventAction": "last update of RDAP database",
                      "eventDate": _iso(_dt.datetime.now(_dt.timezone.utc).timestamp())}]
    nss = []
    for e in d.nameservers:
        ns = {"objectClassName": "nameserver", "ldhName": e["Name"].rstrip(".")}
        glue = e.get("GlueIps") or []
        if glue:
            ns["ipAddresses"] = {"v4": [i for i in glue if ":" not in i],
                                 "v6": [i for i in glue if ":" in i]}
        nss.append(ns)
    out["nameservers"] = nss
    keys = reg.rs.ds_of(d.name)
    out["secureDNS"] = {"delegationSigned": bool(keys),
                        "dsData": [{"keyTag": k["KeyTag"], "algorithm": k["Algorithm"],
                                    "digestType": k["DigestType"], "digest": k["Digest"]}
                                   for k in keys]}
    entities, redacted = [], []
    for kind, role in ROLES.items():
        c = d.contacts.get(kind)
        if c is None:
            continue
        ent = {"objectClassName": "entity", "handle": f"{d.roid}-{kind[:3].upper()}",
               "roles": [role]}
        if d.privacy.get(kind, True):
            ent["vcardArray"] = _redacted_vcard(c)
            ent["remarks"] = [{"title": "REDACTED FOR PRIVACY", "type":
                               "object redacted due to authorization",
                               "description": ["The registrant chose privacy protection "
                                               "for this contact."]}]
            redacted += _redactions(role)
        else:
            ent["vcardArray"] = _vcard(c)
        entities.append(ent)
    rc = reg.rc
    entities.append({
        "objectClassName": "entity", "handle": "zonefront", "roles": ["registrar"],
        "vcardArray": ["vcard", [["version", {}, "text", "4.0"],
                                 ["fn", {}, "text", rc.registrar_name]]],
        "links": [{"value": self_url, "rel": "related", "href": rc.registrar_url}],
        "entities": [{"objectClassName": "entity", "roles": ["abuse"],
                      "vcardArray": ["vcard", [["version", {}, "text", "4.0"],
                                               ["fn", {}, "text", "Abuse contact"],
                                               ["tel", {"type": "voice"}, "uri",
                                                "tel:" + rc.abuse_phone],
                                               ["email", {}, "text", rc.abuse_email]]]}]})
    out["entities"] = entities
    if redacted:
        out["redacted"] = redacted
    out["links"] = [{"value": self_url, "rel": "self", "href": self_url,
                     "type": CONTENT_TYPE}]
    out["port43"] = rc.whois_server
    out["notices"] = NOTICES
    return 200, out


def lookup(reg: Registry, raw_path: str, base_url: str) -> tuple[int, dict]:
    path = raw_path[len("/rdap"):] if raw_path.startswith("/rdap/") else raw_path
    if path in ("/help", "/help/"):
        return 200, {"rdapConformance": CONFORMANCE, "notices": NOTICES}
    if path.startswith("/domain/"):
        name = unquote(path[len("/domain/"):])
        if not name or "/" in name:
            return _error(400, "Bad Request", "Expected /domain/NAME.")
        return domain(reg, name, base_url)
    return _error(404, "Not Found", "This server answers /domain/NAME and /help only.")
