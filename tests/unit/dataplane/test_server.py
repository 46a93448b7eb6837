"""DnsServer: image swap under load, stop, stats, the Slot API."""
import os
import socket
import threading
import time

import pytest

from helpers.dnswire import frame, make_query, read_framed, udp_client
from zonefront.dataplane import _worker
from zonefront.dataplane._worker import EchoImage, Slot
from zonefront.dataplane.server import DnsServer


def test_reload_under_load_loses_nothing(serve):
    srv = serve(workers=2, image=EchoImage(0))
    addr = ("127.0.0.1", srv.ports[0])
    tags = []
    errors = []
    done = threading.Event()

    def client():
        c = udp_client()
        qid = 0
        try:
            while not done.is_set():
                window = range(qid, qid + 50)
                for i in window:
                    c.sendto(make_query("load.example", i & 0xFFFF), addr)
                for _ in window:
                    tags.append(c.recv(4096)[-1])
                qid += 50
        except Exception as e:  # a lost reply shows up as a timeout
            errors.append(e)

    t = threading.Thread(target=client)
    t.start()
    for tag in range(1, 51):
        assert srv.reload(EchoImage(tag))
        time.sleep(0.01)
    done.set()
    t.join(5)
    assert not errors
    assert len(tags) > 500
    assert tags[-1] == 50 and len(set(tags)) > 10
    st = srv.stats()
    assert st["udp"]["queries"] == st["udp"]["responses"] == len(tags)
    assert st["generation"] == 51


def test_swap_waits_for_the_batch_in_flight():
    slot = Slot(EchoImage(1, delay_us=300_000), "echo")
    fd = _worker.open_udp("127.0.0.1", 0)
    w = _worker.UdpWorker(fd, slot, 8)
    t = threading.Thread(target=w.run)
    t.start()
    try:
        c = udp_client()
        c.sendto(make_query("slow.example", 1), ("127.0.0.1", _worker.socket_port(fd)))
        time.sleep(0.1)  # the worker is inside the 300 ms answer now
        assert slot.swap(EchoImage(2), timeout=0.01) is False  # still in use: kept alive
        assert slot.collect() == 1
        t0 = time.monotonic()
        assert slot.swap(EchoImage(3), timeout=2.0) is True
        assert 0.1 < time.monotonic() - t0 < 1.0
        assert slot.collect() == 0
        assert c.recv(4096)[-1] == 1  # answered wholly from the image it started with
        c.sendto(make_query("fast.example", 2), ("127.0.0.1", _worker.socket_port(fd)))
        assert c.recv(4096)[-1] == 3
    finally:
        w.stop()
        t.join(2)
        os.close(fd)


def test_idle_swap_is_immediate(serve):
    srv = serve(workers=2)
    t0 = time.monotonic()
    for i in range(100):
        assert srv.reload(EchoImage(i))
    assert time.monotonic() - t0 < 0.5  # idle loops are offline: no waiting on timeouts


def test_tcp_sees_reload(serve):
    srv = serve(image=EchoImage(1))
    s = socket.create_connection(("127.0.0.1", srv.ports[0]), timeout=2)
    s.sendall(frame(make_query("a.example", 1)))
    assert read_framed(s)[-1] == 1
    srv.reload(EchoImage(2))
    s.sendall(frame(make_query("a.example", 2)))
    assert read_framed(s)[-1] == 2


def test_stop_is_clean_and_fast():
    srv = DnsServer([("127.0.0.1", 0), ("::1", 0)], workers=3, answer="echo").start()
    conn = socket.create_connection(("127.0.0.1", srv.ports[0]), timeout=2)
    conn.sendall(frame(make_query("a.example", 1)))
    read_framed(conn)
    fds = list(srv._udp_fds + srv._tcp_fds)
    t0 = time.monotonic()
    srv.stop()
    assert time.monotonic() - t0 < 0.5
    assert all(not t.is_alive() for t in srv._threads)
    assert conn.recv(10) == b""  # client connections closed
    for fd in fds:
        with pytest.raises(OSError):
            os.fstat(fd)
    srv.stop()  # idempotent


def test_same_port_for_udp_and_tcp_and_stats(serve):
    srv = serve(workers=2)
    for (host, port), fam in zip(srv.addresses, (socket.AF_INET, socket.AF_INET6)):
        c = udp_client(fam)
        c.sendto(make_query("u.example", 1), (host, port))
        c.recv(4096)
        s = socket.create_connection((host, port), timeout=2)
        s.sendall(frame(make_query("t.example", 2)))
        read_framed(s)
    st = srv.stats()
    assert st["udp"]["queries"] == 2 and st["tcp"]["queries"] == 2
    assert st["queries"] == st["responses"] == 4
    assert st["tcp"]["accepted"] == 2


def test_fixed_port_and_context_manager():
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with DnsServer([("127.0.0.1", port)], workers=1, answer="echo", tcp=False) as srv:
        assert srv.ports == [port]
        c = udp_client()
        c.sendto(make_query("a.example", 5), ("127.0.0.1", port))
        assert c.recv(4096)[:2] == b"\x00\x05"


def test_slot_rejects_wrong_images():
    with pytest.raises(TypeError):
        Slot(b"not an image", "echo")
    s = Slot(None, "echo")
    with pytest.raises(TypeError):
        s.swap(object())
    with pytest.raises(ValueError):
        Slot(None, "nope")
    if not _worker.HAVE_ENGINE:
        with pytest.raises(ValueError):
            Slot(None, "engine")


def test_bad_address():
    with pytest.raises(OSError):
        DnsServer([("not-an-ip.invalid", 0)], answer="echo").start()


def test_hostname_listen_resolves(serve):
    srv = serve(listen=[("localhost", 0)], tcp=False)
    host, port = srv.addresses[0]
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    c = udp_client(fam)
    c.sendto(make_query("a.example", 8), (host, port))
    assert c.recv(4096)[:2] == b"\x00\x08"
