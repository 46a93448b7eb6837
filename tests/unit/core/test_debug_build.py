"""The CI debug pass (`ZONEFRONT_DEBUG=1 pip install .`, then the core and
differential tests with ZONEFRONT_EXPECT_DEBUG=1) runs a build whose
invariant checks (csrc/zfdebug.h ZF_ASSERT) are compiled in and abort on
failure; every other run tests a release build, where they cost nothing."""
import os
import subprocess
import sys

from helpers.procs import child_env

from zonefront.core import _engine

EXPECT_DEBUG = os.environ.get("ZONEFRONT_EXPECT_DEBUG") == "1"


def test_the_build_is_the_kind_this_run_expects():
    assert _engine.DEBUG_BUILD is EXPECT_DEBUG


def test_a_failed_invariant_aborts_a_debug_build_only():
    code = "from zonefront.core import _engine; _engine._check_invariant(True); " \
           "_engine._check_invariant(False); print('went on')"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=child_env(), timeout=60)
    if _engine.DEBUG_BUILD:
        assert r.returncode != 0 and "went on" not in r.stdout
        assert "zonefront: invariant failed" in r.stderr
    else:
        assert r.returncode == 0 and "went on" in r.stdout
