"""Actors (``client.submit(Cls, actor=True)``): a stateful object on one worker of a
LocalCluster of processes, driven from the client and from tasks. Every wait has a timeout."""

from __future__ import annotations

import asyncio
import gc
import os
import time

import pytest

from oxdask.distributed import (
    Actor,
    ActorFuture,
    BaseActorFuture,
    Client,
    LocalCluster,
)


class Counter:
    def __init__(self, start=0):
        self.n = start

    def increment(self, by=1):
        self.n += by
        return self.n

    def slow_increment(self, delay):
        n = self.n
        time.sleep(delay)
        self.n = n + 1
        return self.n

    def fail(self):
        raise KeyError("no such thing")

    def pid(self):
        return os.getpid()

    async def add_async(self, x):
        await asyncio.sleep(0)
        self.n += x
        return self.n

    def unpicklable(self):
        return lambda: None, __import__("threading").Lock()

    @property
    def doubled(self):
        return 2 * self.n


def bump(counter):
    return counter.increment().result(timeout=10)


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as c:
        yield c


@pytest.fixture(scope="module")
def client(cluster):
    with Client(cluster) as c:
        yield c


def test_actor_methods_and_attributes(client):
    future = client.submit(Counter, 5, actor=True)
    counter = future.result(timeout=10)
    assert isinstance(counter, Actor)
    assert repr(counter).startswith("<Actor: Counter, key=Counter-")
    assert counter.key == future.key
    assert counter.n == 5  # attributes are read on the worker
    call = counter.increment()
    assert isinstance(call, ActorFuture)
    assert isinstance(call, BaseActorFuture)
    assert call.result(timeout=10) == 6
    assert call.done()
    assert repr(call) == "<ActorFuture>"
    assert counter.increment(by=10).result(timeout=10) == 16
    assert counter.doubled == 32  # a property is an attribute read
    assert "increment" in dir(counter)
    # the object lives in a worker process, not here
    assert counter.pid().result(timeout=10) != os.getpid()
    assert counter.pid().result(timeout=10) in client.run(os.getpid).values()


def test_actor_from_many_tasks_counts_exactly(client):
    """Dask's docs example: a counter incremented from 10 tasks reaches 10, even with one
    thread per worker (the calls do not need a task thread of the actor's worker)."""
    counter = client.submit(Counter, actor=True).result(timeout=10)
    results = client.gather(client.map(bump, [counter] * 10, pure=False))
    assert sorted(results) == list(range(1, 11))
    assert counter.n == 10


def test_actor_methods_run_one_at_a_time(client):
    counter = client.submit(Counter, actor=True).result(timeout=10)
    calls = [counter.slow_increment(0.02) for _ in range(8)]  # read-sleep-write each
    assert sorted(c.result(timeout=10) for c in calls) == list(range(1, 9))
    assert counter.n == 8


def test_actor_errors_are_the_methods(client):
    counter = client.submit(Counter, actor=True).result(timeout=10)
    with pytest.raises(KeyError, match="no such thing"):
        counter.fail().result(timeout=10)
    with pytest.raises(AttributeError):
        counter.missing_attribute  # noqa: B018
    with pytest.raises(AttributeError, match="_repr_html_"):
        counter._repr_html_  # noqa: B018  (not asked of the worker)
    with pytest.raises(TypeError):
        counter.increment(1, 2, 3).result(timeout=10)
    with pytest.raises(TypeError, match="cannot send"):
        counter.increment(__import__("threading").Lock())
    with pytest.raises(Exception, match=r"pickle|Lock"):  # a result that cannot come back
        counter.unpicklable().result(timeout=10)
    assert counter.increment().result(timeout=10) == 1  # the actor still works


def test_actor_constructor_error_and_bad_input(client):
    with pytest.raises(TypeError):
        client.submit(Counter, 1, 2, 3, actor=True).result(timeout=10)
    with pytest.raises(TypeError, match="callable"):
        client.submit(42, actor=True)


def test_actor_async_method_and_await(client):
    counter = client.submit(Counter, actor=True).result(timeout=10)
    assert counter.add_async(3).result(timeout=10) == 3

    async def main():
        return await counter.increment()

    assert asyncio.run(main()) == 4


def test_actor_future_timeout(client):
    counter = client.submit(Counter, actor=True).result(timeout=10)
    call = counter.slow_increment(1.0)
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        call.result(timeout="100ms")
    assert time.monotonic() - start < 0.9
    assert call.result(timeout=10) == 1


def test_actor_map_and_workers(client):
    workers = sorted(client.scheduler_info()["workers"])
    futures = client.map(Counter, [1, 2, 3], actor=True, workers=[workers[0]])
    actors = client.gather(futures)
    assert [a.n for a in actors] == [1, 2, 3]
    assert {a._address for a in actors} == {workers[0]}
    assert len({a.key for a in actors}) == 3


def test_actor_lives_while_a_proxy_does(client):
    """As Dask: the proxy holds the actor's key, so the usual one-liner keeps it; once
    every future and proxy is gone, the worker drops the object."""
    counter = client.submit(Counter, actor=True).result(timeout=10)
    key = counter.key

    def registered(key=key):
        from oxdask.distributed import _actors

        return key in _actors._registry

    time.sleep(0.2)  # the creating future is released meanwhile
    assert counter.increment().result(timeout=10) == 1
    assert any(client.run(registered).values())
    del counter
    gc.collect()
    deadline = time.monotonic() + 10
    while any(client.run(registered).values()):
        assert time.monotonic() < deadline, "the actor outlived its last proxy"
        time.sleep(0.05)


def test_actor_of_a_client_that_is_not_the_default(cluster):
    """The proxy is kept alive by the client that fetched it, default or not."""
    with Client(cluster, set_as_default=False) as other:
        counter = other.submit(Counter, actor=True).result(timeout=10)  # future dropped
        assert counter.client is other
        time.sleep(0.3)
        gc.collect()
        assert counter.increment().result(timeout=10) == 1


def test_actor_on_thread_workers_calls_directly():
    with (
        LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        counter = client.submit(Counter, actor=True).result(timeout=10)
        assert counter.pid().result(timeout=10) == os.getpid()
        assert counter.increment().done()  # run here, at once
        assert counter.n == 1


def test_actor_whose_worker_died_raises(client):
    import signal

    counter = client.submit(Counter, actor=True).result(timeout=10)
    assert counter.increment().result(timeout=10) == 1
    pid = counter.pid().result(timeout=10)
    os.kill(pid, signal.SIGKILL)
    start = time.monotonic()
    with pytest.raises((OSError, RuntimeError)):
        counter.increment().result(timeout=10)
    assert time.monotonic() - start < 10
    deadline = time.monotonic() + 30  # the scheduler notices, the nanny replaces the worker
    while counter._address in client.scheduler_info()["workers"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    client.wait_for_workers(2, timeout=30)


def test_actor_future_as_a_task_argument(client):
    """The actor's future given to tasks: each gets the actor (moved as a proxy to other
    workers), and the calls add up."""
    future = client.submit(Counter, actor=True)
    workers = sorted(client.scheduler_info()["workers"])
    tasks = [client.submit(bump, future, workers=[w], pure=False) for w in workers * 3]
    assert sorted(client.gather(tasks)) == list(range(1, 7))
    assert future.result(timeout=10).n == 6
