"""ZONEFRONT_REQUIRE_TOOLS=1 makes a skip (a missing tool) fail the run,
in a test body, in a skipif mark and in a module-level importorskip; an
xfail stays an xfail; without the variable a skip is a skip."""
from __future__ import annotations

import pytest

SKIPPING = """
import pytest

def test_body_skip():
    pytest.skip("frobnicator not installed")

@pytest.mark.skipif(True, reason="widget missing")
def test_mark_skip():
    pass

@pytest.mark.xfail(reason="known", strict=True)
def test_expected_failure():
    assert False

def test_runs():
    assert True
"""
MODULE_SKIP = """
import pytest
pytest.importorskip("zonefront_no_such_module")

def test_never():
    pass
"""


@pytest.fixture
def suite(pytester):
    pytester.makeconftest('pytest_plugins = ["helpers.require_tools"]\n')
    pytester.makepyfile(test_skipping=SKIPPING, test_module_skip=MODULE_SKIP)
    return pytester


def test_skips_fail_when_tools_are_required(suite, monkeypatch):
    monkeypatch.setenv("ZONEFRONT_REQUIRE_TOOLS", "1")
    result = suite.runpytest("-p", "no:cacheprovider", "--continue-on-collection-errors")
    # a skip in setup (a skipif mark) or in collection reads as an error, in a body as a failure
    result.assert_outcomes(passed=1, failed=1, xfailed=1, errors=2)
    result.stdout.fnmatch_lines(["*ZONEFRONT_REQUIRE_TOOLS=1 turns this skip into a failure*"])


def test_skips_stay_skips_otherwise(suite, monkeypatch):
    monkeypatch.delenv("ZONEFRONT_REQUIRE_TOOLS", raising=False)
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=3, xfailed=1)
