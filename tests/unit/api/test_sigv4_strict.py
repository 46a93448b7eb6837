"""SigV4 to the letter: every rule AWS applies, over HTTP, with AWS's codes,
and every refused write leaves the store as it was (a CreateHostedZone that
would succeed if signed right is refused, and no zone appears)."""
from __future__ import annotations

import datetime
import hashlib
import hmac
import http.client
import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET

import pytest
from helpers.route53 import AKID, SECRET, new_zone

from zonefront.aws import sigv4

NS = "{https://route53.amazonaws.com/doc/2013-04-01/}"
PATH = "/2013-04-01/hostedzone"


def create_body(name: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><CreateHostedZoneRequest xmlns="'
            f'https://route53.amazonaws.com/doc/2013-04-01/"><Name>{name}</Name>'
            f'<CallerReference>{uuid.uuid4()}</CallerReference></CreateHostedZoneRequest>'
            ).encode()


def sign(server, method, path, body, *, service="route53", region="us-east-1",
         when=None, extra=None, signed_extra=(), payload_hash=None, query=""):
    """Headers for a request signed by hand (so each rule can be bent alone)."""
    host, port = server.cp.api_address
    when = when or datetime.datetime.now(datetime.timezone.utc)
    amz = when.strftime("%Y%m%dT%H%M%SZ")
    headers = {"Host": f"{host}:{port}", "X-Amz-Date": amz}
    headers.update(extra or {})
    signed = sorted({"host", "x-amz-date"} | {h.lower() for h in signed_extra})
    canon = "".join(f"{h}:{headers[next(k for k in headers if k.lower() == h)]}\n"
                    for h in signed)
    phash = payload_hash or hashlib.sha256(body).hexdigest()
    creq = "\n".join([method, path, query, canon, ";".join(signed), phash])
    scope = f"{amz[:8]}/{region}/{service}/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
    sig = hmac.new(sigv4.signing_key(SECRET, amz[:8], region, service), sts.encode(),
                   hashlib.sha256).hexdigest()
    headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={AKID}/{scope}, "
                                f"SignedHeaders={';'.join(signed)}, Signature={sig}")
    return headers


def send(server, method, path, body=b"", headers=(), repeat=()):
    """`headers` as (name, value) pairs so a header can be sent twice."""
    host, port = server.cp.api_address
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for k, v in headers:
        conn.putheader(k, v)
    for k, v in repeat:
        conn.putheader(k, v)
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def error_of(data):
    e = ET.fromstring(data).find(NS + "Error")
    return e.find(NS + "Code").text, e.find(NS + "Message").text


def zone_names(r53):
    return {z["Name"] for z in r53.list_hosted_zones()["HostedZones"]}


def attempt(server, r53, name, **opts):
    """Sign a CreateHostedZone for `name` with `opts` bent; (status, code, message)."""
    body = create_body(name)
    swap = opts.pop("swap_body", None)
    repeat = opts.pop("repeat", ())
    headers = sign(server, "POST", PATH, body, **opts)
    status, data = send(server, "POST", PATH, swap or body, list(headers.items()), repeat)
    if status == 201:
        return status, None, None
    return (status,) + error_of(data)


def test_control_a_correctly_signed_create_works(server, r53):
    assert attempt(server, r53, "control.example")[0] == 201
    assert "control.example." in zone_names(r53)


@pytest.mark.parametrize("service,region,message", [
    ("s3", "us-east-1", "Credential should be scoped to correct service: 'route53'. "),
    ("route53domains", "us-east-1",
     "Credential should be scoped to correct service: 'route53'. "),
    ("xyz", "us-east-1", "Credential should be scoped to correct service: 'route53'. "),
    ("route53", "eu-west-1", "Credential should be scoped to a valid region, not 'eu-west-1'. "),
    ("route53", "bogus", "Credential should be scoped to a valid region, not 'bogus'. "),
])
def test_scope_service_and_region(server, r53, service, region, message):
    name = f"scope-{service}-{region}.example"
    assert attempt(server, r53, name, service=service, region=region) == \
        (403, "SignatureDoesNotMatch", message)
    assert name + "." not in zone_names(r53)


