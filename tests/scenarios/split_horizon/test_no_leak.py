"""No query from outside a VPC gets any private record: every combination of
source outside the VPC, qname (0x20-randomised case), qtype, EDNS options
(none, DO, big payloads, an ECS option claiming an address inside the VPC,
unknown options) and transport (UDP, TCP from a bound source) is answered
exactly as if the private zones did not exist: the public answer, NXDOMAIN
from the public zone, or REFUSED for a name only a private zone holds.

Every private record carries a marker (split.MARKERS), so a leak in any
section shows; a positive control proves the check sees private data."""
from __future__ import annotations

import itertools
import random

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.xfr
import pytest
from helpers.split_horizon import ALSO_OUTSIDE, IN_A, IN_B, MARKERS, OUTSIDE, leaked

pytestmark = pytest.mark.e2e

SEED = 0x20C0DE
QTYPES = ["A", "AAAA", "TXT", "MX", "SOA", "NS", "CNAME", "ANY"]
PUBLIC_NAMES = {"corp.test", "www.corp.test", "pub-only.corp.test", "mail.corp.test",
                "w.corp.test"}
CORP_NAMES = sorted(PUBLIC_NAMES | {"secret.corp.test", "x.wild.corp.test", "db.corp.test",
                                    "v6.corp.test", "note.corp.test", "fresh.corp.test"})
INTERNAL_NAMES = ["internal.test", "host.internal.test", "nothing.internal.test"]


def ecs(addr: str, plen: int) -> dns.edns.ECSOption:
    return dns.edns.ECSOption(addr, plen)


# (label, make_query keyword arguments); None: no EDNS at all
EDNS_VARIANTS = [
    ("no-edns", None),
    ("edns", {}),
    ("do", {"want_dnssec": True}),
    ("payload-4096", {"payload": 4096}),
    ("payload-65535-do", {"payload": 65535, "want_dnssec": True}),
    ("ecs-vpc-a-host", {"options": [ecs("127.0.0.2", 32)]}),
    ("ecs-vpc-b-host", {"options": [ecs("127.0.0.3", 32)]}),
    ("ecs-loopback-24", {"options": [ecs("127.0.0.0", 24)]}),
    ("ecs-mapped-v6", {"options": [ecs("::ffff:127.0.0.2", 128)]}),
    ("ecs-do-big", {"options": [ecs("127.0.0.2", 32)], "want_dnssec": True,
                    "payload": 4096}),
    ("unknown-option", {"options": [dns.edns.GenericOption(65001, b"vpc-a"),
                                    ecs("127.0.0.2", 32)]}),
]


def randomise_case(name: str, rnd: random.Random) -> str:
    return "".join(c.upper() if c.isalpha() and rnd.random() < 0.5 else c for c in name)


def ask(served, qname: str, qtype: str, variant, source: str, tcp: bool):
    if variant is None:
        q = dns.message.make_query(qname, qtype, use_edns=None)
    else:
        q = dns.message.make_query(qname, qtype, use_edns=0, **variant)
    if tcp:
        return dns.query.tcp(q, "127.0.0.1", port=served.dns_port, timeout=3, source=source)
    return dns.query.udp(q, "127.0.0.1", port=served.dns_port, timeout=3, source=source)


def expected_rcode(qname: str) -> int:
    if qname.endswith("internal.test"):
        return dns.rcode.REFUSED
    return dns.rcode.NOERROR if qname in PUBLIC_NAMES else dns.rcode.NXDOMAIN


def cases(sources: list[str], names: list[str]):
    return itertools.product(sources, names, QTYPES, EDNS_VARIANTS, (False, True))


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_positive_control_inside_sees_private_data(served, world, tcp):
    for label, variant in EDNS_VARIANTS:
        m = ask(served, "secret.corp.test", "A", variant, IN_A, tcp)
        assert leaked(m), f"{label}: the marker check must see private data from inside"
        m = ask(served, "host.internal.test", "A", variant, IN_B, tcp)
        assert leaked(m), label


def test_no_query_from_outside_gets_private_data(served, world):
    rnd = random.Random(SEED)
    failures = []
    count = 0
    matrix = itertools.chain(
        # outside every VPC: neither private zone
        cases([OUTSIDE, ALSO_OUTSIDE, "127.0.0.250"], CORP_NAMES + INTERNAL_NAMES),
        # vpc-b is outside corp.test's private zone, vpc-a outside internal.test's
        cases([IN_B], CORP_NAMES),
        cases([IN_A], INTERNAL_NAMES))
    for source, name, qtype, (label, variant), tcp in matrix:
        qname = randomise_case(name, rnd)
        m = ask(served, qname, qtype, variant, source, tcp)
        count += 1
        where = f"{source} {'tcp' if tcp else 'udp'} {qname} {qtype} {label}"
        if leaked(m):
            failures.append(f"{where}: leaked {leaked(m)}")
        want = expected_rcode(name)
        if m.rcode() != want:
            failures.append(f"{where}: rcode {dns.rcode.to_text(m.rcode())}, "
                            f"want {dns.rcode.to_text(want)}")
        if want == dns.rcode.REFUSED and (m.answer or m.authority or m.additional
                                          or m.flags & dns.flags.AA):
            failures.append(f"{where}: REFUSED with content or AA: {m.to_text()}")
    assert count > 4000
    assert not failures, f"{len(failures)} of {count} queries:\n" + "\n".join(failures[:20])


def transfer(served, zone: str, qtype: str, source: str) -> list:
    """Every message of an AXFR/IXFR over TCP from `source`."""
    serial = 1 if qtype == "IXFR" else None
    try:
        return list(dns.query.xfr("127.0.0.1", zone, qtype, port=served.dns_port, timeout=3,
                                  source=source, serial=serial or 0, relativize=False))
    except dns.exception.FormError:
        raise
    except (dns.xfr.TransferError, dns.query.TransferError) as e:
        return [e]


@pytest.mark.parametrize("source", [OUTSIDE, ALSO_OUTSIDE, IN_B])
@pytest.mark.parametrize("zone", ["corp.test", "CoRp.TeSt"])
@pytest.mark.parametrize("qtype", ["AXFR", "IXFR"])
def test_zone_transfer_from_outside_gives_the_public_zone(served, world, source, zone, qtype):
    msgs = transfer(served, zone, qtype, source)
    assert msgs and all(isinstance(m, dns.message.Message) for m in msgs), msgs
    text = "\n".join(m.to_text() for m in msgs)
    assert not [line for line in text.splitlines() if any(k in line for k in MARKERS)], text
    records = [r.to_text() for m in msgs for rrset in m.answer for r in rrset]
    assert "192.0.2.1" in records or qtype == "IXFR", text  # www.corp.test (public)


@pytest.mark.parametrize("source", [OUTSIDE, ALSO_OUTSIDE, IN_A])
def test_transfer_of_a_private_only_zone_is_refused(served, world, source):
    for qtype in ("AXFR", "IXFR"):
        msgs = transfer(served, "internal.test", qtype, source)
        assert all(not isinstance(m, dns.message.Message) for m in msgs), msgs
        assert "REFUSED" in str(msgs[0]) or "NOTAUTH" in str(msgs[0]), msgs
