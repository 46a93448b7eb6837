"""The zonefront access-key extension over HTTP, signed like every call and
admin-only (IAM actions zonefront:CreateAccessKey / ListAccessKeys /
DeleteAccessKey, which only full-access keys hold by default):

    POST   /2013-04-01/zonefront/accesskey        {"UserName": ..., "PolicyDocument": {...}}
                                                  -> 201, the secret (shown this once)
    GET    /2013-04-01/zonefront/accesskey        managed keys, no secrets
    DELETE /2013-04-01/zonefront/accesskey/{Id}   remove a managed key

JSON in and out; errors as {"Error": {"Code", "Message", "Type"}}.  Keys from
the configuration are not listed or deleted here: the file owns them.
"""
from __future__ import annotations

import json
from urllib.parse import unquote

from ..aws import iam
from ..aws.route53_errors import Route53Error, invalid_input
from .keys import KeyError_

PATH = "/2013-04-01/zonefront/accesskey"


def claims(raw_path: str) -> bool:
    return raw_path.rstrip("/") == PATH or raw_path.startswith(PATH + "/")


def _out(status: int, doc) -> tuple[int, bytes, dict]:
    return status, json.dumps(doc).encode("utf-8"), {}


def serve(keyring, method: str, raw_path: str, body: bytes, authorize):
    """(status, JSON body, headers); `authorize(iam.Request)` raises AccessDenied."""
    try:
        tail = raw_path.rstrip("/")[len(PATH):].lstrip("/")
        key_id = unquote(tail) if tail else None
        if key_id is None and method == "POST":
            authorize(iam.Request("zonefront:CreateAccessKey"))
            try:
                doc = json.loads(body or b"{}")
            except ValueError as e:
                raise invalid_input(f"Could not parse the request body as JSON: {e}") from None
            if not isinstance(doc, dict):
                raise invalid_input("The body is a JSON object.")
            policy = doc.get("PolicyDocument")
            if isinstance(policy, str):
                try:
                    policy = json.loads(policy)
                except ValueError as e:
                    raise Route53Error("MalformedPolicyDocument", f"the policy is not valid "
                                       f"JSON: {e}", 400) from None
            name = doc.get("UserName") or ""
            if not isinstance(name, str) or len(name) > 64:
                raise invalid_input("UserName is a string of at most 64 characters.")
            try:
                key_id, secret = keyring.managed.create(name, policy)
            except KeyError_ as e:
                raise Route53Error("MalformedPolicyDocument", str(e), 400) from None
            entry = next(e for e in keyring.managed.listing() if e["AccessKeyId"] == key_id)
            return _out(201, {"AccessKey": {"AccessKeyId": key_id, "SecretAccessKey": secret,
                                            "UserName": entry["UserName"], "Status": "Active",
                                            "CreateDate": entry["CreateDate"]}})
        if key_id is None and method == "GET":
            authorize(iam.Request("zonefront:ListAccessKeys"))
            return _out(200, {"AccessKeyMetadata": [
                {"AccessKeyId": e["AccessKeyId"], "UserName": e["UserName"],
                 "Status": "Active", "CreateDate": e["CreateDate"],
                 "PolicyDocument": e["Policy"]} for e in keyring.managed.listing()]})
        if key_id is not None and method == "DELETE":
            authorize(iam.Request("zonefront:DeleteAccessKey",
                                  [f"arn:aws:iam::{keyring.config.account_id}:accesskey/"
                                   f"{key_id}"]))
            try:
                keyring.managed.delete(key_id)
            except KeyError_ as e:
                raise Route53Error("NoSuchEntity", str(e), 404) from None
            return _out(200, {})
        raise Route53Error("MethodNotAllowed", f"The method {method} is not allowed for "
                           f"{raw_path}", 405)
    except Route53Error as e:
        return _out(e.status, {"Error": {"Code": e.code, "Message": e.message,
                                         "Type": "Sender" if e.status < 500 else "Receiver"}})
