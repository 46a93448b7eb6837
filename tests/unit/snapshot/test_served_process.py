"""What a process serving a compiled image holds besides the image (issue 13:
1M names served in at most 145 MB).  libcrypto (1.4 MB of RSS once mapped)
is opened by the engine on its first online signature (csrc/zfcrypto.h),
so a server of unsigned zones never maps it, and a server of a signed
snapshot that nothing else loaded libcrypto into still signs.  Each case
runs in a fresh interpreter: this test process has libcrypto already."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.rdatatype
import pytest

import zonefront
from zonefront.snapshot import format as snapshot_format
from zonefront.zonefile import parse_zone_text

ZONE = """$ORIGIN example.com.
$TTL 600
@ IN SOA ns1 admin 7 7200 900 604800 120
@ NS ns1
ns1 A 192.0.2.53
www A 192.0.2.1
"""
ORIGIN = dns.name.from_text("example.com.")

# Loads the snapshot argv[1] as `serve --snapshot` does, answers the queries
# given as hex on stdin (one a line) and prints, per query, whether
# libcrypto was mapped before it and the response as hex.
SERVER = textwrap.dedent("""
    import sys
    from zonefront.core.engine import Engine

    def mapped():
        with open("/proc/self/maps") as f:
            return "libcrypto" in f.read()

    engine = Engine.from_snapshot(sys.argv[1])
    print("loaded", mapped())
    for line in sys.stdin:
        before = mapped()
        print(before, engine.answer(bytes.fromhex(line.strip()), "192.0.2.200").hex())
    print("end", mapped())
""")


def serve(snapshot: str, queries: list[dns.message.Message]) -> list[str]:
    src = os.path.dirname(os.path.dirname(zonefront.__file__))
    env = dict(os.environ, PYTHONPATH=src)
    proc = subprocess.run([sys.executable, "-c", SERVER, snapshot], env=env, check=True,
                          input="".join(q.to_wire().hex() + "\n" for q in queries),
                          capture_output=True, text=True, timeout=60)
    return proc.stdout.splitlines()


def query(name: str, rdtype: str) -> dns.message.Message:
    q = dns.message.make_query(name, rdtype, use_edns=0, want_dnssec=True, payload=4096)
    q.id = 4660
    return q


def write_snapshot(tmp_path, signing=None) -> str:
    from zonefront.snapshot.compiler import compile_zones

    path = str(tmp_path / "zone.snap")
    snapshot_format.write(path, compile_zones([parse_zone_text(ZONE, "example.com.")],
                                              signing=signing), 1, durable=False)
    return path


def test_serving_unsigned_zones_never_maps_libcrypto(tmp_path):
    lines = serve(write_snapshot(tmp_path), [query("www.example.com.", "A"),
                                            query("nx.example.com.", "A")])
    assert lines[0] == "loaded False"
    www = dns.message.from_wire(bytes.fromhex(lines[1].split()[1]))
    assert www.answer[0].to_text().endswith("A 192.0.2.1")
    assert dns.message.from_wire(bytes.fromhex(lines[2].split()[1])).rcode() == 3  # NXDOMAIN
    assert lines[3] == "end False"


def test_signed_snapshot_opens_libcrypto_at_its_first_online_signature(tmp_path):
    from zonefront.dnssec.keystore import SigningKey
    from zonefront.dnssec.signer import ZoneKeys

    ksk, zsk = SigningKey.generate(), SigningKey.generate()
    origin = dns.name.from_text("example.com.").to_wire()
    snap = write_snapshot(tmp_path, {origin: ZoneKeys(origin, [ksk], zsk)})
    lines = serve(snap, [query("example.com.", "DNSKEY"), query("nx.example.com.", "A"),
                         query("nx2.example.com.", "A")])
    # the DNSKEY answer is signed ahead of time: copying it needs no libcrypto
    assert lines[0] == "loaded False"
    assert lines[1].split()[0] == "False"
    assert lines[2].split()[0] == "False"  # the first online signature opens it
    assert lines[3].split()[0] == "True"
    assert lines[4] == "end True"
    keys_msg = dns.message.from_wire(bytes.fromhex(lines[1].split()[1]))
    keys = keys_msg.find_rrset(keys_msg.answer, ORIGIN, dns.rdataclass.IN, dns.rdatatype.DNSKEY)
    for line, name in ((lines[2], "nx.example.com."), (lines[3], "nx2.example.com.")):
        m = dns.message.from_wire(bytes.fromhex(line.split()[1]))
        assert m.rcode() == 0 and m.flags & dns.flags.AA and not m.answer  # RFC 9824
        owner = dns.name.from_text(name)
        nsec = m.find_rrset(m.authority, owner, dns.rdataclass.IN, dns.rdatatype.NSEC)
        sig = m.find_rrset(m.authority, owner, dns.rdataclass.IN, dns.rdatatype.RRSIG,
                           dns.rdatatype.NSEC)
        dns.dnssec.validate(nsec, sig, {ORIGIN: keys})  # signed online, by the ZSK


# `serve --zone-file`'s way to its first answer: the forked compiler child
# hands its image over in a handoff file (snapshot/format.py), and the
# server answers from it; neither imports msgpack (0.6 MB of RSS, 6 ms).
ZONE_FILE_START = textwrap.dedent("""
    import sys
    from zonefront import serving

    engine = serving.compile_in_child([sys.argv[1]])
    print("msgpack" in sys.modules)
    print(engine.answer(bytes.fromhex(sys.stdin.read().strip()), "192.0.2.200").hex())
