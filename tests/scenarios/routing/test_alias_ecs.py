"""Alias records (apex, chains, missing targets, EvaluateTargetHealth) and
the EDNS Client Subnet scope of routed answers, end to end over UDP and TCP."""
from __future__ import annotations

import ipaddress
import time
from collections import Counter

import dns.rcode
import dns.rdatatype
import pytest
from helpers.places import BAVARIA6, CA, GEO, HESSE, TOKYO, WA, within
from helpers.zfserve import alias, ecs_of, make_test_mmdb, rrset, wait_for

TRANSPORTS = pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])

pytestmark = pytest.mark.e2e


def soa_only(m, origin: str) -> bool:
    return (m.rcode() == dns.rcode.NOERROR and m.answer == []
            and [r.rdtype for r in m.authority] == [dns.rdatatype.SOA]
            and m.authority[0].name.to_text() == f"{origin}.")


@TRANSPORTS
def test_alias_at_apex_to_weighted_set(served, zone, tcp):
    zid, origin = zone
    target = f"pool.{origin}"
    served.change(zid,
                  rrset(target, "192.0.2.1", SetIdentifier="a", Weight=1),
                  rrset(target, "192.0.2.3", SetIdentifier="b", Weight=3),
                  alias(origin, zid, target))
    counts: Counter = Counter()
    for _ in range(200):
        m = served.query(origin, tcp=tcp)
        assert m.rcode() == dns.rcode.NOERROR
        # answered with the target's records under the alias's (apex) name
        assert [(r.name.to_text(), r.rdtype) for r in m.answer] == [(f"{origin}.",
                                                                    dns.rdatatype.A)]
        counts.update(r.address for r in m.answer[0])
    within(counts, {"192.0.2.1": 1, "192.0.2.3": 3}, 200)
    # the apex keeps its SOA and NS beside the alias
    assert served.query(origin, "SOA", tcp=tcp).answer[0].rdtype == dns.rdatatype.SOA
    assert served.query(origin, "NS", tcp=tcp).answer[0].rdtype == dns.rdatatype.NS
    # and an AAAA query at the apex is NODATA, not the A alias
    assert soa_only(served.query(origin, "AAAA", tcp=tcp), origin)


def test_alias_chain_and_geo_target(served, zone):
    zid, origin = zone
    geo, hop = f"geo.{origin}", f"hop.{origin}"
    served.change(zid, *[rrset(geo, ip, SetIdentifier=f"g{i}", GeoLocation=loc)
                         for i, (loc, ip) in enumerate(GEO)],
                  alias(hop, zid, geo), alias(f"www.{origin}", zid, hop))
    for client, want in ((CA, "192.0.2.1"), (HESSE, "192.0.2.3"), (TOKYO, "192.0.2.5")):
        m = served.query(f"WwW.{origin}", ecs=client)
        assert [r.name.to_text().lower() for r in m.answer] == [f"www.{origin}."]
        assert [r.address for r in m.answer[0]] == [want], client


@TRANSPORTS
def test_alias_to_missing_target_is_nodata(served, zone, tcp):
    zid, origin = zone
    target, name = f"gone.{origin}", f"dangling.{origin}"
    created = True
    try:
        served.change(zid, alias(name, zid, target))
    except served.client.exceptions.InvalidChangeBatch:
        created = False  # Route 53 refuses an alias to a name it does not have
    if not created:
        served.change(zid, rrset(target, "192.0.2.1"), alias(name, zid, target))
        served.change(zid, ("DELETE", rrset(target, "192.0.2.1")))
    for rdtype in ("A", "AAAA", "TXT"):
        assert soa_only(served.query(name, rdtype, tcp=tcp), origin), rdtype
    # an alias at the apex to nothing: NODATA too, and the zone still answers
    served.change(zid, rrset(f"x.{origin}", "192.0.2.7"), alias(origin, zid, f"x.{origin}"))
    served.change(zid, ("DELETE", rrset(f"x.{origin}", "192.0.2.7")))
    assert soa_only(served.query(origin, tcp=tcp), origin)
    assert served.query(origin, "SOA", tcp=tcp).answer


