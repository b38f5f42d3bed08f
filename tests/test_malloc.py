"""The C heap settings of the local schedulers and of workers (``oxdask._malloc``)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CODE = """
import oxdask, oxdask._malloc as m
{before}
oxdask.delayed(sum)([1, 2]).compute()
print(m._LOCAL_TUNED, m._libc() is not None)
"""


def _run(before: str, env=None) -> str:
    out = subprocess.run(
        [sys.executable, "-c", CODE.format(before=before)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=env,
    )
    return out.stdout.strip()


def test_local_compute_tunes_once_unless_a_worker_or_config_says_no():
    tuned = _run("")
    if tuned.endswith("False"):
        pytest.skip("not glibc")
    assert tuned == "[True] True"
    assert _run("m.tune_for_worker()") == "[False] True"
    assert _run("oxdask.config.set({'local.tune-malloc': False})") == "[False] True"
