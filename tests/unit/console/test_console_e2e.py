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

from .conftest import (
    BIG_COUNT,
    BIG_ZONE,
    KEY_ID,
    REGISTRY_TLD,
    SECRET,
    SHOTS,
    VPC_ID,
    VPC_REGION,
    WRITE_SHOTS,
    Target,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
ZONE = "shop.test."
state: dict = {}


def wait(cond, timeout=20.0, what="condition", poll=0.05):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = cond()
            if last:
                return last
        except Exception as e:  # element not there yet, stale after a re-render
            last = e
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


_loads = [0]


def goto(browser, url):
    """A fresh page load even when only the #fragment differs from the
    current URL (a same-document navigation would keep the old page)."""
    _loads[0] += 1
    base, _, frag = url.partition("#")
    browser.get(f"{base}?load={_loads[0]}#{frag}")


def css(driver, sel):
    return driver.find_elements("css selector", sel)


def one(driver, sel, timeout=20.0):
    return wait(lambda: (css(driver, sel) or [None])[0], timeout, sel)


def xq(text: str) -> str:
    """An XPath string literal for text (which may hold either quote)."""
    if "'" not in text:
        return f"'{text}'"
    return "concat(" + ", \"'\", ".join(f"'{p}'" for p in text.split("'")) + ")"


def by_label(root, label):
    """The control a <label> names (what a screen reader announces)."""
    lab = wait(lambda: root.find_elements("xpath", f".//label[normalize-space()={xq(label)}]")[0],
               10, f"label {label!r}")
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
    return wait(lambda: [b for b in root.find_elements(
        "xpath", f".//button[normalize-space()={xq(text)}]") if b.is_displayed()][0],
        10, f"button {text!r}")


def shot(driver, name):
    """A README picture (docs/console/NAME.png), only with ZONEFRONT_SCREENSHOTS=1."""
    if not WRITE_SHOTS:
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def query(served, name, rdtype="A"):
    q = dns.message.make_query(name, rdtype)
    r = dns.query.udp(q, served.dns[0], port=served.dns[1], timeout=2)
    return sorted(rr.address for rrset in r.answer for rr in rrset
                  if rrset.rdtype == dns.rdatatype.from_text(rdtype))


def login(driver, served, key, secret):
    goto(driver, served.base + "/console/#/login")
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


def test_create_private_zone_with_the_vpc_picker(served, browser):
    goto(browser, served.base + "/console/#/zones")
    details = one(browser, "details")
    details.find_element("css selector", "summary").click()
    fill(details, "Domain name", "inside.test.")
    vpc = by_label(details, "VPC")
    assert not vpc.is_displayed()  # only for private zones
    details.find_element("css selector", "input[name=private]").click()
    choose(details, "VPC", f"{VPC_REGION}|{VPC_ID}")
    button(details, "Create hosted zone").click()
    wait(lambda: browser.find_element("css selector", "h1").text == "inside.test. (private)",
         what="the private zone's page")
    zone_id = browser.current_url.rsplit("/zones/", 1)[1].split("/")[0]
    got = r53client(served).get_hosted_zone(Id=zone_id)
    assert got["HostedZone"]["Config"]["PrivateZone"] is True
    assert got["VPCs"] == [{"VPCRegion": VPC_REGION, "VPCId": VPC_ID}]


def test_create_health_check(served, browser):
    state["target"] = target = Target()
    goto(browser, served.base + "/console/#/health")
    wait(lambda: browser.find_element("css selector", "h1").text == "Health checks", what="health page")
    button(browser, "Create health check").click()
    form = one(browser, "#hc-form")
    choose(form, "Type", "HTTP")
    fill(form, "IP address", "127.0.0.1")
    fill(form, "Port", str(target.port))
    fill(form, "Path", "/health")
    fill(form, "Request interval (s)", "1")
    fill(form, "Failure threshold", "1")
    button(form, "Create").click()
    row = one(browser, "#health-table tr[data-check]")
    state["check_id"] = row.get_attribute("data-check")
    wait(lambda: "Healthy (3/3" in one(browser, f'tr[data-check="{state["check_id"]}"] td.state').text,
         timeout=20, what="healthy from all three checker locations")


def add_record(browser, name, value, policy, set_id, extra):
    button(browser, "Create record").click()
    form = one(browser, "#record-form")
    fill(form, "Record name", name)
    choose(form, "Type", "A")
    choose(form, "Routing policy", policy)
    fill(form, "Set identifier", set_id)
    fill(form, "TTL (seconds)", "60")
    fill(form, "Values (one per line)", value)
    extra(form)
    button(form, "Add to batch").click()
    wait(lambda: not css(browser, "#record-form"), what="form closed")


def test_weighted_and_failover_pairs_in_one_batch_reach_insync(served, browser):
    goto(browser, served.base + f"/console/#/zones/{state['zone_id']}")
    one(browser, "#rrset-table")
    add_record(browser, "www", "192.0.2.1", "weighted", "blue", lambda f: fill(f, "Weight (0-255)", "1"))
    add_record(browser, "www", "192.0.2.2", "weighted", "green", lambda f: fill(f, "Weight (0-255)", "3"))

    def primary(f):
        choose(f, "Failover record type", "PRIMARY")
        choose(f, "Health check", state["check_id"])

    add_record(browser, "app", "192.0.2.10", "failover", "main", primary)
    add_record(browser, "app", "192.0.2.20", "failover", "backup",
               lambda f: choose(f, "Failover record type", "SECONDARY"))
    assert "4 pending change(s)" in one(browser, "#batch h2").text
    shot(browser, "batch")
    button(browser, "Submit batch").click()
    status = one(browser, "#change-status")
    assert status.text in ("PENDING", "INSYNC")
    wait(lambda: one(browser, "#change-status").text == "INSYNC", timeout=20, what="INSYNC")
    rows = wait(lambda: [r for r in css(browser, "#rrset-table tbody tr")
                         if r.get_attribute("data-type") == "A"], what="A rows")
    assert {(r.get_attribute("data-name"), r.get_attribute("data-set")) for r in rows} == {
        ("www.shop.test.", "blue"), ("www.shop.test.", "green"),
        ("app.shop.test.", "main"), ("app.shop.test.", "backup")}
    shot(browser, "records")
    seen = set()
    for _ in range(40):
        seen.update(query(served, "www.shop.test."))
    assert seen == {"192.0.2.1", "192.0.2.2"}
    assert query(served, "app.shop.test.") == ["192.0.2.10"]


def test_target_down_turns_unhealthy_and_failover_answer_changes(served, browser):
    goto(browser, served.base + f"/console/#/health/{state['check_id']}")
    one(browser, "#hc-observations")
    state["target"].stop()
    wait(lambda: "Unhealthy" in one(browser, f'tr[data-check="{state["check_id"]}"] td.state').text,
         timeout=30, what="unhealthy in the console")
    wait(lambda: any("Failure" in td.text for td in css(browser, "#hc-observations td.unhealthy")),
         timeout=10, what="failure per checker location")
    wait(lambda: css(browser, "#hc-failures tbody tr"), timeout=10, what="last failure reason")
    shot(browser, "health")
    wait(lambda: query(served, "app.shop.test.") == ["192.0.2.20"], timeout=15,
         what="the secondary's answer")


def test_calculated_check_picks_its_child(served, browser):
    goto(browser, served.base + "/console/#/health")
    button(browser, "Create health check").click()
    form = one(browser, "#hc-form")
    choose(form, "Type", "CALCULATED")
    assert not by_label(form, "IP address").is_displayed()
    form.find_element("css selector", f'input[name=child][value="{state["check_id"]}"]').click()
    fill(form, "Healthy children needed", "1")
    button(form, "Create").click()
    calc = wait(lambda: [r for r in css(browser, "#health-table tr[data-check]")
                         if r.get_attribute("data-check") != state["check_id"]][0], what="new row")
    assert "CALCULATED" in calc.text and "1 children, threshold 1" in calc.text
    # its only child is down (the target stopped above), so it is too
    wait(lambda: "Unhealthy: 0 of 1 child" in calc.find_element("css selector", "td.state").text,
         what="calculated check unhealthy")
    # edit (UpdateHealthCheck): needing no healthy child makes it healthy
    calc_id = calc.get_attribute("data-check")
    calc.find_element("xpath", ".//button[text()='Edit']").click()
    form = one(browser, "#hc-form")
    fill(form, "Healthy children needed", "0")
    button(form, "Save").click()
    wait(lambda: "Healthy: 0 of 1 child" in one(browser, f'tr[data-check="{calc_id}"] td.state').text,
         what="calculated check healthy after the edit")


ZONEFILE_CASES = """
    const done = arguments[arguments.length - 1];
    import('/console/js/zonefile.js').then((z) => {
      const ok = z.parse([
        '$ORIGIN shop.test.', '$TTL 1h',
        '@ IN SOA ns1 hostmaster ( 1 7200', '   900 1209600 86400 ) ; multi-line',
        '  IN NS ns1.example.',
        'www 300 IN A 192.0.2.1', '    IN A 192.0.2.2',
        'txt IN 60 TXT "a;b" "c d"', 'mx MX 10 mail'].join('\\n'),
        'shop.test.');
      const errs = [['a IN A 1.2.3.4', 'x.'], ['$TTL 300\\nok A 192.0.2.1\\nbad IN WKS 1', 'shop.test.'],
                    ['$TTL 300\\n\\n(\\nx A 1', 'shop.test.'], ['x IN A 192.0.2.1', 'shop.test.'],
                    ['$TTL 300\\nt TXT "open', 'shop.test.'],
                    ['$TTL 5\\nalias.other.test. CNAME www', 'shop.test.']].map(([t, o]) => {
        try { z.parse(t, o); return null; } catch (e) { return [e.line, e.reason]; }
      });
      done({ok: ok.rrsets.map((r) => [r.Name, r.Type, r.TTL, r.values, r.line]), errs});
    }).catch((e) => done({error: String(e)}));"""


def test_zone_file_parser(served, browser):
    got = browser.execute_async_script(ZONEFILE_CASES)
    assert "error" not in got, got
    assert got["ok"] == [
        ["shop.test.", "SOA", 3600, ["ns1.shop.test. hostmaster.shop.test. 1 7200 900 1209600 86400"], 3],
        ["shop.test.", "NS", 3600, ["ns1.example."], 5],
        ["www.shop.test.", "A", 300, ["192.0.2.1", "192.0.2.2"], 6],
        ["txt.shop.test.", "TXT", 60, ['"a;b" "c d"'], 8],
        ["mx.shop.test.", "MX", 3600, ["10 mail.shop.test."], 9],
    ]
    assert got["errs"] == [
        [1, "no TTL and no $TTL before it"],
        [3, "type 'WKS' is not one Route 53 stores"],
        [3, "unbalanced '(': missing ')'"],
        [1, "no TTL and no $TTL before it"],
        [2, "unterminated quoted string"],
        [2, "alias.other.test. is outside the zone shop.test."],
    ]


def test_import_with_an_error_shows_its_line(served, browser):
    goto(browser, served.base + f"/console/#/zones/{state['zone_id']}/import")
    text = one(browser, "#zonefile-text")
    text.send_keys("$TTL 300\nmail IN A 192.0.2.25\nbroken IN A\nok IN TXT \"fine\"\n")
    button(browser, "Import").click()
    err = one(browser, "#import-result .msg.error")
    assert err.get_attribute("data-line") == "3"
    assert err.text.startswith("ZoneFileError: Line 3:")
    shot(browser, "import")
    # the same file fixed imports as one change batch and reaches INSYNC
    text.clear()
    text.send_keys("$TTL 300\nmail IN A 192.0.2.25\nfixed IN A 192.0.2.26\n")
    button(browser, "Import").click()
    one(browser, "#import-result .msg.ok")
    wait(lambda: one(browser, "#change-status").text == "INSYNC", timeout=20, what="INSYNC")
    assert query(served, "fixed.shop.test.") == ["192.0.2.26"]


PAGE_NAMES = "return Array.from(document.querySelectorAll('#rrset-table tbody tr'))" \
             ".map(r => r.dataset.name + ' ' + r.dataset.type);"


PAGE_THROUGH = """
    const [maxPages, clickFirst, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
    const names = () => Array.from(document.querySelectorAll('#rrset-table tbody tr'))
      .map((r) => r.dataset.name + ' ' + r.dataset.type);
    const label = () => (document.getElementById('page-label') || {}).textContent;
    const turn = async () => {
      const before = label();
      document.getElementById('next-page').click();
      while (label() === before) await new Promise((r) => setTimeout(r, 2));
    };
    (async () => {
      const seen = [];
      let pages = 0;
      if (clickFirst) await turn();
      for (;;) {
        seen.push(...names());
        pages++;
        const next = document.getElementById('next-page');
        if (next.disabled || pages === maxPages) return { seen, pages, last: next.disabled };
        await turn();
      }
    })().then(done, (e) => done({ error: String(e) }));"""


def test_page_through_20000_record_sets(served, browser):
    goto(browser, served.base + "/console/#/zones")
    form = one(browser, "form[role=search]")
    fill(form, "Find zones by name (from this name on, in Route 53's order)", BIG_ZONE)
    button(form, "Search").click()
    link = wait(lambda: [a for a in css(browser, "#zones-table a") if a.text == BIG_ZONE][0],
                what="the big zone in the search result")
    link.click()
    one(browser, "#next-page")
    # the clicks and reads run inside the page (one WebDriver call for many
    # pages): what is timed is the console's paging, not WebDriver round trips
    browser.set_script_timeout(120)
    t0 = time.monotonic()
    first = browser.execute_async_script(PAGE_THROUGH, 2, False)
    shot(browser, "paging")
    rest = browser.execute_async_script(PAGE_THROUGH, 1000, True)
    assert rest["last"]
    seen = first["seen"] + rest["seen"]
    pages = first["pages"] + rest["pages"]
    elapsed = time.monotonic() - t0
    hosts = [n for n in seen if n.endswith(" A")]
    assert len(hosts) == BIG_COUNT and len(set(seen)) == len(seen)
    assert hosts == sorted(hosts)  # h00000 .. h19999, each once, in Route 53's order
    assert pages == (BIG_COUNT + 2 + 99) // 100
    print(f"paged {len(seen)} record sets in {pages} pages, {elapsed:.1f}s")
    button(browser, "Previous page").click()
    wait(lambda: browser.execute_script(PAGE_NAMES)[0] == seen[-(len(seen) % 100 or 100) - 100],
         what="the previous page")
    # the name filter jumps straight to a name deep in the zone
    form = one(browser, "form[role=search]")
    fill(form, "Record name (and below)", "h15000")
    button(form, "Filter").click()
    wait(lambda: browser.execute_script(PAGE_NAMES) == [f"h15000.{BIG_ZONE} A"], what="filtered")


def r53client(served):
    import boto3
    import botocore.config

    return boto3.client("route53", endpoint_url=served.base, region_name="us-east-1",
                        aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
                        config=botocore.config.Config(retries={"max_attempts": 1}))


UNLABELLED = """return Array.from(document.querySelectorAll('input,select,textarea'))
  .filter(e => e.type !== 'hidden' && e.offsetParent !== null
               && !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
  .map(e => e.name || e.outerHTML.slice(0, 80));"""


def row_for(browser, name, set_id=""):
    return [r for r in css(browser, "#rrset-table tbody tr")
            if r.get_attribute("data-name") == name and r.get_attribute("data-set") == set_id]


def test_record_forms_edit_and_route53_error_text(served, browser):
    goto(browser, served.base + f"/console/#/zones/{state['zone_id']}")
    one(browser, "#rrset-table tbody tr")
    # geolocation with the continent picker, submitted at once
    button(browser, "Create record").click()
    form = one(browser, "#record-form")
    for policy in ("weighted", "latency", "failover", "geolocation", "geoproximity",
                   "multivalue", "ip", "simple"):
        choose(form, "Routing policy", policy)
        assert browser.execute_script(UNLABELLED) == [], policy
        shown = browser.execute_script(
            "return Array.from(document.querySelectorAll('#record-form [data-policy]'))"
            ".filter(e => e.offsetParent !== null).map(e => e.dataset.policy)")
        assert shown == ([] if policy == "simple" else [policy])  # only its own fields
    fill(form, "Record name", "geo")
    choose(form, "Routing policy", "geolocation")
    fill(form, "Set identifier", "europe")
    fill(form, "Values (one per line)", "192.0.2.30")
    choose(form, "Continent", "EU")
    button(form, "Create record").click()
    wait(lambda: row_for(browser, "geo.shop.test.", "europe"), what="geolocation row")
    assert "Geolocation EU" in row_for(browser, "geo.shop.test.", "europe")[0].text
    # an alias to the weighted name, picked from the zone's names
    button(browser, "Create record").click()
    form = one(browser, "#record-form")
    fill(form, "Record name", "alias")
    form.find_element("css selector", "input[name=alias]").click()
    choose(form, "Alias target hosted zone", state["zone_id"])
    options = [o.get_attribute("value") for o in
               by_label(form, "Alias target name").find_elements("xpath", "following::datalist[1]/option")]
    assert "www.shop.test." in options  # the target picker offers the zone's names
    fill(form, "Alias target name", "www.shop.test.")
    button(form, "Create record").click()
    wait(lambda: row_for(browser, "alias.shop.test."), what="alias row")
    assert "ALIAS www.shop.test." in row_for(browser, "alias.shop.test.")[0].text
    # edit: the weight of one member of the weighted pair (UPSERT)
    row_for(browser, "www.shop.test.", "blue")[0].find_element("xpath", ".//button[text()='Edit']").click()
    form = one(browser, "#record-form")
    fill(form, "Weight (0-255)", "5")
    button(form, "Save changes").click()
    wait(lambda: "Weighted 5" in row_for(browser, "www.shop.test.", "blue")[0].text, what="weight 5")
    # Route 53's own error text: a CNAME at the apex, as the API answers boto3
    button(browser, "Create record").click()
    form = one(browser, "#record-form")
    choose(form, "Type", "CNAME")
    fill(form, "Values (one per line)", "target.example.")
    button(form, "Create record").click()
    err = one(browser, "#zone-msg .msg.error")
    import botocore.exceptions

    with pytest.raises(botocore.exceptions.ClientError) as e:
        r53client(served).change_resource_record_sets(HostedZoneId=state["zone_id"], ChangeBatch={
            "Changes": [{"Action": "CREATE", "ResourceRecordSet": {
                "Name": ZONE, "Type": "CNAME", "TTL": 300,
                "ResourceRecords": [{"Value": "target.example."}]}}]})
    code, text = e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]
    assert err.get_attribute("data-code") == code
    assert err.text == f"{code}: {text}"
    button(browser, "Cancel").click()
    # the name and type filter
    form = one(browser, "form[role=search]")
    fill(form, "Record name (and below)", "www")
    choose(form, "Type", "A")
    button(form, "Filter").click()
    wait(lambda: browser.execute_script(PAGE_NAMES) == ["www.shop.test. A"] * 2, what="www A only")
    choose(form, "Type", "TXT")
    button(form, "Filter").click()
    one(browser, "#rrset-table p")  # "No record sets match."
    assert browser.execute_script(PAGE_NAMES) == []


