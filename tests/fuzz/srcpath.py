"""Which zonefront the fuzz targets import: this checkout's, when it is built in place.

A development checkout is built with `setup.py build_ext --inplace` (the .so
files land in src/); CI installs the package instead and src/ holds no
compiled module.  Prepending src/ only in the first case makes a target
fuzz the code beside it in both, and never a different checkout that an
editable install happens to point at.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def use_checkout() -> None:
    src = ROOT / "src"
    if any((src / "zonefront" / "core").glob("_engine*.so")) and str(src) not in sys.path:
        sys.path.insert(0, str(src))
