"""TestDNSAnswer answers exactly what the DNS data plane answers the same
client (issue 16, item 2): for every routing policy, ResolverIP and ECS in
different countries, health checks healthy and unhealthy.  Both go through
the one served engine, so this holds the API's plumbing (query built,
resolver as source, ECS, response decoded) to the data plane's bytes."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import dns.rcode
import pytest
from helpers.places import BAVARIA6, CA, GEO, HESSE, NY, SAO_PAULO, SCOTLAND, TOKYO, VIRGINIA6, WA
from helpers.zfserve import AKID, SECRET, alias, rrset, wait_for

pytestmark = pytest.mark.e2e

# (ResolverIP, ECS) pairs: ECS in several countries, resolvers with no ECS
CLIENTS = [(None, CA), (None, WA), (None, NY), (None, HESSE), (None, SCOTLAND),
           (None, TOKYO), (None, BAVARIA6), (None, VIRGINIA6), (None, SAO_PAULO),
           ("127.0.0.9", None), ("127.0.5.9", None), ("127.0.5.9", HESSE), (None, None)]


def api_answer(served, name, rdtype, resolver, ecs):
    kw = {"HostedZoneId": served_zone[0], "RecordName": name, "RecordType": rdtype}
    if resolver:
        kw["ResolverIP"] = resolver
    if ecs:
        ip, _, plen = ecs.partition("/")
        kw["EDNS0ClientSubnetIP"] = ip
        kw["EDNS0ClientSubnetMask"] = plen
    r = served.client.test_dns_answer(**kw)
    assert r["Protocol"] == "UDP" and r["RecordName"] == name and r["RecordType"] == rdtype
    assert r["Nameserver"]
    return r["ResponseCode"], sorted(r["RecordData"])


def dns_answer(served, name, rdtype, resolver, ecs):
    m = served.query(name, rdtype, source=resolver or "127.0.0.1", ecs=ecs, edns=True)
    return dns.rcode.to_text(m.rcode()), sorted(r.to_text() for rrset in m.answer for r in rrset)


served_zone: list = []


def agree(served, name, rdtype="A"):
    """TestDNSAnswer == DNS for every client; returns the DNS answers."""
    out = {}
    for resolver, ecs in CLIENTS:
        def same(resolver=resolver, ecs=ecs):
            a = api_answer(served, name, rdtype, resolver, ecs)
            d = dns_answer(served, name, rdtype, resolver, ecs)
            return d if a == d else None  # a health flip may land between the two
        got = wait_for(same, timeout=2.0, step=0.05)
        assert got is not None, (name, resolver, ecs, api_answer(served, name, rdtype, resolver,
                                                                 ecs),
                                 dns_answer(served, name, rdtype, resolver, ecs))
        out[(resolver, ecs)] = got
    return out


def states(served, name, checks, rdtype="A"):
    """Answers agree with every check healthy, then as the checks turn
    unhealthy one after another; health must move some answer (else the
    comparison would prove little)."""
    healthy = agree(served, name, rdtype)
    seen = [healthy]
    for c in checks:
        served.force_health(c, False)
        # the flip reaches the health table within a second or so
        wait_for(lambda: agree(served, name, rdtype) != seen[-1], timeout=1.5, step=0.1)
        seen.append(agree(served, name, rdtype))
    assert any(s != healthy for s in seen[1:]), name
    for c in checks:
        served.force_health(c, True)


@pytest.fixture
def z(served, zone):
    served_zone[:] = [zone[0]]
    return zone


def test_simple_nxdomain_and_refused(served, z):
    zid, origin = z
    served.change(zid, rrset(f"www.{origin}", ["192.0.2.1", "192.0.2.2"]),
                  rrset(f"c.{origin}", f"www.{origin}.", rdtype="CNAME"),
                  rrset(f"mx.{origin}", "10 www.example.", rdtype="MX"))
    agree(served, f"www.{origin}")
    agree(served, f"c.{origin}")  # the chain and its target's addresses
    agree(served, f"mx.{origin}", "MX")
    assert agree(served, f"no.{origin}")[(None, None)][0] == "NXDOMAIN"
    assert agree(served, f"www.{origin}", "AAAA")[(None, None)] == ("NOERROR", [])


def test_geolocation(served, z):
    zid, origin = z
    name = f"geo.{origin}"
    checks = [served.health_check(f"g{i}") for i in range(len(GEO))]
    served.change(zid, *[rrset(name, ip, SetIdentifier=f"g{i}", GeoLocation=loc,
                               HealthCheckId=checks[i]) for i, (loc, ip) in enumerate(GEO)])
    got = agree(served, name)
    assert got[(None, CA)] != got[(None, HESSE)] != got[(None, TOKYO)]
    states(served, name, checks[:3])


def test_bad_inputs_refused(served, z):
    zid, origin = z
    for extra in ({"EDNS0ClientSubnetIP": "192.0.2.1", "EDNS0ClientSubnetMask": "33"},
                  {"EDNS0ClientSubnetMask": "24"}, {"ResolverIP": "not-an-ip"},
                  {"RecordType": "BOGUS"}):
        kw = {"HostedZoneId": zid, "RecordName": f"www.{origin}", "RecordType": "A", **extra}
        with pytest.raises(served.client.exceptions.ClientError) as e:
            served.client.test_dns_answer(**kw)
        assert e.value.response["Error"]["Code"] == "InvalidInput", extra
    with pytest.raises(served.client.exceptions.NoSuchHostedZone):
        served.client.test_dns_answer(HostedZoneId="ZNOSUCHZONE0000000000", RecordName="a.b",
                                      RecordType="A")


def test_latency(served, z):
    zid, origin = z
    name = f"lat.{origin}"
    regions = {"us-west-2": "192.0.2.1", "us-east-1": "192.0.2.2", "eu-west-1": "192.0.2.3",
               "ap-northeast-1": "192.0.2.4", "sa-east-1": "192.0.2.6"}
    checks = {r: served.health_check(r) for r in regions}
    served.change(zid, *[rrset(name, ip, SetIdentifier=r, Region=r, HealthCheckId=checks[r])
                         for r, ip in regions.items()])
    states(served, name, [checks["us-west-2"], checks["eu-west-1"]])


def test_geoproximity(served, z):
    zid, origin = z
    name = f"prox.{origin}"
    checks = [served.health_check(f"p{i}") for i in range(3)]
    served.change(zid,
                  rrset(name, "192.0.2.1", SetIdentifier="fra", HealthCheckId=checks[0],
                        GeoProximityLocation={"Coordinates": {"Latitude": "50.11",
                                                              "Longitude": "8.68"}}),
                  rrset(name, "192.0.2.2", SetIdentifier="use1", HealthCheckId=checks[1],
                        GeoProximityLocation={"AWSRegion": "us-east-1", "Bias": 20}),
                  rrset(name, "192.0.2.3", SetIdentifier="tokyo", HealthCheckId=checks[2],
                        GeoProximityLocation={"AWSRegion": "ap-northeast-1"}))
    states(served, name, checks[:2])


def test_failover(served, z):
    zid, origin = z
    name = f"fo.{origin}"
    hp, hs = served.health_check("p"), served.health_check("s")
    served.change(zid, rrset(name, "192.0.2.1", SetIdentifier="p", Failover="PRIMARY",
                             HealthCheckId=hp),
                  rrset(name, "192.0.2.2", SetIdentifier="s", Failover="SECONDARY",
                        HealthCheckId=hs))
    states(served, name, [hp, hs])


def test_weighted(served, z):
    """Weights 1 and 0 keep the choice deterministic: the weight-0 record
    answers once the other is unhealthy."""
    zid, origin = z
    name = f"w.{origin}"
    h1, h0 = served.health_check("w1"), served.health_check("w0")
    served.change(zid, rrset(name, "192.0.2.1", SetIdentifier="one", Weight=1, HealthCheckId=h1),
                  rrset(name, "192.0.2.9", SetIdentifier="zero", Weight=0, HealthCheckId=h0))
    states(served, name, [h1])


def test_multivalue(served, z):
    zid, origin = z
    name = f"mv.{origin}"
    checks = [served.health_check(f"m{i}") for i in range(3)]
    served.change(zid, *[rrset(name, f"192.0.2.{i + 1}", SetIdentifier=f"m{i}",
                               MultiValueAnswer=True, HealthCheckId=checks[i])
                         for i in range(3)])
    states(served, name, checks[:2])


def test_ip_based(served, z):
    zid, origin = z
    name = f"cidr.{origin}"
    coll = served.client.create_cidr_collection(Name=f"tda-{zid[-6:]}",
                                                CallerReference=f"tda-{zid}")
    cid = coll["Collection"]["Id"]
    served.client.change_cidr_collection(Id=cid, Changes=[
        {"LocationName": "office", "Action": "PUT", "CidrList": ["127.0.5.0/24"]}])
    ho = served.health_check("office")
    served.change(zid, rrset(name, "192.0.2.1", SetIdentifier="office", HealthCheckId=ho,
                             CidrRoutingConfig={"CollectionId": cid, "LocationName": "office"}),
                  rrset(name, "192.0.2.2", SetIdentifier="rest",
                        CidrRoutingConfig={"CollectionId": cid, "LocationName": "*"}))
    got = agree(served, name)
    assert got[("127.0.5.9", None)] == ("NOERROR", ["192.0.2.1"])
    assert got[("127.0.0.9", None)] == ("NOERROR", ["192.0.2.2"])
    states(served, name, [ho])


def test_alias_with_evaluate_target_health(served, z):
    zid, origin = z
    pool = f"pool.{origin}"
    checks = [served.health_check(f"a{i}") for i in range(len(GEO))]
    served.change(zid, *[rrset(pool, ip, SetIdentifier=f"g{i}", GeoLocation=loc,
                               HealthCheckId=checks[i]) for i, (loc, ip) in enumerate(GEO)])
    served.change(zid, alias(origin, zid, pool, evaluate=True, SetIdentifier="p",
                             Failover="PRIMARY"),
                  rrset(origin, "192.0.2.99", SetIdentifier="s", Failover="SECONDARY"))
    states(served, origin, checks[:4])


@pytest.mark.skipif(shutil.which("aws") is None, reason="AWS CLI not installed")
def test_aws_cli_test_dns_answer(served, z, tmp_path):
    zid, origin = z
    served.change(zid, rrset(f"cli.{origin}", "192.0.2.77"))
    env = dict(os.environ, AWS_ACCESS_KEY_ID=AKID, AWS_SECRET_ACCESS_KEY=SECRET,
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    out = subprocess.run(["aws", "route53", "test-dns-answer", "--endpoint-url",
                          f"http://127.0.0.1:{served.api_port}", "--hosted-zone-id", zid,
                          "--record-name", f"cli.{origin}", "--record-type", "A",
                          "--resolver-ip", "127.0.0.9"],
                         check=False, capture_output=True, text=True, env=env,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["RecordData"] == ["192.0.2.77"] and got["ResponseCode"] == "NOERROR"
