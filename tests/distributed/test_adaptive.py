"""Adaptive scaling on a real LocalCluster of processes: up with the load, back down when it
is gone, nothing recomputed; and Dask's HTTP API for cluster managers on the scheduler."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from _waiting import wait_for

from oxdask.distributed import Adaptive, Client, LocalCluster


def slow(i):
    time.sleep(0.1)
    return i * 2


def count(cluster) -> int:
    return len(cluster.workers_info())


@pytest.mark.timeout(180)
def test_a_cluster_adapts_from_zero_to_two_and_back_to_zero():
    with LocalCluster(n_workers=0, threads_per_worker=1) as cluster, Client(cluster) as c:
        adaptive = cluster.adapt(minimum=0, maximum=2, interval="200ms", wait_count=2,
                                 target_duration="1s", minimum_age="0.5s")  # fmt: skip
        try:
            assert isinstance(adaptive, Adaptive)
            futures = c.map(slow, range(300))
            assert wait_for(lambda: count(cluster) == 2), adaptive.log
            assert c.gather(futures, asynchronous=False) == [2 * i for i in range(300)]
            ran = [r for r in c.get_task_stream() if r["prefix"] == "slow"]
            assert len(ran) == 300  # every task ran once: nothing recomputed
            del futures
            assert wait_for(lambda: count(cluster) == 0, 60), adaptive.log
            statuses = [e["status"] for _, e in adaptive.log]
            assert statuses[0] == "up"
            assert "down" in statuses
        finally:
            adaptive.stop()


def test_bounds_in_cores_and_memory_and_bad_input():
    with LocalCluster(n_workers=0, threads_per_worker=2, memory_limit="1GiB") as cluster:
        a = cluster.adapt(minimum_cores=3, maximum_cores=8, maximum_memory="3GiB")
        a.stop()
        assert (a.minimum, a.maximum) == (2, 3)
        with pytest.raises(ValueError, match="minimum"):
            cluster.adapt(minimum=3, maximum=1)
        with pytest.raises(ValueError, match="wait_count"):
            cluster.adapt(wait_count=0)


def api(cluster, path, body=None):
    base = cluster.dashboard_link.removesuffix("/status")
    data = None if body is None else json.dumps(body).encode()
    with urllib.request.urlopen(base + path, data=data, timeout=30) as r:
        return json.loads(r.read())


def test_the_scheduler_serves_dasks_http_api_for_cluster_managers():
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as c:
        assert api(cluster, "/api/v1/adaptive_target") == {"workers": 0}
        futures = c.map(slow, range(100))
        assert wait_for(lambda: api(cluster, "/api/v1/adaptive_target")["workers"] >= 2, 20)
        c.gather(futures)
        workers = api(cluster, "/api/v1/get_workers")["workers"]
        assert {w["address"] for w in workers} == set(c.scheduler_info()["workers"])
        del futures
        assert wait_for(lambda: api(cluster, "/api/v1/check_idle")["idle_since"] is not None)
        assert api(cluster, "/api/v1/check_idle")["idle_since"] <= time.time()
        retired = api(cluster, "/api/v1/retire_workers", {"n": 1})["workers"]
        assert len(retired) == 1
        assert wait_for(lambda: count(cluster) == 1)
        assert retired[0] not in c.scheduler_info()["workers"]
        with pytest.raises(urllib.error.HTTPError) as info:
            api(cluster, "/api/v1/retire_workers", {"nope": 1})
        info.value.close()  # it holds the connection
        assert info.value.code == 400
