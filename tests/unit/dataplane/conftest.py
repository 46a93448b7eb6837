"""Fixtures for the socket data plane: servers on loopback with the echo answer."""
import pytest

pytest.importorskip("zonefront.dataplane._worker")
from zonefront.dataplane.server import DnsServer  # noqa: E402


@pytest.fixture
def serve():
    """serve(**kwargs) -> started DnsServer on 127.0.0.1 and ::1; stopped after the test."""
    servers = []

    def start(listen=(("127.0.0.1", 0), ("::1", 0)), **kw):
        kw.setdefault("answer", "echo")
        srv = DnsServer(list(listen), **kw).start()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.stop()
