"""Values shared through the scheduler: ``Queue``, ``Variable``, ``Pub``/``Sub``, published
datasets and metadata, from the client and from tasks on a LocalCluster of worker processes.
Futures inside them must arrive as futures of the receiving client and stay computed while
the scheduler keeps them. Every wait has a timeout: nothing here can hang."""

from __future__ import annotations

import gc
import pickle
import threading
import time
import uuid

import numpy as np
import pytest

import oxdask.array as da
from oxdask.distributed import (
    Client,
    Event,
    Future,
    LocalCluster,
    Pub,
    Queue,
    Sub,
    Variable,
    get_client,
)
from oxdask.distributed._queues import _held


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=2, dashboard_address=None) as c:
        yield c


@pytest.fixture(scope="module")
def client(cluster):
    with Client(cluster) as c:
        yield c


@pytest.fixture
def other(cluster, client):
    """A second client of the same scheduler (another process's view)."""
    with Client(cluster, set_as_default=False) as c:
        yield c


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def settle(client, key, expected: int, timeout: float = 5.0) -> None:
    """Wait until the scheduler holds ``key`` ``expected`` times (0: not at all)."""
    deadline = time.monotonic() + timeout
    while _held(client).get(key, 0) != expected:
        assert time.monotonic() < deadline, _held(client)
        time.sleep(0.05)


def dropped(future) -> str:
    """Release the caller's last reference to ``future``; returns its key."""
    key = future.key
    future.release()
    gc.collect()
    return key


def inc(x):
    return x + 1


# -- Queue --------------------------------------------------------------------------------------
def test_queue_fifo_and_size(client):
    q = Queue(unique("q"))
    for item in [1, "two", {"three": [3]}, None]:
        q.put(item)
    assert q.qsize() == 4
    assert [q.get(timeout=1) for _ in range(4)] == [1, "two", {"three": [3]}, None]
    assert q.qsize() == 0


def test_queue_get_timeout_raises(client):
    q = Queue(unique("q"))
    start = time.monotonic()
    with pytest.raises(TimeoutError):  # Dask's (asyncio's, builtins') TimeoutError
        q.get(timeout=0.2)
    assert 0.18 <= time.monotonic() - start < 2.0  # generous: a shared, busy machine


def test_queue_maxsize_put_timeout(client):
    q = Queue(unique("q"), maxsize=1)
    q.put(1)
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        q.put(2, timeout="200ms")
    assert 0.18 <= time.monotonic() - start < 2.0  # generous: a shared, busy machine
    assert q.get(timeout=1) == 1
    q.put(2, timeout=1)
    assert Queue(q.name).qsize() == 1


def test_queue_put_waits_for_room(client):
    q = Queue(unique("q"), maxsize=1)
    q.put("first")
    t = threading.Timer(0.3, lambda: Queue(q.name).get(timeout=5))
    t.start()
    q.put("second", timeout=5)  # room appears when the timer takes the first
    t.join()
    assert q.get(timeout=1) == "second"


def test_queue_batch(client):
    q = Queue(unique("q"))
    assert q.get(batch=True) == []
    for i in range(5):
        q.put(i)
    assert q.get(batch=2) == [0, 1]
    assert q.get(batch=True) == [2, 3, 4]
    with pytest.raises(NotImplementedError):
        q.get(batch=2, timeout=1)


def test_queue_bad_input(client):
    q = Queue(unique("q"))
    with pytest.raises(TypeError, match="cannot be pickled"):
        q.put(threading.Lock())
    assert q.qsize() == 0  # nothing half-sent
    with pytest.raises(TypeError):
        Queue(unique("q"), maxsize="3")
    with pytest.raises(TypeError):
        q.get(timeout=1, batch="all")


def _produce(name, n):
    q = Queue(name)
    for i in range(n):
        q.put(i * i)
    return n


def _consume(name, n):
    q = Queue(name)
    return [q.get(timeout=20) for _ in range(n)]


def test_queue_between_tasks(client):
    name = unique("q")
    consumer = client.submit(_consume, name, 30, pure=False)
    producer = client.submit(_produce, name, 30, pure=False)
    assert producer.result(timeout=60) == 30
    assert consumer.result(timeout=60) == [i * i for i in range(30)]


def test_queue_future_round_trip(client, other):
    q = Queue(unique("q"))
    key = dropped_put(client, q)
    settle(client, key, 1)  # the queue holds it; the sender has let go
    got = Queue(q.name, client=other).get(timeout=5)
    assert isinstance(got, Future)
    assert got.client is other
    assert got.key == key
    assert got.result(timeout=10) == 11
    settle(client, key, 0)  # handed over to the receiver
    assert got.result(timeout=10) == 11


