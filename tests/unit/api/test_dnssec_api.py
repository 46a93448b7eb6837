"""Route 53's DNSSEC operations through boto3: key-signing keys, signing on
and off, GetDNSSEC's shapes (DNSKEYRecord `257 3 13 BASE64`, DSRecord
`KEYTAG 13 2 HEX`) and the documented errors (issue 14)."""
from __future__ import annotations

import base64
import hashlib
import os
import stat

import dns.dnssec
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest
from botocore.exceptions import ClientError

ARN = "arn:aws:kms:us-east-1:111122223333:key/{}"


def code(e):
    return e.value.response["Error"]["Code"]


def make_zone(r53, name):
    return r53.create_hosted_zone(Name=name, CallerReference="ref-" + name)["HostedZone"]["Id"]


def create_ksk(r53, zid, name, status="ACTIVE", key=None):
    return r53.create_key_signing_key(
        CallerReference=f"{zid}-{name}", HostedZoneId=zid, Name=name, Status=status,
        KeyManagementServiceArn=ARN.format(key or name))


def test_ksk_shapes_match_the_dnskey_and_ds(r53, server):
    zid = make_zone(r53, "signed.example.")
    out = create_ksk(r53, zid, "ksk_one")
    ksk = out["KeySigningKey"]
    assert out["ChangeInfo"]["Status"] in ("PENDING", "INSYNC")
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert ksk["Flag"] == 257 and ksk["SigningAlgorithmType"] == 13
    assert ksk["SigningAlgorithmMnemonic"] == "ECDSAP256SHA256"
    assert ksk["DigestAlgorithmType"] == 2 and ksk["DigestAlgorithmMnemonic"] == "SHA-256"
    assert ksk["Status"] == "ACTIVE" and ksk["KmsArn"] == ARN.format("ksk_one")
    assert ksk["DNSKEYRecord"] == "257 3 13 " + ksk["PublicKey"]
    assert len(base64.b64decode(ksk["PublicKey"])) == 64
    # dnspython, an independent implementation, derives the same DS and key tag
    key = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.DNSKEY, ksk["DNSKEYRecord"])
    ds = dns.dnssec.make_ds(dns.name.from_text("signed.example."), key, "SHA256")
    assert ksk["KeyTag"] == dns.dnssec.key_id(key)
    assert ksk["DSRecord"] == f"{ksk['KeyTag']} 13 2 {ds.digest.hex().upper()}"
    assert ksk["DigestValue"] == ds.digest.hex().upper()
    got = r53.get_dnssec(HostedZoneId=zid)
    assert got["Status"] == {"ServeSignature": "NOT_SIGNING"}
    assert [k["DSRecord"] for k in got["KeySigningKeys"]] == [ksk["DSRecord"]]


def test_private_key_at_rest_is_0600_and_never_returned(r53, server):
    zid = make_zone(r53, "keys.example.")
    ksk = create_ksk(r53, zid, "ksk_keys")["KeySigningKey"]
    keydir = os.path.join(server.cp.config.data_dir, "dnssec-keys")
    assert stat.S_IMODE(os.stat(keydir).st_mode) == 0o700
    files = os.listdir(keydir)
    assert files
    for f in files:
        assert stat.S_IMODE(os.stat(os.path.join(keydir, f)).st_mode) == 0o600
    text = repr(r53.get_dnssec(HostedZoneId=zid))
    assert "PRIVATE" not in text and set(ksk) <= {
        "Name", "KmsArn", "Flag", "SigningAlgorithmMnemonic", "SigningAlgorithmType",
        "DigestAlgorithmMnemonic", "DigestAlgorithmType", "KeyTag", "DigestValue", "PublicKey",
        "DSRecord", "DNSKEYRecord", "Status", "StatusMessage", "CreatedDate",
        "LastModifiedDate"}
    # the same ARN names the same key: a second zone using it shows the same public key
    zid2 = make_zone(r53, "keys2.example.")
    again = create_ksk(r53, zid2, "ksk_keys2", key="ksk_keys")["KeySigningKey"]
    assert again["PublicKey"] == ksk["PublicKey"]
    assert hashlib.sha256(again["DSRecord"].encode()).digest() != \
        hashlib.sha256(ksk["DSRecord"].encode()).digest()  # the owner name is in the digest


