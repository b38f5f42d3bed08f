"""Dataframe shuffles on a cluster: oxdask.distributed vs dask.distributed in one run.

Each (workload, library) runs in a fresh subprocess on ``LocalCluster(n_workers=2,
threads_per_worker=1, processes=True)``; partitions are generated on the workers
(``from_map``, the generators of ``dataframe_workloads.py``, same sizes). oxdask runs twice:
with its default engine shuffle (pieces kept on the workers, taken peer to peer) and with
``dataframe.shuffle.method: tasks``; Dask uses its default (p2p). Printed: wall time of the
compute, the peak RSS of the larger worker, and oxdask's ratio (>1: oxdask is faster).

    python benchmarks/bench_cluster_dataframe.py [merge groupby_many set_index]
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dataframe_workloads as w

RUNS = ("oxdask", "oxdask-tasks", "dask")


def _merge(dd):
    left = dd.from_map(w._left_part, range(w.FILES), args=(w.MERGE_LEFT // w.FILES, w.MERGE_RIGHT))
    right = dd.from_map(w._right_part, range(4), args=(w.MERGE_RIGHT // 4, 4))
    total = left.merge(right, on="key", how="inner").y.sum().compute()
    assert abs(total - w.MERGE_LEFT / 2) < w.MERGE_LEFT * 0.01, total


def _groupby_many(dd):
    n = w.GROUPBY_ROWS // w.FILES
    df = dd.from_map(w._groupby_part, range(w.FILES), args=(n, w.GROUPS))
    result = df.groupby("key").value.sum(split_out=w.FILES).compute()
    assert abs(len(result) - w.GROUPS) < w.GROUPS * 0.01, len(result)


def _set_index(dd):
    n = w.SET_INDEX_ROWS // w.FILES
    df = dd.from_map(w._unsorted_part, range(w.FILES), args=(n,))
    out = df.set_index("x")
    sizes = out.map_partitions(lambda p: (len(p), p.index.is_monotonic_increasing)).compute()
    assert sum(int(s[0]) for s in sizes) == n * w.FILES
    assert all(bool(s[1]) for s in sizes)


WORKLOADS = {"merge": _merge, "groupby_many": _groupby_many, "set_index": _set_index}


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run(lib: str, workload: str) -> dict:
    if lib == "dask":
        import dask.dataframe as dd
        from dask.distributed import Client, LocalCluster
    else:
        import oxdask
        import oxdask.dataframe as dd
        from oxdask.distributed import Client, LocalCluster

        if lib == "oxdask-tasks":
            oxdask.config.set({"dataframe.shuffle.method": "tasks"})
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = Client(cluster)
    try:
        t = time.perf_counter()
        WORKLOADS[workload](dd)
        seconds = time.perf_counter() - t
        rss = max(client.run(_peak_rss_mb).values())
    finally:
        client.close()
        cluster.close()
    return {"seconds": seconds, "worker_rss_mb": rss}


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] in RUNS:
        print(json.dumps(run(sys.argv[1], sys.argv[2])))
        return
    workloads = sys.argv[1:] or list(WORKLOADS)
    print(
        f"{'workload':<14}"
        + "".join(f"{r + ' s':>16}{'MB':>7}" for r in RUNS)
        + f"{'ratio':>8}{'tasks ratio':>13}"
    )
    for workload in workloads:
        res = {}
        for lib in RUNS:
            proc = subprocess.run(
                [sys.executable, __file__, lib, workload],
                capture_output=True,
                text=True,
                timeout=1200,
            )
            if proc.returncode != 0:
                raise SystemExit(f"{lib} {workload} failed:\n{proc.stderr[-3000:]}")
            res[lib] = json.loads(proc.stdout.strip().splitlines()[-1])
        cells = "".join(f"{res[r]['seconds']:>16.2f}{res[r]['worker_rss_mb']:>7.0f}" for r in RUNS)
        ratio = res["dask"]["seconds"] / res["oxdask"]["seconds"]
        tasks_ratio = res["dask"]["seconds"] / res["oxdask-tasks"]["seconds"]
        print(f"{workload:<14}{cells}{ratio:>7.1f}x{tasks_ratio:>12.1f}x", flush=True)


if __name__ == "__main__":
    main()
