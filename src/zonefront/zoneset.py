"""The answer logic of RFC 1034 §4.3.2 over a set of zones, in plain Python.

This is the executable specification: the reference engine (ref/) calls it
per query, and the snapshot compiler calls it once per (node, qtype) to
precompute the response sections that the compiled core then only copies.
Keeping one implementation of the rules is what makes the two agree.

Rules implemented (and mirrored by core/_engine.pyx's lookup):
- the deepest zone wins; a parent's data at or below a child apex we also
  serve is dropped;
- a name strictly below a delegation cut, or the cut itself for any qtype
  but DS, gets a referral (NS in authority, glue in additional, no AA);
- a name strictly below a DNAME owner gets the DNAME and a synthesized
  CNAME (RFC 6672), or YXDOMAIN when the new name would exceed 255 octets;
  the synthesized target is not chased;
- an existing node answers its RRset, or follows its CNAME (chains across
  the zones we serve, at most MAX_CHAIN links, loops stop), or is NODATA;
- otherwise the closest encloser's wildcard child answers (RFC 4592), else
  NXDOMAIN; a name in no zone is REFUSED;
- negative answers carry the SOA with TTL min(SOA TTL, MINIMUM) (RFC 2308);
- qtype ANY returns one RRset, the lowest type present (RFC 8482);
- NS/MX/SRV targets we hold get their A/AAAA in the additional section;
  in-domain glue under a referral's cut is required (RFC 9471).
"""
from __future__ import annotations

from types import MappingProxyType

from .lightclass import dataclass, field
from .model import (
    ROOT,
    TYPE_A,
    TYPE_AAAA,
    TYPE_ANY,
    TYPE_CNAME,
    TYPE_DNAME,
    TYPE_DS,
    TYPE_MX,
    TYPE_NS,
    TYPE_SOA,
    TYPE_SRV,
    MAX_NAME_WIRE,
    RoutedRRset,
    RRset,
    RRsetMap,
    Zone,
    is_subdomain,
    parent_of,
    name_lower,
    read_name,
    soa_minimum,
    held_rrsets,
    held_types,
)

RCODE_NOERROR = 0
RCODE_FORMERR = 1
RCODE_SERVFAIL = 2
RCODE_NXDOMAIN = 3
RCODE_NOTIMP = 4
RCODE_REFUSED = 5
RCODE_YXDOMAIN = 6
RCODE_BADVERS = 16

MAX_CHAIN = 8

# Stands for "the qname as the client sent it" in answer owners, so that the
# compiler can emit a pointer to the question instead of a fixed name.
QNAME = b"\xffqname"


@dataclass(frozen=True)
class RR:
    owner: bytes  # lower-cased wire name, or QNAME
    rtype: int
    ttl: int
    rdata: bytes


@dataclass
class Resolution:
    """The sections of one response, before encoding."""

    rcode: int = RCODE_NOERROR
    aa: bool = True
    answer: list[RR] = field(default_factory=list)
    authority: list[RR] = field(default_factory=list)
    additional: list[RR] = field(default_factory=list)
    additional_required: int = 0  # the first N additional RRs must fit or TC

    def copy(self) -> "Resolution":
        return Resolution(self.rcode, self.aa, list(self.answer), list(self.authority),
                          list(self.additional), self.additional_required)


# the routed record sets of the (many) nodes that have none: one shared,
# read-only mapping instead of an empty dict per name; a node given routed
# record sets gets a dict of its own (_zone_nodes, IncrementalCompiler)
NO_ROUTED: MappingProxyType[int, list[RoutedRRset]] = MappingProxyType({})


class _Rare:
    """The Node fields most names leave empty, held apart (one object for
    the few nodes that set any) so that a million-name zone set does not
    carry five empty slots per name."""

    __slots__ = ("dname_above", "wildcard", "parent_zone", "parent_ds", "routed")

    def __init__(self) -> None:
        self.dname_above = None
        self.wildcard = None
        self.parent_zone = None
        self.parent_ds = None
        self.routed = NO_ROUTED

    def is_empty(self) -> bool:
        return (self.dname_above is None and self.wildcard is None and self.parent_zone is None
                and self.parent_ds is None and self.routed is NO_ROUTED)


def _rare_field(field_name: str, empty):
    """A Node attribute kept in its `_rare` object; reads `empty` without one,
    and storing `empty` there makes none."""

    def get(node):
        rare = node._rare
        return empty if rare is None else getattr(rare, field_name)

    def put(node, value) -> None:
        rare = node._rare
        if rare is None:
            if value is empty:
                return
            rare = node._rare = _Rare()
        setattr(rare, field_name, value)
        if value is empty and rare.is_empty():
            node._rare = None  # plain again (NodeTable.is_plain)

    return property(get, put, doc=f"(kept in `_rare`; {empty!r} when unset)")


