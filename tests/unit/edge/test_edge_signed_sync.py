"""An edge never compiles a signed zone itself (its keys stay on the control
plane): a publish that lands between its snapshot and zones requests, or a
delta it cannot patch its image with, makes it take the control plane's
image again.  In process: a hub, and an Edge whose client asks that hub.
These are the paths by which an edge served a signed zone unsigned under
load (issue 14)."""
from __future__ import annotations

from zonefront import lightclass

import dns.message
import dns.rdatatype
from test_hub import make_zone, name, soa

from zonefront import model
from zonefront.config import EdgeSettings
from zonefront.dnssec.keystore import SigningKey
from zonefront.dnssec.signer import ZoneKeys
from zonefront.edge import documents
from zonefront.edge.hub import EdgeHub
from zonefront.edge.node import API, Edge
from zonefront.health.table import HealthTable

ORIGIN = "s.test."


class HubClient:
    """Answers an Edge's calls from `hub`; `before` runs before each one."""

    def __init__(self, hub: EdgeHub):
        self.hub = hub
        self.before = lambda path: None
        self.paths: list[str] = []

    def call(self, method, path, params=None, body=b"", headers=None, timeout=None, ok=(200,)):
        self.before(path)
        self.paths.append(path[len(API):])
        if path == API + "/snapshot":
            serial, blob = self.hub.snapshot_doc()
            return 200, {"x-zonefront-epoch": self.hub.epoch}, blob
        if path == API + "/zones":
            return 200, {}, self.hub.zones_doc()[1]
        if path == API + "/delta":
            return 200, {}, self.hub.delta_doc(params["since"], params["epoch"])
        raise AssertionError(path)


def signed(z: model.Zone, keys: ZoneKeys, serial: int) -> model.Zone:
    out = lightclass.replace(z, rrsets=dict(z.rrsets), dnssec=keys)
    out.rrsets[(z.origin, model.TYPE_SOA)] = model.RRset(z.origin, model.TYPE_SOA, 300,
                                                         [soa(serial)])
    return out


def setup(tmp_path):
    hub = EdgeHub(EdgeSettings(), HealthTable())
    keys = ZoneKeys(name(ORIGIN), [SigningKey.generate()], SigningKey.generate())
    client = HubClient(hub)
    edge = Edge("http://unused", None, None, [], 1, str(tmp_path), "e0")
    edge.client = client
    return hub, keys, client, edge


def serves_signed(edge: Edge) -> bool:
    q = dns.message.make_query(ORIGIN, "DNSKEY", want_dnssec=True)
    m = dns.message.from_wire(edge.serving.engine.answer(q.to_wire(), "192.0.2.9"))
    return any(r.rdtype == dns.rdatatype.RRSIG for r in m.answer)


def test_signed_zones_are_marked_in_zones_and_deltas():
    hub = EdgeHub(EdgeSettings(), HealthTable())
    keys = ZoneKeys(name(ORIGIN), [SigningKey.generate()], SigningKey.generate())
    plain, z = make_zone("p.test.", 2, "P"), make_zone(ORIGIN, 2, "S")
    hub.offer([plain, z])
    first = hub.serial
    assert documents.loads_zones(hub.zones_doc()[1]).signed == frozenset()
    hub.offer([plain, signed(z, keys, 2)])
    zs = documents.loads_zones(hub.zones_doc()[1])
    assert zs.signed == {"/hostedzone/S"}
    assert documents.loads_zones(zs.dumps()).signed == zs.signed  # the edge's disk copy
    before = documents.loads_zones(hub.zones_doc()[1])
    before.serial = first
    assert documents.apply_delta(before, hub.delta_doc(first, hub.epoch)).signed == zs.signed


def test_publish_between_snapshot_and_zones_is_fetched_again(tmp_path):
    hub, keys, client, edge = setup(tmp_path)
    z = make_zone(ORIGIN, 3, "S")
    hub.offer([signed(z, keys, 1)])
    later = [signed(z, keys, 2)]

    def publish_once(path):  # the control plane publishes right after the snapshot
        if path.endswith("/zones") and later:
            hub.offer([later.pop()])

    client.before = publish_once
    edge._full()
    assert edge.zs.serial == hub.serial and serves_signed(edge)
    assert client.paths == ["/snapshot", "/zones", "/snapshot", "/zones"]


def test_delta_without_patches_takes_the_image_not_a_compile(tmp_path):
    hub, keys, client, edge = setup(tmp_path)
    z = make_zone(ORIGIN, 3, "S")
    hub.offer([signed(z, keys, 1)])  # no image: the snapshot is compiled (and signed) by the hub
    edge._full()
    assert serves_signed(edge)
    hub.offer([signed(z, keys, 2)])
    client.paths.clear()
    edge._update({"epoch": hub.epoch, "serial": hub.serial})
    assert edge.zs.serial == hub.serial and serves_signed(edge)
    assert client.paths == ["/delta", "/snapshot", "/zones"]


def test_unsigned_zones_are_still_compiled_from_the_delta(tmp_path):
    hub, _keys, client, edge = setup(tmp_path)
    z = make_zone(ORIGIN, 3, "S")
    hub.offer([z])
    edge._full()
    z2 = lightclass.replace(z, rrsets=dict(z.rrsets))
    owner = name(f"new.{ORIGIN}")
    z2.rrsets[(owner, 1)] = model.RRset(owner, 1, 60, [bytes([192, 0, 2, 7])])
    hub.offer([z2])
    client.paths.clear()
    edge._update({"epoch": hub.epoch, "serial": hub.serial})
    assert client.paths == ["/delta"]
    q = dns.message.make_query(f"new.{ORIGIN}", "A")
    m = dns.message.from_wire(edge.serving.engine.answer(q.to_wire(), "192.0.2.9"))
    assert m.answer and m.answer[0][0].to_text() == "192.0.2.7"