def test_alias_evaluate_target_health_in_failover(served, zone):
    """PRIMARY is an alias (EvaluateTargetHealth) to a weighted pair with
    health checks: it fails over only when the whole pair is unhealthy."""
    zid, origin = zone
    pool, name = f"pool.{origin}", f"svc.{origin}"
    h1, h2 = served.health_check("pool1"), served.health_check("pool2")
    served.change(zid,
                  rrset(pool, "192.0.2.1", SetIdentifier="one", Weight=1, HealthCheckId=h1),
                  rrset(pool, "192.0.2.2", SetIdentifier="two", Weight=1, HealthCheckId=h2),
                  alias(name, zid, pool, evaluate=True, SetIdentifier="p", Failover="PRIMARY"),
                  rrset(name, "198.51.100.1", SetIdentifier="s", Failover="SECONDARY"))
    values = lambda: {served.one(name) for _ in range(30)}
    assert values() == {"192.0.2.1", "192.0.2.2"}
    served.force_health(h1, False)
    assert wait_for(lambda: values() == {"192.0.2.2"})
    t0 = time.monotonic()
    served.force_health(h2, False)
    assert wait_for(lambda: values() == {"198.51.100.1"})
    assert time.monotonic() - t0 < 1.0
    assert served.one(name, tcp=True) == "198.51.100.1"
    t0 = time.monotonic()
    served.force_health(h1, True)
    assert wait_for(lambda: values() == {"192.0.2.1"})
    assert time.monotonic() - t0 < 1.0

    # without EvaluateTargetHealth the alias stays primary whatever the pool's health
    plain = f"plain.{origin}"
    served.change(zid,
                  alias(plain, zid, pool, evaluate=False, SetIdentifier="p", Failover="PRIMARY"),
                  rrset(plain, "198.51.100.2", SetIdentifier="s", Failover="SECONDARY"))
    served.force_health(h1, False)
    time.sleep(0.2)
    assert served.one(plain) in {"192.0.2.1", "192.0.2.2"}


# -- ECS scope ------------------------------------------------------------------

def same_answer_within_scope(served, name, ecs: str, tcp: bool, extra=()) -> None:
    """RFC 7871 §7.2.1: the answer holds for every client in the returned
    address/scope; check it at the scope's first and last address and at
    every test-database network and CIDR block inside it."""
    m = served.query(name, ecs=ecs, tcp=tcp)
    opt = ecs_of(m)
    assert opt is not None, f"no ECS option in the answer to {ecs}"
    addr, _, plen = ecs.partition("/")
    assert (opt.address, opt.srclen) == (str(ipaddress.ip_address(addr)), int(plen))
    answer = sorted(r.to_text() for rrset in m.answer for r in rrset)
    if opt.scopelen == 0:
        return
    net = ipaddress.ip_network(f"{opt.address}/{opt.scopelen}", strict=False)
    full = 32 if net.version == 4 else 128
    probes = {net.network_address, net.broadcast_address}
    for inner in [n for n, *_ in make_test_mmdb.NETWORKS] + list(extra):
        inner = ipaddress.ip_network(inner)
        if inner.version == net.version and inner.subnet_of(net):
            probes |= {inner.network_address, inner.broadcast_address}
    for probe in sorted(probes):
        got = served.addresses(name, ecs=f"{probe}/{full}", tcp=tcp)
        assert got == answer, (ecs, opt.scopelen, str(probe), got, answer)


