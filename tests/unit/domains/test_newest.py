"""GetDomainPrices and RestoreDomain over HTTP: boto3 in both protocols and
the AWS CLI (pointed at the installed botocore's models, see
tests/helpers/awscli.py)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import botocore
import pytest
from botocore.exceptions import ClientError

from .conftest import AKID, SECRET, register


def test_get_domain_prices(cbor, jsonc):
    for client in (cbor, jsonc):
        p = client.get_domain_prices(DomainName="Pricey.corp")["DomainPrice"]
        assert p["Name"] == "pricey.corp"
        assert p["RegistrationPrice"] == {"Price": 10.0, "Currency": "EUR",
                                          "PriceType": "STANDARD"}
        assert p["RestorationPrice"]["Price"] == 50.0
        lab = client.get_domain_prices(DomainName="x.lab")["DomainPrice"]
        assert lab["RenewalPrice"]["Price"] == 2.5
        prem = client.get_domain_prices(DomainName="shop.corp")["DomainPrice"]
        assert prem["RegistrationPrice"]["PriceType"] == "REGISTRY_PREMIUM"
        with pytest.raises(ClientError) as e:
            client.get_domain_prices(DomainName="x.nosuchtld")
        assert e.value.response["Error"]["Code"] == "UnsupportedTLD"


def test_domains_errors_per_operation(cbor, jsonc):
    """GetDomainPrices InvalidInput and RestoreDomain UnsupportedTLD over
    boto3 (DuplicateRequest and OperationLimitExceeded need a domain in
    redemption: tests/domains/test_expiry.py)."""
    for client in (cbor, jsonc):
        with pytest.raises(ClientError) as e:
            client.get_domain_prices(DomainName="below.some.corp")  # not registrable
        assert e.value.response["Error"]["Code"] == "InvalidInput"
        with pytest.raises(ClientError) as e:
            client.restore_domain(DomainName="back.nosuchtld")
        assert e.value.response["Error"]["Code"] == "UnsupportedTLD"


def test_restore_domain_refused_outside_redemption(jsonc):
    assert register(jsonc, "fresh-restore.corp")["Status"] == "SUCCESSFUL"
    with pytest.raises(ClientError) as e:
        jsonc.restore_domain(DomainName="fresh-restore.corp")
    assert e.value.response["Error"]["Code"] == "InvalidInput"
    assert "redemption" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        jsonc.restore_domain(DomainName="never-registered.corp")
    assert e.value.response["Error"]["Code"] == "InvalidInput"


@pytest.mark.skipif(shutil.which("aws") is None, reason="aws CLI not installed")
def test_aws_cli_get_domain_prices(served):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=AKID, AWS_SECRET_ACCESS_KEY=SECRET,
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_PAGER="", AWS_MAX_ATTEMPTS="1",
               AWS_DATA_PATH=os.path.join(os.path.dirname(botocore.__file__), "data"))
    p = subprocess.run(["aws", "--endpoint-url", served.url, "--output", "json",
                        "route53domains", "get-domain-prices", "--domain-name", "cli.corp"],
                       env=env, capture_output=True, text=True, timeout=60, check=False)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["DomainPrice"]["RegistrationPrice"]["Price"] == 10.0
    p = subprocess.run(["aws", "--endpoint-url", served.url, "route53domains",
                        "restore-domain", "--domain-name", "cli-none.corp"],
                       env=env, capture_output=True, text=True, timeout=60, check=False)
    assert p.returncode != 0 and "InvalidInput" in p.stderr
