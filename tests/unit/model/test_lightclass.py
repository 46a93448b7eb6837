"""The record classes' decorator (zonefront.lightclass) behaves as the
standard dataclasses do for what the model, zone set, compiler and layout
use, and the zone-file start path imports neither dataclasses nor inspect."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
from typing import ClassVar

import pytest

import zonefront
from zonefront import lightclass
from zonefront.lightclass import dataclass, field


def both(**kw):
    """The same class made by lightclass and by dataclasses."""
    def make(deco):
        @deco(**kw)
        class Rec:
            """A record."""
            kind: ClassVar[str] = "rec"
            owner: bytes
            rtype: int = 1
            rdatas: list = field(default_factory=list) if deco is dataclass else dataclasses.field(default_factory=list)
            note: str = ""
        return Rec
    return make(dataclass), make(dataclasses.dataclass)


@pytest.mark.parametrize("kw", [{}, {"frozen": True}, {"slots": True}])
def test_construction_defaults_and_equality_match_dataclasses(kw):
    light, std = both(**kw)
    for cls in (light, std):
        a = cls(b"a", 2, [b"x"], "n")
        b = cls(owner=b"a", rtype=2, rdatas=[b"x"], note="n")
        assert a == b and not (a != b)
        assert cls(b"a") != a
        assert cls(b"a").rtype == 1 and cls(b"a").note == ""
        assert cls(b"a").rdatas == [] and cls(b"a").rdatas is not cls(b"a").rdatas
        assert cls.kind == "rec"
    assert repr(light(b"a", 2)) == repr(std(b"a", 2)).replace(std.__qualname__, light.__qualname__)
    assert light(b"a") != std(b"a")  # another class: not equal, as dataclasses


def test_hash_and_frozen_like_dataclasses():
    light, std = both()
    with pytest.raises(TypeError):
        hash(light(b"a"))
    with pytest.raises(TypeError):
        hash(std(b"a"))
    flight, fstd = both(frozen=True)
    assert hash(flight(b"a", 2, (), "x")) == hash(flight(b"a", 2, (), "x"))
    rec = flight(b"a")
    with pytest.raises(AttributeError, match="frozen"):
        rec.rtype = 5
    with pytest.raises(AttributeError):  # dataclasses.FrozenInstanceError is one
        fstd(b"a").rtype = 5
    with pytest.raises(AttributeError, match="frozen"):
        del rec.owner
    assert rec.rtype == 1


def test_slots_leave_no_instance_dict():
    light, _ = both(slots=True)
    rec = light(b"a")
    assert not hasattr(rec, "__dict__")
    with pytest.raises(AttributeError):
        rec.other = 1
    rec.rtype = 28
    assert rec.rtype == 28


def test_replace_and_fields():
    light, _ = both(frozen=True)
    a = light(b"a", 2, [b"x"], "n")
    b = lightclass.replace(a, note="m")
    assert (b.owner, b.rtype, b.rdatas, b.note) == (b"a", 2, [b"x"], "m") and a.note == "n"
    assert [f.name for f in lightclass.fields(light)] == ["owner", "rtype", "rdatas", "note"]
    with pytest.raises(TypeError):
        lightclass.replace(a, nonesuch=1)


def test_declaration_errors_are_refused_as_dataclasses_refuses_them():
    with pytest.raises(TypeError):
        @dataclass
        class DefaultFirst:
            a: int = 0
            b: int
    with pytest.raises(ValueError):
        @dataclass
        class SharedList:
            a: list = []


# the serve --zone-file path: the server (cli, serving, the data plane) and
# the forked compiler child (fastcompile and what it imports)
START_IMPORTS = textwrap.dedent("""
    import sys
    import zonefront.cli, zonefront.serving, zonefront.dataplane.server
    import zonefront.snapshot.fastcompile
    print(sorted(m for m in ("dataclasses", "inspect", "typing") if m in sys.modules))
""")


def test_zone_file_start_path_imports_neither_dataclasses_nor_inspect():
    src = os.path.dirname(os.path.dirname(zonefront.__file__))
    # -S: what the interpreter's site hooks import is not the project's
    proc = subprocess.run([sys.executable, "-S", "-c", START_IMPORTS],
                          env=dict(os.environ, PYTHONPATH=src), check=True,
                          capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "[]"
