"""One probe of one endpoint: TCP connect, HTTP(S) status, string match.

Probes are coroutines so that thousands can wait on slow or hung targets
from one thread: a hung target costs its timeout and one socket, never a
thread.  Success and failure texts follow Route 53's StatusReport wording.

HTTPS is checked the way Route 53 does it: the certificate is not
validated, and FullyQualifiedDomainName goes in the TLS SNI extension when
EnableSNI is set.  A 2xx or 3xx status within the timeout is healthy; for
*_STR_MATCH the search string must also occur within the first 5,120
bytes of the body.
"""
from __future__ import annotations

import asyncio
import errno
import http
import socket
import ssl
import time
from dataclasses import dataclass

from .spec import MATCH_TYPES, SEARCH_LIMIT, TLS_TYPES, CheckSpec

USER_AGENT = "Amazon-Route53-Health-Check-Service (ref {ref}; zonefront; location {loc})"
MAX_HEADER_BYTES = 16384  # a status line plus headers longer than this is a failure

TIMEOUT_TEXT = ("Failure: Connection timed out. The endpoint or the internet connection is "
                "down, or requests are being blocked by your firewall. See "
                "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/"
                "dns-failover-router-firewall-rules.html")


@dataclass
class Result:
    ok: bool
    status: str  # "Success: ..." or "Failure: ..."
    latency_ms: float | None = None  # time to connect (TCP + TLS)
    source_ip: str | None = None  # the checker's address as the target saw it


def _tls_context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # Route 53 does not validate endpoint certificates
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


_TLS = _tls_context()


def _phrase(code: int, given: str) -> str:
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return given or "Unknown"


def _resolved(spec: CheckSpec, peer) -> str:
    return f" Resolved IP: {peer[0]}" if spec.ip is None and peer else ""


async def probe(spec: CheckSpec, location: str, connect_timeout: float,
                read_timeout: float) -> Result:
    """Probe once; never raises (every error is a Failure result)."""
    host = spec.ip or spec.fqdn
    tls = spec.type in TLS_TYPES
    t0 = time.monotonic()
    writer = None
    try:
        try:
            async with asyncio.timeout(connect_timeout):
                reader, writer = await asyncio.open_connection(
                    host, spec.port, ssl=_TLS if tls else None,
                    server_hostname=(spec.fqdn if spec.sni and spec.fqdn else "")
                    if tls else None,
                    ssl_handshake_timeout=connect_timeout if tls else None)
        except TimeoutError:
            return Result(False, TIMEOUT_TEXT)
        except ssl.SSLError as e:
            return Result(False, f"Failure: TLS negotiation failed: {e.reason or e}.")
        except socket.gaierror:
            return Result(False, f"Failure: DNS resolution failed for {host}.")
        except OSError as e:
            if isinstance(e, ConnectionRefusedError) or e.errno == errno.ECONNREFUSED:
                return Result(False, "Failure: Connection refused. The endpoint is not "
                                     "accepting connections on this port.")
            return Result(False, f"Failure: Connection failed: {e.strerror or e}.")
        latency = (time.monotonic() - t0) * 1000.0
        sock = writer.get_extra_info("sockname")
        peer = writer.get_extra_info("peername")
        src = sock[0] if sock else None
        if spec.type == "TCP":
            return Result(True, "Success: TCP connection established.", latency, src)
        status = await _http(spec, location, reader, writer, read_timeout, peer)
        status.latency_ms, status.source_ip = latency, src
        return status
    except Exception as e:  # a probe must never take its checker down
        return Result(False, f"Failure: {type(e).__name__}: {e}")
    finally:
        if writer is not None:
            writer.transport.abort()  # no lingering TLS close_notify: the socket is freed now


async def _http(spec: CheckSpec, location: str, reader: asyncio.StreamReader,
                writer: asyncio.StreamWriter, read_timeout: float, peer) -> Result:
    default_port = 443 if spec.type in TLS_TYPES else 80
    host = spec.fqdn or spec.ip or ""
    if ":" in host and spec.fqdn is None:
        host = f"[{host}]"
    if spec.port != default_port:
        host = f"{host}:{spec.port}"
    request = (f"GET {spec.path} HTTP/1.1\r\nHost: {host}\r\n"
               f"User-Agent: {USER_AGENT.format(ref=spec.id, loc=location)}\r\n"
               "Accept: */*\r\nConnection: close\r\n\r\n").encode("latin-1")
    try:
        async with asyncio.timeout(read_timeout):
            writer.write(request)
            line = await reader.readline()
            parts = line.decode("latin-1").split(None, 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
                return Result(False, "Failure: The response is not HTTP: "
                                     f"{line[:60]!r}.{_resolved(spec, peer)}")
            code = int(parts[1])
            given = parts[2].strip() if len(parts) > 2 else ""
            text = f"HTTP Status Code {code}, {_phrase(code, given)}"
            if not 200 <= code < 400:
                return Result(False, f"Failure: {text}.{_resolved(spec, peer)}")
            if spec.type not in MATCH_TYPES:
                return Result(True, f"Success: {text}")
            body = await _read_body(reader)
    except TimeoutError:
        return Result(False, "Failure: The endpoint did not respond within the timeout "
                             f"({read_timeout:g} s) after the connection was established."
                             f"{_resolved(spec, peer)}")
    except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError) as e:
        return Result(False, f"Failure: The connection was closed before a complete "
                             f"response: {e}.{_resolved(spec, peer)}")
    if spec.search in body[:SEARCH_LIMIT]:
        return Result(True, f"Success: {text}. Found the search string in the response body.")
    return Result(False, f"Failure: {text}. The search string was not found in the first "
                         f"{SEARCH_LIMIT} bytes of the response body.{_resolved(spec, peer)}")


async def _read_body(reader: asyncio.StreamReader) -> bytes:
    """Headers, then up to SEARCH_LIMIT bytes of the decoded body."""
    length = None
    chunked = False
    seen = 0
    while True:
        line = await reader.readline()
        seen += len(line)
        if seen > MAX_HEADER_BYTES:
            raise ConnectionError("response headers too long")
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length" and value.strip().isdigit():
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        out = bytearray()
        while len(out) < SEARCH_LIMIT:
            size_line = await reader.readline()
            try:
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
            except ValueError:
                break
            if size == 0:
                break
            want = min(size, SEARCH_LIMIT - len(out))
            out += await reader.readexactly(want)
            if want < size:
                break
            await reader.readline()  # the CRLF after the chunk
        return bytes(out)
    limit = SEARCH_LIMIT if length is None else min(length, SEARCH_LIMIT)
    out = bytearray()
    while len(out) < limit:
        got = await reader.read(limit - len(out))
        if not got:
            break
        out += got
    return bytes(out)
