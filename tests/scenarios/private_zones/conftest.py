"""A real ControlPlane with VPCs in its configuration and two accounts (two
access keys), driven over HTTP by boto3 and signed raw requests."""
from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from helpers.private_zones import OTHER_AKID, OTHER_SECRET, start  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    run = start(tmp_path_factory.mktemp("data"), max_vpcs_per_zone=3,
                max_vpc_authorizations_per_zone=2)
    yield run
    run.cp.stop()


@pytest.fixture(scope="module")
def r53(server):
    return server.client()


@pytest.fixture(scope="module")
def other(server):
    """boto3 acting for the other account (it owns vpc-x)."""
    return server.client(OTHER_AKID, OTHER_SECRET)
