"""Zones -> the flat arrays the compiled core answers from.

All answer logic runs here, once, through zoneset.ZoneSet; the core only
finds a node and copies a block (see blocks.py).  The arrays:

  nodes   node records, one per name (layout.py)
  blocks  block records: a pre-encoded answer with its fixups (layout.py)
  negatives  each zone's NODATA and NXDOMAIN blocks (layout.py)
  dnames  dname_t (16 octets): block u32, owner_len u16, target_pos u16,
          target_len u16, pad u16, ttl u32
  psets.. routing policy tables (policy.py)

Nodes and blocks are referred to by byte offset.  A node's `redirect` is a
referral block (F_CUT, F_OCCLUDED) or a dnames index (F_HAS_DNAME,
F_BELOW_DNAME).
"""
from __future__ import annotations

import struct
from .. import lightclass
from ..lightclass import dataclass

from ..model import (
    TYPE_ANY,
    TYPE_CNAME,
    TYPE_DNAME,
    TYPE_DS,
    TYPE_MX,
    TYPE_NS,
    TYPE_PTR,
    TYPE_SOA,
    TYPE_SRV,
    RRset,
    RRsetMap,
    Zone,
    name_lower,
    parent_of,
    read_name,
    soa_minimum,
)
from ..model import TYPE_DNSKEY, TYPE_RRSIG

TYPE_NXNAME = 128  # RFC 9824 §3.2 (dnssec/signer.py), the type of a name that does not exist
from ..zoneset import QNAME, RR, Choice, Node, Resolution, ZoneSet, finish, rdata_cname, rrset_rrs
from .blocks import MAX_SERIAL_ROWS, MAX_SIG_ROWS, Block, encode_block, encode_multivalue, suffixes_of
from .policy import NONE as _NONE, PolicyTables

from .layout import (
    ARRAY_NAMES,
    BLOCK_HEAD,
    F_APEX,
    F_BELOW_DNAME,
    F_CUT,
    F_HAS_DNAME,
    F_OCCLUDED,
    MAX_STREAM,
    NEGATIVE,
    NONE,
    U32,
    pack_block,
    pack_node,
    wild_field,
)

DNAME = struct.Struct("<IHHHHI")

# a qtype that no chain ends in: stands for "any type the node lacks"
_ABSENT_QTYPE = 65534


@dataclass
class CompiledArrays:
    """The compiled arrays; `zones` describes what they hold.  Not yet an
    image: core._engine.Image is these arrays loaded for answering."""

    nodes: bytes
    blocks: bytes
    negatives: bytes
    dnames: bytes
    zones: list[dict]
    policy: dict  # psets, cands, colls, cidr4, cidr6, regions (policy.py)
    node_count: int = 0  # names (node records) in `nodes`
    serials: bytes = b""  # per zone row: the SOA serial (layout.py)
    # fastcompile only: the streams ("nodes", "blocks") that are its own
    # memory in this process, which an image may answer from where they lie,
    # and those that are read-only mappings of its spill file
    in_place: tuple = ()
    mapped: tuple = ()

    def arrays(self) -> dict[str, bytes]:
        out = {"nodes": self.nodes, "blocks": self.blocks, "negatives": self.negatives,
               "dnames": self.dnames, "serials": self.serials, "live": b""}
        out.update(self.policy)
        return out


