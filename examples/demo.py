"""A demo computation on oxdask: a Monte Carlo estimate of pi and a large tree reduction.

Run with ``bash scripts/demo.sh``. It prints each result, checks it against plain Python, and
reports how long the graph took to build and to compute.
"""

from __future__ import annotations

import os
import random
import time
from operator import add

import oxdask as dask


@dask.delayed(pure=True)
def hits(seed: int, n: int) -> int:
    """Number of random points of the unit square inside the quarter circle."""
    rng = random.Random(seed)
    return sum(rng.random() ** 2 + rng.random() ** 2 <= 1.0 for _ in range(n))


def tree_sum(parts: list) -> object:
    """Pairwise tree reduction of delayed values."""
    while len(parts) > 1:
        paired = [dask.delayed(add)(a, b) for a, b in zip(parts[::2], parts[1::2], strict=False)]
        parts = paired + parts[len(parts) // 2 * 2 :]
    return parts[0]


def main() -> None:
    print(f"oxdask {dask.__version__} on {os.cpu_count()} cores")

    # 1. Monte Carlo pi: 64 tasks of real work, combined by a tree.
    samples, chunks = 4_000_000, 64
    t0 = time.perf_counter()
    total = tree_sum([hits(seed, samples // chunks) for seed in range(chunks)])
    (inside,) = dask.compute(total)
    pi = 4 * inside / samples
    elapsed = time.perf_counter() - t0
    print(f"pi ~= {pi:.5f}  ({samples:,} samples in {chunks} tasks, {elapsed:.2f} s)")
    assert abs(pi - 3.14159) < 0.01

    # 2. Scheduling overhead: 100,000 trivial tasks plus the 99,999 additions of a tree.
    n = 100_000
    t0 = time.perf_counter()
    leaves = [dask.delayed(lambda i: i + 1)(i) for i in range(n)]
    root = tree_sum(leaves)
    t1 = time.perf_counter()
    (result,) = dask.compute(root, scheduler="threads")
    t2 = time.perf_counter()
    assert result == sum(range(1, n + 1))
    tasks = 2 * n - 1
    print(
        f"sum of 1..{n:,} = {result:,}: {tasks:,} tasks, built in {t1 - t0:.2f} s "
        f"({1e6 * (t1 - t0) / tasks:.1f} us/call), computed in {t2 - t1:.2f} s "
        f"({1e6 * (t2 - t1) / tasks:.1f} us/task)"
    )


if __name__ == "__main__":
    main()
