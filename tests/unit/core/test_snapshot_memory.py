"""Loading a snapshot holds about the image's own size at its peak: the
mapped file's pages are dropped as they are copied into the arena, so a
node never needs the snapshot and the image in memory at once."""
import os
import subprocess
import sys

from zonefront.model import TYPE_A, TYPE_NS, TYPE_SOA, Zone, name_from_text
from zonefront.snapshot import format as snapshot_format
from zonefront.snapshot.compiler import compile_zones
from helpers.procs import child_env

CHILD = r"""
import sys
from zonefront.core.engine import Engine

def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
before = hwm()
engine = Engine.from_snapshot(sys.argv[1])
print(hwm() - before, engine.memory(), len(engine.answer(bytes.fromhex(sys.argv[2]))))
"""


def test_snapshot_load_peak_is_about_the_image(tmp_path):
    origin = name_from_text("mem.test.")
    zone = Zone(origin)
    zone.add(origin, TYPE_SOA, 3600, name_from_text("ns.mem.test.") * 2 + bytes(20))
    zone.add(origin, TYPE_NS, 3600, name_from_text("ns.mem.test."))
    for i in range(150_000):
        zone.add(name_from_text(f"host-{i:06d}.mem.test."), TYPE_A, 300, i.to_bytes(4, "big"))
    path = str(tmp_path / "mem.snap")
    snapshot_format.write(path, compile_zones([zone]), 1)
    size = os.path.getsize(path)
    assert size > 8 << 20
    import dns.message

    query = dns.message.make_query("host-000042.mem.test", "A").to_wire().hex()
    out = subprocess.run([sys.executable, "-c", CHILD, path, query], capture_output=True,
                         text=True, env=child_env(), check=True).stdout.split()
    grown, image, answer_len = (int(x) for x in out)
    assert answer_len > 12
    # the image itself (arena rounded to huge pages) plus slack, not file + image
    assert grown < image + (6 << 20), (grown, image, size)
