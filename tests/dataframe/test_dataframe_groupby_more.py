"""groupby: keys naming the index, per-group methods run after a shuffle (ffill, head, cov,
idxmin...), get_group, errors; assert_eq's ordering; Dask's shuffle method names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dataframe_helpers import assert_eq

import oxdask
import oxdask.dataframe as dd


@pytest.fixture
def pdf():
    rng = np.random.default_rng(5)
    return pd.DataFrame(
        {
            "A": [1, 2, 3, 4] * 5,
            "B": rng.normal(size=20),
            "C": np.where(rng.random(20) < 0.3, np.nan, rng.normal(size=20)),
        }
    )


@pytest.mark.parametrize("method", ["ffill", "bfill"])
@pytest.mark.parametrize("limit", [None, 1])
def test_groupby_fill(pdf, method, limit):
    d = dd.from_pandas(pdf, npartitions=3)
    got = getattr(d.groupby("A"), method)(limit=limit)
    assert_eq(got.compute().sort_index(), getattr(pdf.groupby("A"), method)(limit=limit))
    got = getattr(d.groupby("A").C, method)(limit=limit)
    assert_eq(got.compute().sort_index(), getattr(pdf.groupby("A").C, method)(limit=limit))


@pytest.mark.parametrize("method", ["head", "tail"])
def test_groupby_head_tail(pdf, method):
    d = dd.from_pandas(pdf, npartitions=3)
    got = getattr(d.groupby("A"), method)(2).compute().sort_index()
    assert_eq(got, getattr(pdf.groupby("A"), method)(2).sort_index())
    got = getattr(d.groupby("A").B, method)(1).compute().sort_index()
    assert_eq(got, getattr(pdf.groupby("A").B, method)(1).sort_index())


@pytest.mark.parametrize("method", ["cov", "corr", "idxmin", "idxmax"])
def test_groupby_whole_group_statistics(pdf, method):
    d = dd.from_pandas(pdf, npartitions=3)
    assert_eq(getattr(d.groupby("A"), method)(), getattr(pdf.groupby("A"), method)())


def test_groupby_get_group(pdf):
    d = dd.from_pandas(pdf, npartitions=3)
    assert_eq(d.groupby("A").get_group(2), pdf.groupby("A").get_group(2))
    assert_eq(d.groupby(d.A).B.get_group(3), pdf.groupby(pdf.A).B.get_group(3))
    got = d.groupby(["A", d.A > 2]).get_group((4, True))
    assert_eq(got, pdf.groupby(["A", pdf.A > 2]).get_group((4, True)))


def test_groupby_key_naming_the_index():
    pdf = pd.DataFrame({"x": [1, 2, 3, 4, 5, 6, 7], "y": [8, 9, 6, 2, 3, 5, 6]}).set_index("x")
    d = dd.from_pandas(pdf, npartitions=3)
    assert_eq(d["y"].groupby("x").sum(), pdf["y"].groupby("x").sum())
    assert_eq(d["y"].groupby("x").cumsum().compute().sort_index(), pdf["y"].groupby("x").cumsum())
    assert_eq(d.groupby(d.index).y.mean(), pdf.groupby(pdf.index).y.mean())
    assert_eq(d.groupby("x").agg({"y": "mean"}), pdf.groupby("x").agg({"y": "mean"}))


def test_groupby_key_errors():
    s = pd.Series([1, 2, 2, 1, 1])
    ss = dd.from_pandas(s, npartitions=2)
    with pytest.raises(ValueError, match="No group keys passed!"):
        ss.groupby([])
    with pytest.raises(NotImplementedError, match="same divisions"):
        ss.groupby(dd.from_pandas(s, npartitions=5))
    with pytest.raises(KeyError):
        ss.groupby("x")
    with pytest.raises(NotImplementedError, match="does not allow compute"):
        dd.from_pandas(s.to_frame("a"), npartitions=2).groupby("a").compute()


def test_groupby_dir_lists_columns(pdf):
    g = dd.from_pandas(pdf, npartitions=2).groupby("A")
    assert {"B", "C"} <= set(dir(g))


def test_groupby_transform_without_meta_warns(pdf):
    d = dd.from_pandas(pdf, npartitions=3)
    with pytest.warns(UserWarning, match="`meta` is not specified"):
        d.groupby("A").B.transform(lambda s: s - s.mean())


def test_repartition_pandas_data():
    pdf = pd.DataFrame({"a": range(9)}, index=[0, 1, 3, 5, 6, 8, 9, 9, 9])
    d = dd.repartition(pdf, divisions=[0, 4, 9, 9])
    assert d.divisions == (0, 4, 9, 9)
    assert d.npartitions == 3
    assert_eq(d, pdf)


@pytest.mark.parametrize("method", ["disk", "p2p", "tasks"])
def test_dask_shuffle_method_names(pdf, method):
    d = dd.from_pandas(pdf, npartitions=3)
    with oxdask.config.set({"dataframe.shuffle.method": method}):
        got = d.groupby("A").B.transform(lambda s: s - s.mean(), meta=("B", "f8"))
        assert_eq(got.compute().sort_index(), pdf.groupby("A").B.transform(lambda s: s - s.mean()))
    bad = oxdask.config.set({"dataframe.shuffle.method": "nope"})
    with pytest.raises(ValueError, match="shuffle"), bad:
        d.shuffle("A").compute()


def test_assert_eq_orders_rows_as_dask():
    a = pd.DataFrame({"x": [3, 1, 2]}, index=[2, 0, 1])
    b = pd.DataFrame({"x": [1, 2, 3]}, index=[0, 1, 2])
    assert dd.assert_eq(a, b)
    with pytest.raises(AssertionError):
        dd.assert_eq(a, b, sort_results=False)
    assert dd.assert_eq(a.x, pd.Series([1, 2, 3], name="x"), check_index=False)
    with pytest.raises(AssertionError):
        dd.assert_eq(a, b.assign(x=[1, 2, 4]))


@pytest.mark.parametrize("key", [3, "value", ["value"], ("value",), pd.Index(["value"])])
def test_groupby_select_like_a_list(key):
    pdf = pd.DataFrame({"k": ["a", "b", "a"], "value": [1, 2, 3], 3: [1, 2, 3]})
    d = dd.from_pandas(pdf, npartitions=3)
    expected = pdf.groupby("k")[list(key) if isinstance(key, (tuple, pd.Index)) else key].count()
    assert_eq(d.groupby("k")[key].count(), expected)


def test_groupby_by_normalizes_columns():
    d = dd.from_pandas(pd.DataFrame({"a": [1, 2], "b": [3, 4]}), npartitions=2)
    assert d.groupby("a").by == ["a"]
    assert d.groupby(d["a"]).by == ["a"]
    assert d.groupby([d["a"], "b"]).by == ["a", "b"]


@pytest.mark.parametrize("func", ["mean", "std", "var"])
def test_groupby_non_numeric_columns_need_numeric_only(func):
    pdf = pd.DataFrame({"A": [1, 1, 2], "B": [3, 4, 3], "C": ["a", "b", "c"]})
    d = dd.from_pandas(pdf, npartitions=3)
    with pytest.raises(NotImplementedError, match="numeric_only=False"):
        getattr(d.groupby("A"), func)()
    got = getattr(d.groupby("A"), func)(numeric_only=True)
    assert_eq(got, getattr(pdf.groupby("A"), func)(numeric_only=True))


@pytest.mark.parametrize("on", ["A", ["A", "B"], pd.Series(["A", "B"])])
def test_shuffle_on_a_frame_of_keys_matches_columns(pdf, on):
    d = dd.from_pandas(pdf, npartitions=3)
    keys = d[[on]] if isinstance(on, str) else d[on]
    a = d.shuffle(on, npartitions=4)
    b = d.shuffle(keys, npartitions=4)
    for i in range(4):
        pd.testing.assert_frame_equal(a.partitions[i].compute(), b.partitions[i].compute())
    assert_eq(b.compute().sort_index(), pdf)


def test_shuffle_ignore_index(pdf):
    d = dd.from_pandas(pdf.set_index(pdf.index * 10), npartitions=3)
    out = d.shuffle("A", ignore_index=True).compute()
    assert out.index.tolist() != sorted(out.index.tolist()) or len(out) == 20
    assert set(out.index) <= set(range(20))
    kept = d.shuffle("A", ignore_index=True, shuffle_method="disk").compute()
    assert set(kept.index) == set(pdf.index * 10)


@pytest.mark.parametrize(("n", "dtype"), [(127, "i1"), (128, "i2"), (32768, "i4")])
def test_partitioning_index_small_dtype(n, dtype):
    from oxdask.dataframe.shuffle import partitioning_index

    out = partitioning_index(pd.Series([1, 1, 2]), n)
    assert out.dtype == dtype
    assert out[0] == out[1]
    assert out.min() >= 0
    assert out.max() < n
    assert len(partitioning_index(pd.RangeIndex(5), 3)) == 5


def test_sort_values_custom_sort_function():
    pdf = pd.DataFrame({"a": [1, 2, 3] * 20, "b": [4, 5, 6, 7] * 15})
    d = dd.from_pandas(pdf, npartitions=10)

    def f(part, by_columns, ascending, na_position, **kwargs):
        return part.sort_values(by_columns, ascending=ascending, na_position=na_position)

    got = d.sort_values(by="b", sort_function=f, sort_function_kwargs={"by_columns": ["b", "a"]})
    dd.assert_eq(got, pdf.sort_values(["b", "a"]), check_index=False, sort_results=False)


def test_set_index_on_no_rows_and_append():
    pdf = pd.DataFrame({"x": [1, 2, 3, 4], "y": [4, 3, 2, 1]})
    d = dd.from_pandas(pdf, npartitions=4)
    empty = d[d.y > 10].set_index("x")
    assert empty.npartitions == 1
    assert empty.divisions == (None, None)
    assert_eq(empty.compute(), pdf[pdf.y > 10].set_index("x"))
    got = d.set_index("x", sort=False, append=True)
    assert_eq(got.compute(), pdf.set_index("x", append=True))


def test_assert_eq_strings_alike():
    a = pd.DataFrame({"s": np.array(["a", "b"], dtype=object)}, index=pd.Index(["x", "y"]))
    b = a.astype({"s": "str"})
    b.index = b.index.astype("str")
    assert dd.assert_eq(a, b)
    with pytest.raises(AssertionError):
        dd.assert_eq(a, b.assign(s=["a", "c"]))


@pytest.mark.parametrize("by", ["idx", ["idx", "a"], ["a", "idx"]])
def test_groupby_on_the_index_with_known_divisions_needs_no_shuffle(by):
    pdf = pd.DataFrame(
        {"idx": [1, 1, 1, 2, 2, 2, 3], "a": [1, 2, 1, 2, 1, 2, 1], "b": np.arange(7.0)}
    ).set_index("idx")
    d = dd.from_pandas(pdf, npartitions=3)
    out = d.groupby(by).apply(lambda g: g.b.max() - g.b.min(), meta=(None, "f8"))
    assert out.divisions == d.divisions
    assert not any("shuffle" in name for name in out.dask.layers)
    expected = pdf.groupby(by).apply(lambda g: g.b.max() - g.b.min())
    assert_eq(out.compute().sort_index(), expected.sort_index(), check_names=False)
    unknown = d.clear_divisions().groupby(by).apply(lambda g: g.b.sum(), meta=(None, "f8"))
    assert any("shuffle" in name for name in unknown.dask.layers)
    assert_eq(unknown.compute().sort_index(), pdf.groupby(by).apply(lambda g: g.b.sum()))


@pytest.mark.parametrize("tz", [None, "US/Central"])
def test_set_index_and_sort_on_timestamps(tz):
    pdf = pd.DataFrame({"A": pd.date_range("2000", periods=12, tz=tz)[::-1], "B": range(12)})
    d = dd.from_pandas(pdf, npartitions=3)
    got = d.set_index("A")
    assert got.known_divisions
    assert got.divisions[0] == pdf.A.min()
    assert got.divisions[-1] == pdf.A.max()
    assert_eq(got.compute(), pdf.set_index("A").sort_index(), check_freq=False)
    assert_eq(d.sort_values("A").compute(), pdf.sort_values("A"))


def test_set_index_argument_checks():
    pdf = pd.DataFrame({"x": [4, 1, 2, 5], "y": [1, 2, 3, 4]}, index=[10, 20, 30, 40])
    d = dd.from_pandas(pdf, npartitions=2)
    assert d.set_index(d.index) is d
    with pytest.raises(ValueError, match="sorted"):
        d.set_index("x", divisions=[3, 1, 5])
    for bad in (["x", "y"], [["x", "y"]], [["x"]]):
        with pytest.raises(NotImplementedError, match="multi-indexes"):
            d.set_index(bad)
    assert_eq(d.set_index("x", divisions=[1, 3, 5]), pdf.set_index("x").sort_index())


def test_dt_accessor_of_a_datetime_index():
    pdf = pd.DataFrame({"x": range(6)}, index=pd.date_range("2000", periods=6, freq="7h"))
    d = dd.from_pandas(pdf, npartitions=2)
    assert_eq(d.index.dt.floor("D").compute(), pdf.index.floor("D"))
    assert_eq(d.index.dt.hour.compute(), pdf.index.hour)
    with pytest.raises(AttributeError, match="datetimelike"):
        _ = dd.from_pandas(pd.DataFrame({"x": [1]}), npartitions=1).index.dt


def test_groupby_argument_errors_as_dask():
    d = dd.from_pandas(pd.DataFrame({"A": [1, 1, 2, 2], "B": [1, 2, 3, 4]}), npartitions=2)
    for kw in ({"axis": 1}, {"level": 1}, {"squeeze": True}, {"split_out": 2}):
        with pytest.raises(TypeError):
            d.groupby("A", **kw)
    with pytest.raises(ValueError, match="column labels or Series"):
        d.B.groupby(d)


def test_groupby_named_agg_objects(pdf):
    from functools import partial

    d = dd.from_pandas(pdf, npartitions=3)
    spec = {"x": pd.NamedAgg("B", "sum"), "y": pd.NamedAgg("C", partial(np.std, ddof=1))}
    assert_eq(d.groupby("A").agg(**spec), pdf.groupby("A").agg(**spec))


def test_groupby_shift_without_meta_warns(pdf):
    d = dd.from_pandas(pdf, npartitions=3)
    with pytest.warns(UserWarning, match="`meta` is not specified"):
        out = d.groupby("A").B.shift(1)
    assert_eq(out.compute().sort_index(), pdf.groupby("A").B.shift(1))


@pytest.mark.parametrize("by", ["a", ["a", "b"]])
def test_groupby_sorted_over_several_partitions(by):
    pdf = pd.DataFrame(
        {"a": [1, 2, 3, 1, 1, 2, 4, 3, 7] * 10, "b": [4, 2, 7, 3, 3, 1, 1, 1, 2] * 10}
    )
    pdf["c"] = np.arange(len(pdf))
    d = dd.from_pandas(pdf, npartitions=10)
    got = d.groupby(by, sort=True).agg({"c": ["min", "max"]}, split_out=2, shuffle_method=True)
    assert got.npartitions == 2
    expected = pdf.groupby(by, sort=True).agg({"c": ["min", "max"]})
    dd.assert_eq(got, expected, sort_results=False)
    with pytest.raises(NotImplementedError, match="split_out"):
        d.groupby(by, sort=True).c.sum(split_out=2)


def test_groups_stay_whole_when_missing_values_change_key_dtypes():
    left = pd.DataFrame({"A": [True, False] * 50, "B": range(100)})
    right = pd.DataFrame({"B": [2, 109, 345, 50, 95], "C": [3, 2, 3, 7, 1]})
    merged = dd.merge(
        dd.from_pandas(left, npartitions=10), dd.from_pandas(right, npartitions=1), "outer", on="B"
    )
    meta = pd.Series(dtype=int, index=pd.Index([], dtype=bool, name="A"), name="A")
    got = merged.groupby("A").apply(len, meta=meta, include_groups=False).compute()
    expected = pd.merge(left, right, how="outer", on="B").groupby("A").apply(len)
    assert_eq(got.sort_index(), expected, check_names=False)
    from oxdask.dataframe.shuffle import partitioning_index

    same = [pd.Series([1, 2]), pd.Series([1.0, 2.0]), pd.Series([1, 2, None], dtype=object)]
    assert len({tuple(partitioning_index(s, 16)[:2]) for s in same}) == 1


def test_set_index_of_sorted_data_needs_no_shuffle():
    pdf = pd.DataFrame({"x": range(100), "y": range(100)})
    d = dd.from_pandas(pdf, npartitions=10, sort=False)
    got = d.set_index("x")
    assert not any("shuffle" in n or "set-index-split" in n for n in got.dask.layers)
    assert got.divisions == (0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 99)
    assert_eq(got, pdf.set_index("x"))
    unsorted = pd.DataFrame({"x": [3, 1, 2, 5, 4, 0], "y": range(6)})
    got = dd.from_pandas(unsorted, npartitions=2, sort=False).set_index("x")
    assert_eq(got, unsorted.set_index("x").sort_index())


def test_set_index_to_an_index_collection():
    values = {"x": [1, 2, 3, 4] * 3, "y": [10, 20, 30] * 4}
    idx = pd.date_range("2022-02-22", freq="16h", periods=12) - pd.Timedelta(seconds=30)
    pdf = pd.DataFrame(values, index=idx)
    d = dd.from_pandas(pdf, npartitions=3)
    assert_eq(d.set_index(d.index.dt.floor("D")), pd.DataFrame(values, index=idx.floor("D")))
    other = dd.from_pandas(pd.DataFrame(values), npartitions=3)
    assert_eq(d.set_index(other.index), pd.DataFrame(values))


@pytest.mark.parametrize("ordered", [True, False])
def test_set_index_categorical_follows_category_order(ordered):
    rng = np.random.default_rng(3)
    cats = list("zyxwvutsrqponmlkjihgfedcba")
    values = rng.permutation(cats * 2)
    dtype = pd.CategoricalDtype(cats, ordered=ordered)
    pdf = pd.DataFrame({"A": pd.Categorical(values, dtype=dtype), "B": range(52)})
    got = dd.from_pandas(pdf, npartitions=3).set_index("A", npartitions=4)
    divisions = pd.Categorical(got.divisions, dtype=dtype)
    assert (divisions.codes[:-1] <= divisions.codes[1:]).all()
    out = got.compute()
    assert out.index.tolist() == pdf.set_index("A").sort_index().index.tolist()
    assert sorted(out.B) == list(range(52))


def test_set_index_pyarrow_dates_keep_date_divisions():
    pa = pytest.importorskip("pyarrow")
    dates = pd.Series(pd.date_range("2023-01-01", periods=6).date).astype(
        pd.ArrowDtype(pa.date32())
    )
    pdf = pd.DataFrame({"d": dates[::-1].reset_index(drop=True), "v": range(6)})
    got = dd.from_pandas(pdf, npartitions=2).set_index("d")
    assert not isinstance(got.divisions[0], pd.Timestamp)
    assert_eq(got, pdf.set_index("d").sort_index())


def test_groupby_pandas_grouper_is_not_supported():
    d = dd.from_pandas(pd.DataFrame({"k": ["a", "b", "a"], "v": [1, 2, 3]}), npartitions=3)
    with pytest.raises(NotImplementedError, match="Grouper"):
        d.groupby(pd.Grouper(key="k"))
    with pytest.raises(NotImplementedError, match="Grouper"):
        d.groupby(["v", pd.Grouper(key="k")])


@pytest.mark.parametrize(
    "key",
    [
        lambda p: p.index.month,  # a pandas Index (Dask's test_groupby_set_index)
        lambda p: np.asarray(p.index.month),
        lambda p: pd.Series(p.index.month, index=p.index),
        lambda p: pd.array(p.index.month, dtype="Int64"),
        lambda p: ["v", p.index.month],
    ],
    ids=["pandas-index", "ndarray", "pandas-series", "extension-array", "in-a-list"],
)
@pytest.mark.parametrize("as_index", [True, False])
def test_groupby_by_in_memory_values_raises_type_error(key, as_index):
    # Dask raises TypeError for ddf.groupby(df.index.month, as_index=False); the in-memory
    # values are not split into partitions, so every such key is refused by type (this was
    # NumPy's "truth value of an array is ambiguous" ValueError)
    p = pd.DataFrame({"v": range(10)}, index=pd.date_range("2000", periods=10, freq="20D"))
    d = dd.from_pandas(p, npartitions=2)
    with pytest.raises(TypeError, match=r"in-memory .* of row values.*ddf\.index\.month"):
        d.groupby(key(p), as_index=as_index)
    if not isinstance(key(p), list):  # "v" is no key of the Series
        with pytest.raises(TypeError, match="in-memory"):
            d.v.groupby(key(p))


def test_groupby_by_a_dask_array_raises_type_error():
    p = pd.DataFrame({"v": range(10)}, index=pd.date_range("2000", periods=10, freq="20D"))
    d = dd.from_pandas(p, npartitions=2)
    with pytest.raises(TypeError, match=r"cannot be an oxdask\.Array"):
        d.groupby(d.v.values)


def test_groupby_by_the_collections_own_index_values_matches_pandas():
    # the supported spelling of the key refused above
    p = pd.DataFrame({"v": range(10)}, index=pd.date_range("2000", periods=10, freq="20D"))
    d = dd.from_pandas(p, npartitions=2)
    assert_eq(
        d.groupby(d.index.month, as_index=False).v.sum(),
        p.groupby(p.index.month, as_index=False).v.sum(),
    )
    assert_eq(d.groupby(d.index.month).v.sum(), p.groupby(p.index.month).v.sum())


@pytest.mark.parametrize("index_name", [None, "ts"])
def test_groupby_by_a_function_of_the_index_matches_pandas(index_name):
    # pandas (and Dask) call a function key on every index label; was NotImplementedError
    index = pd.date_range("2000", periods=10, freq="20D", name=index_name)
    p = pd.DataFrame({"a": range(10), "b": np.arange(10.0) * 1.5}, index=index)
    d = dd.from_pandas(p, npartitions=3)

    def month(t):
        return t.month

    assert_eq(d.groupby(month).a.sum(), p.groupby(month).a.sum())
    assert_eq(d.groupby(month).agg(["mean", "max"]), p.groupby(month).agg(["mean", "max"]))
    assert_eq(d.groupby([month, "a"]).b.sum(), p.groupby([month, "a"]).b.sum())
    assert_eq(d.a.groupby(month).sum(), p.a.groupby(month).sum())
    pd.testing.assert_frame_equal(
        d.groupby(month, as_index=False).b.sum().compute().reset_index(drop=True),
        p.groupby(month, as_index=False).b.sum(),
    )
    pd.testing.assert_series_equal(
        d.groupby(month).b.transform("mean").compute().sort_index(),
        p.groupby(month).b.transform("mean"),
        check_freq=False,
    )
