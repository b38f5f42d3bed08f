"""Distributed benchmarks: oxdask.distributed vs dask.distributed in one run.

Both use a LocalCluster of 2 worker processes x 1 thread on loopback. Each library runs in its
own subprocess. Prints, per metric, both values and the ratio (>1: oxdask is better).

    python benchmarks/bench_distributed.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time


def _inc(x):
    return x + 1


def _identity(x):
    return x


def _make(n):
    import numpy as np

    return np.ones(n, dtype="u1")


def _nbytes(a):
    return int(a.nbytes)


def run(lib: str) -> dict:
    if lib == "dask":
        from dask.distributed import Client, LocalCluster

        kw = {"dashboard_address": None}
    else:
        from oxdask.distributed import Client, LocalCluster

        kw = {"dashboard_address": None}
    out = {}
    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, **kw)
    client = Client(cluster)
    assert client.submit(_inc, 1).result() == 2
    out["startup_s"] = time.perf_counter() - t0

    n = 20_000
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        futures = client.map(_identity, range(n), pure=False)
        results = client.gather(futures)
        best = min(best, time.perf_counter() - t)
        assert results[-1] == n - 1
        del futures
    out["map_tasks_per_s"] = n / best

    lat = []
    for i in range(200):
        t = time.perf_counter()
        client.submit(_inc, i, pure=False).result()
        lat.append(time.perf_counter() - t)
    out["roundtrip_ms"] = 1e3 * statistics.median(lat)

    size = 256 * 2**20
    workers = list(client.scheduler_info()["workers"])
    times_w2w, times_gather = [], []
    for i in range(3):
        x = client.submit(_make, size + i, workers=[workers[0]], pure=False)
        x.result()
        t = time.perf_counter()
        y = client.submit(_nbytes, x, workers=[workers[1]], pure=False)
        assert y.result() == size + i
        times_w2w.append(time.perf_counter() - t)
        t = time.perf_counter()
        arr = x.result()
        times_gather.append(time.perf_counter() - t)
        assert arr.nbytes == size + i
        del x, y, arr
    out["worker_to_worker_MBps"] = size / 1e6 / min(times_w2w)
    out["gather_to_client_MBps"] = size / 1e6 / min(times_gather)
    client.close()
    cluster.close()
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in ("oxdask", "dask"):
        print(json.dumps(run(sys.argv[1])))
        return
    res = {}
    for lib in ("oxdask", "dask"):
        proc = subprocess.run(
            [sys.executable, __file__, lib], capture_output=True, text=True, timeout=900
        )
        if proc.returncode != 0:
            raise SystemExit(f"{lib} failed:\n{proc.stderr[-3000:]}")
        res[lib] = json.loads(proc.stdout.strip().splitlines()[-1])
    higher_is_better = {"map_tasks_per_s", "worker_to_worker_MBps", "gather_to_client_MBps"}
    print(f"{'metric':<24} {'oxdask':>12} {'dask':>12} {'ratio':>8}")
    for metric in res["oxdask"]:
        o, d = res["oxdask"][metric], res["dask"][metric]
        ratio = o / d if metric in higher_is_better else d / o
        print(f"{metric:<24} {o:>12.2f} {d:>12.2f} {ratio:>7.1f}x")


if __name__ == "__main__":
    main()
