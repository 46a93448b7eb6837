"""Health-check families from a real HealthManager probing a local TCP port:
state and latency per check and checker location."""
import socket
import time
import types

from zonefront.config import HealthSettings
from zonefront.health.manager import HealthManager
from zonefront.health.spec import CheckSpec
from zonefront.health.table import HealthTable
from zonefront.observability import _health_families

from helpers.metrics import parse, value


def test_health_check_state_and_latency_per_location():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    hm = HealthManager(HealthSettings(locations=["loc-a", "loc-b"], min_interval=1),
                       HealthTable())
    hm.start()
    try:
        hm.put(CheckSpec("hc-up", "TCP", ip="127.0.0.1", port=port, interval=1, threshold=1))
        control = types.SimpleNamespace(health_checks=hm)
        deadline = time.time() + 10
        s = {}
        while time.time() < deadline:
            s = parse("".join(f.text() for f in _health_families(control)))
            if all(value(s, "zonefront_health_check_healthy", health_check="hc-up",
                         location=loc) == 1 for loc in ("loc-a", "loc-b")):
                break
            time.sleep(0.1)
        for loc in ("loc-a", "loc-b"):
            assert value(s, "zonefront_health_check_healthy", health_check="hc-up",
                         location=loc) == 1
        assert value(s, "zonefront_health_check_status", health_check="hc-up") == 1
        lat = [v for (n, labels), v in s.items()
               if n == "zonefront_health_check_latency_seconds"]
        assert all(v >= 0 for v in lat)
    finally:
        hm.stop()
        listener.close()
