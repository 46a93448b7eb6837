"""Route 53 Domains on the API port: recognise a Domains request (JSON 1.1
by X-Amz-Target, RPC v2 CBOR by path, RDAP by path), check its signature
(scope service `route53domains`), call the Registry and answer in the
request's protocol.  control/mounts.py hands such requests here before
Route 53's REST routing.
"""
from __future__ import annotations

import json
import logging

from .. import httpio
from ..aws import access, iam, sigv4
from ..aws.route53_errors import Route53Error
from . import protocol, rdap
from ..aws._domains_model import OPERATIONS
from .errors import DomainsError

log = logging.getLogger("zonefront.domains")

SIGNING_NAME = "route53domains"
RDAP = "rdap"
# Route 53 (REST) authentication codes -> the names JSON/CBOR services use
AUTH_CODES = {
    "MissingAuthenticationToken": "MissingAuthenticationTokenException",
    "InvalidClientTokenId": "UnrecognizedClientException",
    "SignatureDoesNotMatch": "InvalidSignatureException",
    "IncompleteSignature": "IncompleteSignatureException",
    "AccessDenied": "AccessDeniedException",
}


def classify(method: str, raw_path: str, headers) -> str | None:
    """protocol.JSON, protocol.CBOR, RDAP, or None (not a Domains request)."""
    target = headers.get("X-Amz-Target") or ""
    if target.startswith(protocol.TARGET_PREFIX + "."):
        return protocol.JSON
    if raw_path.startswith("/service/" + protocol.TARGET_PREFIX + "/"):
        return protocol.CBOR
    if method in ("GET", "HEAD") and (raw_path.startswith("/rdap/")
                                      or raw_path.startswith("/domain/")):
        return RDAP
    return None


def _send_error(h, proto: str, e: DomainsError, request_id: str) -> None:
    extra = {"smithy-protocol": "rpc-v2-cbor"} if proto == protocol.CBOR else {}
    extra["x-amzn-ErrorType"] = e.code
    httpio.send(h, e.status, protocol.encode_error(proto, e), protocol.content_type(proto),
                request_id, extra)


def serve(h, reg, kind: str, method: str, raw_path: str, raw_query: str,
          request_id: str) -> None:
    """Answer one request on the handler `h` (api.server.Handler) from the
    Registry `reg` (control/mounts.py mounts this module)."""
    try:
        body = h._read_body()
    except Route53Error as e:
        h.close_connection = True
        _send_error(h, protocol.JSON if kind == RDAP else kind,
                    DomainsError(e.code, e.message, e.status), request_id)
        return
    host = h.headers.get("Host") or "%s:%d" % h.server.server_address[:2]
    if kind == RDAP:
        status, doc = rdap.lookup(reg, raw_path, f"{h.scheme}://{host}")
        httpio.send(h, status, json.dumps(doc, ensure_ascii=False).encode("utf-8"),
                    rdap.CONTENT_TYPE, request_id, {"Access-Control-Allow-Origin": "*"})
        return
    try:
        if method != "POST":
            raise DomainsError("UnknownOperationException", f"{method} is not accepted; "
                               "Route 53 Domains operations are POSTed.", 405)
        if kind == protocol.JSON:
            if raw_path not in ("/", ""):
                raise DomainsError("UnknownOperationException", f"No operation at "
                                   f"{raw_path}; JSON 1.1 requests are POSTed to /.", 404)
            op_name = h.headers["X-Amz-Target"].split(".", 1)[1]
        else:
            m = protocol.CBOR_PATH.match(raw_path)
            if m is None:
                raise DomainsError("UnknownOperationException", f"No operation at {raw_path}",
                                   404)
            op_name = m.group(1)
        if op_name not in OPERATIONS:
            raise DomainsError("UnknownOperationException", f"Route 53 Domains has no "
                               f"operation {op_name}.")
        access_key = None
        if h.config.auth:
            try:
                access_key = sigv4.verify(method, raw_path, raw_query, h.headers, body,
                                          h.keyring, service=SIGNING_NAME)
                if access_key in h.config.edges.credentials:
                    raise Route53Error("AccessDenied", f"{access_key} is an edge key: it may "
                                       "call only the edge endpoints", 403)
                # every Domains operation is on resource "*" (AWS defines no ARNs)
                req = access.add_globals(iam.Request(f"{SIGNING_NAME}:{op_name}"), access_key,
                                         h.client_address[0], h.scheme == "https")
                h.keyring.authorize(access_key, req)
            except Route53Error as e:
                raise DomainsError(AUTH_CODES.get(e.code, e.code), e.message,
                                   e.status) from None
        inp = protocol.decode_input(kind, op_name, body)
        out = getattr(reg, op_name)(inp, reg.account_of(access_key))
        payload = protocol.encode_output(kind, op_name, out)
    except DomainsError as e:
        _send_error(h, kind, e, request_id)
        return
    except Exception:
        log.exception("internal error in %s %s", method, raw_path)
        _send_error(h, kind, DomainsError("InternalFailure", "The request processing has "
                                          "failed because of an unknown error.", 500),
                    request_id)
        return
    extra = {"smithy-protocol": "rpc-v2-cbor"} if kind == protocol.CBOR else {}
    httpio.send(h, 200, payload, protocol.content_type(kind), request_id, extra)
