"""Helpers for the private hosted zone tests: a ControlPlane with VPCs in
its configuration and two accounts (two access keys)."""
from __future__ import annotations

import os
import sys

from helpers.route53 import AKID, RO_AKID, RO_SECRET, SECRET, Running  # noqa: E402

from zonefront.control import ControlPlane  # noqa: E402
from zonefront.config import Config, RegistryConfig  # noqa: E402
from zonefront.vpcdef import VPCDef  # noqa: E402

OTHER_AKID = "AKIDOTHERACCOUNT"
OTHER_SECRET = "other-account-secret"
OWNER = "000000000000"  # api.account_id: AKID's account
OTHER = "222233334444"  # OTHER_AKID's account


def config_vpcs() -> dict[str, VPCDef]:
    return {
        "vpc-a": VPCDef("vpc-a", "us-east-1", ["10.0.0.0/16", "fd00:a::/48"], OWNER, "config"),
        "vpc-b": VPCDef("vpc-b", "eu-west-1", ["10.1.0.0/16"], OWNER, "config"),
        "vpc-x": VPCDef("vpc-x", "us-west-2", ["10.9.0.0/16"], OTHER, "config"),
    }


def start(data_dir, vpcs=None, **cfg) -> Running:
    published: list = []
    holder: dict = {}

    def publish(zones):
        gate = holder.get("gate")
        if gate is not None:
            gate.wait(10)
        published.append(zones)
        holder["vpcs"].append(holder["cp"].vpcs())  # what the data plane would read

    config = Config(api_listen=("127.0.0.1", 0), data_dir=str(data_dir),
                    credentials={AKID: SECRET, RO_AKID: RO_SECRET, OTHER_AKID: OTHER_SECRET},
                    readonly_keys=[RO_AKID],
                    registry=RegistryConfig(accounts={OTHER_AKID: OTHER}),
                    vpcs=config_vpcs() if vpcs is None else vpcs, **cfg)
    config.health.enabled = False
    cp = ControlPlane(config, publish)
    holder["cp"] = cp
    holder["vpcs"] = []
    cp.start()
    run = Running(cp, published)
    run.published_vpcs = holder["vpcs"]
    holder["gate"] = run.gate
    return run
