"""The edge tests import their helpers (cluster.py, proxy.py) by name."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
