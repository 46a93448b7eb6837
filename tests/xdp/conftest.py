"""Fixtures for the AF_XDP tests: a veth pair between two namespaces, root only."""
import os
import shutil

import pytest

from .nsnet import NetPair

pytest.importorskip("zonefront.dataplane._worker")


def _why_not() -> str:
    if os.geteuid() != 0:
        return "needs root (network namespaces, XDP)"
    if not shutil.which("ip"):
        return "needs iproute2"
    try:
        from zonefront.dataplane import _xdp  # noqa: F401
    except ImportError as e:
        return f"no AF_XDP module: {e}"
    from zonefront.dataplane.xdp import BPF_OBJECT
    if not os.path.exists(BPF_OBJECT):
        return f"{BPF_OBJECT} was not built"
    return ""


@pytest.fixture(scope="module")
def net():
    why = _why_not()
    if why:
        pytest.skip(why)
    pair = NetPair(f"{os.getpid()}-{os.urandom(2).hex()}").create()
    yield pair
    pair.destroy()
