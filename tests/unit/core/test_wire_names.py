"""csrc/zfwire.h's walker, folder and hash as the engine uses them: names of
every length from one octet up to the 255-octet limit, in mixed case, find
the same node (the fold's word loop, its overlapping last word and its
short-name byte loop), answer the same with and without the prefetch hint
(answer_batched hands the stage-0 key and hash over), and the twin agrees."""
import random

import dns.message
import dns.name
import dns.rcode
import pytest

from zonefront.core._engine import Image, answer_batched
from zonefront.model import TYPE_A, TYPE_NS, TYPE_SOA, Zone, name_from_text
from zonefront.ref.engine import RefImage
from zonefront.snapshot.compiler import compile_zones


def owners():
    """Names below "t." of wire length 3 (one-octet label) to 255, some
    of them with many short labels (label offsets, up to 127 labels)."""
    out = []
    for total in list(range(5, 64)) + [100, 127, 128, 200, 254, 255]:
        body = total - 3  # "t" and the root take 3 octets
        labels, left = [], body
        while left > 0:
            n = min(63, left - 1) if left > 1 else 0
            if n == 0:
                break
            labels.append("x" * n)
            left -= n + 1
        if left:
            continue
        out.append(".".join(labels) + ".t.")
    out.append(".".join(["a"] * 126) + ".t.")  # 127 labels + root: 255 octets
    return [o for o in out if len(dns.name.from_text(o).to_wire()) <= 255]


@pytest.fixture(scope="module")
def images():
    origin = name_from_text("t.")
    z = Zone(origin)
    z.add(origin, TYPE_SOA, 3600, name_from_text("ns.t.") * 2 + bytes(20))
    z.add(origin, TYPE_NS, 3600, name_from_text("ns.t."))
    for i, o in enumerate(owners()):
        z.add(name_from_text(o), TYPE_A, 60, bytes([10, 0, i >> 8, i & 255]))
    compiled = compile_zones([z])
    return Image(compiled.arrays()), RefImage(compiled.arrays())


def mixed(name, rnd):
    return "".join(c.upper() if rnd.random() < 0.5 else c for c in name)


def test_every_length_and_case_finds_its_node(images):
    image, ref = images
    rnd = random.Random(18)
    queries = []
    for o in owners():
        for text in (o, o.upper(), mixed(o, rnd)):
            q = dns.message.make_query(text, "A", use_edns=0).to_wire()
            queries.append(q)
            got = image.answer(q)
            assert got == ref.answer(q), text
            msg = dns.message.from_wire(got)
            assert msg.rcode() == dns.rcode.NOERROR and len(msg.answer) == 1, text
            assert msg.question[0].name.to_text() == text  # the client's case kept (0x20)
    # the batched path, each answer taking its qname's key and hash from the hint
    assert answer_batched(image, queries) == [image.answer(q) for q in queries]


def test_a_missing_name_of_every_length_is_nxdomain_both_ways(images):
    image, ref = images
    queries = []
    for o in owners():
        if len(dns.name.from_text(o).to_wire()) + 2 > 255:
            continue
        q = dns.message.make_query("Q." + o, "A").to_wire()
        queries.append(q)
        assert image.answer(q) == ref.answer(q)
        assert dns.message.from_wire(image.answer(q)).rcode() == dns.rcode.NXDOMAIN
    assert answer_batched(image, queries) == [image.answer(q) for q in queries]
