"""The C scanner's own address parsers (csrc/zscan.c parse_ipv4, parse_ipv6)
take and refuse exactly what zonefile.py (inet_pton) does: every A/AAAA
address below either compiles in C to inet_pton's octets or is refused
whole with the same `file:line: reason`."""
from __future__ import annotations

import random
import socket
import struct

import pytest

from zonefront.core._engine import Image as EngineImage
from zonefront.snapshot.fastcompile import Stats, compile_zone_files
from zonefront.zonefile import ZoneFileError, parse_zone_file

A, AAAA = socket.AF_INET, socket.AF_INET6
GOOD = [(A, a) for a in ["0.0.0.0", "1.2.3.4", "255.255.255.255", "192.0.2.10", "100.20.3.0"]] + [
    (AAAA, a) for a in ["::", "::1", "1::", "2001:db8::1", "2001:DB8:0:0:8:800:200C:417A",
                        "fe80::1:2:3:4", "1:2:3:4:5:6:7:8", "::ffff:192.0.2.1", "::1.2.3.4",
                        "1:2:3:4:5:6:1.2.3.4", "1::1.2.3.4", "0000:000:00:0::0", "abcd::ef01",
                        "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8"]]
BAD = [(A, a) for a in [
    "01.2.3.4", "1.2.3.04", "1.2.3.00", "256.1.1.1", "1.2.3.256", "1.2.3", "1.2.3.4.5",
    "1.2.3.4.", ".1.2.3.4", "1..2.3", "1.2.3.", "a.b.c.d", "1.2.3.4a", "1.2.3.-4",
    "1.2.3.1000", "9999999999.1.1.1", "1.2.3.4/24", "0x1.2.3.4", "::1", "1.2.3.\\052"]] + [
    (AAAA, a) for a in [
        ":", ":::", ":1::", "1:", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7",
        "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "g::1", "1.2.3.4", "::1.2.3", "::01.2.3.4",
        "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3.4:1", "::1.2.3.4.", "1::2:", "fe80::1%eth0",
        "::ffff:256.1.1.1"]]


def _zone(tmp_path, family, addr: str):
    p = tmp_path / "z.db"
    rtype = "A" if family == A else "AAAA"
    p.write_text(f"$ORIGIN example.com.\n$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n"
                 f"x {rtype} {addr}\n")
    return str(p)


def _answer(image, family) -> bytes:
    qtype, size = (1, 4) if family == A else (28, 16)
    q = struct.pack(">HHHHHH", 7, 0, 1, 0, 0, 0) + b"\x01x\x07example\x03com\x00" + \
        struct.pack(">HH", qtype, 1)
    return bytes(EngineImage(image.arrays(), image.zones).answer(q)[-size:])


def _inet_pton(family, addr):
    try:
        return socket.inet_pton(family, addr)
    except OSError:
        return None


def _check(tmp_path, family, addr):
    path = _zone(tmp_path, family, addr)
    want = _inet_pton(family, addr.replace("\\052", "*"))
    if want is None or "\\" in addr:
        with pytest.raises(ZoneFileError) as ref:
            parse_zone_file(path)
        with pytest.raises(ZoneFileError) as got:
            compile_zone_files([path])
        assert str(got.value) == str(ref.value)
        return
    stats = Stats()
    image = compile_zone_files([path], stats)
    assert stats.python_files == [] and stats.python_all == ""  # the C scanner read it
    assert _answer(image, family) == want


@pytest.mark.parametrize("family,addr", GOOD)
def test_addresses_compile_in_c_to_inet_pton_octets(tmp_path, family, addr):
    assert _inet_pton(family, addr) is not None
    _check(tmp_path, family, addr)


@pytest.mark.parametrize("family,addr", BAD)
def test_bad_addresses_refused_as_zonefile_refuses_them(tmp_path, family, addr):
    assert _inet_pton(family, addr) is None or "\\" in addr
    _check(tmp_path, family, addr)


def test_random_addresses_agree_with_inet_pton(tmp_path):
    """Strings built from the characters addresses are made of, half of
    them valid: the C parsers agree with inet_pton on every one."""
    rnd = random.Random(13)
    for _ in range(300):
        family = rnd.choice((A, AAAA))
        if rnd.random() < 0.5:
            raw = socket.inet_ntop(family, bytes(rnd.choice((0, 1, 255, rnd.randrange(256)))
                                                 for _ in range(4 if family == A else 16)))
            chars = list(raw)
            for _ in range(rnd.choice((0, 0, 1, 2))):  # mutate some
                i = rnd.randrange(len(chars) + 1)
                chars.insert(i, rnd.choice("0:.1f"))
            addr = "".join(chars)
        else:
            addr = "".join(rnd.choice("0123456789abcdef:.") for _ in range(rnd.randrange(1, 20)))
        _check(tmp_path, family, addr)
