"""A fresh `zonefront serve --api` with no --geoip routes geolocation records
by location (issue 16, item 3): the GeoLite2-City database of the
maxminddb-geolite2 package is the default, so an ECS subnet in the US gets
the US record and a German one the Europe record."""
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


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_geolocation_by_ecs_with_packaged_database(fresh, tcp):
    assert any("maxminddb-geolite2" in line and "2018-07-03" in line for line in fresh.stderr)
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
    m = fresh.query(name, ecs=DE_SUBNET, tcp=tcp)
    assert zfserve.ecs_of(m).scopelen > 0  # the answer depended on the location