def dropped_put(client, q) -> str:
    f = client.submit(inc, 10, pure=False)
    q.put(f)
    return dropped(f)


def _sum_queued_futures(name, n):
    q = Queue(name)
    futures = [q.get(timeout=20) for _ in range(n)]
    assert all(isinstance(f, Future) for f in futures)
    return sum(get_client().gather(futures))


def test_queue_futures_to_a_task(client):
    name = unique("q")
    q = Queue(name)
    for i in range(5):
        q.put(client.submit(inc, i, pure=False))
    gc.collect()
    assert client.submit(_sum_queued_futures, name, 5, pure=False).result(timeout=60) == 15


def test_queue_erred_future_keeps_its_error(client, other):
    q = Queue(unique("q"))
    f = client.submit(lambda: 1 / 0, pure=False)
    q.put(f)
    dropped(f)
    got = Queue(q.name, client=other).get(timeout=5)
    with pytest.raises(ZeroDivisionError):
        got.result(timeout=10)
    assert got.status == "error"


def test_queue_close_releases_held_futures(client):
    q = Queue(unique("q"))
    key = dropped_put(client, q)
    settle(client, key, 1)
    q.close()
    settle(client, key, 0)


def test_queue_pickles_by_name(client):
    q = Queue(unique("q"), maxsize=3)
    clone = pickle.loads(pickle.dumps(q))
    assert (clone.name, clone.maxsize) == (q.name, 3)
    clone.put("x")
    assert q.get(timeout=1) == "x"


# -- Variable -----------------------------------------------------------------------------------
def test_variable_set_get_delete(client, other):
    v = Variable(unique("v"))
    v.set({"a": [1, 2]})
    assert v.get(timeout=1) == {"a": [1, 2]}
    assert Variable(v.name, client=other).get(timeout=1) == {"a": [1, 2]}
    v.set(np.arange(3))
    np.testing.assert_array_equal(v.get(timeout=1), np.arange(3))
    v.delete()
    with pytest.raises(TimeoutError):
        v.get(timeout=0.1)


def test_variable_get_timeout(client):
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        Variable(unique("v")).get(timeout="200ms")
    assert 0.18 <= time.monotonic() - start < 2.0  # generous: a shared, busy machine


def test_variable_waits_for_a_value(client):
    v = Variable(unique("v"))
    threading.Timer(0.3, lambda: Variable(v.name).set(5)).start()
    assert v.get(timeout=5) == 5


def test_variable_future_kept_and_replaced(client, other):
    v = Variable(unique("v"))
    f = client.submit(inc, 41, pure=False)
    v.set(f)
    key = dropped(f)
    settle(client, key, 1)
    got = Variable(v.name, client=other).get(timeout=5)
    assert got.client is other
    assert got.result(timeout=10) == 42
    settle(client, key, 1)  # the variable still holds it, the reader has its own
    v.set("plain")
    settle(client, key, 0)  # replaced: the variable's hold is gone
    assert got.result(timeout=10) == 42  # the reader's future still works


def test_variable_unpicklable(client):
    with pytest.raises(TypeError, match="cannot be pickled"):
        Variable(unique("v")).set(threading.Lock())


def _read_future_variable(name):
    return Variable(name).get(timeout=20).result(timeout=20) * 2


def test_variable_future_to_a_task(client):
    name = unique("v")
    Variable(name).set(client.submit(inc, 20, pure=False))
    gc.collect()
    assert client.submit(_read_future_variable, name, pure=False).result(timeout=60) == 42


# -- Pub / Sub ----------------------------------------------------------------------------------
def test_pub_sub_order_buffer_and_timeout(client):
    name = unique("topic")
    Pub(name).put("before anyone listens")  # dropped
    sub = Sub(name)
    pub = Pub(name)
    for i in range(3):
        pub.put(i)
    assert sub.get(timeout=5) == 0
    assert list(sub.buffer) == [1, 2]  # arrived together, kept here
    assert [next(sub), next(iter(sub))] == [1, 2]
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        sub.get(timeout=0.2)
    assert 0.18 <= time.monotonic() - start < 2.0  # generous: a shared, busy machine
    sub.close()


def test_pub_sub_every_subscriber_gets_each_message(client, other):
    name = unique("topic")
    a, b = Sub(name), Sub(name, client=other)
    Pub(name).put({"x": 1})
    assert a.get(timeout=5) == {"x": 1}
    assert b.get(timeout=5) == {"x": 1}
    with pytest.raises(TypeError, match="cannot be pickled"):
        Pub(name).put(threading.Lock())


