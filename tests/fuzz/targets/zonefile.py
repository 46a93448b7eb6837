"""atheris: RFC 1035 master files through zonefile.py, with a round trip.

A file is refused with ZoneFileError, or read; a zone that is read is
written back (zone_to_text) and read again, and must come back with the
same records: what we export, we can import.
"""
import _harness


def setup():
    global zonefile
    from zonefront import zonefile


def _records(zone):
    return sorted((k, r.ttl, tuple(sorted(r.rdatas))) for k, r in zone.rrsets.items())


def one_input(data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    origin = "example.com." if data[:1] == b"@" else None
    try:
        zone = zonefile.parse_zone_text(text, origin)
    except zonefile.ZoneFileError:
        return
    again = zonefile.parse_zone_text(zonefile.zone_to_text(zone), zone.origin)
    if _records(again) != _records(zone):
        raise AssertionError("zone_to_text then parse_zone_text changed the records")


if __name__ == "__main__":
    _harness.main(globals())
