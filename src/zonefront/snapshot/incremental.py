"""Compiling a change: only the names it reaches, appended to the served image.

A full compile costs the whole zone set, so a one-record change on a big
zone would wait for every other name (and a small zone for the big one
beside it).  This keeps the last compile alive instead: the Compiler with
its ZoneSet, its block caches and zone rows, and a growable image.  A change
batch then

1. updates the ZoneSet's nodes for the owner names it touched (creating
   and removing empty non-terminals, wildcard links, cut and DNAME marks);
2. finds every name whose pre-encoded answers may differ: the touched
   names, names whose answers consulted them (CNAME/alias chains,
   additional-section targets, glue; learnt from ZoneSet.trace while
   compiling), names below a cut or DNAME that appeared, went or changed,
   and the parent of a changed wildcard (it holds the wildcard's offset);
3. compiles those names with the same Compiler.compile_node a full compile
   uses, appends the new records and swaps in an image whose hash table
   names the new records (core._engine.Image.patch).

In a zone with an NSEC3 chain (`denial = "nsec3"`), a change that makes or
removes names or changes a name's types also makes the chain's links it
moves again (nsec3patch.py), and the names whose answers quote them join
the ones compiled.

A query is answered wholly from the old or the new image: records are only
appended, so nothing the old image reads changes.  What this cannot patch
(zones added or removed, a zone's SOA other than its serial, data at a child
zone's apex, a new CIDR collection, streams out of room) raises
NeedsFullCompile before anything changes, and the caller compiles in full.
tests/differential/test_incremental.py holds patched images to a full
compile of the same zones, answer for answer.
"""
from __future__ import annotations

import dataclasses
from .. import lightclass

from ..errors import ZonefrontError
from ..model import (
    ROOT,
    TYPE_DNAME,
    TYPE_NS,
    TYPE_SOA,
    RoutedRRset,
    RRsetMap,
    Zone,
    is_subdomain,
    parent_of,
)
from ..zoneset import NO_ROUTED, Node
from .blocks import MAX_SERIAL_ROWS, MAX_SIG_ROWS
from .compiler import DNAME, Compiler, with_dnskeys
from .layout import U32, wild_field
from .policy import PSET

_WILD = b"\x01*"


class NeedsFullCompile(ZonefrontError):
    """The change cannot be patched in; nothing was changed."""


class DependencyIndex:
    """Which names' answers consulted which other names.

    `exact[t]`: names whose answers looked up `t`; `under[a]`: names whose
    answers looked up some name strictly below `a` (a node appearing or
    vanishing at `a`, a wildcard child of `a`, a cut or DNAME at `a` changes
    how those lookups end).  Entries are never removed when a name is
    recompiled: a stale one only costs a needless recompile, and the next
    full compile starts afresh.

    `under` holds only names strictly below a zone's apex (`origins`) with
    no apex at or below them: an apex's entry, and every name's above it,
    would list nearly every name that consulted anything (20 MB of sets at
    1M record sets, bench/RESULTS.md §9 2026-12-06 cprss3).  For those names
    `at_or_below` answers every name that consulted anything instead: a
    wildcard or DNAME at an apex reaches most of them anyway."""

    def __init__(self, origins=()) -> None:
        # a name consulted by one other name (most are) maps to that name's
        # bytes, not to a one-element set: ~200 octets less per entry
        self.exact: dict[bytes, bytes | set[bytes]] = {}
        self.under: dict[bytes, bytes | set[bytes]] = {}
        self.origins = frozenset(origins)
        # the apexes and every name above one: no `under` entry of their own
        above = set(self.origins)
        for origin in self.origins:
            name = origin
            while name != ROOT:
                name = parent_of(name)
                above.add(name)
        self.above = frozenset(above)

    def add(self, source: bytes, consulted: set[bytes]) -> None:
        origins = self.origins
        for target in consulted:
            if target == source:
                continue
            _put(self.exact, target, source)
            if target[:1] == b"\x00" and len(target) > 1:
                continue  # a proof's NSEC3 (dnssec/nsec3.py proof_key), not a name
            # the names between the target and its zone's apex; none for a
            # target in no zone we serve (no change can make one appear)
            names = []
            name = parent_of(target)
            while name not in origins:
                if name == ROOT:
                    names = ()
                    break
                names.append(name)
                name = parent_of(name)
            for name in names:
                _put(self.under, name, source)

    def of_name(self, name: bytes) -> set[bytes]:
        return _as_set(self.exact.get(name))

    def at_or_below(self, name: bytes) -> set[bytes]:
        if name in self.above or not self._in_zone(name):
            return self.all_sources()
        return _as_set(self.exact.get(name)) | _as_set(self.under.get(name))

    def _in_zone(self, name: bytes) -> bool:
        while name != ROOT:
            name = parent_of(name)
            if name in self.origins:
                return True
        return False

    def all_sources(self) -> set[bytes]:
        """Every name whose answer consulted another name."""
        out: set[bytes] = set()
        for entry in self.exact.values():
            if isinstance(entry, bytes):
                out.add(entry)
            else:
                out |= entry
        return out


