"""Python side of the libFuzzer engine harness (fuzz_engine.c).

The harness embeds the interpreter, loads the sanitizer-built engine module
in place of the ordinary one, builds the fuzz world's image (world.py) and
then calls engine_answer() itself, in C, per input.  The snapshot target
sends each input here instead: a hostile image must be refused by
validation (ValueError) or, once accepted, be answered without a fault.
"""
from __future__ import annotations

import importlib.util
import os
import sys

_images = []  # images the C side holds pointers into stay alive here


def _load_instrumented(path: str, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def setup(build_dir: str):
    """Loads the instrumented modules; returns (answer capsule, prefetch
    capsule, world image address, udp_max, [sockaddr or None per client])."""
    import sysconfig

    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    engine = _load_instrumented(os.path.join(build_dir, "_engine" + suffix), "zonefront.core._engine")
    global _addr
    _addr = _load_instrumented(os.path.join(build_dir, "_imageaddr" + suffix), "_imageaddr")
    import world

    image = world.build(engine.Image)
    _images.append(image)
    capi = engine.__pyx_capi__
    return (capi["engine_answer"], capi["engine_prefetch"], _addr.image_address(image), 1232,
            [world.sockaddr(c) for c in world.CLIENTS])


_QUERIES: list[bytes] = []


def snapshot_one(data: bytes) -> list:
    """Loads one snapshot as a node's restart does (format.loads, then the
    engine's validation).  Returns [] when it is refused, else the image's
    address and the queries to ask it (the image stays alive until the
    next call)."""
    from zonefront.core._engine import Image

    from zonefront.snapshot import format as snapshot_format

    del _images[1:]
    if not _QUERIES:
        import world

        _QUERIES.extend(world.seed_queries()[::4])
    try:
        arrays, meta = snapshot_format.loads(data)
        image = Image(arrays, meta["zones"])
    except (ValueError, MemoryError):  # SnapshotError is a ValueError
        return []
    _images.append(image)
    return [_addr.image_address(image)] + _QUERIES
