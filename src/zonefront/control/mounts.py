"""The one HTTP mount table of the control plane's port: which service
answers which requests, in the order they are tried.

    /console/...                           console/mount.py: the web console's files
                                           (/console/metrics signed like Route 53)
    X-Amz-Target Route53Domains_v20140515.*, /service/Route53Domains_v20140515/...,
    GET|HEAD /rdap/... and /domain/...     domains/http.py: Route 53 Domains and RDAP
                                           (checks its own signature, scope route53domains)
    /2013-04-01/zonefront/{edges,state,...} edge/http.py through edge/hub.py: the edges'
                                           calls (signed; an edge key or zonefront:EdgeSync)
    /2013-04-01/zonefront/accesskey...     api/keyapi.py: access keys (signed, admin)
    /2013-04-01/zonefront/vpc...           api/vpcext.py: VPC definitions (signed)
    anything else                          api/server.py: Route 53's REST API

A mount has `claims(handler, method, raw_path) -> bool` and `serve(handler,
method, raw_path, raw_query, request_id)`; api/server.py tries the table
before its own routing and knows none of the services in it.
"""
from __future__ import annotations

import logging

from ..api import keyapi, vpcext
from ..aws import iam, sigv4
from ..aws.route53_errors import Route53Error
from ..console.mount import console_mount
from ..domains import http as domains_http

log = logging.getLogger("zonefront.api")


class ConsoleMount:
    def __init__(self, console):
        self.console = console  # console/mount.py's ConsoleMount

    def claims(self, handler, method: str, raw_path: str) -> bool:
        return self.console.claims(raw_path)

    def serve(self, handler, method: str, raw_path: str, raw_query: str, request_id: str):
        self.console.serve(handler, method, raw_path, raw_query)


class DomainsMount:
    def __init__(self, registry):
        self.registry = registry  # domains/service.py's Registry

    def claims(self, handler, method: str, raw_path: str) -> bool:
        return domains_http.classify(method, raw_path, handler.headers) is not None

    def serve(self, handler, method: str, raw_path: str, raw_query: str, request_id: str):
        kind = domains_http.classify(method, raw_path, handler.headers)
        domains_http.serve(handler, self.registry, kind, method, raw_path, raw_query, request_id)


class EdgesMount:
    """Signed like Route 53; an edge's own key may call these paths only, any
    other key needs IAM action zonefront:EdgeSync."""

    def __init__(self, hub):
        self.hub = hub  # edge/hub.py's EdgeHub

    def claims(self, handler, method: str, raw_path: str) -> bool:
        return self.hub.claims(raw_path)

    def serve(self, handler, method: str, raw_path: str, raw_query: str, request_id: str):
        try:
            body = handler._read_body()
        except Route53Error as e:
            handler._error(e, request_id, close=True)
            return
        try:
            access_key = handler._signed_key(method, raw_path, raw_query, body)
            if access_key not in handler.config.edges.credentials:
                handler._authorize(access_key, iam.Request("zonefront:EdgeSync"))
        except Route53Error as e:
            handler._error(e, request_id)
            return
        self.hub.serve(handler, method, raw_path, raw_query, body, request_id,
                       readonly=access_key in handler.config.readonly_keys)


class _SignedMount:
    """zonefront's own calls on the API port: the body read and the
    signature checked as for Route 53 (an edge key refused), errors as
    Route 53's XML unless the subclass answers them itself."""

    def serve(self, handler, method: str, raw_path: str, raw_query: str, request_id: str):
        try:
            body = handler._read_body()
        except Route53Error as e:
            handler._error(e, request_id, close=True)
            return
        try:
            access_key = handler._signed_caller(method, raw_path, raw_query, body)
            self.answer(handler, method, raw_path, body, access_key, request_id)
        except Route53Error as e:
            handler._error(e, request_id)
        except Exception:  # noqa: BLE001 (logged; the client gets Route 53's InternalFailure)
            log.exception("internal error in %s %s", method, raw_path)
            handler._error(Route53Error("InternalFailure", "The request processing has failed "
                                        "because of an unknown error.", 500), request_id)


class KeysMount(_SignedMount):
    """Access keys (api/keyapi.py), admin only."""

    def claims(self, handler, method: str, raw_path: str) -> bool:
        return keyapi.claims(raw_path)

    def answer(self, handler, method, raw_path, body, access_key, request_id):
        status, out, hdrs = keyapi.serve(handler.keyring, method, raw_path, body,
                                         handler._authorizer(access_key))
        handler._send(status, out, request_id, hdrs, content_type="application/json")


class VPCsMount(_SignedMount):
    """VPC definitions (api/vpcext.py), answered in the request's format."""

    ACTIONS = {"POST": "CreateVPC", "PUT": "UpdateVPC", "DELETE": "DeleteVPC"}

    def claims(self, handler, method: str, raw_path: str) -> bool:
        return raw_path.startswith(vpcext.PREFIX)

    def answer(self, handler, method, raw_path, body, access_key, request_id):
        tail = raw_path[len(vpcext.PREFIX):].strip("/")
        action = self.ACTIONS.get(method) or ("GetVPC" if "/" in tail else "ListVPCs")
        try:
            handler._authorize(access_key, iam.Request(f"zonefront:{action}"))
        except Route53Error as e:  # answered in the request's format (JSON or XML)
            out, ctype = vpcext._error(e, request_id, vpcext._wants_json(handler.headers, body))
            handler._send(e.status, out, request_id, content_type=ctype)
            return
        host = handler.headers.get("Host") or "%s:%d" % handler.server.server_address[:2]
        status, out, ctype, hdrs = vpcext.serve(
            handler.service, handler.config, method, raw_path, handler.headers, body,
            access_key, f"{handler.scheme}://{host}", request_id)
        handler._send(status, out, request_id, hdrs, content_type=ctype)


def console_auth(handler, method: str, raw_path: str, raw_query: str) -> None:
    """The console's signed calls outside the Route 53 paths (its /metrics
    proxy): the same SigV4 check, then IAM action zonefront:GetMetrics."""
    access_key = None
    if handler.config.auth:
        access_key = sigv4.verify(method, raw_path, raw_query, handler.headers, b"",
                                  handler.keyring, service="route53")
    handler._authorize(access_key, iam.Request("zonefront:GetMetrics"))


def mount_table(config, registry=None, edges=None) -> list:
    """The mounts this configuration serves, in the order they are tried."""
    table: list = []
    console = console_mount(config, console_auth)
    if console is not None:
        table.append(ConsoleMount(console))
    if registry is not None:
        table.append(DomainsMount(registry))
    if edges is not None:
        table.append(EdgesMount(edges))
    table += [KeysMount(), VPCsMount()]
    return table