class _Builder:
    """Appends block records, deduplicated by content and by what they encode.

    `base` is where `blocks` starts in the image's block stream: zero for a
    full compile, the stream's length when compiling a change (records are
    only ever appended, so every offset handed out stays valid)."""

    def __init__(self, policy: PolicyTables, serial_rows: dict[bytes, int]) -> None:
        self.policy = policy
        self.serial_rows = serial_rows
        # the rows a DO twin takes a signed SOA's serial and RRSIG from
        self.sig_rows = {o: r for o, r in serial_rows.items() if r < MAX_SIG_ROWS}
        self.base = 0
        self.blocks = bytearray()
        self.by_content: dict[Block, int] = {}
        self.by_key: dict[tuple, int] = {}
        self.self_contained: dict[tuple, int] = {}
        self.signer = None  # dnssec.signer.Signer when some zones are signed
        self.nsec3_zones: dict[bytes, Zone] = {}  # origin -> zone, in denial = "nsec3" mode
        self.zs: ZoneSet | None = None  # where chain_proof looks a chain's last name up
        self._nsec3: dict[bytes, tuple] = {}  # origin -> (zone, chain, by name): nsec3_chain

    def _append(self, record: bytes) -> int:
        off = self.base + len(self.blocks)
        if off + len(record) >= MAX_STREAM:
            raise ValueError("compiled answers exceed 2 GiB")
        self.blocks += record
        return off

    def add(self, blk: Block, signed: int = NONE) -> int:
        """`signed`: the block's DO twin (added first), for a signed zone."""
        ck = blk if signed == NONE else (blk, signed)
        off = self.by_content.get(ck)
        if off is None:
            off = self.by_content[ck] = self._append(pack_block(
                blk.data, blk.fixups, blk.an, blk.ns, blk.ar, blk.ar_start, blk.ar_required,
                blk.ar_ends, blk.rcode, blk.aa, signed))
        return off

    def signs(self, context: bytes) -> bool:
        return self.signer is not None and self.signer.zone_keys(context) is not None

    def encode_signed(self, res: Resolution, context: bytes, wildcard: bool,
                      nodata_types=None, nsec_owner: bytes | None = None) -> int:
        """A block of a signed zone and its DO twin (dnssec/signer.py).  The
        twin takes a signed SOA's serial and RRSIG from the zone's row
        (blocks.py kinds S and G), as the plain block takes the serial."""
        # a chain's proof is part of the key: it follows data outside `res`
        # (the DS or the types at the cut or name the chain ends in), which a
        # change can move while `res` stays the same
        proof = self.chain_proof(res) if nodata_types is None and nsec_owner is None else None
        key = ("signed", tuple(res.answer), tuple(res.authority), tuple(res.additional),
               res.additional_required, res.rcode, res.aa, context, wildcard,
               None if nodata_types is None else tuple(sorted(nodata_types)), nsec_owner,
               None if proof is None else (tuple(proof[0]), proof[1]))
        idx = self.by_key.get(key)
        if idx is None:
            suffixes = suffixes_of(parent_of(context) if wildcard else context)
            qname = None if wildcard else context
            twin = NONE
            if proof is not None and not wildcard:
                signed = self.signer.sign(res, context)
                signed.authority += proof[0]
                signed.rcode = proof[1]
                twin = self.add(encode_block(signed, suffixes, self.sig_rows, qname))
            elif nsec_owner is None and (wildcard or (nodata_types is None and res.rcode == 3)):
                twin = self.add_online_twin(res, context, suffixes, nodata_types, proof)
            if twin != NONE:
                pass
            elif nodata_types is not None and nsec_owner is None and not res.answer:
                twin = self.add_split_nodata(res, context, suffixes, nodata_types)
            else:
                twin = self.add(encode_block(self.signer.sign(res, context, nodata_types,
                                                              nsec_owner), suffixes,
                                             self.sig_rows, qname))
            idx = self.by_key[key] = self.add(encode_block(res, suffixes, self.serial_rows, qname),
                                              twin)
        return idx

    def signed_soa(self, res: Resolution, context: bytes) -> int:
        """The zone's signed SOA (authority section), one block per zone,
        the prefix of every signed negative answer in it."""
        signed = self.signer.sign(res, context)
        origin = self.signer.zone_of(context)
        pkey = ("nodata-prefix", tuple(signed.authority), origin)
        head = self.by_key.get(pkey)
        if head is None:
            head = self.by_key[pkey] = self.add(encode_block(signed, suffixes_of(origin),
                                                             self.sig_rows))
        return head

    def add_online_twin(self, res: Resolution, context: bytes, suffixes, nodata_types,
                        proof=None) -> int:
        """A DO twin signed while answering (dnssec/online.py), for answers
        that depend on the qname: a nonexistent name's NODATA with the
        NXNAME NSEC (`nodata_types` None and rcode NXDOMAIN), a wildcard's
        NODATA with its types, or a wildcard's RRset signed as the qname's.
        `proof`: chain_proof's (records, rcode) for a wildcard CNAME whose
        chain ends in a denial, added after the authority section.
        NONE when the answer has another shape (then the precomputed twin)."""
        from ..dnssec import online  # signed zones only: off the zone-file path
        zk = self.signer.zone_keys(context)
        if zk is None:
            return NONE
        if zk.denial == "nsec3":
            return self.add_nsec3_twin(res, context, suffixes, nodata_types, zk, proof)
        soa = [r for r in res.authority if r.rtype == TYPE_SOA]
        ttl = min(soa[0].ttl, struct.unpack(">I", soa[0].rdata[-4:])[0]) if soa else 3600
        if not res.answer and soa and not res.additional:
            types = nodata_types
            if types is None:
                if res.rcode != 3:
                    return NONE
                types = {online.TYPE_NXNAME}
            tmpl = online.nsec_template(zk, ttl, types)
            if tmpl is None:
                return NONE
            head = self.signed_soa(res, context)
            return self._append(pack_block(b"", (), 0, 0, 0, 0, 0, (), 0, res.aa, NONE, head,
                                           tmpl))
        if nodata_types is not None or not res.answer:
            return NONE
        own = [r for r in res.answer if r.owner == QNAME]
        if not own or len({r.rtype for r in own}) != 1 or res.answer[:len(own)] != own:
            return NONE
        tmpl = online.rrsig_template(zk, own[0].rtype, own[0].ttl, [r.rdata for r in own])
        if tmpl is None:
            return NONE
        signed = self.signer.sign(res, context)
        signed.answer = [r for r in signed.answer
                         if not (r.owner == QNAME and r.rtype == TYPE_RRSIG)]
        if proof is not None:
            signed.authority += proof[0]
            signed.rcode = proof[1]
        if signed.authority or signed.additional:
            # the answer section as the prefix, the qname's RRSIG signed after
            # it, then the authority and additional sections (names other than
            # the qname: their signatures are made ahead)
            head = self.add(encode_block(Resolution(signed.rcode, signed.aa, signed.answer),
                                         suffixes, self.sig_rows, None))
            blk = encode_block(Resolution(signed.rcode, signed.aa, [], signed.authority,
                                          signed.additional, signed.additional_required),
                               suffixes, self.sig_rows, None)
            return self._append(pack_block(blk.data, blk.fixups, 0, blk.ns, blk.ar,
                                           blk.ar_start, blk.ar_required, blk.ar_ends, blk.rcode,
                                           blk.aa, NONE, head, tmpl))
        blk = encode_block(signed, suffixes, self.sig_rows, None)
        if blk.ns or blk.ar:
            return NONE
        return self._append(pack_block(blk.data, blk.fixups, blk.an, 0, 0, blk.ar_start, 0, (),
                                       blk.rcode, blk.aa, NONE, NONE, tmpl))

    def nsec3_chain(self, origin: bytes) -> tuple[list, dict]:
        """(the chain of an nsec3-mode zone, name -> (NSEC3 owner, rdata, TTL)),
        made once per zone object."""
        from ..dnssec import nsec3
        zone = self.nsec3_zones[origin]
        got = self._nsec3.get(origin)
        if got is None or got[0] is not zone:
            types, cuts = nsec3.zone_types(zone)
            links = nsec3.chain(origin.lower(), types, cuts)
            soa = zone.rrsets.get((zone.origin, TYPE_SOA))
            ttl = nsec3.negative_ttl(soa.ttl, soa.rdatas[0]) if soa is not None else 3600
            got = self._nsec3[origin] = (zone, links,
                                         {n: (o, rd, ttl) for _d, n, o, rd in links})
        return got[1], got[2]

    def add_nsec3_twin(self, res: Resolution, context: bytes, suffixes, nodata_types,
                       zk, proof=None) -> int:
        """An nsec3-mode zone's twin proved from the chain (dnssec/nsec3.py):
        NXDOMAIN (rcode 3) and a wildcard's NODATA get the zone's signed SOA
        as prefix and the closest-encloser proof (RFC 5155 §7.2.2, §7.2.5); a
        wildcard's RRset keeps its RRSIG made here (labels: the wildcard's)
        and gets the NSEC3 covering the next closer name (§7.2.6).  NONE for
        other shapes, or a chain past nsec3.MAX_ENTRIES."""
        from ..dnssec import nsec3
        zone = self.nsec3_zones.get(zk.origin)
        soa = zone.rrsets.get((zone.origin, TYPE_SOA)) if zone is not None else None
        if soa is None:
            return NONE
        links, _by_name = self.nsec3_chain(zk.origin)
        if len(links) > nsec3.MAX_ENTRIES or not links:
            return NONE
        nxdomain, cover = (self.nsec3_template(zk, mode)
                           for mode in (nsec3.MODE_NXDOMAIN, nsec3.MODE_COVER))
        if not res.answer and (res.rcode == 3 or nodata_types is not None):
            if res.additional:
                return NONE
            head = self.signed_soa(res, context)
            tmpl = nxdomain
            ck = ("nsec3-twin", res.rcode, res.aa, head, tmpl)
            off = self.by_content.get(ck)
            if off is None:
                off = self.by_content[ck] = self._append(pack_block(
                    b"", (), 0, 0, 0, 0, 0, (), res.rcode, res.aa, NONE, head, tmpl))
            return off
        if nodata_types is not None or (res.authority and proof is None) or not res.answer:
            return NONE
        signed = self.signer.sign(res, context)
        if proof is not None:  # a wildcard CNAME's chain ends in a denial: its proof first
            signed.authority += proof[0]
            signed.rcode = proof[1]
        if signed.additional:
            # the cover NSEC3 ends the authority section, before the
            # additional one (a referral's glue, an MX target's address):
            # the answer and authority as the prefix, the additional after
            head = self.add(encode_block(Resolution(signed.rcode, signed.aa, signed.answer,
                                                    signed.authority), suffixes, self.sig_rows,
                                         None))
            tail = encode_block(Resolution(signed.rcode, signed.aa, [], [], signed.additional,
                                           signed.additional_required),
                                suffixes, self.sig_rows, None)
            return self._append(pack_block(tail.data, tail.fixups, 0, 0, tail.ar, tail.ar_start,
                                           tail.ar_required, tail.ar_ends, tail.rcode, tail.aa,
                                           NONE, head, cover))
        blk = encode_block(signed, suffixes, self.sig_rows, None)
        return self._append(pack_block(blk.data, blk.fixups, blk.an, blk.ns, 0, blk.ar_start, 0,
                                       (), blk.rcode, blk.aa, NONE, NONE, cover))

    def chain_proof(self, res: Resolution) -> tuple[list[RR], int] | None:
        """(records, rcode) proving the denial a CNAME chain ends in, for the
        chain's last name (the CNAME target, a name fixed at compile time,
        so the proof is made here): NODATA at an existing name is its compact
        NSEC or matching NSEC3 (RFC 5155 §7.2.3); at a name a wildcard
        covers, the compact NSEC with the wildcard's types or the §7.2.5
        proof; a name that does not exist gets the NXNAME NSEC (RFC 9824,
        rcode NOERROR) or the closest-encloser proof (§7.2.2, rcode 3).
        A chain into a delegation of a signed zone ends in its referral,
        which carries the cut's NSEC (or the NSEC3 matching it) as a direct
        query for the name does, proving no DS (RFC 4035 §3.1.4.1, RFC 5155
        §7.2.7).  None for other answers or a target in an unsigned zone (a
        chain through a DNAME needs nothing: the DNAME and the CNAME
        synthesized from it are signed ahead)."""
        referral = self.referral_proof(res)
        if referral is not None:
            return referral
        if not res.answer or res.answer[-1].rtype != TYPE_CNAME or res.additional \
                or res.rcode not in (0, 3) or len(res.authority) != 1 \
                or res.authority[0].rtype != TYPE_SOA or self.zs is None:
            return None
        target = name_lower(res.answer[-1].rdata)
        zk = self.signer.zone_keys(target)
        if zk is None or res.authority[0].owner.lower() != zk.origin.lower():
            return None
        kind, node = self.zs.lookup(target)
        nsec3_mode = zk.denial == "nsec3" and zk.origin in self.nsec3_zones
        if kind == "nxdomain" and res.rcode == 3:
            if nsec3_mode:
                return self.nsec3_proof(zk, target), 3
            rrs = self.signer.nsec_rrs(res, target, {TYPE_NXNAME}, target)
            return (rrs, 0) if rrs else None
        if kind not in ("exact", "wildcard") or res.rcode != 0:
            return None
        if kind == "wildcard" and nsec3_mode:
            return self.nsec3_proof(zk, target), 0
        rrs = self.signer.nsec_rrs(res, target, set(node.rrsets) | set(node.routed), target)
        return (rrs, 0) if rrs else None

    def referral_proof(self, res: Resolution) -> tuple[list[RR], int] | None:
        """chain_proof for a chain whose last target is at or below a cut of a
        signed zone: the records a direct referral adds (encode_signed with
        the cut's types and owner), the rcode kept."""
        if not res.answer or res.answer[-1].rtype != TYPE_CNAME or self.zs is None \
                or not res.authority or any(r.rtype != TYPE_NS for r in res.authority):
            return None
        target = name_lower(res.answer[-1].rdata)
        kind, cut = self.zs.lookup(target)
        if kind not in ("referral", "cut") or cut is None \
                or res.authority[0].owner.lower() != cut.name.lower() \
                or self.signer.zone_keys(cut.name, TYPE_DS) is None:
            return None
        if self.zs.trace is not None:
            self.zs.trace.add(cut.name)  # a DS made or removed there changes the proof
        rrs = self.cut_proof(res, cut)
        return (rrs, res.rcode) if rrs else None

    def cut_proof(self, res: Resolution, cut: Node) -> list[RR]:
        """What a signed zone's referral to `cut` carries after the NS when
        DO is set (RFC 4035 §3.1.4.1): the cut's DS RRset and its RRSIG, so
        a validator following the referral has the child's DS from the same
        response; with no DS, the cut's NSEC (or the NSEC3 matching it,
        RFC 5155 §7.2.7) and its RRSIG, proving the delegation insecure."""
        ds = cut.rrsets.get(TYPE_DS)
        if ds is not None:
            return self.signer.sign_section(rrset_rrs(ds, cut.name), cut.name)
        return self.signer.nsec_rrs(res, cut.name, set(cut.rrsets), cut.name)

    def encode_referral(self, res: Resolution, cut: Node) -> int:
        """A signed zone's referral block and its DO twin (the NS, the
        cut_proof, the glue; the same block serves every name at or below
        the cut).  Without DO the block is the unsigned referral: no DS,
        no NSEC (RFC 4035 §3.1.4.1 asks for them only with DO)."""
        if TYPE_DS not in cut.rrsets:
            # the NSEC twin, as every other signed NODATA-like answer
            return self.encode_signed(res, cut.name, False, set(cut.rrsets), cut.name)
        proof = self.cut_proof(res, cut)
        key = ("referral", tuple(res.authority), tuple(res.additional),
               res.additional_required, cut.name, tuple(proof))
        idx = self.by_key.get(key)
        if idx is None:
            suffixes = suffixes_of(cut.name)
            signed = self.signer.sign(res, cut.name)
            signed.authority += proof
            twin = self.add(encode_block(signed, suffixes, self.sig_rows, cut.name))
            idx = self.by_key[key] = self.add(encode_block(res, suffixes, self.serial_rows,
                                                           cut.name), twin)
        return idx

    def nsec3_proof(self, zk, name: bytes) -> list[RR]:
        """The chain's NSEC3s (and RRSIGs) that nsec3.proof picks for `name`:
        the closest-encloser proof, as the engines give a nonexistent qname."""
        from ..dnssec import nsec3
        links, by_name = self.nsec3_chain(zk.origin)
        if not links:
            return []
        ttl = next(iter(by_name.values()))[2]
        out = []
        for i in nsec3.proof(nsec3.MODE_NXDOMAIN, links, name):
            _digest, proved, owner, rdata = links[i]
            if self.zs is not None and self.zs.trace is not None:
                self.zs.trace.add(nsec3.proof_key(proved))  # that NSEC3 moving recompiles it
            sig = self.signer._cached(zk, zk.zsk, owner, nsec3.TYPE_NSEC3, ttl, [rdata])
            out += [RR(owner, nsec3.TYPE_NSEC3, ttl, rdata), RR(owner, TYPE_RRSIG, ttl, sig)]
        return out

    def nsec3_template(self, zk, mode: int) -> bytes | None:
        """An nsec3-mode zone's proof template: naming the zone's row when a
        root holds the chain (nsec3_root), so a patched chain is the one
        proved from, else carrying the chain's directory; None when there is
        no chain to prove from."""
        from ..dnssec import nsec3
        if zk.origin in self.nsec3_rooted:
            return nsec3.row_template(mode, self.zone_rows[zk.origin])
        directory = self.nsec3_entries(zk)
        return nsec3.template(mode, directory) if directory else None

    def nsec3_entries(self, zk) -> list | None:
        """The template directory of an nsec3-mode zone's chain (nsec3.py):
        each NSEC3 and its RRSIG a block record, and each segment of the
        entries one (appended once per content)."""
        from ..dnssec import nsec3
        links, by_name = self.nsec3_chain(zk.origin)
        if len(links) > nsec3.MAX_ENTRIES or not links:
            return None
        ttl = next(iter(by_name.values()))[2]
        entries = []
        for (digest, _name, owner, rdata), sig in zip(links, nsec3.sign_chain(zk, links, ttl)):
            pair = nsec3.pair_octets(owner, ttl, rdata, sig)
            off = self.by_content.get(("nsec3", pair))
            if off is None:
                off = self.by_content[("nsec3", pair)] = self._append(
                    pack_block(pair, (), 0, 2, 0, len(pair), 0, (), 0, True))
            entries.append((digest, off + BLOCK_HEAD.size, len(pair)))
        directory = []
        for i in range(0, len(entries), nsec3.SEGMENT):
            part = entries[i:i + nsec3.SEGMENT]
            seg = nsec3.segment_octets(part)
            off = self.by_content.get(("nsec3-segment", seg))
            if off is None:
                off = self.by_content[("nsec3-segment", seg)] = self._append(
                    pack_block(seg, (), 0, 0, 0, len(seg), 0, (), 0, True))
            directory.append((part[0][0], off + BLOCK_HEAD.size, len(part)))
        return directory

    def nsec3_root(self, zone: Zone, nodata: int) -> int:
        """The zone's NODATA block `nodata` again, its DO twin carrying the
        chain's directory (nsec3.MODE_CHAIN: no records added): the block
        the zone's row in negatives names as NODATA, which every row
        template proves from (nsec3.py).  NONE when there is no chain, or
        the block is not one (then templates carry the directory)."""
        from ..dnssec import nsec3
        from .layout import decode_block
        from .nsec3patch import root_block
        from .policy import PSET_BIT

        if nodata & PSET_BIT or nodata < self.base:
            return NONE
        plain, _ = decode_block(self.blocks, nodata - self.base)
        if plain.signed == NONE or plain.signed < self.base:
            return NONE
        twin, _ = decode_block(self.blocks, plain.signed - self.base)
        directory = self.nsec3_entries(self.signer.zone_keys(zone.origin))
        if twin.online or not directory:
            return NONE
        self.nsec3_rooted.add(zone.origin)
        return root_block(plain, twin, nsec3.template(nsec3.MODE_CHAIN, directory), self._append)

    def values_twin(self, choice: Choice, context: bytes, wildcard: bool, head, parts) -> int:
        """A signed zone's multivalue answer: a twin of its prefix whose
        template signs the values chosen per query (online.py KIND_RRSET),
        owned by the qname or, behind a CNAME chain, by the chain's last
        name.  A chain's twin is its CNAMEs as the prefix writes them (so the
        values' pointers into it hold), then their RRSIGs, made here.  A
        chain that starts at a wildcard CNAME also names a BF_PREFIX block
        whose template gives, after the values' RRSIG, what depends on the
        qname (wildcard_part).  NONE when the values are not one RR each of
        one owner, of a type without names in its rdata (then they stay
        unsigned)."""
        from ..dnssec import online  # signed zones only: off the zone-file path
        prefix = choice.prefix
        if not self.signs(context) or prefix.authority or prefix.additional:
            return NONE
        n = len(prefix.answer)
        values = [o.answer[n:] for o in choice.options]
        if not values or any(len(v) != 1 or v[0].owner != values[0][0].owner for v in values):
            return NONE
        owner = values[0][0].owner
        rtype = values[0][0].rtype
        if any(v[0].rtype != rtype for v in values) or rtype in _SELF_CONTAINED_EXCLUDED:
            return NONE
        if not n:
            zk = self.signer.zone_keys(context)
            tmpl = online.rrset_template(zk, rtype, min(v[0].ttl for v in values)) \
                if owner == QNAME else None
            if tmpl is None:
                return NONE
            return self._append(pack_block(b"", (), 0, 0, 0, 0, 0, (), prefix.rcode,
                                           prefix.aa, NONE, NONE, tmpl))
        # a chain: the values' owner one pointer into it (zfdeny_put_set
        # reads the RRs so)
        if owner == QNAME or any(rr.rtype != TYPE_CNAME for rr in prefix.answer) \
                or any(p.data[:1] < b"\xc0" for p in parts):
            return NONE
        signed = self.signer.sign_section(prefix.answer, context)
        qpart = NONE
        if wildcard:
            qpart, signed = self.wildcard_part(prefix.answer, context, signed)
            if qpart == NONE:
                return NONE
        ordered = Resolution(prefix.rcode, prefix.aa,
                             [rr for rr in signed if rr.rtype != TYPE_RRSIG] +
                             [rr for rr in signed if rr.rtype == TYPE_RRSIG])
        twin, _ = encode_multivalue(ordered, [], suffixes_of(parent_of(context) if wildcard
                                                             else context), self.serial_rows)
        if twin.data[:len(head.data)] != head.data or twin.fixups[:len(head.fixups)] != head.fixups:
            return NONE
        zk = self.signer.zone_keys(owner)
        tmpl = b""
        if zk is not None:  # the values' zone is signed (it may be another zone)
            tmpl = online.rrset_template(zk, rtype, min(v[0].ttl for v in values)) or b""
            if not tmpl:
                return NONE
        return self._append(pack_block(twin.data, twin.fixups, twin.an, 0, 0, len(twin.data), 0,
                                       (), prefix.rcode, prefix.aa, NONE, qpart, tmpl))

    def wildcard_part(self, chain: list[RR], context: bytes, signed: list[RR]):
        """(block, the chain's RRs and RRSIGs made ahead) for multivalue
        values behind a wildcard CNAME (`context` the wildcard): the block
        is a multivalue twin's BF_PREFIX, with no data of its own, whose
        template the engines put after the values' RRSIG (_answer.pxi
        answer_values).  Compact mode: the RRSIG over the CNAME signed for
        the qname (labels the qname's, as a plain wildcard answer's), so it
        leaves the twin.  nsec3 mode: the CNAME keeps the wildcard's RRSIG
        made here and the template is the NSEC3 covering the next closer
        name (RFC 5155 §7.2.6), or the compact one when the zone's chain is
        too long to prove from.  (NONE, signed) when neither can be made."""
        from ..dnssec import nsec3, online  # signed zones only: off the zone-file path
        zk = self.signer.zone_keys(context)
        own = [rr for rr in chain if rr.owner == QNAME]
        if zk is None or len(own) != 1:
            return NONE, signed
        tmpl = None
        if zk.denial == "nsec3" and zk.origin in self.nsec3_zones:
            tmpl = self.nsec3_template(zk, nsec3.MODE_COVER)
        if tmpl is None:  # compact mode, or a chain too long to prove from: needs no proof
            tmpl = online.rrsig_template(zk, TYPE_CNAME, own[0].ttl, [own[0].rdata])
            signed = [rr for rr in signed if not (rr.owner == QNAME and rr.rtype == TYPE_RRSIG)]
        if tmpl is None:
            return NONE, signed
        ck = ("wildcard-part", tmpl)
        off = self.by_content.get(ck)
        if off is None:
            off = self.by_content[ck] = self._append(pack_block(b"", (), 0, 0, 0, 0, 0, (), 0,
                                                                True, NONE, NONE, tmpl))
        return off, signed

    def add_split_nodata(self, res: Resolution, context: bytes, suffixes, nodata_types) -> int:
        """A name's signed NODATA as two records: the zone's signed SOA, held
        once and encoded for any qname in the zone, as the prefix of this
        name's NSEC and RRSIG (layout.py BF_PREFIX).  Saves the ~180 octets
        of SOA and RRSIG that every name of a signed zone would repeat."""
        head = self.signed_soa(res, context)
        tail = Resolution(res.rcode, res.aa)
        tail.authority = self.signer.nsec_rrs(res, context, nodata_types)
        blk = encode_block(tail, suffixes, self.sig_rows, context)
        ck = (blk, "prefix", head)
        off = self.by_content.get(ck)
        if off is None:
            off = self.by_content[ck] = self._append(pack_block(
                blk.data, blk.fixups, blk.an, blk.ns, blk.ar, blk.ar_start, blk.ar_required,
                blk.ar_ends, blk.rcode, blk.aa, NONE, head))
        return off

    def add_signed_rrset_answer(self, name: bytes, qtype: int, ttl: int, rdatas: tuple) -> int:
        """add_rrset_answer for a signed zone: the block and its DO twin (the
        RRset, then its RRSIG), written directly; the same octets as
        encode_signed gives for such a name, without building a Resolution
        per name (the fast path of compiling a signed zone)."""
        sigs = self.signer.rrsigs(name, qtype, ttl, rdatas)
        data = bytearray()
        fixups = []
        for rd in rdatas:
            fixups.append(len(data))
            data += b"\xc0\x00" + struct.pack(">HHIH", qtype, 1, ttl, len(rd)) + rd
        plain = (bytes(data), tuple(fixups))
        for sig in sigs:
            fixups.append(len(data))
            data += b"\xc0\x00" + struct.pack(">HHIH", TYPE_RRSIG, 1, ttl, len(sig)) + sig
        twin = self._append(pack_block(bytes(data), fixups, len(rdatas) + len(sigs), 0, 0,
                                       len(data), 0, (), 0, True))
        return self._append(pack_block(plain[0], plain[1], len(rdatas), 0, 0, len(plain[0]), 0,
                                       (), 0, True, twin))

    def add_signed_nodata(self, name: bytes, res: Resolution, types) -> int:
        """encode_signed's NODATA for a name of a signed zone, written
        directly: the zone's signed SOA as prefix, then the name's compact
        NSEC and its RRSIG."""
        soa = [r for r in res.authority if r.rtype == TYPE_SOA]
        if not soa:
            return self.encode_signed(res, name, False, types)
        head = self.by_key.get(("soa-prefix", tuple(res.authority)))
        if head is None:
            head = self.by_key[("soa-prefix", tuple(res.authority))] = self.signed_soa(res, name)
        tail = Resolution(res.rcode, res.aa)
        tail.authority = self.signer.nsec_rrs(res, name, types)
        data = bytearray()
        fixups = []
        for rr in tail.authority:
            if rr.owner == QNAME:
                fixups.append(len(data))
                data += b"\xc0\x00"
            else:  # an NSEC3's hashed owner, in full
                data += rr.owner
            data += struct.pack(">HHIH", rr.rtype, 1, rr.ttl, len(rr.rdata)) + rr.rdata
        twin = self._append(pack_block(bytes(data), fixups, 0, len(tail.authority), 0, len(data),
                                       0, (), res.rcode, res.aa, NONE, head))
        suffixes = suffixes_of(name)
        return self.add(encode_block(res, suffixes, self.serial_rows, name), twin)

    def add_rrset_answer(self, qtype: int, ttl: int, rdatas: tuple) -> int:
        """A block that is just one RRset owned by the qname: each owner is a
        pointer to the question (fixup value 0).  The fast path of compiling:
        most names hold only such RRsets."""
        key = (qtype, ttl, rdatas)
        off = self.self_contained.get(key)
        if off is None:
            data = bytearray()
            fixups = []
            for rd in rdatas:
                fixups.append(len(data))
                data += b"\xc0\x00" + struct.pack(">HHIH", qtype, 1, ttl, len(rd)) + rd
            off = self.self_contained[key] = self._append(
                pack_block(bytes(data), fixups, len(rdatas), 0, 0, len(data), 0, (), 0, True))
        return off

    def encode(self, res, context: bytes, wildcard: bool) -> int:
        """Ref (block index, or pset with PSET_BIT) for a resolution tree
        answered to qnames under `context`."""
        if isinstance(res, Choice):
            return self.encode_choice(res, context, wildcard)
        return self.encode_leaf(res, context, wildcard)

    def encode_choice(self, choice: Choice, context: bytes, wildcard: bool) -> int:
        nomatch = self.encode_leaf(choice.nomatch, context, wildcard)
        prefix = _NONE
        if choice.prefix is not None and all(isinstance(o, Resolution) for o in choice.options):
            # multivalue: the prefix, then any subset of the parts after it
            suffixes = suffixes_of(parent_of(context) if wildcard else context)
            n = len(choice.prefix.answer)
            head, parts = encode_multivalue(choice.prefix, [o.answer[n:] for o in choice.options],
                                            suffixes, self.serial_rows)
            prefix = self.add(head, self.values_twin(choice, context, wildcard, head, parts))
            refs = [self.add(p) for p in parts]
        else:
            refs = [self.encode(o, context, wildcard) for o in choice.options]
        return self.policy.add(choice, refs, nomatch, prefix)

    def encode_leaf(self, res: Resolution, context: bytes, wildcard: bool) -> int:
        """Block index for `res` answered to qnames under `context`.

        Most answers (an address RRset owned by the qname) encode the same
        whatever the context, so the cache key drops it when no other name
        appears; that keeps compiling a million names in seconds.  The SOA's
        serial is left out of the key: blocks carry it as a fixup.
        """
        if self.signs(context):
            return self.encode_signed(res, context, wildcard)
        rrs = tuple(_serial_free(rr) for rr in res.answer) + \
            tuple(_serial_free(rr) for rr in res.authority) + tuple(res.additional)
        contextual = any(rr.rtype in _NAMED or rr.owner != QNAME for rr in rrs)
        key = (rrs, len(res.answer), len(res.authority), res.additional_required,
               res.rcode, res.aa, (context, wildcard) if contextual else None)
        idx = self.by_key.get(key)
        if idx is None:
            suffixes = suffixes_of(parent_of(context) if wildcard else context)
            idx = self.by_key[key] = self.add(encode_block(res, suffixes, self.serial_rows,
                                                           None if wildcard else context))
        return idx


