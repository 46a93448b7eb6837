"""Many edges, one control plane: `zonefront edge` runs only the data plane
and pulls compiled zones, deltas and the health table from the control
plane's API (node.py); the control plane's side is hub.py (state, deltas,
INSYNC) and http.py (the endpoints); format.py describes the documents."""
