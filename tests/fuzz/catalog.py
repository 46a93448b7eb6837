"""The fuzz targets, how to run each, and the campaign's execution goals.

Shared by tests/fuzz/test_fuzz.py (a few seconds each, in CI) and
bench/fuzz/campaign.py (the long runs): a target is a libFuzzer command
line, native (tests/fuzz/fuzzbuild.py) or atheris (tests/fuzz/targets/).
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

NATIVE = ("engine", "snapshot", "zscan", "tcp")
ATHERIS = ("engine_diff", "xml_api", "domains_api", "zonefile", "xfr")
ALL = NATIVE + ATHERIS

# the campaign's floor per target: DNS messages 10 million, the rest 1 million
GOAL = {"engine": 10_000_000, "engine_diff": 10_000_000, "tcp": 10_000_000}
DEFAULT_GOAL = 1_000_000


def command(name: str, exes: dict) -> list[str]:
    """The libFuzzer command for a target, before flags and corpus dirs."""
    if name in NATIVE:
        return [str(exes[name])]
    return [sys.executable, str(HERE / "targets" / f"{name}.py")]


def corpus_dirs(name: str) -> list[Path]:
    """Checked-in seeds and the inputs that once crashed (regressions)."""
    return [d for d in (HERE / "corpus" / name, HERE / "regressions" / name) if d.is_dir()]


def needs_atheris() -> str | None:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return "atheris is not installed: pip install atheris (the `test` extra has it)"
    return None
