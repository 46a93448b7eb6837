"""The C scanner's own dotted-quad parser (csrc/zscan.c parse_ipv4) takes
and refuses exactly what zonefile.py (inet_pton) does: every address below
either compiles to the same four octets or is refused whole with the same
`file:line: reason`."""
from __future__ import annotations

import socket
import struct

import pytest

from zonefront.core._engine import Image as EngineImage
from zonefront.snapshot.fastcompile import Stats, compile_zone_files
from zonefront.zonefile import ZoneFileError, parse_zone_file

GOOD = ["0.0.0.0", "1.2.3.4", "255.255.255.255", "192.0.2.10", "10.0.0.255", "100.20.3.0"]
BAD = ["01.2.3.4", "1.2.3.04", "1.2.3.00", "256.1.1.1", "1.2.3.256", "1.2.3", "1.2.3.4.5",
       "1.2.3.4.", ".1.2.3.4", "1..2.3", "1.2.3.", "a.b.c.d", "1.2.3.4a", "1.2.3.-4",
       "1.2.3.1000", "9999999999.1.1.1", "1.2.3.4/24", "0x1.2.3.4", "::1", "1.2.3.\\052"]


def _zone(tmp_path, addr: str):
    p = tmp_path / "z.db"
    p.write_text(f"$ORIGIN example.com.\n$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nx A {addr}\n")
    return str(p)


def _answer_a(image) -> bytes:
    q = struct.pack(">HHHHHH", 7, 0, 1, 0, 0, 0) + b"\x01x\x07example\x03com\x00" + \
        struct.pack(">HH", 1, 1)
    resp = EngineImage(image.arrays(), image.zones).answer(q)
    return bytes(resp[-4:])


@pytest.mark.parametrize("addr", GOOD)
def test_dotted_quads_compile_in_c_to_inet_pton_octets(tmp_path, addr):
    path = _zone(tmp_path, addr)
    stats = Stats()
    image = compile_zone_files([path], stats)
    assert stats.python_files == [] and stats.python_all == ""  # the C scanner read it
    assert _answer_a(image) == socket.inet_pton(socket.AF_INET, addr)


@pytest.mark.parametrize("addr", BAD)
def test_bad_dotted_quads_refused_as_zonefile_refuses_them(tmp_path, addr):
    path = _zone(tmp_path, addr)
    with pytest.raises(ZoneFileError) as want:
        parse_zone_file(path)
    with pytest.raises(ZoneFileError) as got:
        compile_zone_files([path])
    assert str(got.value) == str(want.value)
