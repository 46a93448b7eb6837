"""`zonefront zone import|export` entry points (the work is in store/zoneio.py)."""
from __future__ import annotations

from ..store.zoneio import ZoneIOError, export_zone, find_zone, import_zone

__all__ = ["ZoneIOError", "export_zone", "find_zone", "import_zone"]
