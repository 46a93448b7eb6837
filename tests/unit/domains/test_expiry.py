"""The registry without HTTP: expiry, grace, redemption and release with an
injected clock, a failed operation that leaves nothing, config parsing."""
from __future__ import annotations

import pytest

from zonefront import model
from zonefront.aws import names as r53names
from zonefront.config import Config, ConfigError, RegistryConfig, load_config
from zonefront.domains import dnssec, names
from zonefront.domains.errors import DomainsError
from zonefront.domains.service import Registry, expiry_year
from zonefront.domains.worker import DAY, Worker
from zonefront.domains.zones import RegistryZones
from zonefront.store.sqlite import Store
from zonefront.store.zones import ZoneCache

from .conftest import CONTACT

ACCT = "000000000000"


@pytest.fixture
def reg(tmp_path):
    store = Store(str(tmp_path))
    config = Config(data_dir=str(tmp_path), registry=RegistryConfig(
        tlds=["corp"], grace_days=30, redemption_days=30,
        prices={"default": {"registration": 1.0, "renewal": 2.0, "restoration": 40.0}}))
    r = Registry(store, config)
    yield r, Worker(r), RegistryZones(r.rs, config)
    store.close()


def register(r, w, name, **kw):
    op = r.RegisterDomain({"DomainName": name, "DurationInYears": 1, "AdminContact": CONTACT,
                           "RegistrantContact": CONTACT, "TechContact": CONTACT, **kw}, ACCT)
    w.apply(op["OperationId"])
    return r.rs.get_op(op["OperationId"])


def served(r, zones):
    published = zones.served(ZoneCache().zones(r.store))
    return {r53names.name_to_text(z.origin): z for z in published}


def test_expiry_grace_redemption_restore_release(reg):
    r, w, zones = reg
    assert register(r, w, "late.corp", AutoRenew=False).status == "IN_PROGRESS"
    d = r.rs.get("late.corp")
    owner = r53names.name_from_text("late.corp.")
    z = served(r, zones)
    assert z["corp."].get(owner, model.TYPE_NS) is not None and "late.corp." in z

    assert w.sweep(d.expires - 1) == []
    assert w.sweep(d.expires + 1) == [("late.corp", "grace")]
    z = served(r, zones)
    assert z["corp."].get(owner, model.TYPE_NS) is not None  # still delegated in grace
    assert "autoRenewPeriod" in r.GetDomainDetail({"DomainName": "late.corp"}, ACCT)[
        "StatusList"]

    assert w.sweep(d.expires + 31 * DAY) == [("late.corp", "expired")]
    z = served(r, zones)
    assert z["corp."].get(owner, model.TYPE_NS) is None  # delegation removed
    assert "late.corp." not in z  # and the hosted zone is unreachable
    assert r.CheckDomainAvailability({"DomainName": "late.corp"}, ACCT)["Availability"] == \
        "UNAVAILABLE"

    # RenewDomain in redemption is a restore, billed as one
    year = expiry_year(r.GetDomainDetail({"DomainName": "late.corp"}, ACCT)["ExpirationDate"])
    op = r.RenewDomain({"DomainName": "late.corp", "CurrentExpiryYear": year}, ACCT)
    w.apply(op["OperationId"])
    assert r.rs.get_op(op["OperationId"]).type == "RESTORE_DOMAIN"
    z = served(r, zones)
    assert z["corp."].get(owner, model.TYPE_NS) is not None and "late.corp." in z
    prices = [b["Price"] for b in r.rs.billing(ACCT, 0, 1e12)]
    assert prices == [1.0, 40.0, 2.0]

    d = r.rs.get("late.corp")
    w.sweep(d.expires + 1)
    w.sweep(d.expires + 31 * DAY)
    assert w.sweep(d.expires + 61 * DAY) == [("late.corp", "released")]
    assert r.rs.get("late.corp") is None
    assert r.CheckDomainAvailability({"DomainName": "late.corp"}, ACCT)["Availability"] == \
        "AVAILABLE"