def test_export_and_delete_zone_with_confirmation(served, browser):
    goto(browser, served.base + f"/console/#/zones/{state['zone_id']}/import")
    button(browser, "Export zone file").click()
    text = wait(lambda: one(browser, "#export-preview").text, what="export")
    assert "mail.shop.test.\t300\tIN\tA\t192.0.2.25" in browser.execute_script(
        "return document.getElementById('export-preview').textContent")
    assert "www.shop.test. A (Weighted" in text  # routed sets are named, as comments
    client = r53client(served)
    client.create_hosted_zone(Name="gone.test.", CallerReference="console-gone")
    goto(browser, served.base + "/console/#/zones")
    row = wait(lambda: [r for r in css(browser, "#zones-table tr")
                        if r.get_attribute("data-zone") == "gone.test."][0], what="gone.test row")
    row.find_element("css selector", "button.danger").click()
    dialog = one(browser, "dialog[open]")
    ok = [b for b in dialog.find_elements("css selector", "button") if b.text == "Delete"][0]
    assert not ok.is_enabled()  # until the name is typed
    fill(dialog, "Type gone.test. to confirm", "gone.test.")
    ok.click()
    one(browser, "#zones-msg .msg.ok")
    names = [z["Name"] for z in client.list_hosted_zones()["HostedZones"]]
    assert "gone.test." not in names and ZONE in names


