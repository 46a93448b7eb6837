"""AXFR out (RFC 5936) over the TCP slow path: dnspython, kdig, dig; access by address and TSIG."""
import socket
import struct
import subprocess

import dns.message
import dns.query
import dns.rcode
import dns.tsig
import dns.tsigkeyring
import dns.zone
import pytest

from zonefront import model
from zonefront.xfr import tsig

from helpers.xfr import KEY, SECRET, changed, need, query, zone_from_text
from helpers.xfr_zones import ZONE

ADDR = "127.0.0.1"


def records_of(xz: dns.zone.Zone) -> set:
    return {(str(n), rds.ttl, rds.rdtype, rd.to_text()) for n, rds in xz.iterate_rdatasets()
            for rd in rds}


def expected_records() -> set:
    return records_of(dns.zone.from_text(ZONE, "xfr.test.", relativize=False))


def dp_key(name="xfr-key.", secret=SECRET):
    return dns.tsig.Key(name, secret, "hmac-sha256")


def test_axfr_dnspython_whole_zone(primary):
    p = primary()
    xz = dns.zone.from_xfr(dns.query.xfr(ADDR, "xfr.test.", port=p.port, timeout=5,
                                         relativize=False),
                           relativize=False)
    assert records_of(xz) == expected_records()
    assert p.server.stats()["tcp"]["xfr"] == 1
    assert p.service.recent[-1][:4] == ("axfr", "xfr.test.", None, 10)


def test_axfr_many_messages_signed_each(primary, zone):
    """Several thousand records span many messages; every one carries a TSIG
    that dnspython checks against the previous MAC (RFC 8945 §5.3.1)."""
    for i in range(6000):
        zone.add(model.name_from_text(f"h{i}.bulk.xfr.test."), model.TYPE_A, 60,
                 bytes([10, i >> 8 & 255, i & 255, 1]))
    p = primary([zone], keys=[KEY])
    msgs = list(dns.query.xfr(ADDR, "xfr.test.", port=p.port, timeout=10, keyring=dp_key(),
                              relativize=False))
    assert len(msgs) > 2
    assert all(m.had_tsig for m in msgs)
    assert sum(len(rrs) for m in msgs for rrs in m.answer) == len(expected_records()) + 6000 + 1


def test_axfr_kdig_and_dig(primary):
    p = primary(keys=[KEY])
    dig_key = f"hmac-sha256:xfr-key:{SECRET}"  # kdig/dig want ALG:NAME:SECRET
    out = subprocess.run([need("kdig"), "-p", str(p.port), "-y", dig_key, "@127.0.0.1",
                          "xfr.test.", "AXFR"], capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stdout.splitlines() if ln and not ln.startswith(";")
             and "\tTSIG\t" not in ln]
    assert len(lines) == len(expected_records()) + 1, out.stdout
    assert "failed" not in out.stdout.lower(), out.stdout
    out = subprocess.run([need("dig"), "-p", str(p.port), "-y", dig_key, "@127.0.0.1",
                          "xfr.test.", "AXFR", "+nocomments"], capture_output=True, text=True,
                         timeout=20)
    assert out.returncode == 0, out.stderr
    assert "Transfer failed" not in out.stdout and "tsig verify failure" not in out.stdout
    body = [ln for ln in out.stdout.splitlines() if ln and not ln.startswith(";")
            and "\tTSIG\t" not in ln and " TSIG " not in ln]
    assert len(body) == len(expected_records()) + 1, out.stdout


def _axfr_rcode(port, source=None, key=None):
    q = dns.message.make_query("xfr.test.", "AXFR")
    if key is not None:
        q.use_tsig(key)
    try:
        r = dns.query.tcp(q, ADDR, port=port, timeout=3, source=source)
    except dns.tsig.PeerError as e:  # dnspython raises on TSIG errors it is told about
        return type(e).__name__
    return dns.rcode.to_text(r.rcode())


def test_refused_from_an_address_not_allowed(primary):
    p = primary(allow=["127.0.0.1/32"])
    assert _axfr_rcode(p.port, source="127.0.0.2") == "REFUSED"
    assert _axfr_rcode(p.port, source="127.0.0.1") == "NOERROR"
    assert p.service.refused == 1


def test_default_allows_nobody(primary):
    p = primary(allow=())
    assert _axfr_rcode(p.port) == "REFUSED"


def test_udp_axfr_stays_refused(primary):
    p = primary()
    r = query((ADDR, p.port), "xfr.test.", "AXFR")
    assert r.rcode() == dns.rcode.REFUSED and not r.answer


def test_tsig_required_and_verified(primary):
    p = primary(keys=[KEY])
    assert _axfr_rcode(p.port) == "REFUSED"  # unsigned
    assert _axfr_rcode(p.port, key=dp_key()) == "NOERROR"
    # unknown key name: NOTAUTH with TSIG error BADKEY, unsigned (RFC 8945 §5.2.1)
    assert _axfr_rcode(p.port, key=dp_key("other-key.")) == "PeerBadKey"
    # right name, wrong secret: BADSIG
    assert _axfr_rcode(p.port, key=dp_key(secret="d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==")) \
        == "PeerBadSignature"


def test_badkey_response_on_the_wire(primary):
    """The raw answer: rcode NOTAUTH, a TSIG with error 17 and an empty MAC."""
    p = primary(keys=[KEY])
    q = dns.message.make_query("xfr.test.", "AXFR")
    q.use_tsig(dp_key("nobody."))
    wire = q.to_wire()
    with socket.create_connection((ADDR, p.port), timeout=3) as s:
        s.sendall(struct.pack("!H", len(wire)) + wire)
        n = struct.unpack("!H", s.recv(2))[0]
        reply = b""
        while len(reply) < n:
            reply += s.recv(n - len(reply))
    from zonefront.xfr import message as msg
    m = msg.parse(reply)
    assert m.rcode == msg.RCODE_NOTAUTH
    t = tsig.Tsig.from_rr(m.tsig, reply)
    assert t.error == tsig.ERR_BADKEY and t.mac == b""


def test_not_our_zone_is_notauth(primary):
    p = primary()
    q = dns.message.make_query("other.test.", "AXFR")
    r = dns.query.tcp(q, ADDR, port=p.port, timeout=3)
    assert r.rcode() == dns.rcode.NOTAUTH


def test_queries_pipelined_behind_a_transfer_keep_their_order(primary):
    """An AXFR then two ordinary queries on one connection: the transfer's
    messages first, then the engine's answers, in order."""
    p = primary()
    qs = [dns.message.make_query("xfr.test.", "AXFR"),
          dns.message.make_query("www.xfr.test.", "A"),
          dns.message.make_query("mail.xfr.test.", "A")]
    with socket.create_connection((ADDR, p.port), timeout=3) as s:
        s.sendall(b"".join(struct.pack("!H", len(w)) + w for w in (q.to_wire() for q in qs)))
        f = s.makefile("rb")
        ids = []
        for _ in range(3):
            n = struct.unpack("!H", f.read(2))[0]
            ids.append(struct.unpack("!H", f.read(n)[:2])[0])
    assert ids == [q.id for q in qs]


def test_transfer_sees_published_changes(primary, zone):
    p = primary([zone])
    p.publish([changed(zone, 11, add=[("new", "A", 300, "192.0.2.77")])])
    xz = dns.zone.from_xfr(dns.query.xfr(ADDR, "xfr.test.", port=p.port, timeout=5,
                                         relativize=False),
                           relativize=False)
    assert xz.get_rdataset("new.xfr.test.", "A") is not None
    assert xz.get_rdataset("xfr.test.", "SOA")[0].serial == 11