_APEX = 1
_CUT = 2


class Node:
    """One owner name or empty non-terminal of the zone set.

    A plain class with six slots rather than a dataclass with eleven: a
    full compile of a 1M-record-set hosted zone makes ~775k of them
    (bench/RESULTS.md §9, 2026-12-06 cprss3; the control plane then keeps
    only the few NodeTable cannot make from the record-set maps), and the
    fields only some names use (`dname_above`, `wildcard`, `parent_zone`,
    `parent_ds`, `routed`) share one `_rare` object, made when one is
    first set and dropped when all are emptied."""

    __slots__ = ("name", "zone", "held", "cut_above", "_bits", "_rare")

    # the record sets by type as a mapping (rtype -> RRset), or the packed
    # value its zone's RRsetMap holds for this owner (model.pack_rrsets,
    # shared with the map, not a copy): read them through `rrsets`
    held: dict[int, RRset] | bytes
    cut_above: Node | None  # topmost cut strictly above, same zone

    def __init__(self, name: bytes, zone: Zone, held=None, is_apex: bool = False,
                 is_cut: bool = False, cut_above: Node | None = None,
                 dname_above: Node | None = None, wildcard: Node | None = None,
                 parent_zone: Zone | None = None, parent_ds: RRset | None = None,
                 routed=NO_ROUTED) -> None:
        self.name = name
        self.zone = zone
        self.held = {} if held is None else held
        self.cut_above = cut_above
        self._bits = (_APEX if is_apex else 0) | (_CUT if is_cut else 0)
        self._rare = None
        self.dname_above = dname_above
        self.wildcard = wildcard
        self.parent_zone = parent_zone
        self.parent_ds = parent_ds
        self.routed = routed

    def __repr__(self) -> str:
        return f"Node({self.name!r}, zone={self.zone.origin!r})"

    @property
    def is_apex(self) -> bool:
        return bool(self._bits & _APEX)

    @is_apex.setter
    def is_apex(self, value: bool) -> None:
        self._bits = (self._bits | _APEX) if value else (self._bits & ~_APEX)

    @property
    def is_cut(self) -> bool:
        """NS here and not the apex."""
        return bool(self._bits & _CUT)

    @is_cut.setter
    def is_cut(self, value: bool) -> None:
        self._bits = (self._bits | _CUT) if value else (self._bits & ~_CUT)

    # topmost DNAME owner strictly above
    dname_above = _rare_field("dname_above", None)
    # the "*" child, if any
    wildcard = _rare_field("wildcard", None)
    # at a child apex whose parent we also serve: DS is the parent's data
    # (RFC 4035 §3.1.4.1), answered from the parent's RRset or its NODATA
    parent_zone = _rare_field("parent_zone", None)
    parent_ds = _rare_field("parent_ds", None)
    # chosen per query; NO_ROUTED (shared, read-only) when there are none
    routed = _rare_field("routed", NO_ROUTED)

    @property
    def rrsets(self):
        """rtype -> RRset.  A packed node decodes afresh on every read (new
        RRset objects: changing them changes nothing); a full compile reads
        each node a few times and pays that each time (bench/RESULTS.md §9,
        2026-12-06 cprss2: within the noise)."""
        return held_rrsets(self.name, self.held)

    @rrsets.setter
    def rrsets(self, value) -> None:
        self.held = value

    def has(self, rtype: int) -> bool:
        """Whether a plain RRset of `rtype` is here, without decoding one."""
        return rtype in held_types(self.held)


def _made_node(name: bytes, zone: Zone, held) -> Node:
    """A plain Node (no marks, no rare fields) without Node.__init__'s
    property setters: NodeTable makes one per lookup of a plain name."""
    node = _new_node(Node)
    node.name = name
    node.zone = zone
    node.held = held
    node.cut_above = None
    node._bits = 0
    node._rare = None
    return node


_new_node = object.__new__
_WILD = b"\x01*"


