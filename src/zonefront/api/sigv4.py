"""AWS Signature Version 4 verification of API requests (header form).

The canonical request is rebuilt from the request exactly as it arrived:
the raw path (botocore signs the already-%-encoded path encoded once more,
as it does for every service but S3), the query re-encoded per the SigV4
rules, the signed headers, and the SHA-256 of the body.  Errors carry the
codes and texts AWS sends.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import posixpath
from urllib.parse import quote, unquote

from .errors import Route53Error

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = 15 * 60  # seconds; AWS refuses requests signed further away in time


class AuthError(Route53Error):
    pass


def _err(code: str, message: str, status: int = 403) -> AuthError:
    return AuthError(code, message, status)


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    k = _hmac(("AWS4" + secret).encode("utf-8"), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def _canonical_path(raw_path: str) -> str:
    path = raw_path or "/"
    norm = posixpath.normpath(path)
    if path.endswith("/") and norm != "/":
        norm += "/"
    if norm.startswith("//"):
        norm = "/" + norm.lstrip("/")
    return quote(norm, safe="/~")


def _canonical_query_variants(raw_query: str) -> list[str]:
    """The spec's form (decode, re-encode, sort) and botocore's (as sent, sorted)."""
    if not raw_query:
        return [""]
    pairs = [p.partition("=") for p in raw_query.split("&") if p]
    as_sent = "&".join(f"{k}={v}" for k, _, v in sorted((k, s, v) for k, s, v in pairs))
    enc = sorted((quote(unquote(k), safe="-_.~"), quote(unquote(v), safe="-_.~"))
                 for k, _, v in pairs)
    spec = "&".join(f"{k}={v}" for k, v in enc)
    return [spec] if spec == as_sent else [spec, as_sent]


def parse_authorization(value: str) -> dict:
    if not value.startswith(ALGORITHM + " "):
        algo = value.split(" ", 1)[0]
        raise _err("IncompleteSignature", f"Unsupported AWS 'algorithm': '{algo}'", 400)
    fields = {}
    for part in value[len(ALGORITHM) + 1:].split(","):
        k, sep, v = part.strip().partition("=")
        if sep:
            fields[k] = v
    for need in ("Credential", "SignedHeaders", "Signature"):
        if need not in fields:
            raise _err("IncompleteSignature", f"Authorization header requires '{need}' "
                       f"parameter. Authorization={value}", 400)
    cred = fields["Credential"].split("/")
    if len(cred) != 5 or cred[4] != "aws4_request":
        raise _err("IncompleteSignature", "Credential should be scoped to a valid region, "
                   f"service and date: {fields['Credential']}", 400)
    return {"access_key": cred[0], "date": cred[1], "region": cred[2], "service": cred[3],
            "signed_headers": fields["SignedHeaders"].split(";"),
            "signature": fields["Signature"]}


def verify(method: str, raw_path: str, raw_query: str, headers, body: bytes,
           credentials: dict[str, str], now: float | None = None) -> str:
    """Check the request's signature; return the access key id or raise AuthError.

    `headers` is a case-insensitive mapping (http.client.HTTPMessage works).
    """
    auth = headers.get("Authorization")
    if not auth:
        raise _err("MissingAuthenticationToken", "Missing Authentication Token")
    a = parse_authorization(auth.strip())
    if a["access_key"] not in credentials:
        raise _err("InvalidClientTokenId", "The security token included in the request is "
                   "invalid.")
    amz_date = headers.get("X-Amz-Date")
    if amz_date is None:
        if "date" not in a["signed_headers"]:
            raise _err("IncompleteSignature", "Authorization header requires existence of "
                       "either a 'X-Amz-Date' or a 'Date' header.", 400)
        raise _err("IncompleteSignature", "zonefront requires the 'X-Amz-Date' header.", 400)
    try:
        when = _dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=_dt.timezone.utc)
    except ValueError:
        raise _err("IncompleteSignature", f"Date must be in ISO-8601 'basic format'. Got "
                   f"'{amz_date}'.", 400) from None
    if a["date"] != amz_date[:8]:
        raise _err("SignatureDoesNotMatch", f"Credential should be scoped to a valid date: "
                   f"'{a['date']}' != '{amz_date[:8]}'")
    now_dt = _dt.datetime.fromtimestamp(now, _dt.timezone.utc) if now is not None \
        else _dt.datetime.now(_dt.timezone.utc)
    if abs((now_dt - when).total_seconds()) > MAX_SKEW:
        raise _err("SignatureDoesNotMatch", f"Signature expired: {amz_date} is now earlier "
                   f"than {(now_dt - _dt.timedelta(seconds=MAX_SKEW)).strftime('%Y%m%dT%H%M%SZ')}"
                   f" ({now_dt.strftime('%Y%m%dT%H%M%SZ')} - 15 min.)"
                   if when < now_dt else
                   f"Signature not yet current: {amz_date} is still later than "
                   f"{(now_dt + _dt.timedelta(seconds=MAX_SKEW)).strftime('%Y%m%dT%H%M%SZ')}")
    signed = a["signed_headers"]
    if "host" not in signed:
        raise _err("SignatureDoesNotMatch", "'Host' must be a signed header.")
    canon_headers = ""
    for h in signed:
        v = headers.get(h)
        if v is None:
            raise _err("SignatureDoesNotMatch", f"The request signature we calculated does "
                       f"not match the signature you provided: signed header {h!r} is absent.")
        canon_headers += f"{h}:{' '.join(v.strip().split())}\n"
    payload_hash = headers.get("X-Amz-Content-SHA256")
    body_hash = hashlib.sha256(body).hexdigest()
    if payload_hash and payload_hash != "UNSIGNED-PAYLOAD" and payload_hash != body_hash:
        raise _err("SignatureDoesNotMatch", "The provided 'x-amz-content-sha256' header does "
                   "not match what was computed.", 400)
    if not payload_hash:
        payload_hash = body_hash
    scope = f"{a['date']}/{a['region']}/{a['service']}/aws4_request"
    key = signing_key(credentials[a["access_key"]], a["date"], a["region"], a["service"])
    path = _canonical_path(raw_path)
    for query in _canonical_query_variants(raw_query):
        creq = "\n".join([method.upper(), path, query, canon_headers, ";".join(signed),
                          payload_hash])
        sts = "\n".join([ALGORITHM, amz_date, scope,
                         hashlib.sha256(creq.encode("utf-8")).hexdigest()])
        sig = hmac.new(key, sts.encode("utf-8"), hashlib.sha256).hexdigest()
        if hmac.compare_digest(sig, a["signature"]):
            return a["access_key"]
    raise _err("SignatureDoesNotMatch", "The request signature we calculated does not match "
               "the signature you provided. Check your AWS Secret Access Key and signing "
               "method. Consult the service documentation for details.")
