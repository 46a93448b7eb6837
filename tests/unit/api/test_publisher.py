"""The control plane's one publishing interface, in process: each publish
hands `served.publish(zones, changed)` the owner names the committed
changes touched, and a change turns INSYNC in one place (control/insync.py)
once the local publish returned and every live edge serves it."""
from __future__ import annotations

import threading

from helpers.route53 import AKID, SECRET, change, new_zone, rrset, wait_insync

import boto3
import botocore.config

from zonefront import model
from zonefront.config import Config
from zonefront.control import ControlPlane


class Recorder:
    """A Publisher that remembers what it was handed."""

    def __init__(self):
        self.calls: list[tuple[list, dict | None]] = []
        self.lock = threading.Lock()

    def publish(self, zones, changed):
        with self.lock:
            self.calls.append((list(zones), changed))


def start(tmp_path) -> tuple[ControlPlane, Recorder, object]:
    rec = Recorder()
    cp = ControlPlane(Config(api_listen=("127.0.0.1", 0), data_dir=str(tmp_path),
                             credentials={AKID: SECRET}), rec)
    cp.start()
    client = boto3.client("route53", endpoint_url="http://%s:%d" % cp.api_address,
                          region_name="us-east-1", aws_access_key_id=AKID,
                          aws_secret_access_key=SECRET,
                          config=botocore.config.Config(retries={"max_attempts": 1}))
    return cp, rec, client


def wire(text: str) -> bytes:
    return model.name_from_text(text)


def test_each_publish_names_the_owners_it_touched(tmp_path):
    cp, rec, client = start(tmp_path)
    try:
        zid = new_zone(client, "pub.test")
        assert cp.wait_published()
        assert rec.calls[0][1] is None  # the first publish: everything is new
        assert {wire("pub.test."): None} in [c for _z, c in rec.calls[1:]]  # new: whole
        assert wait_insync(client, change(client, zid, ("CREATE", rrset(
            "a.pub.test", "A", ["192.0.2.1"])))["ChangeInfo"]["Id"])
        n = len(rec.calls)
        cid = change(client, zid, ("UPSERT", rrset("www.pub.test", "A", ["192.0.2.2"])),
                     ("CREATE", rrset("mx.pub.test", "MX", ["10 mail.pub.test"])))
        assert wait_insync(client, cid["ChangeInfo"]["Id"])
        touched: set = set()
        for _zones, changed in rec.calls[n:]:
            assert changed is not None and set(changed) <= {wire("pub.test.")}
            touched |= changed.get(wire("pub.test."), set())
        assert touched == {wire("pub.test."), wire("www.pub.test."), wire("mx.pub.test.")}
    finally:
        cp.stop()


def test_insync_waits_for_a_live_edge_then_not_for_a_stale_one(tmp_path):
    cp, rec, client = start(tmp_path)
    try:
        zid = new_zone(client, "edge.test")
        assert cp.wait_published()
        hub = cp.edges
        hub.settings.stale_after = 1.0
        hub.heartbeat("e1", {"epoch": hub.epoch, "serial": hub.serial})
        cid = change(client, zid, ("CREATE", rrset("a.edge.test", "A", ["192.0.2.1"])))
        cid = cid["ChangeInfo"]["Id"]
        assert cp.wait_published()  # served locally ...
        assert client.get_change(Id=cid)["ChangeInfo"]["Status"] == "PENDING"  # ... not there
        hub.heartbeat("e1", {"epoch": hub.epoch, "serial": hub.serial})
        assert wait_insync(client, cid, timeout=2.0)

        cid = change(client, zid, ("CREATE", rrset("b.edge.test", "A", ["192.0.2.2"])))
        cid = cid["ChangeInfo"]["Id"]
        assert cp.wait_published()
        assert client.get_change(Id=cid)["ChangeInfo"]["Status"] == "PENDING"
        assert wait_insync(client, cid, timeout=5.0)  # e1 goes stale: no longer waited for
    finally:
        cp.stop()
