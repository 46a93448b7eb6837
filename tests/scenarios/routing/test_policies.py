"""Every routing policy end to end: record sets made through boto3, answers
read off the DNS port by dnspython posing as clients in different places
(EDNS Client Subnet) or at different 127.0.0.0/8 source addresses, health
flipped with the zonefront:state tag on unprobed checks.

Places come from tools/make_test_mmdb.py's NETWORKS: 8.8.8.0/25 is
California, 8.8.8.128/25 Washington, 23.0.0.0/12 New York, 81.2.69.0/24
Scotland, 81.0.0.0/8 England, 193.99.144.0/24 Hesse (DE), 185.0.0.0/16
Europe with no country, 1.0.16.0/20 Tokyo, 1.0.0.0/8 Sydney, 200.0.0.0/10
São Paulo, 203.0.0.0/16 Auckland, 2001:db8:1:2::/64 Bavaria (DE),
2600:1f00::/24 Virginia.  127.0.0.0/8 is in no network."""
from __future__ import annotations

import time
from collections import Counter

import dns.rcode
import dns.rdatatype
import pytest
from helpers.places import (
    AUCKLAND,
    BAVARIA6,
    CA,
    ENGLAND,
    EU_ONLY,
    GEO,
    HESSE,
    N_QUERIES,
    NY,
    SAO_PAULO,
    SCOTLAND,
    SYDNEY,
    TOKYO,
    VIRGINIA6,
    WA,
    within,
)
from helpers.zfserve import rrset, wait_for

pytestmark = pytest.mark.e2e


def sample(served, qname: str, n: int = N_QUERIES, **kw) -> Counter:
    return Counter(served.one(qname, **kw) for _ in range(n))


# -- weighted -------------------------------------------------------------------

def test_weighted_distribution_and_weight_zero(served, zone):
    zid, origin = zone
    name = f"www.{origin}"
    served.change(zid, *[rrset(name, ip, SetIdentifier=sid, Weight=w) for sid, ip, w in (
        ("one", "192.0.2.1", 1), ("three", "192.0.2.3", 3), ("zero", "192.0.2.99", 0))])
    within(sample(served, name), {"192.0.2.1": 1, "192.0.2.3": 3, "192.0.2.99": 0}, N_QUERIES)
    # over TCP as well, from another source address
    within(sample(served, name, n=100, tcp=True, source="127.0.0.5"),
           {"192.0.2.1": 1, "192.0.2.3": 3}, 100)


def test_weighted_health_and_all_zero(served, zone):
    zid, origin = zone
    name, zeros = f"hw.{origin}", f"zeros.{origin}"
    hc1, hc3 = served.health_check("w1"), served.health_check("w3")
    served.change(zid,
                  rrset(name, "192.0.2.1", SetIdentifier="one", Weight=1, HealthCheckId=hc1),
                  rrset(name, "192.0.2.3", SetIdentifier="three", Weight=3, HealthCheckId=hc3),
                  rrset(name, "192.0.2.99", SetIdentifier="zero", Weight=0),
                  rrset(zeros, "198.51.100.1", SetIdentifier="a", Weight=0),
                  rrset(zeros, "198.51.100.2", SetIdentifier="b", Weight=0))
    # all weights 0: chosen with equal probability
    within(sample(served, zeros, n=200), {"198.51.100.1": 1, "198.51.100.2": 1}, 200)
    served.force_health(hc3, False)
    assert wait_for(lambda: set(sample(served, name, n=20)) == {"192.0.2.1"})
    # every weighted record unhealthy: the weight-0 one (healthy) answers
    served.force_health(hc1, False)
    assert wait_for(lambda: set(sample(served, name, n=20)) == {"192.0.2.99"})
    served.force_health(hc1, True)
    served.force_health(hc3, True)
    assert wait_for(lambda: set(sample(served, name, n=40)) == {"192.0.2.1", "192.0.2.3"})


def test_upsert_weight_takes_effect(served, zone):
    zid, origin = zone
    name = f"flip.{origin}"
    a = lambda w: rrset(name, "192.0.2.10", SetIdentifier="a", Weight=w)
    b = lambda w: rrset(name, "192.0.2.20", SetIdentifier="b", Weight=w)
    served.change(zid, a(9), b(1))
    within(sample(served, name), {"192.0.2.10": 9, "192.0.2.20": 1}, N_QUERIES)
    took = served.change(zid, ("UPSERT", a(1)), ("UPSERT", b(3)))
    assert took < 3.0, f"UPSERT took {took:.2f} s to be INSYNC"
    within(sample(served, name), {"192.0.2.10": 1, "192.0.2.20": 3}, N_QUERIES)
    served.change(zid, ("UPSERT", a(0)))
    assert set(sample(served, name, n=100)) == {"192.0.2.20"}


