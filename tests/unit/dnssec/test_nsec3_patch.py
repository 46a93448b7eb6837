"""A change to an NSEC3-signed zone's chain is patched (snapshot/nsec3patch.py):
names created and deleted, empty non-terminals appearing and going (RFC 5155
§7.1), type bitmaps changing.  The patched image answers like a full compile
of the same zones, byte for byte with the signatures made while answering
zeroed (tests/differential/test_incremental_signed.py's comparison), for the
names next to the change in hash order too, whose proofs the change moves;
only the moved NSEC3s are signed again and only the names quoting them are
compiled again."""
from __future__ import annotations

import importlib.util
import pathlib

import dns.message
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zonefront.dnssec import nsec3
from zonefront.model import TYPE_A, TYPE_CNAME, TYPE_NS, TYPE_TXT, RRset, name_from_text
from zonefront.snapshot.compiler import compile_zones
from zonefront.snapshot.incremental import IncrementalCompiler, NeedsFullCompile

pytest.importorskip("zonefront.core._engine")


def _module(path: pathlib.Path):
    spec = importlib.util.spec_from_file_location(f"n3patch_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


signed = _module(pathlib.Path(__file__).parents[2] / "differential" /
                 "test_incremental_signed.py")
base = signed.base
ORIGIN = "example.com."


def _rrset(owner: str, rtype: int, rdata: bytes) -> tuple:
    name = name_from_text(owner)
    return (name, rtype), RRset(name, rtype, 300, [rdata])


def zone_state():
    """example.com in nsec3 mode with a hundred names, a wildcard, an empty
    non-terminal, a delegation and CNAMEs into a NODATA and into nothing
    (pre-encoded proofs, compiler.py chain_proof)."""
    state = signed._nsec3_state()
    rr = state.rrsets[ORIGIN]
    for i in range(100):
        k, v = _rrset(f"h{i}.{ORIGIN}", TYPE_A, bytes([10, 0, 0, i]))
        rr[k] = v
    for owner, rtype, rdata in [
            (f"*.w.{ORIGIN}", TYPE_TXT, b"\x04wild"),
            (f"www.{ORIGIN}", TYPE_TXT, b"\x03www"),
            (f"host.ent.{ORIGIN}", TYPE_A, bytes([192, 0, 2, 7])),
            (f"deleg.{ORIGIN}", TYPE_NS, name_from_text("ns.example.net.")),
            (f"alias.{ORIGIN}", TYPE_CNAME, name_from_text(f"www.{ORIGIN}")),
            (f"dangling.{ORIGIN}", TYPE_CNAME, name_from_text(f"nowhere.{ORIGIN}"))]:
        k, v = _rrset(owner, rtype, rdata)
        rr[k] = v
    return state


def chain_digests(zones) -> list[bytes]:
    zone = next(z for z in zones if z.origin == name_from_text(ORIGIN))
    from zonefront.snapshot.compiler import with_dnskeys

    types, cuts = nsec3.zone_types(with_dnskeys(zone, zone.dnssec))
    return [d for d, _n, _o, _r in nsec3.chain(zone.origin, types, cuts)]


def covered(digests: list[bytes], start: bytes, count: int = 2) -> list[str]:
    """Names under the origin (one label) whose hash falls right after
    `start` in the chain `digests` (the interval the NSEC3 of `start`
    covers): the NXDOMAIN proofs of these quote that NSEC3."""
    i = digests.index(start)
    end = digests[(i + 1) % len(digests)]
    out = []
    for k in range(200_000):
        name = f"p{k}.{ORIGIN}"
        h = nsec3.hash_name(name_from_text(name))
        inside = start < h < end if start < end else (h > start or h < end)
        if inside:
            out.append(name)
            if len(out) == count:
                break
    return out


def near(before_zones, after_zones, names: list[str]) -> list[str]:
    """Names whose NXDOMAIN proofs quote the NSEC3s of `names` and of their
    predecessors, before or after the change."""
    out = []
    for zones in (before_zones, after_zones):
        digests = chain_digests(zones)
        for name in names:
            h = nsec3.hash_name(name_from_text(name))
            if h in digests:
                i = digests.index(h)
                out += covered(digests, h) + covered(digests, digests[i - 1])
            else:  # not in this chain: the NSEC3 covering it
                prior = max((d for d in digests if d < h), default=digests[-1])
                out += covered(digests, prior)
    return out


def queries(names: list[str]) -> list[tuple[bytes, bool]]:
    fixed = [ORIGIN, f"www.{ORIGIN}", f"ent.{ORIGIN}", f"host.ent.{ORIGIN}", f"x.w.{ORIGIN}",
             f"a.b.w.{ORIGIN}", f"deleg.{ORIGIN}", f"x.deleg.{ORIGIN}", f"alias.{ORIGIN}",
             f"dangling.{ORIGIN}", f"nowhere.{ORIGIN}", f"h7.{ORIGIN}", f"x.h7.{ORIGIN}"]
    out = []
    for name in fixed + names + [f"x.{n}" for n in names]:
        for qtype in ("A", "TXT", "DS", "AAAA"):
            for do in (True, False):
                q = dns.message.make_query(name, qtype, want_dnssec=do)
                q.id = 7
                out.append((q.to_wire(), do))
    return out


def patch(state, ops, image_class):
    """(IncrementalCompiler after the change, zones before, zones after)."""
    zones = state.zones()
    ic = IncrementalCompiler(zones, image_class)
    new, changed = base.apply_batch(state, ops, zones)
    ic.update(new, changed)
    return ic, zones, new


def assert_like_full(ic, new, wires) -> None:
    full = type(ic.image)(compile_zones(new).arrays())
    for wire, _do in wires:
        assert signed.same_answer(ic.image.answer(wire), full.answer(wire)), \
            dns.message.from_wire(wire).question


OPS = {
    "create": [("upsert", f"new.{ORIGIN}", "A", 1, f"a.{ORIGIN}")],
    "create-under-ents": [("upsert", f"x.y.new.{ORIGIN}", "A", 1, f"a.{ORIGIN}")],
    "delete": [("delete", f"b.{ORIGIN}", "A", 0, f"a.{ORIGIN}")],
    "delete-last-under-ent": [("delete", f"host.ent.{ORIGIN}", "A", 0, f"a.{ORIGIN}")],
    "type-added": [("upsert", f"a.{ORIGIN}", "AAAA", 1, f"a.{ORIGIN}")],
    "type-removed": [("delete", f"www.{ORIGIN}", "TXT", 0, f"a.{ORIGIN}")],
    "delegation-made": [("upsert", f"nsdel.{ORIGIN}", "NS", 0, f"ns.example.net.")],
    "wildcard-made": [("upsert", f"*.nw.{ORIGIN}", "TXT", 1, f"a.{ORIGIN}")],
    "chain-target-made": [("upsert", f"nowhere.{ORIGIN}", "A", 2, f"a.{ORIGIN}")],
    "several": [("upsert", f"c1.{ORIGIN}", "A", 1, f"a.{ORIGIN}"),
                ("upsert", f"c2.{ORIGIN}", "TXT", 1, f"a.{ORIGIN}"),
                ("delete", f"h3.{ORIGIN}", "A", 0, f"a.{ORIGIN}"),
                ("delete", f"h4.{ORIGIN}", "A", 0, f"a.{ORIGIN}")],
}


@pytest.mark.parametrize("label,image_class", signed.engines())
@pytest.mark.parametrize("what", sorted(OPS))
def test_a_chain_change_is_patched_and_answers_like_a_full_compile(what, label, image_class):
    ops = OPS[what]
    ic, before, after = patch(zone_state(), ops, image_class)
    assert ic.last_patch["nsec3"] >= 1
    # the moved NSEC3s' names and those quoting them, not the zone's 110
    assert ic.last_patch["names"] < 25, ic.last_patch
    names = sorted({op[1] for op in ops} | {n for op in ops for n in
                                            [op[1].split(".", 1)[1]]})
    assert_like_full(ic, after, queries(names + near(before, after, names)))


def test_proof_next_to_a_created_name_quotes_its_nsec3():
    """An NXDOMAIN whose next closer name hashes just after the new name
    is covered by the new NSEC3, whose predecessor no longer covers it."""
    from zonefront.core._engine import Image

    ic, _before, after = patch(zone_state(), OPS["create"], Image)
    new = nsec3.hash_name(name_from_text(f"new.{ORIGIN}"))
    for qname in covered(chain_digests(after), new):
        q = dns.message.make_query(qname, "A", want_dnssec=True)
        m = dns.message.from_wire(ic.image.answer(q.to_wire()))
        assert m.rcode() == 3
        owners = {rs.name.labels[0] for rs in m.authority if rs.rdtype == 50}
        assert nsec3.hashed_owner(new, b"\x00")[1:33] in owners, m.to_text()


def _nsec3_signatures(zk) -> set:
    return {k for k in zk.cache if k[1] == nsec3.TYPE_NSEC3}


@pytest.mark.parametrize("what,signed_again", [("create", 2), ("delete", 1),
                                               ("create-under-ents", 6), ("type-added", 1)])
def test_only_the_moved_nsec3s_are_signed_again(what, signed_again):
    """A name made: its NSEC3 and its predecessor's; deleted: the
    predecessor's; two empty non-terminals above a new name: three NSEC3s
    and three predecessors (distinct here); a type added: the name's."""
    from zonefront.core._engine import Image

    state = zone_state()
    zk = state.keys[name_from_text(ORIGIN)]
    zones = state.zones()
    ic = IncrementalCompiler(zones, Image)
    before = _nsec3_signatures(zk)
    new, changed = base.apply_batch(state, OPS[what], zones)
    ic.update(new, changed)
    assert len(_nsec3_signatures(zk) - before) == signed_again


def test_a_delegation_above_names_compiles_in_full_and_changes_nothing():
    """NS at a name with names below: they leave the chain (§7.1); refused
    before anything changes, and the next change is patched."""
    from zonefront.core._engine import Image

    state = zone_state()
    zones = state.zones()
    ic = IncrementalCompiler(zones, Image)
    image = ic.image
    new, changed = base.apply_batch(state, [("upsert", f"ent.{ORIGIN}", "NS", 0,
                                             "ns.example.net.")], zones)
    with pytest.raises(NeedsFullCompile):
        ic.update(new, changed)
    assert ic.image is image and not ic.broken
    # and the compiler still patches the next change to the chain
    new, changed = base.apply_batch(state, [("delete", f"ent.{ORIGIN}", "NS", 0, "x.")]
                                    + OPS["create"], zones)
    changed[name_from_text(ORIGIN)].add(name_from_text(f"ent.{ORIGIN}"))
    ic.update(new, changed)
    assert_like_full(ic, new, queries([f"new.{ORIGIN}"]))


def test_a_forked_full_compile_is_patched_too():
    """The control plane compiles big zone sets in a child (handoff.py): the
    chain is read back from the handed image, then patched."""
    from zonefront.core._engine import Image
    from zonefront.snapshot.handoff import ForkedCompile

    state = zone_state()
    zones = state.zones()
    full = ForkedCompile()
    ic = IncrementalCompiler(zones, Image, full=full)
    assert full.forked
    new, changed = base.apply_batch(state, OPS["create-under-ents"] + OPS["delete"], zones)
    ic.update(new, changed)
    names = [f"x.y.new.{ORIGIN}", f"y.new.{ORIGIN}", f"new.{ORIGIN}", f"b.{ORIGIN}"]
    assert_like_full(ic, new, queries(names + near(zones, new, names)))


def test_patches_in_a_row_and_an_edge_mirror_answer_alike():
    """Several batches on one compiler, each also applied to a copy loaded
    from the exported image (an edge), both like a full compile."""
    from zonefront.core._engine import Image

    batches = [OPS["create"], OPS["create-under-ents"], OPS["delete"],
               [("delete", f"x.y.new.{ORIGIN}", "A", 0, f"a.{ORIGIN}")], OPS["type-added"]]
    assert signed.run_batches(zone_state(), batches, Image, "compiled") == 0


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.lists(base.op_st.filter(lambda op: op[2] not in ("NS", "DS")),
                         min_size=1, max_size=4),
                min_size=1, max_size=3))