class NodeTable:
    """`ZoneSet.nodes`: name -> Node, holding a Node object only where the
    zones' record-set maps cannot say it.

    Most names of a big zone are plain: an owner of its zone's RRsetMap, not
    the apex, no NS or DNAME there, not a wildcard or a wildcard's parent,
    no cut or DNAME above it, no routed record sets.  Such a name's Node is
    made afresh from the map on every lookup (zone = the deepest zone at or
    above the name, held = the map's value), instead of one Node per name
    held for ever plus a name -> Node dict over a million names (62 + ~40 MB
    at 1M record sets, bench/RESULTS.md §9, 2026-12-06 cprss3/cprss4).
    Every other name (apexes, empty non-terminals, cuts and the names below
    them, DNAME owners and the names below them, wildcards and their
    parents, routed owners, owners outside their zone, all names of a zone
    whose record sets are a plain dict) has its Node in `kept`.

    A plain Node is a copy: changing it changes nothing until it is handed
    to `keep`, which holds it in `kept` when it is no longer plain (and
    drops a kept one that became plain).  The incremental compiler does
    that for every node it changes; `pin` and `settle` bracket a change
    that swaps record-set maps under nodes it is still changing.
    `cached()` makes a lookup return the same object for the same name
    while a compile reads the table without changing it."""

    __slots__ = ("by_origin", "kept", "cache", "absent")

    def __init__(self) -> None:
        self.by_origin: dict[bytes, Zone] = {}  # origin -> zone, in the ZoneSet's order
        self.kept: dict[bytes, Node] = {}  # the names that are not plain
        self.cache: dict[bytes, Node] | None = None  # plain nodes made, while cached()
        # names a change is making (pin): absent until it makes their node
        self.absent: set[bytes] | None = None

    def add_zone(self, zone: Zone, kept: dict[bytes, Node]) -> None:
        """Serve `zone` with its non-plain nodes `kept`: a parent's nodes at
        or below its apex go (a parent's plain names there are hidden, since
        a name belongs to the deepest zone at or above it)."""
        origin = zone.origin
        for name in [n for n in self.kept if is_subdomain(n, origin)]:
            del self.kept[name]
        self.by_origin[origin] = zone
        self.kept.update(kept)

    def zone_of(self, name: bytes) -> Zone | None:
        """The deepest zone at or above `name`."""
        by_origin = self.by_origin
        n = name
        while True:
            zone = by_origin.get(n)
            if zone is not None:
                return zone
            if len(n) <= 1:
                return None
            n = n[n[0] + 1:]

    def get(self, name: bytes, default=None):
        node = self.kept.get(name)
        if node is not None:
            return node
        cache = self.cache
        if cache is not None:
            node = cache.get(name)
            if node is not None:
                return node
        if self.absent is not None and name in self.absent:
            return default
        zone = self.zone_of(name)
        if zone is None:
            return default
        rrsets = zone.rrsets
        if rrsets.__class__ is not RRsetMap:
            return default
        held = rrsets.held(name)
        if held is None:
            return default
        node = _made_node(name, zone, held)
        if cache is not None:
            cache[name] = node
        return node

    def __getitem__(self, name: bytes) -> Node:
        node = self.get(name)
        if node is None:
            raise KeyError(name)
        return node

    def __contains__(self, name: bytes) -> bool:
        if name in self.kept:
            return True
        if self.absent is not None and name in self.absent:
            return False
        zone = self.zone_of(name)
        if zone is None:
            return False
        rrsets = zone.rrsets
        return rrsets.__class__ is RRsetMap and rrsets.held(name) is not None

    def __setitem__(self, name: bytes, node: Node) -> None:
        self.kept[name] = node

    def pop(self, name: bytes, *default):
        """Take `name` out: its kept Node (or a plain one, made while its
        map still holds it).  A plain name is gone once its zone's map no
        longer holds it, so only a kept one needs this."""
        node = self.kept.pop(name, None)
        if node is None:
            node = self.get(name)
        if node is None:
            if default:
                return default[0]
            raise KeyError(name)
        if self.absent is not None:
            self.absent.add(name)
        return node

    def __iter__(self):
        """Every name: each zone's plain owners, map by map, then the kept
        names (a fixed order for a table nobody changes: the forked
        compiler's handoff numbers names by it)."""
        kept = self.kept
        zone_of = self.zone_of
        origins = list(self.by_origin)
        for zone in list(self.by_origin.values()):
            rrsets = zone.rrsets
            if rrsets.__class__ is not RRsetMap:
                continue
            origin = zone.origin
            if any(o != origin and is_subdomain(o, origin) for o in origins):
                # a zone inside this one hides this one's owners at and below its apex
                for owner, _held in rrsets.held_owners():
                    if owner not in kept and zone_of(owner) is zone:
                        yield owner
            else:
                # an owner outside its zone is kept (ZoneSet._zone_nodes)
                for owner, _held in rrsets.held_owners():
                    if owner not in kept:
                        yield owner
        yield from tuple(kept)

    def keys(self):
        return iter(self)

    def values(self):
        for name in self:
            yield self.get(name)

    def items(self):
        for name in self:
            yield name, self.get(name)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return bool(self.kept) or any(True for _ in self)

    # ---- changes ---------------------------------------------------------

    def is_plain(self, node: Node) -> bool:
        """Whether the maps say all of `node` (see the class docstring)."""
        if node._bits or node.cut_above is not None or node._rare is not None:
            return False
        name = node.name
        if name[:2] == _WILD:
            return False
        zone = node.zone
        rrsets = zone.rrsets
        if rrsets.__class__ is not RRsetMap:
            return False
        held = node.held
        if held is None or rrsets.held(name) is not held or self.zone_of(name) is not zone:
            return False
        return TYPE_DNAME not in held_types(held)

    def keep(self, node: Node) -> None:
        """After `node` changed: held when it is not plain, dropped when it is."""
        if self.is_plain(node):
            self.kept.pop(node.name, None)
        else:
            self.kept[node.name] = node

    def pin(self, names) -> None:
        """Before a change swaps record-set maps: the Nodes of `names` as
        they are now held in `kept`, and the names without one absent,
        until `settle`, so the change sees them as the old maps had them."""
        kept = self.kept
        absent = set()
        for name in names:
            if name in kept:
                continue
            node = self.get(name)
            if node is None:
                absent.add(name)
            else:
                kept[name] = node
        self.absent = absent

    def settle(self, names) -> None:
        """After a change: the pinned and made names' nodes kept only when
        not plain, against the new maps."""
        self.absent = None
        kept = self.kept
        for name in names:
            node = kept.get(name)
            if node is not None and self.is_plain(node):
                del kept[name]

    def cached(self) -> "_Cached":
        """While a compile reads the table: one Node object per name."""
        return _Cached(self)


