"""fallback.with_public_fallback: which public names a private zone with
public DNS fallback takes over (only those that are NXDOMAIN privately),
and the answers the compiled engine gives from the merged zone."""
from __future__ import annotations

import dns.message
import dns.rcode

from zonefront import model
from zonefront.core.engine import Engine
from zonefront.fallback import with_public_fallback
from zonefront.snapshot.compiler import compile_zones
from zonefront.zonefile import parse_zone_text

SOA = "@ 300 IN SOA ns1 host 1 7200 900 1209600 300\n@ 300 IN NS ns1\n"
PUBLIC = SOA + """
www 60 IN A 192.0.2.1
pub-only 60 IN A 192.0.2.2
deep.ent 60 IN A 192.0.2.3
x.wild 60 IN A 192.0.2.4
y.sub 60 IN A 192.0.2.5
secret 60 IN TXT "public"
* 60 IN TXT "public wildcard"
"""
PRIVATE = SOA + """
www 60 IN A 10.0.0.1
secret 60 IN A 10.0.0.2
a.ent 60 IN A 10.0.0.3
*.wild 60 IN A 10.0.0.4
sub 60 IN NS ns.elsewhere.test.
"""


def _zone(text, private=False):
    z = parse_zone_text(text, "corp.test.")
    z.private = private
    return z


def _owners(z):
    return {model.name_to_text(o) for o, _t in z.rrsets}


def test_only_private_nxdomain_names_are_taken():
    pub, priv = _zone(PUBLIC), _zone(PRIVATE, private=True)
    merged = with_public_fallback(priv, [pub])
    added = _owners(merged) - _owners(priv)
    assert "pub-only.corp.test." in added
    assert "deep.ent.corp.test." in added  # below an empty non-terminal of the private zone
    assert "*.corp.test." in added  # the public wildcard covers the other missing names
    assert "x.wild.corp.test." not in added  # the private wildcard answers it
    assert "y.sub.corp.test." not in added  # delegated from the private zone
    # existing private names keep every private type, and gain no public type
    assert merged.get(model.name_from_text("secret.corp.test."), model.TYPE_TXT) is None
    assert priv.rrsets.keys() <= merged.rrsets.keys()
    for key in priv.rrsets:
        assert merged.rrsets[key] is priv.rrsets[key]


def test_uncovered_private_zone_is_unchanged():
    other = parse_zone_text(SOA + "www 60 IN A 192.0.2.9\n", "other.test.")
    priv = _zone(PRIVATE, private=True)
    assert with_public_fallback(priv, [other]) is priv


def test_engine_answers_from_merged_zone():
    merged = with_public_fallback(_zone(PRIVATE, private=True), [_zone(PUBLIC)])
    image = compile_zones([merged], None, {})
    engine = Engine(image.arrays(), image.zones)

    def ask(name, rdtype):
        q = dns.message.make_query(name, rdtype)
        return dns.message.from_wire(engine.answer(q.to_wire(), client="10.0.0.9"))

    r = ask("pub-only.corp.test.", "A")
    assert r.rcode() == dns.rcode.NOERROR and r.answer[0][0].to_text() == "192.0.2.2"
    r = ask("secret.corp.test.", "TXT")  # NODATA privately: stays NODATA
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    r = ask("www.corp.test.", "A")
    assert r.answer[0][0].to_text() == "10.0.0.1"
    r = ask("x.wild.corp.test.", "A")
    assert r.answer[0][0].to_text() == "10.0.0.4"
