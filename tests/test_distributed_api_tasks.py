"""What tasks can do on a real LocalCluster of processes (``get_worker``, ``print``/``warn``
outside forwarding, ``worker_client``), ``get_task_metadata`` and ``CompatibleExecutor``."""

from __future__ import annotations

import concurrent.futures as cf
import os
import threading
import time

import pytest

from oxdask.distributed import (
    Client,
    CompatibleExecutor,
    LocalCluster,
    get_task_metadata,
    get_worker,
    local_client,
    worker_client,
)
from oxdask.distributed import print as remote_print


@pytest.fixture(scope="module")
def client():
    with (
        LocalCluster(n_workers=2, threads_per_worker=2, dashboard_address=None) as cluster,
        Client(cluster, set_as_default=False) as c,
    ):
        yield c


def describe():
    w = get_worker()
    return {
        "address": w.address,
        "name": w.name,
        "nthreads": w.nthreads,
        "key": w.get_current_task(),
        "pid": w.pid,
    }


def inc(x):
    return x + 1


def submit_inside(n):
    with worker_client() as c:
        return sum(c.gather(c.map(inc, range(n))))


def submit_inside_old_name(n):
    with local_client() as c:
        return c.submit(inc, n).result()


def fail(x):
    raise ZeroDivisionError(f"bad {x}")


def test_get_worker_in_tasks_and_run(client):
    workers = client.scheduler_info()["workers"]
    for address in workers:
        future = client.submit(describe, workers=[address], pure=False)
        seen = future.result()
        assert seen["address"] == address == seen["name"]
        assert seen["nthreads"] == workers[address]["nthreads"] == 2
        assert seen["key"] == future.key
        assert seen["pid"] != os.getpid()
    assert client.run(lambda: get_worker().address) == {a: a for a in workers}
    with pytest.raises(ValueError, match="No worker found"):
        get_worker()


def test_worker_client_and_print_outside_workers(client, capsys):
    assert client.submit(submit_inside, 10, pure=False).result(timeout=60) == sum(range(1, 11))
    with pytest.raises(ValueError, match="inside a task"), worker_client():
        pass
    assert client.submit(submit_inside_old_name, 1, pure=False).result(timeout=60) == 2
    with pytest.warns(UserWarning, match="moved to worker_client"):
        old = local_client()
    with pytest.raises(ValueError, match="inside a task"), old:
        pass
    remote_print("a", 1, sep="+", end="!\n")  # outside workers: the builtin print
    assert capsys.readouterr().out == "a+1!\n"
    with open(os.devnull, "w") as other, pytest.raises(TypeError, match="file must be"):
        remote_print("x", file=other)
    with pytest.raises(TypeError, match="sep must be"):
        remote_print("x", sep=3)


def test_get_task_metadata(client):
    with client.as_current(), get_task_metadata() as tasks:
        good = client.submit(inc, 1, pure=False)
        bad = client.submit(fail, 1, pure=False)
        assert good.result() == 2
        with pytest.raises(ZeroDivisionError):
            bad.result()
        key = good.key
        del good  # the block keeps what it saw
    assert tasks.state == {key: "memory", bad.key: "erred"}
    assert tasks.metadata == {key: {}, bad.key: {}}
    assert "_send" not in vars(client)


def slow_identity(x, seconds=0.0):
    time.sleep(seconds)
    return x


def test_compatible_executor(client):
    with CompatibleExecutor(client) as ex:
        assert isinstance(ex, cf.Executor)
        assert list(ex.map(inc, range(10))) == list(map(inc, range(10)))
        assert list(ex.map(pow, [2, 3], [5, 2])) == [32, 9]
        futures = [ex.submit(inc, i) for i in range(5)]
        done, not_done = cf.wait(futures, timeout=30)
        assert not not_done
        assert sorted(f.result() for f in done) == [1, 2, 3, 4, 5]
        assert sorted(f.result() for f in cf.as_completed(futures)) == [1, 2, 3, 4, 5]
        erred = ex.submit(fail, 3)
        with pytest.raises(ZeroDivisionError, match="bad 3"):
            erred.result(timeout=30)
        assert isinstance(erred.exception(), ZeroDivisionError)
        slow = ex.submit(slow_identity, 1, 2, pure=False)
        assert slow.cancel() or slow.done()
        with pytest.raises(TimeoutError):
            list(ex.map(slow_identity, [1], [2], timeout=0.2))
    with pytest.raises(RuntimeError, match="after shutdown"):
        ex.submit(inc, 1)
    with pytest.raises(TypeError, match="unsupported arguments"):
        CompatibleExecutor(client, bogus=1)
    with pytest.raises(TypeError, match="needs a Client"):
        CompatibleExecutor(3)
    with CompatibleExecutor(client, pure=False) as ex:
        ran = ex.submit(slow_identity, 5, 0.2)
        ex.shutdown(wait=True)
        assert ran.done()
        assert ran.result() == 5


def test_config_is_the_global_configuration():
    import oxdask
    import oxdask.distributed

    with oxdask.config.set({"distributed.admin.log-length": 123}):
        assert oxdask.distributed.config["distributed"]["admin"]["log-length"] == 123
    assert oxdask.distributed.config is oxdask.config.config


def wait_for_path(path):
    deadline = time.monotonic() + 30
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)
    return get_worker().address


