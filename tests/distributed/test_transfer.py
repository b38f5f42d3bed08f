"""Large values between workers and to the client: zero-copy buffers, correct and writable."""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
import pytest

from oxdask.distributed import Client, LocalCluster


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as c:
        yield c


def make(n, seed):
    return np.random.default_rng(seed).random(n)


def writable_sum(a):
    assert a.flags.writeable  # a fetched input is an ordinary, writable array
    return float(a.sum())


def frame(n):
    return pd.DataFrame({"x": np.arange(n), "y": np.arange(n) * 0.5, "s": ["a", "b"] * (n // 2)})


def test_array_moves_between_workers_and_to_the_client(client):
    a, b = client.scheduler_info()["workers"]
    n = 3_000_001  # odd size, 24 MB: sent as an out-of-band buffer
    x = client.submit(make, n, 1, workers=[a], pure=False)
    y = client.submit(writable_sum, x, workers=[b], pure=False)
    expect = make(n, 1)
    assert y.result(timeout=60) == pytest.approx(float(expect.sum()))
    got = x.result(timeout=60)
    np.testing.assert_array_equal(got, expect)
    assert got.flags.writeable


def test_scatter_then_compute_on_the_scattered_value(client):
    data = np.arange(2_000_000, dtype="i8")
    [fut] = client.scatter([data])
    total = client.submit(np.sum, fut).result(timeout=60)
    assert total == data.sum()
    np.testing.assert_array_equal(fut.result(timeout=60), data)


def test_dataframe_round_trip(client):
    a, b = client.scheduler_info()["workers"]
    df = client.submit(frame, 200_000, workers=[a])
    rows = client.submit(len, df, workers=[b])
    assert rows.result(timeout=60) == 200_000
    pd.testing.assert_frame_equal(df.result(timeout=60), frame(200_000))


def _resizable(buf: bytearray) -> bool:
    """False while some export (a buffer the wire still holds) pins the bytearray."""
    try:
        buf.append(0)
    except BufferError:
        return False
    buf.pop()
    return True


def test_scattered_buffers_are_released_once_sent(client):
    # A large buffer is sent without copying and its export released after the write (off
    # the IO thread); a small one is copied at once.
    big = bytearray(b"x" * (4 << 20))
    small = bytearray(b"y" * 1000)
    futs = client.scatter([big, small])
    assert [bytes(v) for v in client.gather(futs)] == [bytes(big), bytes(small)]
    assert _resizable(small)
    deadline = time.monotonic() + 10
    while not _resizable(big):
        assert time.monotonic() < deadline, "the large buffer's export was never released"
        time.sleep(0.01)


def _borrowed():
    from oxdask import _core

    return _core.borrowed_bytes()


@pytest.mark.skipif(sys.platform != "linux", reason="lending is Linux only")
def test_large_buffers_are_copied_from_the_holders_memory(client):
    # Between processes of one machine a large buffer is lent: the receiver copies it from
    # the sender's memory (a worker from another worker, the client from a worker).
    a, b = client.scheduler_info()["workers"]
    n = 2_000_000  # 16 MB
    x = client.submit(make, n, 7, workers=[a], pure=False)
    before = client.run(_borrowed, workers=[b])[b]
    y = client.submit(writable_sum, x, workers=[b], pure=False)
    assert y.result(timeout=60) == pytest.approx(float(make(n, 7).sum()))
    assert client.run(_borrowed, workers=[b])[b] - before >= 8 * n
    mine = _borrowed()
    np.testing.assert_array_equal(x.result(timeout=60), make(n, 7))
    assert _borrowed() - mine >= 8 * n


def _refuse_to_load():
    raise ValueError("this value refuses to be rebuilt")


class Unloadable:
    """Pickles on the client; rebuilding it on a worker raises."""

    def __reduce__(self):
        return (_refuse_to_load, ())


def test_scatter_of_a_value_the_worker_cannot_rebuild_fails_at_once(client):
    # The worker answers with why it could not store the value; the client raises it at once
    # instead of waiting out its 30 s timeout.
    start = time.monotonic()
    with pytest.raises(ConnectionError, match="refuses to be rebuilt"):
        client.scatter(Unloadable(), hash=False)
    assert time.monotonic() - start < 10
    [fut] = client.scatter([np.arange(5)])  # the connection to the worker still serves
    np.testing.assert_array_equal(fut.result(timeout=30), np.arange(5))
