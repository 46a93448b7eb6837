"""Traffic Flow end to end: a policy whose geo rule leads to a weighted and
a failover subtree (with health checks), instantiated in two hosted zones
through boto3, answered on the DNS port by location, weight and health;
an instance moved to a new version while queries keep coming, with none
lost and none answered half from each version; then deleted.

Places are tools/make_test_mmdb.py's (see places.py)."""
from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter

import dns.message
import dns.rcode
import dns.rdatatype
import pytest
from helpers.places import EU_ONLY, HESSE, NY, SCOTLAND, TOKYO, within
from helpers.zfserve import wait_for

pytestmark = pytest.mark.e2e

OLD_DEFAULT = {"192.0.2.20", "192.0.2.21", "192.0.2.22"}
NEW_DEFAULT = {"198.51.100.20", "198.51.100.21", "198.51.100.22"}


def policy_doc(hc_us_a: str, hc_primary: str, default: set[str]) -> str:
    eps = {"us_a": "192.0.2.1", "us_b": "192.0.2.2", "eu_p": "192.0.2.10",
           "eu_s": "192.0.2.11"}
    endpoints = {k: {"Type": "value", "Value": v} for k, v in eps.items()}
    for i, v in enumerate(sorted(default)):
        endpoints[f"d{i}"] = {"Type": "value", "Value": v}
    return json.dumps({
        "AWSPolicyFormatVersion": "2015-10-01", "RecordType": "A",
        "Endpoints": endpoints,
        "Rules": {
            "by_place": {"RuleType": "geo", "Locations": [
                {"Country": "US", "RuleReference": "us_weighted"},
                {"Continent": "EU", "RuleReference": "eu_failover"},
                {"IsDefault": True, "RuleReference": "rest"}]},
            "us_weighted": {"RuleType": "weighted", "Items": [
                {"Weight": "1", "EndpointReference": "us_a", "HealthCheck": hc_us_a},
                {"Weight": "3", "EndpointReference": "us_b"}]},
            "eu_failover": {"RuleType": "failover",
                            "Primary": {"EndpointReference": "eu_p", "HealthCheck": hc_primary},
                            "Secondary": {"EndpointReference": "eu_s"}},
            "rest": {"RuleType": "multivalue", "Items": [
                {"EndpointReference": f"d{i}"} for i in range(len(default))]}},
        "StartRule": "by_place"})


def values(served, name, **kw) -> set[str]:
    return set(served.addresses(name, **kw))


def test_geo_weighted_failover_in_two_zones_then_update_under_load(served):
    r53 = served.client
    hc_a, hc_p = served.health_check("tp-us-a"), served.health_check("tp-eu-p")
    pid = r53.create_traffic_policy(Name="e2e-geo", Document=policy_doc(
        hc_a, hc_p, OLD_DEFAULT))["TrafficPolicy"]["Id"]
    v2 = r53.create_traffic_policy_version(Id=pid, Document=policy_doc(
        hc_a, hc_p, NEW_DEFAULT))["TrafficPolicy"]["Version"]
    zones = [served.create_zone("tp-a.route.test"), served.create_zone("tp-b.route.test")]
    names = ["www.tp-a.route.test", "tp-b.route.test"]  # one at a zone apex
    iids = []
    for zid, name in zip(zones, names):
        got = r53.create_traffic_policy_instance(HostedZoneId=zid, Name=name, TTL=30,
                                                 TrafficPolicyId=pid, TrafficPolicyVersion=1)
        iids.append(got["TrafficPolicyInstance"]["Id"])
    for name in names:
        assert wait_for(lambda name=name: _answers(served, name), timeout=5.0)

        # location: US -> weighted subtree, EU -> failover primary, else the default
        counts = Counter(served.one(name, ecs=NY) for _ in range(200))
        within(counts, {"192.0.2.1": 1, "192.0.2.2": 3}, 200)
        assert served.one(name, ecs=HESSE) == "192.0.2.10"
        assert served.one(name, ecs=SCOTLAND) == "192.0.2.10"
        assert served.one(name, ecs=EU_ONLY) == "192.0.2.10"
        assert values(served, name, ecs=TOKYO) == OLD_DEFAULT
        assert values(served, name, source="127.0.0.9") == OLD_DEFAULT
        assert served.query(name, ecs=NY).answer[0].ttl == 30

    # health inside the subtrees
    served.force_health(hc_a, False)
    served.force_health(hc_p, False)
    for name in names:
        assert wait_for(lambda name=name: served.one(name, ecs=HESSE) == "192.0.2.11",
                        timeout=3.0)
        assert {served.one(name, ecs=NY) for _ in range(40)} == {"192.0.2.2"}
    served.force_health(hc_p, True)
    assert wait_for(lambda: served.one(names[0], ecs=HESSE) == "192.0.2.10", timeout=3.0)

    # move instance 0 to version 2 while queries keep coming
    seen, lost = _under_load(served, names[0], lambda: r53.update_traffic_policy_instance(
        Id=iids[0], TTL=30, TrafficPolicyId=pid, TrafficPolicyVersion=v2))
    assert lost == 0, f"{lost} queries unanswered during the update"
    # never mixed, and the switch happened while the load ran
    assert seen == {frozenset(OLD_DEFAULT), frozenset(NEW_DEFAULT)}, seen
    assert wait_for(lambda: values(served, names[0], source="127.0.0.9") == NEW_DEFAULT,
                    timeout=3.0)
    assert values(served, names[1], source="127.0.0.9") == OLD_DEFAULT  # the other instance

    # delete: the names go, the policy versions can go after them
    for iid in iids:
        r53.delete_traffic_policy_instance(Id=iid)
    for name in names[:1]:
        assert wait_for(lambda name=name: served.query(name).rcode() == dns.rcode.NXDOMAIN,
                        timeout=3.0)
    assert wait_for(lambda: not served.query(names[1]).answer, timeout=3.0)  # apex: NODATA
    r53.delete_traffic_policy(Id=pid, Version=1)
    r53.delete_traffic_policy(Id=pid, Version=v2)


def _answers(served, name) -> bool:
    m = served.query(name, source="127.0.0.9")
    return m.rcode() == dns.rcode.NOERROR and bool(m.answer)


def _under_load(served, name: str, act, threads: int = 2, settle: float = 1.0):
    """Queries from `threads` senders (each: send, wait for its answer) run
    from before `act()` until `settle` seconds after it; returns (the set of
    distinct answers, the number of queries left unanswered)."""
    stop = threading.Event()
    seen: set = set()
    lost = [0]
    lock = threading.Lock()

    def sender(k: int):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((f"127.0.0.{20 + k}", 0))
        s.settimeout(1.0)
        qid = 0
        while not stop.is_set():
            qid = (qid + 1) & 0xFFFF
            q = dns.message.make_query(name, "A")
            q.id = qid
            s.sendto(q.to_wire(), ("127.0.0.1", served.dns_port))
            try:
                while True:
                    data, _ = s.recvfrom(4096)
                    m = dns.message.from_wire(data)
                    if m.id == qid:
                        break
            except TimeoutError:
                with lock:
                    lost[0] += 1
                continue
            got = frozenset(r.to_text() for rr in m.answer
                            if rr.rdtype == dns.rdatatype.A for r in rr)
            with lock:
                seen.add(got)
        s.close()

    workers = [threading.Thread(target=sender, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    time.sleep(0.3)
    act()
    time.sleep(settle)
    stop.set()
    for w in workers:
        w.join()
    return seen, lost[0]