def test_skew_five_minutes(server, r53):
    now = datetime.datetime.now(datetime.timezone.utc)
    status, code, msg = attempt(server, r53, "past.example",
                                when=now - datetime.timedelta(minutes=6))
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert msg.startswith("Signature expired: ") and msg.endswith(" - 5 min.)")
    status, code, msg = attempt(server, r53, "future.example",
                                when=now + datetime.timedelta(minutes=6))
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert msg.startswith("Signature not yet current: ") and msg.endswith(" + 5 min.)")
    assert not {"past.example.", "future.example."} & zone_names(r53)
    # inside the window is fine
    assert attempt(server, r53, "skew4.example",
                   when=now - datetime.timedelta(minutes=4))[0] == 201


def test_unsigned_payload_refused_and_body_cannot_be_swapped(server, r53):
    status, code, msg = attempt(server, r53, "unsigned.example",
                                extra={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"},
                                signed_extra=["x-amz-content-sha256"],
                                payload_hash="UNSIGNED-PAYLOAD",
                                swap_body=create_body("swapped.example"))
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert "UNSIGNED-PAYLOAD" in msg
    assert not {"unsigned.example.", "swapped.example."} & zone_names(r53)


def test_payload_hash_header_must_match_body(server, r53):
    wrong = hashlib.sha256(b"something else").hexdigest()
    status, code, _ = attempt(server, r53, "hash.example",
                              extra={"X-Amz-Content-SHA256": wrong},
                              signed_extra=["x-amz-content-sha256"], payload_hash=wrong)
    assert (status, code) == (400, "SignatureDoesNotMatch")
    assert "hash.example." not in zone_names(r53)


def test_swapped_body_refused(server, r53):
    status, code, _ = attempt(server, r53, "orig.example",
                              swap_body=create_body("evil.example"))
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert not {"orig.example.", "evil.example."} & zone_names(r53)


def test_duplicate_authorization_refused(server, r53):
    other = sign(server, "POST", PATH, b"")["Authorization"]
    status, code, msg = attempt(server, r53, "dupauth.example",
                                repeat=[("Authorization", other)])
    assert (status, code) == (400, "IncompleteSignature")
    assert "'Authorization'" in msg
    assert "dupauth.example." not in zone_names(r53)


def test_duplicate_x_amz_date_refused(server, r53):
    status, code, _ = attempt(server, r53, "dupdate.example",
                              repeat=[("X-Amz-Date", "20200101T000000Z")])
    assert (status, code) == (400, "IncompleteSignature")
    assert "dupdate.example." not in zone_names(r53)


def test_unsigned_x_amz_header_refused(server, r53):
    status, code, msg = attempt(server, r53, "xamz.example",
                                extra={"X-Amz-Meta-Note": "not signed"})
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert "x-amz-meta-note" in msg
    assert "xamz.example." not in zone_names(r53)
    # the same header, signed, is fine
    assert attempt(server, r53, "xamz-signed.example", extra={"X-Amz-Meta-Note": "signed"},
                   signed_extra=["x-amz-meta-note"])[0] == 201


def test_host_must_be_signed(server, r53):
    body = create_body("nohost.example")
    headers = sign(server, "POST", PATH, body)
    # re-sign without host in SignedHeaders
    amz = headers["X-Amz-Date"]
    creq = "\n".join(["POST", PATH, "", f"x-amz-date:{amz}\n", "x-amz-date",
                      hashlib.sha256(body).hexdigest()])
    scope = f"{amz[:8]}/us-east-1/route53/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
    sig = hmac.new(sigv4.signing_key(SECRET, amz[:8], "us-east-1", "route53"), sts.encode(),
                   hashlib.sha256).hexdigest()
    headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={AKID}/{scope}, "
                                f"SignedHeaders=x-amz-date, Signature={sig}")
    status, data = send(server, "POST", PATH, body, list(headers.items()))
    assert status == 403 and error_of(data) == ("SignatureDoesNotMatch",
                                                "'Host' must be a signed header.")
    assert "nohost.example." not in zone_names(r53)


# -- presigned URLs (botocore's generate_presigned_url) -----------------------

def _open(url, method="GET"):
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_presigned_get(server, r53):
    zid = new_zone(r53, "presign.example").split("/")[-1]
    url = r53.generate_presigned_url("get_hosted_zone", Params={"Id": zid}, ExpiresIn=60)
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=60" in url
    status, data = _open(url)
    assert status == 200
    assert ET.fromstring(data).find(f"{NS}HostedZone/{NS}Name").text == "presign.example."


