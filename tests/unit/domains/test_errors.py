"""Bad input gets Route 53 Domains' errors, in the request's protocol, and
leaves nothing behind; reads, lists, prices and the small operations."""
from __future__ import annotations

import json
import time
import urllib.request

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import cbor2
import pytest

from zonefront.aws._domains_model import OPERATIONS
from zonefront.domains.service import SUPPORTED

from .conftest import (AKID, CONTACT, LIMIT_AKID, LIMIT_SECRET, RO_AKID, RO_SECRET, SECRET,
                       make_client, register, wait_op)

TARGET = "Route53Domains_v20140515"


def raw(served, op, body, protocol="json", akid=AKID, secret=SECRET, service="route53domains",
        sign=True):
    """A request signed by botocore's SigV4Auth, sent with urllib: (status, headers, doc)."""
    if protocol == "json":
        url = served.url + "/"
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"X-Amz-Target": f"{TARGET}.{op}",
                   "Content-Type": "application/x-amz-json-1.1"}
    else:
        url = f"{served.url}/service/{TARGET}/operation/{op}"
        data = body if isinstance(body, bytes) else cbor2.dumps(body)
        headers = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor",
                   "Accept": "application/cbor"}
    req = botocore.awsrequest.AWSRequest(method="POST", url=url, data=data, headers=headers)
    if sign:
        botocore.auth.SigV4Auth(botocore.credentials.Credentials(akid, secret), service,
                                "us-east-1").add_auth(req)
    prepared = req.prepare()
    r = urllib.request.Request(url, data=data, headers=dict(prepared.headers), method="POST")
    try:
        with urllib.request.urlopen(r, timeout=5) as resp:
            status, hdrs, payload = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        status, hdrs, payload = e.code, e.headers, e.read()
    doc = (json.loads(payload) if protocol == "json" else cbor2.loads(payload)) if payload \
        else None
    return status, hdrs, doc


def test_every_operation_of_the_model_is_served():
    assert SUPPORTED == sorted(OPERATIONS) and len(OPERATIONS) == 36  # botocore 1.44.8


@pytest.mark.parametrize("name,why", [
    ("-bad.corp", "hyphen"), ("bad-.corp", "hyphen"), ("ab--cd.corp", "third and fourth"),
    ("xn--zz.corp", "A-label"), ("a" * 64 + ".corp", "63"), ("a_b.corp", "character"),
    ("a..corp", "empty label"), ("www.sub.corp", "subdomain"), ("corp", "top-level"),
])
def test_invalid_names(cbor, name, why):
    with pytest.raises(cbor.exceptions.InvalidInput) as e:
        register(cbor, name)
    assert why in str(e.value)


def test_idn_is_registered_as_its_a_label(cbor, served):
    assert register(cbor, "bücher.corp")["Status"] == "SUCCESSFUL"
    assert cbor.check_domain_availability(DomainName="xn--bcher-kva.corp")[
        "Availability"] == "UNAVAILABLE"
    with urllib.request.urlopen(f"{served.url}/domain/b%C3%BCcher.corp", timeout=5) as r:
        doc = json.loads(r.read())
    assert (doc["ldhName"], doc["unicodeName"]) == ("xn--bcher-kva.corp", "bücher.corp")


def test_availability_and_registration_refusals(cbor, jsonc, route53):
    check = lambda n: cbor.check_domain_availability(DomainName=n)["Availability"]  # noqa
    assert check("example.com") == "DONT_KNOW"
    assert check("nic.corp") == "RESERVED" and check("reserved.corp") == "RESERVED"
    assert check("shop.corp") == "UNAVAILABLE_PREMIUM"
    assert check("a.b.corp") == "INVALID_NAME_FOR_TLD"
    with pytest.raises(cbor.exceptions.UnsupportedTLD):
        register(cbor, "example.com")
    with pytest.raises(cbor.exceptions.TLDRulesViolation):
        register(cbor, "nic.lab")
    with pytest.raises(cbor.exceptions.InvalidInput):
        register(cbor, "shop.corp")
    with pytest.raises(cbor.exceptions.InvalidInput):  # a contact the registry refuses
        register(cbor, "halfway.corp", AdminContact={**CONTACT, "Email": "nope"})
    with pytest.raises(jsonc.exceptions.InvalidInput):
        register(jsonc, "halfway.corp", RegistrantContact={**CONTACT, "PhoneNumber": "555"})
    # nothing was half-registered
    assert check("halfway.corp") == "AVAILABLE"
    assert not [z for z in route53.list_hosted_zones()["HostedZones"]
                if z["Name"] == "halfway.corp."]
    # a second registration while the first is in flight
    op = cbor.register_domain(DomainName="twice.corp", DurationInYears=1, AdminContact=CONTACT,
                              RegistrantContact=CONTACT, TechContact=CONTACT)["OperationId"]
    with pytest.raises(cbor.exceptions.DuplicateRequest) as e:
        cbor.register_domain(DomainName="twice.corp", DurationInYears=1, AdminContact=CONTACT,
                             RegistrantContact=CONTACT, TechContact=CONTACT)
    assert e.value.response["requestId"] == op
    assert wait_op(cbor, op)["Status"] == "SUCCESSFUL"
    with pytest.raises(cbor.exceptions.InvalidInput):  # taken
        register(cbor, "twice.corp")


