"""A short run of ``scripts/chaos.py``: workers are killed and replaced while a mixed workload
runs; every result must be right and nothing may hang."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "chaos.py"


@pytest.mark.timeout(120)
def test_short_chaos_run():
    env = dict(os.environ, OXDASK_LOG="error")
    paths = [p for p in sys.path if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    argv = ["--rounds", "3", "--workers", "3", "--interval", "1.5", "--round-timeout", "40"]
    out = subprocess.run(
        [sys.executable, str(SCRIPT), *argv],
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
        env=env,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3 rounds correct" in out.stdout