def test_zone_list_pages_over_a_hundred_zones(served, browser):
    client = r53client(served)
    for i in range(99):  # with big.test and shop.test: 101, two pages
        client.create_hosted_zone(Name=f"z{i:03d}.many.test.", CallerReference=f"many-{i}")
    total = sum(len(p["HostedZones"]) for p in client.get_paginator("list_hosted_zones").paginate())
    goto(browser, served.base + "/console/#/zones")
    one(browser, "#zones-table tbody tr")
    first = [r.get_attribute("data-zone") for r in css(browser, "#zones-table tbody tr")]
    assert len(first) == 100
    button(browser, "Next page").click()
    wait(lambda: css(browser, "#zones-table tbody tr")[0].get_attribute("data-zone") not in first,
         what="page 2")
    second = [r.get_attribute("data-zone") for r in css(browser, "#zones-table tbody tr")]
    assert len(first) + len(second) == total and not set(first) & set(second)
    assert browser.execute_script(UNLABELLED) == []


def test_other_pages_render(served, browser):
    goto(browser, served.base + "/console/#/traffic")
    # no --metrics-listen on this server: the panel says what it needs
    assert "--metrics-listen" in one(browser, "#metrics-needed").text
    form = one(browser, "form[aria-labelledby=test-title]")
    choose(form, "Hosted zone", state["zone_id"])
    fill(form, "Record name", "app.shop.test.")
    fill(form, "Resolver IP", "192.0.2.53")
    button(form, "Get response").click()
    # TestDNSAnswer's answer, or Route 53's error text when this server lacks it
    wait(lambda: css(browser, "#test-result table") or css(browser, "#test-result .msg.error"),
         what="a test-a-query result")
    shot(browser, "traffic")
    goto(browser, served.base + f"/console/#/zones/{state['zone_id']}/dnssec")
    wait(lambda: css(browser, "#dnssec") or css(browser, "#zone-msg .msg.error"), what="DNSSEC status")
    if css(browser, "#dnssec"):
        assert one(browser, "#serve-signature").text in ("NOT_SIGNING", "SIGNING", "DELETING",
                                                          "ACTION_NEEDED", "INTERNAL_FAILURE")


