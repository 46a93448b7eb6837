"""Route 53's REST API over the store (a service; the AWS vocabulary it
speaks is in aws/).  server.py is the HTTP(S) front (routing by botocore's
URI templates, SigV4, IAM, then the mounts control/mounts.py hands it);
xmlio.py turns REST-XML bodies into dicts and back; service.py holds the
operations on hosted zones, record sets and health checks, and the other
operation families are mixed into it: changes.py (change batches),
cidrapi.py, dnssecapi.py, geolocations.py, hcsources.py, history.py,
protections.py, querylog.py, testanswer.py, tiers.py, traffic.py (with
trafficdoc.py, the policy document checks) and vpcapi.py; paging.py is
the one page-size check of every list call.  zonefront's own calls are
keyapi.py (access keys, kept by keys.py) and vpcext.py (VPC definitions);
zoneio.py is `zonefront zone import|export`."""
