"""Pure-Python twin of core/_engine.pyx: the same lookup and relocation over
the same compiled arrays, written to be read rather than to be fast.

tests/differential feed both the same images and packets and require the
same bytes; ZONEFRONT_PUREPYTHON=1 serves from this twin.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from ..dnssec import nsec3, online
from ..model import TYPE_ANY, TYPE_AXFR, TYPE_CNAME, TYPE_DNAME, TYPE_DS, TYPE_IXFR, TYPE_OPT
from ..snapshot.blocks import FIX_BLOCK, FIX_SERIAL
from ..snapshot.compiler import ARRAY_NAMES, DNAME
from ..snapshot.layout import (
    F_BELOW_DNAME,
    F_CUT,
    F_HAS_DNAME,
    F_OCCLUDED,
    NONE,
    decode_block,
    decode_node,
    decode_stream,
    wild_field,
)
from ..snapshot.policy import PSET_BIT
from ..zoneset import (
    RCODE_BADVERS,
    RCODE_FORMERR,
    RCODE_NOTIMP,
    RCODE_REFUSED,
    RCODE_SERVFAIL,
    RCODE_YXDOMAIN,
)
from .policy import Policy, make_client
from .wire import DROP, FORMERR, NOTIMP, OUR_UDP_PAYLOAD, expand_name, parse_query

EDE_NOT_AUTHORITATIVE = 20  # RFC 8914 §4.21


SIGN_FAILED = -2  # put_block: an online signature could not be made (_deny.pxi)


@dataclass
class Answer:
    """What the answer stages build: engine_answer's answer_t."""
    rcode: int
    room: int  # octets left for the sections after the question, OPT kept aside
    qsec: int  # where the question ends
    aa: int = 0
    tc: int = 0
    body: bytes = b""
    counts: tuple = (0, 0, 0)


def sent_nsec3s(msg: bytes) -> set[tuple[bytes, bytes]]:
    """csrc/zfnsec3.c mark_sent: (owner lower-cased, rdata) of every NSEC3
    RR in the response `msg` so far (the question at 12, whole records
    after it; an NSEC3 is only ever in the authority section)."""
    out = set()
    pos = 12
    while msg[pos]:
        pos += 1 + msg[pos]
    pos += 5
    while pos < len(msg):
        owner = pos
        while msg[pos] and msg[pos] < 0xC0:
            pos += 1 + msg[pos]
        pos += 2 if msg[pos] else 1
        rtype, _cls, _ttl, rdlen = struct.unpack_from(">HHIH", msg, pos)
        if rtype == nsec3.TYPE_NSEC3:
            out.add((expand_name(msg, len(msg), owner).lower(), msg[pos + 10:pos + 10 + rdlen]))
        pos += 10 + rdlen
    return out


def put_online(blk, got, qname: bytes, qname_off: int, room: int, blocks: bytes, root_of,
               before: bytes = b""):
    """_deny.pxi put_online: `got` (bytes, an, ns, ar) with the records the
    twin's template signs for `qname` appended (or, for a precomputed NSEC3
    template, the proof's records copied from `blocks`, but for an NSEC3
    the response already holds; `root_of(row)` gives the zone's root
    template a row_template proves from, or None); None when they do not
    fit in `room`, SIGN_FAILED when they cannot be signed.  `before`: the
    response before `got` from its first octet (only its question and
    records are read)."""
    if blk.online[:1] == bytes([nsec3.KIND_NSEC3]):
        root = None
        row = nsec3.template_row(blk.online)
        if row is not None:
            root = root_of(row)
            if root is None:
                return SIGN_FAILED  # _deny.pxi nsec3_root: never unsigned
        extra = nsec3.put(blk.online, blocks, qname, room - len(got[0]), root,
                          sent_nsec3s(before + got[0]) if before else frozenset())
        if extra is None:
            return None
        return got[0] + extra[0], got[1] + extra[1], got[2] + extra[2], got[3]
    try:
        extra = online.put(blk.online, qname, qname_off, room - len(got[0]))
    except online.OnlineSignError:
        return SIGN_FAILED
    if extra is None:
        return None
    return got[0] + extra[0], got[1] + extra[1], got[2] + extra[2], got[3]