def test_domains_register_and_manage(served, browser):
    domain = f"console.{REGISTRY_TLD}"
    goto(browser, served.base + "/console/#/domains")
    search = one(browser, "form[role=search]")
    fill(search, "Domain name", domain)
    button(search, "Check availability").click()
    assert one(browser, "#availability strong").text == "AVAILABLE"
    form = one(browser, "#availability form")
    button(form, "Register").click()  # no contact yet: the registry's own words
    err = one(browser, "#domains-msg .msg.error")
    assert err.get_attribute("data-code") == "InvalidInput"
    assert "Contact is missing FirstName, LastName" in err.text
    for label, value in (("First name", "Ada"), ("Last name", "Lovelace"), ("Address", "1 Main St"),
                         ("City", "London"), ("Country code", "GB"),
                         ("Phone (+1.5555550100)", "+44.2079460000"), ("Email", "ada@example.org")):
        fill(form, label, value)
    button(form, "Register").click()
    ok = wait(lambda: [m for m in css(browser, "#domains-msg .msg.ok")
                       if "Registration submitted" in m.text][0], what="submitted")
    op_id = ok.text.rsplit(" ", 1)[1].rstrip(".")

    def registered():
        goto(browser, served.base + "/console/#/domains")
        one(browser, "table[aria-label=Operations]")
        rows = [r.text for r in css(browser, "table[aria-label=Operations] tbody tr")]
        return any(op_id in r and "SUCCESSFUL" in r for r in rows) and css(
            browser, f'a[href="#/domains/{domain}"]')

    wait(registered, timeout=20, what="registration SUCCESSFUL", poll=0.5)
    shot(browser, "domains")
    one(browser, f'a[href="#/domains/{domain}"]').click()
    button(browser, "Turn auto-renew off").click()
    one(browser, "#domains-msg .msg.ok")
    goto(browser, served.base + f"/console/#/domains/{domain}")
    button(browser, "Turn auto-renew on")  # the detail now reads auto-renew off


