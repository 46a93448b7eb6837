"""The checked-in botocore models match what tools/gen_botocore_models.py
makes from the installed botocore, and every Route 53 operation of that model
is routed to a handler (none would answer NotImplemented)."""
from __future__ import annotations

import importlib.util
import os
import re

import botocore.loaders
import pytest

from zonefront.aws import _route53_model as _r53model
from zonefront.api.server import match_route
from zonefront.api.service import Route53Service
from zonefront.aws import _domains_model as domains_model
from zonefront.domains.service import Registry

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

# Operations other issues build; each is still checked once its issue lands
# (remove it from here then: the test fails while a listed one is routed, so
# the list cannot go stale).
OWNED_ELSEWHERE: dict[str, str] = {}


def _generator():
    spec = importlib.util.spec_from_file_location(
        "gen_botocore_models", os.path.join(ROOT, "tools", "gen_botocore_models.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("service,module", [("route53", _r53model),
                                            ("route53domains", domains_model)])
def test_checked_in_model_is_the_generators_output(service, module):
    gen = _generator()
    with open(module.__file__, encoding="utf-8") as f:
        checked_in = f.read()
    assert checked_in == gen.render(service), (
        f"{module.__name__} is stale for the installed botocore: "
        "run python tools/gen_botocore_models.py")


def test_model_has_every_operation_of_installed_botocore():
    loader = botocore.loaders.Loader()
    r53 = loader.load_service_model("route53", "service-2")["operations"]
    dom = loader.load_service_model("route53domains", "service-2")["operations"]
    assert set(_r53model.OPERATIONS) == set(r53)
    assert set(domains_model.OPERATIONS) == set(dom)


def _sample_path(uri: str) -> str:
    return re.sub(r"\{(\w+)\+?\}", lambda m: f"X{m.group(1)}", uri.split("?")[0])


def test_every_route53_operation_is_routed():
    ops = botocore.loaders.Loader().load_service_model("route53", "service-2")["operations"]
    unrouted = {}
    for name, op in ops.items():
        routed, _params, _other = match_route(op["http"]["method"],
                                              _sample_path(op["http"]["requestUri"]))
        if routed != name or not callable(getattr(Route53Service, name, None)):
            unrouted[name] = OWNED_ELSEWHERE.get(name, "#17")
    mine = sorted(n for n, issue in unrouted.items() if issue == "#17")
    assert mine == [], f"route53 operations still answering NotImplemented: {mine}"
    landed = sorted(set(OWNED_ELSEWHERE) - set(unrouted))
    assert landed == [], f"routed now; remove from OWNED_ELSEWHERE: {landed}"


def test_every_domains_operation_is_handled():
    ops = botocore.loaders.Loader().load_service_model("route53domains", "service-2")
    missing = sorted(n for n in ops["operations"]
                     if not callable(getattr(Registry, n, None)))
    assert missing == []
