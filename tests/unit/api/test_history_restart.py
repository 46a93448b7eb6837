"""Change history survives a restart of the control plane, and entries
older than [zones] change_history_days are not returned."""
from __future__ import annotations

import time

from helpers.route53 import change, new_zone, rrset, start_control_plane

from zonefront.store import historystore


def test_history_survives_restart_and_expires(tmp_path):
    run = start_control_plane(tmp_path, change_history_days=1)
    try:
        r53 = run.client()
        zid = new_zone(r53, "restart.example")
        r53.update_hosted_zone_tier(HostedZoneId=zid, HostedZoneTier="ADVANCED")
        r = change(r53, zid, ("CREATE", rrset("a.restart.example", "A", ["192.0.2.1"])))
        cid = r["ChangeInfo"]["Id"].split("/")[-1]
    finally:
        run.cp.stop()
    run = start_control_plane(tmp_path, change_history_days=1)
    try:
        r53 = run.client()
        got = r53.get_hosted_zone_change_batch(HostedZoneId=zid, ChangeId=cid)
        assert got["ChangeBatchSummary"]["ChangeId"] == cid
        # an entry two days old is past the one-day retention
        store = run.cp.service.store
        with store.transaction():
            store.db.execute("UPDATE change_history SET submitted=? WHERE change_id=?",
                             (time.time() - 2 * 86400, cid))
        assert historystore.get(store, zid.split("/")[-1], cid) is not None
        assert r53.list_hosted_zone_change_batches(
            HostedZoneId=zid)["ChangeBatchSummaries"] == []
    finally:
        run.cp.stop()
