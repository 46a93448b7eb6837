"""The AWS regions a latency or geoproximity record set names, with their
coordinates, in the order the compiled core indexes them.  Its own module
because every image carries the regions array: a zone-file server compiles
it without importing GeoIP (geo.py, which re-exports these)."""
from __future__ import annotations

import struct

# Every region Route 53 accepts in a latency record (botocore's
# ResourceRecordSetRegion) with its city's approximate coordinates: the
# default latency estimate and geoproximity's AWSRegion are measured from here.
REGIONS: dict[str, tuple[float, float]] = {
    "af-south-1": (-33.92, 18.42),  # Cape Town
    "ap-east-1": (22.32, 114.17),  # Hong Kong
    "ap-east-2": (25.03, 121.57),  # Taipei
    "ap-northeast-1": (35.68, 139.69),  # Tokyo
    "ap-northeast-2": (37.57, 126.98),  # Seoul
    "ap-northeast-3": (34.69, 135.50),  # Osaka
    "ap-south-1": (19.08, 72.88),  # Mumbai
    "ap-south-2": (17.39, 78.49),  # Hyderabad
    "ap-southeast-1": (1.35, 103.82),  # Singapore
    "ap-southeast-2": (-33.87, 151.21),  # Sydney
    "ap-southeast-3": (-6.21, 106.85),  # Jakarta
    "ap-southeast-4": (-37.81, 144.96),  # Melbourne
    "ap-southeast-5": (3.14, 101.69),  # Kuala Lumpur
    "ap-southeast-6": (-36.85, 174.76),  # Auckland
    "ap-southeast-7": (13.76, 100.50),  # Bangkok
    "ca-central-1": (45.50, -73.57),  # Montreal
    "ca-west-1": (51.05, -114.07),  # Calgary
    "cn-north-1": (39.90, 116.40),  # Beijing
    "cn-northwest-1": (37.51, 105.19),  # Ningxia (Zhongwei)
    "eu-central-1": (50.11, 8.68),  # Frankfurt
    "eu-central-2": (47.37, 8.54),  # Zurich
    "eu-north-1": (59.33, 18.07),  # Stockholm
    "eu-south-1": (45.46, 9.19),  # Milan
    "eu-south-2": (41.65, -0.88),  # Aragon (Zaragoza)
    "eu-west-1": (53.35, -6.26),  # Dublin
    "eu-west-2": (51.51, -0.13),  # London
    "eu-west-3": (48.86, 2.35),  # Paris
    "eusc-de-east-1": (52.40, 13.07),  # Brandenburg (European Sovereign Cloud)
    "il-central-1": (32.09, 34.78),  # Tel Aviv
    "me-central-1": (24.45, 54.38),  # UAE (Abu Dhabi)
    "me-south-1": (26.07, 50.56),  # Bahrain
    "mx-central-1": (20.59, -100.39),  # Querétaro
    "sa-east-1": (-23.55, -46.63),  # São Paulo
    "us-east-1": (38.95, -77.45),  # N. Virginia (Ashburn)
    "us-east-2": (39.96, -83.00),  # Ohio (Columbus)
    "us-gov-east-1": (39.96, -83.00),  # GovCloud US-East (Ohio)
    "us-gov-west-1": (45.52, -122.68),  # GovCloud US-West (Oregon)
    "us-west-1": (37.77, -122.42),  # N. California (San Francisco)
    "us-west-2": (45.84, -119.70),  # Oregon (Boardman)
}
REGION_NAMES: list[str] = sorted(REGIONS)
_REGION_INDEX = {r: i for i, r in enumerate(REGION_NAMES)}


def region_index(name: str) -> int:
    """Column of `name` in regions_array() and latrows (sorted names); KeyError if unknown."""
    return _REGION_INDEX[name]


def regions_array() -> bytes:
    return b"".join(struct.pack("<ff", *REGIONS[r]) for r in REGION_NAMES)
