"""More of Dask's cluster, client and future API on a LocalCluster of worker processes:
the cluster's name, logs, client, scaling up and down, adaptive scaling; ``Future.executor``
and ``Future.substitute``. Every wait has a timeout."""

from __future__ import annotations

import asyncio
import logging
import os
import time

import pytest

from oxdask.distributed import Adaptive, Client, Future, LocalCluster


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None, name="more") as c:
        yield c


@pytest.fixture(scope="module")
def client(cluster):
    with Client(cluster) as c:
        yield c


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def count(cluster) -> int:
    return len(cluster.workers_info())


# -- the cluster ----------------------------------------------------------------------------------
def test_cluster_name_asynchronous_and_removed_methods(cluster):
    assert cluster.name == "more"
    cluster.name = "renamed"
    assert cluster.name == "renamed"
    assert cluster.asynchronous is False
    with pytest.raises(NotImplementedError, match="scale"):
        cluster.start_worker()
    with pytest.raises(NotImplementedError):
        LocalCluster.from_name("anything")
    with (
        LocalCluster(n_workers=0, processes=False, dashboard_address=None) as one,
        LocalCluster(n_workers=0, processes=False, dashboard_address=None) as two,
    ):
        assert len(one.name) == 8  # random
        assert one.name != two.name


def test_async_cluster():
    async def main():
        async with LocalCluster(
            n_workers=1, processes=False, dashboard_address=None, asynchronous=True
        ) as cluster:
            assert cluster.asynchronous is True
            assert await cluster is cluster
            return count(cluster)

    assert asyncio.run(main()) == 1


def test_get_client(cluster, client):
    assert cluster.get_client() is client  # the current client of this cluster
    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as other:
        new = other.get_client()
        try:
            assert new is not client
            assert new.scheduler_address == other.scheduler_address
            assert new.submit(sum, [1, 2]).result(timeout=10) == 3
        finally:
            new.close()


def logs_something(x):
    logging.getLogger("oxdask.test").warning("hello from a task %s", x)
    return x


def test_get_logs(cluster, client):
    client.submit(logs_something, 17, pure=False).result(timeout=10)
    logs = cluster.get_logs()
    workers = set(client.scheduler_info()["workers"])
    assert set(logs) == {"Cluster", "Scheduler"} | workers
    assert all(isinstance(v, str) for v in logs.values())
    assert any("hello from a task 17" in logs[w] for w in workers)
    only = cluster.get_logs(cluster=False, scheduler=False, workers=[sorted(workers)[0]])
    assert set(only) == {sorted(workers)[0]}
    assert cluster.get_logs(scheduler=False, workers=False) == {"Cluster": logs["Cluster"]}


def test_scale_up_and_down(cluster, client):
    start = count(cluster)
    cluster.scale_up(start + 1)
    assert count(cluster) == start + 1
    future = client.submit(lambda: "kept", pure=False)
    assert future.result(timeout=10) == "kept"
    holder = next(iter(client.who_has([future])[future.key]))
    cluster.scale_down([holder])
    assert holder not in {w["address"] for w in cluster.workers_info()}
    assert count(cluster) == start
    assert future.result(timeout=10) == "kept"  # its result moved before the worker closed
    cluster.scale(start + 1)
    cluster.scale(start)  # scale shrinks too
    assert count(cluster) == start
    assert len(cluster._procs) == start  # the closed workers' processes are gone
    with pytest.raises(ValueError, match="not workers of this cluster"):
        cluster.scale_down(["tcp://127.0.0.1:1"])
    with pytest.raises(ValueError, match="non-negative"):
        cluster.scale(-1)


def test_adaptive_scales_with_the_load(cluster, client):
    start = count(cluster)
    adaptive = cluster.adapt(
        minimum=start, maximum=start + 1, interval="100ms", wait_count=2, target_duration="1s"
    )
    try:
        assert isinstance(adaptive, Adaptive)
        futures = client.map(time.sleep, [1.5] * 6, pure=False)
        wait_for(lambda: count(cluster) == start + 1, what="scale up")
        client.gather(futures)
        wait_for(lambda: count(cluster) == start, what="scale down")
        assert [e["status"] for _, e in adaptive.log][:1] == ["up"]
        assert "down" in [e["status"] for _, e in adaptive.log]
    finally:
        adaptive.stop()
    with pytest.raises(ValueError, match="minimum"):
        cluster.adapt(minimum=3, maximum=1)


