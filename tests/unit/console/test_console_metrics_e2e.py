"""The traffic charts over real metrics: `zonefront serve --api
--metrics-listen --metrics-per-record`, real DNS queries from dnspython, and
the console in headless Chromium reading them through its signed
/console/metrics proxy: the per-zone and per-record charts show the answers
with their response codes to a read-only key (the predefined policy allows
zonefront:GetMetrics), and a key whose policy lacks it sees AccessDenied."""
from __future__ import annotations

import re
import threading
import time

import dns.message
import dns.query
import pytest
from helpers import zfserve

from .conftest import RO_KEY_ID, RO_SECRET, WRITE_SHOTS
from .test_console_e2e import button, css, goto, login, one, shot, wait

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
ZONE = "metrics.test."
WWW = "www.metrics.test."


class Asker:
    """dnspython queries in a loop until stop(): the rates stay above zero
    while the page samples.  Counts what it got back, by rcode."""

    def __init__(self, served, questions):
        self.served = served
        self.questions = questions
        self.got: dict[tuple[str, int], int] = {}
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        host, port = self.served.dns
        while not self._stop.wait(0.05):
            for name, rdtype in self.questions:
                r = dns.query.udp(dns.message.make_query(name, rdtype), host, port=port, timeout=2)
                self.got[(name, r.rcode())] = self.got.get((name, r.rcode()), 0) + 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join(5)


def legend(fig) -> dict[str, float]:
    """{series: last value} from a chart's legend ("name: 3.5/s")."""
    out = {}
    for li in fig.find_elements("css selector", ".legend li"):
        m = re.match(r"(.*): ([-\d.e+]+)/s$", li.text)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def chart(browser, caption):
    for fig in css(browser, "figure.chart"):
        if fig.find_element("css selector", "figcaption").text == caption:
            return fig
    return None


@pytest.fixture(scope="module")
def zone_id(metered):
    zid = metered.inner.create_zone(ZONE)
    metered.inner.change(zid, zfserve.rrset(WWW, "192.0.2.7"))
    return zid


def test_read_only_key_sees_zone_and_record_charts(metered, zone_id, browser):
    with Asker(metered, [(WWW, "A"), ("nope.metrics.test.", "A")]) as asker:
        login(browser, metered, RO_KEY_ID, RO_SECRET)
        one(browser, "#zones-table")  # the read-only key lists zones
        goto(browser, metered.base + "/console/#/traffic")

        def zone_rates():
            q = chart(browser, "Queries per second by zone")
            c = chart(browser, f"Answer codes per second, {ZONE}")
            if q is None or c is None:
                return None
            qv, cv = legend(q), legend(c)
            return (qv, cv) if qv.get(ZONE, 0) > 0 and cv.get("NOERROR", 0) > 0 \
                and cv.get("NXDOMAIN", 0) > 0 else None
        _, cv = wait(zone_rates, 30, "per-zone rates above zero")
        assert set(cv) <= {"NOERROR", "NXDOMAIN"}  # nothing else was asked of this zone

        def record_rates():
            fig = css(browser, "#record-qps")
            codes = [f for f in css(browser, "figure.record-codes")
                     if f.get_attribute("data-record") == f"{WWW} A"]
            if not fig or not codes:
                return None
            rv, cv = legend(fig[0]), legend(codes[0])
            return (rv, cv) if rv.get(f"{WWW} A", 0) > 0 and cv.get("NOERROR", 0) > 0 else None
        rv, rc = wait(record_rates, 30, "per-record rates above zero")
        assert set(rc) == {"NOERROR"}  # www exists: every answer NOERROR
        # NXDOMAIN names have no record: not in the per-record charts or table
        assert not [k for k in rv if k.startswith("nope.")]
        row = one(browser, f"#record-table tr[data-record='{WWW} A']")
        answers = int(row.find_elements("css selector", "td")[3].text)
        assert answers > 0
        assert int(row.find_element("css selector", "td[data-rcode=NOERROR]").text) == answers

        # the zone's own traffic tab: its records only
        goto(browser, metered.base + f"/console/#/zones/{zone_id}/traffic")
        row = one(browser, f"#zone-traffic #record-table tr[data-record='{WWW} A']")
        assert int(row.find_elements("css selector", "td")[3].text) >= answers
        assert {r.get_attribute("data-record") for r in
                css(browser, "#zone-traffic #record-table tbody tr")} <= {f"{WWW} A", f"{ZONE} SOA",
                                                                          f"{ZONE} NS"}
        if WRITE_SHOTS:  # a few samples, so the README's picture has lines
            time.sleep(9)
            shot(browser, "traffic-records")
    assert asker.got.get((WWW, 0), 0) >= answers  # the server counted what it answered


def test_key_without_get_metrics_sees_access_denied(metered, zone_id, browser):
    button(browser, "Log out").click()
    login(browser, metered, *metered.limited)
    goto(browser, metered.base + "/console/#/traffic")
    err = one(browser, "#traffic-charts .msg.error")
    assert err.get_attribute("data-code") == "AccessDenied"
    assert "zonefront:GetMetrics" in err.text
    assert not css(browser, "#record-qps")
    button(browser, "Log out").click()