def _serial_free(rr):
    """An SOA RR with its serial zeroed, for cache keys (the block carries a
    serial fixup instead; see blocks.FIX_SERIAL)."""
    if rr.rtype != TYPE_SOA:
        return rr
    return RR(rr.owner, rr.rtype, rr.ttl, rr.rdata[:-20] + bytes(4) + rr.rdata[-16:])


_NAMED = {TYPE_NS, TYPE_CNAME, TYPE_PTR, TYPE_MX, TYPE_SOA}
# signed plain names compile through Blocks.add_signed_* (tests turn it off
# to compare with the general path, which must give the same octets)
FAST_SIGNED = True
# qtypes whose answer is just the RRset: no names to compress, no additional
# section, so the block depends on (type, TTL, rdatas) alone
_SELF_CONTAINED_EXCLUDED = _NAMED | {TYPE_SRV, TYPE_DNAME, TYPE_DS}


def compile_zones(zones: list[Zone], health=None, cidr_collections: dict | None = None,
                  signing: dict | None = None) -> CompiledArrays:
    """`health`: a health.table.HealthTable giving each HealthCheckId its
    slot; `cidr_collections`: collection id -> location -> CIDR blocks;
    `signing`: origin -> dnssec.signer.ZoneKeys for the zones to sign."""
    return Compiler(zones, health, cidr_collections, signing=signing).full()


