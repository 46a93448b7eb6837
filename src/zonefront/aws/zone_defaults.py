"""What Route 53 puts in a new hosted zone: its SOA timers and the TTLs of
the SOA and apex NS records (the API's CreateHostedZone and the registrar's
RegisterDomain both create zones, so both read them here)."""
from __future__ import annotations

DEFAULT_SOA_TIMERS = "1 7200 900 1209600 86400"  # serial refresh retry expire minimum
SOA_TTL = 900
NS_TTL = 172800
