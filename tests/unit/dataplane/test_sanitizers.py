"""The C loops and the RCU slot under ThreadSanitizer and AddressSanitizer.

rcu_stress.c swaps and frees images while UDP (recvmmsg and recvfrom paths)
and TCP loops answer from them; a reader that could still see a freed image
shows up as a use-after-free or a data race.
"""
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CSRC = ROOT / "csrc"


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
@pytest.mark.parametrize("sanitizer", ["thread", "address"])
def test_rcu_swap_under_sanitizer(tmp_path, sanitizer):
    exe = tmp_path / f"rcu_stress_{sanitizer}"
    build = subprocess.run(
        ["gcc", "-std=gnu11", "-O1", "-g", f"-fsanitize={sanitizer}", f"-I{CSRC}",
         str(Path(__file__).with_name("rcu_stress.c")), str(CSRC / "udpio.c"),
         str(CSRC / "tcpio.c"), str(CSRC / "zfdefer.c"), "-o", str(exe), "-lpthread"],
        capture_output=True, text=True)
    if build.returncode != 0:
        pytest.skip(f"cannot build with -fsanitize={sanitizer}: {build.stderr[-300:]}")
    run = subprocess.run([str(exe), "1500"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert "Sanitizer" not in run.stderr, run.stderr[-3000:]
