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

from .. import rdata
from ..dnsmsg import FLAG_TC, answer_records, make_query
from ..aws import names
from ..aws.route53_errors import Route53Error, invalid_input

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
          6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE"}
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
                "RecordData": [rdata.to_text(t, rd) for _o, t, _ttl, rd in records],
                "ResponseCode": RCODES.get(rcode, str(rcode)),
                "Protocol": protocol}
