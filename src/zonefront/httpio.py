"""One HTTP response writer for every handler on the API port (Route 53,
Route 53 Domains, the edges' endpoints, the console), so that a status, a
length, the request id and the extra headers leave the same way whichever
service answers, and HEAD gets the headers without the body."""
from __future__ import annotations


def send(handler, status: int, body: bytes, content_type: str, request_id: str | None = None,
         headers: dict | None = None) -> None:
    """Write one whole response on `handler` (a BaseHTTPRequestHandler)."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    if request_id is not None:
        handler.send_header("x-amzn-RequestId", request_id)
    for k, v in (headers or {}).items():
        handler.send_header(k, str(v))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)
