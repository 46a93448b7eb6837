"""zonefront.errors is the root of every exception class zonefront defines:
a caller can catch everything we raise on purpose (and only that) with one
class, and each class is in the input or the service family (or is one of
the few signals between two parts of the code, listed here)."""
from __future__ import annotations

import importlib
import inspect
import pathlib
import pkgutil

import pytest

import zonefront
from zonefront.aws.route53_errors import Route53Error, invalid_input
from zonefront.config import ConfigError
from zonefront.domains.errors import DomainsError
from zonefront.errors import InputError, ServiceError, ZonefrontError

# raised to say "start over another way", not a failure of input or service
SIGNALS = {"zonefront.snapshot.incremental.NeedsFullCompile",
           "zonefront.snapshot._fastcompile.Unsupported"}
# optional third-party modules a module may need; without them it is skipped
OPTIONAL = {"psycopg", "PyKCS11", "pkcs11"}


def _zonefront_exceptions():
    found, skipped = {}, []
    root = pathlib.Path(zonefront.__file__).parent
    for info in pkgutil.walk_packages([str(root)], "zonefront."):
        if info.name.endswith(".__main__"):  # runs a command when imported
            continue
        try:
            mod = importlib.import_module(info.name)
        except ImportError as e:
            if (e.name or "").split(".")[0] in OPTIONAL:
                skipped.append(info.name)
                continue
            raise
        for _, obj in inspect.getmembers(mod, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__.startswith("zonefront."):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found, skipped


def test_every_exception_class_derives_from_the_root():
    found, _ = _zonefront_exceptions()
    assert len(found) >= 20, sorted(found)  # the walk saw the tree
    orphans = sorted(n for n, c in found.items() if not issubclass(c, ZonefrontError))
    assert orphans == [], f"exception classes outside zonefront.errors: {orphans}"
    unfamilied = sorted(n for n, c in found.items() if n not in SIGNALS and c is not ZonefrontError
                        and not issubclass(c, (InputError, ServiceError)))
    assert unfamilied == [], f"neither InputError nor ServiceError: {unfamilied}"


@pytest.mark.parametrize("cls", [ConfigError])
def test_former_value_errors_are_still_value_errors(cls):
    assert issubclass(cls, ValueError) and issubclass(cls, InputError)


def test_api_errors_keep_their_codes_and_statuses():
    e = invalid_input("bad")
    assert isinstance(e, ServiceError) and (e.code, e.status) == ("InvalidInput", 400)
    assert Route53Error("NoSuchHostedZone", "x").status == 404
    d = DomainsError("UnsupportedTLD", "x")
    assert isinstance(d, ZonefrontError) and (d.code, d.status) == ("UnsupportedTLD", 400)
