"""KSKs in a PKCS#11 token (SoftHSM2), the hardware-module path of issue 14:
a `pkcs11:` URI makes the key in the token on first use, it signs there,
the DNSKEY RRset it signs validates, and a token that is not there is
Route 53's InvalidKMSArn."""
from __future__ import annotations

import shutil
import subprocess

import dns.dnssec
import dns.message
import dns.name
import dns.rdatatype
import pytest

pytest.importorskip("pkcs11")
pytestmark = pytest.mark.skipif(not shutil.which("softhsm2-util"), reason="softhsm2 missing")

from zonefront.dnssec.keystore import KeyStore, KeyStoreError, SigningKey  # noqa: E402
from zonefront.dnssec.signer import ZoneKeys  # noqa: E402
from zonefront.ref.engine import RefImage  # noqa: E402
from zonefront.snapshot.compiler import compile_zones  # noqa: E402
from zonefront.zonefile import parse_zone_text  # noqa: E402

URI = "pkcs11:token=zonefront-test;object=ksk-{}?pin-value=1234"


@pytest.fixture(scope="module")
def token(tmp_path_factory):
    """A SoftHSM2 token in a temporary directory (SoftHSM reads its
    configuration once per process, so every test here shares it)."""
    tmp = tmp_path_factory.mktemp("softhsm")
    (tmp / "tokens").mkdir()
    conf = tmp / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tmp}/tokens\nobjectstore.backend = file\n")
    # set for this module only: every later test's children inherit os.environ
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOFTHSM2_CONF", str(conf))
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "zonefront-test",
                        "--pin", "1234", "--so-pin", "5678"], check=True, capture_output=True)
        yield KeyStore(str(tmp))


def test_token_key_is_made_once_and_signs_a_validating_dnskey_rrset(token):
    ksk = token.get(URI.format("a"), create=True)
    assert token.get(URI.format("a")).public_key == ksk.public_key  # found, not made again
    zone = parse_zone_text("$ORIGIN hsm.test.\n@ 60 IN SOA ns1 hm 1 2 3 4 5\n@ NS ns1\n"
                           "ns1 A 192.0.2.1\n", "hsm.test.")
    keys = {zone.origin: ZoneKeys(zone.origin, [ksk], SigningKey.generate())}
    image = RefImage(compile_zones([zone], signing=keys).arrays())
    q = dns.message.make_query("hsm.test.", "DNSKEY", want_dnssec=True)
    m = dns.message.from_wire(image.answer(q.to_wire(), False, None, 0))
    origin = dns.name.from_text("hsm.test.")
    rrset = m.find_rrset(m.answer, origin, dns.rdataclass.IN, dns.rdatatype.DNSKEY)
    sig = m.find_rrset(m.answer, origin, dns.rdataclass.IN, dns.rdatatype.RRSIG,
                       dns.rdatatype.DNSKEY)
    dns.dnssec.validate(rrset, sig, {origin: rrset})
    tag = [dns.dnssec.key_id(k) for k in rrset if k.flags == 257][0]
    assert [s.key_tag for s in sig] == [tag]


def test_missing_key_and_missing_token_are_invalid_kms_arn(token):
    with pytest.raises(KeyStoreError) as e:
        token.get(URI.format("never-made"))
    assert e.value.code == "InvalidKMSArn" and "no such key" in str(e.value)
    with pytest.raises(KeyStoreError) as e:
        token.get("pkcs11:token=not-plugged-in;object=k?pin-value=1234", create=True)
    assert e.value.code == "InvalidKMSArn" and "cannot be opened" in str(e.value)
    with pytest.raises(KeyStoreError):
        token.get("pkcs11:object=no-token-named", create=True)


def test_pkcs11_ksk_zone_denies_with_a_local_zsk_unbound_validates(token, tmp_path, free_port):
    """A hosted zone whose only KSK is in the token: its ZSK is zonefront's
    own (DATA_DIR/dnssec-keys, 0600), so names that do not exist and
    wildcards are signed while answering, and unbound sets AD on them."""
    import dns.flags
    import dns.rcode
    from helpers.procs import serve_api, stop, wait_insync
    from helpers.unbound import ZONE, Unbound

    if not shutil.which("unbound"):
        pytest.skip("unbound not installed")
    data = tmp_path / "data"
    dns_port = free_port()
    proc, r53 = serve_api(data, dns_port, free_port(), "AKIDHSM",
                          "--nameserver", "ns1.signed.test.")
    u = None
    try:
        zid = r53.create_hosted_zone(Name=ZONE, CallerReference="hsm")["HostedZone"]["Id"]
        r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [
            {"Action": "CREATE", "ResourceRecordSet": {
                "Name": f"{n}.{ZONE}", "Type": t, "TTL": 60, "ResourceRecords": [{"Value": v}]}}
            for n, t, v in [("www", "A", "192.0.2.1"), ("*.wild", "TXT", '"wild"')]]})
        r53.create_key_signing_key(CallerReference="k", HostedZoneId=zid, Name="hsm_ksk",
                                   Status="ACTIVE", KeyManagementServiceArn=URI.format("zone"))
        change = r53.enable_hosted_zone_dnssec(HostedZoneId=zid)["ChangeInfo"]["Id"]
        assert wait_insync(r53, change, timeout=20)
        keys = r53.get_dnssec(HostedZoneId=zid)["KeySigningKeys"]
        ds = [k["DSRecord"] for k in keys if k["Name"] == "hsm_ksk"][0]
        assert token.get(URI.format("zone")).public_key  # the KSK is the token's
        files = list((data / "dnssec-keys").glob("*.pem"))
        assert files and all(f.stat().st_mode & 0o777 == 0o600 for f in files)  # the ZSK
        (tmp_path / "unbound").mkdir()
        u = Unbound(tmp_path / "unbound", free_port(), dns_port, ds)
        for name, rdtype in (("nothere.signed.test.", "A"), ("x.wild.signed.test.", "TXT"),
                             ("www.signed.test.", "A")):
            m = u.ask(name, rdtype)
            assert m.rcode() == dns.rcode.NOERROR and m.flags & dns.flags.AD, m.to_text()
    finally:
        if u is not None:
            u.stop()
        stop(proc)
