"""Precomputed NSEC3 denial (issue 14, `[dnssec] denial = "nsec3"`): the
chain a zone's transfer copy carries, checked against dnspython's RFC 5155
hash and accepted by BIND's dnssec-verify; the config option."""
from __future__ import annotations

import base64
import shutil
import subprocess

import dns.dnssec
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zone
import pytest
from test_signed_answers import KSK, ZSK, zones

from zonefront.dnssec import nsec3
from zonefront.dnssec.signer import ZoneKeys
from zonefront.dnssec.zonesign import signed_copy


def nsec3_copy(denial="nsec3"):
    z = zones()[0]
    z.dnssec = ZoneKeys(z.origin, [KSK], ZSK, denial=denial)
    return signed_copy(z)


def to_dns_zone(zone) -> dns.zone.Zone:
    origin = dns.name.from_wire(zone.origin, 0)[0]
    out = dns.zone.Zone(origin, relativize=False)
    for (owner, rtype), rs in zone.rrsets.items():
        name = dns.name.from_wire(owner, 0)[0]
        for rd in rs.rdatas:
            r = dns.rdata.from_wire(dns.rdataclass.IN, rtype, rd, 0, len(rd))
            covers = r.type_covered if rtype == dns.rdatatype.RRSIG else dns.rdatatype.NONE
            out.find_rdataset(name, rtype, covers=covers, create=True).add(r, rs.ttl)
    return out


def nsec3_names(zone) -> dict[str, dns.rdata.Rdata]:
    out = {}
    for (owner, rtype), rs in zone.rrsets.items():
        if rtype == nsec3.TYPE_NSEC3:
            out[dns.name.from_wire(owner, 0)[0].to_text()] = \
                dns.rdata.from_wire(dns.rdataclass.IN, rtype, rs.rdatas[0], 0, len(rs.rdatas[0]))
    return out


def test_chain_covers_authoritative_names_and_empty_non_terminals_only():
    got = nsec3_names(nsec3_copy())
    expect = {"example.com.", "ns1.example.com.", "mail.example.com.", "www.example.com.",
              "www2.example.com.", "alias.example.com.", "*.wild.example.com.",
              "wild.example.com.",  # an empty non-terminal
              "sub.example.com.", "dsdeleg.example.com.", "big.example.com."}
    # ns.sub.example.com. is glue below the cut: not in the chain
    hashed = {dns.dnssec.nsec3_hash(n, salt=None, iterations=0, algorithm=1).lower()
              + ".example.com.": n for n in expect}
    assert set(got) == set(hashed)
    for owner, rd in got.items():
        assert (rd.algorithm, rd.flags, rd.iterations, rd.salt) == (1, 0, 0, b"")
    bitmap = {hashed[o]: {dns.rdatatype.to_text(t) for t in _types(rd)} for o, rd in got.items()}
    assert bitmap["wild.example.com."] == set()
    assert bitmap["sub.example.com."] == {"NS"}  # insecure delegation: no RRSIG, no DS
    assert bitmap["dsdeleg.example.com."] == {"NS", "DS", "RRSIG"}
    assert bitmap["example.com."] == {"SOA", "NS", "MX", "DNSKEY", "NSEC3PARAM", "RRSIG"}
    assert bitmap["www.example.com."] == {"A", "AAAA", "RRSIG"}
    # the chain is one cycle in hash order
    order = sorted(got)
    for i, o in enumerate(order):
        nxt = order[(i + 1) % len(order)].split(".")[0]
        assert base64.b32hexencode(got[o].next).decode().lower() == nxt


def _types(rd):
    out = set()
    for window, bits in rd.windows:
        for i, octet in enumerate(bits):
            for b in range(8):
                if octet & (0x80 >> b):
                    out.add(window * 256 + i * 8 + b)
    return out


def test_nsec3_mode_has_param_and_no_nsec():
    z = nsec3_copy()
    types = {t for (_o, t) in z.rrsets}
    assert nsec3.TYPE_NSEC3PARAM in types and 47 not in types
    assert z.rrsets[(z.origin, nsec3.TYPE_NSEC3PARAM)].rdatas == [b"\x01\x00\x00\x00\x00"]
    compact = nsec3_copy("compact")
    assert {t for (_o, t) in compact.rrsets} >= {47} and nsec3.TYPE_NSEC3 not in \
        {t for (_o, t) in compact.rrsets}


@pytest.mark.skipif(not shutil.which("dnssec-verify"), reason="bind9-utils not installed")
def test_dnssec_verify_accepts_the_nsec3_copy(tmp_path):
    path = tmp_path / "example.com.zone"
    to_dns_zone(nsec3_copy()).to_file(str(path), relativize=False)
    out = subprocess.run(["dnssec-verify", "-o", "example.com.", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Zone fully signed" in out.stdout + out.stderr


def test_unchanged_nsec3_records_are_not_signed_again():
    z = zones()[0]
    z.dnssec = ZoneKeys(z.origin, [KSK], ZSK, denial="nsec3")
    signed_copy(z)
    before = len(z.dnssec.cache)
    signed_copy(z)
    assert len(z.dnssec.cache) == before


@pytest.mark.parametrize("value", ['"nsec"', '"NSEC3 "', "3", "true"])
def test_bad_denial_values_are_refused(tmp_path, value):
    from zonefront.config import ConfigError, load_config

    path = tmp_path / "zonefront.toml"
    path.write_text(f"[dnssec]\ndenial = {value}\n")
    with pytest.raises(ConfigError, match="dnssec.denial"):
        load_config(str(path))
    path.write_text('[dnssec]\ndenial = "nsec3"\n')
    assert load_config(str(path)).dnssec.denial == "nsec3"
    path.write_text("")
    assert load_config(str(path)).dnssec.denial == "compact"
