"""Signature Version 4 and safe XML: unsigned, wrongly signed and hostile
requests are refused with the codes AWS uses."""
from __future__ import annotations

import datetime
import http.client
import xml.etree.ElementTree as ET

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from helpers.route53 import AKID, RO_AKID, RO_SECRET, SECRET, new_zone, start_control_plane

NS = "{https://route53.amazonaws.com/doc/2013-04-01/}"


def raw_request(server, method, path, body=b"", headers=None, sign=(AKID, SECRET)):
    url = server.url + path
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    if sign:
        SigV4Auth(Credentials(*sign), "route53", "us-east-1").add_auth(req)
    prepared = req.prepare()
    host, port = server.cp.api_address
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request(method, path, body=body, headers=dict(prepared.headers))
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def error_of(data):
    root = ET.fromstring(data)
    assert root.tag == NS + "ErrorResponse"
    e = root.find(NS + "Error")
    assert root.find(NS + "RequestId").text
    return e.find(NS + "Type").text, e.find(NS + "Code").text, e.find(NS + "Message").text


def test_signed_raw_request_works(server):
    status, data = raw_request(server, "GET", "/2013-04-01/hostedzonecount")
    assert status == 200
    assert ET.fromstring(data).tag == NS + "GetHostedZoneCountResponse"


def test_unsigned_refused(server):
    status, data = raw_request(server, "GET", "/2013-04-01/hostedzone", sign=None)
    assert status == 403
    assert error_of(data) == ("Sender", "MissingAuthenticationToken",
                              "Missing Authentication Token")


def test_unknown_key(server):
    c = server.client(akid="AKIDUNKNOWN", secret="whatever")
    with pytest.raises(ClientError) as e:
        c.list_hosted_zones()
    assert e.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_wrong_secret(server):
    c = server.client(secret="not-the-secret")
    with pytest.raises(ClientError) as e:
        c.list_hosted_zones()
    assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert "does not match the signature you provided" in e.value.response["Error"]["Message"]


def test_tampered_body_refused(server):
    body = b"<x/>"
    req = AWSRequest(method="POST", url=server.url + "/2013-04-01/hostedzone", data=body)
    SigV4Auth(Credentials(AKID, SECRET), "route53", "us-east-1").add_auth(req)
    headers = dict(req.prepare().headers)
    host, port = server.cp.api_address
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("POST", "/2013-04-01/hostedzone", body=b"<y/>", headers=headers)
    resp = conn.getresponse()
    assert resp.status == 403
    assert error_of(resp.read())[1] == "SignatureDoesNotMatch"


def test_malformed_authorization(server):
    for value, code in (("AWS4-HMAC-SHA256 Credential=AKIDZONEFRONTTEST/x", "IncompleteSignature"),
                        ("Basic dXNlcjpwYXNz", "IncompleteSignature")):
        status, data = raw_request(server, "GET", "/2013-04-01/hostedzone", sign=None,
                                   headers={"Authorization": value})
        assert status == 400 and error_of(data)[1] == code


def test_expired_signature(server):
    import hashlib
    import hmac
    old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    amz = old.strftime("%Y%m%dT%H%M%SZ")
    host, port = server.cp.api_address
    hosthdr = f"{host}:{port}"
    creq = "\n".join(["GET", "/2013-04-01/hostedzone", "",
                      f"host:{hosthdr}\nx-amz-date:{amz}\n", "host;x-amz-date",
                      hashlib.sha256(b"").hexdigest()])
    scope = f"{amz[:8]}/us-east-1/route53/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    from zonefront.aws.sigv4 import signing_key
    sig = hmac.new(signing_key(SECRET, amz[:8], "us-east-1", "route53"), sts.encode(),
                   hashlib.sha256).hexdigest()
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", "/2013-04-01/hostedzone", headers={
        "Host": hosthdr, "X-Amz-Date": amz,
        "Authorization": f"AWS4-HMAC-SHA256 Credential={AKID}/{scope}, "
                         f"SignedHeaders=host;x-amz-date, Signature={sig}"})
    resp = conn.getresponse()
    status, data = resp.status, resp.read()
    assert status == 403
    assert error_of(data)[1] == "SignatureDoesNotMatch"
    assert "Signature expired" in error_of(data)[2]


