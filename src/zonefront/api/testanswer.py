"""TestDNSAnswer: the answer the data plane gives, asked of the same engine.

The request becomes a DNS query (EDNS, with a Client Subnet option when
EDNS0ClientSubnetIP is given) that the served engine answers as a worker
would: `Engine.answer(query, client=resolver)` runs the compiled core over
the image the DNS workers serve, with its health table, GeoIP data and
private views, the resolver address standing for the packet's source.  No
routing rule is restated here, so TestDNSAnswer cannot disagree with DNS.

Route 53 documents ResolverIP's default as a resolver of its own in
us-east-1; zonefront has none, so the caller's own address stands for the
resolver (as when a resolver on that host asks).  EDNS0ClientSubnetMask
defaults to 24 bits (IPv4) and 64 bits (IPv6), as Route 53 documents.
"""
from __future__ import annotations

import ipaddress
import secrets
import struct

from .. import model, rdata
from . import names
from .errors import Route53Error, invalid_input

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
          6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE"}
EDNS_PAYLOAD = 1232  # what a resolver of today advertises (DNS Flag Day 2020)
OPT_ECS = 8
FLAG_TC = 0x0200
# types whose rdata holds names the encoder may compress (RFC 3597 §4):
# the offsets of (name, name, ...) after fixed fields, as (prefix octets, names)
_NAMED = {model.TYPE_CNAME: (0, 1), model.TYPE_NS: (0, 1), model.TYPE_PTR: (0, 1),
          model.TYPE_DNAME: (0, 1), model.TYPE_MX: (2, 1), model.TYPE_SRV: (6, 1),
          model.TYPE_SOA: (0, 2)}


def make_query(qname: bytes, qtype: int, ecs: tuple[str, int] | None) -> bytes:
    """A query as a resolver sends it: RD clear, EDNS, maybe ECS (RFC 7871)."""
    header = struct.pack(">HHHHHH", secrets.randbits(16), 0, 1, 0, 0, 1)
    options = b""
    if ecs is not None:
        ip = ipaddress.ip_address(ecs[0])
        plen = ecs[1]
        family = 1 if ip.version == 4 else 2
        net = ipaddress.ip_network(f"{ip}/{plen}", strict=False).network_address.packed
        addr = net[:(plen + 7) // 8]
        body = struct.pack(">HBB", family, plen, 0) + addr
        options = struct.pack(">HH", OPT_ECS, len(body)) + body
    opt = b"\x00" + struct.pack(">HHIH", model.TYPE_OPT, EDNS_PAYLOAD, 0, len(options)) + options
    return header + qname + struct.pack(">HH", qtype, 1) + opt


def _name_at(msg: bytes, off: int) -> tuple[bytes, int]:
    """An uncompressed wire name read at `off` (pointers followed), and the
    offset after it in the record."""
    out = bytearray()
    end = None
    hops = 0
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            hops += 1
            if hops > 128:
                raise ValueError("compression loop")
            continue
        out += msg[off:off + 1 + n]
        off += 1 + n
        if n == 0:
            return bytes(out), (end if end is not None else off)


def answer_records(msg: bytes) -> tuple[int, int, list[tuple[bytes, int, bytes]]]:
    """(rcode, flags, [(owner, type, uncompressed rdata)]) of the answer section."""
    _id, flags, qd, an, _ns, _ar = struct.unpack_from(">HHHHHH", msg)
    off = 12
    for _ in range(qd):
        off = _name_at(msg, off)[1] + 4
    out = []
    for _ in range(an):
        owner, off = _name_at(msg, off)
        rtype, _cls, _ttl, rdlen = struct.unpack_from(">HHIH", msg, off)
        off += 10
        raw = msg[off:off + rdlen]
        if rtype in _NAMED:
            prefix, count = _NAMED[rtype]
            pos = off + prefix
            parts = [msg[off:pos]]
            for _ in range(count):
                name, pos = _name_at(msg, pos)
                parts.append(name)
            parts.append(msg[pos:off + rdlen])
            raw = b"".join(parts)
        out.append((owner, rtype, raw))
        off += rdlen
    return flags & 0xF, flags, out


def _ecs_of(inp: dict) -> tuple[str, int] | None:
    ip_text = inp.get("EDNS0ClientSubnetIP")
    mask = inp.get("EDNS0ClientSubnetMask")
    if not ip_text:
        if mask not in (None, ""):
            raise invalid_input("EDNS0ClientSubnetMask requires EDNS0ClientSubnetIP.")
        return None
    try:
        ip = ipaddress.ip_address(ip_text)
    except ValueError:
        raise invalid_input(f"Invalid IP address: {ip_text}") from None
    most = 32 if ip.version == 4 else 128
    if mask in (None, ""):
        return str(ip), 24 if ip.version == 4 else 64
    try:
        plen = int(mask)
    except ValueError:
        plen = -1
    if not 0 <= plen <= most:
        raise invalid_input(f"Invalid subnet mask {mask} for {ip_text}: 0 to {most} bits.")
    return str(ip), plen


class TestDNSAnswerOperations:
    """Route53Service's TestDNSAnswer; `self.engine()` gives the served
    core.engine.Engine (None when this process serves no DNS)."""

    engine = staticmethod(lambda: None)  # replaced by the control plane

    def TestDNSAnswer(self, inp: dict, ctx) -> dict:
        z = self._zone(inp["HostedZoneId"])
        if z.private:
            raise invalid_input("TestDNSAnswer is not supported for private hosted zones.")
        try:
            qname = names.name_from_text(inp["RecordName"])
        except names.BadName as e:
            raise invalid_input(f"Invalid RecordName {inp['RecordName']!r}: {e}") from None
        try:
            qtype = rdata.rrtype_from_text(inp["RecordType"])
        except ValueError:
            raise invalid_input(f"Invalid RecordType {inp['RecordType']!r}") from None
        resolver = inp.get("ResolverIP") or getattr(ctx, "client_ip", None)
        if resolver:
            try:
                resolver = str(ipaddress.ip_address(resolver))
            except ValueError:
                raise invalid_input(f"Invalid IP address: {resolver}") from None
        ecs = _ecs_of(inp)
        engine = self.engine()
        if engine is None:
            raise Route53Error("ServiceUnavailable", "This zonefront process serves no DNS: "
                               "TestDNSAnswer needs `zonefront serve --api`.", 503)
        query = make_query(qname, qtype, ecs)
        protocol = "UDP"
        wire = engine.answer(query, client=resolver, seed=secrets.randbits(32))
        if wire and struct.unpack_from(">H", wire, 2)[0] & FLAG_TC:
            protocol = "TCP"  # a resolver retries over TCP (RFC 7766)
            wire = engine.answer(query, tcp=True, client=resolver, seed=secrets.randbits(32))
        if not wire:
            raise Route53Error("InternalFailure", "The DNS engine gave no answer.", 500)
        rcode, _flags, records = answer_records(wire)
        return {"Nameserver": (z.nameservers[0].rstrip(".") if z.nameservers else "localhost"),
                "RecordName": inp["RecordName"],
                "RecordType": inp["RecordType"],
                "RecordData": [rdata.to_text(t, rd) for _o, t, rd in records],
                "ResponseCode": RCODES.get(rcode, str(rcode)),
                "Protocol": protocol}
