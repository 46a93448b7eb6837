"""DependencyIndex keeps no entries at or above a zone apex, and still
answers every name a change there may reach."""
from zonefront.model import name_from_text
from zonefront.snapshot.incremental import DependencyIndex
from zonefront.zoneset import Node


def n(text: str) -> bytes:
    return name_from_text(text)


def test_no_under_entries_at_or_above_the_apex():
    deps = DependencyIndex([n("example.")])
    deps.add(n("a.example."), {n("x.b.example."), n("mail.other.")})
    assert set(deps.under) == {n("b.example.")}
    assert deps.at_or_below(n("b.example.")) == {n("a.example.")}


def test_apex_and_above_answer_every_consulting_name():
    deps = DependencyIndex([n("example.")])
    deps.add(n("a.example."), {n("b.example.")})
    deps.add(n("c.example."), {n("d.example.")})
    everyone = {n("a.example."), n("c.example.")}
    assert deps.at_or_below(n("example.")) == everyone
    assert deps.at_or_below(n(".")) == everyone


def test_node_rare_fields_made_on_first_set():
    node = Node(n("a.example."), None)
    assert node._rare is None and node.wildcard is None and not node.routed
    node.wildcard = None  # the empty value makes no object
    assert node._rare is None
    node.is_cut = True
    node.parent_ds = "ds"
    assert node.is_cut and not node.is_apex and node.parent_ds == "ds"
    assert node._rare is not None and node.dname_above is None
    node.parent_ds = None  # every rare field empty again: no object
    assert node._rare is None and node.is_cut
