"""Route 53 Domains end to end: boto3 in both protocols against `zonefront
serve`, the delegations checked on zonefront's DNS port and through a real
unbound resolver."""
from __future__ import annotations

import base64
import json
import time
import urllib.request

import dns.dnssec
import dns.message
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.flags
import pytest

from .conftest import ACCOUNT2, CONTACT, NAMESERVERS, register, wait_op


def ask(port, name, rdtype="A"):
    return dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", port=port,
                         timeout=3)


def resolve(port, name, rdtype="A"):
    """(rcode, addresses) from unbound."""
    m = dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", port=port, timeout=5)
    addrs = sorted(r.to_text() for rr in m.answer if rr.rdtype == dns.rdatatype.from_text(rdtype)
                   for r in rr)
    return m.rcode(), addrs


def denied(port, name) -> bool:
    """The name does not resolve.  The registry's TLDs are signed with
    compact denial (RFC 9824), so a validating resolver asking with DO sees
    a nonexistent name as NOERROR with no answer (NXNAME in the NSEC),
    where an unsigned zone says NXDOMAIN."""
    rcode, addrs = resolve(port, name)
    return rcode in (dns.rcode.NXDOMAIN, dns.rcode.NOERROR) and not addrs


def zone_id(route53, name):
    zs = route53.list_hosted_zones_by_name(DNSName=name)["HostedZones"]
    hit = [z for z in zs if z["Name"] == name + "."]
    assert len(hit) == 1, zs
    return hit[0]["Id"]


def put_a(route53, zid, name, ip):
    ch = route53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [
        {"Action": "UPSERT", "ResourceRecordSet": {"Name": name, "Type": "A", "TTL": 60,
                                                   "ResourceRecords": [{"Value": ip}]}}]})
    deadline = time.monotonic() + 5
    while route53.get_change(Id=ch["ChangeInfo"]["Id"])["ChangeInfo"]["Status"] != "INSYNC":
        assert time.monotonic() < deadline
        time.sleep(0.02)


def ns_names(m):
    return sorted(r.target.to_text() for rr in m.authority + m.answer
                  if rr.rdtype == dns.rdatatype.NS for r in rr)


