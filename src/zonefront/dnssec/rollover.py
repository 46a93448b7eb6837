"""When zone-signing keys come and go: RFC 7583's pre-publication rollover.

Route 53 rolls the ZSK itself.  Here each zone's ZSKs are numbered
generations with a creation time.  A new generation is created `lead`
seconds before the active one reaches `lifetime`; it is only *published*
(in the DNSKEY RRset, signing nothing) for `lead` seconds, long enough for
the old DNSKEY RRset to leave caches (lead >= DNSKEY TTL + propagation),
then it signs; the generation it replaces stays published for another
`lead` (>= the largest TTL of data it signed) and is then dropped.  So a
validator always holds a DNSKEY for every RRSIG it may meet.

A pure function of the generations and the clock, so it is tested with
made-up times and the signing state merely stores what it decides.
"""
from __future__ import annotations

from dataclasses import dataclass

DEFAULT_LIFETIME = 30 * 86400
DEFAULT_LEAD = 86400


@dataclass(frozen=True)
class Plan:
    active: int  # the generation that signs
    published: tuple[int, ...]  # every generation in the DNSKEY RRset (active included)
    create: bool  # a new generation is due now
    drop: tuple[int, ...]  # generations to forget
    next_event: float  # when this plan next changes (a publisher wake-up)


def activation(gens: list[tuple[int, float]], i: int, lead: float) -> float:
    """The first generation signs at once; later ones after being published `lead`."""
    return gens[i][1] if i == 0 else gens[i][1] + lead


def plan(gens: list[tuple[int, float]], now: float, lifetime: float = DEFAULT_LIFETIME,
         lead: float = DEFAULT_LEAD) -> Plan:
    """`gens`: [(generation, created)] oldest first, non-empty."""
    live = [i for i in range(len(gens)) if activation(gens, i, lead) <= now]
    a = live[-1] if live else 0
    act = activation(gens, a, lead)
    events = []
    create = a == len(gens) - 1 and now >= act + lifetime - lead
    if a == len(gens) - 1 and not create:
        events.append(act + lifetime - lead)
    for i in range(a + 1, len(gens)):  # pre-published, signing later
        events.append(activation(gens, i, lead))
    drop, published = [], []
    for i in range(len(gens)):
        if i < a:
            # retired when its successor has signed for `lead`
            retire = activation(gens, i + 1, lead) + lead
            if now >= retire:
                drop.append(gens[i][0])
                continue
            events.append(retire)
        published.append(gens[i][0])
    return Plan(gens[a][0], tuple(published), create, tuple(drop),
                min(events) if events else float("inf"))