def question_octets(q) -> bytes:
    """The response up to its question's end as far as the record walks read
    it: a header's room, the qname as sent (pointers may lead into it), the
    type and class's room."""
    return bytes(12) + q.qname + bytes(4)


def fail_signing(a: Answer) -> None:
    """_answer.pxi fail_signing: SERVFAIL with no records, never an answer
    of a signed zone unsigned or half signed (RFC 4035 §3.1)."""
    a.rcode, a.aa, a.tc, a.body, a.counts = RCODE_SERVFAIL, 0, 0, b"", (0, 0, 0)


def dname_repeat(msg: bytes, pos: int, count: int, owner: bytes, target: bytes) -> int:
    """Where the last of the `count` records from `pos` (the section ending
    `msg`) starts, when it is the DNAME `owner` -> `target` already in the
    answer: a chase after DNAME substitution that came back to the owner
    for qtype DNAME or ANY.  -1 otherwise."""
    last = fixed = -1
    for _ in range(count):
        last = pos
        while msg[pos] and msg[pos] < 0xC0:
            pos += 1 + msg[pos]
        fixed = pos = pos + (2 if msg[pos] else 1)
        pos += 10 + struct.unpack_from(">H", msg, pos + 8)[0]
    if last < 0 or pos != len(msg):
        return -1
    p, o = last, 0
    while True:  # the owner, through compression pointers, against `owner`
        if msg[p] >= 0xC0:
            p = struct.unpack_from(">H", msg, p)[0] & 0x3FFF
            continue
        n = msg[p]
        if o + 1 + n > len(owner) or owner[o] != n \
                or msg[p + 1: p + 1 + n].lower() != owner[o + 1: o + 1 + n].lower():
            return -1
        if n == 0:
            break
        p, o = p + 1 + n, o + 1 + n
    rtype, rdlen = struct.unpack_from(">H", msg, fixed)[0], struct.unpack_from(">H", msg, fixed + 8)[0]
    if rtype != TYPE_DNAME or rdlen != len(target) or \
            msg[len(msg) - rdlen:].lower() != target.lower():
        return -1
    return last


def header_only(query: bytes, rcode: int) -> bytes:
    """engine_answer's write_header_only: ID, QR, opcode and RD echoed."""
    return query[0:2] + bytes([0x80 | (query[2] & 0x79), (query[3] & 0x10) | rcode]) + bytes(8)



