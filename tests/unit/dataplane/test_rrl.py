"""Response Rate Limiting: the table on a replayed clock, then real servers on loopback."""
import socket
import time
from pathlib import Path

import pytest

from zonefront.dataplane import _worker

from helpers.dnswire import frame, make_query, read_framed, udp_client

ZONE = Path(__file__).parents[2] / "scenarios" / "serve" / "zones" / "example.test.zone"

pytestmark = pytest.mark.skipif(not _worker.HAVE_ENGINE, reason="_worker built without engine")

TC = 0x02


@pytest.fixture(scope="module")
def engine():
    core = pytest.importorskip("zonefront.core.engine")
    if not ZONE.exists():
        pytest.skip("no e2e zone fixture")
    return core.Engine.from_zone_files([str(ZONE)])


def verdicts(rl, response, host, now_ms, n):
    out = {"pass": 0, "drop": 0, "slip": 0}
    for _ in range(n):
        out[rl.account(response, host, now_ms)[0]] += 1
    return out


# -- the table, with an explicit clock ---------------------------------------

def test_burst_then_refill(engine):
    rl = _worker.RateLimiter(responses_per_second=10, window=3, slip=2)
    r = engine.answer(make_query("www.example.test", 1))
    assert verdicts(rl, r, "127.0.0.9", 1000, 100) == {"pass": 30, "drop": 35, "slip": 35}
    # 10 per second come back, and never more than window seconds' worth.
    assert verdicts(rl, r, "127.0.0.9", 1500, 10)["pass"] == 5
    assert verdicts(rl, r, "127.0.0.9", 60_000, 100)["pass"] == 30


@pytest.mark.parametrize("slip,expect", [(0, {"pass": 5, "drop": 95, "slip": 0}),
                                         (1, {"pass": 5, "drop": 0, "slip": 95}),
                                         (4, {"pass": 5, "drop": 72, "slip": 23})])
def test_slip_cadence(engine, slip, expect):
    rl = _worker.RateLimiter(responses_per_second=5, window=1, slip=slip)
    r = engine.answer(make_query("www.example.test", 1))
    assert verdicts(rl, r, "127.0.0.9", 10, 100) == expect


def test_slipped_reply_is_header_and_question_with_tc(engine):
    dns_message = pytest.importorskip("dns.message")
    rl = _worker.RateLimiter(responses_per_second=1, window=1, slip=1)
    q = make_query("www.example.test", 4242)
    r = engine.answer(q)
    assert rl.account(r, "127.0.0.9", 0) == ("pass", r)
    verdict, tc = rl.account(r, "127.0.0.9", 0)
    assert verdict == "slip" and len(tc) == len(q)  # header + the same question
    m = dns_message.from_wire(tc)
    assert m.id == 4242 and m.flags & 0x0200 and m.flags & 0x8000  # TC, QR
    assert [str(x.name) for x in m.question] == ["www.example.test."]
    assert not m.answer and not m.authority and not m.additional


def test_keys_prefix_class_qtype_and_case(engine):
    rl = _worker.RateLimiter(responses_per_second=1, window=1, slip=0)
    a = engine.answer(make_query("www.example.test", 1))
    assert rl.account(a, "127.0.0.1", 0)[0] == "pass"
    assert rl.account(a, "127.0.0.200", 0)[0] == "drop"          # same /24
    upper = engine.answer(make_query("WWW.EXAMPLE.TEST", 1))
    assert rl.account(upper, "127.0.0.1", 0)[0] == "drop"        # names compare caseless
    assert rl.account(a, "127.0.1.1", 0)[0] == "pass"            # another /24
    aaaa = engine.answer(make_query("www.example.test", 1, qtype=28))
    assert rl.account(aaaa, "127.0.0.1", 0)[0] == "pass"         # another qtype
    nx = engine.answer(make_query("nope.example.test", 1))
    assert nx[3] & 0x0F == 3
    assert rl.account(nx, "127.0.0.1", 0)[0] == "pass"           # another class
    assert rl.account(nx, "127.0.0.1", 0)[0] == "drop"
    assert rl.account(a, "2001:db8:0:aa00::1", 0)[0] == "pass"
    assert rl.account(a, "2001:db8:0:aaff::2", 0)[0] == "drop"   # same /56
    assert rl.account(a, "2001:db8:0:ab00::1", 0)[0] == "pass"   # another /56