def test_key_without_rights_sees_access_denied(served, browser):
    browser.find_element("xpath", "//button[text()='Log out']").click()
    login(browser, served, *served.limited)
    err = one(browser, "#zones-msg .msg.error[role=alert]")
    assert err.get_attribute("data-code") == "AccessDenied"
    assert "not authorized to perform: route53:ListHostedZones" in err.text
    shot(browser, "denied")
    goto(browser, served.base + "/console/#/health")
    err = one(browser, "#health-msg .msg.error")
    assert "route53:ListHealthChecks" in err.text


def test_wrong_secret_is_refused_at_login(served, browser):
    browser.find_element("xpath", "//button[text()='Log out']").click()
    login(browser, served, KEY_ID, "not-the-secret")
    err = one(browser, "#login-msg .msg.error")
    assert err.get_attribute("data-code") == "SignatureDoesNotMatch"


def test_login_by_keyboard_alone(served, browser):
    from selenium.webdriver.common.keys import Keys

    goto(browser, served.base + "/console/#/login")
    one(browser, "form.login")
    active = wait(lambda: browser.switch_to.active_element.get_attribute("name") == "key"
                  and browser.switch_to.active_element, what="focus on the key field")
    active.send_keys(KEY_ID, Keys.TAB)
    browser.switch_to.active_element.send_keys(SECRET, Keys.ENTER)
    wait(lambda: browser.find_element("css selector", "h1").text == "Hosted zones", what="logged in")
    # the first Tab of a page reaches the skip link
    browser.find_element("css selector", "body").send_keys(Keys.TAB)
    browser.execute_script("document.activeElement.blur(); window.scrollTo(0, 0);")


