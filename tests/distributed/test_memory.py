"""Worker memory limits on a real cluster: spilling to disk, out-of-core reductions, and a
worker restarted for memory with the reason in the error."""

from __future__ import annotations

import json
import time
import urllib.request

import numpy as np
import pytest
from _waiting import wait_for

import oxdask
from oxdask.distributed import Client, KilledWorker, LocalCluster
from oxdask.sizeof import sizeof


def full(i, n):
    return np.full(n, float(i))


def tree_sum(values):
    return float(sum(values))


def chunk_sum(a):
    return float(a.sum())


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    return 0


def hog(mb):
    block = np.ones(mb * 2**20 // 8)
    time.sleep(2)  # the memory monitor catches it in the act
    return float(block.sum())


def inc(x):
    return x + 1


def workers(client):
    return client.scheduler_info()["workers"]


def test_results_beyond_the_limit_spill_and_come_back_right():
    n = 2_500_000  # 20 MB per result, 400 MB in all under a 250 MB limit
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, memory_limit="250MB")
    with cluster, Client(cluster) as c:
        before = set(workers(c))
        futures = [c.submit(full, i, n, pure=False) for i in range(20)]
        sums = c.gather([c.submit(chunk_sum, f) for f in futures])
        assert sums == [float(i * n) for i in range(20)]
        assert wait_for(lambda: next(iter(workers(c).values()))["spilled"] > 0)
        w = next(iter(workers(c).values()))
        assert w["managed"] <= 0.7 * 250e6, w
        # The oldest results live on disk: gathered straight from there, intact.
        first = c.gather(futures[0])
        np.testing.assert_array_equal(first, np.zeros(n))
        np.testing.assert_array_equal(c.gather(futures[7]), np.full(n, 7.0))
        assert set(workers(c)) == before, "no worker restarted"
        assert max(c.run(peak_rss_mb).values()) < 0.95 * 250
        # The dashboard's task stream shows the spilling and the reads back, apart from the
        # tasks (``get_task_stream`` keeps to tasks, as Dask's).
        url = c.dashboard_link.rsplit("/", 1)[0] + "/json/task-stream?since=0"

        def spans():
            with urllib.request.urlopen(url, timeout=30) as r:
                return json.loads(r.read().decode())["tasks"]

        assert wait_for(lambda: {"disk-write-full", "disk-read-full"} <= {
            t["prefix"] for t in spans()})  # fmt: skip
        for t in spans():
            assert t["start"] <= t["stop"]
        assert {r["startstops"][0]["action"] for r in c.get_task_stream()} == {"compute"}


def test_a_reduction_over_six_times_the_cluster_memory_finishes():
    n = 5_000_000  # 40 MB per chunk
    chunks = 90  # 3.6 GB: six times the cluster's 600 MB
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="300MB")
    with cluster, Client(cluster) as c:
        before = set(workers(c))
        parts = [oxdask.delayed(full)(i, n) for i in range(chunks)]
        sums = [oxdask.delayed(chunk_sum)(p) for p in parts]
        while len(sums) > 1:
            sums = [oxdask.delayed(tree_sum)(sums[i : i + 8]) for i in range(0, len(sums), 8)]
        (total,) = oxdask.compute(sums[0], scheduler=c.get)
        assert total == float(n * sum(range(chunks)))
        assert set(workers(c)) == before, "no worker restarted"
        peaks = c.run(peak_rss_mb)
        assert max(peaks.values()) < 0.8 * 300, peaks


def test_a_worker_over_its_memory_is_restarted_and_killedworker_says_why():
    with oxdask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(n_workers=1, threads_per_worker=1, memory_limit="200MB")
    with cluster, Client(cluster) as c:
        (before,) = workers(c)
        future = c.submit(hog, 400)
        with pytest.raises(KilledWorker) as info:
            future.result(timeout=60)
        text = str(info.value)
        assert info.value.task == future.key
        assert info.value.last_worker == before
        assert info.value.deaths == 1
        assert "memory" in info.value.last_reason
        assert "exited because its process memory" in text, text
        assert "exceeded 95% of its memory limit" in text, text
        # The worker process restarted itself and serves again.
        assert wait_for(lambda: len(workers(c)) == 1 and before not in workers(c), 30)
        assert c.submit(inc, 1).result(timeout=30) == 2


def handler_and_sum(i, n):
    a = np.full(n, float(i))
    return np._core.multiarray.get_handler_name(a), float(a.sum())


def pool_stats():
    from oxdask import _core

    return _core.buffer_pool_stats()


def pool_installed():
    from oxdask import _core

    return _core.buffer_pool_activate()


def test_worker_processes_reuse_freed_numpy_buffers_and_give_them_back_when_idle():
    n = 1_000_000  # 8 MB arrays, freed as each task ends
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, memory_limit="400MB")
    with cluster, Client(cluster) as c:
        # the worker installs the pool beside its start, with NumPy's import
        assert wait_for(lambda: all(c.run(pool_installed).values()), 20)
        out = c.gather([c.submit(handler_and_sum, i, n, pure=False) for i in range(10)])
        assert out == [("oxdask_pool", float(i * n)) for i in range(10)]
        (stats,) = c.run(pool_stats).values()
        assert stats["hits"] >= 8, stats
        # idle task threads free what the pool keeps
        assert wait_for(lambda: next(iter(c.run(pool_stats).values()))["bytes"] == 0, 10)
        assert workers(c)  # and the worker serves on
    with oxdask.config.set({"distributed.worker.memory.buffer-pool": False}):
        cluster = LocalCluster(n_workers=1, threads_per_worker=1, memory_limit="400MB")
    with cluster, Client(cluster) as c:
        name, total = c.submit(handler_and_sum, 2, n).result(timeout=30)
        assert (name, total) == ("default_allocator", 2.0 * n)


def test_sizeof_knows_numpy_pandas_containers_and_user_types():
    pd = pytest.importorskip("pandas")
    a = np.ones(1000)
    assert sizeof(a) == 8000
    assert sizeof(np.broadcast_to(a[:1], (1000,))) == 8
    df = pd.DataFrame({"x": np.arange(1000), "y": np.ones(1000)})
    assert 16000 <= sizeof(df) <= 20000
    assert sizeof([a, a]) >= 16000
    assert sizeof({"a": a}) >= 8000
    big = list(range(100_000))
    assert abs(sizeof(big) - (sys_size := big.__sizeof__()) - 28 * 100_000) < 0.1 * sys_size

    class Blob:
        pass

    @sizeof.register(Blob)
    def _(b):
        return 12345

    assert sizeof(Blob()) == 12345
    assert sizeof([Blob(), Blob()]) >= 2 * 12345
