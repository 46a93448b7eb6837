"""Which zones the control plane signs (dnssec/zonekeys.py) and the key
store under it: keys reused across compiles (so are their signatures), a
KSK whose key is gone leaves the zone unsigned and reported, never half
signed."""
from __future__ import annotations

import os

import pytest

from zonefront import model
from zonefront.dnssec.keystore import KeyStore, KeyStoreError
from zonefront.dnssec.zonekeys import SigningState
from zonefront.store import dnssecstore
from zonefront.store.sqlite import Store

ARN = "arn:aws:kms:us-east-1:111122223333:key/zk"


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path))
    yield s
    s.close()


def signed_zone(store, tmp_path, zid="ZSIGNED"):
    key = KeyStore(str(tmp_path)).get(ARN, create=True)
    with store.transaction():
        dnssecstore.insert_ksk(store, zid, "ksk_zk", "ref", ARN, key.public_key, "ACTIVE")
        dnssecstore.set_signing(store, zid, True)
    zone = model.Zone(origin=b"\x04test\x00", source=f"/hostedzone/{zid}")
    zone.add(zone.origin, model.TYPE_SOA, 60, b"\x00\x00" + bytes(20))
    return zone


def test_keys_are_reused_while_nothing_moves(store, tmp_path):
    state = SigningState(store, str(tmp_path))
    zone = signed_zone(store, tmp_path)
    first = state.apply([zone])[0]
    assert first.dnssec is not None and first is not zone
    assert state.apply([zone])[0] is first  # same input, same object: nothing recompiles
    moved = model.Zone(origin=zone.origin, source=zone.source, rrsets=dict(zone.rrsets))
    again = state.apply([moved])[0]
    assert again.dnssec is first.dnssec  # records moved, keys (and cached RRSIGs) kept
    assert first.dnssec.zsk.public_key == state.apply([moved])[0].dnssec.zsk.public_key


def test_unsigned_and_private_zones_pass_through(store, tmp_path):
    state = SigningState(store, str(tmp_path))
    plain = model.Zone(origin=b"\x05plain\x00", source="/hostedzone/ZPLAIN")
    private = model.Zone(origin=b"\x04priv\x00", source="/hostedzone/ZPRIV", private=True)
    with store.transaction():
        dnssecstore.set_signing(store, "ZPRIV", True)
    assert state.apply([plain, private]) == [plain, private]


def test_a_missing_ksk_key_serves_unsigned_and_reports(store, tmp_path):
    zone = signed_zone(store, tmp_path)
    for f in os.listdir(tmp_path / "dnssec-keys"):
        os.unlink(tmp_path / "dnssec-keys" / f)
    state = SigningState(store, str(tmp_path))
    out = state.apply([zone])[0]
    assert out is zone and out.dnssec is None
    msg = dnssecstore.zone_state(store, "ZSIGNED")["message"]
    assert msg and "not in the key store" in msg


def test_keystore_refuses_foreign_names_and_pkcs11_without_a_module(tmp_path):
    ks = KeyStore(str(tmp_path))
    for bad in ("arn:aws:s3:::bucket", "key/1", ""):
        with pytest.raises(KeyStoreError) as e:
            ks.get(bad, create=True)
        assert e.value.code == "InvalidKMSArn"
    with pytest.raises(KeyStoreError):
        ks.get("pkcs11:token=zf;object=ksk", create=True)
    with pytest.raises(KeyStoreError):
        ks.get(ARN)  # not created without create=True
    (tmp_path / "dnssec-keys").mkdir()
    path = ks._path(ARN)
    with open(path, "wb") as f:
        f.write(b"not a key")
    with pytest.raises(KeyStoreError) as e:
        ks.get(ARN, create=True)
    assert "cannot be read" in str(e.value)



def test_signatures_are_refreshed_before_they_run_out(store, tmp_path, monkeypatch):
    import zonefront.dnssec.zonekeys as zk

    state = SigningState(store, str(tmp_path), validity=300)
    zone = signed_zone(store, tmp_path)
    first = state.apply([zone])[0]
    assert not state.due()
    assert first.dnssec.expiration - first.dnssec.inception == 300 + state.skew
    now = zk.time.time()
    monkeypatch.setattr(zk.time, "time", lambda: now + 101)  # a third of 300 has passed
    assert state.due()
    again = state.apply([zone])[0]
    assert again is not first and again.dnssec.inception > first.dnssec.inception
    assert again.dnssec.zsk.public_key == first.dnssec.zsk.public_key  # same keys, new window
    assert not state.due()


def test_a_key_lost_after_signing_keeps_the_last_good_keys(store, tmp_path, monkeypatch):
    import zonefront.dnssec.zonekeys as zk

    state = SigningState(store, str(tmp_path), validity=300)
    zone = signed_zone(store, tmp_path)
    first = state.apply([zone])[0]
    for f in os.listdir(tmp_path / "dnssec-keys"):
        os.unlink(tmp_path / "dnssec-keys" / f)
    now = zk.time.time()
    monkeypatch.setattr(zk.time, "time", lambda: now + 200)  # a refresh is due
    moved = model.Zone(origin=zone.origin, source=zone.source, rrsets=dict(zone.rrsets))
    out = state.apply([moved])[0]
    assert out.dnssec is first.dnssec  # still fully signed, with the keys it had
    assert "not in the key store" in dnssecstore.zone_state(store, "ZSIGNED")["message"]


def test_dnssec_section_of_the_configuration(tmp_path):
    from zonefront.config import ConfigError, load_config

    path = tmp_path / "zonefront.toml"
    path.write_text("[dnssec]\nsignature_validity = 86400\nzsk_lifetime = 7200\n"
                    "zsk_prepublish = 600\ndnskey_ttl = 300\n")
    cfg = load_config(str(path))
    assert (cfg.dnssec.signature_validity, cfg.dnssec.zsk_lifetime,
            cfg.dnssec.zsk_prepublish) == (86400, 7200, 600)
    for bad in ("signature_validity = 10", "zsk_lifetime = 100\nzsk_prepublish = 60",
                "signature_validity = \"long\"", "zsk_everything = 1"):
        path.write_text(f"[dnssec]\n{bad}\n")
        with pytest.raises(ConfigError):
            load_config(str(path))
