"""The distributed client against a real local cluster (scheduler + 2 worker processes)."""

from __future__ import annotations

import gc
import os
import signal
import time
from operator import add

import pytest

import oxdask
from oxdask.distributed import (
    Client,
    FutureCancelledError,
    LocalCluster,
    as_completed,
    fire_and_forget,
    wait,
)


def inc(x):
    return x + 1


def slow_inc(x, delay=0.05):
    time.sleep(delay)
    return x + 1


def boom(x):
    raise ZeroDivisionError(f"bad {x}")


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1) as c:
        yield c


@pytest.fixture
def client(cluster):
    with Client(cluster) as c:
        yield c


def test_submit_map_gather(client):
    assert client.submit(inc, 1).result(timeout=10) == 2
    futures = client.map(inc, range(100))
    assert client.gather(futures) == [i + 1 for i in range(100)]
    total = client.submit(sum, futures)
    assert total.result(timeout=10) == sum(range(1, 101))
    assert client.gather({"a": futures[0], "b": [futures[1]]}) == {"a": 1, "b": [2]}
    # plain elements beside futures, in the elements and in the keyword arguments
    mixed = client.map(_pair, [futures[0], 5, [futures[1], 1]], [1, futures[2], 0], pure=False)
    assert client.gather(mixed) == [(1, 1), (5, 3), ([2, 1], 0)]
    scaled = client.map(_pair, [1, "x"], [2, 3], scale=futures[3], pure=False)
    assert client.gather(scaled) == [(4, 8), ("xxxx", 12)]


def _pair(a, b, scale=1):
    return (a * scale, b * scale)


def test_futures_as_arguments_move_between_workers(client):
    workers = list(client.scheduler_info()["workers"])
    assert len(workers) == 2
    x = client.submit(inc, 1, workers=[workers[0]])
    y = client.submit(add, x, 10, workers=[workers[1]])
    assert y.result(timeout=10) == 12


def test_kwargs_and_nested_futures(client):
    a = client.submit(inc, 1)

    def f(xs, scale=1, extra=None):
        return sum(xs) * scale + extra["v"]

    r = client.submit(f, [a, a], scale=3, extra={"v": a})
    assert r.result(timeout=10) == (2 + 2) * 3 + 2


def test_task_error_keeps_type_and_remote_traceback(client):
    f = client.submit(boom, 7)
    with pytest.raises(ZeroDivisionError, match="bad 7") as info:
        f.result(timeout=10)
    assert any("boom" in note for note in info.value.__notes__)
    assert f.status == "error"
    assert isinstance(f.exception(), ZeroDivisionError)
    # Dependents fail too; the cluster keeps working.
    g = client.submit(inc, f)
    with pytest.raises(ZeroDivisionError):
        g.result(timeout=10)
    assert client.submit(inc, 41).result(timeout=10) == 42


def test_gather_errors_skip(client):
    good = client.submit(inc, 1)
    bad = client.submit(boom, 1)
    assert client.gather([good, bad], errors="skip") == [2]


def test_retries_rerun_a_flaky_task(client, tmp_path):
    marker = tmp_path / "tries"

    def flaky():
        n = int(marker.read_text()) if marker.exists() else 0
        marker.write_text(str(n + 1))
        if n < 2:
            raise OSError("flaky")
        return n

    assert client.submit(flaky, retries=3, pure=False).result(timeout=20) == 2


def test_scatter_and_use(client):
    [x] = client.scatter([10])
    assert client.submit(inc, x).result(timeout=10) == 11
    d = client.scatter({"k1": 1, "k2": 2})
    assert client.gather(d) == {"k1": 1, "k2": 2}
    np = pytest.importorskip("numpy")
    arr = np.arange(1_000_000)
    fut = client.scatter(arr)
    np.testing.assert_array_equal(fut.result(timeout=10), arr)
    assert client.submit(lambda a: int(a.sum()), fut).result(timeout=10) == int(arr.sum())


def test_as_completed_and_wait(client):
    futures = client.map(slow_inc, range(6), pure=False)
    seen = []
    ac = as_completed(futures[:3])
    ac.add(futures[3])
    for f in ac:
        seen.append(f.result())
        if len(seen) == 1:
            ac.update(futures[4:])
    assert sorted(seen) == [1, 2, 3, 4, 5, 6]
    more = client.map(inc, range(3), pure=False)
    pairs = list(as_completed(more, with_results=True))
    assert sorted(r for _, r in pairs) == [1, 2, 3]
    done, not_done = wait(client.map(inc, range(3), pure=False))
    assert len(done) == 3
    assert not not_done


def test_cancel_says_why(client):
    f = client.submit(slow_inc, 1, 2.0, pure=False)
    f.cancel()
    with pytest.raises(FutureCancelledError, match="cancelled"):
        f.result(timeout=10)


