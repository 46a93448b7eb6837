"""Fixtures: a zonefront primary serving tests/helpers/xfr_zones.py:ZONE with the transfer slow path."""
import pytest

pytest.importorskip("zonefront.dataplane._worker")

from helpers.xfr import Primary, zone_from_text  # noqa: E402
from helpers.xfr_zones import ZONE  # noqa: E402


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