""")


def test_zone_file_start_path_imports_no_msgpack(tmp_path):
    zone = tmp_path / "z.db"
    zone.write_text(ZONE)
    src = os.path.dirname(os.path.dirname(zonefront.__file__))
    proc = subprocess.run([sys.executable, "-c", ZONE_FILE_START, str(zone)],
                          env=dict(os.environ, PYTHONPATH=src), check=True,
                          input=query("www.example.com.", "A").to_wire().hex(),
                          capture_output=True, text=True, timeout=60)
    imported, answer = proc.stdout.split()
    assert imported == "False"
    assert dns.message.from_wire(bytes.fromhex(answer)).answer[0].to_text().endswith(
        "A 192.0.2.1")


def test_handoff_file_and_snapshot_are_never_read_as_each_other(tmp_path):
    from zonefront.snapshot.compiler import compile_zones

    image = compile_zones([parse_zone_text(ZONE, "example.com.")])
    snap, hand = str(tmp_path / "a.snap"), str(tmp_path / "a.hand")
    snapshot_format.write(snap, image, 7)
    snapshot_format.write(hand, image, 7, durable=False, handoff=True)
    a_arrays, a_meta = snapshot_format.read(snap)
    b_arrays, b_meta = snapshot_format.read(hand, handoff=True)
    assert a_meta == b_meta and a_meta["serial"] == 7 and a_meta["zones"] == image.zones
    assert {k: bytes(v) for k, v in a_arrays.items()} == {k: bytes(v) for k, v in b_arrays.items()}
    with pytest.raises(snapshot_format.SnapshotError, match="not a zonefront snapshot"):
        snapshot_format.read(hand)  # a snapshot reader never unmarshals
    with pytest.raises(snapshot_format.SnapshotError, match="not a zonefront snapshot"):
        snapshot_format.read(snap, handoff=True)


# The compiler child on a clean file: zonefile.py (the reader of faults and
# fallbacks) is not imported; a broken file still gets its `file:line: reason`.
CLEAN_THEN_BROKEN = textwrap.dedent("""
    import sys
    from zonefront.snapshot.fastcompile import compile_zone_files

    compile_zone_files([sys.argv[1]])
    print("zonefront.zonefile" in sys.modules)
    try:
        compile_zone_files([sys.argv[2]])
    except ValueError as e:
        print(type(e).__name__, e)
""")


def test_clean_zone_file_compiles_without_importing_zonefile(tmp_path):
    clean, broken = tmp_path / "clean.db", tmp_path / "broken.db"
    clean.write_text(ZONE)
    broken.write_text(ZONE + "bad A 192.0.2.256\n")
    src = os.path.dirname(os.path.dirname(zonefront.__file__))
    proc = subprocess.run([sys.executable, "-c", CLEAN_THEN_BROKEN, str(clean), str(broken)],
                          env=dict(os.environ, PYTHONPATH=src), check=True,
                          capture_output=True, text=True, timeout=60)
    imported, error = proc.stdout.splitlines()
    assert imported == "False"
    assert error.startswith(f"ZoneFileError {broken}:7: ")
