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


def _zone_file(tmp_path) -> str:
    lines = ["$ORIGIN trust.test.", "$TTL 300", "@ 3600 SOA ns ns 1 2 3 4 5", "@ 3600 NS ns"]
    for i in range(200):
        lines += [f"host-{i:04d} A 10.0.{i >> 8}.{i & 255}", f"host-{i:04d} MX 10 ns"]
    path = tmp_path / "trust.zone"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.mark.parametrize("spill", [0, 4096], ids=["in-memory", "spilled"])
def test_an_image_of_this_process_compiler_answers_from_its_streams(tmp_path, spill):
    """Engine.from_compiled: streams in the compiler's memory are held, not
    copied; spilled ones are copied (their file pages dropped); the answers
    are the copied image's, byte for byte."""
    from zonefront.snapshot.fastcompile import compile_zone_files

    made = compile_zone_files([_zone_file(tmp_path)], spill_window=spill)
    assert sorted(made.in_place + made.mapped) == ["blocks", "nodes"]
    assert (made.mapped == ()) == (spill == 0)
    copied = Engine({k: bytes(v) for k, v in made.arrays().items()}, made.zones, 7)
    held = Engine.from_compiled(made, 7)
    assert held.image.in_place == tuple(sorted(made.in_place))
    assert copied.image.in_place == ()
    assert held.memory() >= copied.memory() - 128  # held arrays are counted, less alignment
    del made  # the image alone keeps the streams alive
    for qname, qtype in QUESTIONS:
        wire = dns.message.make_query(qname, qtype).to_wire()
        assert held.answer(wire) == copied.answer(wire), (qname, qtype)
        assert len(held.answer(wire)) > 12
    exported = held.image.export_arrays()
    assert bytes(exported["nodes"]) == bytes(copied.image.export_arrays()["nodes"])


def test_a_growable_image_cannot_hold_its_arrays_in_place(tmp_path):
    from zonefront.snapshot.fastcompile import compile_zone_files

    made = compile_zone_files([_zone_file(tmp_path)])
    with pytest.raises(ValueError, match="growable"):
        Engine(made.arrays(), made.zones, 7, growable=True, keep=made.in_place)
