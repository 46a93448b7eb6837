"""NSD and Knot as secondaries of zonefront: AXFR, then IXFR after a change and NOTIFY,
TSIG enforced, and the same answers as zonefront for the zone's names."""
import time

import dns.flags
import dns.rcode
import pytest

from helpers.xfr import KEY, KEY_TEXT, changed, free_port, query, wait_for
from helpers.secondaries import Knot, Nsd
from helpers.xfr_zones import NAMES

SOURCES = {"nsd": "127.0.0.3", "knot": "127.0.0.4"}


def answer_key(r):
    """What must match: rcode, AA, the answer, and the authority section when
    there is no answer (the SOA of a negative answer, a referral's NS).  NS
    in the authority of a positive answer is optional (NSD and Knot leave it
    out), so it is not compared."""
    def section(s):
        return sorted((str(x.name).lower(), x.rdtype, x.ttl, rd.to_text().lower())
                      for x in s for rd in x)
    return (dns.rcode.to_text(r.rcode()), bool(r.flags & dns.flags.AA), section(r.answer),
            section(r.authority) if not r.answer else [])


def compare(primary_addr, secondary_addr):
    diffs = []
    for name, rtype in NAMES:
        ours = answer_key(query(primary_addr, name, rtype))
        theirs = answer_key(query(secondary_addr, name, rtype))
        if ours != theirs:
            diffs.append((name, rtype, ours, theirs))
    return diffs


@pytest.fixture
def secondaries(tmp_path):
    started = []

    def start(cls, primary, key=KEY, key_text=KEY_TEXT, port=None):
        s = cls(str(tmp_path), "xfr.test.", primary.port, key, key_text, SOURCES[cls.name])
        if port:
            s.port = port
        started.append(s)
        return s.start()

    yield start
    for s in started:
        s.stop()


def test_nsd_and_knot_follow_by_ixfr_and_answer_like_us(primary, zone, secondaries):
    ports = {"nsd": free_port(), "knot": free_port()}
    p = primary([zone], allow=["127.0.0.0/8"], keys=[KEY],
                notify=[("127.0.0.1", ports["nsd"]), ("127.0.0.1", ports["knot"])],
                notify_key=KEY)
    secs = [secondaries(Nsd, p, port=ports["nsd"]), secondaries(Knot, p, port=ports["knot"])]
    for s in secs:
        assert wait_for(lambda: s.serial() == 10, 15), f"{s.name}: no AXFR\n{s.logs()}"
    kinds = {(k, host) for k, _z, _a, _b, host in p.service.recent}
    assert ("axfr", SOURCES["nsd"]) in kinds and ("axfr", SOURCES["knot"]) in kinds
    for s in secs:
        d = compare(("127.0.0.1", p.port), s.addr)
        assert d == [], (s.name, "\n".join(map(str, d)))

    t0 = time.monotonic()
    p.publish([changed(zone, 11, add=[("new", "A", 300, "192.0.2.77"),
                                       ("www", "A", 300, "192.0.2.12")],
                       remove=[("mail", "A")])])
    took = {}
    for s in secs:
        assert wait_for(lambda: s.serial() == 11, 15, step=0.005), f"{s.name}: no IXFR\n{s.logs()}"
        took[s.name] = time.monotonic() - t0
    recent = [(k, host, a, b) for k, _z, a, b, host in p.service.recent]
    for s in secs:
        assert ("ixfr", SOURCES[s.name], 10, 11) in recent, (s.name, recent)
        assert compare(("127.0.0.1", p.port), s.addr) == [], s.name
    assert p.service.notifier.acked >= 2
    print("publish -> NOTIFY -> serial 11 served: " +
          ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in took.items()))


@pytest.mark.parametrize("cls", [Nsd, Knot])
def test_wrong_tsig_key_gets_nothing(primary, zone, secondaries, cls):
    p = primary([zone], allow=["127.0.0.0/8"], keys=[KEY])
    wrong = KEY_TEXT.rsplit(":", 1)[0] + ":d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA=="
    from zonefront.xfr import tsig
    s = secondaries(cls, p, key=tsig.Key.from_text(wrong), key_text=wrong)
    assert wait_for(lambda: p.service.refused >= 1, 15), s.logs()
    time.sleep(0.5)
    assert p.service.transfers == 0
    r = query(s.addr, "www.xfr.test.", "A")
    assert not r.answer


def test_unsigned_secondary_is_refused_when_tsig_is_required(primary, zone, secondaries):
    p = primary([zone], allow=["127.0.0.0/8"], keys=[KEY])
    s = secondaries(Nsd, p, key=None, key_text=None)
    assert wait_for(lambda: p.service.refused >= 1, 15), s.logs()
    assert p.service.transfers == 0
    assert not query(s.addr, "www.xfr.test.", "A").answer
