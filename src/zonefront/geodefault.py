"""The GeoIP database used when `--geoip` is not given: the GeoLite2 City
database the PyPI package `maxminddb-geolite2` ships (a dependency), so
that geolocation, latency and geoproximity records route by location on a
fresh install instead of answering every client the default.

That database is old (the package's last release, 2018.703, holds a
GeoLite2-City built on 2018-07-03): good for countries and continents of
most networks, stale for reassigned blocks.  Operators point `--geoip` at
a current GeoLite2/GeoIP2 file (MaxMind's geoipupdate keeps one fresh).

Flattening a City database takes seconds (about 10 s for this one on the
reference machine, 3.4M networks), so the flattened arrays are kept in a
cache file keyed by the database's path, size and mtime; a start with a
warm cache reads 65 MB instead (well under a second).
"""
from __future__ import annotations

import hashlib
import logging
import os
import struct
import tempfile
import threading

from .geo import GeoDB

log = logging.getLogger("zonefront.geo")

PACKAGE = "maxminddb-geolite2"
_MAGIC = b"ZFGEO1\0\0"
_HEAD = struct.Struct("<8sQQQI")  # magic, len(geo4), len(geo6), len(geolocs), len(description)


def packaged_mmdb() -> str | None:
    """The path of the packaged GeoLite2-City.mmdb, or None when the
    package is not installed."""
    try:
        import _maxminddb_geolite2 as pkg
    except ImportError:
        return None
    path = pkg.geolite2_database()
    return path if os.path.exists(path) else None


def cache_dir() -> str:
    """$ZONEFRONT_CACHE_DIR, else $XDG_CACHE_HOME/zonefront, else ~/.cache/zonefront."""
    explicit = os.environ.get("ZONEFRONT_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "zonefront")


def _cache_path(mmdb: str, directory: str) -> str:
    st = os.stat(mmdb)
    key = f"{os.path.realpath(mmdb)}\0{st.st_size}\0{st.st_mtime_ns}".encode()
    return os.path.join(directory, f"geo-{hashlib.sha256(key).hexdigest()[:24]}.bin")


def _read_cache(path: str) -> GeoDB | None:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if len(data) < _HEAD.size:
        return None
    magic, n4, n6, nl, nd = _HEAD.unpack_from(data)
    if magic != _MAGIC or _HEAD.size + n4 + n6 + nl + nd != len(data):
        return None
    o = _HEAD.size
    geo4, o = data[o:o + n4], o + n4
    geo6, o = data[o:o + n6], o + n6
    geolocs, o = data[o:o + nl], o + nl
    return GeoDB(geo4, geo6, geolocs, data[o:o + nd].decode("utf-8", "replace"))


def _write_cache(path: str, db: GeoDB) -> None:
    """Written beside and renamed, so a concurrent start reads all or nothing."""
    desc = db.description.encode()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".geo-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(_HEAD.pack(_MAGIC, len(db.geo4), len(db.geo6), len(db.geolocs), len(desc)))
            f.write(db.geo4)
            f.write(db.geo6)
            f.write(db.geolocs)
            f.write(desc)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def load_cached(mmdb: str, directory: str | None = None) -> GeoDB:
    """`mmdb` flattened (geo.GeoDB.from_mmdb), through the cache."""
    directory = directory or cache_dir()
    path = _cache_path(mmdb, directory)
    db = _read_cache(path)
    if db is not None:
        return db
    db = GeoDB.from_mmdb(mmdb)
    try:
        _write_cache(path, db)
    except OSError as e:  # a read-only home: flatten again next time
        log.warning("cannot cache the flattened GeoIP data in %s: %s", directory, e)
    return db


def default_geo(directory: str | None = None) -> tuple[GeoDB | None, str]:
    """(the packaged database flattened, a line saying what it is), or
    (None, why not) when the package is missing."""
    mmdb = packaged_mmdb()
    if mmdb is None:
        return None, (f"geoip: no --geoip and the {PACKAGE} package is not installed: "
                      "location-based records answer their default")
    db = load_cached(mmdb, directory)
    return db, (f"geoip: GeoLite2-City of {built_date(mmdb)} from the {PACKAGE} package "
                "(old data; --geoip FILE.mmdb for a current database)")


def built_date(mmdb: str) -> str:
    """The database's build date, YYYY-MM-DD (its metadata's build_epoch)."""
    import datetime

    import maxminddb

    with maxminddb.open_database(mmdb) as reader:
        epoch = reader.metadata().build_epoch
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%d")


def geo_from_arg(arg: str | None) -> tuple[GeoDB | None, str | None]:
    """What `--geoip` asks for: a file (flattened, through the cache), 'none'
    (no GeoIP data), or absent (the packaged database).  Returns (db,
    a line for the log or None); raises on an unreadable file."""
    if arg is None:
        return default_geo()
    if arg.lower() == "none":
        return None, None
    return load_cached(arg), None


class LazyGeo:
    """The packaged database, flattened on the first image that routes by
    location (Image.attach asks `uses_location()` before `arrays()`): a
    control plane whose hosted zones hold no latency, geolocation or
    geoproximity records never holds its 65 MB.  The line saying what was
    loaded goes to `say` then.  A missing package leaves the routing to
    its defaults, as at a start without the package."""

    lazy = True

    def __init__(self, say, directory: str | None = None):
        self._say, self._directory = say, directory
        self._arrays: dict[str, bytes] | None = None
        self._lock = threading.Lock()
        self.loaded = False

    def arrays(self) -> dict[str, bytes] | None:
        with self._lock:  # the API's change threads attach images too
            if not self.loaded:
                db, note = default_geo(self._directory)
                self._arrays = None if db is None else db.arrays()
                self.loaded = True
                self._say(note)
        return self._arrays