def test_dark_scheme_at_phone_width(served, browser):
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [
        {"name": "prefers-color-scheme", "value": "dark"}]})
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    try:
        goto(browser, served.base + f"/console/#/zones/{state['zone_id']}")
        one(browser, "#rrset-table tbody tr")
        bg = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
        assert bg == "rgb(15, 20, 25)"  # the dark palette
        # nothing wider than the phone: wide tables scroll inside their own box
        assert browser.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth")
        shot(browser, "dark-phone")
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def test_plain_js_sha256_matches_hashlib(served, browser):
    """The fallback used where crypto.subtle is missing (plain HTTP, not localhost)."""
    msgs = ["", "abc", "x" * 55, "y" * 56, "z" * 64, "é" * 200]
    got = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        import('/console/js/sha256.js').then((m) => {
          const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
          const e = new TextEncoder();
          done(arguments[0].map((s) => [hex(m.sha256(e.encode(s))),
                                        hex(m.hmacSha256(e.encode('key' + s), e.encode(s)))]));
        });""", msgs)
    want = [[hashlib.sha256(s.encode()).hexdigest(),
             hmac.new(("key" + s).encode(), s.encode(), hashlib.sha256).hexdigest()] for s in msgs]
    assert got == want


def test_metrics_parsing_and_chart(served, browser):
    """What the traffic panel charts once /metrics exists: Prometheus text
    parsed into samples, and a chart with one line per series."""
    got = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        Promise.all([import('/console/js/prom.js'), import('/console/js/chart.js')]).then(([p, c]) => {
          const text = '# HELP q queries\\n# TYPE q counter\\n' +
            'zonefront_queries_total{zone="shop.test.",rcode="NOERROR"} 42\\n' +
            'zonefront_queries_total{zone="shop.test.",rcode="NXDOMAIN"} 3\\nup 1\\n';
          const s = p.samples(text, /queries_total$/);
          const fig = c.lineChart('t', [{name: 'a', points: [[0, 1], [1000, 2], [2000, 4]]},
                                       {name: 'b', points: [[0, 0], [2000, 1]]}], '/s');
          done({s, lines: Array.from(fig.querySelectorAll('polyline'))
                               .map((l) => l.getAttribute('points').split(' ').length),
                legend: fig.querySelector('.legend').textContent});
        });""")
    assert got["s"] == [
        {"name": "zonefront_queries_total", "labels": {"zone": "shop.test.", "rcode": "NOERROR"},
         "value": 42},
        {"name": "zonefront_queries_total", "labels": {"zone": "shop.test.", "rcode": "NXDOMAIN"},
         "value": 3}]
    assert got["lines"] == [3, 2]
    assert got["legend"] == "a: 4/sb: 1/s"


