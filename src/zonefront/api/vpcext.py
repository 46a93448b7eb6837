"""The zonefront VPC extension over HTTP: define the networks of the VPCs that
private hosted zones are associated with.  Route 53 has no such call (AWS
VPCs live in EC2), so it sits beside the Route 53 paths, signed with SigV4
like them:

    POST   /2013-04-01/zonefront/vpc          define a VPC (201, Location header)
    GET    /2013-04-01/zonefront/vpc          list every VPC (configuration's too)
    GET    /2013-04-01/zonefront/vpc/{Id}     one VPC
    PUT    /2013-04-01/zonefront/vpc/{Id}     replace its Cidrs
    DELETE /2013-04-01/zonefront/vpc/{Id}     remove it (not while associated)

Bodies are XML (Route 53's namespace; the root's name is not checked)::

    <CreateVPCRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/">
      <VPCId>vpc-0a1b2c3d</VPCId><VPCRegion>us-east-1</VPCRegion>
      <Cidrs><Cidr>10.0.0.0/16</Cidr><Cidr>fd00::/48</Cidr></Cidrs>
    </CreateVPCRequest>

or JSON (Content-Type: application/json)::

    {"VPCId": "vpc-0a1b2c3d", "VPCRegion": "us-east-1", "Cidrs": ["10.0.0.0/16"]}

Answers are JSON when the request body was JSON or Accept names
application/json, XML otherwise; errors likewise (ErrorResponse, or
{"Error": {"Code", "Message", "Type"}, "RequestId"}).  Writes answer with a
ChangeInfo that GetChange follows to INSYNC once the data plane uses the
new networks.
"""
from __future__ import annotations

import json
import logging
from urllib.parse import unquote
from xml.sax.saxutils import escape

from . import xmlio
from ..aws.route53_errors import Route53Error, invalid_input

log = logging.getLogger("zonefront.api")

PREFIX = "/2013-04-01/zonefront/"
_COLLECTION = PREFIX + "vpc"
_ITEMS = {"Cidrs": "Cidr", "VPCs": "VPC"}  # list element -> item element (XML)


def _wants_json(headers, body: bytes) -> bool:
    return _is_json_body(headers, body) or \
        "application/json" in (headers.get("Accept") or "").lower()


def _decode(headers, body: bytes) -> dict:
    if not body.strip():
        raise invalid_input("The request body is empty; a VPC definition (XML or JSON) "
                            "is expected.")
    if _is_json_body(headers, body):
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError) as e:
            raise invalid_input(f"Could not parse the request body as JSON: {e}") from None
        if not isinstance(doc, dict):
            raise invalid_input("The JSON body must be an object with VPCId, VPCRegion and "
                                "Cidrs.")
        return doc
    try:
        root = xmlio.parse_xml(body)
    except xmlio.XMLInputError as e:
        raise invalid_input(str(e)) from None
    out: dict = {}
    for child in root:
        tag = child.tag.rsplit("}", 1)[-1]
        if tag in ("VPCId", "VPCRegion"):
            out[tag] = (child.text or "").strip()
        elif tag == "Cidrs":
            out["Cidrs"] = [(c.text or "").strip() for c in child
                            if c.tag.rsplit("}", 1)[-1] == "Cidr"]
    return out


def _is_json_body(headers, body: bytes) -> bool:
    return "json" in (headers.get("Content-Type") or "").lower() or \
        body.lstrip()[:1] == b"{"


def _plain(value):
    """ChangeInfo's SubmittedAt (a float) as Route 53's ISO text."""
    if isinstance(value, dict):
        return {k: (xmlio.timestamp_text(v) if k == "SubmittedAt" else _plain(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _xml_value(out: list, tag: str, value) -> None:
    if isinstance(value, dict):
        out.append(f"<{tag}>")
        for k, v in value.items():
            if v is not None:
                _xml_value(out, k, v)
        out.append(f"</{tag}>")
    elif isinstance(value, list):
        out.append(f"<{tag}>")
        for v in value:
            _xml_value(out, _ITEMS.get(tag, "member"), v)
        out.append(f"</{tag}>")
    else:
        out.append(f"<{tag}>{escape(str(value))}</{tag}>")


def _encode(root: str, value: dict, as_json: bool) -> tuple[bytes, str]:
    value = _plain(value)
    if as_json:
        return json.dumps(value).encode(), "application/json"
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f'<{root} xmlns="{xmlio.NS}">']
    for k, v in value.items():
        _xml_value(out, k, v)
    out.append(f"</{root}>")
    return "".join(out).encode(), "text/xml"


def _error(e: Route53Error, request_id: str, as_json: bool) -> tuple[bytes, str]:
    if as_json:
        return json.dumps({"Error": {"Type": "Sender" if e.status < 500 else "Receiver",
                                     "Code": e.code, "Message": e.message},
                           "RequestId": request_id}).encode(), "application/json"
    return xmlio.error_xml(e.code, e.message, request_id, sender=e.status < 500), "text/xml"


def serve(service, config, method: str, raw_path: str, headers, body: bytes,
          access_key: str | None, base_url: str,
          request_id: str) -> tuple[int, bytes, str, dict]:
    """(status, body, content type, extra headers) for one extension request
    whose signature has been checked."""
    as_json = _wants_json(headers, body)
    try:
        path = raw_path.rstrip("/")
        vpc_id = None
        if path.startswith(_COLLECTION + "/"):
            vpc_id = unquote(path[len(_COLLECTION) + 1:])
            if not vpc_id or "/" in vpc_id:
                raise Route53Error("UnknownOperationException", f"No zonefront operation at "
                                   f"{method} {raw_path}", 404)
        elif path != _COLLECTION:
            raise Route53Error("UnknownOperationException", f"No zonefront operation at "
                               f"{method} {raw_path}", 404)
        allowed = ("GET", "POST") if vpc_id is None else ("GET", "PUT", "DELETE")
        if method not in allowed:
            raise Route53Error("MethodNotAllowed", f"The method {method} is not allowed for "
                               f"{raw_path}", 405)
        if access_key is not None and access_key in config.readonly_keys and method != "GET":
            raise Route53Error("AccessDenied", f"User: arn:aws:iam::{config.account_id}:user/"
                               f"{access_key} is not authorized to perform: zonefront:"
                               f"{'Create' if method == 'POST' else method.title()}VPC", 403)
        headers_out: dict = {}
        status = 200
        if method == "POST":
            out = service.zf_create_vpc(_decode(headers, body), access_key)
            root, status = "CreateVPCResponse", 201
            headers_out["Location"] = f"{base_url}{_COLLECTION}/{out['VPC']['VPCId']}"
        elif method == "PUT":
            out = service.zf_update_vpc(vpc_id, _decode(headers, body), access_key)
            root = "UpdateVPCResponse"
        elif method == "DELETE":
            out = service.zf_delete_vpc(vpc_id, access_key)
            root = "DeleteVPCResponse"
        elif vpc_id is None:
            out, root = service.zf_list_vpcs(), "ListVPCsResponse"
        else:
            out, root = service.zf_get_vpc(vpc_id), "GetVPCResponse"
        data, ctype = _encode(root, out, as_json)
        return status, data, ctype, headers_out
    except Route53Error as e:
        data, ctype = _error(e, request_id, as_json)
        return e.status, data, ctype, {}
    except Exception:
        log.exception("internal error in %s %s", method, raw_path)
        e = Route53Error("InternalFailure", "The request processing has failed because of an "
                         "unknown error.", 500)
        data, ctype = _error(e, request_id, as_json)
        return e.status, data, ctype, {}
