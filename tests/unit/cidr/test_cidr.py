"""cidr.flatten: disjoint ranges that give the longest-prefix match, checked
against a brute-force match with ipaddress."""
from __future__ import annotations

import ipaddress
import random

import pytest

from zonefront import cidr


def brute(nets, ip):
    a = ipaddress.ip_address(ip)
    if a.version == 6 and a.ipv4_mapped is not None:
        a = a.ipv4_mapped
    best = None
    for net, loc in nets:
        if net.version == a.version and a in net:
            if best is None or net.prefixlen > best[1]:
                best = (loc, net.prefixlen)
    return best


def random_blocks(rnd: random.Random, n: int):
    """Nested and overlapping blocks clustered in a few areas."""
    out = {}
    roots4 = [ipaddress.ip_network(x) for x in ("10.0.0.0/8", "192.0.2.0/24", "0.0.0.0/0")]
    roots6 = [ipaddress.ip_network(x) for x in ("2001:db8::/32", "::/0", "fd00::/8")]
    while len(out) < n:
        root = rnd.choice(roots4 + roots6)
        bits = root.max_prefixlen
        p = rnd.randint(root.prefixlen, min(bits, root.prefixlen + 24))
        base = int(root.network_address) + rnd.randrange(root.num_addresses)
        net = ipaddress.ip_network((base >> (bits - p) << (bits - p), p))
        out.setdefault(str(net), rnd.randrange(50))
    return list(out.items())


def probe_addresses(rnd: random.Random, blocks, n: int):
    for _ in range(n):
        net = ipaddress.ip_network(rnd.choice(blocks)[0])
        k = rnd.random()
        if k < 0.6:
            yield str(net.network_address + rnd.randrange(net.num_addresses))
        elif k < 0.8:  # edges
            edge = net.network_address if rnd.random() < 0.5 else net.broadcast_address
            delta = rnd.choice((-1, 0, 1))
            try:
                yield str(edge + delta)
            except ipaddress.AddressValueError:
                yield str(edge)
        else:
            yield str(ipaddress.IPv4Address(rnd.getrandbits(32)) if rnd.random() < 0.5
                      else ipaddress.IPv6Address(rnd.getrandbits(128)))


@pytest.mark.parametrize("seed", range(6))
def test_flatten_matches_brute_force(seed):
    rnd = random.Random(seed)
    blocks = random_blocks(rnd, 60)
    arr = cidr.flatten(blocks)
    for data, v6 in ((arr["v4"], False), (arr["v6"], True)):
        t = cidr.RangeTable(data, v6)
        prev = -1
        for i in range(len(t)):
            s, e, _v, _p = t.row(i)
            assert prev < s <= e
            prev = e
    nets = [(cidr.parse_block(t), loc) for t, loc in blocks]
    for ip in probe_addresses(rnd, blocks, 1500):
        assert cidr.lookup(arr, ip) == brute(nets, ip), ip


def test_formats_and_simple_cases():
    arr = cidr.flatten([("10.0.0.0/8", 1), ("10.1.0.0/16", 2), ("2001:db8::/32", 3),
                        ("::ffff:192.0.2.0/120", 4)])
    assert set(arr) == {"v4", "v6"}
    assert len(arr["v4"]) % 16 == 0 and len(arr["v6"]) % 40 == 0
    rows = [cidr.V4.unpack_from(arr["v4"], i) for i in range(0, len(arr["v4"]), 16)]
    assert rows == [(0x0A000000, 0x0A00FFFF, 1, 8), (0x0A010000, 0x0A01FFFF, 2, 16),
                    (0x0A020000, 0x0AFFFFFF, 1, 8), (0xC0000200, 0xC00002FF, 4, 24)]
    hi, lo, ehi, elo, v, p = cidr.V6.unpack_from(arr["v6"], 0)
    assert (hi, lo, v, p) == (0x20010DB800000000, 0, 3, 32)
    assert (ehi, elo) == (0x20010DB8FFFFFFFF, (1 << 64) - 1)
    assert cidr.lookup(arr, "10.1.2.3") == (2, 16)
    assert cidr.lookup(arr, "10.200.0.1") == (1, 8)
    assert cidr.lookup(arr, "192.0.2.9") == (4, 24)
    assert cidr.lookup(arr, "::ffff:10.1.0.1") == (2, 16)
    assert cidr.lookup(arr, "11.0.0.1") is None
    assert cidr.lookup(arr, "2001:db9::1") is None
    assert cidr.flatten([]) == {"v4": b"", "v6": b""}
    # a full-space block
    assert cidr.lookup(cidr.flatten([("0.0.0.0/0", 7)]), "255.255.255.255") == (7, 0)
    assert cidr.lookup(cidr.flatten([("::/0", 7)]), "ffff::1") == (7, 0)


@pytest.mark.parametrize("bad", ["10.0.0.0", "10.0.0.1/8", "300.0.0.0/8", "10.0.0.0/33",
                                 "2001:db8::1/32", "bogus", "", "10.0.0.0/-1"])
def test_bad_blocks_are_named(bad):
    with pytest.raises(ValueError) as e:
        cidr.flatten([("10.0.0.0/8", 1), (bad, 2)])
    assert repr(bad) in str(e.value)


def test_same_block_two_locations():
    assert cidr.flatten([("10.0.0.0/8", 1), ("10.0.0.0/8", 1)]) == \
        cidr.flatten([("10.0.0.0/8", 1)])
    with pytest.raises(ValueError) as e:
        cidr.flatten([("10.0.0.0/8", 1), ("10.0.0.0/8", 2)])
    assert "10.0.0.0/8" in str(e.value)
