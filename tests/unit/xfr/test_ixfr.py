"""IXFR out (RFC 1995): deltas from the history, the current-SOA answer, the AXFR fallback."""
import dns.message
import dns.query
import dns.rdatatype
import dns.zone

from zonefront import model
from zonefront.xfr.history import History, diff, records

from helpers.xfr import changed, query

ADDR = "127.0.0.1"


def ixfr(port, serial):
    msgs = list(dns.query.xfr(ADDR, "xfr.test.", rdtype=dns.rdatatype.IXFR, serial=serial,
                              port=port, timeout=5, relativize=False))
    return [rrset for m in msgs for rrset in m.answer]


def flat(rrsets):
    """(owner, type, text) per RR, in order (SOA serials kept visible)."""
    return [(str(r.name), dns.rdatatype.to_text(r.rdtype), rd.to_text()) for r in rrsets
            for rd in r]


def test_ixfr_sends_the_deltas(primary, zone):
    p = primary([zone])
    z11 = changed(zone, 11, add=[("new", "A", 300, "192.0.2.77")], remove=[("mail", "A")])
    p.publish([z11])
    z12 = changed(z11, 12, add=[("www", "A", 300, "192.0.2.12")])
    p.publish([z12])
    got = flat(ixfr(p.port, 10))
    soas = [int(t.split()[2]) for _, ty, t in got if ty == "SOA"]
    assert soas == [12, 10, 11, 11, 12, 12]
    assert ("mail.xfr.test.", "A", "192.0.2.25") in got
    assert ("new.xfr.test.", "A", "192.0.2.77") in got
    assert ("www.xfr.test.", "A", "192.0.2.12") in got
    assert len(got) == 6 + 3  # SOAs + one removed + two added
    assert p.service.recent[-1][0] == "ixfr"
    # from the middle of the history
    assert [int(t.split()[2]) for _, ty, t in flat(ixfr(p.port, 11)) if ty == "SOA"] == \
        [12, 11, 12, 12]


def test_ixfr_when_current_is_one_soa(primary):
    p = primary()
    got = flat(ixfr(p.port, 10))
    assert len(got) == 1 and got[0][1] == "SOA"
    assert p.service.recent[-1][0] == "ixfr-current"


def test_ixfr_falls_back_to_the_whole_zone(primary, zone):
    """A serial the history does not know (a restart, an old secondary) gets AXFR-style."""
    p = primary([zone])
    p.publish([changed(zone, 11, add=[("new", "A", 300, "192.0.2.77")])])
    got = flat(ixfr(p.port, 5))
    assert got[0][1] == got[-1][1] == "SOA" and len(got) == 23 + 1
    assert p.service.recent[-1][0] == "ixfr-axfr"
    p.service.history.forget(zone.origin)
    got = flat(ixfr(p.port, 10))
    assert len(got) == 24 and p.service.recent[-1][0] == "ixfr-axfr"


def test_udp_ixfr_is_refused(primary):
    p = primary()
    q = dns.message.make_query("xfr.test.", "IXFR")
    r = dns.query.udp(q, ADDR, port=p.port, timeout=2)
    assert r.rcode() in (dns.rcode.REFUSED,) or (len(r.answer) == 1)


def test_history_replays_to_the_new_zone(zone):
    """Applying every delta to the old records gives exactly the new ones."""
    z11 = changed(zone, 11, add=[("new", "A", 300, "192.0.2.77"), ("www", "A", 300, "192.0.2.9")],
                  remove=[("mail", "A"), ("txt", "TXT")])
    z11.rrsets[(model.name_from_text("ns2.xfr.test."), model.TYPE_A)] = model.RRset(
        model.name_from_text("ns2.xfr.test."), model.TYPE_A, 7, [bytes([192, 0, 2, 2])])
    removed, added = diff(zone, z11)
    have = set(records(zone))
    assert set(removed) <= have
    assert (have - set(removed)) | set(added) == set(records(z11))
    h = History(max_records=10)
    for i in range(5):
        h.add(zone.origin, _delta(i, i + 1, 3))
    assert h.serials(zone.origin)[0] > 0  # the oldest were dropped to stay under 10 records
    assert h.chain(zone.origin, 0, 5) is None
    assert h.chain(zone.origin, 4, 5) is not None


def _delta(a, b, n):
    from zonefront.xfr.history import Delta
    rec = (b"\x01x\x00", 1, 60, b"\x01\x02\x03\x04")
    return Delta(a, b, (60, b""), (60, b""), [rec] * (n // 2), [rec] * (n - n // 2 - 2 + 2))


def test_soa_over_udp_still_from_the_engine(primary):
    p = primary()
    r = query((ADDR, p.port), "xfr.test.", "SOA")
    assert r.answer[0][0].serial == 10
