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
