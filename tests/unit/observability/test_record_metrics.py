"""Per-record counters (issue 21, csrc/zfrecs.h): answers per (owner, type,
rcode) through a real server and a scrape, across an image swap, with the
table's bound and the option's checks."""
import argparse

import dns.message
import pytest

pytest.importorskip("zonefront.dataplane._stats")
pytest.importorskip("prometheus_client")

from zonefront import obs_cli, serving
from zonefront.dataplane import _stats, metrics

from helpers.metrics import ask, build_zones, parse, start_server, zone_names
from .test_metrics import settle

R = "zonefront_dns_record_queries_total"


def scrape(server, image, top=50):
    c = metrics.DnsCollector(server, zone_names=lambda: zone_names(image), per_record=top)
    return parse("".join(f.text() for f in c()))


def rec(samples, **labels):
    return samples.get((R, frozenset(labels.items())), 0.0)


def test_answers_per_record_type_and_rcode(tmp_path):
    image = build_zones(tmp_path)
    server = start_server(image, workers=2)
    try:
        for c in server.counters:
            c.enable_records(64)
        for _ in range(3):
            assert ask(server, "WWW.example.com.").rcode() == 0  # case folds into one owner
        assert ask(server, "www.example.com.", "AAAA").rcode() == 0
        assert ask(server, "www.example.com.", "TXT").rcode() == 0  # NODATA: still the record
        assert ask(server, "a.apps.example.com.").rcode() == 0  # the wildcard answers
        assert ask(server, "b.apps.example.com.").rcode() == 0
        assert ask(server, "nope.example.com.").rcode() == 3  # no record: not counted
        assert ask(server, "x.unknown.org.").rcode() == 5
        assert ask(server, "www.example.net.", tcp=True).rcode() == 0
        settle(server, 10)
        got = scrape(server, image)
        assert rec(got, zone="example.com.", name="www.example.com.", type="A", rcode="NOERROR") == 3
        assert rec(got, zone="example.com.", name="www.example.com.", type="AAAA", rcode="NOERROR") == 1
        assert rec(got, zone="example.com.", name="www.example.com.", type="TXT", rcode="NOERROR") == 1
        assert rec(got, zone="example.com.", name="*.apps.example.com.", type="A", rcode="NOERROR") == 2
        assert rec(got, zone="example.net.", name="www.example.net.", type="A", rcode="NOERROR") == 1
        total = sum(v for (n, _), v in got.items() if n == R)
        assert total == 8  # nothing for NXDOMAIN or REFUSED
        assert got[("zonefront_dns_record_uncounted_total", frozenset())] == 0

        # a new image (other node offsets, a new zone row first): same series
        p = tmp_path / "first.zone"
        p.write_text("$ORIGIN aaa.test.\n$TTL 60\n@ SOA ns1 h 1 3600 600 86400 60\n@ NS ns1\n"
                     "ns1 A 192.0.2.1\n")
        zones = serving.load_zone_files([str(p), serving.demo_zone_path(),
                                         str(tmp_path / "net.zone")])
        image2 = serving.build_engine(zones, None, {}, {}).engine.image
        assert server.reload(image2, timeout=5)
        assert ask(server, "www.example.com.").rcode() == 0
        assert ask(server, "ns1.aaa.test.").rcode() == 0
        settle(server, 12)
        got = scrape(server, image2)
        assert rec(got, zone="example.com.", name="www.example.com.", type="A", rcode="NOERROR") == 4
        assert rec(got, zone="aaa.test.", name="ns1.aaa.test.", type="A", rcode="NOERROR") == 1

        # top N: only the busiest pair, and how many were left out
        got = scrape(server, image2, top=1)
        assert [dict(k[1]) for k in got if k[0] == R] == [
            {"zone": "example.com.", "name": "www.example.com.", "type": "A", "rcode": "NOERROR"}]
        assert got[("zonefront_dns_record_series_hidden", frozenset())] == 5
    finally:
        server.stop()


def test_counters_off_export_nothing_per_record(tmp_path):
    image = build_zones(tmp_path)
    server = start_server(image, workers=1)
    try:
        assert not server.counters[0].records_enabled
        assert ask(server, "www.example.com.").rcode() == 0
        settle(server, 1)
        got = scrape(server, image)
        assert not [k for k in got if k[0] == R]
        assert _stats.sum_records(list(server.counters)) == ({}, 0, 0)
    finally:
        server.stop()


def test_a_full_table_counts_overflow_not_new_names(tmp_path):
    lines = ["$ORIGIN many.test.", "$TTL 60", "@ SOA ns1 h 1 3600 600 86400 60", "@ NS ns1",
             "ns1 A 192.0.2.1"] + [f"h{i} A 10.0.0.{i % 250}" for i in range(200)]
    p = tmp_path / "many.zone"
    p.write_text("\n".join(lines) + "\n")
    image = serving.build_engine(serving.load_zone_files([str(p)]), None, {}, {}).engine.image
    c = _stats.Counters()
    c.enable_records(64)  # 64 slots, 48 usable
    queries = [dns.message.make_query(f"h{i}.many.test.", "A").to_wire() for i in range(200)]
    image.answer_many(queries, 2, 2, c.address)
    sums, overflow, used = _stats.sum_records([c])
    assert used == len(sums) == 48
    assert all(counts[0] == 2 for counts in sums.values())
    assert overflow == 2 * (200 - 48)
    with pytest.raises(RuntimeError):
        c.enable_records(64)
    with pytest.raises(ValueError):
        _stats.Counters().enable_records(0)


def test_option_is_checked():
    p = argparse.ArgumentParser()
    obs_cli.add_arguments(p)
    assert p.parse_args(["--metrics-per-record", "20"]).metrics_per_record == 20
    for bad in ("-1", "x", str(obs_cli.MAX_PER_RECORD + 1)):
        with pytest.raises(SystemExit):
            p.parse_args(["--metrics-per-record", bad])
    args = p.parse_args(["--metrics-per-record", "20"])
    with pytest.raises(ValueError, match="metrics listener"):
        obs_cli.per_record(args, {})
    args = p.parse_args(["--metrics-listen", "127.0.0.1:0"])
    assert obs_cli.per_record(args, {}) == 0
    assert obs_cli.per_record(args, {"metrics": {"per_record": 7}}) == 7
    with pytest.raises(ValueError, match="0..10000"):
        obs_cli.per_record(args, {"metrics": {"per_record": "7"}})