class Compiler:
    """One zone set's answers as node and block records.

    `full()` compiles every name; the incremental compiler (incremental.py)
    keeps this object and recompiles only the names a change affects, with
    the same `compile_node`, so a patched image and a full compile agree;
    the fast path for zone files (fastcompile.py) compiles most names in C
    and gives this object the rest, one `compile_node` at a time, over its
    own ZoneSet (`zoneset`).  Zone rows (negatives, serials) are given in
    zone order up front, so a block of one zone can quote another zone's SOA
    serial by row."""

    def __init__(self, zones: list[Zone], health=None, cidr_collections: dict | None = None,
                 zoneset: ZoneSet | None = None, signing: dict | None = None):
        if signing is None:
            signing = {z.origin: z.dnssec for z in zones if getattr(z, "dnssec", None)}
        if signing:
            zones = [with_dnskeys(z, signing[z.origin]) if z.origin in signing else z
                     for z in zones]
        self.zs = zoneset if zoneset is not None else ZoneSet(zones)
        self.rows: dict[bytes, int] = {z.origin: i for i, z in enumerate(self.zs.zones)}
        serial_rows = {o: r for o, r in self.rows.items() if r < MAX_SERIAL_ROWS}
        self.b = _Builder(PolicyTables(health, cidr_collections), serial_rows)
        if signing:
            self.b.zs = self.zs
            self.b.signer = make_signer(self.zs, signing)
            self.b.nsec3_zones = {z.origin: z for z in self.zs.zones if z.origin in signing
                                  and getattr(signing[z.origin], "denial", "") == "nsec3"}
            self.b.signer.nsec3_links = lambda origin: self.b.nsec3_chain(origin)[1]
            self.b.zone_rows = self.rows  # a row template names its zone's row
            self.b.nsec3_rooted = set()  # zones whose chain a root holds (nsec3_root)
        self.negatives = bytearray(NEGATIVE.size * len(self.rows))
        self.soa_sigs: dict[tuple, tuple[bytes, int]] = {}  # (origin, negative) -> (RRSIG, block)
        self.zone_blocks: dict[bytes, tuple[int, int, int]] = {}  # origin -> (nx, nodata, row)
        self.referral_blocks: dict[bytes, int] = {}
        self.dnames = bytearray()
        self.dname_base = 0  # dnames records before `dnames` (already in the image)
        self.dname_index: dict[bytes, int] = {}
        # called with (name, names its answers consulted) when set: the
        # incremental compiler's dependency index (incremental.py)
        self.on_trace = None

    def serials(self) -> bytes:
        """The serials array (layout.py): each row's SOA serial, and when a
        zone is signed each row's SOA RRSIGs, appended to the blocks stream
        when they are new (a change's new serial is signed here, once)."""
        out = b"".join(U32.pack(z.serial) for z in self.zs.zones)
        if self.b.signer is None:
            return out
        sigs = [self.soa_sig(z, False) for z in self.zs.zones]
        return out + b"".join(U32.pack(s) for s in sigs + [self.soa_sig(z, True)
                                                            for z in self.zs.zones])

    def soa_sig(self, zone: Zone, negative: bool) -> int:
        """The block record holding the RRSIG over `zone`'s SOA at its own
        TTL or at the negative answers' (blocks.py kind G), or NONE."""
        soa = zone.soa
        if soa is None or self.rows[zone.origin] >= MAX_SIG_ROWS or \
                zone.origin not in self.b.signer.keys:
            return NONE
        ttl = min(soa.ttl, soa_minimum(soa.rdatas[0])) if negative else soa.ttl
        sigs = self.b.signer.rrsigs(zone.origin, TYPE_SOA, ttl, soa.rdatas)
        if len(sigs) != 1:
            return NONE
        made = self.soa_sigs.get((zone.origin, negative))
        if made is None or made[0] != sigs[0]:
            made = self.soa_sigs[(zone.origin, negative)] = (sigs[0], self.b._append(
                pack_block(sigs[0], (), 0, 0, 0, len(sigs[0]), 0, (), 0, True)))
        return made[1]

    def zone_negative(self, zone: Zone) -> tuple[int, int, int]:
        got = self.zone_blocks.get(zone.origin)
        if got is None:
            nx, nodata = Resolution(), Resolution()
            self.zs.negative(zone, nx, 3)
            self.zs.negative(zone, nodata, 0)
            row = self.rows[zone.origin]
            if zone.origin in self.b.nsec3_zones:  # the chain's directory, before any proof
                nodata_block = self.b.encode(nodata, zone.origin, False)
                root = self.b.nsec3_root(zone, nodata_block)
                got = (self.b.encode(nx, zone.origin, False), nodata_block, row)
            else:
                got = (self.b.encode(nx, zone.origin, False),
                       self.b.encode(nodata, zone.origin, False), row)
                root = NONE
            NEGATIVE.pack_into(self.negatives, row * NEGATIVE.size,
                               got[1] if root == NONE else root, got[0])
            self.zone_blocks[zone.origin] = got
        return got

    def referral(self, cut: Node) -> int:
        got = self.referral_blocks.get(cut.name)
        if got is None:
            res = Resolution()
            outer = self.zs.trace
            if self.on_trace is not None:
                self.zs.trace = set()  # the glue it consults is the cut's dependency
            self.zs.referral(cut, res)
            if self.on_trace is not None:
                self.on_trace(cut.name, self.zs.trace)
                self.zs.trace = outer
            if self.b.signs(cut.name):
                # RFC 4035 §3.1.4.1: with DO, the DS and its RRSIG, or the proof of none
                got = self.b.encode_referral(res, cut)
            else:
                got = self.b.encode(res, cut.name, False)
            self.referral_blocks[cut.name] = got
        return got

    def apex_ds(self, node: Node) -> int:
        """DS at the apex of a zone whose parent is served here too: the
        parent's answer (RFC 4035 §2.4), so a signed parent signs it with its
        own keys, and proves its absence with the NSEC (or NSEC3) of its cut,
        whether or not the child is signed: a validator learns there that
        the child is insecure."""
        b = self.b
        res = zs_resolve_node(self.zs, node, TYPE_DS)
        if b.signer is None or b.signer.zone_keys(node.name, TYPE_DS) is None:
            return b.encode(res, node.name, False)
        if res.answer:
            return b.encode_signed(res, node.name, False)
        cut = node.parent_zone.rrsets.get((node.name, TYPE_NS)) is not None
        return b.encode_signed(res, node.name, False, {TYPE_NS} if cut else set())

    def dname(self, owner: Node) -> int:
        got = self.dname_index.get(owner.name)
        if got is None:
            res = Resolution()
            self.zs.dname(owner, res)
            blk = encode_block(res, suffixes_of(owner.name), self.b.serial_rows)
            # the DNAME RR is the block's only record, its target written last
            target = read_name(owner.rrsets[TYPE_DNAME].rdatas[0], 0)[0]
            got = self.dname_index[owner.name] = self.dname_base + len(self.dnames) // DNAME.size
            self.dnames.extend(
                DNAME.pack(self.b.add(blk), len(owner.name), len(blk.data) - len(target),
                           len(target), 0, owner.rrsets[TYPE_DNAME].ttl)
            )
        return got

    def compile_node(self, node: Node) -> bytes:
        """The node record; a wildcard child's reference is left 0 for the
        caller to patch (layout.wild_field) once that child has an offset."""
        if self.on_trace is None:
            return self._compile_node(node)
        self.zs.trace = set()
        try:
            record = self._compile_node(node)
            if self.zs.trace:
                self.on_trace(node.name, self.zs.trace)
        finally:
            self.zs.trace = None
        return record

    def _compile_node(self, node: Node) -> bytes:
        zs, b = self.zs, self.b
        wildcard = node.name.startswith(b"\x01*")
        nx_block, nodata_block, zone_row = self.zone_negative(node.zone)
        flags = F_APEX if node.is_apex else 0
        redirect = NONE
        entries: list[tuple[int, int]] = []
        default_block = nodata_block
        any_block = nodata_block
        if node.cut_above is not None:
            flags |= F_OCCLUDED
            redirect = self.referral(node.cut_above)
        elif node.dname_above is not None:
            flags |= F_BELOW_DNAME
            redirect = self.dname(node.dname_above)
        else:
            if node.is_cut:
                flags |= F_CUT
                redirect = self.referral(node)
                if TYPE_DS in node.rrsets:
                    entries.append((TYPE_DS, b.encode(zs_resolve_node(zs, node, TYPE_DS),
                                                      node.name, wildcard)))
                elif b.signs(node.name):
                    # RFC 4035 §3.1.4.1, RFC 5155 §7.2.4: no DS here, the cut's
                    # NSEC (or the NSEC3 matching it) says so
                    nodata = Resolution()
                    zs.negative(node.zone, nodata, 0)
                    entries.append((TYPE_DS, b.encode_signed(nodata, node.name, False,
                                                             set(node.rrsets), node.name)))
            else:
                if TYPE_DNAME in node.rrsets:
                    flags |= F_HAS_DNAME
                    redirect = self.dname(node)
                qtypes = set(node.rrsets) | set(node.routed)
                if node.parent_zone is not None:
                    qtypes.add(TYPE_DS)
                if TYPE_CNAME in qtypes:
                    qtypes |= chain_qtypes(zs, node)
                    default_block = b.encode(zs_resolve_node(zs, node, _ABSENT_QTYPE), node.name,
                                             wildcard)
                signed = b.signs(node.name)
                plain = TYPE_CNAME not in qtypes and node.parent_zone is None and not signed
                # a signed zone's plain name: its blocks written directly (bulk signing)
                fast = signed and FAST_SIGNED and TYPE_CNAME not in qtypes and not wildcard \
                    and node.parent_zone is None and not node.is_apex
                if signed and TYPE_CNAME not in qtypes:
                    # compact denial (RFC 9824): this name's own NODATA, with its NSEC
                    nodata = Resolution()
                    zs.negative(node.zone, nodata, 0)
                    if fast:
                        default_block = b.add_signed_nodata(
                            node.name, nodata, set(node.rrsets) | set(node.routed))
                    else:
                        default_block = b.encode_signed(nodata, node.name, wildcard,
                                                        set(node.rrsets) | set(node.routed))
                for qtype in sorted(qtypes):
                    rrset = node.rrsets.get(qtype)
                    if qtype == TYPE_DS and node.parent_zone is not None:
                        entries.append((qtype, self.apex_ds(node)))
                        continue
                    if plain and qtype not in _SELF_CONTAINED_EXCLUDED and rrset is not None:
                        blk = b.add_rrset_answer(qtype, rrset.ttl, tuple(rrset.rdatas))
                    elif fast and qtype not in _SELF_CONTAINED_EXCLUDED and rrset is not None \
                            and qtype not in node.routed:
                        blk = b.add_signed_rrset_answer(node.name, qtype, rrset.ttl,
                                                        tuple(rrset.rdatas))
                    else:
                        blk = b.encode(zs_resolve_node(zs, node, qtype), node.name, wildcard)
                    entries.append((qtype, blk))
                if node.rrsets or node.routed:
                    lowest = min(set(node.rrsets) | set(node.routed))
                    simple = plain or (signed and TYPE_CNAME not in qtypes
                                       and node.parent_zone is None)
                    if simple and entries and entries[0][0] == lowest and lowest in node.rrsets:
                        any_block = entries[0][1]  # RFC 8482: the lowest type's RRset
                    else:
                        any_block = b.encode(zs_resolve_node(zs, node, TYPE_ANY), node.name,
                                             wildcard)
        wild = 0 if node.wildcard is not None else NONE  # patched by the caller
        if any_block == nodata_block:
            any_block = default_block
        return pack_node(node.name, flags, entries, default_block, any_block, redirect, wild,
                         nx_block, zone_row if default_block == nodata_block else None)

    def zone_info(self) -> list[dict]:
        return [
            {"origin": z.origin, "serial": z.serial, "rrsets": len(z.rrsets),
             "records": sum(len(r.rdatas) for r in z.rrsets.values())}
            for z in self.zs.zones
        ]

    def full(self) -> CompiledArrays:
        with self.zs.cached():  # a name's Node made once, not per lookup
            return self._full()

    def _full(self) -> CompiledArrays:
        node_list = sorted(self.zs.nodes.values(), key=lambda n: n.name)
        if self.b.signer is not None:
            self.prefill_signatures(node_list)
        node_off: dict[bytes, int] = {}
        wild_patches: list[tuple[int, bytes]] = []  # (field offset, wildcard name)
        nodes = bytearray()
        for node in node_list:
            record = self.compile_node(node)
            node_off[node.name] = len(nodes)
            if node.wildcard is not None:
                wild_patches.append((len(nodes) + wild_field(record), node.wildcard.name))
            nodes += record
        if len(nodes) >= MAX_STREAM:
            raise ValueError("compiled names exceed 2 GiB")
        for pos, target in wild_patches:
            U32.pack_into(nodes, pos, node_off[target])
        serials = self.serials()  # may add the SOA's RRSIGs to the blocks
        return CompiledArrays(bytes(nodes), bytes(self.b.blocks), bytes(self.negatives),
                     bytes(self.dnames), self.zone_info(), self.b.policy.arrays(),
                     len(node_list), serials)


