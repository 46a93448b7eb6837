"""With ZONEFRONT_REQUIRE_TOOLS=1 (CI sets it in .ci/run) a skipped test
fails: every test here skips only when a tool or package is missing, and
.ci/run installs them all, so a skip in CI means an install went wrong and
the suite would pass without testing what it names.  Expected failures
(xfail) are not skips and are left alone."""
from __future__ import annotations

import os

import pytest

ENV = "ZONEFRONT_REQUIRE_TOOLS"


def _required() -> bool:
    return os.environ.get(ENV) == "1"


def _reason(rep) -> str:
    return rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)


def _fail(rep) -> None:
    rep.outcome = "failed"
    rep.longrepr = f"{ENV}=1 turns this skip into a failure: {_reason(rep)}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    rep = (yield).get_result()
    if _required() and rep.skipped and not hasattr(rep, "wasxfail"):
        _fail(rep)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    rep = (yield).get_result()
    if _required() and rep.skipped:  # a module-level importorskip
        _fail(rep)
