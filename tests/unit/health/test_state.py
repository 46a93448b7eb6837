"""The vote: Route 53's 18% rule, Inverted, Disabled, the zonefront:state
override, calculated checks, and the table's slot lifetime."""
from __future__ import annotations

import time

import pytest

from zonefront.health.probe import Result
from zonefront.health.spec import CheckSpec
from zonefront.health.state import HealthState
from zonefront.health.table import HealthTable

EIGHT = ["us-east-1", "us-west-1", "us-west-2", "eu-west-1", "ap-southeast-1",
         "ap-southeast-2", "ap-northeast-1", "sa-east-1"]


def report(st, cid, locs, healthy):
    for loc in locs:
        st.observe(cid, loc, healthy, Result(healthy, "Success" if healthy else "Failure"),
                   time.time())


@pytest.mark.parametrize("n_locations,healthy_needed", [(8, 2), (3, 1), (5, 1), (6, 2),
                                                        (11, 2), (16, 3), (17, 4)])
def test_more_than_18_percent_healthy(n_locations, healthy_needed):
    locs = [f"loc{i}" for i in range(n_locations)]
    table = HealthTable()
    st = HealthState(table)
    st.put(CheckSpec(id="c", type="HTTP"), locs)
    report(st, "c", locs, False)
    assert table.get("c") is False
    report(st, "c", locs[:healthy_needed - 1], True)
    assert table.get("c") is False, f"{healthy_needed - 1}/{n_locations} must be unhealthy"
    report(st, "c", locs[healthy_needed - 1:healthy_needed], True)
    assert table.get("c") is True, f"{healthy_needed}/{n_locations} must be healthy"


def test_unprobed_locations_count_as_healthy():
    table = HealthTable()
    st = HealthState(table)
    st.put(CheckSpec(id="c", type="HTTP"), EIGHT)
    report(st, "c", EIGHT[:6], False)  # two have not reported yet: 2/8 > 18%
    assert table.get("c") is True
    report(st, "c", EIGHT[6:7], False)
    assert table.get("c") is False


def test_inverted_disabled_forced():
    table = HealthTable()
    st = HealthState(table)
    locs = EIGHT[:3]
    st.put(CheckSpec(id="c", type="TCP", inverted=True), locs)
    assert table.get("c") is False  # healthy endpoint, inverted
    report(st, "c", locs, False)
    assert table.get("c") is True
    st.put(CheckSpec(id="c", type="TCP", inverted=True, disabled=True), locs)
    assert table.get("c") is True
    st.put(CheckSpec(id="c", type="TCP", disabled=True, forced=False), locs)
    assert table.get("c") is False  # the tag wins over everything
    st.put(CheckSpec(id="c", type="TCP"), locs)
    assert table.get("c") is False  # back to the probes: all three said unhealthy


def test_calculated_follows_children_at_once():
    table = HealthTable()
    st = HealthState(table)
    locs = ["a"]
    for k in ("k1", "k2", "k3"):
        st.put(CheckSpec(id=k, type="HTTP"), locs)
    st.put(CheckSpec(id="calc", type="CALCULATED", children=("k1", "k2", "k3"),
                     health_threshold=2), [])
    assert table.get("calc") is True
    report(st, "k1", locs, False)
    assert table.get("calc") is True  # 2 of 3
    assert st.children_summary("calc") == (2, 3)
    report(st, "k2", locs, False)
    assert table.get("calc") is False  # 1 of 3
    st.put(CheckSpec(id="k2", type="HTTP", inverted=True), locs)
    assert table.get("calc") is True  # the child's final state is what counts
    # nested and inverted calculated checks
    st.put(CheckSpec(id="outer", type="CALCULATED", children=("calc",), health_threshold=1,
                     inverted=True), [])
    assert table.get("outer") is False
    report(st, "k3", locs, False)  # k1 down, k2 inverted-up, k3 down: 1 of 3
    assert table.get("calc") is False and table.get("outer") is True
    assert st.creates_cycle("calc", ["outer"])
    assert not st.creates_cycle("outer", ["k1"])
    # a deleted child counts as healthy, like a record whose check was deleted
    st.remove("k3")
    assert table.get("calc") is True
    # threshold 0: always healthy
    st.put(CheckSpec(id="zero", type="CALCULATED", children=("k1",), health_threshold=0), [])
    assert table.get("zero") is True


def test_remote_reports_drop_out_when_stale():
    table = HealthTable()
    st = HealthState(table, remote_locations=["r1", "r2"])
    spec = CheckSpec(id="c", type="HTTP", interval=1)
    st.put(spec, [])  # no in-process location
    now = time.time()
    st.observe("c", "r1", False, Result(False, "Failure"), now)
    st.observe("c", "r2", False, Result(False, "Failure"), now)
    assert table.get("c") is False
    st.observe("c", "r2", False, Result(False, "Failure"), now - 60)  # r2 went quiet
    st.observe("c", "r1", False, Result(False, "Failure"), now - 60)
    st.expire_remote()
    assert table.get("c") is True  # nobody fresh votes: no evidence against it


def test_table_retire_keeps_slot_until_collect():
    table = HealthTable(slots=4)
    s = table.slot("gone")
    table.set("gone", False)
    table.retire("gone")
    assert table.buffer[s] == 1 and table.get("gone") is True
    assert table.slot("gone") == s  # a zone compiled now still gets the same slot
    assert table.collect(keep={"gone"}) == 0
    assert table.collect(keep=set()) == 1
    assert s in table._free
    # unknown ids the compiler asked about are freed when not referenced
    table.slot("typo")
    assert table.collect(keep=set(), live=set()) == 1


def test_latency_recorded_for_measure_latency():
    table = HealthTable()
    st = HealthState(table)
    st.put(CheckSpec(id="c", type="TCP", measure_latency=True), ["a"])
    st.observe("c", "a", True, Result(True, "Success", 12.4, "127.0.0.1"), time.time())
    assert table.get_latency("c") == 12
