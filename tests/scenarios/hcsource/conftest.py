"""The zfserve harness (tests/helpers/zfserve.py) for the health check source test."""
from __future__ import annotations

import os
import sys

HERE = os.path.dirname(__file__)
sys.path.insert(0, HERE)
