"""The engine shuffle on a cluster of worker processes: pieces stay on the workers that cut
them and each output task takes its partition from every holder, peer to peer."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

import oxdask
import oxdask.dataframe as dd
from oxdask import _shuffle
from oxdask.distributed import Client, LocalCluster


@pytest.fixture(scope="module", params=["memory", "spilled"])
def client(request):
    mp = pytest.MonkeyPatch()
    if request.param == "spilled":  # every worker store spills (inherited by the workers)
        mp.setenv("OXDASK_DATAFRAME__SHUFFLE__MEMORY_LIMIT", "2000")
    try:
        with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as c:
            yield c
    finally:
        mp.undo()


@pytest.fixture
def df():
    rng = np.random.default_rng(11)
    n = 6_000
    return pd.DataFrame(
        {
            "k": rng.integers(0, 700, n),
            "s": rng.choice(["x", "y", "z"], n),
            "v": rng.normal(size=n),
        },
        index=pd.Index(np.arange(n) * 2, name="i"),
    )


def _engine():
    return oxdask.config.set({"dataframe.shuffle.method": "engine"})


def test_engine_is_the_default_with_a_client(client):
    from oxdask.dataframe.shuffle import shuffle_method

    assert shuffle_method() == "engine"


def test_shuffles_agree_with_pandas_and_leave_nothing_behind(client, df):
    d = dd.from_pandas(df, npartitions=8)
    with _engine():
        right = d[["k", "s"]].drop_duplicates(split_out=3)
        got = {
            "set_index": d.set_index("k").compute(),
            "sort_values": d.sort_values(["k", "v"]).compute(),
            "shuffle": d.shuffle("k", npartitions=5).compute(),
            "merge": d.merge(right, on=["k", "s"]).compute(),
        }
    pd.testing.assert_frame_equal(got["sort_values"], df.sort_values(["k", "v"]))
    pd.testing.assert_frame_equal(
        got["set_index"].sort_values(["k", "v"]), df.set_index("k").sort_values(["k", "v"])
    )
    pd.testing.assert_frame_equal(got["shuffle"].sort_index(), df)
    want = df.merge(df[["k", "s"]].drop_duplicates(), on=["k", "s"])
    cols = ["k", "s", "v"]
    pd.testing.assert_frame_equal(
        got["merge"].sort_values(cols).reset_index(drop=True),
        want.sort_values(cols).reset_index(drop=True),
    )
    assert set(client.run(_shuffle.held).values()) == {0}


def test_pieces_come_from_both_workers(client, df):
    w1, w2 = sorted(client.scheduler_info()["workers"])
    halves = [
        dd.from_pandas(df.iloc[a:b], npartitions=4).persist(workers=[w])
        for (a, b), w in [((0, 3000), w1), ((3000, 6000), w2)]
    ]
    d = dd.concat(halves)  # cuts run where their partitions are: on both workers
    with _engine():
        s = d.shuffle("k", npartitions=6)
    (barrier,) = [k for k in s.dask if isinstance(k, tuple) and "-barrier-" in k[0]]
    (holders,) = client.get(s.dask, [barrier], sync=False)  # only the cuts run
    workers = set(client.scheduler_info()["workers"])
    assert {h.address for h in holders.result()} == workers
    assert sum(client.run(_shuffle.held).values()) == 2  # pieces wait on both workers
    del holders  # the barrier is released: every holder drops its pieces
    _wait_until(lambda: sum(client.run(_shuffle.held).values()) == 0)
    out = s.compute()  # the cuts run again (pieces replaced, not doubled), then the outputs
    pd.testing.assert_frame_equal(out.sort_index(), df)
    for j in range(6):  # partial computes: each output holds exactly the rows hashed to it
        part = s.get_partition(j).compute()
        assert set(part.k) == set(df.k[df.k.isin(part.k)])
    # the pieces of the partitions not computed went with the barrier
    _wait_until(lambda: sum(client.run(_shuffle.held).values()) == 0)


def _wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_tasks_and_engine_give_the_same_partitions(client, df):
    d = dd.from_pandas(df, npartitions=5)
    with oxdask.config.set({"dataframe.shuffle.method": "tasks"}):
        a = d.shuffle("k", npartitions=4)
    with _engine():
        b = d.shuffle("k", npartitions=4)
    for j in range(4):
        pd.testing.assert_frame_equal(
            a.get_partition(j).compute().sort_index(), b.get_partition(j).compute().sort_index()
        )


def test_a_lost_holder_is_an_error_naming_it_or_a_recompute(df):
    import os
    import signal

    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as c:
        w1, w2 = sorted(c.scheduler_info()["workers"])
        halves = [
            dd.from_pandas(df.iloc[a:b], npartitions=3).persist(
                workers=[w], allow_other_workers=True
            )
            for (a, b), w in [((0, 3000), w1), ((3000, 6000), w2)]
        ]
        with _engine():
            s = dd.concat(halves).shuffle("k", npartitions=4)
        (barrier,) = [k for k in s.dask if isinstance(k, tuple) and "-barrier-" in k[0]]
        (holders,) = c.get(s.dask, [barrier], sync=False)
        assert {h.address for h in holders.result()} == {w1, w2}
        os.kill(c.run(os.getpid, workers=[w2])[w2], signal.SIGKILL)
        _wait_until(lambda: w2 not in c.scheduler_info()["workers"])
        try:
            out, error = s.compute(), None
        except ConnectionError as e:  # the barrier survived on w1: w2's pieces are gone
            out, error = None, str(e)
        if error is not None:
            assert w2 in error
        else:  # the barrier was on w2: it and the cuts were recomputed from lineage
            pd.testing.assert_frame_equal(out.sort_index(), df)
