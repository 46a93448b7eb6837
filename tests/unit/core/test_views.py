"""Private zones as views chosen by the query's source address (issue 7),
for both implementations: split horizon, refusal outside the VPC, and no
way for a client to reach a view through EDNS Client Subnet."""
import struct

import dns.edns
import dns.message
import dns.rcode
import pytest

from zonefront.model import TYPE_A, TYPE_NS, TYPE_SOA, Zone, name_from_text
from zonefront.snapshot.compiler import compile_zones


def zone(origin, records, private=False):
    o = name_from_text(origin)
    z = Zone(o, private=private)
    z.add(o, TYPE_SOA, 300, name_from_text("ns." + origin) * 2 + struct.pack(">IIIII", 1, 2, 3, 4, 60))
    z.add(o, TYPE_NS, 300, name_from_text("ns." + origin))
    for owner, ip in records:
        z.add(name_from_text(owner + "." + origin), TYPE_A, 60, bytes(int(x) for x in ip.split(".")))
    return z


@pytest.fixture
def image(impl):
    def load(zones):
        arrays = compile_zones(zones).arrays()
        if impl == "ref":
            from zonefront.ref.engine import RefImage
            return RefImage(arrays)
        from zonefront.core._engine import Image
        return Image(arrays)

    public = load([zone("example.com.", [("www", "203.0.113.1")])])
    vpc_a = load([zone("example.com.", [("www", "10.0.0.1"), ("db", "10.0.0.2")], private=True),
                  zone("corp.internal.", [("git", "10.0.0.3")], private=True)])
    vpc_b = load([zone("corp.internal.", [("git", "10.1.0.3")], private=True)])
    public.set_views([(vpc_a, ["127.0.0.2/32", "fd00:a::/64"]), (vpc_b, ["127.0.1.0/24"])])
    return public


def ask(img, name, client, tcp=False, ecs=None, case=False):
    opts = [dns.edns.ECSOption(ecs, 32)] if ecs else []
    q = dns.message.make_query(name.upper() if case else name, "A", use_edns=0 if ecs else None,
                               options=opts)
    return dns.message.from_wire(img.answer(q.to_wire(), tcp, client))


def addrs(m):
    return sorted(r.address for rr in m.answer for r in rr)


def test_split_horizon(image):
    assert addrs(ask(image, "www.example.com", "127.0.0.1")) == ["203.0.113.1"]
    assert addrs(ask(image, "www.example.com", "127.0.0.2")) == ["10.0.0.1"]
    assert addrs(ask(image, "www.example.com", "fd00:a::5")) == ["10.0.0.1"]
    # the private zone answers for its whole name space in the VPC: no fallback
    m = ask(image, "shop.example.com", "127.0.0.2")
    assert m.rcode() == dns.rcode.NXDOMAIN


def test_each_vpc_sees_its_own_zones(image):
    assert addrs(ask(image, "git.corp.internal", "127.0.0.2")) == ["10.0.0.3"]
    assert addrs(ask(image, "git.corp.internal", "127.0.1.77")) == ["10.1.0.3"]
    # names the view does not hold come from the public zones
    assert addrs(ask(image, "www.example.com", "127.0.1.77")) == ["203.0.113.1"]


@pytest.mark.parametrize("tcp", [False, True])
@pytest.mark.parametrize("case", [False, True])
@pytest.mark.parametrize("ecs", [None, "127.0.0.2", "10.0.0.1"])
def test_outside_sources_never_see_private_records(image, tcp, case, ecs):
    for client in ("127.0.0.1", "127.0.0.3", "::1", "192.0.2.1"):
        m = ask(image, "git.corp.internal", client, tcp=tcp, ecs=ecs, case=case)
        assert m.rcode() == dns.rcode.REFUSED and not m.answer and not m.authority
        m = ask(image, "db.example.com", client, tcp=tcp, ecs=ecs, case=case)
        assert m.rcode() == dns.rcode.NXDOMAIN and not m.answer
        sections = " ".join(rr.to_text() for sec in (m.answer, m.authority, m.additional) for rr in sec)
        assert "10.0.0" not in sections and "10.1.0" not in sections
