"""The API suite's zone, record-set, CIDR and DNSSEC tests (tests/api) run
unchanged against a control plane on the PostgreSQL store (conftest.py
gives them `server` and `r53`)."""
from test_cidr import *  # noqa: F401,F403
from test_dnssec_api import *  # noqa: F401,F403
from test_rrsets import *  # noqa: F401,F403
from test_zones import *  # noqa: F401,F403
