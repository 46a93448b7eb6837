"""One probe against real local endpoints: what counts as healthy, and the
Route 53 style status texts."""
from __future__ import annotations

import asyncio
import time

import pytest
from helpers.health_targets import HungTarget, closed_port

from zonefront.health.pool import probe_timeouts
from zonefront.health.probe import probe
from zonefront.health.spec import CheckSpec


def run(spec, ct=2.0, rt=1.0):
    return asyncio.run(probe(spec, "us-east-1", ct, rt))


def http(port, **kw):
    return CheckSpec(id="c1", type=kw.pop("type", "HTTP"), ip="127.0.0.1", port=port, **kw)


@pytest.mark.parametrize("status,ok", [(200, True), (204, True), (301, True), (399, True),
                                       (400, False), (404, False), (500, False),
                                       (503, False)])
def test_http_2xx_3xx_is_healthy(http_target, status, ok):
    http_target.status = status
    r = run(http(http_target.port))
    assert r.ok is ok
    assert r.status.startswith("Success" if ok else "Failure")
    assert f"HTTP Status Code {status}" in r.status
    assert r.source_ip == "127.0.0.1" and r.latency_ms is not None


def test_http_request_shape(http_target):
    run(http(http_target.port, path="/health?x=1", fqdn="www.example.test"))
    req = http_target.requests[-1]
    assert req["path"] == "/health?x=1"
    assert req["host"] == f"www.example.test:{http_target.port}"  # non-default port kept
    assert req["ua"].startswith("Amazon-Route53-Health-Check-Service (ref c1;")
    assert req["location"] == "us-east-1"


@pytest.mark.parametrize("chunked", [False, True])
def test_string_match_within_first_5120_bytes(http_target, chunked):
    http_target.chunked = chunked
    http_target.body = b"x" * 5000 + b"NEEDLE" + b"y" * 3000
    assert run(http(http_target.port, type="HTTP_STR_MATCH", search=b"NEEDLE")).ok
    http_target.body = b"x" * 5115 + b"NEEDLE"  # straddles the 5,120-byte limit
    r = run(http(http_target.port, type="HTTP_STR_MATCH", search=b"NEEDLE"))
    assert not r.ok and "search string was not found" in r.status
    http_target.body = b"NEEDLE"
    http_target.status = 500  # the status still has to be 2xx/3xx
    assert not run(http(http_target.port, type="HTTP_STR_MATCH", search=b"NEEDLE")).ok


def test_https_without_validation_with_sni(https_target):
    spec = http(https_target.port, type="HTTPS", fqdn="target.test", sni=True)
    r = run(spec)
    assert r.ok, r.status
    assert https_target.sni[-1] == "target.test"
    # without EnableSNI no server name is sent; a self-signed cert is fine either way
    r = run(http(https_target.port, type="HTTPS", sni=False))
    assert r.ok and https_target.sni[-1] is None


def test_https_string_match(https_target):
    https_target.body = b"<html>status: green</html>"
    assert run(http(https_target.port, type="HTTPS_STR_MATCH", search=b"green")).ok
    assert not run(http(https_target.port, type="HTTPS_STR_MATCH", search=b"red")).ok


def test_https_probe_of_plain_http_fails(http_target):
    r = run(http(http_target.port, type="HTTPS"))
    assert not r.ok and r.status.startswith("Failure")


def test_tcp(tcp_target):
    r = run(CheckSpec(id="t", type="TCP", ip="127.0.0.1", port=tcp_target.port))
    assert r.ok and r.status == "Success: TCP connection established."
    tcp_target.stop()
    r = run(CheckSpec(id="t", type="TCP", ip="127.0.0.1", port=tcp_target.port))
    assert not r.ok and "refused" in r.status


def test_refused():
    r = run(http(closed_port()))
    assert not r.ok and "Connection refused" in r.status


def test_hung_target_costs_one_timeout():
    hung = HungTarget()
    try:
        t0 = time.monotonic()
        r = run(http(hung.port), ct=1.0, rt=0.3)
        took = time.monotonic() - t0
        assert not r.ok and "did not respond within" in r.status
        assert 0.25 < took < 0.8
    finally:
        hung.stop()


def test_timeouts_fit_the_interval():
    assert probe_timeouts(30, 4, 2) == (4, 2)
    ct, rt = probe_timeouts(1, 4, 2)
    assert ct + rt == pytest.approx(0.9) and ct / rt == pytest.approx(2)
