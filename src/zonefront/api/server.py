"""The HTTP(S) front of the Route 53 API: route by botocore's URI templates,
check the signature, decode the body safely, call the service, encode the
answer (or Route 53's ErrorResponse).

stdlib ThreadingHTTPServer speaking HTTP/1.1 with keep-alive: boto3 and the
AWS CLI reuse connections, and a control plane's load is small next to the
fsync per committed change.
"""
from __future__ import annotations

import logging
import re
import socket
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote

from .. import httpio
from ..config import Config
from ..aws import access, iam, sigv4
from . import xmlio
from ..aws._route53_model import OPERATIONS, SHAPES
from ..aws.route53_errors import Route53Error, invalid_input
from .keys import KeyRing
from .service import Context, Route53Service

log = logging.getLogger("zonefront.api")

# observer(operation, HTTP status, seconds) per response sent (the
# Prometheus metrics append one); an empty list costs a length check per request
REQUEST_OBSERVERS: list = []

def _compile_routes() -> list[tuple[str, re.Pattern, str]]:
    routes = []
    for name, op in OPERATIONS.items():
        uri = op["uri"].rstrip("/")
        pattern = re.sub(r"\{(\w+)\}", lambda m: f"(?P<{m.group(1)}>[^/]+)", re.escape(uri)
                         .replace(r"\{", "{").replace(r"\}", "}"))
        literal = len(re.sub(r"\{\w+\}", "", uri))
        routes.append((literal, op["method"], re.compile("^" + pattern + "/?$"), name))
    routes.sort(key=lambda r: -r[0])
    return [(m, p, n) for _lit, m, p, n in routes]


ROUTES = _compile_routes()


def match_route(method: str, path: str) -> tuple[str | None, dict, bool]:
    """(operation, path params, path known for another method)."""
    other = False
    for m, pat, name in ROUTES:
        hit = pat.match(path)
        if hit:
            if m == method:
                return name, {k: unquote(v) for k, v in hit.groupdict().items()}, False
            other = True
    return None, {}, other


