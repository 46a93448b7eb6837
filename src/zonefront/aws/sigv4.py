"""AWS Signature Version 4 verification of API requests, header and
presigned (query-string) forms, as strict as AWS.

The canonical request is rebuilt from the request exactly as it arrived:
the raw path (botocore signs the already-%-encoded path encoded once more,
as it does for every service but S3), the query re-encoded per the SigV4
rules, the signed headers, and the SHA-256 of the body as received.  Errors
carry the codes and texts AWS sends.

What AWS checks and so do we (each one was a probe that got through):
- the credential scope names the service and region the API is signed for
  (Route 53: route53/us-east-1; Domains: route53domains/us-east-1);
- the signing time is within 5 minutes of ours (presigned: from 5 minutes
  before X-Amz-Date to X-Amz-Expires after it, at most 7 days);
- the payload is always hashed: `X-Amz-Content-SHA256`, when sent, must be
  the body's hash (UNSIGNED-PAYLOAD would leave the body unsigned; boto3
  and the CLI never send it for these services);
- Authorization and X-Amz-Date are singletons (RFC 9110 §5.3: a proxy may
  have checked the other copy), and SignedHeaders covers host and every
  x-amz-* header sent, so no header that changes meaning rides unsigned.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import posixpath
from urllib.parse import quote, unquote

from .route53_errors import Route53Error

ALGORITHM = "AWS4-HMAC-SHA256"
REGION = "us-east-1"  # Route 53 and Route 53 Domains sign every call here
MAX_SKEW = 5 * 60  # seconds; AWS refuses requests signed further away in time
MAX_EXPIRES = 7 * 24 * 3600  # presigned URLs: the signing key lives 7 days
_QUERY_AUTH = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders",
               "X-Amz-Signature")
_UNSIGNED = ("UNSIGNED-PAYLOAD", "STREAMING-")


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


def _canonical_query_variants(raw_query: str, drop: str | None = None) -> list[str]:
    """The spec's form (decode, re-encode, sort) and botocore's (as sent,
    sorted); `drop` leaves out one parameter (X-Amz-Signature, presigned)."""
    if not raw_query:
        return [""]
    pairs = [p.partition("=") for p in raw_query.split("&") if p]
    if drop is not None:
        pairs = [p for p in pairs if unquote(p[0]) != drop]
    as_sent = "&".join(f"{k}={v}" for k, s, v in sorted(pairs))
    enc = sorted((quote(unquote(k), safe="-_.~"), quote(unquote(v), safe="-_.~"))
                 for k, _, v in pairs)
    spec = "&".join(f"{k}={v}" for k, v in enc)
    return [spec] if spec == as_sent else [spec, as_sent]


def _all(headers, name: str) -> list[str]:
    get_all = getattr(headers, "get_all", None)
    if get_all is not None:
        return list(get_all(name) or [])
    v = headers.get(name)
    return [] if v is None else [v]


def _single(headers, name: str) -> str | None:
    values = _all(headers, name)
    if len(values) > 1:
        raise _err("IncompleteSignature", f"The request contains {len(values)} '{name}' "
                   "headers; exactly one is allowed.", 400)
    return values[0] if values else None


def _scope(credential: str, where: str) -> dict:
    cred = credential.split("/")
    if len(cred) != 5 or cred[4] != "aws4_request" or not cred[0]:
        raise _err("IncompleteSignature", "Credential should be scoped to a valid region, "
                   f"service and date: {where}", 400)
    return {"access_key": cred[0], "date": cred[1], "region": cred[2], "service": cred[3]}


def parse_authorization(value: str) -> dict:
    if not value.startswith(ALGORITHM + " "):
        algo = value.split(" ", 1)[0]
        raise _err("IncompleteSignature", f"Unsupported AWS 'algorithm': '{algo}'", 400)
    fields = {}
    for part in value[len(ALGORITHM) + 1:].split(","):
        k, sep, v = part.strip().partition("=")
        if sep:
            if k in fields:
                raise _err("IncompleteSignature", f"Authorization header has '{k}' twice. "
                           f"Authorization={value}", 400)
            fields[k] = v
    for need in ("Credential", "SignedHeaders", "Signature"):
        if need not in fields:
            raise _err("IncompleteSignature", f"Authorization header requires '{need}' "
                       f"parameter. Authorization={value}", 400)
    out = _scope(fields["Credential"], fields["Credential"])
    out["signed_headers"] = fields["SignedHeaders"].split(";")
    out["signature"] = fields["Signature"]
    return out


def _query_params(raw_query: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in raw_query.split("&"):
        if p:
            k, _, v = p.partition("=")
            out.setdefault(unquote(k), []).append(unquote(v))
    return out


def parse_presigned(raw_query: str) -> dict:
    """The X-Amz-* query parameters of a presigned URL."""
    q = _query_params(raw_query)
    for name in _QUERY_AUTH + ("X-Amz-Expires",):
        if len(q.get(name, ())) > 1:
            raise _err("IncompleteSignature", f"The query string contains '{name}' more than "
                       "once.", 400)
    for name in _QUERY_AUTH:
        if name not in q:
            raise _err("IncompleteSignature", f"AWS query-string parameters must include "
                       f"'{name}'. Re-examine the query-string parameters.", 400)
    if q["X-Amz-Algorithm"][0] != ALGORITHM:
        raise _err("IncompleteSignature", f"Unsupported AWS 'algorithm': "
                   f"'{q['X-Amz-Algorithm'][0]}'", 400)
    out = _scope(q["X-Amz-Credential"][0], q["X-Amz-Credential"][0])
    out["signed_headers"] = q["X-Amz-SignedHeaders"][0].split(";")
    out["signature"] = q["X-Amz-Signature"][0]
    out["amz_date"] = q["X-Amz-Date"][0]
    expires = q.get("X-Amz-Expires", [None])[0]
    if expires is not None:
        if not expires.isdigit():
            raise _err("IncompleteSignature", "X-Amz-Expires should be a number of seconds, "
                       f"not '{expires}'.", 400)
        if int(expires) > MAX_EXPIRES:
            raise _err("IncompleteSignature", "X-Amz-Expires must be less than a week (in "
                       f"seconds) that is {MAX_EXPIRES}", 400)
        out["expires"] = int(expires)
    else:
        out["expires"] = None
    return out


def _stamp(d: _dt.datetime) -> str:
    return d.strftime("%Y%m%dT%H%M%SZ")


def _check_time(amz_date: str, now_dt: _dt.datetime, expires: int | None) -> None:
    try:
        when = _dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=_dt.timezone.utc)
    except ValueError:
        raise _err("IncompleteSignature", f"Date must be in ISO-8601 'basic format'. Got "
                   f"'{amz_date}'.", 400) from None
    skew = _dt.timedelta(seconds=MAX_SKEW)
    if when > now_dt + skew:
        raise _err("SignatureDoesNotMatch", f"Signature not yet current: {amz_date} is still "
                   f"later than {_stamp(now_dt + skew)} ({_stamp(now_dt)} + 5 min.)")
    if expires is None:
        if when < now_dt - skew:
            raise _err("SignatureDoesNotMatch", f"Signature expired: {amz_date} is now "
                       f"earlier than {_stamp(now_dt - skew)} ({_stamp(now_dt)} - 5 min.)")
    elif now_dt > when + _dt.timedelta(seconds=expires):
        raise _err("AccessDenied", f"Request has expired: signed at {amz_date} for "
                   f"{expires} seconds, now {_stamp(now_dt)}.")


def verify(method: str, raw_path: str, raw_query: str, headers, body: bytes,
           credentials, service: str = "route53", region: str = REGION,
           now: float | None = None) -> str:
    """Check the request's signature; return the access key id or raise AuthError.

    `headers` is a case-insensitive mapping (http.client.HTTPMessage works;
    its get_all() is how duplicate headers are seen); `credentials` maps
    access key id -> secret (anything with .get).  `service` and `region` are
    what the credential scope must name.
    """
    auth = _single(headers, "Authorization")
    presigned = "X-Amz-Algorithm" in _query_params(raw_query) or \
        "X-Amz-Signature" in _query_params(raw_query)
    if auth is not None and presigned:
        raise _err("IncompleteSignature", "Only one auth mechanism allowed; only the "
                   "X-Amz-Algorithm query parameter or the Authorization header should be "
                   "specified", 400)
    if presigned:
        a = parse_presigned(raw_query)
        amz_date = a["amz_date"]
        if _all(headers, "X-Amz-Date"):
            _single(headers, "X-Amz-Date")
    else:
        if not auth:
            raise _err("MissingAuthenticationToken", "Missing Authentication Token")
        a = parse_authorization(auth.strip())
        a["expires"] = None
        amz_date = _single(headers, "X-Amz-Date")
        if amz_date is None:
            if "date" not in a["signed_headers"]:
                raise _err("IncompleteSignature", "Authorization header requires existence "
                           "of either a 'X-Amz-Date' or a 'Date' header.", 400)
            raise _err("IncompleteSignature", "zonefront requires the 'X-Amz-Date' header.",
                       400)
    if a["date"] != amz_date[:8]:
        raise _err("SignatureDoesNotMatch", f"Credential should be scoped to a valid date: "
                   f"'{a['date']}' != '{amz_date[:8]}'")
    if a["service"] != service:
        raise _err("SignatureDoesNotMatch", "Credential should be scoped to correct service: "
                   f"'{service}'. ")
    if a["region"] != region:
        raise _err("SignatureDoesNotMatch", "Credential should be scoped to a valid region, "
                   f"not '{a['region']}'. ")
    secret = credentials.get(a["access_key"])
    if secret is None:
        raise _err("InvalidClientTokenId", "The security token included in the request is "
                   "invalid.")
    now_dt = _dt.datetime.fromtimestamp(now, _dt.timezone.utc) if now is not None \
        else _dt.datetime.now(_dt.timezone.utc)
    _check_time(amz_date, now_dt, a["expires"])

    signed = a["signed_headers"]
    if signed != sorted(set(signed)) or any(h != h.lower() or not h for h in signed):
        raise _err("SignatureDoesNotMatch", "SignedHeaders must be lower-case header names, "
                   "sorted, each once.")
    if "host" not in signed:
        raise _err("SignatureDoesNotMatch", "'Host' must be a signed header.")
    for name in set(k.lower() for k in headers.keys()):
        if name.startswith("x-amz-") and name not in signed:
            raise _err("SignatureDoesNotMatch", f"The header '{name}' is present in the "
                       "request but is not among the SignedHeaders; every x-amz-* header "
                       "must be signed.")
    canon_headers = ""
    for h in signed:
        values = _all(headers, h)
        if not values:
            raise _err("SignatureDoesNotMatch", f"The request signature we calculated does "
                       f"not match the signature you provided: signed header {h!r} is absent.")
        canon_headers += f"{h}:{','.join(' '.join(v.strip().split()) for v in values)}\n"
    body_hash = hashlib.sha256(body).hexdigest()
    sent_hash = _single(headers, "X-Amz-Content-SHA256")
    if sent_hash is not None:
        if sent_hash.startswith(_UNSIGNED):
            raise _err("SignatureDoesNotMatch", f"x-amz-content-sha256 '{sent_hash}' is not "
                       "accepted: the payload must be signed (send the body's SHA-256).")
        if sent_hash != body_hash:
            raise _err("SignatureDoesNotMatch", "The provided 'x-amz-content-sha256' header "
                       "does not match what was computed.", 400)
    scope = f"{a['date']}/{a['region']}/{a['service']}/aws4_request"
    key = signing_key(secret, a["date"], a["region"], a["service"])
    path = _canonical_path(raw_path)
    drop = "X-Amz-Signature" if presigned else None
    for query in _canonical_query_variants(raw_query, drop):
        creq = "\n".join([method.upper(), path, query, canon_headers, ";".join(signed),
                          body_hash])
        sts = "\n".join([ALGORITHM, amz_date, scope,
                         hashlib.sha256(creq.encode("utf-8")).hexdigest()])
        sig = hmac.new(key, sts.encode("utf-8"), hashlib.sha256).hexdigest()
        if hmac.compare_digest(sig, a["signature"]):
            return a["access_key"]
    raise _err("SignatureDoesNotMatch", "The request signature we calculated does not match "
               "the signature you provided. Check your AWS Secret Access Key and signing "
               "method. Consult the service documentation for details.")
