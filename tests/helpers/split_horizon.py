"""The split-horizon world the private-zone tests query: a public and a
private corp.test (vpc-a), and a private internal.test (vpc-b).  Everything
private carries a marker ("private-only" in names, 10.99.0.0/16 in
addresses, "private-only" in text) so that a leak is visible in any section
of any answer."""
from __future__ import annotations

from dataclasses import dataclass

from helpers.zfserve import alias, rrset

MARKERS = ("private-only", "10.99.", "fd00:10:99:")
PRIVATE_SOA = "ns1.private-only.test. hostmaster.private-only.test. 1 7200 900 1209600 86400"
PRIVATE_NS = ["ns1.private-only.test.", "ns2.private-only.test."]

IN_A, IN_B, OUTSIDE = "127.0.0.2", "127.0.0.3", "127.0.0.1"
ALSO_OUTSIDE = "127.0.0.4"


@dataclass
class World:
    public: str  # zone ids
    private: str
    internal: str


def _marked_apex(served, zone_id: str, origin: str) -> None:
    served.change(zone_id, ("UPSERT", rrset(origin, PRIVATE_SOA, "SOA", ttl=900)),
                  ("UPSERT", rrset(origin, PRIVATE_NS, "NS", ttl=172800)))


def build(served) -> World:
    public = served.create_zone("corp.test")
    private = served.create_zone("corp.test", vpc=("us-east-1", "vpc-a"))
    internal = served.create_zone("internal.test", vpc=("eu-west-1", "vpc-b"))
    served.change(public,
                  rrset("www.corp.test", "192.0.2.1"),
                  rrset("pub-only.corp.test", "192.0.2.2"),
                  rrset("corp.test", '"public"', "TXT"),
                  rrset("mail.corp.test", "10 mx.corp.test.", "MX"),
                  rrset("w.corp.test", "192.0.2.11", SetIdentifier="a", Weight=1),
                  rrset("w.corp.test", "192.0.2.12", SetIdentifier="b", Weight=1))
    _marked_apex(served, private, "corp.test")
    served.change(private,
                  rrset("www.corp.test", "10.99.0.1"),
                  rrset("secret.corp.test", "10.99.0.2"),
                  rrset("*.wild.corp.test", "10.99.0.3"),
                  rrset("corp.test", '"private-only"', "TXT"),
                  rrset("mail.corp.test", "10 mx.private-only.test.", "MX"),
                  rrset("db.corp.test", "secret.corp.test", "CNAME"),
                  rrset("v6.corp.test", "fd00:10:99::1", "AAAA"),
                  rrset("note.corp.test", '"private-only note"', "TXT"),
                  rrset("w.corp.test", "10.99.1.1", SetIdentifier="a", Weight=1),
                  rrset("w.corp.test", "10.99.1.2", SetIdentifier="b", Weight=3),
                  alias("corp.test", private, "w.corp.test"))
    _marked_apex(served, internal, "internal.test")
    served.change(internal, rrset("host.internal.test", "10.99.2.1"),
                  rrset("internal.test", '"private-only internal"', "TXT"))
    return World(public, private, internal)


def leaked(m) -> list[str]:
    """Lines of a response that carry a private marker."""
    return [line for line in m.to_text().splitlines() if any(k in line for k in MARKERS)]