@TRANSPORTS
def test_ecs_scope_of_geo_answers(served, zone, tcp):
    zid, origin = zone
    geo, static = f"geo.{origin}", f"static.{origin}"
    served.change(zid, *[rrset(geo, ip, SetIdentifier=f"g{i}", GeoLocation=loc)
                         for i, (loc, ip) in enumerate(GEO)], rrset(static, "192.0.2.50"))
    # Hesse is 193.99.144.0/24 in the database: a /24 question gets scope 24
    m = served.query(geo, ecs="193.99.144.0/24", tcp=tcp)
    assert [r.address for r in m.answer[0]] == ["192.0.2.3"]
    assert ecs_of(m).scopelen == 24
    # a static answer does not depend on the client: scope 0
    m = served.query(static, ecs="193.99.144.0/24", tcp=tcp)
    assert ecs_of(m).scopelen == 0 and [r.address for r in m.answer[0]] == ["192.0.2.50"]
    # no ECS asked: none given
    assert ecs_of(served.query(geo, tcp=tcp, want_dnssec=True)) is None
    # 8.8.8.0/24 straddles California (/25) and Washington (/25): the scope
    # must be narrower than the question's /24
    m = served.query(geo, ecs="8.8.8.0/24", tcp=tcp)
    assert ecs_of(m).scopelen >= 25, ecs_of(m).to_text()
    for ecs in ("8.8.8.0/24", "8.8.8.128/25", CA, WA, "8.0.0.0/8", "23.0.0.0/12",
                "81.2.69.0/24", "81.0.0.0/16", "185.0.0.0/16", "1.0.16.0/20", "1.0.0.0/8",
                "2001:db8:1::/48", "2001:db8:1:2::/64", BAVARIA6, "2001:db8::/32",
                "2600:1f00::/24", "127.0.0.0/8", "0.0.0.0/0"):
        same_answer_within_scope(served, geo, ecs, tcp)


@pytest.fixture
def nested_cidr(served, zone):
    """A name routed by a collection with a /24 block inside a /16 block."""
    zid, origin = zone
    name = f"cidr.{origin}"
    cid = served.client.create_cidr_collection(
        Name=f"scope-{time.monotonic_ns()}",
        CallerReference=f"s-{time.monotonic_ns()}")["Collection"]["Id"]
    served.client.change_cidr_collection(Id=cid, Changes=[
        {"LocationName": "wide", "Action": "PUT", "CidrList": ["198.51.0.0/16"]},
        {"LocationName": "narrow", "Action": "PUT", "CidrList": ["198.51.100.0/24"]},
        {"LocationName": "other", "Action": "PUT", "CidrList": ["203.0.113.0/24"]}])
    served.change(zid, *[rrset(name, ip, SetIdentifier=loc.strip("*") or "default",
                               CidrRoutingConfig={"CollectionId": cid, "LocationName": loc})
                         for loc, ip in (("wide", "192.0.2.1"), ("narrow", "192.0.2.2"),
                                         ("other", "192.0.2.3"), ("*", "192.0.2.9"))])
    return name


@TRANSPORTS
def test_ecs_scope_of_cidr_answers(served, nested_cidr, tcp):
    name = nested_cidr
    m = served.query(name, ecs="198.51.100.7/32", tcp=tcp)
    assert [r.address for r in m.answer[0]] == ["192.0.2.2"] and ecs_of(m).scopelen == 24
    m = served.query(name, ecs="203.0.113.0/24", tcp=tcp)
    assert [r.address for r in m.answer[0]] == ["192.0.2.3"] and ecs_of(m).scopelen == 24
    assert served.one(name, ecs="198.51.7.0/24", tcp=tcp) == "192.0.2.1"
    assert served.one(name, ecs="192.0.2.0/24", tcp=tcp) == "192.0.2.9"
    for ecs in ("198.51.100.0/24", "203.0.113.0/24", "203.0.113.5/32", "192.0.2.0/24",
                "10.0.0.0/8", "0.0.0.0/0"):
        same_answer_within_scope(served, name, ecs, tcp,
                                 extra=["198.51.0.0/16", "198.51.100.0/24", "203.0.113.0/24"])


@TRANSPORTS
def test_ecs_scope_of_cidr_answer_excludes_nested_blocks(served, nested_cidr, tcp):
    for ecs in ("198.51.7.0/24", "198.51.7.7/32", "198.51.0.0/16", "198.51.96.0/20",
                "198.0.0.0/8", "203.0.0.0/16"):
        same_answer_within_scope(served, nested_cidr, ecs, tcp,
                                 extra=["198.51.0.0/16", "198.51.100.0/24", "203.0.113.0/24"])
