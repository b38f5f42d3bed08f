"""Collections, metadata, creation from in-memory data, and the collection protocol."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from dataframe_helpers import LAYOUTS, assert_eq, from_pieces, layout

import oxdask
import oxdask.array as da
import oxdask.dataframe as dd
from oxdask.local import last_run_stats


@pytest.fixture
def df():
    rng = np.random.default_rng(42)
    n = 30
    return pd.DataFrame(
        {
            "x": rng.integers(0, 10, n),
            "y": rng.choice(["a", "b", "c"], n),
            "z": rng.normal(size=n),
        },
        index=pd.Index(np.arange(100, 100 + n), name="i"),
    )


def test_from_pandas_divisions(df):
    d = dd.from_pandas(df, npartitions=4)
    assert d.npartitions == 4
    assert d.known_divisions
    assert d.divisions[0] == df.index[0]
    assert d.divisions[-1] == df.index[-1]
    assert_eq(d, df)
    d = dd.from_pandas(df, chunksize=7)
    assert d.npartitions == 5
    assert_eq(d, df)


def test_from_pandas_unsorted_index_is_sorted(df):
    shuffled = df.sample(frac=1, random_state=0)
    d = dd.from_pandas(shuffled, npartitions=3)
    assert d.known_divisions
    assert_eq(d, shuffled.sort_index())
    u = dd.from_pandas(shuffled, npartitions=3, sort=False)
    assert not u.known_divisions
    assert_eq(u, shuffled)


def test_from_pandas_keeps_equal_index_values_together():
    df = pd.DataFrame({"a": range(10)}, index=[0, 0, 0, 1, 1, 1, 1, 2, 2, 3])
    d = dd.from_pandas(df, npartitions=4)
    parts = [p.compute() for p in d.to_delayed()]
    for p, q in itertools.pairwise(parts):
        assert p.index.max() < q.index.min()
    assert_eq(d, df)


def test_from_pandas_errors(df):
    with pytest.raises(TypeError, match="pandas DataFrame or Series"):
        dd.from_pandas([1, 2, 3], npartitions=1)
    with pytest.raises(ValueError, match="Exactly one"):
        dd.from_pandas(df, npartitions=2, chunksize=3)


def test_empty_frame():
    df = pd.DataFrame({"a": pd.Series([], dtype="int64")})
    d = dd.from_pandas(df, npartitions=3)
    assert d.npartitions == 1
    assert_eq(d, df)
    assert len(d) == 0


def test_meta_dtypes_columns(df):
    d = dd.from_pandas(df, npartitions=2)
    assert list(d.columns) == list(df.columns)
    pd.testing.assert_series_equal(d.dtypes, df.dtypes)
    assert len(d._meta) == 0
    assert d.x.dtype == df.x.dtype
    assert d.x.name == "x"
    assert d.index.name == "i"
    assert d.ndim == 2
    assert d.x.ndim == 1
    assert "x" in dir(d)


def test_repr(df):
    d = dd.from_pandas(df, npartitions=3)
    text = repr(d)
    assert text.startswith("Dask DataFrame Structure:")
    assert "npartitions=3" in text
    assert "int64" in text
    assert "..." in text
    assert "Dask Name: from_pandas" in text
    s = repr(d.x + 1)
    assert s.startswith("Dask Series Structure:")
    assert "Name: x, dtype: int64" in s
    assert str(df.index[0]) in repr(d)
    assert "<table" in d._repr_html_()
    assert repr(d.x.sum()).startswith("dd.Scalar<sum")


@pytest.mark.parametrize("kind", LAYOUTS)
def test_head_tail_len(df, kind):
    d = layout(df, kind)
    assert len(d) == len(df)
    if kind in ("one",):
        assert_eq(d.head(3), df.head(3))
    assert_eq(d.head(4, npartitions=-1), df.head(4))
    # like Dask, tail reads the last partition only
    assert_eq(d.tail(2), d.partitions[-1].compute().tail(2))
    if kind != "empty":
        assert_eq(d.tail(2), df.tail(2))


def test_head_reads_only_first_partition(df):
    calls = []

    def record(part):
        calls.append(len(part))
        return part

    d = dd.from_pandas(df, npartitions=5).map_partitions(record, meta=df)
    d.head(2)
    assert len(calls) == 1


def test_head_warns_when_too_few_rows(df):
    d = dd.from_pandas(df, npartitions=10)
    with pytest.warns(UserWarning, match="Insufficient elements"):
        out = d.head(10)
    assert len(out) == len(d.partitions[0].compute())
    assert len(d.head(10, npartitions=4)) == 10


def test_compute_persist_with_other_collections(df):
    d = dd.from_pandas(df, npartitions=3)
    arr = da.ones(4, chunks=2)
    lazy = oxdask.delayed(sum)([1, 2])
    a, b, c, e = oxdask.compute(d, d.x.sum(), arr, lazy)
    assert_eq(a, df)
    assert b == df.x.sum()
    np.testing.assert_array_equal(c, np.ones(4))
    assert e == 3
    p = (d.x * 2).persist()
    assert p.divisions == d.divisions
    assert_eq(p, df.x * 2)
    # as in Dask: the persisted series is a collection of its own, its keys aliases of the
    # computed partitions
    assert p._name != (d.x * 2)._name
    assert len(p.dask) == 2 * p.npartitions
    assert_eq(p + 1, df.x * 2 + 1)


def test_partitions_and_get_partition(df):
    d = dd.from_pandas(df, npartitions=4)
    parts = [p.compute() for p in d.to_delayed()]
    assert_eq(d.partitions[1], parts[1])
    assert_eq(d.get_partition(3), parts[3])
    assert_eq(d.partitions[1:3], pd.concat(parts[1:3]))
    assert d.partitions[1:3].divisions == d.divisions[1:4]
    assert_eq(d.partitions[[0, 2]], pd.concat([parts[0], parts[2]]))
    with pytest.raises(ValueError, match="0 <= n < 4"):
        d.get_partition(4)


def test_from_dict():
    data = {"a": [1, 2, 3, 4], "b": [0.5, 1.5, 2.5, 3.5]}
    d = dd.from_dict(data, npartitions=2)
    assert_eq(d, pd.DataFrame(data))


def test_from_delayed_and_to_delayed(df):
    parts = [oxdask.delayed(df.iloc.__getitem__)(slice(a, a + 10)) for a in (0, 10, 20)]
    d = dd.from_delayed(parts, meta=df.iloc[:0])
    assert d.npartitions == 3
    assert not d.known_divisions
    assert_eq(d, df)
    d2 = dd.from_delayed(parts, meta=df.iloc[:0], divisions="sorted")
    assert d2.divisions == (100, 110, 120, 129)
    back = d.to_delayed()
    assert len(back) == 3
    assert_eq(back[1].compute(), df.iloc[10:20])


def test_from_delayed_meta_mismatch_names_partition(df):
    good = oxdask.delayed(lambda: df.iloc[:5])()
    bad = oxdask.delayed(lambda: df.iloc[5:].astype({"x": str}))()
    d = dd.from_delayed([good, bad], meta=df.iloc[:0])
    with pytest.raises(ValueError, match=r"(?s)Metadata mismatch.*x.*partition 1"):
        d.compute()


def test_from_array_and_to_dask_array():
    x = np.arange(24, dtype="float64").reshape(12, 2)
    d = dd.from_array(x, chunksize=5, columns=["a", "b"])
    assert d.npartitions == 3
    assert d.divisions == (0, 5, 10, 11)
    assert_eq(d, pd.DataFrame(x, columns=["a", "b"]))
    s = dd.from_array(np.arange(7), chunksize=3)
    assert_eq(s, pd.Series(np.arange(7)))
    arr = d.to_dask_array(lengths=True)
    assert arr.chunks == ((5, 5, 2), (2,))
    np.testing.assert_array_equal(arr.compute(), x)
    np.testing.assert_array_equal(d.values.compute(), x)


def test_from_dask_array():
    x = da.from_array(np.arange(20.0).reshape(10, 2), chunks=(4, 2))
    d = dd.from_dask_array(x, columns=["p", "q"])
    assert d.npartitions == 3
    assert_eq(d, pd.DataFrame(np.arange(20.0).reshape(10, 2), columns=["p", "q"]))


def test_unknown_column_errors_at_graph_time(df):
    d = dd.from_pandas(df, npartitions=2)
    with pytest.raises(KeyError, match="'nope'"):
        d["nope"]
    with pytest.raises(KeyError, match=r"\['nope'\]"):
        d[["x", "nope"]]
    with pytest.raises(AttributeError, match="nope"):
        _ = d.nope
    with pytest.raises(KeyError, match="nope"):
        d.astype({"nope": float})


def test_bool_is_ambiguous(df):
    d = dd.from_pandas(df, npartitions=2)
    with pytest.raises(ValueError, match="ambiguous"):
        bool(d)
    with pytest.raises(TypeError, match="boolean"):
        bool(d.x.sum())


def test_partition_chains_fuse_into_one_task_per_partition(df, scheduler):
    d = dd.from_pandas(df, npartitions=4)
    ((d.x + 1) * 2 - d.z.abs()).compute()
    stats = last_run_stats()
    assert stats["graph_tasks"] == 4 + 4  # data + one fused task per partition
    with oxdask.config.set({"optimization.fuse.active": False}):
        ((d.x + 1) * 2 - d.z.abs()).compute()
    assert last_run_stats()["graph_tasks"] > 8


def test_index_collection(df):
    d = dd.from_pandas(df, npartitions=3)
    idx = d.index
    assert isinstance(idx, dd.Index)
    assert idx.divisions == d.divisions
    assert_eq(idx, df.index)
    assert_eq(idx.max(), df.index.max())
    assert_eq(idx.to_series(), df.index.to_series())
    assert len(idx) == len(df)


def test_empty_partitions_layout(df):
    d = from_pieces([df.iloc[:0], df.iloc[:10], df.iloc[10:10], df.iloc[10:]])
    assert d.npartitions == 4
    assert_eq(d, df)
    assert_eq(d.x.sum(), df.x.sum())
    assert_eq(d.z.max(), df.z.max())


def test_from_map():
    def make(i, n, scale=1):
        return pd.DataFrame({"i": [i] * n, "v": np.arange(n) * scale})

    d = dd.from_map(make, range(4), args=(3,), scale=2)
    assert d.npartitions == 4
    assert_eq(d, pd.concat([make(i, 3, 2) for i in range(4)]))
    pairs = dd.from_map(lambda t: pd.DataFrame({"a": [t[0]], "b": [t[1]]}), [(1, 2), (3, 4)])
    assert_eq(pairs, pd.DataFrame({"a": [1, 3], "b": [2, 4]}, index=[0, 0]))
    with pytest.raises(ValueError, match="iterable"):
        dd.from_map(make)


def test_pickle_after_compute(df):
    import pickle

    d = dd.from_pandas(df, npartitions=3)
    q = d[d.x > 2].groupby("y").z.sum()
    expected = q.compute()
    back = pickle.loads(pickle.dumps(q))
    assert_eq(back, expected)
    s = d.x.sum()
    s.compute()
    assert pickle.loads(pickle.dumps(s)).compute() == df.x.sum()
