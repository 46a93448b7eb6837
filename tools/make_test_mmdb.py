"""Write a small GeoLite2-City-format .mmdb for tests (IPv4 and IPv6, nested
networks, several continents, countries and US states, with coordinates).

    python tools/make_test_mmdb.py out.mmdb

Needs the `mmdb-writer` and `netaddr` packages (test extras).  IPv4 networks
live at ::/96 as in MaxMind's own IPv6 databases; NETWORKS below is the
ground truth tests may read (`import make_test_mmdb`).
"""
from __future__ import annotations

import sys

# (network, continent, country, subdivision or None, latitude, longitude);
# a later, longer network inside an earlier one overrides it there
NETWORKS = [
    ("1.0.0.0/8", "OC", "AU", None, -33.87, 151.21),
    ("1.0.16.0/20", "AS", "JP", None, 35.68, 139.69),
    ("8.0.0.0/8", "NA", "US", None, 37.75, -97.82),
    ("8.8.8.0/24", "NA", "US", "CA", 37.39, -122.08),
    ("8.8.8.128/25", "NA", "US", "WA", 47.61, -122.33),
    ("23.0.0.0/12", "NA", "US", "NY", 40.71, -74.01),
    ("41.0.0.0/11", "AF", "ZA", "WC", -33.92, 18.42),
    ("81.0.0.0/8", "EU", "GB", "ENG", 51.51, -0.13),
    ("81.2.69.0/24", "EU", "GB", "SCT", 55.95, -3.19),
    ("185.0.0.0/16", "EU", None, None, None, None),  # continent only, no location
    ("193.99.144.0/24", "EU", "DE", "HE", 50.11, 8.68),
    ("200.0.0.0/10", "SA", "BR", "SP", -23.55, -46.63),
    ("203.0.0.0/16", "OC", "NZ", None, -36.85, 174.76),
    ("2001:db8::/32", "EU", "FR", "IDF", 48.86, 2.35),
    ("2001:db8:1::/48", "EU", "DE", "BE", 52.52, 13.40),
    ("2001:db8:1:2::/64", "EU", "DE", "BY", 48.14, 11.58),
    ("2600::/12", "NA", "US", None, 37.75, -97.82),
    ("2600:1f00::/24", "NA", "US", "VA", 38.95, -77.45),
    ("2a00::/12", "EU", "NL", None, 52.37, 4.90),
    ("2c0f::/16", "AF", "KE", None, -1.29, 36.82),
]

_CONTINENT_NAMES = {"AF": "Africa", "AN": "Antarctica", "AS": "Asia", "EU": "Europe",
                    "NA": "North America", "OC": "Oceania", "SA": "South America"}


def record(continent, country, subdivision, lat, lon) -> dict:
    """A GeoLite2-City-shaped record (only the fields zonefront reads, plus
    names, so that records are as nested as MaxMind's)."""
    from mmdb_writer import MmdbF64

    r: dict = {"continent": {"code": continent, "geoname_id": 6255148,
                             "names": {"en": _CONTINENT_NAMES[continent]}}}
    if country:
        r["country"] = {"iso_code": country, "geoname_id": 1,
                        "names": {"en": country, "de": country}}
        r["registered_country"] = r["country"]
    if subdivision:
        r["subdivisions"] = [{"iso_code": subdivision, "geoname_id": 2,
                              "names": {"en": subdivision}}]
    if lat is not None:
        r["location"] = {"latitude": MmdbF64(lat), "longitude": MmdbF64(lon),
                         "accuracy_radius": 100}
    return r


def write(path: str, networks=NETWORKS) -> None:
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    w = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-City",
                   languages=["en", "de"], description="zonefront test database")
    # supernets first: mmdb-writer lets a later, longer network override
    for net, *rest in sorted(networks, key=lambda n: int(n[0].split("/")[1])):
        w.insert_network(IPSet([net]), record(*rest))
    w.to_db_file(path)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    write(sys.argv[1])


# -- a GeoLite2-City-sized database, for load-time and memory measurements ----
#
# mmdb-writer builds its tree from Python objects, which is far too slow for
# millions of networks.  A big synthetic database has a regular shape, so it
# is written directly: MaxMind DB format 2.0, 32-bit records, IPv4 at ::/96
# (a complete tree of /`v4_bits` networks) and IPv6 under 2000::/3 (a complete
# tree of /(3 + v6_bits) networks); network i uses data record i % `records`.

def _ctrl(type_id: int, size: int) -> bytes:
    if size < 29:
        head, extra = size, b""
    elif size < 285:
        head, extra = 29, bytes([size - 29])
    elif size < 65821:
        head, extra = 30, (size - 285).to_bytes(2, "big")
    else:
        head, extra = 31, (size - 65821).to_bytes(3, "big")
    if type_id <= 7:
        return bytes([(type_id << 5) | head]) + extra
    return bytes([head, type_id - 7]) + extra


