"""The recursive fallback over real sockets (issue 17): a private zone with
public DNS fallback that no public zone here covers sends its NXDOMAIN names
to a configured resolver (a small DNS server on 127.0.0.1 here), over UDP
and TCP, from the socket or connection the query came in on, with the query
id rewritten toward the resolver; clients outside the VPC are unaffected;
a resolver that does not answer gives SERVFAIL; a full queue gives SERVFAIL
at once and is counted; with no resolver the private NXDOMAIN stands."""
from __future__ import annotations

import socket
import struct
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from helpers.stubresolver import Resolver

from zonefront.dataplane import metrics
from zonefront.dataplane.forwarder import Forwarder
from zonefront.dataplane.server import DnsServer
from zonefront.serving import build_engine
from zonefront.zonefile import parse_zone_text

VPCS = {"vpc-1": {"region": "us-east-1", "cidrs": ["127.0.0.2/32"]}}
INSIDE, OUTSIDE = "127.0.0.2", "127.0.0.1"
SOA = "@ 300 IN SOA ns1 host 1 7200 900 1209600 300\n@ 300 IN NS ns1\n"
PRIVATE = SOA + "www 60 IN A 10.0.0.1\nsecret 60 IN A 10.0.0.2\n"
PUBLIC = SOA + "www 60 IN A 192.0.2.1\n"


def _zone(text, origin, private=False):
    z = parse_zone_text(text, origin)
    z.private = private
    z.source = "/hostedzone/ZPRIV" if private else "/hostedzone/ZPUB"
    if private:
        z.vpcs = [("us-east-1", "vpc-1")]
    return z


def _image(public_origin="other.test."):
    zones = [_zone(PUBLIC, public_origin), _zone(PRIVATE, "corp.test.", private=True)]
    return build_engine(zones, None, {}, VPCS, fallback=frozenset({"ZPRIV"})).engine.image


@pytest.fixture
def resolver():
    r = Resolver({"remote.corp.test.": "198.51.100.7"})
    yield r
    r.close()


def _ask(port, name, source, tcp, timeout=3.0):
    q = dns.message.make_query(name, "A")
    q.id = 0x1234
    if tcp:
        r = dns.query.tcp(q, "127.0.0.1", port=port, source=source, timeout=timeout)
    else:
        r = dns.query.udp(q, "127.0.0.1", port=port, source=source, timeout=timeout)
    assert r.id == 0x1234
    return r.rcode(), sorted(x.to_text() for s in r.answer for x in s)


def _server(image, fallback):
    return DnsServer([("127.0.0.1", 0)], image=image, fallback=fallback)


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_resolver_answers_names_no_public_zone_covers(resolver, tcp):
    with _server(_image(), Forwarder(("127.0.0.1", resolver.port), timeout=2.0)) as srv:
        port = srv.ports[0]
        assert _ask(port, "remote.corp.test.", INSIDE, tcp) == (dns.rcode.NOERROR,
                                                                ["198.51.100.7"])
        # the resolver's NXDOMAIN is passed on
        assert _ask(port, "gone.corp.test.", INSIDE, tcp)[0] == dns.rcode.NXDOMAIN
        # the private zone's own names never leave
        asked = len(resolver.ids)
        assert _ask(port, "www.corp.test.", INSIDE, tcp) == (dns.rcode.NOERROR, ["10.0.0.1"])
        assert len(resolver.ids) == asked
        # outside the VPC: not our zone, REFUSED as before, and nothing forwarded
        assert _ask(port, "remote.corp.test.", OUTSIDE, tcp)[0] == dns.rcode.REFUSED
        assert len(resolver.ids) == asked
        stats = srv.stats()["fallback"]
    assert 0x1234 not in resolver.ids or len(set(resolver.ids)) > 1  # ids rewritten (random)
    assert stats["answered"] == 2 and stats["deferred"] == 2 and stats["overflow"] == 0


