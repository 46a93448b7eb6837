"""The loops with the real compiled engine: same bytes as Engine.answer()."""
import socket
from pathlib import Path

import pytest

from zonefront.dataplane import _worker

from helpers.dnswire import frame, make_query, read_framed, udp_client

ZONE = Path(__file__).parents[2] / "scenarios" / "serve" / "zones" / "example.test.zone"

pytestmark = pytest.mark.skipif(not _worker.HAVE_ENGINE, reason="_worker built without engine")


@pytest.fixture
def engine():
    core = pytest.importorskip("zonefront.core.engine")
    if not ZONE.exists():
        pytest.skip("no e2e zone fixture")
    return core.Engine.from_zone_files([str(ZONE)])


def test_udp_and_tcp_match_embedded_engine(serve, engine):
    srv = serve(image=engine.image, answer="engine", workers=2)
    names = ["www.example.test", "WwW.ExAmPlE.tEsT", "nope.example.test", "example.test"]
    for (host, port), fam in zip(srv.addresses, (socket.AF_INET, socket.AF_INET6)):
        c = udp_client(fam)
        t = socket.create_connection((host, port), timeout=2)
        for i, name in enumerate(names):
            q = make_query(name, 100 + i)
            expect = engine.answer(q)
            assert expect and expect[2] & 0x80
            c.sendto(q, (host, port))
            assert c.recv(4096) == expect
            t.sendall(frame(q))
            assert read_framed(t) == engine.answer(q, tcp=True)


def test_reload_engine_images(serve, engine):
    srv = serve(image=engine, answer="engine")  # an Engine is accepted too
    c = udp_client()
    q = make_query("www.example.test", 7)
    for _ in range(20):
        assert srv.reload(engine.image)
        c.sendto(q, srv.addresses[0])
        assert c.recv(4096) == engine.answer(q)
