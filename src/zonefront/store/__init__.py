"""The store (a mechanism): sqlite.py is the embedded store (hosted zones,
record sets, changes, tags) and postgres.py the same Store on PostgreSQL,
through dialect.py's translation; backend.py picks one from the
configuration.  Each feature keeps its tables in a module of its own,
created on first use: cidrstore.py, dnssecstore.py, hcsourcestore.py,
historystore.py, protstore.py, querylogstore.py, trafficstore.py,
vpcstore.py, zonefeatures.py; serials.py raises SOA serials, and zones.py
turns stored hosted zones into model.Zone values for serving.  It knows no
HTTP and no API: callers above it (api/, domains/, health/) decide."""
