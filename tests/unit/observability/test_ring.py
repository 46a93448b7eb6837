"""The per-worker record ring: records come back whole, a stalled sink drops
and counts instead of blocking the workers."""
import time

import pytest

pytest.importorskip("zonefront.dataplane._stats")

from zonefront.dataplane import _stats
from zonefront.dataplane.querylog import (
    FileSink,
    format_line,
    group_path,
    parse_question,
)

from helpers.metrics import build_zones, start_server


def test_records_round_trip_and_full_ring_drops(tmp_path):
    """No drain at all (a stalled sink): the workers keep answering at full
    speed, the ring fills, and every record past it is counted as dropped."""
    import dns.message
    import dns.query
    image = build_zones(tmp_path)
    server = start_server(image, workers=1)
    try:
        c = server.counters[0]
        c.enable_ring(capacity=4096)  # room for a few dozen records
        c.set_log_all(True)
        n = 300
        for i in range(n):
            q = dns.message.make_query(f"q{i}.example.com.", "A")
            r = dns.query.udp(q, "127.0.0.1", port=server.ports[0], timeout=3)
            assert r.rcode() == 3
        deadline = time.time() + 3
        while time.time() < deadline and sum(c.ring_stats()) < n:
            time.sleep(0.01)
        written, dropped = c.ring_stats()
        assert written + dropped == n
        assert dropped > 0 and written > 0
        recs = list(_stats.iter_records(c.take()))
        assert len(recs) == written
        names = [parse_question(r[7])[0] for r in recs]
        assert names == [f"q{i}.example.com" for i in range(written)]  # the first ones, in order
        # emptied: new records fit again
        q = dns.message.make_query("again.example.com.", "A")
        dns.query.udp(q, "127.0.0.1", port=server.ports[0], timeout=3)
        deadline = time.time() + 3
        while time.time() < deadline and c.ring_stats()[0] == written:
            time.sleep(0.01)
        recs = list(_stats.iter_records(c.take()))
        assert [parse_question(r[7])[0] for r in recs] == ["again.example.com"]
    finally:
        server.stop()


def test_only_logged_zone_rows_are_recorded(tmp_path):
    import dns.message
    import dns.query
    image = build_zones(tmp_path)
    server = start_server(image, workers=1)
    try:
        c = server.counters[0]
        c.enable_ring()
        rows = [i for i, z in enumerate(image.zones) if z["origin"] == b"\x07example\x03net\x00"]
        c.set_log_rows(rows)
        for name in ("www.example.com.", "www.example.net.", "alias.example.net.",
                     "x.other.org."):
            dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1",
                          port=server.ports[0], timeout=3)
        deadline = time.time() + 3
        while time.time() < deadline and c.ring_stats()[0] < 2:
            time.sleep(0.01)
        time.sleep(0.1)
        recs = list(_stats.iter_records(c.take()))
        assert [parse_question(r[7])[0] for r in recs] == ["www.example.net", "alias.example.net"]
        assert all(r[0] == rows[0] for r in recs)
    finally:
        server.stop()


def test_line_format_and_ecs():
    import dns.edns
    import dns.message
    q = dns.message.make_query("Www.Example.com.", "AAAA",
                               options=[dns.edns.ECSOption("198.51.100.0", 24)])
    wire = q.to_wire()
    line = format_line(1_513_153_350_235_000, "Z123", wire, b"\0\0\x81\x03", 3, False, "FRA6",
                       4, bytes([192, 168, 1, 1]) + bytes(12))
    assert line == ("1.0 2017-12-13T08:22:30.235Z Z123 Www.Example.com AAAA NXDOMAIN UDP FRA6 "
                    "192.168.1.1 198.51.100.0/24\n")


def test_file_sink_rotates(tmp_path):
    path = group_path(str(tmp_path), "/aws/route53/example.com")
    assert path == str(tmp_path / "query-logs" / "aws" / "route53" / "example.com.log")
    s = FileSink(path, max_bytes=100, keep=2)
    for i in range(10):
        s.write(f"line {i:02d} " + "x" * 30 + "\n")
    s.close()
    assert (tmp_path / "query-logs/aws/route53/example.com.log.1").exists()
    assert (tmp_path / "query-logs/aws/route53/example.com.log.2").exists()
    assert not (tmp_path / "query-logs/aws/route53/example.com.log.3").exists()
    assert open(path).read().endswith("line 09 " + "x" * 30 + "\n")


def test_group_path_stays_inside(tmp_path):
    assert group_path(str(tmp_path), "../../etc/passwd") == \
        str(tmp_path / "query-logs" / "etc" / "passwd.log")


def test_c_lines_match_python_twin():

    import dns.edns
    import dns.message
    recs = []
    cases = [("Www.Example.com.", "AAAA", [dns.edns.ECSOption("198.51.100.0", 24)], 4,
              bytes([192, 168, 1, 1]) + bytes(12), 3, 0),
             ("a.b.", "A", [], 6, bytes.fromhex("20010db8000000000000000000000001"), 0, 1),
             ("x.", "TYPE999", [dns.edns.ECSOption("2001:db8::", 56)], 6,
              bytes(10) + b"\xff\xff" + bytes([10, 0, 0, 9]), 5, 0)]
    want = []
    for i, (name, t, opts, fam, addr, rc, tcp) in enumerate(cases):
        q = dns.message.make_query(name, t, use_edns=0, options=opts).to_wire()
        resp = b"\0\0\x81" + bytes([rc])
        ts = 1_700_000_000_123_456 + i * 1_000_000
        size = (_stats.QREC.size + len(q) + len(resp) + 7) & ~7
        head = _stats.QREC.pack(size, 7, ts, tcp, fam, 5353, len(q), len(resp), addr, 53)
        recs.append((head + q + resp).ljust(size, b"\0"))
        want.append(format_line(ts, "ZID1", q, resp, rc, bool(tcp), "LOC", fam, addr))
    data = b"".join(recs)
    out, n = _stats.format_lines(data, {7: (b"ZID1", "g")}, b"LOC")
    assert n == 3
    assert out["g"].decode() == "".join(want)
    assert _stats.format_lines(data, {8: (b"Z", "g")}, b"LOC") == ({}, 0)


def test_c_dnstap_frames_match_python_twin():
    import struct as st

    from zonefront.dataplane import dnstap
    q = bytes.fromhex("abcd01000001000000000000") + b"\x03www\x07example\x03com\x00\x00\x01\x00\x01"
    r = bytes.fromhex("abcd81800001000100000000") + q[12:]
    ts = 1_700_000_000_987_654
    recs, want = [], b""
    for fam, addr, tcp in ((4, bytes([10, 1, 2, 3]) + bytes(12), 0),
                           (6, bytes.fromhex("20010db8000000000000000000000009"), 1)):
        size = (_stats.QREC.size + len(q) + len(r) + 7) & ~7
        recs.append((_stats.QREC.pack(size, 0, ts, tcp, fam, 40000, len(q), len(r), addr, 53)
                     + q + r).ljust(size, b"\0"))
        for mt in (dnstap.AUTH_QUERY, dnstap.AUTH_RESPONSE):
            m = dnstap.encode_message(mt, ts, bool(tcp), fam, addr, 40000, 53, q, r, b"id", b"v")
            want += st.pack("!I", len(m)) + m
    got, n = _stats.dnstap_frames(b"".join(recs), b"id", b"v")
    assert n == 4
    assert got == want
