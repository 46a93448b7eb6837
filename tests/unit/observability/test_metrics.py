"""/metrics from a running server: counters move by exactly what a test sent."""
import time

import pytest

pytest.importorskip("zonefront.dataplane._stats")
pytest.importorskip("prometheus_client")

from zonefront.dataplane import metrics

from helpers.metrics import (
    ask,
    build_zones,
    formerr_query,
    parse,
    scrape_http,
    send_raw,
    start_server,
    value,
    zone_names,
)

R = "zonefront_dns_responses_total"


@pytest.fixture
def served(tmp_path):
    image = build_zones(tmp_path)
    server = start_server(image)
    reg = metrics.Registry()
    reg.register(metrics.DnsCollector(server, zone_names=lambda: zone_names(image)))
    http = metrics.MetricsServer("127.0.0.1", 0, reg).start()
    yield server, http
    http.stop()
    server.stop()


def settle(server, n):
    """Counters are written after the reply is sent: wait for the loop to finish."""
    deadline = time.time() + 3
    while time.time() < deadline and server.stats()["responses"] < n:
        time.sleep(0.01)


def test_responses_by_transport_type_rcode_zone(served):
    server, http = served
    ctype, before_text = scrape_http(*http.address)
    assert ctype.startswith("text/plain; version=0.0.4")
    before = parse(before_text)
    for _ in range(3):
        assert ask(server, "www.example.com.").rcode() == 0
    for _ in range(2):
        assert ask(server, "nope.example.com.", "AAAA").rcode() == 3
    assert ask(server, "alias.example.net.").rcode() == 0  # a CNAME owner: no row in its node
    assert ask(server, "x.unknown.org.", "TXT").rcode() == 5
    reply = send_raw(server, formerr_query())
    assert reply[3] & 0xF == 1
    for _ in range(2):
        assert ask(server, "example.com.", "MX", tcp=True).rcode() == 0
    settle(server, 10)
    after = parse(scrape_http(*http.address)[1])

    def delta(**labels):
        return value(after, R, **labels) - value(before, R, **labels)

    assert delta(transport="udp", qtype="A", rcode="NOERROR", zone="example.com.") == 3
    assert delta(transport="udp", qtype="AAAA", rcode="NXDOMAIN", zone="example.com.") == 2
    assert delta(transport="udp", qtype="A", rcode="NOERROR", zone="example.net.") == 1
    assert delta(transport="udp", qtype="TXT", rcode="REFUSED", zone="none") == 1
    assert delta(transport="udp", qtype="other", rcode="FORMERR", zone="none") == 1
    assert delta(transport="tcp", qtype="MX", rcode="NOERROR", zone="example.com.") == 2
    total = sum(v for (n, _), v in after.items() if n == R) - \
        sum(v for (n, _), v in before.items() if n == R)
    assert total == 10
    e = "zonefront_dns_error_responses_total"
    assert value(after, e, rcode="REFUSED") - value(before, e, rcode="REFUSED") == 1
    assert value(after, e, rcode="FORMERR") - value(before, e, rcode="FORMERR") == 1
    q = "zonefront_dns_queries_total"
    assert value(after, q, transport="tcp") - value(before, q, transport="tcp") == 2
    b = "zonefront_dns_udp_batch_size_count"
    assert value(after, b) - value(before, b) == 8  # one datagram at a time, as sent
    a = "zonefront_dns_tcp_connections_accepted_total"
    assert value(after, a) - value(before, a) == 2


def test_truncated_answers_are_counted(tmp_path):
    image = build_zones(tmp_path)
    server = start_server(image, workers=1)
    try:
        c = metrics.DnsCollector(server, zone_names=lambda: zone_names(image))
        before = parse("".join(f.text() for f in c()))
        import dns.flags
        import dns.message
        import dns.query
        # 600 octets of TXT to a client without EDNS: only 512 fit
        q = dns.message.make_query("big.example.net.", "TXT", use_edns=False)
        r = dns.query.udp(q, "127.0.0.1", port=server.ports[0], timeout=3)
        assert r.flags & dns.flags.TC
        settle(server, 1)
        after = parse("".join(f.text() for f in c()))
        t = "zonefront_dns_truncated_responses_total"
        assert value(after, t, transport="udp") - value(before, t, transport="udp") == 1
        assert value(after, t, transport="tcp") == value(before, t, transport="tcp")
    finally:
        server.stop()


def test_unknown_path_is_404(served):
    import urllib.error
    import urllib.request
    _, http = served
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"http://{http.address[0]}:{http.address[1]}/nope", timeout=5)
    assert e.value.code == 404
