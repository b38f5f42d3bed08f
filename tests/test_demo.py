"""``bash scripts/demo.sh`` runs ``examples/demo.py``: its smoke-test size runs here, on oxdask
and Dask, and must check its results and print the dashboard link and the timings."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_demo_small(tmp_path):
    pytest.importorskip("zarr")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py"), "--small"],
        env={**os.environ, "OXDASK_DEMO_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=110,
    )
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    assert "[oxdask] dashboard: http://" in out
    assert "oxdask: results match pandas and NumPy" in out
    assert "dask: results match pandas and NumPy" in out
    assert "array row means" in out
    assert (tmp_path / "small.done").exists()
    assert len(list((tmp_path / "small-parquet").glob("*.parquet"))) == 4
