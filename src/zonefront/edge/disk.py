"""An edge's last good state on local disk, so that it restarts and answers
without the control plane:

  snapshot.zfs   the public image, as snapshot/format.py writes it
  zones.zfz      the source zones (edge/documents.py), to apply deltas to
  views.zfv      the private views served with it (documents.py's views
                 document), when a zone is private
  health.bin     the control plane's health buffer
  state.json     {"epoch", "serial", "views", "health"}: written last, names
                 the files above; a snapshot whose serial it does not name is
                 served but never extended by a delta, and views whose
                 serial it does not name are not served

Every file is written to a temporary name, fsynced and renamed over the old
one, so a crash leaves the previous file whole.
"""
from __future__ import annotations

import json
import os

SNAPSHOT = "snapshot.zfs"
ZONES = "zones.zfz"
VIEWS = "views.zfv"
HEALTH = "health.bin"
STATE = "state.json"


def write_atomic(path: str, data: bytes) -> None:
    tmp = f"{path}.tmp.{os.getpid()}"
    # 0600: a signed zone's snapshot holds its ZSK (dnssec/online.py)
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class EdgeDisk:
    def __init__(self, data_dir: str):
        self.dir = data_dir
        os.makedirs(data_dir, exist_ok=True)

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def read(self, name: str) -> bytes | None:
        try:
            with open(self.path(name), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def state(self) -> dict:
        raw = self.read(STATE)
        try:
            doc = json.loads(raw) if raw else {}
        except ValueError:
            return {}
        return doc if isinstance(doc, dict) else {}

    def save(self, epoch: str, serial: int, snapshot: bytes | None, zones: bytes | None,
             views: bytes | None = None, views_serial: int = 0) -> None:
        """Zones, then the snapshot and the views (None: those on disk are
        still the ones of `views_serial`), then the state naming them."""
        if zones is not None:
            write_atomic(self.path(ZONES), zones)
        if snapshot is not None:
            write_atomic(self.path(SNAPSHOT), snapshot)
        if views is not None:
            write_atomic(self.path(VIEWS), views)
        st = self.state()
        st.update(epoch=epoch, serial=serial, views=views_serial)
        write_atomic(self.path(STATE), json.dumps(st).encode())
        self._fsync_dir()

    def save_health(self, etag: str, buffer: bytes) -> None:
        write_atomic(self.path(HEALTH), bytes(buffer))
        st = self.state()
        st["health"] = etag
        write_atomic(self.path(STATE), json.dumps(st).encode())

    def _fsync_dir(self) -> None:
        try:
            fd = os.open(self.dir, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
