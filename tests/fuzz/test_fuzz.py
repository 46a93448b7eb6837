"""Every fuzz target, built and run for a few seconds (the long runs are bench/fuzz).

Each run starts from the checked-in corpus and the regression inputs (each
once a crash), so a fault fixed earlier that comes back fails here at once;
then libFuzzer mutates for a bounded time.  A crash, a hang, a sanitizer
report or an escaped exception fails the test with the fuzzer's output.
clang (with the libFuzzer and sanitizer runtimes) and atheris are required:
without them this file fails rather than skips, so CI cannot silently stop
fuzzing.
"""
from __future__ import annotations

import subprocess

import catalog
import fuzzbuild
import pytest

SECONDS = {"engine": 3, "snapshot": 3}  # the rest: 2


@pytest.fixture(scope="module")
def exes():
    try:
        return fuzzbuild.build()
    except fuzzbuild.BuildError as e:
        pytest.fail(f"cannot build the libFuzzer targets: {e}")


def run_target(name: str, exes: dict, tmp_path) -> None:
    work = tmp_path / "corpus"
    work.mkdir()
    cmd = catalog.command(name, exes) + [
        f"-max_total_time={SECONDS.get(name, 2)}", "-timeout=10", "-rss_limit_mb=2560",
        "-print_final_stats=1", f"-artifact_prefix={tmp_path}/", str(work),
    ] + [str(d) for d in catalog.corpus_dirs(name)]
    env = fuzzbuild.environment()
    env.setdefault("ASAN_OPTIONS", "detect_leaks=0")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env,
                          cwd=tmp_path, check=False)
    out = proc.stdout + proc.stderr
    crashes = [p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-", "leak-"))]
    assert proc.returncode == 0 and not crashes, f"{name}: rc {proc.returncode} {crashes}\n{out[-6000:]}"
    assert "number_of_executed_units" in out, out[-3000:]
    runs = int(out.split("stat::number_of_executed_units:")[1].split()[0])
    assert runs > len(list(work.iterdir())), f"{name} ran only {runs} inputs"


def test_tools_present():
    assert fuzzbuild.clang()
    missing = catalog.needs_atheris()
    assert missing is None, missing


@pytest.mark.parametrize("name", catalog.NATIVE)
def test_native_target(name, exes, tmp_path):
    run_target(name, exes, tmp_path)


@pytest.mark.parametrize("name", catalog.ATHERIS)
def test_atheris_target(name, tmp_path):
    missing = catalog.needs_atheris()
    if missing:
        pytest.fail(missing)
    run_target(name, {}, tmp_path)


def test_corpora_are_small():
    """Seeds stay small so a CI run mutates rather than reads."""
    total = 0
    for name in catalog.ALL:
        for d in catalog.corpus_dirs(name):
            assert any(d.iterdir()), f"{d} is empty"
            total += sum(p.stat().st_size for p in d.iterdir())
    assert total < 4 << 20, total
