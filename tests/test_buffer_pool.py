"""NumPy arrays through the worker's buffer pool (``_core.buffer_pool``): reused buffers give
the same results as fresh ones, ``zeros`` stays zero, and the pool stays within its bounds.
Each case runs in a fresh interpreter, whose main thread uses the pool."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

np = pytest.importorskip("numpy")

PRELUDE = """
import numpy as np
from oxdask import _core
if not _core.buffer_pool(LIMIT):
    print("unavailable")
    raise SystemExit
assert _core.buffer_pool_activate()
"""


def _run(body: str, limit: int = 200 << 20) -> str:
    code = PRELUDE.replace("LIMIT", str(limit)) + textwrap.dedent(body)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    if out.stdout.strip() == "unavailable":
        pytest.skip("buffer pool unavailable here")
    return out.stdout.strip()


def test_reused_buffers_compute_what_fresh_ones_do():
    out = _run("""
        rng = np.random.default_rng(5)
        want = [float(np.random.default_rng(i).random((400, 1000)).sum()) for i in range(6)]
        _core.buffer_pool_drain()
        before = _core.buffer_pool_stats()["hits"]
        got = []
        for i in range(6):
            a = np.random.default_rng(i).random((400, 1000))  # 3.2 MB, same shape each time
            assert np._core.multiarray.get_handler_name(a) == "oxdask_pool"
            a *= 2
            got.append(float(a.sum()) / 2)
            del a
        assert got == want, (got, want)
        assert _core.buffer_pool_stats()["hits"] - before >= 5
        # a dirty buffer comes back as zeros, ones, empty-then-filled
        d = np.full(500_000, 7.0); del d
        z = np.zeros(500_000); assert not z.any(); del z
        d = np.full(500_000, 7.0); del d
        o = np.ones(480_000); assert (o == 1).all(); del o
        # realloc: growing an array keeps its values
        x = np.arange(300_000.0)
        x.resize(600_000, refcheck=False)
        assert (x[:300_000] == np.arange(300_000.0)).all() and not x[300_000:].any()
        del x
        # small arrays are NumPy's own business
        s = np.arange(10.0) * 2
        assert s.sum() == 90
        print("ok", _core.buffer_pool_stats()["bytes"] <= 200 << 20)
    """)
    assert out == "ok True"


def test_the_pool_keeps_within_its_limit_and_frees_on_drain_and_age():
    out = _run(
        """
        import threading, time
        arrays = [np.ones(1_000_000) for _ in range(5)]  # 8 MB each, 40 MB in all
        del arrays
        s = _core.buffer_pool_stats()
        assert s["bytes"] <= 20 << 20 and s["blocks"] == 2, s
        _core.buffer_pool_drain()
        assert _core.buffer_pool_stats()["bytes"] == 0
        # freed on another thread: back into the same pool
        a = np.ones(1_000_000)
        t = threading.Thread(target=lambda: a.sum())
        t.start(); t.join()
        holder = [a]; del a
        threading.Thread(target=holder.clear).start()
        time.sleep(0.2)
        assert _core.buffer_pool_stats()["blocks"] == 1
        time.sleep(1.1)  # older than a second: the next free drops it
        b = np.ones(400_000); del b
        s = _core.buffer_pool_stats()
        assert s["blocks"] == 1 and s["bytes"] < 8 << 20, s
        print("ok")
        """,
        limit=20 << 20,
    )
    assert out == "ok"
