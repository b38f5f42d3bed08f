"""Timeouts and sizes written as Dask writes them ("2s", "100ms", "2GiB") across the
distributed API, and ``Client.wait_for_workers``, on a real LocalCluster of processes."""

from __future__ import annotations

import time

import pytest

from oxdask.distributed import Client, LocalCluster, wait


def slow(x, delay):
    time.sleep(delay)
    return x


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, timeout="30s", memory_limit="1GiB") as c:
        yield c


def test_memory_limit_string_reaches_the_workers(cluster):
    limits = {w["memory_limit"] for w in cluster.workers_info()}
    assert limits == {2**30}


def test_client_and_future_timeouts_as_strings(cluster):
    with Client(cluster, timeout="5s", set_as_default=False) as client:
        assert client.submit(slow, 1, 0.0).result(timeout="5s") == 1
        stuck = client.submit(slow, 2, 3.0)
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            stuck.result(timeout="200ms")
        assert time.monotonic() - start < 2.0
        with pytest.raises(TimeoutError):
            wait([stuck], timeout="100ms")
        assert stuck.exception(timeout="10s") is None
        assert "memory" in client.why(stuck, timeout="5s")


def test_wait_for_workers(cluster):
    with Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(2, timeout="5s")
        client.wait_for_workers(1)
        start = time.monotonic()
        with pytest.raises(TimeoutError, match="only 2 of 3 workers"):
            client.wait_for_workers(3, timeout="300ms")
        assert time.monotonic() - start < 3.0
        with pytest.raises(ValueError, match="n_workers"):
            client.wait_for_workers(-1)
        assert client.ncores() == client.nthreads()
        assert sum(client.ncores().values()) == 2


def test_bad_durations_are_clear_errors(cluster):
    with pytest.raises(KeyError, match="furlongs"):
        Client(cluster, timeout="3 furlongs", set_as_default=False)
    with pytest.raises(ValueError, match="memory limit"):
        LocalCluster(n_workers=0, memory_limit="4 parsecs")
