"""Array benchmark workloads, written once against the ``dask.array`` API.

Each workload is a function ``(da) -> dict`` where ``da`` is ``oxdask.array`` or ``dask.array``;
it returns the graph-building time, the compute time and a task count, and checks its result
so that a fast wrong answer cannot pass. Sizes fit a 2-core, 24 GiB machine.
"""

from __future__ import annotations

import time

N = 20_000  # x: N x N float64 (3.2 GB) in 1,000 x 1,000 blocks
M = 8_000  # y: M x M for the matrix product
MILLION = 100_000  # (MILLION / 100) ** 2 blocks: a million


def _random(da, n, chunks):
    return da.random.random((n, n), chunks=chunks)


def _timed(build, check) -> dict:
    t0 = time.perf_counter()
    expr, tasks = build()
    t1 = time.perf_counter()
    result = expr.compute()
    t2 = time.perf_counter()
    check(result)
    return {"build_s": t1 - t0, "compute_s": t2 - t1, "tasks": tasks, "calls": tasks}


def add_transpose_sum(da) -> dict:
    """``(x + x.T).sum()`` with x of 20,000 x 20,000 in 1,000 x 1,000 blocks."""

    def build():
        x = _random(da, N, 1000)
        return (x + x.T).sum(), 400

    return _timed(build, lambda r: _close(r, N * N, 1e-3))


def mean_axis0(da) -> dict:
    """``x.mean(axis=0)`` on the same x."""

    def build():
        return _random(da, N, 1000).mean(axis=0), 400

    def check(r):
        assert r.shape == (N,)
        _close(r.mean(), 0.5, 1e-3)

    return _timed(build, check)


def matmul_sum(da) -> dict:
    """``(y @ y.T).sum()`` with y of 8,000 x 8,000 in 1,000 x 1,000 blocks."""

    def build():
        y = _random(da, M, 1000)
        return (y @ y.T).sum(), 8 * 8 * 8

    # E[sum_ij sum_k y_ik y_jk] = M^3 / 4 (+ M^2 / 12 on the diagonal)
    return _timed(build, lambda r: _close(r, M**3 / 4, 1e-3))


def million_chunks(da) -> dict:
    """Building and computing ``(ones((n, n), chunks=(100, 100)) + 1).sum()``."""
    n = MILLION

    def build():
        return (da.ones((n, n), chunks=(100, 100)) + 1).sum(), (n // 100) ** 2

    return _timed(build, lambda r: _close(r, 2.0 * n * n, 1e-12))


def rechunk(da) -> dict:
    """Rechunking 20,000 x 20,000 from (1,000, 1,000) to (20,000, 50), then a sum."""

    def build():
        x = _random(da, N, 1000)
        return x.rechunk((N, 50)).sum(axis=0), 400

    def check(r):
        assert r.shape == (N,)
        _close(r.mean(), N / 2, 1e-3)

    return _timed(build, check)


def _close(value, expect, rtol):
    assert abs(float(value) - expect) <= rtol * abs(expect), (value, expect)


ARRAY_WORKLOADS = {
    "array_add_transpose_sum": add_transpose_sum,
    "array_mean_axis0": mean_axis0,
    "array_matmul_sum": matmul_sum,
    "array_million_chunks": million_chunks,
    "array_rechunk": rechunk,
}
