"""A selection of dataframe operations on the distributed Client (an in-process cluster)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dataframe_helpers import assert_eq

import oxdask
import oxdask.dataframe as dd

distributed = pytest.importorskip("oxdask.distributed")


@pytest.fixture(scope="module")
def client():
    from oxdask.distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster,
        Client(cluster) as c,
    ):
        yield c


@pytest.fixture(autouse=True)
def scheduler(client):
    """Every test of this module computes on the cluster (overrides the threads/sync one)."""
    with oxdask.config.set(scheduler=client.get):
        yield "distributed"


@pytest.fixture
def df():
    rng = np.random.default_rng(9)
    n = 120
    return pd.DataFrame(
        {
            "k": rng.choice(["a", "b", "c", "d"], n),
            "x": rng.integers(0, 50, n),
            "z": rng.normal(size=n),
            "ts": pd.date_range("2024-01-01", periods=n, freq="3h"),
        }
    )


def test_partitionwise_and_reductions(df):
    d = dd.from_pandas(df, npartitions=4)
    assert_eq(d[d.x > 10].assign(w=d.z * 2), df[df.x > 10].assign(w=df.z * 2))
    assert_eq(d.z.mean(), df.z.mean())
    assert_eq(d.x.value_counts(), df.x.value_counts(), sort=True)
    assert len(d) == len(df)


def test_groupby_tree_and_split_out(df):
    d = dd.from_pandas(df, npartitions=4)
    assert_eq(
        d.groupby("k").agg({"x": "sum", "z": ["mean", "std"]}),
        df.groupby("k").agg({"x": "sum", "z": ["mean", "std"]}),
    )
    assert_eq(
        d.groupby(d.ts.dt.hour).x.sum(split_out=3), df.groupby(df.ts.dt.hour).x.sum(), sort=True
    )


def test_shuffles(df):
    d = dd.from_pandas(df, npartitions=4, sort=False)
    assert_eq(d.set_index("z"), df.set_index("z").sort_index(), sort=True)
    right = pd.DataFrame({"k": ["a", "c", "e"], "r": [1.0, 2.0, 3.0]})
    r = dd.from_pandas(right, npartitions=2)
    assert_eq(
        d.merge(r, on="k", how="left"),
        df.merge(right, on="k", how="left"),
        sort=True,
        check_index=False,
    )
    assert_eq(d.groupby("k").x.transform("max"), df.groupby("k").x.transform("max"), sort=True)


def test_client_compute_and_persist(client, df):
    d = dd.from_pandas(df, npartitions=3)
    fut = client.compute(d.x.sum())
    assert fut.result() == df.x.sum()
    kept = client.persist(d.assign(w=d.x + 1))
    assert_eq(kept.w.sum(), (df.x + 1).sum())
    assert_eq(kept, df.assign(w=df.x + 1))


def test_read_csv_on_cluster(tmp_path, df):
    df.iloc[:60].to_csv(tmp_path / "a.csv", index=False)
    df.iloc[60:].to_csv(tmp_path / "b.csv", index=False)
    d = dd.read_csv(str(tmp_path / "*.csv"), parse_dates=["ts"], blocksize=1500)
    assert_eq(d.groupby("k").z.sum(), df.groupby("k").z.sum())