def _prefill_signatures(self, node_list) -> None:
    """Bulk signing (dnssec/signer.py prefill): the RRSIGs a signed zone's
    plain names need (each RRset, and the compact NSEC of its NODATA), made
    in one batch before the names compile.  Names of another shape sign as
    they compile; a guess that differs from what compiling asks for only
    costs that signature again."""
    from ..dnssec.signer import TYPE_NSEC, compact_nsec_rdata, prefill

    per_zone: dict[bytes, list] = {}
    for node in node_list:
        if node.cut_above is not None or node.dname_above is not None or node.is_cut \
                or node.routed or TYPE_CNAME in node.rrsets or node.name.startswith(b"\x01*"):
            continue
        zk = self.b.signer.keys.get(node.zone.origin)
        if zk is None:
            continue
        todo = per_zone.setdefault(node.zone.origin, [])
        for rtype, rrset in node.rrsets.items():
            if rtype != TYPE_DNSKEY:
                todo.append((node.name, rtype, rrset.ttl, list(rrset.rdatas)))
        soa = node.zone.rrsets.get((node.zone.origin, TYPE_SOA))
        if soa is not None:
            ttl = min(soa.ttl, struct.unpack(">I", soa.rdatas[0][-4:])[0])
            todo.append((node.name, TYPE_NSEC, ttl, [compact_nsec_rdata(node.name,
                                                                        set(node.rrsets))]))
    for origin, todo in per_zone.items():
        prefill(self.b.signer.keys[origin], todo)