def test_why_explains_a_waiting_task_and_timeouts_quote_it(client):
    a = client.submit(slow_inc, 1, 1.0, pure=False)
    b = client.submit(inc, a, pure=False)
    why = client.why(b)
    assert f"task {b.key!r} is waiting for 1 dependencies" in why
    assert f"waiting on: {a.key!r} (processing on worker" in why
    with pytest.raises(TimeoutError, match=r"did not finish in time; the scheduler says:\n") as e:
        b.result(timeout=0.05)
    assert "waiting on:" in str(e.value)
    assert b.result(timeout=10) == 3
    stuck = client.submit(inc, 5, workers=["tcp://127.0.0.1:1"], pure=False)
    deadline = time.monotonic() + 10
    while "queued" not in (why := client.why(stuck)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "may only run on workers that are not connected" in why
    assert "is not known to the scheduler" in client.why("never-submitted")
    stuck.cancel()


@pytest.mark.parametrize("inner_first", [True, False])
def test_nested_clients_restore_the_default_in_any_closing_order(cluster, inner_first):
    from oxdask.distributed import client as client_module

    before = oxdask.config.get("scheduler", None)
    outer = Client(cluster)
    inner = Client(cluster)
    assert client_module.default_client() is inner
    first, second = (inner, outer) if inner_first else (outer, inner)
    first.close()
    if inner_first:  # the outer client is the default again, and computes
        assert client_module.default_client() is outer
        assert oxdask.config.get("scheduler") == outer.get
        assert outer.submit(inc, 1).result(timeout=10) == 2
    second.close()
    assert client_module._current is None
    assert oxdask.config.get("scheduler", None) == before


def test_done_callback_and_executor(client):
    hits = []
    f = client.submit(inc, 100)
    f.add_done_callback(lambda fut: hits.append(fut.key))
    f.result(timeout=10)
    deadline = time.monotonic() + 5
    while not hits and time.monotonic() < deadline:
        time.sleep(0.01)
    assert hits == [f.key]
    with client.get_executor() as ex:
        assert list(ex.map(inc, [1, 2, 3])) == [2, 3, 4]
        assert ex.submit(add, 1, 2).result(timeout=10) == 3


def test_fire_and_forget(client, tmp_path):
    out = tmp_path / "done"

    def touch():
        out.write_text("x")

    fire_and_forget(client.submit(touch, pure=False))
    deadline = time.monotonic() + 10
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert out.exists()


def test_compute_persist_and_default_scheduler(client):
    x = oxdask.delayed(inc)(1)
    y = oxdask.delayed(add)(x, 10)
    assert client.compute(y).result(timeout=10) == 12
    # While the client is the default, oxdask.compute runs on the cluster.
    assert oxdask.compute(y) == (12,)
    assert y.compute() == 12
    (p,) = [client.persist(y)]
    assert p.compute() == 12
    assert client.get({"a": 1, "b": (inc, "a")}, "b") == 2
    # Lists of keys give lists, as dask.distributed's Client.get (local schedulers: tuples).
    got = client.get({"a": 1, "b": (inc, "a")}, ["a", ["b", "a"]])
    assert got == [1, [2, 1]]
    assert type(got) is list
    assert type(got[1]) is list


def test_closed_port_and_closed_client(cluster):
    with pytest.raises(ConnectionError, match=r"127\.0\.0\.1:1"):
        Client("tcp://127.0.0.1:1", timeout=2, set_as_default=False)
    c = Client(cluster, set_as_default=False)
    f = c.submit(inc, 1)
    assert f.result(timeout=10) == 2
    c.close()
    with pytest.raises(RuntimeError, match="closed"):
        c.submit(inc, 2)


def test_sigkill_worker_results_still_correct():
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as client:
        futures = client.map(slow_inc, range(40), [0.05] * 40, pure=False)
        total = client.submit(sum, futures)
        time.sleep(0.3)
        victim = cluster._procs[0]
        os.kill(victim.pid, signal.SIGKILL)
        assert total.result(timeout=60) == sum(range(1, 41))


def test_client_starts_and_stops_its_own_cluster():
    with Client(n_workers=1, threads_per_worker=1) as client:
        procs = list(client.cluster._procs)
        assert client.submit(inc, 1).result(timeout=10) == 2
    for p in procs:
        assert p.wait(10) is not None


def test_run_on_every_worker(client):
    pids = client.run(os.getpid)
    assert len(pids) == 2
    assert os.getpid() not in pids.values()

    def fails():
        raise KeyError("nope")

    with pytest.raises(KeyError, match="nope"):
        client.run(fails)


def test_retire_worker_keeps_its_data():
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as client:
        a, _b = list(client.scheduler_info()["workers"])
        x = client.submit(inc, 1, workers=[a])
        assert x.result(timeout=10) == 2
        client.retire_workers([a])
        deadline = time.monotonic() + 20
        while a in client.scheduler_info()["workers"]:
            assert time.monotonic() < deadline, "worker was not retired"
            time.sleep(0.05)
        assert x.result(timeout=10) == 2
        assert client.submit(inc, x).result(timeout=10) == 3


def test_unpicklable_argument_is_a_clear_error(client):
    import threading

    with pytest.raises(TypeError, match="could not serialize the arguments of task inc"):
        client.submit(inc, threading.Lock())


def _blas_threads():
    import numpy  # noqa: F401  (loads its BLAS)

    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threads = None
    else:
        threads = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    return os.environ.get("OPENBLAS_NUM_THREADS"), os.environ.get("OMP_NUM_THREADS"), threads


def test_worker_processes_give_blas_one_thread(client):
    for env_blas, env_omp, threads in client.run(_blas_threads).values():
        assert (env_blas, env_omp) == ("1", "1")
        assert threads is None or set(threads) <= {1}, threads


def test_map_of_many_leaves_the_garbage_collector_as_it_found_it(client):
    # The collector is paused while thousands of futures are built, then restored; a program
    # that paused it itself keeps it paused.
    assert gc.isenabled()
    futures = client.map(inc, range(3000), pure=False)
    assert gc.isenabled()
    assert client.gather(futures) == list(range(1, 3001))
    assert gc.isenabled()
    gc.disable()
    try:
        assert client.gather(client.map(inc, range(1500), pure=False))[-1] == 1500
        assert not gc.isenabled()
    finally:
        gc.enable()