def _subscribe_and_collect(name, ready, n):
    sub = Sub(name)
    Event(ready).set()
    return [sub.get(timeout=20) for _ in range(n)]


def test_pub_sub_task_receives_from_client(client):
    name, ready = unique("topic"), unique("ready")
    fut = client.submit(_subscribe_and_collect, name, ready, 4, pure=False)
    assert Event(ready).wait(timeout=30)
    pub = Pub(name)
    for i in range(4):
        pub.put(i * 10)
    assert fut.result(timeout=60) == [0, 10, 20, 30]


def test_sub_of_closed_client_stops_holding(cluster, client):
    name = unique("topic")
    gone = Client(cluster, set_as_default=False)
    Sub(name, client=gone)
    f = client.submit(inc, 1, pure=False)
    Pub(name).put(f)
    key = dropped(f)
    settle(client, key, 1)  # waiting for the subscriber
    gone.close()
    settle(client, key, 0)


# -- datasets -----------------------------------------------------------------------------------
def test_publish_persisted_array_outlives_publisher(cluster, client):
    name = unique("ds")
    publisher = Client(cluster, set_as_default=False)
    x = da.arange(20, chunks=5) * 3
    persisted = publisher.persist(x)
    publisher.publish_dataset(persisted, name=name)
    del persisted
    publisher.close()  # its futures are gone; the scheduler's hold keeps the chunks
    y = client.get_dataset(name)
    np.testing.assert_array_equal(y.compute(), np.arange(20) * 3)
    client.unpublish_dataset(name)


def test_publish_persisted_dataframe_bag_and_delayed(client, other):
    import pandas as pd

    import oxdask
    import oxdask.bag as db
    import oxdask.dataframe as dd

    pdf = pd.DataFrame({"a": range(10), "b": list("abcdefghij")})
    names = {k: unique(k) for k in ("df", "bag", "delayed")}
    client.publish_dataset(
        **{
            names["df"]: client.persist(dd.from_pandas(pdf, npartitions=3)),
            names["bag"]: client.persist(db.from_sequence(range(10), npartitions=2).map(inc)),
            names["delayed"]: client.persist(oxdask.delayed(sum)([1, 2, 3])),
        }
    )
    gc.collect()
    pd.testing.assert_frame_equal(other.get_dataset(names["df"]).compute(scheduler=other.get), pdf)
    bag = other.get_dataset(names["bag"]).compute(scheduler=other.get)
    assert bag == [inc(i) for i in range(10)]
    assert other.get_dataset(names["delayed"]).compute(scheduler=other.get) == 6
    client.unpublish_dataset(list(names.values()))


def test_publish_forms_and_listing(client, other):
    a, b, c = unique("a"), unique("b"), unique("c")
    client.publish_dataset(**{a: 1})
    client.publish_dataset({b: [2]})
    client.publish_dataset(3, 4, name=c)  # several values: a tuple
    names = other.list_datasets()
    assert {a, b, c} <= set(names)
    assert names == sorted(names, key=str)
    assert other.get_dataset([a, b, c]) == [1, [2], (3, 4)]
    with pytest.raises(KeyError, match="already exists"):
        client.publish_dataset(**{a: 10})
    client.publish_dataset(**{a: 10}, override=True)
    assert other.get_dataset(a) == 10
    client.unpublish_dataset([a, b, c])
    assert not {a, b, c} & set(client.list_datasets())


def test_get_dataset_missing_and_default(client):
    name = unique("missing")
    with pytest.raises(KeyError, match="not found"):
        client.get_dataset(name)
    assert client.get_dataset(name, default=None) is None
    client.unpublish_dataset(name)  # not there: nothing happens, as Dask


def test_publish_bad_input(client):
    with pytest.raises(ValueError, match="name"):
        client.publish_dataset(1)
    with pytest.raises(ValueError, match="name"):
        client.publish_dataset(name="x")
    with pytest.raises(TypeError, match="cannot be pickled"):
        client.publish_dataset(threading.Lock(), name=unique("ds"))


def test_publish_future_held_until_unpublished(client, other):
    name = unique("ds")
    f = client.submit(inc, 99, pure=False)
    client.publish_dataset(f, name=name)
    key = dropped(f)
    settle(client, key, 1)
    got = other.get_dataset(name)
    assert got.client is other
    assert got.result(timeout=10) == 100
    client.unpublish_dataset(name)
    settle(client, key, 0)


