"""A fresh `zonefront serve --api` with no --geoip routes geolocation records
by location (issue 16, item 3): the GeoLite2-City database of the
maxminddb-geolite2 package is the default, so an ECS subnet in the US gets
the US record and a German one the Europe record.  The database is loaded
only when a hosted zone first routes by location (issue 13: 65 MB)."""
from __future__ import annotations

import pytest
from helpers import zfserve
from helpers.zfserve import rrset

from zonefront import geodefault

pytestmark = pytest.mark.e2e

US_SUBNET = "8.8.8.0/24"  # United States in GeoLite2-City 2018-07-03
DE_SUBNET = "80.128.0.0/16"  # Germany (Deutsche Telekom)
DE_SUBNET6 = "2003::/32"  # Germany


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    if geodefault.packaged_mmdb() is None:
        pytest.skip("maxminddb-geolite2 is not installed")
    s = zfserve.start(tmp_path_factory.mktemp("fresh"))  # no --geoip, empty data dir
    try:
        yield s
    finally:
        zfserve.stop(s)


def _loaded(served) -> bool:
    return any("maxminddb-geolite2" in line and "2018-07-03" in line for line in served.stderr)


def _rss_kib(served) -> int:
    with open(f"/proc/{served.proc.pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def test_not_loaded_without_location_routing(fresh):
    # runs first in this module: the server has not seen a location record yet
    zid = fresh.create_zone("no-geo.test")
    fresh.change(zid, rrset("www.no-geo.test", "192.0.2.9"),
                 rrset("w.no-geo.test", "192.0.2.10", SetIdentifier="a", Weight=1),
                 rrset("c.no-geo.test", "192.0.2.11", SetIdentifier="p",
                       Failover="PRIMARY"))
    assert fresh.one("www.no-geo.test", ecs=US_SUBNET) == "192.0.2.9"
    assert fresh.one("w.no-geo.test") == "192.0.2.10"
    assert not _loaded(fresh)
    before = _rss_kib(fresh)
    zid = fresh.create_zone("first-geo.test")
    # this change flattens the GeoLite2 tables first: seconds on a busy machine
    fresh.change(zid,
                 rrset("www.first-geo.test", "192.0.2.1", SetIdentifier="us",
                       GeoLocation={"CountryCode": "US"}),
                 rrset("www.first-geo.test", "192.0.2.3", SetIdentifier="default",
                       GeoLocation={"CountryCode": "*"}), timeout=60.0)
    assert fresh.one("www.first-geo.test", ecs=US_SUBNET) == "192.0.2.1"
    assert _loaded(fresh)
    assert _rss_kib(fresh) - before > 30_000  # the flattened tables: ~65 MB


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_geolocation_by_ecs_with_packaged_database(fresh, tcp):
    origin = f"geo-default-{'tcp' if tcp else 'udp'}.test"
    zid = fresh.create_zone(origin)
    name = f"www.{origin}"
    fresh.change(zid,
                 rrset(name, "192.0.2.1", SetIdentifier="us", GeoLocation={"CountryCode": "US"}),
                 rrset(name, "192.0.2.2", SetIdentifier="eu",
                       GeoLocation={"ContinentCode": "EU"}),
                 rrset(name, "192.0.2.3", SetIdentifier="default",
                       GeoLocation={"CountryCode": "*"}))
    assert fresh.one(name, ecs=US_SUBNET, tcp=tcp) == "192.0.2.1"
    assert fresh.one(name, ecs=DE_SUBNET, tcp=tcp) == "192.0.2.2"
    assert fresh.one(name, ecs=DE_SUBNET6, tcp=tcp) == "192.0.2.2"
    assert fresh.one(name, tcp=tcp) == "192.0.2.3"  # 127.0.0.1: no location
    assert _loaded(fresh)
    m = fresh.query(name, ecs=DE_SUBNET, tcp=tcp)
    assert zfserve.ecs_of(m).scopelen > 0  # the answer depended on the location
