"""Extension list and build switches; metadata lives in pyproject.toml.

Development builds in place: `PYTHONPATH=src python setup.py build_ext --inplace`.

ZONEFRONT_DEBUG=1 builds with invariant asserts (-DZONEFRONT_DEBUG) and no
optimisation; ZONEFRONT_ANNOTATE=1 writes Cython's HTML annotation.
"""
import glob
import os

from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("ZONEFRONT_DEBUG") == "1"
ANNOTATE = os.environ.get("ZONEFRONT_ANNOTATE") == "1"

CFLAGS = ["-O0", "-g", "-DZONEFRONT_DEBUG"] if DEBUG else ["-O2", "-DNDEBUG"]
CFLAGS += ["-std=gnu11", "-Wno-unused-function", "-Wno-unreachable-code"]

# Each compiled module lists the plain C files it links; csrc/ holds no Python.h.
C_SOURCES = {
    "zonefront.core._engine": ["csrc/zfdeny.c"],
    "zonefront.dataplane._worker": ["csrc/udpio.c", "csrc/tcpio.c", "csrc/rrl.c"],
    "zonefront.snapshot._fastcompile": ["csrc/zftable.c", "csrc/zscan.c", "csrc/zfcompile.c"],
}


# libraries each module links besides pthread (libcrypto: the online DNSSEC signer)
LIBRARIES = {"zonefront.core._engine": ["crypto"]}

# ZONEFRONT_ONLY=mod1,mod2 builds just those modules (for work on one module
# while another is mid-edit); unset builds everything.
ONLY = [m for m in os.environ.get("ZONEFRONT_ONLY", "").split(",") if m]


def extensions():
    exts = []
    for pyx in sorted(glob.glob("src/zonefront/**/_*.pyx", recursive=True)):
        mod = pyx[len("src/"):-len(".pyx")].replace("/", ".")
        if ONLY and mod not in ONLY:
            continue
        extra = [c for c in C_SOURCES.get(mod, []) if os.path.exists(c)]
        exts.append(
            Extension(
                mod,
                [pyx] + extra,
                include_dirs=["csrc"],
                extra_compile_args=CFLAGS,
                libraries=["pthread"] + LIBRARIES.get(mod, []),
            )
        )
    return exts


setup(
    ext_modules=cythonize(
        extensions(),
        language_level=3,
        annotate=ANNOTATE,
        compiler_directives={"embedsignature": True},
        gdb_debug=False,
    ),
)