# -- futures --------------------------------------------------------------------------------------
def test_future_executor_and_substitute(client):
    a = client.submit(sum, [1, 2], pure=False)
    b = client.submit(sum, [3, 4], pure=False)
    assert a.executor is client
    assert a.substitute({}) is a
    assert a.substitute({a.key: b}) is b
    other = a.substitute({a.key: b.key})
    assert isinstance(other, Future)
    assert other.key == b.key
    assert other.result(timeout=10) == 7


# -- replicas and stories -------------------------------------------------------------------------
def test_replicate(client, cluster):
    cluster.scale(3)
    workers = sorted(client.scheduler_info()["workers"])
    data = list(range(1000))
    future = client.submit(list, data, workers=[workers[0]], pure=False)
    assert future.result(timeout=10) == data
    assert client.who_has([future])[future.key] == [workers[0]]
    client.replicate([future], n=2)
    assert len(client.who_has([future])[future.key]) == 2
    client.replicate(future)  # n=None: every worker
    assert sorted(client.who_has([future])[future.key]) == workers
    # each copy is the value: a task pinned to each holder reads it there
    for w in workers:
        assert client.submit(sum, future, workers=[w], pure=False).result(timeout=10) == sum(data)
    other = client.submit(len, "abc", workers=[workers[0]], pure=False)
    other.result(timeout=10)
    client.replicate([other], workers=workers[1:])
    assert sorted(client.who_has([other])[other.key]) == workers
    with pytest.raises(ValueError, match="at least 1"):
        client.replicate([future], n=0)
    with pytest.raises(TypeError, match="integer"):
        client.replicate([future], n="2")
    with pytest.raises(ValueError, match="not workers"):
        client.replicate([future], workers=["tcp://127.0.0.1:1"])
    cluster.scale(2)


def test_story(client):
    ok = client.submit(sum, [5, 6], pure=False)
    assert ok.result(timeout=10) == 11
    bad = client.submit(lambda: 1 / 0, pure=False)
    with pytest.raises(ZeroDivisionError):
        bad.result(timeout=10)
    story = client.story(ok)
    assert [(s, f) for _, s, f, *_ in story][-1] == ("processing", "memory")
    assert all(entry[0] == ok.key for entry in story)
    assert all(entry[4].startswith("stimulus-") for entry in story)
    assert all(abs(entry[5] - time.time()) < 60 for entry in story)
    both = client.story(ok.key, bad)
    assert {e[0] for e in both} == {ok.key, bad.key}
    assert (bad.key, "processing", "erred") in [e[:3] for e in both]
    first = story[-1][4]
    assert [e[:3] for e in client.story(first, ok)] == [(ok.key, "processing", "memory")]
    with pytest.raises(ValueError, match="on_error"):
        client.story(ok, on_error="maybe")


# -- Scheduler, Worker, Nanny, SpecCluster, SubprocessCluster -------------------------------------
def test_scheduler_worker_nanny_async_context_managers():
    from oxdask.distributed import Nanny, Scheduler, Worker

    async def main():
        async with Scheduler() as s:
            async with Worker(s.address, nthreads=2) as w, Nanny(s.address) as n:
                assert w.address != n.worker_address
                async with Client(s.address, asynchronous=True, set_as_default=False) as c:
                    info = c.scheduler_info()["workers"]
                    assert set(info) == {w.address, n.worker_address}
                    assert info[w.address]["nthreads"] == 2
                    future = c.submit(sum, [1, 2, 3])
                    assert await future == 6
                    pid = await c.run(os.getpid, workers=[n.worker_address])
                    assert pid[n.worker_address] != os.getpid()  # the nanny's worker process
            assert n.process.poll() is not None  # closed with the block
            await s.close()
            return s.status

    assert asyncio.run(main()) == "closed"
    with pytest.raises(ValueError, match="scheduler's address"):
        Worker()
    with pytest.raises(ValueError, match="nthreads"):
        Worker("tcp://127.0.0.1:1", nthreads=0)