def _put(index: dict, key: bytes, source: bytes) -> None:
    have = index.get(key)
    if have is None:
        index[key] = source
    elif isinstance(have, set):
        have.add(source)
    elif have != source:
        index[key] = {have, source}


def _as_set(entry) -> set[bytes]:
    if entry is None:
        return set()
    return {entry} if isinstance(entry, bytes) else entry


@dataclasses.dataclass
class _Owner:
    """The new data of one touched owner name, gathered before anything changes."""

    zone: Zone  # the compiler's own copy of the zone
    name: bytes
    rrsets: dict  # rtype -> RRset
    routed: dict  # rtype -> [RoutedRRset]
    keys: dict  # (owner, rtype) -> RRset, for the zone copy


class IncrementalCompiler:
    """A compiled zone set that takes changes.  `image` is the engine image
    (core._engine.Image or ref.engine.RefImage) serving them."""

    def __init__(self, zones: list[Zone], image_class, health=None,
                 cidr_collections: dict | None = None, udp_max: int = 1232, full=None):
        """`full(compiler, deps)`: runs the compiler's full compile tracing
        into `deps` and returns its CompiledArrays (handoff.ForkedCompile:
        in a child process); by default here."""
        self.zones = {z.origin: z for z in zones}  # as handed in, to notice what moved
        # the compiler's zones are its own copies (the callers' Zone objects
        # are never mutated).  Their record sets are an RRsetMap, the
        # caller's own when it is one: a change makes a new map sharing every
        # untouched shard (_apply), so a million record sets are not held twice
        self.copies = {z.origin: lightclass.replace(
            z, rrsets=z.rrsets if isinstance(z.rrsets, RRsetMap) else RRsetMap(z.rrsets),
            routed=list(z.routed)) for z in zones}
        self.c = Compiler(list(self.copies.values()), health, cidr_collections)
        # origin -> [record sets, records], kept as changes land (zone_info)
        self.counts = {o: [len(z.rrsets), z.rrsets.records()]
                       for o, z in self.copies.items()}
        # a signed zone's ZoneSet holds a copy with its DNSKEY RRset added
        # (compiler.with_dnskeys): changes go to the zone the nodes belong to
        self.copies = {z.origin: z for z in self.c.zs.zones}
        self.deps = DependencyIndex(self.copies)
        if full is None:
            self.c.on_trace = self.deps.add
            image = self.c.full()
        else:
            image = full(self.c, self.deps)
            self.c.on_trace = self.deps.add
        arrays = image.arrays()
        # origin -> the NSEC3 chain in the image, for the zones that have one
        self.chains = {}
        for origin in self.c.b.nsec3_zones:
            # signed zones only: an unsigned compile never loads dnssec/
            from .nsec3patch import ChainImage

            chain = ChainImage.from_arrays(arrays, self.c.rows[origin])
            if chain is not None:
                self.chains[origin] = chain
                self.c.b.nsec3_rooted.add(origin)  # (a compile in a child set it there)
                # the chain's links now, as part of the full compile (a compile
                # in a child made them there): not at the first change, and
                # before the caller freezes the compiler's objects (serving.py)
                self.c.b.nsec3_chain(origin)
        self.image = image_class(arrays, image.zones, udp_max, growable=True)
        self.kids: dict[bytes, int] = {}  # name -> its child nodes, for names that have any
        nodes, kids = self.c.zs.nodes, self.kids
        for name in nodes:
            if name != ROOT:
                p = parent_of(name)
                count = kids.get(p)
                if count is not None:
                    kids[p] = count + 1
                elif p in nodes:  # once per parent: most names share a few
                    kids[p] = 1
        self.soa_shapes = {o: _soa_shape(z) for o, z in self.copies.items()}
        self.broken = False
        self.last_patch: dict = {}  # what the last update recompiled (stats, tests)
        # the last update as Image.patch's arguments: an image loaded from
        # this one's export_arrays(compact=False) takes the same patch (edges)
        self.last_patch_args: tuple | None = None
        self._settle()
        # the dedup caches only save octets; a big zone's would hold a key per
        # name for the life of the process
        self.c.b.by_content.clear()
        self.c.b.by_key.clear()
        self.c.b.self_contained.clear()

    def _settle(self) -> None:
        """Everything made so far is in the image: later records go after it."""
        c = self.c
        c.b.base += len(c.b.blocks)
        c.b.blocks = bytearray()
        c.b.policy.take_tail()
        c.dname_base += len(c.dnames) // DNAME.size
        c.dnames = bytearray()

    # ---- a change ------------------------------------------------------------

    def update(self, zones: list[Zone], changed: dict[bytes, set[bytes] | None]):
        """The image with `zones` served, where `changed` maps each zone
        origin whose Zone object moved to the owner names touched since the
        last update (None: unknown).  Returns the new image; raises
        NeedsFullCompile (this object is then spent) when it cannot."""
        if self.broken:
            raise NeedsFullCompile("an earlier change failed")
        owners, chains = self._gather(zones, changed)  # checks only; raises before any change
        self.broken = True  # until the new image is built, the state is half-changed
        try:
            image = self._apply(owners, zones, chains)
        except (OverflowError, ValueError) as e:
            raise NeedsFullCompile(str(e)) from e
        self.zones = {z.origin: z for z in zones}
        self.image = image
        self.broken = False
        return image

    def _gather(self, zones: list[Zone], changed: dict) -> tuple[list[_Owner], set[bytes]]:
        """The touched owners' new data, and the origins whose NSEC3 chain
        the change moves."""
        new = {z.origin: z for z in zones}
        if new.keys() != self.zones.keys():
            raise NeedsFullCompile("zones were added or removed")
        out = []
        chains: set[bytes] = set()
        for origin, zone in new.items():
            if zone is self.zones[origin]:
                continue
            names = changed.get(origin)
            if names is None:
                raise NeedsFullCompile(f"no list of changed names for {origin!r}")
            copy = self.copies[origin]
            if zone.dnssec is not copy.dnssec:
                # signing began or ended, a key moved or the signatures were
                # refreshed (dnssec/zonekeys.py): every signature changes
                raise NeedsFullCompile("a zone's signing keys changed")
            if zone.dnssec is not None and self.c.rows[origin] >= MAX_SIG_ROWS:
                raise NeedsFullCompile("the zone's SOA RRSIG is not a fixup")
            nsec3_types = None
            if zone.dnssec is not None and origin in self.c.b.nsec3_zones:
                # a change that adds or removes a name or changes the types
                # it holds moves the NSEC3 chain (nsec3patch.py)
                nsec3_types = {}
                for r in zone.routed:
                    if r.owner in names:
                        nsec3_types.setdefault(r.owner, set()).add(r.rtype)
            if zone.private != copy.private:
                raise NeedsFullCompile("a zone became private or public")
            if not isinstance(zone.rrsets, RRsetMap):
                # only an RRsetMap lists an owner's record sets without a scan
                raise NeedsFullCompile("a zone whose record sets are a plain dict")
            routed: dict[tuple[bytes, int], list[RoutedRRset]] = {}
            if names:
                for r in zone.routed:
                    if r.owner in names:
                        routed.setdefault((r.owner, r.rtype), []).append(r)
            for name in names:
                if not is_subdomain(name, origin) or self._in_child_zone(name, origin):
                    continue  # another zone's (a child's data hides the parent's)
                keys = zone.rrsets.of_owner(name)
                by_type = {t: rs for (_n, t), rs in keys.items()}
                rtd = {t: recs for (n, t), recs in routed.items() if n == name}
                if name == origin and _soa_shape_of(by_type.get(TYPE_SOA)) != self.soa_shapes[origin]:
                    raise NeedsFullCompile("the SOA changed beyond its serial")
                if name == origin and self.c.rows[origin] >= MAX_SERIAL_ROWS:
                    raise NeedsFullCompile("the zone's serial is not a fixup")
                if name == origin and zone.dnssec is not None:
                    # the apex keeps the DNSKEY (and NSEC3PARAM) RRsets that
                    # compiling adds to a signed zone
                    keys = with_dnskeys(lightclass.replace(zone, rrsets=dict(keys)),
                                        zone.dnssec).rrsets
                    by_type = {t: rs for (_n, t), rs in keys.items()}
                if nsec3_types is not None:
                    node = self.c.zs.nodes.get(name)
                    had = set(node.rrsets) | set(node.routed) if node is not None else set()
                    now = {t for t, rs in by_type.items() if rs.rdatas} | nsec3_types.get(name, set())
                    if had != now or not now:
                        self._check_chain(origin, name, had, now)
                        chains.add(origin)
                out.append(_Owner(copy, name, {t: rs for t, rs in by_type.items() if t not in rtd},
                                  rtd, keys))
        if self.c.b.policy.colls and self._new_collections(out):
            raise NeedsFullCompile("a CIDR collection not compiled yet")
        for origin in chains:
            self.c.b.nsec3_chain(origin)  # the chain as it is, before the change
        return out, chains

    def _check_chain(self, origin: bytes, name: bytes, had: set[int], now: set[int]) -> None:
        """Refuse an NSEC3 chain change nsec3patch.py does not make."""
        if origin not in self.chains:
            raise NeedsFullCompile("a change to an NSEC3 chain the image does not hold")
        # NS below the apex cuts the chain there, a wildcard's too (nsec3.chain_names)
        if name != origin and (TYPE_NS in had) != (TYPE_NS in now) and self.kids.get(name):
            # the names below leave or join the chain (RFC 5155 §7.1)
            raise NeedsFullCompile("a delegation above names of an NSEC3 chain")

    def _in_child_zone(self, name: bytes, origin: bytes) -> bool:
        n = name
        while n != origin:
            if n in self.zones:
                if n == name:
                    raise NeedsFullCompile("data at a child zone's apex")
                return True
            n = parent_of(n)
        return False

    def _new_collections(self, owners: list[_Owner]) -> bool:
        known = self.c.b.policy.coll_index
        return any(r.cidr_collection is not None and r.cidr_collection not in known
                   for o in owners for recs in o.routed.values() for r in recs)

    def _apply(self, owners: list[_Owner], zones: list[Zone], chains: set[bytes] = frozenset()):
        c, zs = self.c, self.c.zs
        data: set[bytes] = set()  # touched names that existed before and after
        existence: set[bytes] = set()  # names that appeared or went
        removed: set[bytes] = set()
        structural: set[bytes] = set()  # cuts and DNAMEs that appeared, went or changed
        by_zone: dict[bytes, tuple[Zone, set, dict]] = {}
        for o in owners:
            count = self.counts[o.zone.origin]
            for old in o.zone.rrsets.of_owner(o.name).values():
                count[0] -= 1
                count[1] -= len(old.rdatas)
            count[0] += len(o.keys)
            count[1] += sum(len(r.rdatas) for r in o.keys.values())
            _z, names, keys = by_zone.setdefault(o.zone.origin, (o.zone, set(), {}))
            names.add(o.name)
            keys.update(o.keys)
        # the touched names' nodes as they are, held while the maps change
        # under them (zoneset.NodeTable: a plain name's node comes from its map)
        touched = [o.name for o in owners]
        zs.nodes.pin(touched)
        try:
            for zone, names, keys in by_zone.values():
                # a new map: the old one may be the caller's (never mutated)
                zone.rrsets = zone.rrsets.with_owners(names, keys)
            for o in owners:
                self._set_owner(o, data, existence, removed, structural)
        finally:
            zs.nodes.settle(touched + list(existence))
        # a name removed and made again (an empty non-terminal) is not removed
        removed = {n for n in removed if n not in zs.nodes}
        moved = set()
        for origin in chains:
            moved |= self._relink(origin, owners, existence)
        # their own NODATA quotes their NSEC3, a cut's referral and DS too;
        # a precomputed proof (a CNAME chain's) quoting one is traced apart
        data |= {n for n in moved if n in zs.nodes and n not in existence}
        if moved:
            from ..dnssec.nsec3 import proof_key

            for n in moved:
                data |= {p for p in self.deps.of_name(proof_key(n)) if p in zs.nodes}
        structural |= {n for n in moved if n in zs.nodes and zs.nodes[n].is_cut}

        # names whose answers may differ, and the names whose answers consulted them
        affected = (data | existence) - removed
        todo: set[bytes] = set()
        for n in data:
            todo |= self.deps.of_name(n)
        for n in existence | structural:
            todo |= self.deps.at_or_below(n)
        for n in data | existence:
            if n.startswith(_WILD):  # answers synthesized from it below its parent
                todo |= self.deps.at_or_below(parent_of(n))
        seen: set[bytes] = set()
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            if n in zs.nodes:
                affected.add(n)
                todo |= self.deps.of_name(n)  # a chain that runs through it
        # a cut's referral and a DNAME are shared by every name below them
        for n in sorted(affected | structural, key=len):
            node = zs.nodes.get(n)
            if node is None or not (n in structural or node.is_cut):
                continue
            c.referral_blocks.pop(n, None)
            c.dname_index.pop(n, None)
            affected |= self._refresh_below(node)
        for n in list(affected):
            if n.startswith(_WILD) and parent_of(n) in zs.nodes:
                affected.add(parent_of(n))  # it holds the wildcard's offset
        for n in removed:
            if n.startswith(_WILD) and parent_of(n) in zs.nodes:
                affected.add(parent_of(n))

        # compile them; a wildcard reference is patched once every offset is known
        colls = len(c.b.policy.colls)
        ends = self.image.stream_ends()
        if (ends["blocks"] != c.b.base or ends["dnames"] != c.dname_base * DNAME.size
                or ends["psets"] != c.b.policy.npsets * PSET.size):
            raise ValueError("the image and the compiler disagree on the streams")
        base = ends["nodes"]
        nodes = bytearray()
        offsets: dict[bytes, int] = {}
        patches: list[tuple[int, bytes]] = []
        with zs.cached():
            for n in sorted(affected):
                node = zs.nodes[n]
                record = c.compile_node(node)
                offsets[n] = base + len(nodes)
                if node.wildcard is not None:
                    patches.append((len(nodes) + wild_field(record), node.wildcard.name))
                nodes += record
        for pos, target in patches:
            off = offsets.get(target)
            if off is None:
                off = self.image.node_offset(target)
            if off is None:
                raise ValueError(f"wildcard {target!r} is not in the image")
            U32.pack_into(nodes, pos, off)
        if len(c.b.policy.colls) != colls:
            raise ValueError("a change made a CIDR collection table")
        serials = c.serials()  # a signed zone's new SOA is signed here, once a batch
        tail = {"nodes": bytes(nodes), "blocks": bytes(c.b.blocks), "dnames": bytes(c.dnames)}
        tail.update(c.b.policy.take_tail())
        updates = [(n, offsets[n]) for n in sorted(offsets)] + [(n, None) for n in sorted(removed)]
        info = [{"origin": z.origin, "serial": z.serial, "rrsets": self.counts[z.origin][0],
                 "records": self.counts[z.origin][1]} for z in c.zs.zones]
        self.last_patch_args = (tail, bytes(c.negatives), serials, updates, info)
        image = self.image.patch(*self.last_patch_args)
        c.b.base += len(c.b.blocks)
        c.b.blocks = bytearray()
        c.dname_base += len(c.dnames) // DNAME.size
        c.dnames = bytearray()
        self.last_patch = {"names": len(offsets), "removed": len(removed),
                           "octets": sum(len(v) for v in tail.values()), "nsec3": len(moved)}
        return image

    def _relink(self, origin: bytes, owners: list[_Owner], existence: set[bytes]) -> set[bytes]:
        """The NSEC3 chain of `origin` after the change, in the image
        (nsec3patch.py); the names whose NSEC3 was made, changed or went."""
        from .nsec3patch import above, patch_chain

        c = self.c
        zone = self.copies[origin]
        names: set[bytes] = set()
        for n in [o.name for o in owners if o.zone is zone] + list(existence):
            if is_subdomain(n, origin) and not self._in_child_zone(n, origin):
                names.update(above(n, origin))
        made, gone = patch_chain(c, self.chains[origin], zone, names)
        # an answer built before may quote an NSEC3 that moved (a chain's proof)
        c.b.by_key.clear()
        return set(made) | set(gone)

    def _set_owner(self, o: _Owner, data: set, existence: set, removed: set,
                   structural: set) -> None:
        zs = self.c.zs
        node = zs.nodes.get(o.name)
        has = bool(o.rrsets or o.routed)
        if node is None:
            if not has:
                return
            existence.update(self._create(o.name, o.zone))
            node = zs.nodes[o.name]
            before = (False, None, None)
        else:
            data.add(o.name)
            before = (node.is_cut, node.rrsets.get(TYPE_NS), node.rrsets.get(TYPE_DNAME))
        # the new map's own (packed) value, as ZoneSet gives it, unless routed
        # record sets took types out of it
        held = None if o.routed else o.zone.rrsets.held(o.name)
        node.held = o.rrsets if held is None else held
        node.routed = o.routed or NO_ROUTED
        node.is_cut = (not node.is_apex and TYPE_NS in o.rrsets
                       and not o.name.startswith(_WILD))
        after = (node.is_cut, o.rrsets.get(TYPE_NS), o.rrsets.get(TYPE_DNAME))
        if before[0] != after[0] or (after[0] and before[1] != after[1]) or before[2] != after[2]:
            structural.add(o.name)
        if not has and not node.is_apex and not self.kids.get(o.name):
            self._remove(o.name, existence, removed)

    def _create(self, name: bytes, zone: Zone) -> list[bytes]:
        """The node and the empty non-terminals above it that were missing,
        top-down, with the marks they inherit (as ZoneSet builds them)."""
        zs = self.c.zs
        missing = []
        n = name
        while n not in zs.nodes:
            missing.append(n)
            n = parent_of(n)
        for n in reversed(missing):
            node = zs.nodes[n] = Node(n, zone)
            p = parent_of(n)
            parent = zs.nodes[p]
            self.kids[p] = self.kids.get(p, 0) + 1
            _inherit(node, parent)
            if n.startswith(_WILD):
                parent.wildcard = node
                zs.nodes.keep(parent)
        return missing

    def _remove(self, name: bytes, existence: set, removed: set) -> None:
        """The node and the empty non-terminals it leaves behind."""
        zs = self.c.zs
        n = name
        while True:
            node = zs.nodes.pop(n)
            existence.add(n)
            removed.add(n)
            p = parent_of(n)
            parent = zs.nodes.get(p)
            if parent is None:
                return
            left = self.kids[p] - 1
            if left:
                self.kids[p] = left
            else:
                del self.kids[p]
            if parent.wildcard is node:
                parent.wildcard = None
                zs.nodes.keep(parent)
            if parent.is_apex or parent.rrsets or parent.routed or left:
                return
            n = p

    def _refresh_below(self, top: Node) -> set[bytes]:
        """Every name below `top` with its cut and DNAME marks inherited
        afresh: what a cut or DNAME appearing, going or changing reaches."""
        zs = self.c.zs
        below = [n for n in zs.nodes if len(n) > len(top.name) and n.endswith(top.name)
                 and is_subdomain(n, top.name)]
        below.sort(key=len)
        for n in below:
            node = zs.nodes[n]
            _inherit(node, zs.nodes[parent_of(n)])
            zs.nodes.keep(node)
        return set(below)


def _inherit(node: Node, parent: Node) -> None:
    """A node's marks from its parent, as ZoneSet._zone_nodes gives them."""
    node.cut_above = parent.cut_above or (parent if parent.is_cut else None)
    node.dname_above = None
    if node.cut_above is None:
        node.dname_above = parent.dname_above or (
            parent if parent.has(TYPE_DNAME) else None)


def _soa_shape_of(soa) -> tuple | None:
    """An SOA RRset as its answers see it, less the serial (a fixup)."""
    if soa is None:
        return None
    rd = soa.rdatas[0]
    return (soa.ttl, rd[:-20], rd[-16:], len(soa.rdatas))


def _soa_shape(zone: Zone) -> tuple | None:
    return _soa_shape_of(zone.rrsets.get((zone.origin, TYPE_SOA)))
