"""Real endpoints on 127.0.0.1 for the health tests: HTTP, HTTPS (a
self-signed certificate made here), plain TCP, and a hung listener.  Each
can be stopped and started again on the same port."""
from __future__ import annotations

import datetime
import os
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"


def make_cert(directory: str, cn: str = "target.test") -> tuple[str, str]:
    """A self-signed certificate and key (PEM paths); `cryptography` if
    installed, else the openssl command."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                        f"/CN={cn}", "-keyout", key, "-out", cert], check=True,
                       capture_output=True)
        return cert, key
    k = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.timezone.utc)
    c = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
         .public_key(k.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=1))
         .not_valid_after(now + datetime.timedelta(days=2))
         .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
         .sign(k, hashes.SHA256()))
    with open(cert, "wb") as f:
        f.write(c.public_bytes(serialization.Encoding.PEM))
    with open(key, "wb") as f:
        f.write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))
    return cert, key


class HttpTarget:
    """An HTTP(S) server whose answer the test sets: `status`, `body`,
    `chunked`, and per-location status overrides (`by_location`) keyed by
    the location named in the checker's User-Agent."""

    def __init__(self, tls: bool = False):
        self.tls = tls
        self.status = 200
        self.body = b"all good"
        self.chunked = False
        self.by_location: dict[str, int] = {}
        self.requests: list[dict] = []
        self.sni: list[str | None] = []
        self.port = 0
        self._httpd = None
        self._ctx = None
        if tls:
            self._dir = tempfile.mkdtemp(prefix="zf-health-")
            cert, key = make_cert(self._dir)
            self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._ctx.load_cert_chain(cert, key)
            self._ctx.sni_callback = lambda sock, name, ctx: self.sni.append(name)
        self.start()

    def _handler(self):
        target = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                ua = self.headers.get("User-Agent", "")
                loc = ua.split("location ", 1)[1].rstrip(")") if "location " in ua else ""
                target.requests.append({"path": self.path, "host": self.headers.get("Host"),
                                        "ua": ua, "location": loc})
                status = target.by_location.get(loc, target.status)
                body = target.body
                self.send_response(status)
                if target.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for i in range(0, len(body), 1000):
                        part = body[i:i + 1000]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

        return H

    def start(self) -> None:
        ThreadingHTTPServer.allow_reuse_address = True
        httpd = ThreadingHTTPServer((HOST, self.port), self._handler())
        httpd.daemon_threads = True
        if self._ctx is not None:
            httpd.socket = self._ctx.wrap_socket(httpd.socket, server_side=True)
        self.port = httpd.server_address[1]
        self._httpd = httpd
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def restart(self) -> None:
        for _ in range(100):
            try:
                self.start()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"cannot rebind port {self.port}")


class TcpTarget:
    """Accepts and closes connections; stop() closes the listening socket."""

    def __init__(self):
        self.port = 0
        self._sock = None
        self.start()

    def start(self) -> None:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((HOST, self.port))
        s.listen(64)
        self.port = s.getsockname()[1]
        self._sock = s
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def _accept(self, s) -> None:
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            c.close()

    def stop(self) -> None:
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._sock.close()
            self._sock = None

    restart = start


class HungTarget:
    """Listens (the kernel completes the handshake) but never answers."""

    def __init__(self, backlog: int = 4096):
        self._sock = socket.socket()
        self._sock.bind((HOST, 0))
        self._sock.listen(backlog)
        self.port = self._sock.getsockname()[1]

    def stop(self) -> None:
        self._sock.close()


def closed_port() -> int:
    """A port with nothing listening (bound and released)."""
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout: float, step: float = 0.01) -> float | None:
    """Seconds until `pred()` held, or None after `timeout`."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return time.monotonic() - t0
        time.sleep(step)
    return None