def test_random_changes_without_delegations_are_all_patched(batches):
    """test_incremental's random batches (CNAMEs, DNAMEs, wildcards, weighted
    sets) on the nsec3 zones: none compiles in full."""
    from zonefront.core._engine import Image

    assert signed.run_batches(signed._nsec3_state(), batches, Image, "compiled") == 0


@pytest.mark.parametrize("label,image_class", signed.engines())
def test_a_chain_into_another_zones_denial_is_proved_again(label, image_class):
    """A CNAME of example.com into a name example.net does not have carries
    example.net's closest-encloser proof (made when the CNAME compiles);
    names made in example.net move the NSEC3s it quotes, and the CNAME is
    compiled again with the new ones."""
    state = zone_state()
    k, v = _rrset(f"far.{ORIGIN}", TYPE_CNAME, name_from_text("nx.example.net."))
    state.rrsets[ORIGIN][k] = v
    zones = state.zones()
    ic = IncrementalCompiler(zones, image_class)
    wires = queries([f"far.{ORIGIN}", "nx.example.net.", "example.net."])
    for i in range(4):
        new, changed = base.apply_batch(
            state, [("upsert", f"{'abcd'[i]}.sub.example.net.", "A", 1, "a.example.net.")],
            zones)
        ic.update(new, changed)
        assert_like_full(ic, new, wires)
        zones = new
