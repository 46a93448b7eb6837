"""The private views document in process: the hub versions it by the
publish that last changed the views, an edge pairs views with a public
image only when they go together (a publish that moves the views between
an edge's requests is met by a full copy, never by a mismatched pair), and
views on disk are served only when the state file names them."""
from __future__ import annotations

import dns.message
import dns.rcode
from test_hub import make_zone, name

from zonefront import model
from zonefront.config import EdgeSettings
from zonefront.core.engine import Engine
from zonefront.edge import disk as edisk
from zonefront.edge import documents
from zonefront.edge import views as eviews
from zonefront.edge.hub import EdgeHub
from zonefront.edge.node import API, Edge
from zonefront.health.table import HealthTable
from zonefront.serving import ServedZones, ZoneSource
from zonefront.snapshot import format as snapshot_format

VPCS = {"vpc-1": {"region": "us-east-1", "cidrs": ["10.0.0.0/8"]}}
INSIDE, OUTSIDE = "10.1.2.3", "192.0.2.9"


class ControlPlane:
    """ServedZones compiling and patching as the control plane does, and its hub."""

    def __init__(self):
        table = HealthTable()
        src = ZoneSource([], None)
        src.in_process, src.health, src.vpcs = True, table, lambda: VPCS
        self.served = ServedZones(src)
        self.hub = EdgeHub(EdgeSettings(), table, vpcs=lambda: VPCS)
        self.zones = [zone("pub.test.", 3, "PUB"), zone("priv.test.", 2, "PRIV", True)]
        self.publish(None)

    def publish(self, changed) -> None:
        built = self.served.publish(self.zones, changed)
        self.hub.offer(self.zones, built.image, built.lineage, built.patch)

    def add(self, i: int, label: str, addr: str) -> None:
        z = self.zones[i]
        owner = name(f"{label}.{model.name_to_text(z.origin)}")
        rr = z.rrsets.with_owners({owner}, {(owner, 1): model.RRset(
            owner, 1, 60, [bytes(int(x) for x in addr.split("."))])})
        self.zones[i] = model.Zone(origin=z.origin, source=z.source, private=z.private,
                                   vpcs=list(z.vpcs), rrsets=rr)
        self.publish({z.origin: {owner}})


def zone(origin: str, n: int, zid: str, private: bool = False) -> model.Zone:
    z = make_zone(origin, n, zid, private)
    z.rrsets = model.RRsetMap(z.rrsets.items())
    z.vpcs = [("us-east-1", "vpc-1")] if private else []
    return z


class HubClient:
    """An Edge's calls answered by the hub; `before(path)` runs first."""

    def __init__(self, hub: EdgeHub):
        self.hub, self.paths = hub, []
        self.before = lambda path: None

    def call(self, method, path, params=None, body=b"", headers=None, timeout=None, ok=(200,)):
        self.before(path)
        self.paths.append(path[len(API):])
        if path == API + "/snapshot":
            return 200, {"x-zonefront-epoch": self.hub.epoch}, self.hub.snapshot_doc()[1]
        if path == API + "/zones":
            return 200, {}, self.hub.zones_doc()[1]
        if path == API + "/views":
            return 200, {}, self.hub.views_doc()[1]
        if path == API + "/delta":
            return 200, {}, self.hub.delta_doc(params["since"], params["epoch"])
        raise AssertionError(path)


def edge_of(cp: ControlPlane, tmp_path) -> Edge:
    edge = Edge("http://unused", None, None, [], 1, str(tmp_path), "e0")
    edge.client = HubClient(cp.hub)
    return edge


def ask(engine, qname: str, source: str):
    m = dns.message.from_wire(engine.answer(dns.message.make_query(qname, "A").to_wire(),
                                            source))
    return dns.rcode.to_text(m.rcode()), sorted(r.to_text() for s in m.answer for r in s)


def test_views_serial_moves_with_the_views_only():
    cp = ControlPlane()
    first = cp.hub.serial
    zs = documents.loads_zones(cp.hub.zones_doc()[1])
    assert zs.views == first
    serial, blob = cp.hub.views_doc()
    epoch, vserial, views = documents.loads_views(blob)
    assert (epoch, vserial, serial) == (cp.hub.epoch, first, first)
    assert [cidrs for _snap, cidrs in views] == [["10.0.0.0/8"]]
    cp.add(0, "new", "192.0.2.7")  # public: the same views go with the new serial
    assert cp.hub.serial > first
    assert documents.loads_zones(cp.hub.zones_doc()[1]).views == first
    assert documents.apply_delta(zs, cp.hub.delta_doc(first, cp.hub.epoch)).views == first
    assert cp.hub.views_doc()[0] == first
    cp.add(1, "db", "10.9.9.9")  # private: new views, named by this publish
    assert documents.loads_zones(cp.hub.zones_doc()[1]).views == cp.hub.serial
    assert documents.loads_views(cp.hub.views_doc()[1])[1] == cp.hub.serial
    cp.zones = cp.zones[:1]  # the last private zone goes: no views at all
    cp.publish(None)
    assert documents.loads_zones(cp.hub.zones_doc()[1]).views == 0


