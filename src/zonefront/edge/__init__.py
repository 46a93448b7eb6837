"""Many edges, one control plane: `zonefront edge` runs only the data plane
and pulls compiled zones, deltas and the health table from the control
plane's API (node.py, compiling and swapping through serving.ServedZones
against mirror.py's copy of the health table; client.py signs its calls;
disk.py keeps the last good copy); the control plane's side is hub.py
(what was published, deltas, which serial each edge serves: INSYNC itself
is decided by control/insync.py) and http.py (the endpoints); documents.py
describes the documents; cli_glue.py is `zonefront edge`.  The package
sits with the assembly, below control/: an edge is a whole process (data
plane, serving, its client), and its hub is what the control plane mounts."""
