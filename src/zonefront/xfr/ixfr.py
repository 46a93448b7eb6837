"""IXFR responses (RFC 1995 §4): the differences since the secondary's serial, or the whole zone."""
from __future__ import annotations

from .. import model
from . import axfr
from .history import Delta


def up_to_date(zone: model.Zone, qid: int, query_flags: int,
               question: tuple[bytes, int, int]) -> list[bytes]:
    """One message with the current SOA only: the secondary has it (§4, last paragraph)."""
    p = axfr.Packer(qid, axfr.response_flags(query_flags), question)
    p.put(*axfr.soa_record(zone))
    return p.finish()


def messages(zone: model.Zone, deltas: list[Delta], qid: int, query_flags: int,
             question: tuple[bytes, int, int]) -> list[bytes]:
    """current SOA, then per delta: old SOA, removed, new SOA, added; then current SOA."""
    p = axfr.Packer(qid, axfr.response_flags(query_flags), question)
    current = axfr.soa_record(zone)
    p.put(*current)
    owner = zone.origin
    for d in deltas:
        p.put(owner, model.TYPE_SOA, d.old_soa[0], d.old_soa[1])
        p.put_all(d.removed)
        p.put(owner, model.TYPE_SOA, d.new_soa[0], d.new_soa[1])
        p.put_all(d.added)
    p.put(*current)
    return p.finish()