def test_duration_out_of_range_and_validation(served):
    body = {"DomainName": "long.corp", "DurationInYears": 11, "AdminContact": CONTACT,
            "RegistrantContact": CONTACT, "TechContact": CONTACT}
    for protocol in ("json", "cbor"):
        status, hdrs, doc = raw(served, "RegisterDomain", body, protocol)
        assert status == 400
        assert doc["__type"] in ("InvalidInput", "com.amazonaws.route53domains#InvalidInput")
        assert "less than or equal to 10" in doc["message"]
    status, _, doc = raw(served, "RegisterDomain", {"DomainName": "x.corp"})
    assert doc["__type"] == "InvalidInput" and "must not be null" in doc["message"]
    status, _, doc = raw(served, "ListDomains", {"SortCondition": {"Name": "Size",
                                                                   "SortOrder": "ASC"}})
    assert doc["__type"] == "InvalidInput" and "enum" in doc["message"]
    status, _, doc = raw(served, "CheckDomainAvailability", {"DomainName": 42})
    assert (status, doc["__type"]) == (400, "SerializationException")
    status, _, doc = raw(served, "CheckDomainAvailability", b"\xff\x00garbage", "cbor")
    assert doc["__type"].endswith("#SerializationException")
    status, _, doc = raw(served, "NoSuchThing", {})
    assert doc["__type"] == "UnknownOperationException"


def test_signatures(served):
    status, _, doc = raw(served, "ListDomains", {}, sign=False)
    assert doc["__type"] == "MissingAuthenticationTokenException"
    status, _, doc = raw(served, "ListDomains", {}, secret="wrong")
    assert doc["__type"] == "InvalidSignatureException"
    status, _, doc = raw(served, "ListDomains", {}, akid="AKIDNOBODY")
    assert doc["__type"] == "UnrecognizedClientException"
    status, _, doc = raw(served, "ListDomains", {}, service="route53")
    assert doc["__type"] == "InvalidSignatureException" and "route53domains" in doc["message"]
    status, hdrs, doc = raw(served, "ListDomains", {}, "cbor", secret="wrong")
    assert doc["__type"].endswith("#InvalidSignatureException")
    assert hdrs["smithy-protocol"] == "rpc-v2-cbor"
    ro = make_client(served.url, RO_AKID, RO_SECRET)
    assert "Domains" in ro.list_domains()
    with pytest.raises(ro.exceptions.ClientError) as e:
        register(ro, "readonly.corp")
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"


def test_domain_and_operation_limits(served, cbor_model_path):
    c = make_client(served.url, LIMIT_AKID, LIMIT_SECRET, data_path=cbor_model_path)
    ops = [c.register_domain(DomainName=f"limit{i}.lab", DurationInYears=1,
                             AdminContact=CONTACT, RegistrantContact=CONTACT,
                             TechContact=CONTACT)["OperationId"] for i in range(5)]
    with pytest.raises(c.exceptions.OperationLimitExceeded):
        register(c, "limit5.lab")
    for op in ops:
        assert wait_op(c, op)["Status"] == "SUCCESSFUL"
    assert register(c, "limit5.lab")["Status"] == "SUCCESSFUL"
    with pytest.raises(c.exceptions.DomainLimitExceeded):
        register(c, "limit6.lab")
    # lists: filters, sort, paging
    names = [d["DomainName"] for d in c.list_domains(SortCondition={
        "Name": "DomainName", "SortOrder": "DESC"})["Domains"]]
    assert names == [f"limit{i}.lab" for i in range(5, -1, -1)]
    page = c.list_domains(MaxItems=4)
    rest = c.list_domains(MaxItems=4, Marker=page["NextPageMarker"])
    assert len(page["Domains"]) == 4 and len(rest["Domains"]) == 2
    assert "NextPageMarker" not in rest
    hits = c.list_domains(FilterConditions=[{"Name": "DomainName", "Operator": "BEGINS_WITH",
                                             "Values": ["limit3"]}])["Domains"]
    assert [d["DomainName"] for d in hits] == ["limit3.lab"]
    soon = c.list_domains(FilterConditions=[{"Name": "Expiry", "Operator": "LE",
                                             "Values": [str(time.time() + 400 * 86400)]}])
    assert len(soon["Domains"]) == 6
    ops = c.list_operations(Type=["REGISTER_DOMAIN"], Status=["SUCCESSFUL"], SortOrder="DESC")
    assert len(ops["Operations"]) == 6 and ops["Operations"][0]["DomainName"] == "limit5.lab"
    bills = c.view_billing()["BillingRecords"]
    assert sum(b["Price"] for b in bills) == 6 * 2.5  # .lab's own price