def test_datasets_mapping(client, other):
    name = unique("ds")
    client.datasets[name] = {"v": 1}
    assert name in other.datasets
    assert other.datasets[name] == {"v": 1}
    assert name in list(client.datasets)
    assert len(client.datasets) >= 1
    del other.datasets[name]
    assert name not in client.datasets
    with pytest.raises(KeyError):
        del client.datasets[name]
    with pytest.raises(KeyError):
        client.datasets[name]


def _dataset_in_task(name):
    # compute() of a collection holding futures runs on the worker's client, as in Dask
    return get_client().get_dataset(name).sum().compute()


def test_get_dataset_in_a_task(client):
    name = unique("ds")
    client.publish_dataset(client.persist(da.ones(10, chunks=2)), name=name)
    assert client.submit(_dataset_in_task, name, pure=False).result(timeout=60) == 10
    client.unpublish_dataset(name)


# -- metadata -----------------------------------------------------------------------------------
def test_metadata_nested_as_dask(client, other):
    top = unique("m")
    client.set_metadata(top, 123)
    assert other.get_metadata(top) == 123
    client.set_metadata([top, "y"], 123)
    assert client.get_metadata(top) == {"y": 123}
    client.set_metadata([top, "w", "z"], 456)
    assert client.get_metadata(top) == {"y": 123, "w": {"z": 456}}
    assert client.get_metadata([top, "w"]) == {"z": 456}
    assert client.get_metadata((top, "w", "z")) == 456


def test_metadata_missing(client):
    top = unique("m")
    with pytest.raises(KeyError):
        client.get_metadata(top)
    assert client.get_metadata([top, "a"], default="d") == "d"
    assert client.get_metadata(top, None) is None
    client.set_metadata([top, "a"], 1)
    with pytest.raises(KeyError):
        client.get_metadata([top, "b"])


def test_values_with_an_asynchronous_client(cluster, client):
    import asyncio

    name = unique("q")

    async def main():
        ac = await Client(cluster, asynchronous=True, set_as_default=False)
        try:
            q = Queue(name, client=ac)
            await q.put(1)
            assert await q.qsize() == 1
            assert await q.get(timeout=1) == 1
            with pytest.raises(TimeoutError):
                await q.get(timeout=0.1)
            v = Variable(unique("v"), client=ac)
            await v.set([1])
            assert await v.get(timeout=1) == [1]
            await ac.publish_dataset(x=5, name=None)
            assert await ac.get_dataset("x") == 5
            await ac.unpublish_dataset("x")
        finally:
            await ac.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_scheduler_process_from_the_command_line_holds_futures():
    # `oxdask scheduler` in its own process: its extension opens its own client for holds.
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "oxdask.cli"]
    procs = [subprocess.Popen([*cmd, "scheduler", "--port", str(port), "--no-dashboard"])]
    try:
        time.sleep(0.5)
        procs.append(subprocess.Popen([*cmd, "worker", address, "--nthreads", "1"]))
        name = unique("ds")
        with Client(address, timeout=30, set_as_default=False) as publisher:
            publisher.wait_for_workers(1, timeout=30)
            # builtins: a worker started alone cannot import this test module
            publisher.publish_dataset(publisher.submit(sum, [1, 1], pure=False), name=name)
            Queue("q", client=publisher).put(publisher.submit(sum, [1, 2], pure=False))
        with Client(address, timeout=30, set_as_default=False) as reader:
            assert reader.get_dataset(name).result(timeout=30) == 2
            assert Queue("q", client=reader).get(timeout=5).result(timeout=30) == 3
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


def _submit_and_queue(name, n):
    c = get_client()
    q = Queue(name)
    for i in range(n):
        q.put(c.submit(inc, i, pure=False))  # the task's futures go when it returns
    return n


def test_futures_made_in_a_task_outlive_it_in_a_queue(client):
    name = unique("q")
    assert client.submit(_submit_and_queue, name, 4, pure=False).result(timeout=60) == 4
    gc.collect()
    time.sleep(0.3)  # the worker's client has released its references by now
    futures = Queue(name).get(batch=True)
    assert [f.client for f in futures] == [client] * 4
    assert client.gather(futures) == [1, 2, 3, 4]


def test_nested_futures_in_a_variable(client, other):
    v = Variable(unique("v"))
    a, b = client.submit(inc, 1, pure=False), client.submit(inc, 2, pure=False)
    v.set({"pair": [a, b], "label": "x"})
    keys = {dropped(a), dropped(b)}
    for k in keys:
        settle(client, k, 1)
    got = Variable(v.name, client=other).get(timeout=5)
    assert got["label"] == "x"
    assert {f.key for f in got["pair"]} == keys
    assert other.gather(got["pair"]) == [2, 3]