def test_thread_workers_share_a_process_but_not_their_tasks(tmp_path, monkeypatch, capsys):
    """Workers as threads of one process: each task is reported on its own worker."""
    import gc

    flag = str(tmp_path / "go")
    with (
        LocalCluster(n_workers=2, processes=False, threads_per_worker=1) as cluster,
        Client(cluster, set_as_default=False) as c,
    ):
        with monkeypatch.context() as m:  # no search of the heap in this (client) process
            m.setattr(gc, "get_objects", lambda *a: pytest.fail("heap searched"))
            remote_print("cheap")
            with pytest.raises(ValueError, match="No worker found"):
                get_worker()
        assert capsys.readouterr().out == "cheap\n"
        a, b = sorted(c.scheduler_info()["workers"])
        future = c.submit(wait_for_path, flag, workers=[a], pure=False)
        try:
            deadline = time.monotonic() + 10
            while not c.processing()[a] and time.monotonic() < deadline:
                time.sleep(0.02)
            assert c.processing() == {a: [future.key], b: []}
            assert list(c.call_stack()) == [a]
            assert set(c.profile(merge_workers=False)) == {a, b}
        finally:
            open(flag, "w").close()
        assert future.result(timeout=30) == a


def log_error(text):
    import logging

    logging.getLogger("user.shared").error(text)
    return get_worker().address


def has_forwarder():
    import logging

    handlers = logging.getLogger("user.shared").handlers
    return any(type(h).__name__ == "_Forward" for h in handlers)


def test_forwarding_per_client_and_to_workers_that_join_later():
    import logging

    records: list = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    keep = Keep()
    logger = logging.getLogger("user.shared")
    logger.addHandler(keep)
    try:
        with (
            LocalCluster(n_workers=1, threads_per_worker=1) as cluster,
            Client(cluster, set_as_default=False) as one,
            Client(cluster, set_as_default=False) as two,
        ):

            def seen(text, expected):
                """How many times ``text`` was re-emitted here: waits for ``expected``
                copies, then a little longer for any extra one."""
                deadline = time.monotonic() + 30
                count = 0
                while count < expected and time.monotonic() < deadline:
                    time.sleep(0.05)
                    count = sum(r.getMessage() == text for r in records)
                time.sleep(0.5)
                return sum(r.getMessage() == text for r in records)

            one.forward_logging("user.shared")
            two.forward_logging("user.shared")
            one.submit(log_error, "both", pure=False).result()
            assert seen("both", 2) == 2  # once per forwarding client
            two.unforward_logging("user.shared")
            one.submit(log_error, "only one", pure=False).result()
            assert seen("only one", 1) == 1
            cluster.scale(2)
            first = one.submit(log_error, "x").result()
            new = (set(one.scheduler_info()["workers"]) - {first}).pop()
            deadline = time.monotonic() + 30  # the forwarder's next collection installs it
            while not one.run(has_forwarder, workers=[new]).get(new):
                assert time.monotonic() < deadline
                time.sleep(0.05)
            where = one.submit(log_error, "from the new worker", workers=[new], pure=False)
            assert where.result() == new
            assert seen("from the new worker", 1) == 1
            one.unforward_logging("user.shared")
    finally:
        logger.removeHandler(keep)


def log_from_task(topic, value):
    get_worker().log_event(topic, value)
    return value


def test_events_logged_read_and_subscribed(client):
    before = time.time()
    client.log_event("api-test-a", {"x": 1})
    client.log_event(["api-test-a", "api-test-b"], [2, 3])
    assert client.submit(log_from_task, "api-test-b", "from a task", pure=False).result() == (
        "from a task"
    )
    events_a = client.get_events("api-test-a")
    assert [msg for _, msg in events_a] == [{"x": 1}, [2, 3]]
    assert all(before <= t <= time.time() for t, _ in events_a)
    assert [msg for _, msg in client.get_events("api-test-b")] == [[2, 3], "from a task"]
    everything = client.get_events()
    assert everything["api-test-a"] == events_a
    assert client.get_events("api-test-never") == ()

    got: list = []
    done: list = []

    async def async_handler(event):
        done.append(event[1])

    client.subscribe_topic("api-test-sub", got.append)
    client.subscribe_topic("api-test-async", async_handler)
    client.log_event("api-test-sub", "one")
    client.submit(log_from_task, "api-test-sub", "two", pure=False).result()
    client.log_event("api-test-async", "three")
    deadline = time.monotonic() + 10
    while (len(got) < 2 or not done) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [msg for _, msg in got] == ["one", "two"]
    assert done == ["three"]
    client.unsubscribe_topic("api-test-sub")
    client.unsubscribe_topic("api-test-async")
    client.log_event("api-test-sub", "after")
    time.sleep(0.3)
    assert [msg for _, msg in got] == ["one", "two"]
    with pytest.raises(ValueError, match="No event handler known"):
        client.unsubscribe_topic("api-test-sub")
    with pytest.raises(TypeError, match="topic must be"):
        client.log_event(3, "x")
    with pytest.raises(TypeError, match="picklable"):
        client.log_event("api-test-a", threading.Lock())
    with pytest.raises(TypeError, match="topic must be"):
        client.get_events(3)
    with pytest.raises(TypeError, match="handler must be callable"):
        client.subscribe_topic("api-test-sub", 3)