def decode_input(op_name: str, params: dict, query: list[tuple[str, str]], headers,
                 body: bytes) -> dict:
    op = OPERATIONS[op_name]
    shape_name = op["input"]
    if shape_name is None:
        return {}
    shape = SHAPES[shape_name]
    qs: dict[str, list[str]] = {}
    for k, v in query:
        qs.setdefault(k, []).append(v)
    inp: dict = {}
    has_body = any(not r.get("location") for r in shape["members"].values())
    if has_body:
        if not body.strip():
            raise invalid_input("The request body is empty; an XML document is expected.")
        root = xmlio.parse_xml(body)
        inp = xmlio.from_xml(shape_name, root)
    for member, ref in shape["members"].items():
        loc = ref.get("location")
        key = ref.get("locationName", member)
        raw = None
        if loc == "uri":
            raw = params.get(key)
        elif loc == "querystring":
            vals = qs.get(key)
            raw = vals[-1] if vals else None
        elif loc == "header":
            raw = headers.get(key)
        if raw is not None:
            inp[member] = xmlio.scalar_from_text(ref["shape"], raw, key)
    errs = xmlio.validate(shape_name, inp)
    if errs:
        n = len(errs)
        raise invalid_input(f"{n} validation error{'s' if n > 1 else ''} detected: "
                            + "; ".join(errs))
    return inp


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "zonefront"
    sys_version = ""

    # set on the subclass made per server
    service: Route53Service
    config: Config
    keyring: KeyRing  # secrets for SigV4, policies for IAM
    scheme: str = "http"
    # the other services on this port, tried in order before Route 53's
    # routing (control/mounts.py's table: console, Route 53 Domains, edges)
    mounts: tuple = ()
    edge_paths: str | None = None  # what an edge key may call, for its AccessDenied

    def setup(self):
        super().setup()
        # headers and body leave in two writes; without NODELAY, Nagle plus the
        # client's delayed ACK adds ~40 ms to every keep-alive response
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):  # route access logs to logging, not stderr
        log.debug("%s " + fmt, self.address_string(), *args)

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_DELETE(self):
        self._handle("DELETE")

    def do_PUT(self):
        self._handle("PUT")

    def do_HEAD(self):  # RDAP clients may ask HEAD (RFC 7480 §4)
        self._handle("HEAD")

    def _send(self, status: int, body: bytes, request_id: str, headers: dict | None = None,
              content_type: str = "text/xml"):
        for observe in REQUEST_OBSERVERS:
            observe(getattr(self, "_zf_op", "other"), status,
                    time.monotonic() - getattr(self, "_zf_t0", time.monotonic()))
        httpio.send(self, status, body, content_type, request_id, headers)

    def _error(self, e: Route53Error, request_id: str, close: bool = False):
        body = xmlio.error_xml(e.code, e.message, request_id, sender=e.status < 500,
                               messages=e.messages, extra_xml=e.extra_xml)
        headers = {"Connection": "close"} if close else None
        if close:
            self.close_connection = True
        self._send(e.status, body, request_id, headers)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            raise Route53Error("MissingContentLength", "Chunked request bodies are not "
                               "accepted; send Content-Length.", 411)
        n = self.headers.get("Content-Length")
        if n is None:
            return b""
        try:
            length = int(n)
        except ValueError:
            raise invalid_input("Content-Length is not a number") from None
        if length < 0:
            raise invalid_input("Content-Length is negative")
        if length > self.config.max_body:
            raise Route53Error("RequestEntityTooLarge", f"The request body is {length} bytes, "
                               f"more than the {self.config.max_body} bytes accepted.", 413)
        return self.rfile.read(length)

    def _signed_key(self, method: str, raw_path: str, raw_query: str,
                    body: bytes) -> str | None:
        """The access key whose SigV4 signature this request carries (None
        when the configuration turns authentication off); raises AuthError."""
        if not self.config.auth:
            return None
        return sigv4.verify(method, raw_path, raw_query, self.headers, body, self.keyring,
                            service="route53")

    def _signed_caller(self, method: str, raw_path: str, raw_query: str,
                       body: bytes) -> str | None:
        """_signed_key, refusing an edge's key: it may call the edges' paths only."""
        access_key = self._signed_key(method, raw_path, raw_query, body)
        if access_key is not None and access_key in self.config.edges.credentials:
            paths = self.edge_paths or "the edge endpoints"
            raise Route53Error("AccessDenied", f"User: arn:aws:iam::{self.config.account_id}"
                               f":user/{access_key} is an edge key: it may call only "
                               f"{paths}", 403)
        return access_key

    def _authorizer(self, access_key: str | None):
        return lambda req, code="AccessDenied": self._authorize(access_key, req, code)

    def _authorize(self, access_key: str | None, req: iam.Request,
                   code: str = "AccessDenied") -> None:
        """IAM's decision for this key (aws/iam.py); AccessDenied unless allowed."""
        if access_key is None:
            return
        access.add_globals(req, access_key, self.client_address[0], self.scheme == "https")
        self.keyring.authorize(access_key, req, code)

    def _handle(self, method: str):
        self._zf_t0 = time.monotonic()
        self._zf_op = "other"
        request_id = str(uuid.uuid4())
        raw_path, _, raw_query = self.path.partition("?")
        for mount in self.mounts:
            if mount.claims(self, method, raw_path):
                mount.serve(self, method, raw_path, raw_query, request_id)
                return
        try:
            body = self._read_body()
        except Route53Error as e:
            self._error(e, request_id, close=True)
            return
        try:
            access_key = self._signed_caller(method, raw_path, raw_query, body)
            # the template match runs on the raw path so that an encoded '/'
            # (%2F) stays inside its segment; parameters are unquoted after
            op_name, params, other = match_route(method, raw_path)
            self._zf_op = op_name or "other"
            if op_name is None:
                if other:
                    raise Route53Error("MethodNotAllowed", f"The method {method} is not "
                                       f"allowed for {raw_path}", 405)
                raise Route53Error("UnknownOperationException", f"No Route 53 operation at "
                                   f"{method} {raw_path}", 404)
            query = parse_qsl(raw_query, keep_blank_values=True)
            inp = decode_input(op_name, params, query, self.headers, body)
            self._authorize(access_key, access.route53_request(op_name, inp))
            handler = getattr(self.service, op_name, None)
            if handler is None:
                raise Route53Error("NotImplemented", f"zonefront does not implement "
                                   f"{op_name} yet.", 501)
            host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
            out = handler(inp, Context(
                f"{self.scheme}://{host}", access_key, request_id=request_id,
                principal=self.keyring.user_arn(access_key) if access_key else None,
                client_ip=self.client_address[0]))
        except xmlio.XMLInputError as e:
            self._error(invalid_input(str(e)), request_id)
            return
        except Route53Error as e:
            self._error(e, request_id)
            return
        except Exception:
            log.exception("internal error in %s %s", method, raw_path)
            self._error(Route53Error("InternalFailure", "The request processing has failed "
                                     "because of an unknown error.", 500), request_id)
            return
        op = OPERATIONS[op_name]
        out_shape = op["output"]
        headers = xmlio.header_members(out_shape, out) if out_shape else {}
        body = xmlio.to_xml(out_shape, out) if out_shape else b""
        self._send(op["code"], body, request_id, headers)


class APIServer:
    """The API's listening socket and its serving thread."""

    def __init__(self, config: Config, service: Route53Service, mounts=(),
                 edge_paths: str | None = None):
        scheme = "https" if config.tls_cert else "http"
        handler = type("BoundHandler", (Handler,), {"service": service, "config": config,
                                                     "scheme": scheme, "mounts": tuple(mounts),
                                                     "edge_paths": edge_paths,
                                                     "keyring": KeyRing(config)})
        host, port = config.api_listen
        ThreadingHTTPServer.allow_reuse_address = True
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        if config.tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(config.tls_cert, config.tls_key)
            # handshake in the request thread, not in accept(): a slow client
            # must not stall the accept loop
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True,
                                                do_handshake_on_connect=False)
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="zonefront-api",
                                       kwargs={"poll_interval": 0.2}, daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        return self.httpd.server_address[:2]

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