class _Cached:
    """NodeTable.cached's context: the cache lives until the outermost exit."""

    __slots__ = ("table", "outer")

    def __init__(self, table: NodeTable) -> None:
        self.table = table

    def __enter__(self) -> NodeTable:
        self.outer = self.table.cache
        if self.outer is None:
            self.table.cache = {}
        return self.table

    def __exit__(self, *exc) -> None:
        self.table.cache = self.outer


class _NoCache:
    """ZoneSet.cached for a zone set whose nodes are not a NodeTable."""

    def __enter__(self):
        return None

    def __exit__(self, *exc) -> None:
        return None


_NOT_CACHED = _NoCache()


def rrset_rrs(rrset: RRset, owner: bytes | None = None, ttl: int | None = None) -> list[RR]:
    o = rrset.owner if owner is None else owner
    t = rrset.ttl if ttl is None else ttl
    return [RR(o, rrset.rtype, t, rd) for rd in rrset.rdatas]


def rdata_target(rtype: int, rdata: bytes) -> bytes | None:
    """The name that additional-section processing follows, lower-cased."""
    from .model import name_lower

    if rtype == TYPE_NS:
        return name_lower(read_name(rdata, 0)[0])
    if rtype == TYPE_MX:
        return name_lower(read_name(rdata, 2)[0])
    if rtype == TYPE_SRV:
        return name_lower(read_name(rdata, 6)[0])
    return None