def rdap(served, name):
    try:
        with urllib.request.urlopen(f"{served.url}/rdap/domain/{name}", timeout=5) as r:
            assert r.headers["Content-Type"] == "application/rdap+json"
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_register_resolve_redelegate_ds_renew_delete(served, cbor, route53, unbound):
    dport = served.dns_port
    assert cbor.check_domain_availability(DomainName="acme.corp")["Availability"] == "AVAILABLE"
    assert denied(unbound, "www.acme.corp")

    op = register(cbor, "acme.corp", DurationInYears=2)
    assert op["Status"] == "SUCCESSFUL" and op["Type"] == "REGISTER_DOMAIN"
    assert op["seen"][0] == "SUBMITTED"
    assert cbor.check_domain_availability(DomainName="ACME.corp.")["Availability"] == \
        "UNAVAILABLE"
    detail = cbor.get_domain_detail(DomainName="acme.corp")
    assert [n["Name"] for n in detail["Nameservers"]] == [n.rstrip(".") for n in NAMESERVERS]
    assert "clientTransferProhibited" in detail["StatusList"]
    assert detail["ExpirationDate"].year == detail["CreationDate"].year + 2

    # the hosted zone Route 53 makes, and the delegation in the TLD zone
    zid = zone_id(route53, "acme.corp")
    put_a(route53, zid, "www.acme.corp", "192.0.2.80")
    soa = ask(dport, "corp.", "SOA")
    assert soa.rcode() == dns.rcode.NOERROR and soa.flags & dns.flags.AA
    assert ask(dport, "acme.corp", "DS").rcode() == dns.rcode.NOERROR  # NODATA from .corp
    assert resolve(unbound, "www.acme.corp") == (dns.rcode.NOERROR, ["192.0.2.80"])

    # re-delegation: the TLD zone refers elsewhere, the hosted zone is no longer reachable
    op = cbor.update_domain_nameservers(DomainName="acme.corp", Nameservers=[
        {"Name": "ns1.elsewhere.corp"}, {"Name": "ns2.elsewhere.corp"}])["OperationId"]
    assert wait_op(cbor, op)["Status"] == "SUCCESSFUL"
    m = ask(dport, "www.acme.corp")
    assert not m.flags & dns.flags.AA and not m.answer
    assert ns_names(m) == ["ns1.elsewhere.corp.", "ns2.elsewhere.corp."]
    assert resolve(unbound, "www.acme.corp")[0] != dns.rcode.NOERROR
    op = cbor.update_domain_nameservers(DomainName="acme.corp", Nameservers=[
        {"Name": n} for n in NAMESERVERS])["OperationId"]
    assert wait_op(cbor, op)["Status"] == "SUCCESSFUL"
    assert resolve(unbound, "www.acme.corp") == (dns.rcode.NOERROR, ["192.0.2.80"])

    # DS: the digest is the one dnspython computes for the same DNSKEY
    pub = base64.b64encode(bytes(range(64))).decode()
    op = cbor.associate_delegation_signer_to_domain(DomainName="acme.corp", SigningAttributes={
        "Algorithm": 13, "Flags": 257, "PublicKey": pub})["OperationId"]
    assert wait_op(cbor, op)["Status"] == "SUCCESSFUL"
    key = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.DNSKEY, f"257 3 13 {pub}")
    want = dns.dnssec.make_ds("acme.corp.", key, "SHA256")
    ds = ask(dport, "acme.corp", "DS")
    assert [r for rr in ds.answer for r in rr] == [want]
    keys = cbor.get_domain_detail(DomainName="acme.corp")["DnssecKeys"]
    assert keys[0]["KeyTag"] == dns.dnssec.key_id(key) and keys[0]["Digest"] == \
        want.digest.hex().upper()
    assert cbor.get_domain_detail(DomainName="acme.corp")["DnsSec"] == "ENABLED"
    _, doc = rdap(served, "acme.corp")
    assert doc["secureDNS"]["delegationSigned"] is True
    with pytest.raises(cbor.exceptions.InvalidInput):  # the same key twice
        cbor.associate_delegation_signer_to_domain(DomainName="acme.corp", SigningAttributes={
            "Algorithm": 13, "Flags": 257, "PublicKey": pub})
    op = cbor.disassociate_delegation_signer_from_domain(DomainName="acme.corp",
                                                         Id=keys[0]["Id"])["OperationId"]
    assert wait_op(cbor, op)["Status"] == "SUCCESSFUL"
    assert not ask(dport, "acme.corp", "DS").answer

    # renewal checks CurrentExpiryYear
    year = cbor.get_domain_detail(DomainName="acme.corp")["ExpirationDate"].year
    with pytest.raises(cbor.exceptions.InvalidInput):
        cbor.renew_domain(DomainName="acme.corp", CurrentExpiryYear=year - 1)
    with pytest.raises(cbor.exceptions.InvalidInput):  # beyond 10 years from now
        cbor.renew_domain(DomainName="acme.corp", CurrentExpiryYear=year, DurationInYears=9)
    op = cbor.renew_domain(DomainName="acme.corp", CurrentExpiryYear=year,
                           DurationInYears=3)["OperationId"]
    assert wait_op(cbor, op)["Status"] == "SUCCESSFUL"
    assert cbor.get_domain_detail(DomainName="acme.corp")["ExpirationDate"].year == year + 3
    bills = [b for b in cbor.view_billing()["BillingRecords"] if b["DomainName"] == "acme.corp"]
    assert [(b["Operation"], b["Price"]) for b in bills] == [("REGISTER_DOMAIN", 20.0),
                                                            ("RENEW_DOMAIN", 33.0)]

    # RDAP honours contact privacy
    status, doc = rdap(served, "acme.corp")
    assert status == 200 and doc["ldhName"] == "acme.corp"
    assert "Lovelace" not in json.dumps(doc) and "ada@example.org" not in json.dumps(doc)
    assert {r["name"]["type"] for r in doc["redacted"]} >= {"Registrant Name",
                                                          "Registrant Email"}
    op = cbor.update_domain_contact_privacy(DomainName="acme.corp",
                                            RegistrantPrivacy=False)["OperationId"]
    assert wait_op(cbor, op)["Status"] == "SUCCESSFUL"
    _, doc = rdap(served, "acme.corp")
    reg = [e for e in doc["entities"] if e["roles"] == ["registrant"]][0]
    assert ["fn", {}, "text", "Ada Lovelace"] in reg["vcardArray"][1]
    admin = [e for e in doc["entities"] if e["roles"] == ["administrative"]][0]
    assert "Lovelace" not in json.dumps(admin)
    assert sorted(doc["status"]) == ["client transfer prohibited"]

    # deletion removes the delegation and releases the name
    op = cbor.delete_domain(DomainName="acme.corp")["OperationId"]
    assert wait_op(cbor, op)["Status"] == "SUCCESSFUL"
    m = ask(dport, "www.acme.corp")
    assert m.rcode() == dns.rcode.NXDOMAIN and m.flags & dns.flags.AA
    assert denied(unbound, "www.acme.corp")
    assert cbor.check_domain_availability(DomainName="acme.corp")["Availability"] == "AVAILABLE"
    assert rdap(served, "acme.corp")[0] == 404
    with pytest.raises(cbor.exceptions.InvalidInput):
        cbor.get_domain_detail(DomainName="acme.corp")