def test_prices_suggestions_tags_and_small_operations(cbor, jsonc):
    prices = {p["Name"]: p for p in cbor.list_prices()["Prices"]}
    assert set(prices) == {"corp", "lab"}
    assert prices["corp"]["RegistrationPrice"] == {"Price": 10.0, "Currency": "EUR"}
    assert prices["lab"]["RenewalPrice"]["Price"] == 2.5
    assert prices["lab"]["TransferPrice"]["Price"] == 9.0  # from [registry.prices.default]
    assert cbor.list_prices(Tld="lab")["Prices"][0]["Name"] == "lab"
    with pytest.raises(cbor.exceptions.UnsupportedTLD):
        cbor.list_prices(Tld="com")
    s = cbor.get_domain_suggestions(DomainName="widget.corp", SuggestionCount=5,
                                    OnlyAvailable=True)["SuggestionsList"]
    assert len(s) == 5 and all(x["Availability"] == "AVAILABLE" for x in s)
    assert all(x["DomainName"].endswith((".corp", ".lab")) for x in s)

    assert register(jsonc, "tagged.corp", AutoRenew=False)["Status"] == "SUCCESSFUL"
    jsonc.update_tags_for_domain(DomainName="tagged.corp", TagsToUpdate=[
        {"Key": "team", "Value": "dns"}, {"Key": "env", "Value": "lab"}])
    jsonc.delete_tags_for_domain(DomainName="tagged.corp", TagsToDelete=["env"])
    assert cbor.list_tags_for_domain(DomainName="tagged.corp")["TagList"] == [
        {"Key": "team", "Value": "dns"}]
    assert cbor.get_domain_detail(DomainName="tagged.corp")["AutoRenew"] is False
    cbor.enable_domain_auto_renew(DomainName="tagged.corp")
    assert jsonc.get_domain_detail(DomainName="tagged.corp")["AutoRenew"] is True
    cbor.disable_domain_auto_renew(DomainName="tagged.corp")
    assert cbor.get_contact_reachability_status(domainName="tagged.corp")["status"] == "DONE"
    r = cbor.resend_contact_reachability_email(domainName="tagged.corp")
    assert r["emailAddress"] == CONTACT["Email"]
    new = {**CONTACT, "FirstName": "Grace", "LastName": "Hopper", "Email": "grace@example.org"}
    op = cbor.update_domain_contact(DomainName="tagged.corp", RegistrantContact=new)
    done = wait_op(cbor, op["OperationId"])
    assert (done["Status"], done["Type"]) == ("SUCCESSFUL", "CHANGE_DOMAIN_OWNER")
    assert cbor.get_domain_detail(DomainName="tagged.corp")["RegistrantContact"][
        "LastName"] == "Hopper"
    op = cbor.enable_domain_transfer_lock(DomainName="tagged.corp")["OperationId"]
    with pytest.raises(cbor.exceptions.DuplicateRequest):  # one operation at a time
        cbor.disable_domain_transfer_lock(DomainName="tagged.corp")
    cbor.resend_operation_authorization(OperationId=op)
    assert wait_op(cbor, op)["Type"] == "DOMAIN_LOCK"
    with pytest.raises(cbor.exceptions.InvalidInput):
        cbor.resend_operation_authorization(OperationId=op)  # already done
    with pytest.raises(cbor.exceptions.TLDRulesViolation):
        cbor.push_domain(DomainName="tagged.corp", Target="OTHER-TAG")
    with pytest.raises(cbor.exceptions.InvalidInput):
        cbor.get_operation_detail(OperationId="no-such-operation")
    with pytest.raises(cbor.exceptions.InvalidInput):
        cbor.get_domain_detail(DomainName="never-registered.corp")
