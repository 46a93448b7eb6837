"""The control plane, assembled: plane.py wires the store, the Route 53 API
server (api/), the registry (domains/), the health checkers (health/) and
the edges' hub (edge/hub.py) around one publisher thread that hands zones to
serving.ServedZones; insync.py is the one place a change turns INSYNC.
Nothing below this package imports it."""
from .plane import ControlPlane

__all__ = ["ControlPlane"]
