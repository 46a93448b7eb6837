"""An image loaded from this process's own compiler (trusted=True, as
serving.compile_in_child does) skips the snapshot checks but must answer
exactly as the checked load does; a snapshot from disk is still checked."""
import dns.message
import pytest

from zonefront.core.engine import Engine
from zonefront.model import TYPE_A, TYPE_MX, TYPE_NS, TYPE_SOA, Zone, name_from_text
from zonefront.snapshot import format as snapshot_format
from zonefront.snapshot.compiler import compile_zones

QUESTIONS = [("host-0007.trust.test", "A"), ("host-0007.trust.test", "MX"),
             ("absent.trust.test", "A"), ("trust.test", "NS"), ("trust.test", "SOA")]


def _snapshot(tmp_path) -> str:
    origin = name_from_text("trust.test.")
    zone = Zone(origin)
    zone.add(origin, TYPE_SOA, 3600, name_from_text("ns.trust.test.") * 2 + bytes(20))
    zone.add(origin, TYPE_NS, 3600, name_from_text("ns.trust.test."))
    for i in range(200):
        name = name_from_text(f"host-{i:04d}.trust.test.")
        zone.add(name, TYPE_A, 300, bytes([10, 0, i >> 8, i & 255]))
        zone.add(name, TYPE_MX, 300, b"\x00\x0a" + name_from_text("ns.trust.test."))
    path = str(tmp_path / "trust.snap")
    snapshot_format.write(path, compile_zones([zone]), 7)
    return path


def test_trusted_load_answers_as_the_checked_load(tmp_path):
    path = _snapshot(tmp_path)
    checked = Engine.from_snapshot(path)
    trusted = Engine.from_snapshot(path, trusted=True)
    assert trusted.serial == checked.serial == 7
    assert trusted.memory() == checked.memory()
    assert trusted.image.block_count == checked.image.block_count > 0
    for qname, qtype in QUESTIONS:
        wire = dns.message.make_query(qname, qtype).to_wire()
        assert trusted.answer(wire) == checked.answer(wire), (qname, qtype)
        assert len(trusted.answer(wire)) > 12


def test_a_corrupt_snapshot_is_refused_without_trust(tmp_path):
    path = _snapshot(tmp_path)
    arrays, _ = snapshot_format.read(path)
    negatives = bytearray(arrays["negatives"])
    del arrays
    negatives[4:8] = (0xFFFFFFF0).to_bytes(4, "little")  # zone 0's negative block: far outside
    good, meta = snapshot_format.read(path)
    bad = {k: bytes(v) for k, v in good.items()}
    bad["negatives"] = bytes(negatives)
    with pytest.raises(ValueError, match="out of range"):
        Engine(bad, meta["zones"], meta["serial"])


def test_a_trusted_load_still_keeps_each_block_within_its_stream(tmp_path):
    good, meta = snapshot_format.read(_snapshot(tmp_path))
    cut = {k: bytes(v) for k, v in good.items()}
    cut["blocks"] = cut["blocks"][:-1]  # the last block record runs past the end
    with pytest.raises(ValueError, match="block records are malformed"):
        Engine(cut, meta["zones"], meta["serial"], trusted=True)
