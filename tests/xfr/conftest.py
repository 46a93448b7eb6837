"""Fixtures: a zonefront primary serving tests/xfr/zones.py:ZONE with the transfer slow path."""
import pytest

pytest.importorskip("zonefront.dataplane._worker")

from .harness import Primary, zone_from_text  # noqa: E402
from .zones import ZONE  # noqa: E402


@pytest.fixture
def zone():
    return zone_from_text(ZONE, "xfr.test.")


@pytest.fixture
def primary():
    """primary(zones=None, **XfrService kwargs) -> started Primary; stopped after the test."""
    started = []

    def start(zones=None, **kw):
        p = Primary(zones or [zone_from_text(ZONE, "xfr.test.")], **kw).start()
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()
