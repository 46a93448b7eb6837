"""Shared fixtures.  `impl` runs a test once per answer implementation:
the compiled core and its pure-Python twin (ref/), over the same image.
ZONEFRONT_PUREPYTHON=1 keeps only the reference."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # `from helpers.X import ...`

pytest_plugins = ["helpers.require_tools", "pytester"]

IMPLS = ["ref"] if os.environ.get("ZONEFRONT_PUREPYTHON") == "1" else ["ref", "compiled"]


def make_image_for(impl: str, zones):
    from zonefront.snapshot.compiler import compile_zones

    arrays = compile_zones(zones).arrays()
    if impl == "ref":
        from zonefront.ref.engine import RefImage

        return RefImage(arrays)
    from zonefront.core._engine import Image

    return Image(arrays)


@pytest.fixture(params=IMPLS)
def impl(request):
    return request.param


@pytest.fixture
def make_image(impl):
    """Compile zones and load them into the implementation under test."""
    return lambda zones: _make_image(impl, zones)


_make_image = make_image_for


@pytest.fixture(scope="session")
def free_port():
    """Call it for each port a test server needs (DNS or API)."""
    from helpers.ports import free_port as take

    return take
