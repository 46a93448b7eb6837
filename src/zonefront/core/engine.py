"""The embeddable engine: compiled zones that answer bytes -> bytes.

Other servers (and our tests) use this without any socket:

    engine = Engine.from_zone_files(["example.zone"])
    response = engine.answer(query_bytes, client="192.0.2.1")

`ZONEFRONT_PUREPYTHON=1` answers with the reference twin (ref/engine.py)
over the same compiled image instead of the compiled core.
"""
from __future__ import annotations

import os
from ..netaddr import DEFAULT_UDP_MAX  # = csrc/zfwire.h ZF_UDP_PAYLOAD (tests/unit/core/test_wire_constants.py)
from ..snapshot import format as snapshot_format

TYPE_CHECKING = False  # typing itself is not imported on the way to a first answer
if TYPE_CHECKING:  # serving a snapshot needs neither the model nor the compiler
    from ..model import Zone


def image_class():
    """The answering implementation: the compiled core, or its twin."""
    return _image_class()


def _image_class():
    if os.environ.get("ZONEFRONT_PUREPYTHON") == "1":
        from ..ref.engine import RefImage

        return RefImage
    from ._engine import Image

    return Image


class Engine:
    """One immutable compiled zone set.  `udp_max` is the largest UDP
    response sent and the EDNS size advertised (1232 by default, DNS Flag
    Day 2020: no IP fragmentation on common paths).  Reloading means building a new
    Engine and swapping it in (dataplane.server.DnsServer.reload)."""

    def __init__(self, arrays: dict, zones: list[dict] | None = None, serial: int = 0,
                 udp_max: int = DEFAULT_UDP_MAX, release_source: "bool | tuple" = False,
                 growable: bool = False, trusted: bool = False, keep: tuple = ()):
        self.image = _image_class()(arrays, zones or [], udp_max, release_source=release_source,
                                    growable=growable, trusted=trusted, keep=keep)
        self.serial = serial
        self.zones = zones or []

    @classmethod
    def from_image(cls, image, zones: list[dict], serial: int = 0) -> "Engine":
        """Wrap an image built elsewhere (snapshot/incremental.py patches them)."""
        engine = cls.__new__(cls)
        engine.image, engine.serial, engine.zones = image, serial, zones
        return engine

    @classmethod
    def from_zones(cls, zones: "list[Zone]", serial: int = 0, udp_max: int = DEFAULT_UDP_MAX, health=None,
                   cidr_collections: dict | None = None, geo=None) -> "Engine":
        from ..snapshot.compiler import compile_zones

        image = compile_zones(zones, health, cidr_collections)
        engine = cls(image.arrays(), image.zones, serial, udp_max)
        return engine.attach(geo=geo, health=health)

    @classmethod
    def from_zone_files(cls, paths: list[str], udp_max: int = DEFAULT_UDP_MAX) -> "Engine":
        from ..zonefile import parse_zone_file

        return cls.from_zones([parse_zone_file(p) for p in paths], udp_max=udp_max)

    @classmethod
    def from_compiled(cls, image, serial: int = 0, udp_max: int = DEFAULT_UDP_MAX) -> "Engine":
        """What fastcompile.compile_zone_files just made in this process,
        trusted: the streams in its memory are answered from where they
        lie, a spilled stream's file pages dropped as it is copied."""
        return cls(image.arrays(), image.zones, serial, udp_max, release_source=image.mapped,
                   trusted=True, keep=image.in_place)

    @classmethod
    def from_snapshot(cls, path: "str | int", udp_max: int = DEFAULT_UDP_MAX,
                      trusted: bool = False, handoff: bool = False) -> "Engine":
        """`trusted`: only for a file this process's own forked compiler
        just wrote (serving.compile_in_child); it skips the image checks.
        `handoff`: that file is a handoff file (snapshot/format.py).
        `path` may be an open descriptor (that child's memfd)."""
        arrays, meta = snapshot_format.read(path, handoff)  # views of the mapped file
        return cls(arrays, meta["zones"], meta["serial"], udp_max, release_source=True,
                   trusted=trusted)

    def answer(self, query: bytes, client: str | None = None, tcp: bool = False,
               seed: int = 0, deferrable: bool = False) -> bytes | None:
        """The response to one query, or b"" when it gets no reply.
        `client` is the source address routing policies decide on (an EDNS
        Client Subnet option in the query takes precedence); `seed` varies
        the weighted and multivalue choices.  `deferrable`: None instead of
        a public-fallback zone's NXDOMAIN that the recursive fallback
        answers (fallback.py, zfdefer.h), as the socket loops see it."""
        if deferrable:
            return self.image.answer(query, tcp, client, seed, deferrable=True)
        return self.image.answer(query, tcp, client, seed)

    def attach(self, geo=None, health=None) -> "Engine":
        """GeoIP data (geo.GeoDB) and the health table for routing."""
        self.image.attach(geo=geo, health=health)
        return self

    def memory(self) -> int:
        return self.image.memory()
