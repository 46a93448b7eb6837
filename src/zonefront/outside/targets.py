"""Which alias targets are outside names: the HostedZoneIds AWS documents for
its alias-able endpoints (AWS General Reference, "Service endpoints and
quotas", the Route 53 alias HostedZoneId columns), and zonefront's own id
for any DNS name.

An alias whose HostedZoneId is one of these (and not the id of a hosted
zone we serve) is resolved through the configured recursive resolver.  Any
other unknown id is left as before: the core answers it NODATA.
"""
from __future__ import annotations

# zonefront's id for "resolve this DNS name": an alias to any name on the
# Internet, e.g. {"HostedZoneId": "ZONEFRONTRESOLVE", "DNSName": "cdn.example.net"}
RESOLVE_ZONE_ID = "ZONEFRONTRESOLVE"

CLOUDFRONT = "Z2FDTNDATAQYW2"  # also edge-optimized API Gateway, Amplify, App Runner custom domains
GLOBAL_ACCELERATOR = "Z2BJ6XQ5FK7U4H"

S3_WEBSITE = {
    "us-east-1": "Z3AQBSTGFYJSTF", "us-east-2": "Z2O1EMRO9K5GLX",
    "us-west-1": "Z2F56UZL2M1ACD", "us-west-2": "Z3BJ6K6RIION7M",
    "ca-central-1": "Z1QDHH18159H29", "eu-west-1": "Z1BKCTXD74EZPE",
    "eu-west-2": "Z3GKZC51ZF0DB4", "eu-west-3": "Z3R1K369G5AVDG",
    "eu-central-1": "Z21DNDUVLTQW6Q", "eu-north-1": "Z3BAZG2TWCNX0D",
    "ap-northeast-1": "Z2M4EHUR26P7ZW", "ap-northeast-2": "Z3W03O7B5YMIYP",
    "ap-southeast-1": "Z3O0J2DXBE1FTB", "ap-southeast-2": "Z1WCIGYICN2BYD",
    "ap-south-1": "Z11RGJOFQNVJUP", "sa-east-1": "Z7KQH4QJS55SO",
}

ELB = {  # Classic and Application Load Balancers
    "us-east-1": "Z35SXDOTRQ7X7K", "us-east-2": "Z3AADJGX6KTTL2",
    "us-west-1": "Z368ELLRRE2KJ0", "us-west-2": "Z1H1FL5HABSF5",
    "ca-central-1": "ZQSVJUPU6J1EY", "eu-west-1": "Z32O12XQLNTSW2",
    "eu-west-2": "ZHURV8PSTC4K8", "eu-west-3": "Z3Q77PNBQS71R4",
    "eu-central-1": "Z215JYRZR1TBD5", "eu-north-1": "Z23TAZ7KFYBMQW",
    "ap-northeast-1": "Z14GRHDCWA56QT", "ap-northeast-2": "ZWKZPGTI48KDX",
    "ap-southeast-1": "Z1LMS91P8CMLE5", "ap-southeast-2": "Z1GM3OXH4ZPM65",
    "ap-south-1": "ZP97RAFLXTNZK", "sa-east-1": "Z2P70J7HTTTPLU",
}

NLB = {  # Network Load Balancers
    "us-east-1": "Z26RNL4JYFTOTI", "us-east-2": "ZLMOA37VPKANP",
    "us-west-1": "Z24FKFUX50B4VW", "us-west-2": "Z18D5FSROUN65G",
    "ca-central-1": "Z2EPGBW3API2WT", "eu-west-1": "Z2IFOLAFXWLO4F",
    "eu-west-2": "ZD4D7Y8KGAS4G", "eu-west-3": "Z1CMS0P5QUZ6D5",
    "eu-central-1": "Z3F0SRJ5LGBH90", "ap-northeast-1": "Z31USIVHYNEOWT",
    "ap-southeast-1": "ZKVM4W9LS7TM", "ap-southeast-2": "ZCT6FZBF4DROD",
    "ap-south-1": "ZVDDRBQ08TROA", "sa-east-1": "ZTK26PT1VY4CU",
}

API_GATEWAY = {  # regional endpoints (execute-api)
    "us-east-1": "Z1UJRXOUMOOFQ8", "us-east-2": "ZOJJZC49E0EPZ",
    "us-west-1": "Z2MUQ32089INYE", "us-west-2": "Z2OJLYMUO9EFXC",
    "ca-central-1": "Z19DQILCV0OWEC", "eu-west-1": "ZLY8HYME6SFDD",
    "eu-west-2": "ZJ5UAJN8Y3Z2Q", "eu-west-3": "Z3KY65QIEKYHQQ",
    "eu-central-1": "Z1U9ULNL0V5AJ3", "ap-northeast-1": "Z1YSHQZHG15GKL",
    "ap-southeast-1": "ZL327KTPIQFUL", "ap-southeast-2": "Z2RPCDW04V8134",
    "ap-south-1": "Z3VO1THU9YC4UR", "sa-east-1": "ZCMLWB8V5SYIT",
}

ELASTIC_BEANSTALK = {
    "us-east-1": "Z117KPS5GTRQ2G", "us-west-2": "Z38NKT9BP95V3O",
    "eu-west-1": "Z2NYPWQ7DFZAZH", "eu-central-1": "Z1FRNW7UH4DEZJ",
    "ap-northeast-1": "Z1R25G3KIG2GBW",
}

SERVICES: dict[str, str] = {RESOLVE_ZONE_ID: "any DNS name (zonefront)",
                            CLOUDFRONT: "CloudFront", GLOBAL_ACCELERATOR: "Global Accelerator"}
for _label, _table in (("S3 website", S3_WEBSITE), ("Elastic Load Balancing", ELB),
                       ("Network Load Balancer", NLB), ("API Gateway", API_GATEWAY),
                       ("Elastic Beanstalk", ELASTIC_BEANSTALK)):
    for _region, _zid in _table.items():
        SERVICES.setdefault(_zid, f"{_label} {_region}")


def is_outside(zone_id: str | None, our_zone_ids) -> bool:
    """An alias target to resolve: a documented endpoint id, or ours for any
    name, that is not the id of a hosted zone we serve."""
    return bool(zone_id) and zone_id in SERVICES and zone_id not in our_zone_ids