def test_presigned_delete_changes_only_when_valid(server, r53):
    zid = new_zone(r53, "presign-del.example").split("/")[-1]
    url = r53.generate_presigned_url("delete_hosted_zone", Params={"Id": zid}, ExpiresIn=60)
    # tampered: the signature covers the path
    other = new_zone(r53, "presign-other.example").split("/")[-1]
    status, data = _open(url.replace(zid, other), "DELETE")
    assert status == 403 and error_of(data)[0] == "SignatureDoesNotMatch"
    assert "presign-other.example." in zone_names(r53)
    status, _ = _open(url, "DELETE")
    assert status == 200
    assert "presign-del.example." not in zone_names(r53)


def test_presigned_expired(server, r53):
    zid = new_zone(r53, "presign-exp.example").split("/")[-1]
    url = r53.generate_presigned_url("delete_hosted_zone", Params={"Id": zid}, ExpiresIn=1)
    time.sleep(2.2)
    status, data = _open(url, "DELETE")
    assert status == 403
    code, msg = error_of(data)
    assert code == "AccessDenied" and msg.startswith("Request has expired")
    assert "presign-exp.example." in zone_names(r53)


def test_presigned_longer_than_a_week_refused(server, r53):
    zid = new_zone(r53, "presign-week.example").split("/")[-1]
    url = r53.generate_presigned_url("delete_hosted_zone", Params={"Id": zid},
                                     ExpiresIn=7 * 24 * 3600 + 1)
    status, data = _open(url, "DELETE")
    assert status == 400
    assert error_of(data) == ("IncompleteSignature", "X-Amz-Expires must be less than a "
                              "week (in seconds) that is 604800")
    assert "presign-week.example." in zone_names(r53)
    ok = r53.generate_presigned_url("get_hosted_zone", Params={"Id": zid},
                                    ExpiresIn=7 * 24 * 3600)
    assert _open(ok)[0] == 200


def test_presigned_missing_parameter(server, r53):
    zid = new_zone(r53, "presign-miss.example").split("/")[-1]
    url = r53.generate_presigned_url("delete_hosted_zone", Params={"Id": zid}, ExpiresIn=60)
    cut = "&".join(p for p in url.split("&") if not p.startswith("X-Amz-SignedHeaders"))
    status, data = _open(cut, "DELETE")
    assert status == 400
    assert error_of(data) == ("IncompleteSignature", "AWS query-string parameters must "
                              "include 'X-Amz-SignedHeaders'. Re-examine the query-string "
                              "parameters.")
    assert "presign-miss.example." in zone_names(r53)


# -- the verifier alone, with a fixed clock ------------------------------------

class _H(dict):
    def get(self, k, d=None):
        for key, v in self.items():
            if key.lower() == k.lower():
                return v
        return d


def _signed_at(offset_s: float):
    when = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    body = b""

    class S:
        class cp:
            api_address = ("127.0.0.1", 1)
    h = sign(S, "GET", PATH, body, when=when)
    return _H(h), when.timestamp() + offset_s


@pytest.mark.parametrize("offset,ok", [(299, True), (-299, True), (301, False), (-301, False)])
def test_skew_boundary(offset, ok):
    headers, now = _signed_at(offset)
    if ok:
        assert sigv4.verify("GET", PATH, "", headers, b"", {AKID: SECRET}, now=now) == AKID
    else:
        with pytest.raises(sigv4.AuthError) as e:
            sigv4.verify("GET", PATH, "", headers, b"", {AKID: SECRET}, now=now)
        assert e.value.code == "SignatureDoesNotMatch"


def test_a_path_no_operation_has_is_a_clear_404(server):
    """Every operation of the model is routed (tests/unit/api/test_model_fresh.py);
    a signed request for a path none of them has gets Route 53's error shape
    naming the method and path, not a bare 404 page."""
    path = "/2013-04-01/nosuchresource"
    status, data = send(server, "GET", path, headers=sign(server, "GET", path, b"").items())
    assert status == 404
    code, message = error_of(data)
    assert code == "UnknownOperationException"
    assert f"GET {path}" in message