def test_traffic_rates_from_two_scrapes(served, browser):
    """Per-zone queries per second and per-rcode rates, as the traffic panel
    computes them from zonefront_dns_responses_total between two scrapes."""
    got = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        import('/console/js/traffic.js').then((t) => {
          const scrape = (a, b, c) =>
            `zonefront_dns_responses_total{transport="udp",qtype="A",rcode="NOERROR",zone="a."} ${a}\\n` +
            `zonefront_dns_responses_total{transport="tcp",qtype="A",rcode="NOERROR",zone="a."} ${b}\\n` +
            `zonefront_dns_responses_total{transport="udp",qtype="A",rcode="NXDOMAIN",zone="a."} ${c}\\n` +
            `zonefront_dns_queries_total{transport="udp"} 999\\n`;
          done(t.rates(t.totals(scrape(10, 5, 1)), t.totals(scrape(30, 9, 5)), 2));
        }).catch((e) => done({error: String(e)}));""")
    assert got == {"zones": {"a.": 14}, "codes": {"a.": {"NOERROR": 12, "NXDOMAIN": 2}}}


def test_browser_requested_only_the_server(served, browser):
    """Every request of every page above went to the server's origin."""
    urls = []
    for entry in browser.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    assert len(urls) > 200  # the pages above, the API calls, 201 record pages
    outside = [u for u in urls if not u.startswith(served.base + "/")
               and not u.startswith(("data:", "blob:"))]
    assert outside == []
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"
              and "Failed to load resource" not in e["message"]]
    assert errors == []  # no script error on any page