def test_readonly_key_access_denied(server):
    ro = server.client(akid=RO_AKID, secret=RO_SECRET)
    ro.list_hosted_zones()
    with pytest.raises(ClientError) as e:
        ro.create_hosted_zone(Name="ro.example", CallerReference="ro-1")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    assert "not authorized to perform: route53:CreateHostedZone" in \
        e.value.response["Error"]["Message"]


CREATE = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
          b'<CreateHostedZoneRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
          b'<Name>&x;.example</Name><CallerReference>xml-1</CallerReference>'
          b'</CreateHostedZoneRequest>')


def test_doctype_and_entities_refused(server):
    bodies = [
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "boom">]>' + CREATE.split(b"\n", 1)[1],
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        + CREATE.split(b"\n", 1)[1],
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b'<r>&b;</r>',
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>'
        .encode("utf-16"),
    ]
    for body in bodies:
        status, data = raw_request(server, "POST", "/2013-04-01/hostedzone", body=body)
        assert status == 400, data
        assert error_of(data)[1] == "InvalidInput"


def test_malformed_xml_and_missing_fields(server):
    status, data = raw_request(server, "POST", "/2013-04-01/hostedzone", body=b"<oops")
    assert status == 400 and error_of(data)[1] == "InvalidInput"
    body = (b'<CreateHostedZoneRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
            b'<Name>x.example</Name></CreateHostedZoneRequest>')
    status, data = raw_request(server, "POST", "/2013-04-01/hostedzone", body=body)
    assert status == 400
    t, c, m = error_of(data)
    assert c == "InvalidInput" and "callerReference" in m


def test_body_too_large(server):
    # refused from Content-Length alone, before the body is read or the signature checked
    import socket
    host, port = server.cp.api_address
    size = server.cp.config.max_body + 1
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(f"POST /2013-04-01/hostedzone HTTP/1.1\r\nHost: {host}\r\n"
                  f"Content-Length: {size}\r\n\r\n".encode() + b"<a>")
        data = b""
        while b"</ErrorResponse>" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert error_of(body)[1] == "RequestEntityTooLarge"


def test_invalid_change_batch_error_xml(r53, server):
    zid = new_zone(r53, "xmlerr.example").split("/")[-1]
    body = (b'<?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsRequest '
            b'xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes>'
            b'<Change><Action>DELETE</Action><ResourceRecordSet><Name>a.xmlerr.example</Name>'
            b'<Type>A</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.1'
            b'</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>'
            b'</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>')
    status, data = raw_request(server, "POST", f"/2013-04-01/hostedzone/{zid}/rrset/",
                               body=body)
    assert status == 400
    root = ET.fromstring(data)
    err = root.find(NS + "Error")
    assert err.find(NS + "Code").text == "InvalidChangeBatch"
    msgs = [m.text for m in err.find(NS + "Messages")]
    assert msgs == ["Tried to delete resource record set [name='a.xmlerr.example.', "
                    "type='A'] but it was not found"]


def test_unknown_path(server):
    status, data = raw_request(server, "GET", "/2013-04-01/nothing-here")
    assert status == 404


def test_no_auth_mode(tmp_path):
    run = start_control_plane(tmp_path, auth=False)
    try:
        status, data = raw_request(run, "GET", "/2013-04-01/hostedzonecount", sign=None)
        assert status == 200
    finally:
        run.cp.stop()


def test_refuses_to_start_without_keys(tmp_path):
    from zonefront.control import ControlPlane
    from zonefront.config import Config
    cp = ControlPlane(Config(api_listen=("127.0.0.1", 0), data_dir=str(tmp_path)),
                      lambda zones: None)
    with pytest.raises(RuntimeError, match="credentials"):
        cp.start()
