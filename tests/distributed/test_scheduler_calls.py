"""Calls run in the scheduler's process (Client.run_on_scheduler), and failures as the client
raises them (structured on the wire, never parsed from text)."""

import os

import pytest

from oxdask.distributed import Client, LocalCluster


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=1, threads_per_worker=1) as cluster, Client(cluster) as c:
        yield c


def add(a, b=0):
    return a + b


def where(dask_scheduler=None):
    return dask_scheduler.client, os.getpid()


def boom():
    raise KeyError("nothing here")


def test_run_on_scheduler_returns_the_result_computed_in_the_scheduler_process(client):
    assert client.run_on_scheduler(add, 2, b=40) == 42
    worker_pids = set(client.run(os.getpid).values())
    client_id, pid = client.run_on_scheduler(where)
    # LocalCluster's scheduler lives in this process, the workers do not.
    assert pid == os.getpid()
    assert pid not in worker_pids
    assert isinstance(client_id, int)


def test_run_on_scheduler_raises_the_functions_exception_with_its_type(client):
    with pytest.raises(KeyError, match="nothing here"):
        client.run_on_scheduler(boom)
    with pytest.raises(TypeError, match="callable"):
        client.run_on_scheduler(42)


def fail(x):
    raise ValueError(f"bad {x}")


def test_a_dependents_error_is_the_original_exception(client):
    bad = client.submit(fail, 1)
    after = client.submit(add, bad, 1)
    with pytest.raises(ValueError, match="bad 1"):
        after.result(timeout=30)
    assert isinstance(after.exception(timeout=30), ValueError)


class Box(dict):
    """A value that can be weakly referenced (a dict cannot)."""


def boxed(n):
    return Box(payload=bytes(n))


def test_gathered_values_are_freed_without_the_cyclic_collector(client):
    import gc
    import weakref

    future = client.submit(boxed, 1 << 20)
    gc.disable()
    try:
        for gathered in (lambda: client.gather(future), lambda: client.gather([future])[0]):
            value = gathered()
            ref = weakref.ref(value)
            del value
            # A reference cycle would keep every gathered value until a collection: memory
            # grew by each value and later transfers faulted in fresh pages.
            assert ref() is None
    finally:
        gc.enable()


def flaky(path):
    """Fails until ``path`` exists."""
    if not os.path.exists(path):
        raise OSError(f"{path} is missing")
    return "ok"


def test_retry_runs_erred_futures_and_what_they_failed_through(client, tmp_path):
    marker = str(tmp_path / "ready")
    first = client.submit(flaky, marker, pure=False)
    after = client.submit(add, first, "!", pure=False)
    with pytest.raises(OSError, match="missing"):
        after.result(timeout=30)
    assert first.status == "error"
    open(marker, "w").close()
    after.retry()  # also runs `first` again: `after` failed through it
    assert after.result(timeout=30) == "ok!"
    assert first.result(timeout=30) == "ok"
    assert first.exception(timeout=30) is None
    client.retry([first, after])  # nothing erred: nothing happens
    assert after.result(timeout=30) == "ok!"
