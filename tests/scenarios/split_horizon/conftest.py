"""One `zonefront serve --api` per test module with two VPCs in its TOML
configuration (vpc-a is 127.0.0.2, vpc-b is 127.0.0.3; 127.0.0.1 and the
rest of 127.0.0.0/8 are outside every VPC), and the zones of split.py."""
from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(__file__)
sys.path.insert(0, HERE)
from helpers import split_horizon as split
from helpers import zfserve

VPCS_TOML = """
[vpcs.vpc-a]
region = "us-east-1"
cidrs = ["127.0.0.2/32"]

[vpcs.vpc-b]
region = "eu-west-1"
cidrs = ["127.0.0.3/32"]
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    # transfers allowed to all of loopback: AXFR/IXFR must not be a way round the views
    s = zfserve.start(tmp_path_factory.mktemp("private"), VPCS_TOML,
                      extra_args=("--allow-transfer", "127.0.0.0/8"))
    try:
        yield s
    finally:
        zfserve.stop(s)


@pytest.fixture(scope="module")
def world(served):
    return split.build(served)
