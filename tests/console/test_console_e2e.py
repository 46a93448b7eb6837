"""The web console in a real headless Chromium against `zonefront serve`:
the issue's "done means" scenario, in order (one server, one browser).

log in -> create a zone -> health check on a local HTTP server -> weighted
pair + failover pair submitted as one change batch -> INSYNC shown ->
dnspython gets the answers -> the target stops: unhealthy in the console and
the failover answer changes -> zone import with an error shows its line ->
page through 20,000 record sets -> a key without rights sees AccessDenied;
and every request the browser made went to the server.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time

import dns.message
import dns.query
import dns.rdatatype
import pytest

from .conftest import BIG_COUNT, BIG_ZONE, KEY_ID, SECRET, SHOTS, Target

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
ZONE = "shop.test."
state: dict = {}


def wait(cond, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = cond()
            if last:
                return last
        except Exception as e:  # element not there yet, stale after a re-render
            last = e
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def css(driver, sel):
    return driver.find_elements("css selector", sel)


def one(driver, sel, timeout=20.0):
    return wait(lambda: (css(driver, sel) or [None])[0], timeout, sel)


def by_label(root, label):
    """The control a <label> names (what a screen reader announces)."""
    lab = wait(lambda: [x for x in root.find_elements("css selector", "label")
                        if x.text.strip() == label][0], 10, f"label {label!r}")
    return root.find_element("id", lab.get_attribute("for"))


def fill(root, label, value):
    el = by_label(root, label)
    el.clear()
    el.send_keys(value)
    return el


def choose(root, label, value):
    from selenium.webdriver.support.ui import Select

    Select(by_label(root, label)).select_by_value(value)


def button(root, text):
    return wait(lambda: [b for b in root.find_elements("css selector", "button")
                         if b.text.strip() == text and b.is_displayed()][0], 10, f"button {text!r}")


def shot(driver, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def query(served, name, rdtype="A"):
    q = dns.message.make_query(name, rdtype)
    r = dns.query.udp(q, served.dns[0], port=served.dns[1], timeout=2)
    return sorted(rr.address for rrset in r.answer for rr in rrset
                  if rrset.rdtype == dns.rdatatype.from_text(rdtype))


def login(driver, served, key, secret):
    driver.get(served.base + "/console/#/login")
    form = one(driver, "form.login")
    fill(form, "Access key ID", key)
    fill(form, "Secret access key", secret)
    button(form, "Log in").click()


def test_console_served_with_csp(served):
    import urllib.request

    with urllib.request.urlopen(served.base + "/console/") as r:
        assert r.status == 200
        assert "connect-src 'self'" in r.headers["Content-Security-Policy"]
        assert b'<script type="module" src="js/app.js">' in r.read()


def test_login_and_create_zone(served, browser):
    login(browser, served, KEY_ID, SECRET)
    one(browser, "h1")
    wait(lambda: browser.find_element("css selector", "h1").text == "Hosted zones", what="zones page")
    shot(browser, "zones")
    details = one(browser, "details")
    details.find_element("css selector", "summary").click()
    fill(details, "Domain name", ZONE)
    fill(details, "Comment", "made in the console")
    button(details, "Create hosted zone").click()
    wait(lambda: "/zones/" in browser.current_url and browser.find_element("css selector", "h1").text.startswith(ZONE),
         what="zone page")
    state["zone_id"] = browser.current_url.rsplit("/zones/", 1)[1].split("/")[0]
    assert state["zone_id"].startswith("Z")