def test_spec_cluster_and_scale():
    from oxdask.distributed import Nanny, Scheduler, SpecCluster, Worker

    scheduler = {"cls": Scheduler, "options": {}}
    workers = {
        "my-worker": {"cls": Worker, "options": {"nthreads": 1}},
        "my-nanny": {"cls": Nanny, "options": {"nthreads": 2}},
    }
    template = {"cls": Worker, "options": {"nthreads": 1}}
    with SpecCluster(workers=workers, scheduler=scheduler, worker=template) as cluster:
        assert set(cluster.worker_spec) == {"my-worker", "my-nanny"}
        assert isinstance(cluster.workers["my-nanny"], Nanny)
        assert count(cluster) == 2
        names = {w["name"] for w in cluster.workers_info()}
        assert names == {"my-worker", "my-nanny"}
        cluster.scale(4)
        assert list(cluster.worker_spec)[-2:] == [0, 1]
        assert count(cluster) == 4
        with Client(cluster, set_as_default=False) as client:
            assert client.submit(sum, [4, 5]).result(timeout=10) == 9
        cluster.scale(1)
        wait_for(lambda: count(cluster) == 1, what="scale down")
        assert list(cluster.worker_spec) == ["my-worker"]
        cluster.scale_down(["my-worker"])
        wait_for(lambda: count(cluster) == 0, what="scale down by name")
    with pytest.raises(TypeError, match="specification"):
        SpecCluster(scheduler={"options": {}})
    with SpecCluster() as bare, pytest.raises(ValueError, match="template"):
        bare.scale(1)


def test_subprocess_cluster():
    from oxdask.distributed import SpecCluster, SubprocessCluster

    with SubprocessCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as cluster:
        assert isinstance(cluster, SpecCluster)
        scheduler_pid = cluster.scheduler.process.pid
        assert scheduler_pid != os.getpid()
        with Client(cluster, set_as_default=False) as client:
            assert client.submit(sum, [1, 1]).result(timeout=20) == 2
            assert client.run_on_scheduler(os.getpid) == scheduler_pid
            cluster.scale(2)
            assert len(client.scheduler_info()["workers"]) == 2
    assert cluster.scheduler.process.poll() is not None


# -- span and Reschedule --------------------------------------------------------------------------
def test_span_annotations():
    import oxdask
    from oxdask.distributed import span

    with span("workflow") as outer:
        assert oxdask.get_annotations()["span"] == {"name": ("workflow",), "ids": (outer,)}
        with span("step", "inner") as inner:
            got = oxdask.get_annotations()["span"]
            assert got["name"] == ("workflow", "step", "inner")
            assert got["ids"][0] == outer
            assert got["ids"][-1] == inner
            assert len(set(got["ids"])) == 3
    assert "span" not in oxdask.get_annotations()
    with span("workflow") as again:
        assert again != outer  # reopening makes a new span
    with pytest.raises(ValueError, match="at least one span tag"), span():
        pass
    with pytest.raises(TypeError, match="strings"), span(1):
        pass


def flaky(path):
    """Asks to be rescheduled until it ran three times."""
    from oxdask.distributed import Reschedule

    with open(path, "a") as f:
        f.write("x")
    with open(path) as f:
        runs = len(f.read())
    if runs < 3:
        raise Reschedule()
    return runs


def test_reschedule_runs_the_task_again(client, tmp_path):
    path = str(tmp_path / "runs")
    assert client.submit(flaky, path, pure=False).result(timeout=20) == 3
    with open(path) as f:
        assert f.read() == "xxx"


# -- values of the client's __main__ --------------------------------------------------------------
def test_classes_of_the_scripts_main_module_reach_workers(client):
    """A script's classes are pickled by reference to ``__main__``, which on a worker is
    another module: they travel by value instead (as Dask's cloudpickle does)."""
    import __main__

    class Thing:
        def __init__(self, n):
            self.n = n

    Thing.__module__ = "__main__"
    Thing.__qualname__ = "Thing_for_test"
    __main__.Thing_for_test = Thing
    try:
        things = [Thing(1), Thing(2)]
        assert client.submit(len, things).result(timeout=10) == 2
        assert client.submit(lambda c: c.__name__, Thing).result(timeout=10) == "Thing"
        scattered = client.scatter(Thing(5))
        assert client.submit(lambda t: t.n * 2, scattered).result(timeout=10) == 10
    finally:
        del __main__.Thing_for_test


def test_story_and_replicate_on_an_asynchronous_client(cluster):
    async def main():
        async with Client(cluster, asynchronous=True, set_as_default=False) as client:
            future = client.submit(sum, [2, 3], pure=False)
            assert await future == 5
            await client.replicate([future])
            holders = client.who_has([future])
            if asyncio.iscoroutine(holders):
                holders = await holders
            return await client.story(future), holders[future.key]

    story, holders = asyncio.run(main())
    assert story[-1][1:3] == ("processing", "memory")
    assert len(holders) == count(cluster)
