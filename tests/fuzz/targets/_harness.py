"""What every atheris target shares: the import path and the command line.

A target module defines `setup()` (optional, imports under instrumentation)
and `one_input(data)`, and ends with `main(globals())`:

    python tests/fuzz/targets/xml_api.py [libFuzzer flags] [corpus dirs]

An exception that escapes one_input is a finding; a target catches only the
refusals its parser is documented to raise.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT / "tests" / "fuzz") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests" / "fuzz"))

import srcpath

srcpath.use_checkout()


def main(ns: dict) -> None:
    import atheris

    with atheris.instrument_imports(include=["zonefront"]):
        if "setup" in ns:
            ns["setup"]()
    atheris.Setup(sys.argv, ns["one_input"])
    atheris.Fuzz()
