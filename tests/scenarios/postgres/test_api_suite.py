"""The API suite's zone, record-set, CIDR, traffic policy and DNSSEC tests (tests/unit/api) run
unchanged against a control plane on the PostgreSQL store (conftest.py
gives them `server` and `r53`)."""
from test_cidr import *  # noqa: F401,F403
from test_dnssec_api import *  # noqa: F401,F403
from test_rrsets import *  # noqa: F401,F403
from test_zones import *  # noqa: F401,F403
from test_history import *  # noqa: F401,F403,E402  (#17: history in the batch's transaction)
from test_protections import *  # noqa: F401,F403,E402
from test_tiers import *  # noqa: F401,F403,E402
from test_hcsources import *  # noqa: F401,F403,E402
# the CLI paths of #17's operations do not depend on the store: run once, on SQLite
del test_aws_cli_history, test_aws_cli_protections, test_aws_cli_tier_and_features  # noqa: F821
del test_aws_cli_sources  # noqa: F821
from test_traffic import *  # noqa: F401,F403