def _enc(v) -> bytes:
    import struct as _s

    if isinstance(v, bool):
        return _ctrl(14, int(v))
    if isinstance(v, tuple):  # (type id, unsigned int): metadata wants exact types
        b = v[1].to_bytes((v[1].bit_length() + 7) // 8, "big") if v[1] else b""
        return _ctrl(v[0], len(b)) + b
    if isinstance(v, str):
        b = v.encode("utf-8")
        return _ctrl(2, len(b)) + b
    if isinstance(v, float):
        return _ctrl(3, 8) + _s.pack(">d", v)
    if isinstance(v, int):
        b = v.to_bytes((v.bit_length() + 7) // 8, "big") if v else b""
        return _ctrl(6 if v < 1 << 32 else 9, len(b)) + b
    if isinstance(v, dict):
        return _ctrl(7, len(v)) + b"".join(_enc(k) + _enc(x) for k, x in v.items())
    if isinstance(v, list):
        return _ctrl(11, len(v)) + b"".join(_enc(x) for x in v)
    raise TypeError(type(v))


def _big_record(i: int) -> dict:
    conts = list(_CONTINENT_NAMES)
    langs = ["de", "en", "es", "fr", "ja", "pt-BR", "ru", "zh-CN"]
    country = chr(65 + i % 26) + chr(65 + (i // 26) % 26)
    return {
        "city": {"geoname_id": 100000 + i, "names": {lg: f"City {i} {lg}" for lg in langs}},
        "continent": {"code": conts[i % 7], "geoname_id": 6255146 + i % 7,
                      "names": {lg: _CONTINENT_NAMES[conts[i % 7]] for lg in langs}},
        "country": {"geoname_id": 1000 + i % 676, "iso_code": country,
                    "names": {lg: f"Country {country}" for lg in langs}},
        "location": {"accuracy_radius": 50, "latitude": round((i % 1800) / 10 - 90, 4),
                     "longitude": round((i % 3600) / 10 - 180, 4),
                     "time_zone": "Europe/Berlin"},
        "postal": {"code": f"{i % 100000:05d}"},
        "registered_country": {"geoname_id": 1000 + i % 676, "iso_code": country,
                               "names": {lg: f"Country {country}" for lg in langs}},
        "subdivisions": [{"geoname_id": 200000 + i % 5000, "iso_code": f"S{i % 50}",
                          "names": {lg: f"Sub {i % 5000}" for lg in langs}}],
    }


def write_big(path: str, v4_bits: int = 21, v6_bits: int = 20, records: int = 50000) -> int:
    """Returns the number of networks written."""
    import struct as _s

    data = bytearray()
    offsets = []
    for i in range(records):
        offsets.append(len(data))
        data += _enc(_big_record(i))
    n4, n6 = 1 << v4_bits, 1 << v6_bits
    # nodes: 0..95 the ::/96 chain; then the IPv4 complete tree (n4 - 1
    # internal nodes); then the IPv6 complete tree (n6 - 1)
    v4_root = 96
    v6_root = v4_root + n4 - 1
    node_count = v6_root + n6 - 1
    empty = node_count
    tree = bytearray(node_count * 8)
    pack = _s.Struct(">II").pack_into

    def leaf(i: int) -> int:
        return node_count + 16 + offsets[i % records]

    for i in range(96):
        left = i + 1 if i < 95 else v4_root
        right = v6_root if i == 2 else empty  # bits 0,0,1: 2000::/3
        pack(tree, i * 8, left, right)

    def complete(root: int, leaves: int, first_leaf: int) -> None:
        # heap layout: internal node j (0-based) has children 2j+1, 2j+2;
        # indexes >= leaves - 1 are leaves
        internal = leaves - 1
        for j in range(internal):
            kids = []
            for c in (2 * j + 1, 2 * j + 2):
                kids.append(root + c if c < internal else leaf(first_leaf + c - internal))
            pack(tree, (root + j) * 8, *kids)

    complete(v4_root, n4, 0)
    complete(v6_root, n6, n4)
    u16, u32, u64 = 5, 6, 9
    meta = {"binary_format_major_version": (u16, 2), "binary_format_minor_version": (u16, 0),
            "build_epoch": (u64, 1700000000), "database_type": "GeoLite2-City",
            "description": {"en": "zonefront synthetic GeoLite2-City-sized database"},
            "ip_version": (u16, 6), "languages": ["en"], "node_count": (u32, node_count),
            "record_size": (u16, 32)}
    with open(path, "wb") as f:
        f.write(tree)
        f.write(b"\x00" * 16)
        f.write(data)
        f.write(b"\xab\xcd\xefMaxMind.com")
        f.write(_enc(meta))
    return n4 + n6
