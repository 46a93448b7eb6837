"""Where the test clients are: addresses (ECS) in tools/make_test_mmdb.py's
NETWORKS, plus the statistics check shared by the routing tests."""
from __future__ import annotations

import math
from collections import Counter

CA, WA, NY = "8.8.8.1/32", "8.8.8.200/32", "23.1.2.3/32"
SCOTLAND, ENGLAND, HESSE = "81.2.69.5/32", "81.7.7.7/32", "193.99.144.9/32"
EU_ONLY, TOKYO, SYDNEY = "185.0.1.1/32", "1.0.16.5/32", "1.2.3.4/32"
SAO_PAULO, AUCKLAND = "200.1.2.3/32", "203.0.1.1/32"
BAVARIA6, VIRGINIA6 = "2001:db8:1:2::1/128", "2600:1f00::1/128"

N_QUERIES = 400


def within(counts: Counter, weights: dict, n: int) -> None:
    """Each value's share is weight/sum within 5 standard deviations of the
    binomial (a false alarm about once in 3.5 million runs)."""
    total = sum(weights.values())
    for value, w in weights.items():
        p = w / total
        sd = math.sqrt(n * p * (1 - p))
        assert abs(counts[value] - n * p) <= 5 * sd + 1, (value, dict(counts), weights)
    assert set(counts) <= {v for v, w in weights.items() if w}, dict(counts)


# geolocation record sets (most to least specific) and their values
GEO = [({"CountryCode": "US", "SubdivisionCode": "CA"}, "192.0.2.1"),
       ({"CountryCode": "US"}, "192.0.2.2"),
       ({"CountryCode": "DE"}, "192.0.2.3"),
       ({"ContinentCode": "EU"}, "192.0.2.4"),
       ({"CountryCode": "*"}, "192.0.2.5")]
