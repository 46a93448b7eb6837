"""Everything tests share, imported as `from helpers.X import ...` (tests/
is on sys.path through tests/conftest.py): procs.py (child processes of
zonefront: environment, readiness, INSYNC), route53.py (a control plane and
boto3 helpers) and awscli.py (the aws CLI against it), zfserve.py (a
`zonefront serve --api` process) with places.py (GeoIP test addresses) and
split_horizon.py (private-zone fixtures), dnswire.py and dnsquery.py
(queries on the wire and with dnspython), unbound.py (a validating
resolver), edge_cluster.py and proxy.py (edges and a cuttable link to the
control plane), health_targets.py (HTTP/TCP endpoints to probe),
metrics.py (Prometheus text), pgcluster.py (a throwaway PostgreSQL),
private_zones.py (two accounts' private zones), xfr.py, xfr_zones.py and
secondaries.py (a primary and BIND/NSD/Knot secondaries)."""
