"""What the fuzzers found, pinned as ordinary tests (no clang or atheris needed).

The crashing inputs themselves are in tests/fuzz/regressions/<target>/ and
run under their fuzzer in test_fuzz.py; these say what was wrong in words.
"""
from pathlib import Path

import dns.message
import pytest
import world

from zonefront import zonefile
from zonefront.xfr import message, tsig

REG = Path(__file__).resolve().parent / "regressions"


def test_nul_in_an_ipv4_address_is_a_zone_file_error():
    """inet_pton raises ValueError (not OSError) for an embedded NUL; the
    fast A path let it escape instead of a file:line error."""
    with pytest.raises(zonefile.ZoneFileError):
        zonefile.parse_zone_text("@ 60 IN SOA ns h 1 2 3 4 5\nx 60 A 1.2.3.4\0\n", "example.com.")
    data = (REG / "zonefile" / "valueerror-nul-in-ipv4").read_bytes()
    with pytest.raises(zonefile.ZoneFileError):
        zonefile.parse_zone_text(data.decode(), "example.com.")


def test_a_malformed_tsig_in_a_response_is_unsigned_not_an_exception():
    """The NOTIFY receiver calls verify_response on any datagram that
    matches a job; a TSIG whose rdata length lies raised FormError there."""
    key = tsig.Key.from_text("xfr-key:hmac-sha256:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0")
    data = (REG / "xfr" / "formerror-tsig-rdata-length").read_bytes()[1:]
    m = message.parse(data)
    assert m.tsig is not None
    assert tsig.verify_response(m, key, b"\0" * 32) is False


@pytest.fixture(scope="module")
def image():
    from zonefront.core._engine import Image

    return world.build(Image)


def test_prefetch_of_a_qname_that_ends_the_packet(image):
    """engine_prefetch read one octet past such a packet (ASan); the batched
    path (prefetch, then answer) must give what answer() gives."""
    from zonefront.core._engine import answer_batched

    data = (REG / "engine" / "asan-prefetch-qname-at-end").read_bytes()
    q = data[:12] + b"\x03www\x07example\x04test"  # labels, no root: the name runs to the end
    for pkt in (data, q, data[:-1]):
        assert answer_batched(image, [pkt]) == [image.answer(pkt)]


def test_client_address_with_a_high_first_octet_routes_by_cidr(image):
    """198.51.100.200 was built as (198 << 24) in int, undefined behaviour
    (UBSan); it must land in the /25 'lab' location."""
    q = dns.message.make_query("c.routed.example", "A")
    r = dns.message.from_wire(image.answer(q.to_wire(), False, "198.51.100.200"))
    assert [rd.address for rr in r.answer for rd in rr] == ["10.6.0.2"]
    r = dns.message.from_wire(image.answer(q.to_wire(), False, "198.51.100.7"))
    assert [rd.address for rr in r.answer for rd in rr] == ["10.6.0.1"]


def test_snapshot_whose_dname_owner_outgrows_the_name_is_refused():
    """A hostile snapshot passed validation with a DNAME record whose
    owner_len exceeded the name of the node pointing at it; answering a
    query below it wrapped (qname - owner) and memcpy'd 4 GiB (ASan).  It
    must be refused when loaded."""
    from zonefront.core._engine import Image

    from zonefront.snapshot import format as snapshot_format

    data = (REG / "snapshot" / "asan-dname-owner-longer-than-name").read_bytes()
    arrays, meta = snapshot_format.loads(data)
    with pytest.raises(ValueError, match="DNAME owner longer than the name"):
        Image(arrays, meta["zones"])


def _name_of(total: int) -> bytes:
    labels, left = [], total - 1
    while left > 0:
        n = min(63, left - 1)
        labels.append(bytes([n]) + b"a" * n)
        left -= n + 1
    return b"".join(labels) + b"\0"


@pytest.mark.parametrize("total,rcode", [(254, 5), (255, 5), (256, 1)])
def test_a_255_octet_qname_is_a_name_in_both_engines(total, rcode):
    """The reference refused a 255-octet qname (the legal maximum, RFC 1035
    §2.3.4) as FORMERR while the compiled core answered it: its check
    reserved room for a root label after the root label itself."""
    from zonefront.core._engine import Image
    from zonefront.ref.engine import RefImage

    name = _name_of(total)
    assert len(name) == total
    q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + name + b"\x00\x01\x00\x01"
    compiled, ref = world.build(Image), world.build(RefImage)
    assert compiled.answer(q) == ref.answer(q)
    assert compiled.answer(q)[3] & 0xF == rcode  # 5: in no zone we serve; 1: FORMERR
    data = (REG / "engine_diff" / "diff-255-octet-qname").read_bytes()
    client, tcp, seed = world.control(data)
    assert compiled.answer(data, tcp, client, seed) == ref.answer(data, tcp, client, seed)


@pytest.mark.parametrize("proto", ["json", "cbor"])
def test_a_null_list_member_is_a_serialization_error(proto):
    """[null] in a Domains request list reached validate() as None and raised
    AttributeError (an InternalFailure) instead of SerializationException."""
    import json

    import cbor2

    from zonefront.domains import protocol
    from zonefront.domains.errors import DomainsError

    doc = {"FilterConditions": [None], "SortCondition": {"Name": "Expiry", "SortOrder": "ASC"}}
    body = json.dumps(doc).encode() if proto == "json" else cbor2.dumps(doc)
    with pytest.raises(DomainsError) as e:
        protocol.decode_input(proto, "ListDomains", body)
    assert e.value.code == "SerializationException"
    data = (REG / "domains_api" / "attributeerror-null-in-list").read_bytes()
    with pytest.raises(DomainsError):
        protocol.decode_input(protocol.CBOR, "ListDomains", data[1:])


def test_a_bad_tsig_on_a_message_without_a_question_is_notauth():
    """A TSIG-signed request with QDCOUNT 0 and a wrong MAC: logging the
    refusal read the (empty) qname as a wire name and raised IndexError
    instead of answering NOTAUTH with BADSIG."""
    from zonefront.xfr.service import XfrService

    key = tsig.Key.from_text("xfr-key:hmac-sha256:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0")
    service = XfrService(allow=["127.0.0.0/8"], tsig_keys=[key], zones=lambda: [],
                         clock=lambda: 1_760_000_000.0)
    data = (REG / "xfr" / "indexerror-badsig-without-question").read_bytes()[1:]
    assert message.parse(data).qname == b""
    replies = service(data, ("127.0.0.1", 5353))
    assert replies and len(replies) == 1
    reply = message.parse(replies[0])
    assert reply.flags & 0xF == message.RCODE_NOTAUTH
