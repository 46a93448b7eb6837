"""The AWS CLI for operations newer than the botocore it bundles.

awscli 1.46 ships its own copy of botocore whose route53 model predates
the operations of issue #17; AWS_DATA_PATH (the CLI's documented search
path for service models) points it at the installed botocore's data
directory, whose model has them.  The CLI itself runs unchanged."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import botocore
from helpers.route53 import AKID, SECRET

HAVE_AWS = shutil.which("aws") is not None
DATA_PATH = os.path.join(os.path.dirname(botocore.__file__), "data")


def aws(server, *args, ok=True, service="route53"):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=AKID, AWS_SECRET_ACCESS_KEY=SECRET,
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_PAGER="", AWS_MAX_ATTEMPTS="1",
               AWS_DATA_PATH=DATA_PATH)
    p = subprocess.run(["aws", "--endpoint-url", server.url, "--output", "json", service,
                        *args], env=env, capture_output=True, text=True, timeout=60, check=False)
    if ok:
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout) if p.stdout.strip() else None
    assert p.returncode != 0, p.stdout
    return p.stderr