# -- failover -------------------------------------------------------------------

@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_failover_follows_forced_health(served, zone, tcp):
    zid, origin = zone
    name = f"fo.{origin}"
    hc = served.health_check("primary")
    served.change(zid,
                  rrset(name, "192.0.2.1", SetIdentifier="p", Failover="PRIMARY",
                        HealthCheckId=hc),
                  rrset(name, "198.51.100.1", SetIdentifier="s", Failover="SECONDARY"))
    assert served.one(name, tcp=tcp) == "192.0.2.1"
    for healthy, want in ((False, "198.51.100.1"), (True, "192.0.2.1")):
        t0 = time.monotonic()
        served.force_health(hc, healthy)
        wait_for(lambda want=want: served.one(name, tcp=tcp) == want, timeout=5.0)
        took = time.monotonic() - t0
        assert served.one(name, tcp=tcp) == want
        assert took < 3.0, f"failover to {want} took {took:.2f} s"
        assert set(sample(served, name, n=20, tcp=tcp)) == {want}


def test_failover_both_unhealthy_answers_primary(served, zone):
    """Route 53 answers as if all were healthy when none is."""
    zid, origin = zone
    name = f"both.{origin}"
    hp, hs = served.health_check("p"), served.health_check("s")
    served.change(zid,
                  rrset(name, "192.0.2.1", SetIdentifier="p", Failover="PRIMARY",
                        HealthCheckId=hp),
                  rrset(name, "198.51.100.1", SetIdentifier="s", Failover="SECONDARY",
                        HealthCheckId=hs))
    served.force_health(hs, False)
    served.force_health(hp, False)
    time.sleep(0.2)
    assert set(sample(served, name, n=20)) == {"192.0.2.1"}


# -- multivalue -----------------------------------------------------------------

def test_multivalue_at_most_eight_healthy(served, zone):
    zid, origin = zone
    name = f"mv.{origin}"
    values = [f"192.0.2.{i}" for i in range(1, 11)]
    checks = {v: served.health_check(v) for v in values}
    served.change(zid, *[rrset(name, v, SetIdentifier=f"mv{i}", MultiValueAnswer=True,
                               HealthCheckId=checks[v]) for i, v in enumerate(values)])
    seen: Counter = Counter()
    for _ in range(60):
        got = served.addresses(name)
        assert 1 <= len(got) <= 8 and len(set(got)) == len(got), got
        assert set(got) <= set(values)
        seen.update(got)
    assert set(seen) == set(values), "every healthy value must turn up"
    assert len(served.addresses(name)) == 8
    sick = values[3]
    served.force_health(checks[sick], False)
    assert wait_for(lambda: sick not in served.addresses(name))
    for _ in range(60):
        got = served.addresses(name)
        assert sick not in got and len(got) == 8, got
    # only three healthy: exactly those three
    for v in values[3:]:
        served.force_health(checks[v], False)
    assert wait_for(lambda: served.addresses(name) == sorted(values[:3]))
    assert served.addresses(name, tcp=True) == sorted(values[:3])
    # none healthy: answered as if all were (up to eight)
    for v in values[:3]:
        served.force_health(checks[v], False)
    assert wait_for(lambda: len(served.addresses(name)) == 8)


# -- latency --------------------------------------------------------------------

LATENCY = {"us-west-2": "192.0.2.1", "us-east-1": "192.0.2.2", "eu-west-1": "192.0.2.3",
           "ap-northeast-1": "192.0.2.4", "ap-southeast-2": "192.0.2.5",
           "sa-east-1": "192.0.2.6"}
