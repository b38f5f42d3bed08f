"""``Client.rebalance`` and ``Client.amm`` (the active memory manager) on a real LocalCluster
of processes: results move or lose their surplus copies, and stay correct."""

from __future__ import annotations

import time

import numpy as np
import pytest
from _clusters import local_client


@pytest.fixture(scope="module")
def client():
    with local_client(n_workers=2, threads_per_worker=1) as c:
        yield c


def block(i):
    return np.full(100_000, i, dtype="f8")  # 800 kB


def held_bytes(client) -> dict:
    return {w["address"]: w["nbytes_held"] for w in client.cluster.workers_info()}


def test_rebalance_evens_out_the_bytes_held(client):
    first, second = sorted(client.scheduler_info()["workers"])
    futures = [client.submit(block, i, workers=[first], pure=False) for i in range(8)]
    client.gather(futures)
    before = held_bytes(client)
    assert before[second] < 800_000 <= 8 * 800_000 <= before[first]
    client.rebalance(futures)
    holders = client.who_has(futures)
    on_second = sum(holders[f.key] == [second] for f in futures)
    on_first = sum(holders[f.key] == [first] for f in futures)
    assert (on_first, on_second) == (4, 4), holders
    for i, f in enumerate(futures):  # every result is where it says, and intact
        assert client.submit(np.sum, f, pure=False).result(timeout=30) == i * 100_000
        np.testing.assert_array_equal(f.result(timeout=30), block(i))
    client.rebalance(futures)  # balanced already: nothing moves
    assert client.who_has(futures) == holders


def test_rebalance_refuses_unknown_workers(client):
    with pytest.raises(ValueError, match="not workers"):
        client.rebalance(workers=["tcp://127.0.0.1:1"])


def test_the_active_memory_manager_drops_surplus_replicas(client):
    future = client.submit(block, 42, pure=False)
    future.result(timeout=30)
    client.replicate([future])
    assert len(client.who_has([future])[future.key]) == 2
    assert not client.amm.running()
    client.amm.run_once()
    deadline = time.monotonic() + 10
    while len(client.who_has([future])[future.key]) != 1:
        assert time.monotonic() < deadline, client.who_has([future])
        time.sleep(0.05)
    np.testing.assert_array_equal(future.result(timeout=30), block(42))
    # Started, it runs by itself every interval.
    client.amm.start()
    try:
        assert client.amm.running()
        client.replicate([future])
        deadline = time.monotonic() + 15
        while len(client.who_has([future])[future.key]) != 1:
            assert time.monotonic() < deadline, client.who_has([future])
            time.sleep(0.1)
    finally:
        client.amm.stop()
    assert not client.amm.running()
    assert client.submit(np.sum, future, pure=False).result(timeout=30) == 42 * 100_000
