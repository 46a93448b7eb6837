"""The control plane, assembled: plane.py wires the store, the Route 53 API
server (api/), the registry (domains/), the health checkers (health/) and
the edges' hub (edge/hub.py) around one publisher thread that hands zones to
serving.ServedZones; insync.py is the one place a change turns INSYNC, and
mounts.py is the one HTTP mount table of the API port (console, Route 53
Domains, the edges' endpoints, then Route 53).  Nothing below this package
imports it."""
from .plane import ControlPlane

__all__ = ["ControlPlane"]