NEAREST = [(WA, "us-west-2"), (CA, "us-west-2"), (NY, "us-east-1"), (SCOTLAND, "eu-west-1"),
           (HESSE, "eu-west-1"), (TOKYO, "ap-northeast-1"), (SYDNEY, "ap-southeast-2"),
           (AUCKLAND, "ap-southeast-2"), (SAO_PAULO, "sa-east-1"),
           (BAVARIA6, "eu-west-1"), (VIRGINIA6, "us-east-1")]


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_latency_picks_nearest_region(served, zone, tcp):
    zid, origin = zone
    name = f"lat.{origin}"
    checks = {r: served.health_check(r) for r in LATENCY}
    served.change(zid, *[rrset(name, ip, SetIdentifier=r, Region=r, HealthCheckId=checks[r])
                         for r, ip in LATENCY.items()])
    got = {client: served.one(name, ecs=client, tcp=tcp) for client, _ in NEAREST}
    assert got == {client: LATENCY[region] for client, region in NEAREST}
    # a client no GeoIP network places (the source address) still gets an answer
    assert served.one(name, tcp=tcp, source="127.0.0.7") in LATENCY.values()
    # the nearest region unhealthy: the next nearest
    served.force_health(checks["us-west-2"], False)
    assert wait_for(lambda: served.one(name, ecs=WA, tcp=tcp) == LATENCY["us-east-1"])
    served.force_health(checks["eu-west-1"], False)
    assert wait_for(lambda: served.one(name, ecs=HESSE, tcp=tcp) != LATENCY["eu-west-1"])
    assert served.one(name, ecs=TOKYO, tcp=tcp) == LATENCY["ap-northeast-1"]


# -- geolocation ----------------------------------------------------------------

GEO_WANT = [(CA, "192.0.2.1"), (WA, "192.0.2.2"), (NY, "192.0.2.2"),
            (VIRGINIA6, "192.0.2.2"), (HESSE, "192.0.2.3"), (BAVARIA6, "192.0.2.3"),
            (SCOTLAND, "192.0.2.4"), (ENGLAND, "192.0.2.4"), (EU_ONLY, "192.0.2.4"),
            (TOKYO, "192.0.2.5"), (SAO_PAULO, "192.0.2.5")]


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_geolocation_most_specific_wins(served, zone, tcp):
    zid, origin = zone
    name = f"geo.{origin}"
    checks = [served.health_check(f"g{i}") for i in range(len(GEO))]
    served.change(zid, *[rrset(name, ip, SetIdentifier=f"g{i}", GeoLocation=loc,
                               HealthCheckId=checks[i]) for i, (loc, ip) in enumerate(GEO)])
    got = {client: served.one(name, ecs=client, tcp=tcp) for client, _ in GEO_WANT}
    assert got == dict(GEO_WANT)
    # no ECS: the source address, which no network places -> the default
    assert served.one(name, tcp=tcp, source="127.0.0.9") == "192.0.2.5"
    # the subdivision's record unhealthy: the country's answers there
    served.force_health(checks[0], False)
    assert wait_for(lambda: served.one(name, ecs=CA, tcp=tcp) == "192.0.2.2")
    assert served.one(name, ecs=HESSE, tcp=tcp) == "192.0.2.3"


def test_geolocation_without_default_is_nodata(served, zone):
    zid, origin = zone
    name = f"nodefault.{origin}"
    served.change(zid, *[rrset(name, ip, SetIdentifier=f"g{i}", GeoLocation=loc)
                         for i, (loc, ip) in enumerate(GEO[:4])])
    for client in (TOKYO, SAO_PAULO, None):
        for tcp in (False, True):
            m = served.query(name, ecs=client, tcp=tcp)
            assert m.rcode() == dns.rcode.NOERROR and m.answer == [], (client, m)
            soa = [r for r in m.authority if r.rdtype == dns.rdatatype.SOA]
            assert soa and soa[0].name.to_text() == f"{origin}.", m
    assert served.one(name, ecs=HESSE) == "192.0.2.3"


# -- geoproximity ---------------------------------------------------------------