class RefImage:
    def __init__(self, arrays: dict, zones=None, udp_max: int = OUR_UDP_PAYLOAD,
                 release_source: "bool | tuple" = False, growable: bool = False,
                 trusted: bool = False, keep: tuple = ()):
        # release_source, growable and keep are the compiled Image's memory
        # options (this twin holds the arrays it is given); any RefImage can be
        # patched; trusted skips the compiled Image's checks, which the twin
        # does not make
        if not 512 <= udp_max <= 65535:
            raise ValueError("udp_max must be within 512..65535")
        self.udp_max = udp_max
        for k in ARRAY_NAMES:
            if not isinstance(arrays.get(k), (bytes, memoryview)):
                raise ValueError(f"image array {k!r} missing or not bytes")
        self.arrays = arrays
        self.zones = zones or []
        self.nodes = decode_stream(arrays["nodes"], decode_node, arrays["negatives"])  # offset -> NodeRec
        self.blocks = decode_stream(arrays["blocks"], decode_block)  # offset -> BlockRec
        self.dnames = [DNAME.unpack_from(arrays["dnames"], i) for i in range(0, len(arrays["dnames"]), DNAME.size)]
        live = bytes(arrays.get("live", b""))
        if live:  # only these records are named; the others were replaced
            offs = struct.unpack(f"<{len(live) // 4}I", live)
            self.index = {self.nodes[off].name: off for off in offs}
        else:
            self.index = {n.name: off for off, n in self.nodes.items()}
        serials = bytes(arrays["serials"])
        self.serials = struct.unpack(f"<{len(serials) // 4}I", serials)
        # signed zones: per row the SOA's RRSIG record at its TTL, then at the
        # negative TTL (layout.py), after the serials; empty when none is signed
        self.nrows = len(arrays["negatives"]) // 8
        self.soasigs = self.serials[self.nrows:]
        self.policy = Policy(arrays)

    # ---- patching (snapshot/incremental.py) -------------------------------

    def stream_ends(self) -> dict[str, int]:
        return {k: len(self.arrays[k]) for k in ("nodes", "blocks", "dnames", "psets", "cands")}

    def node_offset(self, key: bytes) -> int | None:
        return self.index.get(key)

    def patch(self, tail: dict, negatives: bytes, serials: bytes, updates: list,
              zones=None) -> "RefImage":
        """This image plus a change, as core._engine.Image.patch: records
        appended, the named nodes pointed at their new records or removed."""
        arrays = dict(self.arrays)
        for k, data in tail.items():
            arrays[k] = bytes(arrays[k]) + data
        arrays["negatives"] = negatives
        arrays["serials"] = serials
        new = RefImage(arrays, self.zones if zones is None else zones, self.udp_max)
        index = dict(self.index)
        for key, off in updates:
            if off is None:
                index.pop(key, None)
            else:
                index[key] = off
        new.index = index  # superseded records stay in the streams, unnamed
        new.policy.geo4, new.policy.geo6 = self.policy.geo4, self.policy.geo6
        new.policy.geolocs, new.policy.health = self.policy.geolocs, self.policy.health
        if getattr(self, "views", None):
            new.views, new.view_ranges = self.views, self.view_ranges
        return new

    def export_arrays(self, compact: bool = True) -> dict:
        """As core._engine.Image.export_arrays."""
        if not compact:
            out = {k: bytes(v) for k, v in self.arrays.items()}
            live = sorted(self.index.values())
            out["live"] = struct.pack(f"<{len(live)}I", *live)
            return out
        raw = self.arrays["nodes"]
        moved, pos, spans = {}, 0, []
        for off in sorted(self.index.values()):
            end = decode_node(raw, off)[1]
            moved[off] = pos
            spans.append((off, end))
            pos += end - off
        nodes = bytearray()
        for off, end in spans:
            record = bytearray(raw[off:end])
            if self.nodes[off].wild != NONE:
                struct.pack_into("<I", record, wild_field(bytes(record)), moved[self.nodes[off].wild])
            nodes += record
        out = {k: bytes(v) for k, v in self.arrays.items()}
        out["nodes"] = bytes(nodes)
        out["live"] = b""
        return out

    def set_views(self, views: list) -> "RefImage":
        """Private views: [(RefImage, [cidr, ...]), ...], chosen by the
        source address (`client`), never by Client Subnet."""
        from ..cidr import flatten

        blocks = [(c, i) for i, (_, cidrs) in enumerate(views) for c in cidrs]
        self.views = [v for v, _ in views]
        self.view_ranges = flatten(blocks) if blocks else {"v4": b"", "v6": b""}
        return self

    def view_for(self, query: bytes, client: str | None):
        from ..cidr import lookup

        if not getattr(self, "views", None) or client is None:
            return None
        hit = lookup(self.view_ranges, client)
        if hit is None:
            return None
        view = self.views[hit[0]]
        q = parse_query(bytes(query))
        if isinstance(q, str):
            return None
        return view if view.decide(q.qname.lower(), q.qtype)[0] != RCODE_REFUSED else None

    def uses_location(self) -> bool:
        return self.policy.uses_location()

    def attach(self, geo=None, health=None) -> "RefImage":
        self.policy.attach(geo, health)
        return self

    @property
    def node_count(self) -> int:
        return len(self.nodes)

    @property
    def block_count(self) -> int:
        return len(self.blocks)

    def memory(self) -> int:
        return sum(len(v) for v in self.arrays.values())

    # ---- lookup: the same decisions as engine_answer ---------------------

    @staticmethod
    def type_block(node, qtype: int) -> int:
        if qtype == TYPE_ANY:
            return node.any_block
        for qt, blk in node.types:
            if qt == qtype:
                return blk
        return node.default_block

    def decide(self, key: bytes, qtype: int) -> tuple[int, int, int]:
        """(rcode, block index or NONE, dname index or NONE)."""
        idx = self.index.get(key)
        if idx is not None:
            node = self.nodes[idx]
            flags, redirect = node.flags, node.redirect
            if flags & F_OCCLUDED:
                return 0, redirect, NONE
            if flags & F_BELOW_DNAME:
                return 0, NONE, redirect
            if flags & F_CUT and qtype != TYPE_DS:
                return 0, redirect, NONE
            return 0, self.type_block(node, qtype), NONE
        i = 0
        while key[i] != 0:
            i += 1 + key[i]
            idx = self.index.get(key[i:])
            if idx is None:
                continue
            node = self.nodes[idx]
            flags, redirect, wild, nx_block = node.flags, node.redirect, node.wild, node.nx_block
            if flags & (F_OCCLUDED | F_CUT):
                return 0, redirect, NONE
            if flags & (F_BELOW_DNAME | F_HAS_DNAME):
                return 0, NONE, redirect
            if wild != NONE:
                wnode = self.nodes[wild]
                if wnode.flags & F_CUT:
                    return 0, wnode.redirect, NONE
                return 0, self.type_block(wnode, qtype), NONE
            return 0, nx_block, NONE
        return RCODE_REFUSED, NONE, NONE

    # ---- encode ------------------------------------------------------------

    def put_block(self, bidx: int, room: int, qname_off: int, qname_len: int, base: int,
                  do: bool = False, qname: bytes = b"", before: bytes = b""):
        """(bytes, an, ns, ar) or None when the required part does not fit;
        with `do` a signed zone's block gives way to its DO twin (RRSIGs);
        a twin with an online template (layout.py BF_ONLINE) then gets the
        records signed for `qname` (the name at `qname_off`) appended.
        `before`: the response before `base` (question_octets and the
        records written), where a precomputed NSEC3 proof looks for the
        NSEC3s already sent."""
        blk = self.blocks[bidx]
        if do and blk.signed != NONE:
            blk = self.blocks[blk.signed]
            if blk.prefix != NONE:  # the prefix, the records signed for qname, the twin's own
                head = self.copy_block(self.blocks[blk.prefix], room, qname_off, qname_len, base)
                if head is None:
                    return None
                if blk.online:
                    head = put_online(blk, head, qname, qname_off, room, self.arrays["blocks"],
                                      self.nsec3_root, before)
                    if head is None or head == SIGN_FAILED:
                        return head
                tail = self.copy_block(blk, room - len(head[0]), qname_off, qname_len,
                                       base + len(head[0]))
                if tail is None:
                    return None
                return head[0] + tail[0], head[1] + tail[1], head[2] + tail[2], \
                    head[3] + tail[3]
            else:
                got = self.copy_block(blk, room, qname_off, qname_len, base)
            if got is not None and blk.online:
                got = put_online(blk, got, qname, qname_off, room, self.arrays["blocks"],
                                 self.nsec3_root, before)
            return got
        return self.copy_block(blk, room, qname_off, qname_len, base)

    def nsec3_root(self, row: int) -> bytes | None:
        """_deny.pxi nsec3_root: the template with the chain of the zone at
        `row`, held by the DO twin of the row's NODATA block; None when
        there is none."""
        if row >= self.nrows:
            return None
        nodata = struct.unpack_from("<I", self.arrays["negatives"], 8 * row)[0]
        blk = self.blocks.get(nodata)
        twin = self.blocks.get(blk.signed) if blk is not None and blk.signed != NONE else None
        if twin is None or twin.online[:1] != bytes([nsec3.KIND_NSEC3]) \
                or nsec3.template_row(twin.online) is not None:
            return None
        return twin.online

    def rcode_block(self, bidx: int, do: bool):
        """The block whose rcode and AA the response takes: a DO query's
        twin (a nonexistent name's is NOERROR, RFC 9824); callers pass
        `do` false for a query with CO too (NXDOMAIN, RFC 9824 §4)."""
        blk = self.blocks[bidx]
        return self.blocks[blk.signed] if do and blk.signed != NONE else blk

    def copy_block(self, blk, room: int, qname_off: int, qname_len: int, base: int):
        n, ar = len(blk.data), blk.ar
        if n > room:
            while ar > blk.ar_required:
                ar -= 1
                n = blk.ar_ends[ar - 1] if ar > 0 else blk.ar_start
                if n <= room:
                    break
            if n > room:
                return None
        out = bytearray(blk.data[:n])
        for fx in blk.fixups:
            pos, val = fx & 0xFFFF, fx >> 16
            if val & (FIX_BLOCK | FIX_SERIAL) == FIX_SERIAL:
                if pos + 4 <= n:  # kind S: the zone's SOA serial, from its row
                    struct.pack_into(">I", out, pos, self.serials[val & 0x3FFF])
                continue
            if val & (FIX_BLOCK | FIX_SERIAL) == FIX_BLOCK | FIX_SERIAL:
                # kind G: the RRSIG rdata over a signed zone's SOA, from its row
                if pos < n and self.soasigs:
                    ref = self.soasigs[(val >> 13 & 1) * self.nrows + (val & 0x1FFF)]
                    sig = self.blocks[ref].data if ref != NONE else b""
                    if ref != NONE and pos + len(sig) <= n:
                        out[pos:pos + len(sig)] = sig
                continue
            if pos >= n:
                continue
            if val & FIX_BLOCK:
                target = base + (val & 0x7FFF)
            elif val == 0:
                target = qname_off
            else:
                target = qname_off + qname_len - val
            struct.pack_into(">H", out, pos, 0xC000 | target)
        return bytes(out), blk.an, blk.ns, ar

    def defers(self, query: bytes) -> bool:
        """The query's answer here is a fallback zone's NXDOMAIN (BF_DEFER),
        which the socket loops hand to the recursive fallback (zfdefer.h)."""
        q = parse_query(bytes(query))
        if isinstance(q, str):
            return False
        rcode, blk, dn = self.decide(q.qname.lower(), q.qtype)
        return rcode != RCODE_REFUSED and dn == NONE and blk != NONE and not blk & PSET_BIT \
            and self.blocks[blk].defer

    # ---- answer: the stages of engine_answer, by the same names ----------
    #
    # parse_query -> response_limit -> view_for / decide -> make_client,
    # select_to_values / select_ref -> answer_dname, answer_values or
    # answer_block -> finish.  A stage's result is an Answer: rcode, aa, tc,
    # the sections' octets and their counts.

    def answer(self, query: bytes, tcp: bool = False, client: str | None = None, seed: int = 0,
               cap: int = 65535, deferrable: bool = False) -> bytes | None:
        """`deferrable`: None for a query the recursive fallback answers."""
        view = self.view_for(query, client)
        if view is not None:
            if deferrable and view.defers(query):
                return None
            return view.answer(query, tcp, client, seed, cap)
        q = parse_query(bytes(query))
        if q == DROP:
            return b""
        if q in (FORMERR, NOTIMP):
            return header_only(query, RCODE_FORMERR if q == FORMERR else RCODE_NOTIMP)
        limit = self.response_limit(q, tcp, cap)
        opt = self.opt_record(q, 0, self.udp_max) if q.edns else b""
        qsec = 12 + len(q.qname) + 4
        if limit < qsec + len(opt):
            return header_only(query, RCODE_SERVFAIL)
        bidx = didx = NONE
        if q.edns and q.edns_version > 0:
            rcode = RCODE_BADVERS
        elif q.qclass not in (1, 255) or q.qtype in (TYPE_AXFR, TYPE_IXFR):
            rcode = RCODE_REFUSED
        else:
            rcode, bidx, didx = self.decide(q.qname.lower(), q.qtype)
        # a name in none of our zones: EDE 20, Not Authoritative (RFC 8914 §4.21)
        ede = rcode == RCODE_REFUSED and bidx == NONE and didx == NONE \
            and q.qclass in (1, 255) and q.qtype not in (TYPE_AXFR, TYPE_IXFR)
        cl = make_client(q, q.qname.lower(), client, seed)
        a = Answer(rcode=rcode, room=limit - qsec - len(opt), qsec=qsec)
        if didx == NONE and bidx != NONE and bidx & PSET_BIT:
            bidx = self.policy.select_to_values(bidx, cl)
            if bidx == NONE:
                return header_only(query, RCODE_SERVFAIL)
        if didx != NONE:
            self.answer_dname(q, a, didx, cl)
        elif bidx != NONE and bidx & PSET_BIT and self.policy.psets[bidx & ~PSET_BIT][4] != NONE \
                and self.policy.psets[bidx & ~PSET_BIT][0] == 3:
            self.answer_values(q, a, self.policy.psets[bidx & ~PSET_BIT], cl, bytes(query))
        elif bidx != NONE:
            bidx = self.policy.select_ref(bidx, cl)
            if bidx == NONE:
                return header_only(query, RCODE_SERVFAIL)
            self.answer_block(q, a, bidx)
        return self.finish(query, q, a, limit, ede, cl.scope)

    def response_limit(self, q, tcp: bool, cap: int) -> int:
        if tcp:
            limit = 65535
        elif q.edns:
            limit = min(q.edns_size, self.udp_max)
        else:
            limit = 512
        return min(limit, cap)

    def answer_dname(self, q, a: "Answer", didx: int, cl) -> None:
        """The DNAME, the CNAME synthesized from it, and the answer at the
        new name, chased once (RFC 6672 §3)."""
        qname_len, qsec, room = len(q.qname), a.qsec, a.room
        dblock, owner_len, target_pos, target_len, _, ttl = self.dnames[didx]
        a.aa = 1
        got = self.put_block(dblock, room, 12, qname_len, qsec, q.edns_do, b"",
                             question_octets(q))
        prefix = qname_len - owner_len
        newlen = prefix + target_len
        if got == SIGN_FAILED:
            fail_signing(a)
        elif got is None:
            a.tc = 1
        elif newlen > 255:
            a.rcode = RCODE_YXDOMAIN
            a.body, a.counts = got[0], got[1:]
        elif len(got[0]) + 12 + newlen > room:
            a.tc = 1
        else:
            new_name = q.qname[:prefix] + self.blocks[dblock].data[target_pos : target_pos + target_len]
            cname = struct.pack(">HHHIH", 0xC00C, TYPE_CNAME, 1, ttl, newlen) + new_name
            a.body = got[0] + cname
            a.counts = (2, got[2], got[3])
            # RFC 6672 §3.2: restart at the new name, once
            newpos = qsec + len(got[0]) + 12
            crcode, cb, _ = self.decide(new_name.lower(), q.qtype)
            cb = self.policy.select_ref(cb, cl)
            if crcode == 0 and cb != NONE and self.blocks[cb].aa:
                chased = self.put_block(cb, room - len(a.body), newpos, newlen, qsec + len(a.body),
                                        q.edns_do, new_name, question_octets(q) + a.body)
                if chased == SIGN_FAILED:
                    fail_signing(a)
                elif chased is None:
                    a.tc, a.body, a.counts = 1, b"", (0, 0, 0)
                else:
                    a.rcode = self.rcode_block(cb, q.edns_do and not q.edns_co).rcode
                    body, an = chased[0], chased[1]
                    if chased[2] == 0 and chased[3] == 0:
                        msg = question_octets(q) + a.body + body
                        last = dname_repeat(msg, qsec + len(a.body), an, q.qname[prefix:],
                                            new_name[prefix:])
                        if last >= 0:  # RFC 2181 §5: the DNAME is not given twice
                            body, an = body[: last - qsec - len(a.body)], an - 1
                    a.body += body
                    a.counts = (2 + an, chased[2], chased[3])

    def answer_values(self, q, a: "Answer", ps, cl, query: bytes = b"") -> None:
        """A multivalue answer: the set's shared first part, then up to eight
        healthy values picked at random, as many as fit."""
        qname_len = len(q.qname)
        head = self.blocks[ps[4]]
        a.rcode, a.aa = head.rcode, int(head.aa)
        # a DO query copies the twin: a chain's CNAMEs as the prefix writes them, then their RRSIGs
        first = head.signed if q.edns_do and head.signed != NONE else ps[4]
        got = self.put_block(first, a.room, 12, qname_len, a.qsec)
        if got is None:
            a.tc = 1
            return
        body, counts = got[0], list(got[1:])
        values = self.policy.pick_values(ps, cl)
        written = []
        for v in values:
            part = self.put_block(v, a.room - len(body), 12, qname_len, a.qsec)
            if part is None:
                break
            body += part[0]
            written.append(part[0])
            counts[0] += part[1]
        twin = self.rcode_block(ps[4], True)
        if counts[0] == 0 and values:
            a.tc, a.body, a.counts = 1, b"", (0, 0, 0)
            return
        if q.edns_do and written and twin.online:  # the chosen values' RRSIG
            # for their owner: the qname, or the chain's last target (a pointer into the chain)
            if written[0][0] < 0xC0:
                fail_signing(a)
                return
            name_off = struct.unpack_from(">H", written[0])[0] & 0x3FFF
            name = q.qname
            if name_off != 12:
                msg = query[:a.qsec] + body
                name = expand_name(msg, a.qsec + len(body) - sum(map(len, written)), name_off)
                if not name:
                    fail_signing(a)
                    return
            try:
                sig = online.put_set(twin.online, name, name_off, written, a.room - len(body))
            except online.OnlineSignError:
                fail_signing(a)
                return
            if sig is None:
                a.tc, a.body, a.counts = 1, b"", (0, 0, 0)
                return
            body += sig
            counts[0] += 1
        if q.edns_do and head.signed != NONE and twin.prefix != NONE:
            # behind a wildcard CNAME (compiler.py wildcard_part): the CNAME's
            # RRSIG signed for the qname, or the NSEC3 covering it
            got = put_online(self.blocks[twin.prefix], (body, *counts), q.qname, 12, a.room,
                             self.arrays["blocks"], self.nsec3_root, question_octets(q))
            if got == SIGN_FAILED:
                fail_signing(a)
                return
            if got is None:
                a.tc, a.body, a.counts = 1, b"", (0, 0, 0)
                return
            body, counts = got[0], list(got[1:])
        a.body, a.counts = body, tuple(counts)

    def answer_block(self, q, a: "Answer", bidx: int) -> None:
        """One pre-encoded answer, copied and relocated; TC when its
        required part does not fit."""
        blk = self.rcode_block(bidx, q.edns_do and not q.edns_co)
        a.rcode, a.aa = blk.rcode, int(blk.aa)
        got = self.put_block(bidx, a.room, 12, len(q.qname), a.qsec, q.edns_do, q.qname,
                             question_octets(q))
        if got == SIGN_FAILED:
            fail_signing(a)
        elif got is None:
            a.tc = 1
        else:
            a.body, a.counts = got[0], got[1:]

    def finish(self, query: bytes, q, a: "Answer", limit: int, ede: bool, scope: int) -> bytes:
        """Header, question, the stages' sections, then the OPT record (with
        EDE 20 when the name is in none of our zones and it fits)."""
        opt = b""
        if q.edns:
            opt = self.opt_record(q, a.rcode, self.udp_max, scope)
            if ede and a.qsec + len(a.body) + len(opt) + 6 <= limit:
                opt = opt[:9] + struct.pack(">H", len(opt) - 11 + 6) + opt[11:] + \
                    struct.pack(">HHH", 15, 2, EDE_NOT_AUTHORITATIVE)
        header = query[0:2] + bytes(
            [0x80 | (query[2] & 0x01) | (0x04 if a.aa else 0) | (0x02 if a.tc else 0),
             (query[3] & 0x10) | (a.rcode & 0xF)]
        ) + struct.pack(">HHHH", 1, a.counts[0], a.counts[1], a.counts[2] + (1 if q.edns else 0))
        return bytes(header + query[12:a.qsec] + a.body + opt)

    @staticmethod
    def opt_record(q, rcode: int, udp_max: int, scope: int = 0) -> bytes:
        options = b""
        if q.ecs is not None:
            e = q.ecs
            options = struct.pack(">HHHBB", 8, 4 + len(e.address), e.family, e.source_prefix, scope) + e.address
        ttl = ((rcode >> 4) & 0xFF) << 24 | (0x8000 if q.edns_do else 0)
        return b"\x00" + struct.pack(">HHIH", TYPE_OPT, udp_max, ttl, len(options)) + options
