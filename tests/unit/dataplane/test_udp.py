"""UDP loop: batches answered, drops, oversized datagrams, the recvfrom fallback."""
import socket
import time

import pytest

from helpers.dnswire import make_query, udp_client
from zonefront.dataplane import _worker

HOSTS = [("127.0.0.1", socket.AF_INET, 0), ("::1", socket.AF_INET6, 1)]


def burst(sock, addr, ids, name="www.example.com"):
    """Sends one query per id back to back, then collects every reply."""
    for qid in ids:
        sock.sendto(make_query(name, qid), addr)
    got = {}
    for _ in ids:
        data, src = sock.recvfrom(4096)
        got[int.from_bytes(data[:2], "big")] = data
    return got


@pytest.mark.parametrize("host,family,index", HOSTS)
@pytest.mark.parametrize("mmsg", [True, False], ids=["mmsg", "recvfrom"])
def test_burst_answered(serve, host, family, index, mmsg):
    srv = serve(workers=2, mmsg=mmsg)
    addr = (host, srv.ports[index])
    c = udp_client(family)
    ids = list(range(1, 801))
    got = {}
    for k in range(0, len(ids), 200):
        got.update(burst(c, addr, ids[k:k + 200]))
    assert sorted(got) == ids
    for qid, data in got.items():
        q = make_query("www.example.com", qid)
        assert data[2] == q[2] | 0x80 and data[:2] == q[:2] and data[3:] == q[3:]
    st = srv.stats()["udp"]
    assert st["queries"] == st["responses"] == 800
    if mmsg and _worker.have_mmsg():
        assert st["batches"] < 800  # several datagrams per recvmmsg


def test_drop_gets_no_reply(serve):
    srv = serve()
    addr = ("127.0.0.1", srv.ports[0])
    c = udp_client(timeout=0.3)
    c.sendto(make_query("drop.example.com", 9), addr)
    c.sendto(make_query("keep.example.com", 10), addr)
    data = c.recv(4096)
    assert data[:2] == (10).to_bytes(2, "big")
    with pytest.raises(socket.timeout):
        c.recv(4096)
    st = srv.stats()["udp"]
    assert (st["queries"], st["responses"], st["dropped"]) == (2, 1, 1)


def test_runt_and_oversized_are_dropped(serve):
    srv = serve()
    addr = ("127.0.0.1", srv.ports[0])
    c = udp_client(timeout=0.3)
    c.sendto(b"\x00\x01\x00", addr)  # shorter than a header
    big = make_query("a.example", 3) + b"\0" * 5000  # past the RX slot
    c.sendto(big, addr)
    c.sendto(make_query("ok.example", 4), addr)
    assert c.recv(4096)[:2] == b"\x00\x04"
    with pytest.raises(socket.timeout):
        c.recv(4096)
    st = srv.stats()["udp"]
    assert (st["queries"], st["responses"], st["dropped"]) == (3, 1, 2)


def test_many_clients_get_their_own_replies(serve):
    srv = serve(workers=2)
    addr = ("127.0.0.1", srv.ports[0])
    clients = [udp_client() for _ in range(8)]
    for round_ in range(20):
        for i, c in enumerate(clients):
            c.sendto(make_query(f"c{i}.example", round_ * 100 + i), addr)
        for i, c in enumerate(clients):
            data = c.recv(4096)
            assert data[:2] == (round_ * 100 + i).to_bytes(2, "big")
            assert f"c{i}".encode() in data


def test_run_udp_blocks_until_slot_stop():
    import threading

    slot = _worker.Slot(None, "echo")
    fd = _worker.open_udp("127.0.0.1", 0)
    port = _worker.socket_port(fd)
    result = {}
    t = threading.Thread(target=lambda: result.update(_worker.run_udp(fd, slot, 16)))
    t.start()
    c = udp_client()
    c.sendto(make_query("x.example", 77), ("127.0.0.1", port))
    assert c.recv(4096)[:2] == (77).to_bytes(2, "big")
    t0 = time.monotonic()
    _worker.stop(slot)
    t.join(2)
    assert not t.is_alive() and time.monotonic() - t0 < 1.0
    assert result["queries"] == 1 and result["responses"] == 1
    import os
    os.close(fd)


def test_udp_sockets_ignore_path_mtu_and_never_set_df():
    """IP_PMTUDISC_OMIT on both families: replies never carry DF and a forged
    ICMP 'fragmentation needed' cannot lower what we send (RFC 9715)."""
    import os

    for host, level, opt, omit in (("127.0.0.1", socket.IPPROTO_IP, 10, 5),  # IP_MTU_DISCOVER
                                   ("::1", socket.IPPROTO_IPV6, 23, 5)):  # IPV6_MTU_DISCOVER
        try:
            fd = _worker.open_udp(host, 0)
        except OSError:
            assert host == "::1"  # no IPv6 on this host
            continue
        s = socket.socket(fileno=os.dup(fd))
        try:
            assert s.getsockopt(level, opt) == omit
        finally:
            s.close()
            os.close(fd)