def test_json11_lifecycle_and_transfer_with_auth_code(served, jsonc, other, unbound, route53):
    assert register(jsonc, "moving.corp")["Status"] == "SUCCESSFUL"
    put_a(route53, zone_id(route53, "moving.corp"), "www.moving.corp", "192.0.2.81")
    assert resolve(unbound, "www.moving.corp") == (dns.rcode.NOERROR, ["192.0.2.81"])
    # in-domain name server: the referral carries its glue (only zonefront is asked
    # while the delegation points at 192.0.2.53)
    op = jsonc.update_domain_nameservers(DomainName="moving.corp", Nameservers=[
        {"Name": "ns1.moving.corp", "GlueIps": ["192.0.2.53", "2001:db8::53"]}])["OperationId"]
    assert wait_op(jsonc, op)["Status"] == "SUCCESSFUL"
    m = ask(served.dns_port, "www.moving.corp")
    assert ns_names(m) == ["ns1.moving.corp."] and not m.answer
    assert sorted(r.to_text() for rr in m.additional for r in rr) == ["192.0.2.53",
                                                                    "2001:db8::53"]
    with pytest.raises(jsonc.exceptions.InvalidInput):  # in-domain server without glue
        jsonc.update_domain_nameservers(DomainName="moving.corp",
                                        Nameservers=[{"Name": "ns2.moving.corp"}])
    op = jsonc.update_domain_nameservers(DomainName="moving.corp", Nameservers=[
        {"Name": n} for n in NAMESERVERS])["OperationId"]
    assert wait_op(jsonc, op)["Status"] == "SUCCESSFUL"

    code = jsonc.retrieve_domain_auth_code(DomainName="moving.corp")["AuthCode"]
    t = other.check_domain_transferability(DomainName="moving.corp", AuthCode=code)
    assert t["Transferability"]["Transferable"] == "UNTRANSFERABLE"  # locked
    assert jsonc.check_domain_transferability(DomainName="moving.corp")[
        "Transferability"]["Transferable"] == "DOMAIN_IN_OWN_ACCOUNT"
    transfer = dict(DomainName="moving.corp", DurationInYears=1, AuthCode=code,
                    AdminContact=CONTACT, RegistrantContact=CONTACT, TechContact=CONTACT)
    with pytest.raises(other.exceptions.TLDRulesViolation):  # refused while locked
        other.transfer_domain(**transfer)
    op = jsonc.disable_domain_transfer_lock(DomainName="moving.corp")["OperationId"]
    assert wait_op(jsonc, op)["Status"] == "SUCCESSFUL"
    assert "clientTransferProhibited" not in jsonc.get_domain_detail(
        DomainName="moving.corp")["StatusList"]
    with pytest.raises(other.exceptions.InvalidInput):  # wrong auth code
        other.transfer_domain(**{**transfer, "AuthCode": "not-the-code"})
    assert other.check_domain_transferability(DomainName="moving.corp", AuthCode=code)[
        "Transferability"]["Transferable"] == "TRANSFERABLE"
    op = other.transfer_domain(**transfer)["OperationId"]
    assert wait_op(other, op)["Status"] == "SUCCESSFUL"
    d = other.get_domain_detail(DomainName="moving.corp")
    assert "clientTransferProhibited" in d["StatusList"]  # locked again for the new owner
    with pytest.raises(jsonc.exceptions.InvalidInput):
        jsonc.get_domain_detail(DomainName="moving.corp")
    assert other.retrieve_domain_auth_code(DomainName="moving.corp")["AuthCode"] != code
    assert resolve(unbound, "www.moving.corp") == (dns.rcode.NOERROR, ["192.0.2.81"])
    bills = other.view_billing()["BillingRecords"]
    assert [(b["Operation"], b["Price"]) for b in bills if b["DomainName"] == "moving.corp"] \
        == [("TRANSFER_IN_DOMAIN", 9.0)]

    op = other.delete_domain(DomainName="moving.corp")["OperationId"]
    assert wait_op(other, op)["Status"] == "SUCCESSFUL"
    assert denied(unbound, "www.moving.corp")


