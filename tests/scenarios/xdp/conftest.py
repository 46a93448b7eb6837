"""Fixtures for the AF_XDP tests: a veth pair between two namespaces, root only."""
import os
import shutil

import pytest

from .nsnet import NetPair

pytest.importorskip("zonefront.dataplane._worker")


def _why_not() -> str:
    """What is missing; only the lack of root skips (a developer's account):
    as root (CI) a missing module, program or tool fails the tests loudly."""
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
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces, XDP)")
    why = _why_not()
    if why:
        pytest.fail(why)
    pair = NetPair(f"{os.getpid()}-{os.urandom(2).hex()}").create()
    yield pair
    pair.destroy()