def test_geoproximity_bias_moves_the_border(served, zone):
    """Dublin (eu-west-1) and Frankfurt (eu-central-1): London is 463 km
    from Dublin and 638 km from Frankfurt, Scotland 350 and 1023 km."""
    zid, origin = zone
    name = f"prox.{origin}"

    def frankfurt(bias):
        return rrset(name, "192.0.2.2", SetIdentifier="fra",
                     GeoProximityLocation={"AWSRegion": "eu-central-1", "Bias": bias})

    def dublin(bias):
        return rrset(name, "192.0.2.1", SetIdentifier="dub",
                     GeoProximityLocation={"AWSRegion": "eu-west-1", "Bias": bias})

    served.change(zid, dublin(0), frankfurt(0),
                  rrset(name, "192.0.2.3", SetIdentifier="tokyo",
                        GeoProximityLocation={"Coordinates": {"Latitude": "35.68",
                                                              "Longitude": "139.69"},
                                              "Bias": 0}))

    def where():
        return {c: served.one(name, ecs=c) for c in (SCOTLAND, ENGLAND, HESSE, BAVARIA6, TOKYO)}

    dub, fra, tok = "192.0.2.1", "192.0.2.2", "192.0.2.3"
    assert where() == {SCOTLAND: dub, ENGLAND: dub, HESSE: fra, BAVARIA6: fra, TOKYO: tok}
    # +50: Frankfurt's area grows past London (638 x 0.5 = 319 < 463), not Scotland
    served.change(zid, ("UPSERT", frankfurt(50)))
    assert where() == {SCOTLAND: dub, ENGLAND: fra, HESSE: fra, BAVARIA6: fra, TOKYO: tok}
    # +90: and past Scotland (1023 x 0.1 = 102 < 350)
    served.change(zid, ("UPSERT", frankfurt(90)))
    assert where() == {SCOTLAND: fra, ENGLAND: fra, HESSE: fra, BAVARIA6: fra, TOKYO: tok}
    # -99 shrinks Frankfurt's area (distances x 1.99) and +90 grows Dublin's
    # (x 0.1): Bavaria, 304 km from Frankfurt and 1378 km from Dublin, changes
    # sides; Hesse (0 km) and Tokyo stay
    served.change(zid, ("UPSERT", frankfurt(-99)), ("UPSERT", dublin(90)))
    assert where() == {SCOTLAND: dub, ENGLAND: dub, HESSE: fra, BAVARIA6: dub, TOKYO: tok}


# -- IP-based (CIDR) routing ----------------------------------------------------

def test_cidr_routing_longest_prefix(served, zone):
    zid, origin = zone
    name = f"cidr.{origin}"
    coll = served.client.create_cidr_collection(Name=f"e2e-{time.monotonic_ns()}",
                                                CallerReference=f"c-{time.monotonic_ns()}")
    cid = coll["Collection"]["Id"]
    blocks = {"loop": ["127.0.0.0/8"], "loop1": ["127.1.0.0/16"], "loop12": ["127.1.2.0/24"],
              "doc": ["198.51.100.0/24", "2001:db8:5::/48"]}
    served.client.change_cidr_collection(Id=cid, Changes=[
        {"LocationName": loc, "Action": "PUT", "CidrList": cidrs} for loc, cidrs in blocks.items()])
    ip = {"loop": "192.0.2.1", "loop1": "192.0.2.2", "loop12": "192.0.2.3", "doc": "192.0.2.4",
          "*": "192.0.2.9"}
    served.change(zid, *[rrset(name, v, SetIdentifier=f"c-{loc}".replace("*", "default"),
                               CidrRoutingConfig={"CollectionId": cid, "LocationName": loc})
                         for loc, v in ip.items()])
    # without ECS, the source address decides
    for tcp in (False, True):
        assert served.one(name, source="127.1.2.3", tcp=tcp) == ip["loop12"]
        assert served.one(name, source="127.1.9.9", tcp=tcp) == ip["loop1"]
        assert served.one(name, source="127.0.0.5", tcp=tcp) == ip["loop"]
        assert served.one(name, source="127.200.0.1", tcp=tcp) == ip["loop"]
        # with ECS, the client subnet decides
        assert served.one(name, ecs="198.51.100.77/32", tcp=tcp) == ip["doc"]
        assert served.one(name, ecs="2001:db8:5:1::/64", tcp=tcp) == ip["doc"]
        assert served.one(name, ecs="192.0.2.0/24", tcp=tcp) == ip["*"]
        assert served.one(name, ecs="2001:db8:6::/48", tcp=tcp) == ip["*"]
    # a name with no default location: NODATA for clients no location holds
    other = f"nodefault.{origin}"
    served.change(zid, rrset(other, "192.0.2.3", SetIdentifier="only",
                             CidrRoutingConfig={"CollectionId": cid, "LocationName": "loop12"}))
    assert served.one(other, source="127.1.2.3") == "192.0.2.3"
    m = served.query(other, source="127.1.9.9")
    assert m.rcode() == dns.rcode.NOERROR and m.answer == []
    # a block added to a location is served at once
    served.client.change_cidr_collection(Id=cid, Changes=[
        {"LocationName": "doc", "Action": "PUT", "CidrList": ["127.2.0.0/16"]}])
    assert wait_for(lambda: served.one(name, source="127.2.0.1") == ip["doc"], timeout=1.0)
    assert served.one(name, source="127.3.0.1") == ip["loop"]
