"""When zone-signing keys come and go: RFC 7583's pre-publication rollover.

Route 53 rolls the ZSK itself.  Here each zone's ZSKs are numbered
generations with a creation time.  Generation 0, a zone's first key, signs
at once.  Every later one is created `lead` seconds before the active one
reaches `lifetime` and is only *published* (in the DNSKEY RRset, signing
nothing) for `lead` seconds: long enough for a DNSKEY RRset without it to
leave caches (RFC 7583 §3.3.1, Ipub = Dprp + TTLkey; config.py checks
zsk_prepublish >= dnskey_ttl + propagation_delay), so a validator that
meets its first signature already holds it.  Then it signs, and the
generation it replaces stays published for `retire` seconds more, until
signatures made with that key have left caches (§3.3.1, Iret = Dprp +
TTLsig: retire_interval() below), and is then dropped.

A pure function of the generations and the clock, so it is tested with
made-up times and the signing state merely stores what it decides.
"""
from __future__ import annotations

from dataclasses import dataclass

DEFAULT_LIFETIME = 30 * 86400
DEFAULT_LEAD = 86400
DEFAULT_DNSKEY_TTL = 3600
DEFAULT_PROPAGATION = 60


@dataclass(frozen=True)
class Plan:
    active: int  # the generation that signs
    published: tuple[int, ...]  # every generation in the DNSKEY RRset (active included)
    create: bool  # a new generation is due now
    drop: tuple[int, ...]  # generations to forget
    next_event: float  # when this plan next changes (a publisher wake-up)


def retire_interval(lead: float, largest_ttl: float, propagation: float) -> float:
    """How long a replaced ZSK stays published after its successor starts
    signing: every RRSIG it made may sit in a cache for the TTL of the RRset
    it covers (the zone's largest TTL at most) once the last edge has
    stopped serving it (`propagation` after the switch).  Never shorter than
    the pre-publication interval, the symmetric rule the plan had before."""
    return max(lead, largest_ttl + propagation)


def activation(gens: list[tuple[int, float]], i: int, lead: float) -> float:
    """When generation `gens[i]` starts signing: generation 0 (the zone's
    first key, with nothing to replace) at once, every later one once it
    has been published `lead`.  Decided by the generation number, not the
    position: once its predecessor is dropped a key is first in the list
    but it still began signing `lead` after it was created."""
    gen, created = gens[i]
    return created if gen == 0 else created + lead


def plan(gens: list[tuple[int, float]], now: float, lifetime: float = DEFAULT_LIFETIME,
         lead: float = DEFAULT_LEAD, retire: float | None = None) -> Plan:
    """`gens`: [(generation, created)] oldest first, non-empty.  `retire`:
    seconds a replaced generation stays published after its successor
    signs (retire_interval(); `lead` when None)."""
    retire = lead if retire is None else retire
    live = [i for i in range(len(gens)) if activation(gens, i, lead) <= now]
    a = live[-1] if live else 0
    act = activation(gens, a, lead)
    events = []
    create = a == len(gens) - 1 and now >= act + lifetime - lead
    if a == len(gens) - 1:
        # a creation due now still needs a wake-up: whoever applies the plan
        # may not act on it at once (the next plan must not sleep forever)
        events.append(max(now, act + lifetime - lead) if create else act + lifetime - lead)
    for i in range(a + 1, len(gens)):  # pre-published, signing later
        events.append(activation(gens, i, lead))
    drop, published = [], []
    for i in range(len(gens)):
        if i < a:
            # retired once its successor has signed for `retire`
            gone = activation(gens, i + 1, lead) + retire
            if now >= gone:
                drop.append(gens[i][0])
                continue
            events.append(gone)
        published.append(gens[i][0])
    return Plan(gens[a][0], tuple(published), create, tuple(drop),
                min(events) if events else float("inf"))
