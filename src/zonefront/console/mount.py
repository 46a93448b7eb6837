"""Serve the console's static files under /console/ on the API port.

The files are public code (no secret in them), so they are served without a
signature; every call they make is a SigV4-signed Route 53 request checked
by the same path as boto3's.  One path is not a file: /console/metrics
passes the Prometheus text of `--metrics-listen` (another port, which the
page may not reach under its CSP) to a signed caller whose IAM policy allows
zonefront:GetMetrics; the traffic and health charts read it.

The Content-Security-Policy limits scripts,
styles, images and connections to this origin: a page cannot reach another
host even if a bug tried to, which is what lets the console work air-gapped.
"""
from __future__ import annotations

import mimetypes
import os
import urllib.error
import urllib.request
from importlib import resources

from .. import httpio
from ..errors import ServiceError

PREFIX = "/console"
METRICS = PREFIX + "/metrics"
METRICS_TIMEOUT = 3.0  # seconds for the metrics listener to answer
_TYPES = {".js": "text/javascript; charset=utf-8", ".html": "text/html; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data: blob:; connect-src 'self'; "
                               "form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def static_root() -> str:
    return str(resources.files(__package__).joinpath("static"))


class ConsoleMount:
    """claims(raw_path) -> bool; serve(handler, method, raw_path, raw_query)
    answers it.  `auth(handler, method, raw_path, raw_query)` raises (an
    error with .code, .message, .status) unless the caller may read metrics;
    `metrics` is the (host, port) of the Prometheus listener, if any."""

    def __init__(self, root: str | None = None, auth=None,
                 metrics: tuple[str, int] | None = None):
        self.root = os.path.realpath(root or static_root())
        self.auth = auth
        self.metrics = metrics

    def claims(self, raw_path: str) -> bool:
        return raw_path == PREFIX or raw_path.startswith(PREFIX + "/")

    def resolve(self, raw_path: str) -> str | None:
        """The file for a path under /console/, or None; never a file outside
        the static directory (no '..', no encoded separators, no dotfiles)."""
        rel = raw_path[len(PREFIX):].lstrip("/")
        if rel == "":
            rel = "index.html"
        if "%" in rel or "\\" in rel or "\0" in rel:
            return None
        parts = rel.split("/")
        if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
            return None
        path = os.path.realpath(os.path.join(self.root, *parts))
        if not path.startswith(self.root + os.sep) or not os.path.isfile(path):
            return None
        return path

    def serve(self, handler, method: str, raw_path: str, raw_query: str = "") -> None:
        if raw_path == METRICS and method == "GET":
            self._metrics(handler, method, raw_path, raw_query)
            return
        if raw_path == PREFIX:  # relative module URLs need the trailing slash
            self._reply(handler, 301, b"", "text/plain", {"Location": PREFIX + "/"})
            return
        if method not in ("GET", "HEAD"):
            self._reply(handler, 405, b"method not allowed\n", "text/plain",
                        {"Allow": "GET, HEAD"})
            return
        path = self.resolve(raw_path)
        if path is None:
            self._reply(handler, 404, b"not found\n", "text/plain")
            return
        with open(path, "rb") as f:
            body = f.read()
        ext = os.path.splitext(path)[1]
        ctype = _TYPES.get(ext) or mimetypes.guess_type(path)[0] or "application/octet-stream"
        self._reply(handler, 200, body, ctype)

    def _metrics(self, handler, method: str, raw_path: str, raw_query: str) -> None:
        if self.auth is None:
            self._reply(handler, 403, b"AccessDenied: no authorizer for the metrics proxy\n",
                        "text/plain")
            return
        try:
            self.auth(handler, method, raw_path, raw_query)
        except ServiceError as e:  # Route53Error and its AuthError: code, message, status
            code, status = getattr(e, "code", "AccessDenied"), getattr(e, "status", 403)
            body = f"{code}: {getattr(e, 'message', str(e))}\n".encode()
            self._reply(handler, status, body, "text/plain", {"x-amzn-ErrorType": code})
            return
        if self.metrics is None:
            self._reply(handler, 404, b"NoMetrics: this server runs without --metrics-listen\n",
                        "text/plain", {"x-amzn-ErrorType": "NoMetrics"})
            return
        host, port = self.metrics
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/metrics"
        try:
            with urllib.request.urlopen(url, timeout=METRICS_TIMEOUT) as r:
                body = r.read()
        except (urllib.error.URLError, OSError) as e:
            self._reply(handler, 502, f"MetricsUnavailable: {url}: {e}\n".encode(), "text/plain",
                        {"x-amzn-ErrorType": "MetricsUnavailable"})
            return
        self._reply(handler, 200, body, "text/plain; version=0.0.4; charset=utf-8")

    @staticmethod
    def _reply(handler, status: int, body: bytes, ctype: str, extra: dict | None = None):
        if handler.headers.get("Content-Length"):
            handler.rfile.read(int(handler.headers["Content-Length"]))
        httpio.send(handler, status, body, ctype, None, {**SECURITY_HEADERS, **(extra or {})})


def console_mount(config, auth=None) -> ConsoleMount | None:
    """The mount for this configuration (None when the console is off)."""
    if not getattr(config, "console", True):
        return None
    return ConsoleMount(auth=auth, metrics=getattr(config, "console_metrics", None))