Compiler.prefill_signatures = _prefill_signatures


def zs_resolve_node(zs: ZoneSet, node: Node, qtype: int) -> Resolution:
    """The resolution for a query that lands exactly on `node`."""
    res = Resolution()
    if node.is_cut:  # only DS reaches here
        ds = node.rrsets.get(TYPE_DS)
        res.answer += rrset_rrs(ds, QNAME)
        return res
    tree = zs.answer_node(node, QNAME, qtype, res, {node.name})
    return finish(tree, zs.add_additional)


def chain_qtypes(zs: ZoneSet, node: Node) -> set[int]:
    """Every qtype present along the CNAME chains from `node` (all routed
    CNAME candidates included): the ones whose answers differ from the
    generic 'chain + NODATA' block."""
    out: set[int] = set()
    seen = {node.name}
    todo = cname_targets(node)
    while todo and len(seen) <= 32:
        target = todo.pop()
        if target in seen:
            continue
        seen.add(target)
        kind, tnode = zs.lookup(target)
        if kind == "cut":  # the referral the chain ends in, but DS is the parent's answer
            out.add(TYPE_DS)
            continue
        if kind == "dname":  # the chain goes on at the synthesized name (zoneset.synthesize)
            new = target[: len(target) - len(tnode.name)] + name_lower(
                read_name(tnode.rrsets[TYPE_DNAME].rdatas[0], 0)[0])
            if len(new) <= 255:
                todo.append(new)
            continue
        if kind not in ("exact", "wildcard"):
            continue
        out |= set(tnode.rrsets) | set(tnode.routed)
        todo += cname_targets(tnode)
    out.discard(TYPE_CNAME)
    if _ABSENT_QTYPE in out:
        raise ValueError("type 65534 is reserved by zonefront's compiler")
    return out