def test_signing_lifecycle_and_rules(r53):
    zid = make_zone(r53, "life.example.")
    with pytest.raises(ClientError) as e:
        r53.enable_hosted_zone_dnssec(HostedZoneId=zid)
    assert code(e) == "KeySigningKeyWithActiveStatusNotFound"
    with pytest.raises(ClientError) as e:
        r53.disable_hosted_zone_dnssec(HostedZoneId=zid)
    assert code(e) == "DNSSECNotFound"
    create_ksk(r53, zid, "ksk_a", status="INACTIVE")
    with pytest.raises(ClientError) as e:
        r53.enable_hosted_zone_dnssec(HostedZoneId=zid)
    assert code(e) == "KeySigningKeyWithActiveStatusNotFound"
    r53.activate_key_signing_key(HostedZoneId=zid, Name="ksk_a")
    r53.enable_hosted_zone_dnssec(HostedZoneId=zid)
    assert r53.get_dnssec(HostedZoneId=zid)["Status"]["ServeSignature"] == "SIGNING"
    # the only active KSK of a signing zone stays
    with pytest.raises(ClientError) as e:
        r53.deactivate_key_signing_key(HostedZoneId=zid, Name="ksk_a")
    assert code(e) == "KeySigningKeyInUse"
    with pytest.raises(ClientError) as e:
        r53.delete_key_signing_key(HostedZoneId=zid, Name="ksk_a")
    assert code(e) == "InvalidKeySigningKeyStatus"
    # a second KSK (rollover), then no third
    create_ksk(r53, zid, "ksk_b")
    with pytest.raises(ClientError) as e:
        create_ksk(r53, zid, "ksk_c")
    assert code(e) == "TooManyKeySigningKeys"
    with pytest.raises(ClientError) as e:
        create_ksk(r53, zid, "ksk_b", key="other")
    assert code(e) == "KeySigningKeyAlreadyExists"
    r53.deactivate_key_signing_key(HostedZoneId=zid, Name="ksk_a")
    r53.delete_key_signing_key(HostedZoneId=zid, Name="ksk_a")
    names = [k["Name"] for k in r53.get_dnssec(HostedZoneId=zid)["KeySigningKeys"]]
    assert names == ["ksk_b"]
    r53.disable_hosted_zone_dnssec(HostedZoneId=zid)
    assert r53.get_dnssec(HostedZoneId=zid)["Status"]["ServeSignature"] == "NOT_SIGNING"
    with pytest.raises(ClientError) as e:
        r53.delete_key_signing_key(HostedZoneId=zid, Name="nope_nope")
    assert code(e) == "NoSuchKeySigningKey"


@pytest.mark.parametrize("field,value,err", [
    ("Name", "bad-name!", "InvalidKeySigningKeyName"),
    ("Status", "DELETING", "InvalidKeySigningKeyStatus"),
    ("KeyManagementServiceArn", "arn:aws:s3:::bucket", "InvalidKMSArn"),
])
def test_create_refuses_bad_input(r53, field, value, err):
    zid = make_zone(r53, f"bad{len(value)}{field.lower()}.example.")
    args = dict(CallerReference="bad-" + field, HostedZoneId=zid, Name="ksk_bad",
                Status="ACTIVE", KeyManagementServiceArn=ARN.format("bad"))
    args[field] = value
    with pytest.raises(ClientError) as e:
        r53.create_key_signing_key(**args)
    assert code(e) == err



def test_deleted_zone_forgets_its_keys(r53, server):
    from zonefront.store import dnssecstore

    zid = make_zone(r53, "gone.example.")
    create_ksk(r53, zid, "ksk_gone", status="INACTIVE")
    r53.delete_hosted_zone(Id=zid)
    assert dnssecstore.ksks(server.cp.store, zid.rsplit("/", 1)[1]) == []