def test_views_document_answers_as_the_control_plane():
    cp = ControlPlane()
    held = eviews.load(cp.hub.views_doc()[1], 1232, None, None)
    cp_engine = cp.served.engine  # what the control plane's workers answer from
    arrays, meta = snapshot_format.loads(cp.hub.snapshot_doc()[1])
    edge = Engine(arrays, meta["zones"])
    edge.image.set_views(held.images)
    for qname in ("h1.priv.test.", "nx.priv.test.", "h1.pub.test.", "priv.test."):
        for source in (INSIDE, OUTSIDE):
            q = dns.message.make_query(qname, "A")
            q.id = 77
            assert edge.answer(q.to_wire(), source) == cp_engine.answer(q.to_wire(), source)
    assert ask(edge, "h1.priv.test.", INSIDE) == ("NOERROR", ["10.0.0.1"])
    assert ask(edge, "h1.priv.test.", OUTSIDE) == ("REFUSED", [])
    # a hub without the control plane's image compiles the same views itself
    hub = EdgeHub(EdgeSettings(), HealthTable(), vpcs=lambda: VPCS)
    hub.offer(cp.zones)
    own = eviews.load(hub.views_doc()[1], 1232, None, None)
    edge2 = Engine(arrays, meta["zones"])
    edge2.image.set_views(own.images)
    for source in (INSIDE, OUTSIDE):
        assert ask(edge2, "h1.priv.test.", source) == ask(edge, "h1.priv.test.", source)


def test_views_that_moved_past_a_delta_are_never_paired_with_it(tmp_path):
    cp = ControlPlane()
    edge = edge_of(cp, tmp_path)
    edge._full()
    assert edge.client.paths == ["/snapshot", "/zones", "/views"]
    assert ask(edge.serving.engine, "h1.priv.test.", INSIDE) == ("NOERROR", ["10.0.0.1"])
    cp.add(1, "a", "10.7.7.1")
    pending = ["b"]

    def publish_again(path):  # the views move on between the delta and the views request
        if path.endswith("/views") and pending:
            cp.add(1, pending.pop(), "10.7.7.2")

    edge.client.before = publish_again
    edge.client.paths.clear()
    edge._update({"epoch": cp.hub.epoch, "serial": cp.hub.serial})
    # the views it got were of a later publish: it took that publish whole instead
    assert edge.client.paths == ["/delta", "/views", "/snapshot", "/zones", "/views"]
    assert edge.zs.serial == cp.hub.serial and edge.views.serial == edge.zs.views
    assert ask(edge.serving.engine, "b.priv.test.", INSIDE) == ("NOERROR", ["10.7.7.2"])
    assert ask(edge.serving.engine, "a.priv.test.", INSIDE) == ("NOERROR", ["10.7.7.1"])
    assert edge.stats["compiled"] == 0


def test_public_and_private_deltas_are_patches(tmp_path):
    cp = ControlPlane()
    edge = edge_of(cp, tmp_path)
    edge._full()
    cp.add(0, "new", "192.0.2.7")
    edge.client.paths.clear()
    edge._update({"epoch": cp.hub.epoch, "serial": cp.hub.serial})
    assert edge.client.paths == ["/delta"]  # the views held still go with it
    assert ask(edge.serving.engine, "new.pub.test.", INSIDE) == ("NOERROR", ["192.0.2.7"])
    assert ask(edge.serving.engine, "h1.priv.test.", INSIDE) == ("NOERROR", ["10.0.0.1"])
    cp.add(1, "db", "10.9.9.9")
    edge.client.paths.clear()
    edge._update({"epoch": cp.hub.epoch, "serial": cp.hub.serial})
    assert edge.client.paths == ["/delta", "/views"]
    assert ask(edge.serving.engine, "db.priv.test.", INSIDE) == ("NOERROR", ["10.9.9.9"])
    assert ask(edge.serving.engine, "db.priv.test.", OUTSIDE) == ("REFUSED", [])
    assert ask(edge.serving.engine, "new.pub.test.", OUTSIDE) == ("NOERROR", ["192.0.2.7"])
    assert (edge.stats["patched"], edge.stats["compiled"]) == (2, 0)
    assert edge.serving.stats == {"patched": 0, "full": 0, "forked": 0}  # nothing compiled here


def test_disk_views_are_served_only_when_the_state_names_them(tmp_path):
    cp = ControlPlane()
    edge = edge_of(cp, tmp_path)
    edge._full()
    state = edge.disk.state()
    assert state["views"] == edge.zs.views and edge.disk.read(edisk.VIEWS) is not None
    arrays, meta = snapshot_format.read(edge.disk.path(edisk.SNAPSHOT))

    def restarted(epoch, views_serial):
        e = Edge("http://unused", None, None, [], 1, str(tmp_path), "e1")
        engine = Engine(arrays, meta["zones"], meta["serial"])
        e._disk_views(engine, epoch, views_serial)
        return e, engine

    e, engine = restarted(state["epoch"], state["views"])
    assert e.views is not None and e.views.blob is None
    assert ask(engine, "h1.priv.test.", INSIDE) == ("NOERROR", ["10.0.0.1"])
    for epoch, serial in ((state["epoch"], state["views"] + 1), ("other", state["views"])):
        e, engine = restarted(epoch, serial)
        assert e.views is None
        assert ask(engine, "h1.priv.test.", INSIDE) == ("REFUSED", [])
    with open(edge.disk.path(edisk.VIEWS), "wb") as f:
        f.write(b"not a views document")
    e, engine = restarted(state["epoch"], state["views"])
    assert e.views is None
