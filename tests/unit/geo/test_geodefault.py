"""GeoIP with no --geoip (geodefault.py): the packaged GeoLite2 database,
and the cache of flattened arrays that keeps later starts fast."""
from __future__ import annotations

import os
import pathlib

import pytest

from zonefront import geodefault
from zonefront.geo import GeoDB


def test_cache_round_trip_equals_fresh_flattening(city_mmdb, tmp_path):
    fresh = GeoDB.from_mmdb(city_mmdb)
    first = geodefault.load_cached(city_mmdb, str(tmp_path))  # flattens, writes the cache
    files = os.listdir(tmp_path)
    assert len(files) == 1 and files[0].startswith("geo-")
    second = geodefault.load_cached(city_mmdb, str(tmp_path))  # read back
    for db in (first, second):
        assert (db.geo4, db.geo6, db.geolocs, db.description) == (
            fresh.geo4, fresh.geo6, fresh.geolocs, fresh.description)


def test_damaged_cache_is_flattened_again(city_mmdb, tmp_path):
    geodefault.load_cached(city_mmdb, str(tmp_path))
    (path,) = [tmp_path / f for f in os.listdir(tmp_path)]
    path.write_bytes(path.read_bytes()[:-3])
    db = geodefault.load_cached(city_mmdb, str(tmp_path))
    assert db.geo4 == GeoDB.from_mmdb(city_mmdb).geo4


def test_cache_follows_the_file(city_mmdb, tmp_path):
    """A replaced database (new mtime or size) is a new cache entry."""
    copy = tmp_path / "copy.mmdb"
    copy.write_bytes(pathlib.Path(city_mmdb).read_bytes())
    cache = tmp_path / "cache"
    geodefault.load_cached(str(copy), str(cache))
    os.utime(copy, ns=(1, 1))
    geodefault.load_cached(str(copy), str(cache))
    assert len(os.listdir(cache)) == 2


def test_none_means_no_geoip():
    assert geodefault.geo_from_arg("none") == (None, None)


def test_packaged_database_locates_countries():
    """No --geoip: the packaged database (through the user's cache, which
    the first run fills in about 10 s and `zonefront serve` shares)."""
    if geodefault.packaged_mmdb() is None:
        pytest.skip("maxminddb-geolite2 is not installed")
    db, note = geodefault.geo_from_arg(None)
    assert "GeoLite2-City of 2018-07-03" in note and "--geoip" in note
    assert db.lookup("8.8.8.8").country == "US"
    assert db.lookup("80.128.0.1").country == "DE"
    assert db.lookup("80.128.0.1").continent == "EU"
    assert db.lookup("2003::1").country == "DE"