def test_account_to_account_transfer(cbor, other):
    assert register(cbor, "gift.lab")["Status"] == "SUCCESSFUL"
    out = cbor.transfer_domain_to_another_aws_account(DomainName="gift.lab",
                                                      AccountId=ACCOUNT2)
    pending = cbor.get_operation_detail(OperationId=out["OperationId"])
    assert (pending["Status"], pending["StatusFlag"]) == ("IN_PROGRESS", "PENDING_ACCEPTANCE")
    with pytest.raises(other.exceptions.InvalidInput):
        other.accept_domain_transfer_from_another_aws_account(DomainName="gift.lab",
                                                              Password="wrong")
    op = other.accept_domain_transfer_from_another_aws_account(
        DomainName="gift.lab", Password=out["Password"])["OperationId"]
    assert wait_op(other, op)["Status"] == "SUCCESSFUL"
    assert cbor.get_operation_detail(OperationId=out["OperationId"])["Status"] == "SUCCESSFUL"
    assert other.get_domain_detail(DomainName="gift.lab")["DomainName"] == "gift.lab"

    # and back, cancelled by the sender; then offered again and rejected
    out = other.transfer_domain_to_another_aws_account(DomainName="gift.lab",
                                                       AccountId="111111111111")
    op = other.cancel_domain_transfer_to_another_aws_account(DomainName="gift.lab")
    assert wait_op(other, op["OperationId"])["Status"] == "SUCCESSFUL"
    assert other.get_operation_detail(OperationId=out["OperationId"])["Status"] == "FAILED"
    other.transfer_domain_to_another_aws_account(DomainName="gift.lab",
                                                 AccountId="111111111111")
    op = cbor.reject_domain_transfer_from_another_aws_account(DomainName="gift.lab")
    assert wait_op(cbor, op["OperationId"])["Status"] == "SUCCESSFUL"
    assert "pendingTransfer" not in other.get_domain_detail(DomainName="gift.lab")["StatusList"]