def test_pipelined_tcp_answers_stay_in_order(resolver):
    with _server(_image(), Forwarder(("127.0.0.1", resolver.port))) as srv:
        names = ["www.corp.test.", "remote.corp.test.", "secret.corp.test."]
        wire = b""
        for i, name in enumerate(names):
            m = dns.message.make_query(name, "A")
            m.id = i + 1
            w = m.to_wire()
            wire += struct.pack(">H", len(w)) + w
        with socket.create_connection(("127.0.0.1", srv.ports[0]), timeout=3,
                                      source_address=(INSIDE, 0)) as s:
            s.sendall(wire)
            got = []
            for _ in names:
                n = struct.unpack(">H", s.recv(2, socket.MSG_WAITALL))[0]
                got.append(dns.message.from_wire(s.recv(n, socket.MSG_WAITALL)))
    assert [m.id for m in got] == [1, 2, 3]
    assert [m.answer[0][0].to_text() for m in got] == ["10.0.0.1", "198.51.100.7", "10.0.0.2"]


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_truncated_reply_goes_to_the_client_over_udp_and_is_retried_for_tcp(tcp):
    big = Resolver({"big.corp.test.": "198.51.100.9"}, truncate=frozenset({"big.corp.test."}))
    try:
        with _server(_image(), Forwarder(("127.0.0.1", big.port))) as srv:
            q = dns.message.make_query("big.corp.test.", "A")
            if tcp:
                r = dns.query.tcp(q, "127.0.0.1", port=srv.ports[0], source=INSIDE, timeout=3)
                assert r.answer[0][0].to_text() == "198.51.100.9"
                assert not r.flags & dns.flags.TC and len(big.tcp_ids) == 1
            else:  # a UDP client sees TC and retries over TCP itself
                r = dns.query.udp(q, "127.0.0.1", port=srv.ports[0], source=INSIDE, timeout=3)
                assert r.flags & dns.flags.TC and big.tcp_ids == []
            assert r.id == q.id
    finally:
        big.close()


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_resolver_down_is_servfail(tcp):
    down = Resolver({}, silent=True)
    try:
        with _server(_image(), Forwarder(("127.0.0.1", down.port), timeout=0.3)) as srv:
            t0 = time.monotonic()
            assert _ask(srv.ports[0], "remote.corp.test.", INSIDE, tcp)[0] == dns.rcode.SERVFAIL
            assert time.monotonic() - t0 < 2.0
            assert srv.stats()["fallback"]["timeouts"] == 1
    finally:
        down.close()


def test_full_queue_is_servfail_and_counted():
    down = Resolver({}, silent=True)
    try:
        # one place in the queue and one in flight: the rest overflow at once
        fw = Forwarder(("127.0.0.1", down.port), timeout=1.0, queue_size=1)
        with _server(_image(), fw) as srv:
            socks, rcodes = [], []
            for i in range(8):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind((INSIDE, 0))
                s.settimeout(3)
                q = dns.message.make_query(f"n{i}.corp.test.", "A")
                s.sendto(q.to_wire(), ("127.0.0.1", srv.ports[0]))
                socks.append(s)
            for s in socks:
                rcodes.append(dns.message.from_wire(s.recv(4096)).rcode())
                s.close()
            stats = srv.stats()["fallback"]
        assert rcodes == [dns.rcode.SERVFAIL] * 8
        text = metrics.Registry()
        text.register(metrics.DnsCollector(srv))
        exposition = text.exposition()
        assert f'zonefront_dns_recursive_fallback_total{{outcome="overflow"}} ' \
               f'{stats["overflow"]}' in exposition
        assert stats["overflow"] + stats["busy"] >= 1
        assert stats["overflow"] + stats["busy"] + stats["timeouts"] == 8
    finally:
        down.close()


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_without_resolver_the_private_nxdomain_stands(resolver, tcp):
    with _server(_image(), None) as srv:
        assert _ask(srv.ports[0], "remote.corp.test.", INSIDE, tcp)[0] == dns.rcode.NXDOMAIN
    assert resolver.ids == []


def test_a_covering_public_zone_answers_not_the_resolver(resolver):
    # corp.test is covered by the public zone test. here: its answer (NXDOMAIN) is public DNS
    image = _image("test.")
    with _server(image, Forwarder(("127.0.0.1", resolver.port))) as srv:
        assert _ask(srv.ports[0], "remote.corp.test.", INSIDE, False)[0] == dns.rcode.NXDOMAIN
    assert resolver.ids == []