def test_prefix_lengths_configurable(engine):
    rl = _worker.RateLimiter(responses_per_second=1, window=1, slip=0, ipv4_prefix=32)
    a = engine.answer(make_query("www.example.test", 1))
    assert [rl.account(a, f"127.0.0.{i}", 0)[0] for i in (1, 2, 1)] == ["pass", "pass", "drop"]


def test_bad_config():
    with pytest.raises(ValueError):
        _worker.RateLimiter(responses_per_second=0)
    with pytest.raises(ValueError):
        _worker.RateLimiter.from_config({"rate": 5})
    assert _worker.RateLimiter(table_size=1000).config["table_size"] == 1024


# -- servers -----------------------------------------------------------------

def flood(addr, q, n=1000, source=None, timeout=0.5):
    """Sends n copies of q back to back, then reads replies until quiet:
    (full answers, TC replies)."""
    c = udp_client(timeout=timeout)
    if source:
        c.bind((source, 0))
    for _ in range(n):
        c.sendto(q, addr)
    full = tc = 0
    try:
        while True:
            data = c.recv(4096)
            if data[2] & TC:
                tc += 1
            else:
                full += 1
    except TimeoutError:
        pass
    c.close()
    return full, tc


@pytest.fixture
def rrl_server(serve, engine):
    def start(**rrl):
        return serve(listen=[("127.0.0.1", 0)], image=engine.image, answer="engine",
                     rrl=rrl or None)
    return start


def test_burst_from_one_source(rrl_server, engine):
    rate, window = 20, 2
    srv = rrl_server(responses_per_second=rate, window=window, slip=2)
    q = make_query("www.example.test", 7)
    t0 = time.monotonic()
    full, tc = flood(srv.addresses[0], q)
    burst = time.monotonic() - t0  # includes the quiet wait: a loose upper bound
    assert rate * window <= full <= rate * window + rate * burst + 1
    limited = 1000 - full
    assert abs(tc - limited / 2) <= 1
    st = srv.stats()
    assert st["rrl_slipped"] == tc and st["rrl_dropped"] == limited - tc
    assert st["udp"]["responses"] == full + tc

    # another /24 is unaffected; the same /24 is limited
    other_full, other_tc = flood(srv.addresses[0], q, n=30, source="127.0.1.5")
    assert (other_full, other_tc) == (30, 0)
    same_full, _ = flood(srv.addresses[0], q, n=30, source="127.0.0.77")
    assert same_full < 30

    # TCP from the limited address is never limited
    t = socket.create_connection(srv.addresses[0], timeout=2)
    t.sendall(b"".join(frame(make_query("www.example.test", i)) for i in range(50)))
    for i in range(50):
        reply = read_framed(t)
        assert reply == engine.answer(make_query("www.example.test", i), tcp=True)
    t.close()


def test_slip_zero_drops_all(rrl_server):
    srv = rrl_server(responses_per_second=10, window=1, slip=0)
    full, tc = flood(srv.addresses[0], make_query("www.example.test", 8), n=500)
    assert tc == 0 and 10 <= full <= 20
    assert srv.stats()["rrl_dropped"] == 500 - full


def test_off_answers_everything(rrl_server, engine):
    srv = rrl_server()
    q = make_query("www.example.test", 9)
    assert flood(srv.addresses[0], q) == (1000, 0)
    st = srv.stats()
    assert st["rrl_dropped"] == st["rrl_slipped"] == 0 and st["udp"]["responses"] == 1000


def test_high_rate_limits_nothing(rrl_server):
    srv = rrl_server(responses_per_second=1_000_000, window=1)
    assert flood(srv.addresses[0], make_query("www.example.test", 10)) == (1000, 0)
