"""The zonefront extensions on the API port that edges (and operators) call,
below /2013-04-01/zonefront/, signed with SigV4 like every Route 53 call
(an [edges] key may call these and nothing else):

  GET    /2013-04-01/zonefront/edges            edges and the serial each serves (JSON)
  PUT    /2013-04-01/zonefront/edges/{EdgeId}   heartbeat: register / report (JSON)
  DELETE /2013-04-01/zonefront/edges/{EdgeId}   forget an edge
  GET    /2013-04-01/zonefront/state            epoch, serial, health etag (JSON);
         ?epoch=E&serial=N&health=H&wait=S      long poll: answers when any differs
  GET    /2013-04-01/zonefront/snapshot         compiled image (snapshot/format.py)
  GET    /2013-04-01/zonefront/zones            source zones (edge/documents.py)
  GET    /2013-04-01/zonefront/views            private views, compiled (edge/documents.py)
  GET    /2013-04-01/zonefront/delta?since=N&epoch=E   changes since N, or 410
  GET    /2013-04-01/zonefront/health           health table (If-None-Match: etag -> 304)

msgpack documents come with X-Zonefront-Epoch and X-Zonefront-Serial.
Errors are JSON: {"Error": {"Code": ..., "Message": ...}}.
"""
from __future__ import annotations

import json
import logging
from urllib.parse import parse_qsl

from .. import httpio
from ..errors import ServiceError
from .documents import EDGE_ID

log = logging.getLogger("zonefront.edges")

PREFIX = "/2013-04-01/zonefront/"
MAX_WAIT = 30.0  # seconds a long poll may hold a request thread
MSGPACK = "application/x-msgpack"


ROUTES = ("edges", "state", "snapshot", "zones", "views", "delta", "health")  # first path segments


def is_edge_path(raw_path: str) -> bool:
    """Ours below PREFIX (api/vpcext.py answers the other zonefront calls)."""
    return (raw_path.startswith(PREFIX)
            and raw_path[len(PREFIX):].split("/", 1)[0] in ROUTES)


class _Err(ServiceError):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code = status, code


def _json(handler, status: int, doc, request_id: str) -> None:
    httpio.send(handler, status, json.dumps(doc).encode(), "application/json", request_id)


def serve(handler, hub, method: str, raw_path: str, raw_query: str, body: bytes,
          request_id: str, readonly: bool = False) -> None:
    """Answer one request below PREFIX (the signature is already checked)
    from `hub` (hub.py's EdgeHub)."""
    try:
        _route(handler, hub, method, raw_path, raw_query, body, request_id, readonly)
    except _Err as e:
        _json(handler, e.status, {"Error": {"Code": e.code, "Message": str(e)}}, request_id)
    except (BrokenPipeError, ConnectionResetError):
        handler.close_connection = True  # the edge went away mid long poll
    except Exception:
        log.exception("internal error in %s %s", method, raw_path)
        _json(handler, 500, {"Error": {"Code": "InternalFailure",
                                       "Message": "edge request failed"}}, request_id)


def _int(q: dict, key: str, default: int = 0) -> int:
    try:
        return int(q.get(key, default))
    except ValueError:
        raise _Err(400, "InvalidInput", f"{key} must be an integer") from None


def _route(handler, hub, method, raw_path, raw_query, body, request_id, readonly) -> None:
    q = dict(parse_qsl(raw_query, keep_blank_values=True))
    parts = raw_path[len(PREFIX):].strip("/").split("/") if is_edge_path(raw_path) else []
    what = parts[0] if parts else ""
    if readonly and method not in ("GET", "HEAD"):
        raise _Err(403, "AccessDenied", "a read-only key cannot report as an edge")
    if what == "edges" and len(parts) == 1:
        if method not in ("GET", "HEAD"):
            raise _Err(405, "MethodNotAllowed", f"{method} {raw_path}")
        st = hub.state()
        _json(handler, 200, {"Edges": hub.list(), "Serial": st["serial"], "Epoch": st["epoch"],
                             "StaleAfter": st["stale_after"]}, request_id)
        return
    if what == "edges" and len(parts) == 2:
        edge_id = parts[1]
        if not EDGE_ID.match(edge_id):
            raise _Err(400, "InvalidInput", "an edge id is 1 to 64 of A-Z a-z 0-9 . _ : -")
        if method in ("PUT", "POST"):
            try:
                report = json.loads(body or b"{}")
                if not isinstance(report, dict):
                    raise ValueError("not an object")
            except ValueError as e:
                raise _Err(400, "InvalidInput", f"heartbeat body: {e}") from None
            _json(handler, 200, hub.heartbeat(edge_id, report), request_id)
        elif method == "DELETE":
            if not hub.remove(edge_id):
                raise _Err(404, "NoSuchEdge", f"no edge {edge_id}")
            _json(handler, 200, {"Id": edge_id}, request_id)
        else:
            raise _Err(405, "MethodNotAllowed", f"{method} {raw_path}")
        return
    if method not in ("GET", "HEAD") or len(parts) != 1:
        raise _Err(404, "UnknownOperationException", f"No zonefront operation at {method} "
                   f"{raw_path}")
    if what == "state":
        wait = min(max(float(q.get("wait", 0) or 0), 0.0), MAX_WAIT)
        st = hub.wait(q.get("epoch", ""), _int(q, "serial"), q.get("health", ""), wait) \
            if wait else hub.state()
        _json(handler, 200, st, request_id)
    elif what == "snapshot":
        serial, blob = hub.snapshot_doc()
        httpio.send(handler, 200, blob, MSGPACK, request_id,
                    {"X-Zonefront-Epoch": hub.epoch, "X-Zonefront-Serial": serial})
    elif what == "zones":
        serial, blob = hub.zones_doc()
        httpio.send(handler, 200, blob, MSGPACK, request_id,
                    {"X-Zonefront-Epoch": hub.epoch, "X-Zonefront-Serial": serial})
    elif what == "views":
        serial, blob = hub.views_doc()
        httpio.send(handler, 200, blob, MSGPACK, request_id,
                    {"X-Zonefront-Epoch": hub.epoch, "X-Zonefront-Serial": serial})
    elif what == "delta":
        blob = hub.delta_doc(_int(q, "since"), q.get("epoch", ""))
        if blob is None:
            st = hub.state()
            raise _Err(410, "HistoryGone", f"no delta from {q.get('epoch')}/{q.get('since')} "
                       f"to {st['epoch']}/{st['serial']}; fetch zones")
        httpio.send(handler, 200, blob, MSGPACK, request_id, {"X-Zonefront-Epoch": hub.epoch})
    elif what == "health":
        etag, blob = hub.health_doc()
        if etag and handler.headers.get("If-None-Match") == f'"{etag}"':
            httpio.send(handler, 304, b"", MSGPACK, request_id, {"ETag": f'"{etag}"'})
        else:
            httpio.send(handler, 200, blob, MSGPACK, request_id, {"ETag": f'"{etag}"'})
    else:
        raise _Err(404, "UnknownOperationException", f"No zonefront operation at {method} "
                   f"{raw_path}")
