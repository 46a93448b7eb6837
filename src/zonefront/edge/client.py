"""An edge's HTTP(S) client for the control plane: one keep-alive
connection, every request signed with SigV4 (service route53, as botocore
signs Route 53 calls), so the API's own verifier (aws/sigv4.py) checks it.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import http.client
import json
import ssl
from urllib.parse import quote, urlsplit

from ..aws.sigv4 import ALGORITHM, signing_key
from ..errors import ServiceError

REGION = "us-east-1"
SERVICE = "route53"


class ControlPlaneError(ServiceError):
    """The control plane answered with an error status."""

    def __init__(self, status: int, body: bytes):
        try:
            err = json.loads(body)["Error"]
            text = f"{err['Code']}: {err['Message']}"
        except (ValueError, KeyError, TypeError):  # XML (a Route 53 error) or nothing
            text = body[:200].decode("utf-8", "replace")
        super().__init__(f"HTTP {status}: {text}")
        self.status = status


def _canonical_query(params: dict) -> str:
    return "&".join(f"{quote(str(k), safe='-_.~')}={quote(str(v), safe='-_.~')}"
                    for k, v in sorted(params.items()))


class Client:
    def __init__(self, url: str, access_key: str | None, secret: str | None,
                 timeout: float = 30.0):
        u = urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"{url!r}: expected http://HOST:PORT or https://HOST:PORT")
        self.scheme = u.scheme
        self.host = u.hostname
        self.port = u.port or (443 if u.scheme == "https" else 80)
        self.base = u.path.rstrip("/")
        self.netloc = u.netloc
        self.access_key, self.secret = access_key, secret
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        if self._conn is None:
            if self.scheme == "https":
                self._conn = http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                                         context=ssl.create_default_context())
            else:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        self._conn.timeout = timeout
        if self._conn.sock is not None:
            self._conn.sock.settimeout(timeout)
        return self._conn

    def _sign(self, method: str, path: str, query: str, body: bytes, headers: dict) -> None:
        now = _dt.datetime.now(_dt.timezone.utc)
        amz_date, date = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        payload = hashlib.sha256(body).hexdigest()
        headers["X-Amz-Date"] = amz_date
        headers["X-Amz-Content-SHA256"] = payload
        signed = {"host": self.netloc, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
        names = sorted(signed)
        creq = "\n".join([method, quote(path, safe="/~"), query,
                          "".join(f"{n}:{signed[n]}\n" for n in names), ";".join(names),
                          payload])
        scope = f"{date}/{REGION}/{SERVICE}/aws4_request"
        sts = "\n".join([ALGORITHM, amz_date, scope,
                         hashlib.sha256(creq.encode()).hexdigest()])
        key = signing_key(self.secret, date, REGION, SERVICE)
        sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (f"{ALGORITHM} Credential={self.access_key}/{scope}, "
                                    f"SignedHeaders={';'.join(names)}, Signature={sig}")

    def request(self, method: str, path: str, params: dict | None = None,
                body: bytes = b"", headers: dict | None = None,
                timeout: float | None = None) -> tuple[int, dict, bytes]:
        """(status, headers, body); raises OSError/HTTPException when the
        control plane cannot be reached (the connection is then dropped)."""
        path = self.base + path
        query = _canonical_query(params or {})
        hdrs = dict(headers or {})
        hdrs["Host"] = self.netloc
        if self.access_key:
            self._sign(method, path, query, body, hdrs)
        target = path + ("?" + query if query else "")
        conn = self._connect(timeout or self.timeout)
        try:
            conn.request(method, target, body=body or None, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
        except Exception:
            self.close()
            raise
        if resp.getheader("Connection", "").lower() == "close":
            self.close()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data

    def call(self, method: str, path: str, params: dict | None = None, body: bytes = b"",
             headers: dict | None = None, timeout: float | None = None,
             ok: tuple[int, ...] = (200,)) -> tuple[int, dict, bytes]:
        status, hdrs, data = self.request(method, path, params, body, headers, timeout)
        if status not in ok:
            raise ControlPlaneError(status, data)
        return status, hdrs, data

    def json(self, method: str, path: str, params: dict | None = None, doc=None,
             timeout: float | None = None):
        body = json.dumps(doc).encode() if doc is not None else b""
        hdrs = {"Content-Type": "application/json"} if doc is not None else None
        return json.loads(self.call(method, path, params, body, hdrs, timeout)[2])
