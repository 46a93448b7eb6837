"""The checker pool against real endpoints that stop and come back: the
health table must follow within RequestInterval x FailureThreshold + 1 s."""
from __future__ import annotations

import time

import pytest
from helpers.health_targets import HungTarget, wait_for

from zonefront.config import HealthSettings
from zonefront.health.manager import HealthManager
from zonefront.health.spec import CheckSpec
from zonefront.health.table import HealthTable

INTERVAL, THRESHOLD = 1, 2
BOUND = INTERVAL * THRESHOLD + 1.0  # the promise


@pytest.fixture
def manager():
    m = HealthManager(HealthSettings(locations=["us-east-1", "us-west-2", "eu-west-1"]),
                      HealthTable())
    m.start()
    yield m
    m.stop()


def test_http_https_tcp_follow_their_servers(manager, http_target, https_target, tcp_target):
    """Up, down (server stopped), up (restarted): each switch within BOUND."""
    specs = {
        "h": (http_target, CheckSpec(id="h", type="HTTP", ip="127.0.0.1", port=http_target.port,
                                     interval=INTERVAL, threshold=THRESHOLD)),
        "s": (https_target, CheckSpec(id="s", type="HTTPS", ip="127.0.0.1",
                                      port=https_target.port, fqdn="target.test", sni=True,
                                      interval=INTERVAL, threshold=THRESHOLD)),
        "t": (tcp_target, CheckSpec(id="t", type="TCP", ip="127.0.0.1", port=tcp_target.port,
                                    interval=INTERVAL, threshold=THRESHOLD)),
    }
    table = manager.table
    for _t, spec in specs.values():
        manager.put(spec)
    assert wait_for(lambda: all(len(manager.observations(c)) == 3 for c in specs), BOUND), \
        "every location probes"
    assert all(table.get(c) is True for c in specs)
    for flip, want in (("stop", False), ("restart", True)):
        t0 = time.monotonic()
        for target, _s in specs.values():
            getattr(target, flip)()
        seen = {}
        while len(seen) < len(specs) and time.monotonic() - t0 < BOUND + 0.5:
            for c in specs:
                if c not in seen and table.get(c) is want:
                    seen[c] = time.monotonic() - t0
            time.sleep(0.01)
        assert set(seen) == set(specs) and max(seen.values()) <= BOUND, (flip, seen)
    assert "target.test" in https_target.sni


def test_status_code_change_without_stopping(manager, http_target):
    spec = CheckSpec(id="code", type="HTTP_STR_MATCH", ip="127.0.0.1", port=http_target.port,
                     search=b"good", interval=INTERVAL, threshold=THRESHOLD)
    manager.put(spec)
    time.sleep(0.2)
    http_target.body = b"bad"
    took = wait_for(lambda: manager.table.get("code") is False, BOUND + 0.5)
    assert took is not None and took <= BOUND
    http_target.body = b"good"
    took = wait_for(lambda: manager.table.get("code") is True, BOUND + 0.5)
    assert took is not None and took <= BOUND


def test_failure_threshold_needs_consecutive_failures(manager, http_target):
    spec = CheckSpec(id="f", type="HTTP", ip="127.0.0.1", port=http_target.port,
                     interval=INTERVAL, threshold=3)
    manager.put(spec)
    time.sleep(0.1)
    http_target.status = 500
    # after 2 intervals every location has failed at most twice: still healthy
    time.sleep(INTERVAL * 1.9)
    assert manager.table.get("f") is True
    assert wait_for(lambda: manager.table.get("f") is False, INTERVAL * 3 + 1.0)


def test_18_percent_rule_with_real_probes(http_target):
    eight = ["us-east-1", "us-west-1", "us-west-2", "eu-west-1", "ap-southeast-1",
             "ap-southeast-2", "ap-northeast-1", "sa-east-1"]
    m = HealthManager(HealthSettings(locations=eight), HealthTable())
    m.start()
    try:
        http_target.status = 503
        http_target.by_location = {"us-east-1": 200}  # 1 of 8 = 12.5%: unhealthy
        m.put(CheckSpec(id="v", type="HTTP", ip="127.0.0.1", port=http_target.port,
                        interval=INTERVAL, threshold=1))
        assert wait_for(lambda: m.table.get("v") is False, BOUND)
        assert wait_for(lambda: len(m.observations("v")) == 8, BOUND)
        http_target.by_location = {"us-east-1": 200, "sa-east-1": 200}  # 2 of 8 = 25%
        assert wait_for(lambda: m.table.get("v") is True, BOUND)
        time.sleep(INTERVAL * 1.5)
        assert m.table.get("v") is True
        by_loc = {o.location: o.state for o in m.observations("v")}
        assert sum(by_loc.values()) == 2
    finally:
        m.stop()


def test_regions_pick_locations(http_target):
    m = HealthManager(HealthSettings(locations=["us-east-1", "us-west-2", "eu-west-1",
                                                "sa-east-1"]), HealthTable())
    m.start()
    try:
        m.put(CheckSpec(id="r", type="HTTP", ip="127.0.0.1", port=http_target.port,
                        interval=INTERVAL, regions=("us-east-1", "eu-west-1", "ap-east-9")))
        assert wait_for(lambda: len(m.observations("r")) == 2, BOUND)
        time.sleep(INTERVAL)
        assert {o.location for o in m.observations("r")} == {"us-east-1", "eu-west-1"}
        assert {r["location"] for r in http_target.requests} == {"us-east-1", "eu-west-1"}
    finally:
        m.stop()


def test_disabled_check_is_not_probed_and_healthy(manager, http_target):
    http_target.status = 500
    manager.put(CheckSpec(id="d", type="HTTP", ip="127.0.0.1", port=http_target.port,
                          interval=INTERVAL, threshold=1, disabled=True))
    time.sleep(INTERVAL * 1.5)
    assert http_target.requests == [] and manager.table.get("d") is True


def test_hung_targets_do_not_hold_the_pool(http_target):
    """Many hung endpoints with timeouts near the interval, and one live one
    whose failure must still be seen on time; two threads, few sockets."""
    m = HealthManager(HealthSettings(locations=["us-east-1"], threads=2, max_sockets=64,
                                     connect_timeout=0.5, read_timeout=0.5), HealthTable())
    m.start()
    hung = HungTarget()
    try:
        for i in range(40):
            m.put(CheckSpec(id=f"hung{i}", type="HTTP", ip="127.0.0.1", port=hung.port,
                            interval=INTERVAL, threshold=1))
        m.put(CheckSpec(id="live", type="HTTP", ip="127.0.0.1", port=http_target.port,
                        interval=INTERVAL, threshold=1))
        assert wait_for(lambda: all(m.table.get(f"hung{i}") is False for i in range(40)),
                        BOUND + 1)
        http_target.status = 500
        took = wait_for(lambda: m.table.get("live") is False, BOUND)
        assert took is not None
        s = m.stats()
        assert s["threads"] == 2 and s["max_inflight"] <= 64
        assert s["lag_p99"] < 0.2 and s["skipped"] == 0, s
    finally:
        hung.stop()
        m.stop()