class ZoneSet:
    """Zones indexed by name: one node per owner and empty non-terminal
    (`nodes`, a NodeTable: most made from the zones' record-set maps when
    looked up)."""

    # when a set: every other name an answer consults is added to it, so the
    # incremental compiler learns whose answers a change reaches
    trace: set[bytes] | None = None

    def __init__(self, zones: list[Zone]):
        self.zones = sorted(zones, key=lambda z: len(z.origin))
        self.nodes = NodeTable()
        origins = {z.origin for z in self.zones}
        if len(origins) != len(self.zones):
            raise ValueError("two zones with the same origin")
        for zone in self.zones:
            parent = self._enclosing_zone(zone.origin)
            # the parent's node at the child apex, before the child replaces
            # whatever the parent held at/below it
            pnode = self.nodes.get(zone.origin)
            parent_ds = pnode.rrsets.get(TYPE_DS) if pnode is not None else None
            self.nodes.add_zone(zone, self._zone_nodes(zone))
            if parent is not None:
                apex = self.nodes[zone.origin]
                apex.parent_zone = parent
                apex.parent_ds = parent_ds

    def cached(self):
        """While a compile only reads the zone set: a name's Node is made
        once (NodeTable.cached), not per lookup."""
        nodes = self.nodes
        return nodes.cached() if isinstance(nodes, NodeTable) else _NOT_CACHED

    def _enclosing_zone(self, origin: bytes) -> Zone | None:
        name = origin
        while name != ROOT:
            name = parent_of(name)
            node = self.nodes.get(name)
            if node is not None and node.is_apex:
                return node.zone
        return None

    @staticmethod
    def _zone_nodes(zone: Zone) -> dict[bytes, Node]:
        """The zone's names that are not plain (NodeTable), with their Nodes:
        a zone whose record sets are an RRsetMap gets no Node for its plain
        owners; any other zone gets one for every name."""
        if not isinstance(zone.rrsets, RRsetMap):
            return ZoneSet._all_nodes(zone)
        origin = zone.origin
        held_of = zone.rrsets.held
        nodes: dict[bytes, Node] = {}
        ents: set[bytes] = set()
        # owners that change how the names below them answer: a cut (NS
        # below the apex, not at a wildcard) and a DNAME
        marks: set[bytes] = set()

        def walk_up(owner: bytes) -> None:
            # the empty non-terminals up to the apex; a name already known
            # has had its own walk, or will
            name = owner
            while name != origin and name != ROOT:
                name = parent_of(name)
                if name in ents or name in nodes or held_of(name) is not None:
                    break
                ents.add(name)

        plain: list[bytes] = []
        for owner, held in zone.rrsets.held_owners():
            types = held_types(held)
            wild = owner[:2] == _WILD
            mark = (TYPE_NS in types and owner != origin and not wild) or TYPE_DNAME in types
            if mark:
                marks.add(owner)
            if mark or wild or not is_subdomain(owner, origin):
                nodes[owner] = Node(owner, zone, held)
            else:
                plain.append(owner)
            walk_up(owner)
        for r in zone.routed:
            node = nodes.get(r.owner)
            if node is None:
                node = nodes[r.owner] = Node(r.owner, zone, held_of(r.owner))
            if node.routed is NO_ROUTED:
                node.routed = {}
            node.routed.setdefault(r.rtype, []).append(r)
            rrsets = node.rrsets
            if r.rtype in rrsets:  # a type is either simple or routed
                node.held = {t: rs for t, rs in rrsets.items() if t != r.rtype}
            walk_up(r.owner)
        for name in ents:
            if name not in nodes:
                nodes[name] = Node(name, zone)
        if origin not in nodes:
            nodes[origin] = Node(origin, zone, held_of(origin))
        nodes[origin].is_apex = True
        for name in [n for n in nodes if n[:2] == _WILD]:
            parent = parent_of(name)
            if parent not in nodes:
                held = held_of(parent)
                if held is not None:
                    nodes[parent] = Node(parent, zone, held)
        if marks:
            # the names below a cut or DNAME inherit it
            for owner in plain:
                name = owner
                while name != origin and name != ROOT:
                    name = parent_of(name)
                    if name in marks:
                        nodes[owner] = Node(owner, zone, held_of(owner))
                        break
        ZoneSet._mark(nodes)
        return nodes

    @staticmethod
    def _all_nodes(zone: Zone) -> dict[bytes, Node]:
        """A Node for every name of a zone whose record sets are a plain dict."""
        nodes: dict[bytes, Node] = {}
        origin = zone.origin
        by_owner: dict[bytes, dict] = {}
        for (owner, rtype), rrset in zone.rrsets.items():
            by_owner.setdefault(owner, {})[rtype] = rrset
        owners = [(owner, by_type, None) for owner, by_type in by_owner.items()]
        owners += [(r.owner, None, r) for r in zone.routed]
        for owner, by_type, routed in owners:
            node = nodes.get(owner)
            if node is None:
                node = nodes[owner] = Node(owner, zone)
            if routed is None:
                node.held = by_type  # each owner comes once, before the routed ones
            else:
                if node.routed is NO_ROUTED:
                    node.routed = {}
                node.routed.setdefault(routed.rtype, []).append(routed)
                rrsets = node.rrsets
                if routed.rtype in rrsets:  # a type is either simple or routed
                    node.held = {t: rs for t, rs in rrsets.items() if t != routed.rtype}
            # empty non-terminals up to the apex
            name = owner
            while name != origin and name != ROOT:
                name = parent_of(name)
                if name not in nodes:
                    nodes[name] = Node(name, zone)
        if origin not in nodes:
            nodes[origin] = Node(origin, zone)
        nodes[origin].is_apex = True
        ZoneSet._mark(nodes)
        return nodes

    @staticmethod
    def _mark(nodes: dict[bytes, Node]) -> None:
        """Wildcard links, cuts and the cut and DNAME marks names inherit,
        top-down (parents before children, so inherited marks are final).
        A parent missing from `nodes` is plain (NodeTable) or absent: it
        passes nothing on."""
        for name in sorted(nodes, key=len):
            node = nodes[name]
            if name.startswith(_WILD):
                parent = nodes.get(parent_of(name))
                if parent is not None:
                    parent.wildcard = node
            if node.is_apex:
                node.is_cut = False
            else:
                # NS at a wildcard is ordinary data: a referral cannot be
                # synthesized for names that do not exist (RFC 4592 §4.2)
                node.is_cut = node.has(TYPE_NS) and not name.startswith(_WILD)
                parent = nodes.get(parent_of(name))
                if parent is not None:
                    node.cut_above = parent.cut_above or (parent if parent.is_cut else None)
                    if node.cut_above is None:
                        node.dname_above = parent.dname_above or (
                            parent if parent.has(TYPE_DNAME) else None
                        )
        # a parent's data exactly at a child apex never answers; the ENTs stay

    # ---- lookup -----------------------------------------------------------

    def lookup(self, qname: bytes) -> tuple[str, Node | None]:
        """Classify a lower-cased qname: 'exact', 'cut', 'referral', 'dname',
        'wildcard', 'nxdomain' or 'refused', with the node that decides it."""
        if self.trace is not None:
            self.trace.add(qname)
        node = self.nodes.get(qname)
        if node is not None:
            if node.cut_above is not None:
                return "referral", node.cut_above
            if node.dname_above is not None:
                return "dname", node.dname_above
            if node.is_cut:
                return "cut", node
            return "exact", node
        name = qname
        while name != ROOT:
            name = parent_of(name)
            enc = self.nodes.get(name)
            if enc is None:
                continue
            if enc.cut_above is not None:
                return "referral", enc.cut_above
            if enc.is_cut:
                return "referral", enc
            if enc.dname_above is not None:
                return "dname", enc.dname_above
            if enc.has(TYPE_DNAME):
                return "dname", enc
            if enc.wildcard is not None:
                return "wildcard", enc.wildcard
            return "nxdomain", enc
        return "refused", None

    # ---- resolution -------------------------------------------------------

    def resolve(self, qname: bytes, qtype: int, seen: set | None = None) -> Tree:
        """Answer sections for a lower-cased qname; owners equal to the qname
        are given as QNAME.  `seen` carries the names a chain has visited.
        Where routed record sets compete the result is a Choice tree."""
        tree = self._resolve(qname, qtype, seen)
        return finish(tree, self.add_additional)

    def _resolve(self, qname: bytes, qtype: int, seen: set | None) -> Tree:
        seen = {qname} if seen is None else seen | {qname}
        kind, node = self.lookup(qname)
        res = Resolution()
        if kind == "refused":
            res.rcode, res.aa = RCODE_REFUSED, False
            return res
        if kind == "referral" or (kind == "cut" and qtype != TYPE_DS):
            self.referral(node, res)
            return res
        if kind == "dname":
            return self.synthesize(node, qname, QNAME, qtype, res, seen)
        if kind == "nxdomain":
            self.negative(node.zone, res, RCODE_NXDOMAIN)
            return res
        if kind == "cut":  # DS at the cut: the parent answers (RFC 4035 §3.1.4.1)
            ds = node.rrsets.get(TYPE_DS)
            if ds is not None:
                res.answer += rrset_rrs(ds, QNAME)
            else:
                self.negative(node.zone, res, RCODE_NOERROR)
            return res
        if kind == "wildcard":
            # the synthesized owner stands for the wildcard: a chain back to
            # the wildcard itself is a loop (and the compiled block, shared by
            # every name it covers, cannot know the qname)
            seen = seen | {node.name}
        return self.answer_node(node, QNAME, qtype, res, seen)

    def referral(self, cut: Node, res: Resolution) -> None:
        res.aa = False
        ns = cut.rrsets[TYPE_NS]
        res.authority += rrset_rrs(ns)
        required, optional = [], []
        for rd in ns.rdatas:
            target = rdata_target(TYPE_NS, rd)
            if self.trace is not None:
                self.trace.add(target)
            tnode = self.nodes.get(target)
            if tnode is None:
                continue
            glue = is_subdomain(target, cut.name)
            for t in (TYPE_A, TYPE_AAAA):
                rrset = tnode.rrsets.get(t)
                if rrset is not None:
                    (required if glue else optional).extend(rrset_rrs(rrset))
        res.additional = _dedupe(required + optional)
        res.additional_required = len(_dedupe(required))

    def dname(self, owner: Node, res: Resolution) -> None:
        """The DNAME RR alone: what the compiler stores for per-query synthesis."""
        res.answer += rrset_rrs(owner.rrsets[TYPE_DNAME])

    def synthesize(self, owner: Node, qname: bytes, qname_owner: bytes, qtype: int,
                   res: Resolution, seen: set) -> Tree:
        """DNAME substitution (RFC 6672 §3.2): the DNAME, a CNAME to the new
        name, then the lookup restarts there once; a referral, another DNAME
        or a name we do not serve ends it with what we have."""
        rrset = owner.rrsets[TYPE_DNAME]
        res.answer += rrset_rrs(rrset)
        target = read_name(rrset.rdatas[0], 0)[0]
        new = qname[: len(qname) - len(owner.name)] + target
        if len(new) > MAX_NAME_WIRE:
            res.rcode = RCODE_YXDOMAIN
            return res
        res.answer.append(RR(qname_owner, TYPE_CNAME, rrset.ttl, new))
        new = name_lower(new)
        kind, node = self.lookup(new)
        if kind in ("refused", "referral", "dname") or (kind == "cut" and qtype != TYPE_DS):
            return res
        if new in seen or len(seen) > MAX_CHAIN:
            return res
        sub = self._resolve(new, qtype, seen)
        return graft(res, sub, new)

    def negative(self, zone: Zone, res: Resolution, rcode: int) -> None:
        res.rcode = rcode
        soa = zone.soa
        if soa is not None:
            ttl = min(soa.ttl, soa_minimum(soa.rdatas[0]))
            res.authority += rrset_rrs(soa, zone.origin, ttl)

    def answer_node(self, node: Node, owner: bytes, qtype: int, res: Resolution, seen: set) -> Tree:
        if qtype == TYPE_DS and node.parent_zone is not None:
            if node.parent_ds is not None:
                res.answer += rrset_rrs(node.parent_ds, owner)
            else:
                self.negative(node.parent_zone, res, RCODE_NOERROR)
            return res
        if qtype == TYPE_ANY:
            present = set(node.rrsets) | set(node.routed)
            if not present:
                self.negative(node.zone, res, RCODE_NOERROR)
                return res
            qtype = min(present)  # RFC 8482: one RRset, the lowest type
            if qtype == TYPE_CNAME and qtype in node.routed:
                return self.routed(node, TYPE_CNAME, owner, res, seen, None)
        if qtype in node.routed:
            return self.routed(node, qtype, owner, res, seen, None)
        rrset = node.rrsets.get(qtype)
        if rrset is not None:
            res.answer += rrset_rrs(rrset, owner)
            return res
        if TYPE_CNAME in node.routed:
            return self.routed(node, TYPE_CNAME, owner, res, seen, qtype)
        cname = node.rrsets.get(TYPE_CNAME)
        if cname is None:
            self.negative(node.zone, res, RCODE_NOERROR)
            return res
        res.answer += rrset_rrs(cname, owner)
        return self.chase(rdata_cname(cname), qtype, res, seen)

    def routed(self, node: Node, rtype: int, owner: bytes, res: Resolution, seen: set,
               chase_qtype: int | None) -> Tree:
        """The record sets of one owner and type that compete per query: one
        option per record set, each continuing as the plain answer would."""
        return self.choose(node, node.routed[rtype], rtype, owner, res, seen, chase_qtype)

    def choose(self, node: Node, records: list[RoutedRRset], rtype: int, owner: bytes,
               res: Resolution, seen: set, chase_qtype: int | None, rule: bool = False) -> Tree:
        """One routing decision; a traffic policy rule (`children`) nests the
        next decision under its candidate, so the tree keeps the rule tree's
        shape instead of a flattened copy of every path."""
        options: list[Tree] = []
        for rec in records:
            sub = res.copy()
            if rec.children:
                options.append(self.choose(node, rec.children, rtype, owner, sub, seen,
                                           chase_qtype, rule=True))
                continue
            if rec.alias_name is not None:
                options.append(self.alias(node, rec, owner, rtype, sub, seen | {node.name}))
                continue
            sub.answer += [RR(owner, rtype, rec.ttl, rd) for rd in rec.rdatas]
            if chase_qtype is not None and rec.rdatas:  # a routed CNAME, followed
                options.append(self.chase(name_lower(read_name(rec.rdatas[0], 0)[0]),
                                          chase_qtype, sub, set(seen)))
            else:
                options.append(sub)
        nomatch = res.copy()
        self.negative(node.zone, nomatch, RCODE_NOERROR)
        kind = policy_kind(records[0])
        return Choice(kind, list(records), options, nomatch,
                      res.copy() if kind == "multivalue" else None,
                      values=rule and kind == "multivalue")

    def alias(self, node: Node, rec: RoutedRRset, owner: bytes, rtype: int, res: Resolution,
              seen: set) -> Tree:
        """An alias answers with its target's record set of the same type, in
        the alias's name and with the target's TTL; a missing target is NODATA."""
        if self.trace is not None:
            self.trace.add(rec.alias_name)
        target = self.nodes.get(rec.alias_name)
        if (target is None or rec.alias_name in seen or len(seen) > MAX_CHAIN
                or (rtype not in target.rrsets and rtype not in target.routed)):
            self.negative(node.zone, res, RCODE_NOERROR)
            return res
        if rtype in target.routed:
            return self.routed(target, rtype, owner, res, seen | {rec.alias_name}, None)
        res.answer += rrset_rrs(target.rrsets[rtype], owner)
        return res

    def chase(self, target: bytes, qtype: int, res: Resolution, seen: set) -> Tree:
        """Follow a CNAME to `target` (RFC 1034 §4.3.2 step 3.a): the rcode is
        the last link's (RFC 6604); a name we do not serve ends the chain
        with what we have.  A target at or below a delegation cut continues
        with the referral (step 3.b: NS in authority, glue in additional),
        as NSD and Knot answer; AA stays set, since the CNAME before it is
        our authoritative data (NSD's answer_delegation sets AA once a
        CNAME was followed).  DS at the cut is the parent's, as in
        _resolve."""
        if target in seen or len(seen) > MAX_CHAIN:
            return res
        seen.add(target)
        kind, node = self.lookup(target)
        if kind == "refused":
            return res
        if kind == "referral" or (kind == "cut" and qtype != TYPE_DS):
            if self.trace is not None:
                self.trace.add(node.name)  # the cut's NS set shapes this answer
            self.referral(node, res)
            res.aa = True
            return res
        if kind == "cut":
            ds = node.rrsets.get(TYPE_DS)
            if ds is not None:
                res.answer += rrset_rrs(ds, target)
            else:
                self.negative(node.zone, res, RCODE_NOERROR)
            return res
        if kind == "nxdomain":
            self.negative(node.zone, res, RCODE_NXDOMAIN)
            return res
        if kind == "dname":
            return self.synthesize(node, target, target, qtype, res, seen)
        return self.answer_node(node, target, qtype, res, seen)  # exact or wildcard

    def add_additional(self, res: Resolution) -> None:
        present = {(rr.owner, rr.rtype) for rr in res.answer}
        extra: list[RR] = []
        for rr in res.answer + res.authority:
            target = rdata_target(rr.rtype, rr.rdata)
            if target is None:
                continue
            if self.trace is not None:
                self.trace.add(target)
            tnode = self.nodes.get(target)
            if tnode is None or tnode.dname_above is not None:
                continue
            for t in (TYPE_A, TYPE_AAAA):
                rrset = tnode.rrsets.get(t)
                if rrset is not None and (target, t) not in present:
                    extra.extend(rrset_rrs(rrset))
        res.additional = _dedupe(res.additional + extra)


