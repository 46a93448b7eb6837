"""Route 53 Domains (2014-05-15): zonefront as the registry of the operator's
TLDs, serving the delegations it records.

service.py (the operations), worker.py (asynchronous operations, expiry),
zones.py (TLD zones, which hosted zones are reachable), protocol.py (JSON
1.1 and RPC v2 CBOR), http.py (dispatch on the API port), rdap.py (RFC
9083), store.py (tables), names.py (IDNA), dnssec.py (DS digests).
"""
