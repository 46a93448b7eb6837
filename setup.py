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
    "zonefront.core._engine": ["csrc/zfdeny.c", "csrc/zfnsec3.c"],
    "zonefront.dnssec._sign": ["csrc/zfdeny.c"],
    "zonefront.dataplane._worker": ["csrc/udpio.c", "csrc/tcpio.c", "csrc/rrl.c", "csrc/zfdefer.c"],
    "zonefront.snapshot._fastcompile": ["csrc/zftable.c", "csrc/zscan.c", "csrc/zfcompile.c"],
    "zonefront.dataplane._xdp": ["csrc/xdpio.c", "csrc/udpio.c", "csrc/zfdefer.c"],  # udpio: the RCU slot
}
# Libraries beyond pthread, per module (libcrypto: the bulk DNSSEC signer;
# the engine's online signer opens it on first use, csrc/zfcrypto.h;
# libxdp/libbpf: the AF_XDP sockets and their program).
LIBRARIES = {
    "zonefront.core._engine": ["dl"],  # dlopen: glibc before 2.34 keeps it in libdl
    "zonefront.dnssec._sign": ["crypto"],
    "zonefront.dataplane._xdp": ["xdp", "bpf"],
}

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


# --- AF_XDP (issue 19) ------------------------------------------------------
# The XDP program is compiled here, once, with clang -target bpf, into the
# package beside _xdp (dataplane/xdp_redirect.bpf.o): a server then needs
# no compiler or kernel headers at run time.  Missing libxdp/libbpf/clang
# stop the build with what to install instead of a linker error.
from setuptools.command.build_ext import build_ext as _build_ext  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sysconfig  # noqa: E402

BPF_SOURCE = "csrc/xdp_redirect.bpf.c"
BPF_OBJECT = "zonefront/dataplane/xdp_redirect.bpf.o"
XDP_DEPS = "apt-get install libxdp-dev libbpf-dev clang (Debian 12)"


class build_ext(_build_ext):
    def run(self):
        wants_xdp = any(e.name == "zonefront.dataplane._xdp" for e in self.extensions)
        if wants_xdp:
            for h in ("/usr/include/xdp/xsk.h", "/usr/include/bpf/libbpf.h"):
                if not os.path.exists(h):
                    raise SystemExit(f"zonefront: AF_XDP needs {h}: {XDP_DEPS}")
            if not shutil.which("clang"):
                raise SystemExit(f"zonefront: the XDP program needs clang: {XDP_DEPS}")
        super().run()
        if wants_xdp:
            out = os.path.join("src" if self.inplace else self.build_lib, BPF_OBJECT)
            arch = sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu"
            subprocess.run(["clang", "-O2", "-g", "-target", "bpf", f"-I/usr/include/{arch}",
                            "-Icsrc", "-c", BPF_SOURCE, "-o", out], check=True)


setup(
    cmdclass={"build_ext": build_ext},
    ext_modules=cythonize(
        extensions(),
        language_level=3,
        annotate=ANNOTATE,
        compiler_directives={"embedsignature": True},
        gdb_debug=False,
    ),
)