@dataclass
class Choice:
    """Record sets that compete per query (a routing policy, or an alias).

    `options[i]` is the answer when `records[i]` is chosen; `nomatch` when
    none applies (geolocation or IP-based routing without a default);
    `prefix` (multivalue only) is what precedes the chosen values, since up
    to eight of them are returned together.
    """

    kind: str
    records: list[RoutedRRset]
    options: list
    nomatch: Resolution
    prefix: Resolution | None = None
    # a traffic policy's multivalue rule under other rules: its values are
    # answered together (an alias's multivalue target answers one)
    values: bool = False


Tree = Resolution | Choice


def policy_kind(rec: RoutedRRset) -> str:
    """Route 53 allows one routing policy per record set; which one is set."""
    if rec.weight is not None:
        return "weighted"
    if rec.failover is not None:
        return "failover"
    if rec.multivalue:
        return "multivalue"
    if rec.region is not None:
        return "latency"
    if rec.geo_continent or rec.geo_country or rec.geo_subdivision:
        return "geo"
    if rec.geoprox_region is not None or rec.geoprox_lat is not None:
        return "geoproximity"
    if rec.cidr_collection is not None:
        return "cidr"
    return "alias"


def finish(tree: Tree, leaf_fn) -> Tree:
    """Apply `leaf_fn` to every Resolution at the leaves (in place)."""
    if isinstance(tree, Resolution):
        leaf_fn(tree)
    else:
        for opt in tree.options:
            finish(opt, leaf_fn)
        leaf_fn(tree.nomatch)
    return tree


