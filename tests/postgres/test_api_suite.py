"""The API suite's zone, record-set and CIDR tests (tests/api) run
unchanged against a control plane on the PostgreSQL store (conftest.py
gives them `server` and `r53`)."""
from test_cidr import *  # noqa: F401,F403
from test_rrsets import *  # noqa: F401,F403
from test_zones import *  # noqa: F401,F403
from test_history import *  # noqa: F401,F403,E402  (#17: history in the batch's transaction)
from test_protections import *  # noqa: F401,F403,E402
from test_tiers import *  # noqa: F401,F403,E402
from test_hcsources import *  # noqa: F401,F403,E402
