"""TCP (RFC 7766): framing, pipelining, split reads, idle timeout, connection cap."""
import socket
import struct
import time

import pytest

from helpers.dnswire import frame, make_query, read_exact, read_framed


def connect(srv, index=0, host="127.0.0.1"):
    s = socket.create_connection((host, srv.ports[index]), timeout=2)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


@pytest.mark.parametrize("host,index", [("127.0.0.1", 0), ("::1", 1)])
def test_pipelined_answers_in_order(serve, host, index):
    srv = serve()
    s = connect(srv, index, host)
    s.sendall(b"".join(frame(make_query(f"q{i}.example", i)) for i in range(1, 101)))
    for i in range(1, 101):
        reply = read_framed(s)
        assert reply[:2] == i.to_bytes(2, "big") and reply[2] & 0x80
    st = srv.stats()["tcp"]
    assert st["queries"] == st["responses"] == 100


def test_query_split_across_writes(serve):
    srv = serve()
    s = connect(srv)
    wire = frame(make_query("split.example", 42))
    for piece in (wire[:1], wire[1:2], wire[2:9], wire[9:]):
        s.sendall(piece)
        time.sleep(0.05)
    assert read_framed(s) == make_query("split.example", 42)[:2] + bytes(
        [make_query("split.example", 42)[2] | 0x80]) + make_query("split.example", 42)[3:]


def test_drop_in_a_pipeline_is_skipped(serve):
    srv = serve()
    s = connect(srv)
    s.sendall(frame(make_query("a.example", 1)) + frame(make_query("drop.example", 2))
              + frame(b"\x00") + frame(make_query("b.example", 3)))
    assert read_framed(s)[:2] == b"\x00\x01"
    assert read_framed(s)[:2] == b"\x00\x03"
    st = srv.stats()["tcp"]
    assert (st["queries"], st["responses"], st["dropped"]) == (4, 2, 2)


def test_large_replies_with_backpressure(serve):
    """Replies far beyond the per-connection output limit, client reading late."""
    srv = serve()
    s = connect(srv)
    big = make_query("big.example", 5) + b"\xab" * 60000
    n = 24  # about 1.4 MB of replies, over the 256 KiB pending limit
    s.sendall(frame(big) * n)
    time.sleep(0.2)
    for _ in range(n):
        reply = read_framed(s)
        assert len(reply) == len(big) and reply[3:] == big[3:]
    assert srv.stats()["tcp"]["responses"] == n


def test_client_half_close_still_gets_replies(serve):
    srv = serve()
    s = connect(srv)
    s.sendall(frame(make_query("a.example", 1)) + frame(make_query("b.example", 2)))
    s.shutdown(socket.SHUT_WR)
    assert read_framed(s)[:2] == b"\x00\x01"
    assert read_framed(s)[:2] == b"\x00\x02"
    assert s.recv(10) == b""


def test_idle_timeout_closes(serve):
    srv = serve(tcp_idle_timeout=0.3)
    s = connect(srv)
    s.sendall(frame(make_query("a.example", 1)))
    read_framed(s)
    t0 = time.monotonic()
    assert s.recv(10) == b""  # server closed
    waited = time.monotonic() - t0
    assert 0.2 < waited < 1.5
    assert srv.stats()["tcp"]["closed_idle"] == 1
    assert srv.stats()["tcp"]["active"] == 0


def test_idle_timer_restarts_on_traffic(serve):
    srv = serve(tcp_idle_timeout=0.4)
    s = connect(srv)
    for i in range(4):  # 0.8 s in all, never 0.4 s quiet
        time.sleep(0.2)
        s.sendall(frame(make_query("a.example", i)))
        assert read_framed(s)[:2] == i.to_bytes(2, "big")
    assert srv.stats()["tcp"]["closed_idle"] == 0


def test_connection_cap_closes_least_recent(serve):
    srv = serve(tcp_max_connections=2)
    a, b = connect(srv), connect(srv)
    for i, s in enumerate((a, b)):
        s.sendall(frame(make_query("x.example", i)))
        read_framed(s)
    b.sendall(frame(make_query("x.example", 7)))  # b is now the most recent
    read_framed(b)
    c = connect(srv)
    c.sendall(frame(make_query("x.example", 3)))
    assert read_framed(c)[:2] == b"\x00\x03"
    assert a.recv(10) == b""  # evicted: the least recently active
    b.sendall(frame(make_query("x.example", 4)))
    assert read_framed(b)[:2] == b"\x00\x04"
    st = srv.stats()["tcp"]
    assert st["evicted"] == 1 and st["active"] == 2 and st["accepted"] == 3


def test_partial_message_then_close(serve):
    srv = serve()
    s = connect(srv)
    s.sendall(struct.pack("!H", 100) + b"short")
    s.shutdown(socket.SHUT_WR)
    assert s.recv(10) == b""
    time.sleep(0.05)
    assert srv.stats()["tcp"]["active"] == 0


def test_reset_connection_is_harmless(serve):
    srv = serve()
    s = connect(srv)
    s.sendall(frame(make_query("a.example", 1)) * 50)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()  # RST with replies still queued
    s2 = connect(srv)
    s2.sendall(frame(make_query("b.example", 2)))
    assert read_framed(s2)[:2] == b"\x00\x02"
