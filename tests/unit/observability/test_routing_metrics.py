"""Routed answers are counted by policy kind and by the record set chosen,
labelled with its set identifier, so a weighted split shows in /metrics."""
import time
import types

import dns.message
import dns.query
import pytest

pytest.importorskip("zonefront.dataplane._stats")

from zonefront import model, serving
from zonefront.dataplane import metrics
from zonefront.dataplane.server import DnsServer
from zonefront.observability import CandidateLabels

from helpers.metrics import parse, value


def weighted_zone() -> model.Zone:
    z = serving.load_zone_files([serving.demo_zone_path()])[0]
    z.source = "/hostedzone/ZW"
    owner = model.name_from_text("w.example.com.")
    for sid, weight, addr in (("blue", 1, 1), ("green", 3, 2), ("off", 0, 3)):
        z.routed.append(model.RoutedRRset(owner, model.TYPE_A, 60, [bytes([192, 0, 2, addr])],
                                          set_id=sid, weight=weight))
    return z


def test_weighted_split_by_set_identifier():
    zone = weighted_zone()
    built = serving.build_engine([zone], None, {}, {})
    server = DnsServer([("127.0.0.1", 0)], workers=1, image=built.engine.image,
                       counters=True).start()
    served = types.SimpleNamespace(built=built, engine=built.engine, current=built.zones)
    try:
        col = metrics.DnsCollector(server, zone_names=lambda: ["example.com."],
                                   candidate_label=CandidateLabels(served))
        n = 400
        got = {}
        for i in range(n):
            r = dns.query.udp(dns.message.make_query("w.example.com.", "A"), "127.0.0.1",
                              port=server.ports[0], timeout=3)
            a = r.answer[0][0].address
            got[a] = got.get(a, 0) + 1
        deadline = time.time() + 3
        while time.time() < deadline and server.stats()["responses"] < n:
            time.sleep(0.01)
        s = parse("".join(f.text() for f in col()))
        C = "zonefront_dns_routing_choices_total"
        blue = value(s, C, name="w.example.com.", type="A", set_identifier="blue")
        green = value(s, C, name="w.example.com.", type="A", set_identifier="green")
        assert blue == got.get("192.0.2.1", 0)
        assert green == got.get("192.0.2.2", 0)
        assert blue + green == n and blue > 0 and green > blue
        assert value(s, C, name="w.example.com.", type="A", set_identifier="off") == 0
        assert value(s, "zonefront_dns_routing_decisions_total", policy="weighted") == n
    finally:
        server.stop()
