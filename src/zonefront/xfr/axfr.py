"""AXFR responses (RFC 5936): SOA, every other record, SOA, packed into as few messages as fit."""
from __future__ import annotations

from typing import Iterable

from .. import model
from .history import Record, records
from .message import FLAG_AA, FLAG_QR, Writer


class Packer:
    """Fills messages in order; a record that does not fit starts the next one.
    The question goes in the first message only (RFC 5936 §2.2.1 lets later
    ones leave it out)."""

    def __init__(self, qid: int, flags: int, question: tuple[bytes, int, int] | None):
        self.qid = qid
        self.flags = flags
        self.out: list[bytes] = []
        self.w = Writer(qid, flags, question)

    def put(self, owner: bytes, rtype: int, ttl: int, rdata: bytes) -> None:
        if not self.w.add(owner, rtype, ttl, rdata):
            self.out.append(self.w.finish())
            self.w = Writer(self.qid, self.flags, None)
            self.w.add(owner, rtype, ttl, rdata)

    def put_all(self, recs: Iterable[Record]) -> None:
        put = self.put
        for owner, rtype, ttl, rd in recs:
            put(owner, rtype, ttl, rd)

    def finish(self) -> list[bytes]:
        if self.w.count or not self.out:
            self.out.append(self.w.finish())
        return self.out


def response_flags(query_flags: int) -> int:
    return FLAG_QR | FLAG_AA | (query_flags & 0x0100)  # RD copied (RFC 1035 §4.1.1)


def soa_record(zone: model.Zone) -> Record:
    soa = zone.soa
    return soa.owner, model.TYPE_SOA, soa.ttl, soa.rdatas[0]


def messages(zone: model.Zone, qid: int, query_flags: int,
             question: tuple[bytes, int, int] | None) -> list[bytes]:
    """The whole zone, unsigned; also IXFR's fallback (RFC 1995 §4)."""
    p = Packer(qid, response_flags(query_flags), question)
    soa = soa_record(zone)
    p.put(*soa)
    p.put_all(records(zone))
    p.put(*soa)
    return p.finish()