def leaves(tree: Tree) -> list[Resolution]:
    if isinstance(tree, Resolution):
        return [tree]
    out = [tree.nomatch]
    for opt in tree.options:
        out += leaves(opt)
    return out


def graft(res: Resolution, tree: Tree, rename: bytes) -> Tree:
    """Prefix `res` to every leaf of a tree resolved for `rename`."""
    if isinstance(tree, Choice):
        return Choice(tree.kind, tree.records, [graft(res, o, rename) for o in tree.options],
                      graft(res, tree.nomatch, rename),
                      graft(res, tree.prefix, rename) if tree.prefix is not None else None,
                      tree.values)
    out = res.copy()
    out.rcode = tree.rcode
    # a chase that comes back to the DNAME owner (qtype DNAME, or ANY whose
    # lowest type there is DNAME) ends on the DNAME already given: it is not
    # repeated (RFC 2181 §5, servers suppress duplicate records)
    out.answer += [rr for rr in (RR(rename if rr.owner == QNAME else rr.owner, rr.rtype, rr.ttl,
                                    rr.rdata) for rr in tree.answer) if rr not in res.answer]
    out.authority += tree.authority
    out.additional += tree.additional
    return out


def rdata_cname(rrset: RRset) -> bytes:
    from .model import name_lower

    return name_lower(read_name(rrset.rdatas[0], 0)[0])


def _dedupe(rrs: list[RR]) -> list[RR]:
    seen = set()
    out = []
    for rr in rrs:
        if rr not in seen:
            seen.add(rr)
            out.append(rr)
    return out
