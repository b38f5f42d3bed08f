"""``get_client()`` inside a task on a worker process: tasks that submit tasks."""

from __future__ import annotations

import pytest

from oxdask.distributed import Client, LocalCluster, get_client


def inc(x):
    return x + 1


def fan_out(n):
    client = get_client()
    return sum(client.gather(client.map(inc, range(n))))


def fib(n):
    if n < 2:
        return n
    client = get_client()
    a, b = client.submit(fib, n - 1), client.submit(fib, n - 2)
    return a.result() + b.result()


@pytest.mark.parametrize("token", [None, "s3cret"])
def test_tasks_submit_tasks(token):
    with (
        LocalCluster(n_workers=2, threads_per_worker=4, token=token) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        assert client.submit(fan_out, 20).result(timeout="30s") == sum(range(1, 21))
        assert client.submit(fib, 6).result(timeout="60s") == 8


def test_get_client_outside_any_worker_or_client_is_a_clear_error():
    import oxdask.distributed.client as client_module

    if client_module._current is not None and not client_module._current._closed:
        pytest.skip("a client is open in this process")
    with pytest.raises(ValueError, match="No clients found"):
        get_client()
