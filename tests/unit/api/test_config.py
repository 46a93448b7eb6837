"""config.py: TOML + environment + flags into one Config; mistakes named."""
from __future__ import annotations

import pytest

from zonefront.config import Config, ConfigError, load_config


def write(tmp_path, text):
    p = tmp_path / "zonefront.toml"
    p.write_text(text)
    return str(p)


def test_defaults():
    c = load_config(None, {}, environ={})
    assert c == Config()
    assert c.api_listen == ("127.0.0.1", 8053) and c.auth is True and c.credentials == {}


def test_file_env_and_overrides(tmp_path):
    path = write(tmp_path, """
[api]
listen = "0.0.0.0:9000"
access_key_id = "AKIDFILE"
secret_access_key = "file-secret"
readonly_keys = ["AKIDRO"]
[api.credentials]
AKIDRO = "ro-secret"
[store]
data_dir = "/var/lib/zf"
[zones]
nameservers = ["a.ns.example", "b.ns.example."]
max_rrsets_per_zone = 50
[dns]
listen = "anything: other sections belong to other parts"
""")
    c = load_config(path, {"data_dir": "/override", "api_listen": "[::1]:8054", "auth": None},
                    environ={"ZONEFRONT_ACCESS_KEY_ID": "AKIDENV",
                             "ZONEFRONT_SECRET_ACCESS_KEY": "env-secret"})
    assert c.api_listen == ("::1", 8054) and c.data_dir == "/override"
    assert c.credentials == {"AKIDFILE": "file-secret", "AKIDRO": "ro-secret",
                             "AKIDENV": "env-secret"}
    assert c.readonly_keys == ["AKIDRO"]
    assert c.nameservers == ["a.ns.example.", "b.ns.example."]
    assert c.max_rrsets_per_zone == 50 and c.auth is True


@pytest.mark.parametrize("text, fragment", [
    ("[api]\nlisten_on = '1.2.3.4:5'\n", "unknown key api.listen_on"),
    ("[api]\nlisten = 'nope'\n", "HOST:PORT"),
    ("[api]\nauth = 'yes'\n", "true or false"),
    ("[api]\naccess_key_id = 'x'\n", "go together"),
    ("[zones]\nnameservers = []\n", "non-empty"),
    ("[zones]\nmax_hosted_zones = 'many'\n", "integer"),
    ("[api]\ntls_cert = '/x.pem'\n", "tls_cert and api.tls_key"),
    ("not toml = = 1", "not valid TOML"),
])
def test_errors_name_the_key(tmp_path, text, fragment):
    with pytest.raises(ConfigError, match=None) as e:
        load_config(write(tmp_path, text), {}, environ={})
    assert fragment in str(e.value)


def test_env_pair_must_be_complete():
    with pytest.raises(ConfigError):
        load_config(None, {}, environ={"ZONEFRONT_ACCESS_KEY_ID": "x"})


def test_no_auth_and_nameserver_flags():
    c = load_config(None, {"auth": False, "nameservers": "ns1.a.example,ns2.a.example"},
                    environ={})
    assert c.auth is False and c.nameservers == ["ns1.a.example.", "ns2.a.example."]
    with pytest.raises(ConfigError, match="unknown setting"):
        load_config(None, {"bogus": 1}, environ={})


def test_alias_fallback_resolver(tmp_path):
    cfg = load_config(write(tmp_path, '[alias]\nfallback_resolver = "127.0.0.1:5353"\n'
                                      'fallback_timeout = 0.5\n'), {}, environ={})
    assert (cfg.alias_fallback_resolver, cfg.alias_fallback_timeout) == ("127.0.0.1:5353", 0.5)
    assert load_config(None, {}, environ={}).alias_fallback_resolver == "none"
    for text, fragment in (('fallback_resolver = "resolver"', "alias.fallback_resolver"),
                           ("fallback_resolver = 53", "alias.fallback_resolver"),
                           ("fallback_timeout = 0", "alias.fallback_timeout"),
                           ("fallback_timeout = 60", "alias.fallback_timeout")):
        with pytest.raises(ConfigError, match=fragment):
            load_config(write(tmp_path, f"[alias]\n{text}\n"), {}, environ={})