def cname_targets(node: Node) -> list[bytes]:
    out = []
    if TYPE_CNAME in node.rrsets:
        out.append(rdata_cname(node.rrsets[TYPE_CNAME]))
    for rec in node.routed.get(TYPE_CNAME, []):
        if rec.rdatas:
            out.append(read_name(rec.rdatas[0], 0)[0].lower())
    return out


def with_dnskeys(zone: Zone, keys) -> Zone:
    """A copy of `zone` with its DNSKEY RRset (KSKs and ZSK) at the apex,
    unless it has one; the caller's zone is left as it was."""
    from ..dnssec.signer import TYPE_DNSKEY

    add = {}
    key = (zone.origin, TYPE_DNSKEY)
    if key not in zone.rrsets:
        add[key] = RRset(zone.origin, TYPE_DNSKEY, keys.dnskey_ttl, keys.dnskey_rdatas())
    if getattr(keys, "denial", "compact") == "nsec3":  # RFC 5155 §4: at the apex
        from ..dnssec import nsec3
        soa = zone.rrsets.get((zone.origin, TYPE_SOA))
        pkey = (zone.origin, nsec3.TYPE_NSEC3PARAM)
        if soa is not None and soa.rdatas and pkey not in zone.rrsets:
            add[pkey] = RRset(zone.origin, nsec3.TYPE_NSEC3PARAM,
                              nsec3.negative_ttl(soa.ttl, soa.rdatas[0]), [nsec3.PARAM_RDATA])
    if not add:
        return zone
    if isinstance(zone.rrsets, RRsetMap):
        apex = {k: v for k, v in zone.rrsets.of_owner(zone.origin).items()}
        apex.update(add)
        rrsets = zone.rrsets.with_owners({zone.origin}, apex)
    else:
        rrsets = dict(zone.rrsets)
        rrsets.update(add)
    return lightclass.replace(zone, rrsets=rrsets)



def make_signer(zs: ZoneSet, signing: dict):
    """A Signer that knows which zone holds a name and whether that zone
    is authoritative for an RRset there (not a referral's NS, not glue)."""
    # signing only: an unsigned zone's compile never loads dnssec/ (hashlib, ~5 ms)
    from ..dnssec.signer import Signer

    def node_of(name: bytes):
        return zs.nodes.get(name.lower())

    def zone_of(name: bytes, rtype: int = 0):
        node = node_of(name)
        if node is not None:
            if rtype == TYPE_DS and node.parent_zone is not None:
                return node.parent_zone.origin
            return node.zone.origin
        origins = {z.origin for z in zs.zones}
        for suffix in sorted(suffixes_of(name.lower()), key=len, reverse=True):
            if suffix in origins:
                return suffix
        return None

    def authoritative(name: bytes, rtype: int) -> bool:
        node = node_of(name)
        if node is None:
            return True
        if node.cut_above is not None:
            return False
        return not (node.is_cut and rtype != TYPE_DS)

    return Signer(signing, zone_of, authoritative)
