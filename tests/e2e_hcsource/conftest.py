"""The zfserve harness (tests/e2e_routing) for the health check source test."""
from __future__ import annotations

import os
import sys

HERE = os.path.dirname(__file__)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e_routing"))
