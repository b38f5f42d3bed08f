"""Large graphs on a cluster: oxdask.distributed vs dask.distributed in one run.

Each library runs in its own subprocess on a LocalCluster of 2 worker processes x 1 thread.
Workloads (answers checked against NumPy / plain Python):

- ``array-20k``:  ``((ones((20000, 20000), chunks=(100, 200)) + 1) * 2).sum()`` (20,000 chunks)
- ``array-100k``: the same with ``chunks=(40, 100)`` (100,000 chunks)
- ``delayed-200k``: 100,000 ``delayed`` leaves summed in a pairwise tree (200,000 tasks),
  ``client.compute``

Dask needs minutes for the full sizes (84 s for ``array-20k``, 625 s for ``delayed-200k``),
so by default it runs each workload once at a tenth of the size and the ratio compares
throughput (tasks per second); ``--full`` runs Dask on the full sizes. oxdask's times are
medians of ``--repeat`` runs (default 3).

    python benchmarks/bench_cluster_scale.py [--full] [--repeat N]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

ARRAY_SHAPES = {"array-20k": (100, 200), "array-100k": (40, 100)}


def _add(a, b):
    return a + b


def _leaf(i):
    return i


def _array(lib: str, chunks: tuple[int, int], scale: float):
    da = __import__(f"{lib}.array", fromlist=["array"])
    n = int(20000 * scale**0.5) // chunks[0] * chunks[0]
    m = int(20000 * scale**0.5) // chunks[1] * chunks[1]
    expr = ((da.ones((n, m), chunks=chunks) + 1) * 2).sum()
    return expr, 4.0 * n * m, (n // chunks[0]) * (m // chunks[1])


def _delayed(lib: str, leaves: int):
    delayed = __import__(lib, fromlist=["delayed"]).delayed
    level = [delayed(_leaf)(i, dask_key_name=f"leaf-{i}") for i in range(leaves)]
    while len(level) > 1:
        nxt = [delayed(_add)(a, b) for a, b in zip(level[::2], level[1::2], strict=False)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0], leaves * (leaves - 1) / 2, 2 * leaves - 1


def run(lib: str, scale: float, repeat: int) -> dict:
    mod = __import__(f"{lib}.distributed", fromlist=["distributed"])
    cluster = mod.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None)  # fmt: skip
    client = mod.Client(cluster)
    out = {}
    cases = [(name, lambda c=c: _array(lib, c, scale)) for name, c in ARRAY_SHAPES.items()]
    cases.append(("delayed-200k", lambda: _delayed(lib, int(100_000 * scale))))
    for name, build in cases:
        times, builds = [], []
        for _ in range(repeat):
            t0 = time.perf_counter()
            expr, expected, ntasks = build()
            t1 = time.perf_counter()
            value = client.compute(expr).result()
            t2 = time.perf_counter()
            assert float(value) == expected, (name, value, expected)
            builds.append(t1 - t0)
            times.append(t2 - t0)
            del expr
        out[name] = {"s": statistics.median(times), "build_s": statistics.median(builds),
                     "tasks": ntasks}  # fmt: skip
    client.close()
    cluster.close()
    return out


def _child(lib: str, scale: float, repeat: int) -> dict:
    cmd = [sys.executable, __file__, "--child", lib, str(scale), str(repeat)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(f"{lib} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--child"]:
        print(json.dumps(run(args[1], float(args[2]), int(args[3]))))
        return
    repeat = int(args[args.index("--repeat") + 1]) if "--repeat" in args else 3
    dask_scale = 1.0 if "--full" in args else 0.1
    ox = _child("oxdask", 1.0, repeat)
    dk = _child("dask", dask_scale, 1)
    print(f"{'workload':<14} {'tasks':>8} {'oxdask s':>9} {'build s':>8} {'dask tasks':>10} "
          f"{'dask s':>8} {'ratio (tasks/s)':>16}")  # fmt: skip
    for name, o in ox.items():
        d = dk[name]
        ratio = (o["tasks"] / o["s"]) / (d["tasks"] / d["s"])
        print(f"{name:<14} {o['tasks']:>8} {o['s']:>9.2f} {o['build_s']:>8.2f} "
              f"{d['tasks']:>10} {d['s']:>8.2f} {ratio:>15.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