def test_auto_renew_at_expiry(reg):
    r, w, _zones = reg
    register(r, w, "kept.corp")
    d = r.rs.get("kept.corp")
    assert w.sweep(d.expires + 1) == [("kept.corp", "renewed")]
    assert r.rs.get("kept.corp").expires > d.expires + 360 * DAY
    assert [b["Operation"] for b in r.rs.billing(ACCT, 0, 1e12)] == ["REGISTER_DOMAIN",
                                                                     "RENEW_DOMAIN"]


def test_failed_registration_leaves_nothing(reg):
    r, w, zones = reg
    r.config.max_hosted_zones = 0
    op = register(r, w, "nozone.corp")
    assert op.status == "FAILED" and "hosted zones" in op.message
    assert r.rs.get("nozone.corp") is None
    assert r.store.count_zones() == 0
    assert r.CheckDomainAvailability({"DomainName": "nozone.corp"}, ACCT)["Availability"] == \
        "AVAILABLE"
    assert r.rs.serials() == {}  # the TLD zone never changed


def test_ds_matches_dnspython():
    import base64
    import os

    import dns.dnssec
    import dns.rdata

    for alg, size in ((13, 64), (8, 260), (15, 32)):
        pub = base64.b64encode(os.urandom(size)).decode()
        ds = dnssec.make_ds("Key.Example.corp.", 257, alg, pub)
        key = dns.rdata.from_text("IN", "DNSKEY", f"257 3 {alg} {pub}")
        assert ds["KeyTag"] == dns.dnssec.key_id(key)
        assert dnssec.ds_rdata(ds) == dns.dnssec.make_ds("key.example.corp.", key,
                                                         "SHA256").to_wire()
    with pytest.raises(dnssec.KeyError_):
        dnssec.make_ds("a.corp", 257, 3, "AAAA")  # DSA/SHA-1 is not accepted
    with pytest.raises(dnssec.KeyError_):
        dnssec.make_ds("a.corp", 1, 13, "AAAA")


def test_names():
    assert names.parse("Bücher.CORP.").ldh == "xn--bcher-kva.corp"
    for bad in ("", ".", "a..b", "-a.corp", "a" * 64 + ".corp", "ab--c.corp",
                ("a" * 60 + ".") * 5 + "corp"):
        with pytest.raises(DomainsError):
            names.parse(bad)


