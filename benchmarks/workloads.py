"""Benchmark workloads, written once against the Dask API and run on both libraries.

Each workload is a function ``(lib) -> dict`` where ``lib`` is the imported ``oxdask`` or
``dask`` module. It returns timings in seconds and the number of tasks, and checks its result
against plain Python so that a fast wrong answer cannot pass.
"""

from __future__ import annotations

import time
from operator import add


def inc(x):
    return x + 1


def _tree_sum(delayed, leaves):
    level = leaves
    while len(level) > 1:
        nxt = [delayed(add)(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def many_small_tasks(lib, n: int = 100_000) -> dict:
    """(a) ``n`` independent ``inc`` tasks combined by a pairwise tree of ``add``."""
    delayed = lib.delayed
    t0 = time.perf_counter()
    leaves = [delayed(inc)(i) for i in range(n)]
    total = _tree_sum(delayed, leaves)
    t1 = time.perf_counter()
    (result,) = lib.compute(total, scheduler="threads")
    t2 = time.perf_counter()
    assert result == sum(range(1, n + 1)), result
    tasks = 2 * n - 1
    return {"build_s": t1 - t0, "compute_s": t2 - t1, "tasks": tasks, "calls": tasks}


def chain(lib, n: int = 10_000) -> dict:
    """(b) a chain of ``n`` dependent ``inc`` tasks."""
    delayed = lib.delayed
    t0 = time.perf_counter()
    x = delayed(inc)(0)
    for _ in range(n - 1):
        x = delayed(inc)(x)
    t1 = time.perf_counter()
    (result,) = lib.compute(x, scheduler="threads")
    t2 = time.perf_counter()
    assert result == n, result
    return {"build_s": t1 - t0, "compute_s": t2 - t1, "tasks": n, "calls": n}


WORKLOADS = {
    "many_small_tasks": many_small_tasks,
    "chain": chain,
}
