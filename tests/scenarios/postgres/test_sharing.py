"""Other processes on the same PostgreSQL database: `zonefront zone import`
while an API process serves, and a checker location (`zonefront checker`)
whose observations reach the control plane through the store."""
from __future__ import annotations

import socket
import threading
import time

from zonefront.config import Config, HealthSettings
from zonefront.health.remote import RemoteChecker
from zonefront.health.spec import normalize
from zonefront.api import zoneio
from zonefront.store.postgres import PostgresStore
from test_multi_process import Serve, wait_for


def test_zone_import_is_served_by_a_running_process(tmp_path, fresh_dsn):
    s = Serve(str(tmp_path), fresh_dsn, "imp").start()
    try:
        zf = tmp_path / "imp.zone"
        zf.write_text("$ORIGIN imp.test.\n$TTL 60\n@ SOA ns1 host 7 3600 600 86400 60\n"
                      "@ NS ns1.example.net.\nwww A 192.0.2.44\n")
        cfg = Config(data_dir=str(tmp_path / "x"), store_backend="postgresql",
                     store_dsn=fresh_dsn)
        out = zoneio.import_zone(cfg.data_dir, "imp.test", str(zf), cfg)
        assert out["rrsets"] == 3
        assert wait_for(lambda: bool(s.ask("www.imp.test").answer), timeout=10)
        assert s.ask("www.imp.test").answer[0][0].address == "192.0.2.44"
        assert "192.0.2.44" in zoneio.export_zone(cfg.data_dir, "imp.test", cfg)
    finally:
        s.stop()


def test_checker_location_reports_through_the_store(fresh_dsn):
    target = socket.socket()
    target.bind(("127.0.0.1", 0))
    target.listen(64)
    port = target.getsockname()[1]
    control = PostgresStore(fresh_dsn)
    try:
        with control.transaction():
            control.insert_health_check("hc-1", "ref-1", normalize(
                {"Type": "TCP", "IPAddress": "127.0.0.1", "Port": port,
                 "RequestInterval": 1, "FailureThreshold": 1}, min_interval=1))
        checker = RemoteChecker(HealthSettings(remote_locations=["remote-a"], min_interval=1),
                                "/nonexistent", "remote-a", store=PostgresStore(fresh_dsn))
        t = threading.Thread(target=checker.run, daemon=True)
        t.start()
        try:
            assert wait_for(lambda: any(r[1] == "hc-1" and r[2] == "remote-a" and r[4] == 1
                                        for r in control.observations_since(0)), timeout=10)
        finally:
            checker.stop_event.set()
            t.join(10)
    finally:
        control.close()
        target.close()