def test_registry_config(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('[registry]\ntlds = ["Corp.", "lab"]\nreserved = ["nic"]\n'
                 '[registry.prices.default]\nregistration = 3\n'
                 '[registry.prices.lab]\nrenewal = 1.5\n')
    c = load_config(str(f), {"registry_tlds": ["test", "corp"]})
    assert c.registry.tlds == ["corp", "lab", "test"]
    assert c.registry.price("lab", "renewal") == 1.5
    assert c.registry.price("lab", "registration") == 3.0
    for bad in ('[registry]\ntld = ["x"]\n', '[registry]\ntlds = ["-x"]\n',
                '[registry.prices.corp]\nregister = 1\n',
                '[registry.prices.corp]\nrenewal = -1\n',
                '[registry]\naccounts = { K = "12" }\n'):
        f.write_text(bad)
        with pytest.raises(ConfigError):
            load_config(str(f))


def test_cli_glue_adds_registry_tlds(tmp_path):
    import argparse

    from zonefront.domains import cli_glue

    p = argparse.ArgumentParser()
    cli_glue.add_arguments(p)
    f = tmp_path / "c.toml"
    f.write_text('[registry]\ntlds = ["corp"]\n')
    args = p.parse_args(["--registry-tld", "lab", "--registry-tld", "Test."])
    assert load_config(str(f), cli_glue.config_overrides(args)).registry.tlds == \
        ["corp", "lab", "test"]
    none = cli_glue.config_overrides(p.parse_args([]))
    assert load_config(str(f), none).registry.tlds == ["corp"]


def test_restore_domain_only_in_redemption_with_consent(reg):
    r, w, _zones = reg
    register(r, w, "back.corp", AutoRenew=False)
    with pytest.raises(DomainsError) as e:
        r.RestoreDomain({"DomainName": "back.corp"}, ACCT)
    assert e.value.code == "InvalidInput"  # active: nothing to restore
    d = r.rs.get("back.corp")
    w.sweep(d.expires + 1)
    w.sweep(d.expires + 31 * DAY)
    assert r.rs.get("back.corp").state == "redemption"
    with pytest.raises(DomainsError) as e:  # restoration 40 + renewal 2 > 41
        r.RestoreDomain({"DomainName": "back.corp",
                         "Consent": {"MaxPrice": 41.0, "Currency": "USD"}}, ACCT)
    assert e.value.code == "InvalidInput"
    with pytest.raises(DomainsError) as e:
        r.RestoreDomain({"DomainName": "nothere.corp"}, ACCT)
    assert e.value.code == "InvalidInput"
    with pytest.raises(DomainsError) as e:
        r.RestoreDomain({"DomainName": "back.nosuchtld"}, ACCT)
    assert e.value.code == "UnsupportedTLD"
    op = r.RestoreDomain({"DomainName": "back.corp",
                          "Consent": {"MaxPrice": 42.0, "Currency": "USD"}}, ACCT)
    with pytest.raises(DomainsError) as e:  # one operation at a time per domain
        r.RestoreDomain({"DomainName": "back.corp"}, ACCT)
    assert e.value.code == "DuplicateRequest"
    w.apply(op["OperationId"])
    assert r.rs.get_op(op["OperationId"]).type == "RESTORE_DOMAIN"
    assert r.rs.get("back.corp").state == "active"
    assert [b["Price"] for b in r.rs.billing(ACCT, 0, 1e12)][-2:] == [40.0, 2.0]


def test_get_domain_prices(tmp_path):
    store = Store(str(tmp_path))
    config = Config(data_dir=str(tmp_path), registry=RegistryConfig(
        tlds=["corp"], premium=["gold.corp"],
        prices={"corp": {"registration": 12.0, "renewal": 13.0, "transfer": 11.0,
                         "restoration": 80.0, "premium": 500.0}}))
    r = Registry(store, config)
    try:
        p = r.GetDomainPrices({"DomainName": "Plain.corp"}, ACCT)["DomainPrice"]
        assert p["Name"] == "plain.corp"
        assert p["RegistrationPrice"] == {"Price": 12.0, "Currency": "USD",
                                          "PriceType": "STANDARD"}
        assert p["RenewalPrice"]["Price"] == 13.0 and p["TransferPrice"]["Price"] == 11.0
        assert p["RestorationPrice"]["Price"] == 80.0
        gold = r.GetDomainPrices({"DomainName": "gold.corp"}, ACCT)["DomainPrice"]
        assert gold["RegistrationPrice"] == {"Price": 500.0, "Currency": "USD",
                                             "PriceType": "REGISTRY_PREMIUM"}
        with pytest.raises(DomainsError) as e:
            r.GetDomainPrices({"DomainName": "x.nosuchtld"}, ACCT)
        assert e.value.code == "UnsupportedTLD"
        with pytest.raises(DomainsError) as e:
            r.GetDomainPrices({"DomainName": "a..corp"}, ACCT)
        assert e.value.code == "InvalidInput"
    finally:
        store.close()


def test_restore_domain_operation_limit(reg):
    """RestoreDomain's OperationLimitExceeded: the account's operations in
    flight are at [registry] max_operations."""
    r, w, _zones = reg
    register(r, w, "lim-back.corp", AutoRenew=False)
    d = r.rs.get("lim-back.corp")
    w.sweep(d.expires + 1)
    w.sweep(d.expires + 31 * DAY)
    assert r.rs.get("lim-back.corp").state == "redemption"
    r.rc.max_operations = r.rs.count_open_ops(ACCT)  # full at what is in flight now
    with pytest.raises(DomainsError) as e:
        r.RestoreDomain({"DomainName": "lim-back.corp"}, ACCT)
    assert e.value.code == "OperationLimitExceeded"
    assert r.rs.get("lim-back.corp").state == "redemption"  # refused: nothing changed
