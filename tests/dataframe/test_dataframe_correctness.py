"""Regressions of silent wrong answers: ``meta=`` descriptions, column names that collide
with attributes, groupby ``min_count`` and ``observed=False``, resample index names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dataframe_helpers import assert_eq

import oxdask.dataframe as dd


@pytest.fixture
def kx():
    return pd.DataFrame({"k": [1, 2, 1, 2, 3, 1], "x": [1.0, 2, 3, 4, 5, 7]})


# -- meta= given as a description (tuple, dict, list of tuples) -----------------------------
def _demean(s):
    return s - s.mean()


@pytest.mark.parametrize("npartitions", [1, 2, 3])
def test_groupby_transform_meta_tuple_keeps_every_row(kx, npartitions):
    d = dd.from_pandas(kx, npartitions=npartitions)
    out = d.groupby("k").x.transform(_demean, meta=("x", "f8"))
    assert isinstance(out, dd.Series)
    assert_eq(out.compute().sort_index(), kx.groupby("k").x.transform(_demean))
    assert len(out.compute()) == len(kx)


def test_groupby_transform_meta_dict(kx):
    d = dd.from_pandas(kx, npartitions=3)
    out = d.groupby("k").transform(_demean, meta={"x": "f8"})
    assert isinstance(out, dd.DataFrame)
    expected = kx.groupby("k").transform(_demean)
    assert_eq(out.compute().sort_index(), expected)


def test_groupby_shift_and_apply_meta_descriptions(kx):
    d = dd.from_pandas(kx, npartitions=3)
    out = d.groupby("k").x.shift(1, meta=("x", "f8"))
    assert isinstance(out, dd.Series)
    assert_eq(out.compute().sort_index(), kx.groupby("k").x.shift(1))
    out = d.groupby("k").x.apply(lambda s: s.sum(), meta=("x", "f8"))
    assert isinstance(out, dd.Series)
    assert_eq(out.compute().sort_index(), kx.groupby("k").x.apply(lambda s: s.sum()))


def test_map_overlap_meta_descriptions(kx):
    d = dd.from_pandas(kx, npartitions=3)
    out = d.x.map_overlap(lambda s: s + 1, 1, 1, meta=("x", "f8"))
    assert isinstance(out, dd.Series)
    assert_eq(out, kx.x + 1)
    out = d.map_overlap(lambda df: df * 2, 1, 1, meta=[("k", "i8"), ("x", "f8")])
    assert isinstance(out, dd.DataFrame)
    assert_eq(out, kx * 2)


def test_meta_descriptions_everywhere(kx):
    d = dd.from_pandas(kx, npartitions=3)
    assert_eq(d.x.map_partitions(lambda s: s + 1, meta=("x", "f8")), kx.x + 1)
    assert_eq(d.x.apply(lambda v: v + 1, meta=("x", "f8")), kx.x + 1)
    assert_eq(d.x.map(lambda v: v + 1, meta=("x", "f8")), kx.x + 1)
    assert_eq(d.apply(lambda r: r.x + r.k, axis=1, meta=(None, "f8")), kx.x + kx.k)
    assert_eq(dd.to_numeric(d.x, meta=("x", "f8")), kx.x)
    y = d.x.map_partitions(lambda s: s * 2, meta=("x", "f8"))
    assert_eq(d.assign(y=y), kx.assign(y=kx.x * 2))
    r = d.x.reduction(lambda s: s.sum(), lambda s: s.sum(), meta=("x", "f8"))
    assert r.compute() == kx.x.sum()


# -- columns named like attributes ------------------------------------------------------------
@pytest.mark.parametrize("col", ["name", "between", "to_frame", "unique", "value_counts"])
def test_column_named_like_a_series_attribute(col):
    pdf = pd.DataFrame({col: [1, 2, 3], "z": [4, 5, 6]})
    d = dd.from_pandas(pdf, npartitions=2)
    got = getattr(d, col)
    assert isinstance(got, dd.Series)
    assert_eq(got, pdf[col])
    assert_eq(getattr(d, col) + 1, pdf[col] + 1)
    with pytest.raises(AttributeError):
        getattr(d[["z"]], col)


def test_dataframe_attributes_win_over_columns_as_in_pandas():
    pdf = pd.DataFrame({"index": [1, 2], "size": [3, 4], "values": [5, 6], "dtypes": [7, 8]})
    d = dd.from_pandas(pdf, npartitions=1)
    assert isinstance(d.index, dd.Index)
    assert d.size.compute() == pdf.size
    np.testing.assert_array_equal(d.values.compute(), pdf.values)
    assert (d.dtypes == pdf.dtypes).all()


def test_series_name_is_the_series_name():
    pdf = pd.DataFrame({"name": [1, 2]})
    d = dd.from_pandas(pdf, npartitions=1)
    assert d.name.name == "name"
    assert d["name"].name == "name"
    np.testing.assert_array_equal(d.name.to_dask_array().compute(), pdf["name"].to_numpy())


# -- groupby min_count counts values over all partitions ----------------------------------
@pytest.mark.parametrize("func", ["sum", "prod", "min", "max", "first", "last"])
@pytest.mark.parametrize("min_count", [1, 2, 3])
def test_groupby_min_count_across_partitions(func, min_count):
    pdf = pd.DataFrame(
        {"g": ["A", "A", "B", "B", "B", "C"], "v": [np.nan, 2.0, 3.0, 1.0, np.nan, np.nan]}
    )
    expected = getattr(pdf.groupby("g"), func)(min_count=min_count)
    for n in (1, 3, 6):
        d = dd.from_pandas(pdf, npartitions=n)
        assert_eq(getattr(d.groupby("g"), func)(min_count=min_count), expected)
        got = getattr(d.groupby("g").v, func)(min_count=min_count)
        assert_eq(got, getattr(pdf.groupby("g").v, func)(min_count=min_count))


def test_groupby_min_count_int_column_and_agg_kwargs():
    pdf = pd.DataFrame({"g": [1, 2, 2, 3], "v": [1, 2, 3, 4]})
    d = dd.from_pandas(pdf, npartitions=4)
    got = d.groupby("g").sum(min_count=2).compute()
    pd.testing.assert_frame_equal(got, pdf.groupby("g").sum(min_count=2), check_dtype=False)
    got = d.groupby("g").v.agg("sum", min_count=2).compute()
    pd.testing.assert_series_equal(got, pdf.groupby("g").v.agg("sum", min_count=2))


def test_groupby_first_skipna_false_is_not_ignored():
    pdf = pd.DataFrame({"g": [1, 1, 2], "v": [np.nan, 2.0, 3.0]})
    d = dd.from_pandas(pdf, npartitions=3)
    assert_eq(d.groupby("g").first(skipna=False), pdf.groupby("g").first(skipna=False))


# -- groupby observed=False: every combination of categories ---------------------------------
@pytest.fixture
def cats():
    return pd.DataFrame(
        {
            "c1": pd.Categorical(["a", "b", "a", "b"], categories=["a", "b", "c"]),
            "c2": pd.Categorical(["x", "y", "x", "x"], categories=["x", "y", "z"]),
            "n": [3, 1, 3, 2],
            "v": [1.0, 2.0, 4.0, 8.0],
        }
    )


@pytest.mark.parametrize(
    "func", ["sum", "count", "size", "mean", "var", "std", "min", "max", "first", "prod", "nunique"]
)
def test_groupby_observed_false_two_categoricals(cats, func):
    pdf = cats[["c1", "c2", "v"]]
    expected = getattr(pdf.groupby(["c1", "c2"], observed=False), func)()
    d = dd.from_pandas(pdf, npartitions=2)
    got = getattr(d.groupby(["c1", "c2"], observed=False), func)()
    assert len(got.compute()) == 9
    assert_eq(got, expected, check_dtype=False)
    got = getattr(d.groupby(["c1", "c2"], observed=False).v, func)()
    assert_eq(got, getattr(pdf.groupby(["c1", "c2"], observed=False).v, func)(), check_dtype=False)


def test_groupby_observed_false_variants(cats):
    d = dd.from_pandas(cats, npartitions=3)
    for by in ("c1", ["c1", "n"], ["n", "c2"]):
        for sort in (True, False):
            g, pg = (x.groupby(by, observed=False, sort=sort) for x in (d, cats))
            # sort=False: the order of the groups is not pandas' (it follows the partitions)
            assert_eq(g.v.sum(), pg.v.sum(), sort=not sort)
            spec = {"v": ["sum", "mean"]}
            assert_eq(g.agg(spec), pg.agg(spec), sort=not sort)
    g = d.groupby("c1", observed=False, as_index=False).v.sum()
    pg = cats.groupby("c1", observed=False, as_index=False).v.sum()
    assert_eq(g, pg)
    assert_eq(d.groupby("c1", observed=True).v.sum(), cats.groupby("c1", observed=True).v.sum())


def test_groupby_observed_false_dropna_var():
    pdf = pd.DataFrame(
        {"a": [1.0, 2, 3, 4, 5], "b": pd.Categorical([1, 1, None, 1, None], categories=[1, 2])}
    )
    d = dd.from_pandas(pdf, npartitions=2)
    for dropna in (True, False):
        expected = pdf.groupby("b", observed=False, dropna=dropna).var()
        got = d.groupby("b", observed=False, dropna=dropna).var()
        assert_eq(got, expected)


# -- resample keeps the index name -----------------------------------------------------------
@pytest.mark.parametrize("how", ["mean", "sum", "count", "max"])
def test_resample_keeps_index_name(how):
    idx = pd.date_range("2000-01-01", periods=48, freq="30min", name="timestamp")
    pdf = pd.DataFrame({"x": np.arange(48.0)}, index=idx)
    d = dd.from_pandas(pdf, npartitions=3)
    expected = getattr(pdf.resample("1h"), how)()
    got = getattr(d.resample("1h"), how)()
    assert got.compute().index.name == "timestamp"
    assert_eq(got, expected)
    assert_eq(getattr(d.x.resample("1h"), how)(), getattr(pdf.x.resample("1h"), how)())


# -- custom groupby aggregations --------------------------------------------------------------
_custom_mean = dd.Aggregation(
    "mean",
    lambda s: (s.count(), s.sum()),
    lambda n, t: (n.sum(), t.sum()),
    lambda n, t: t / n,
)
_custom_sum = dd.Aggregation("sum", lambda s: s.sum(), lambda s: s.sum())


@pytest.mark.parametrize(
    ("pandas_spec", "spec"),
    [
        ({"b": "mean"}, {"b": _custom_mean}),
        ({"b": "sum"}, {"b": _custom_sum}),
        (["mean", "sum"], [_custom_mean, _custom_sum]),
        ({"b": ["mean", "sum"], "c": "var"}, {"b": [_custom_mean, _custom_sum], "c": "var"}),
    ],
)
@pytest.mark.parametrize("npartitions", [1, 2, 5])
def test_groupby_custom_aggregation(pandas_spec, spec, npartitions):
    pdf = pd.DataFrame({"g": [0, 0, 1] * 3, "b": [1, 2, 3] * 3, "c": np.arange(9.0) ** 2})
    d = dd.from_pandas(pdf, npartitions=npartitions)
    assert_eq(d.groupby("g").agg(spec), pdf.groupby("g").agg(pandas_spec), check_dtype=False)
    got = d.b.groupby(d.g).agg(_custom_mean)
    assert_eq(got, pdf.b.groupby(pdf.g).agg("mean"))


def test_groupby_custom_aggregation_name_clash():
    d = dd.from_pandas(pd.DataFrame({"g": [0, 1], "b": [1, 2]}), npartitions=2)
    with pytest.raises(ValueError, match="unique"):
        d.groupby("g").agg({"b": [_custom_sum, "sum"]})


def test_groupby_observed_false_unknown_categories():
    pdf = pd.DataFrame(
        {
            "c1": pd.Categorical(list("AB"), categories=list("ABCDE")),
            "c2": pd.Categorical([1, 2], categories=[1, 2, 3]),
            "v": [0.5, 0.25],
        }
    )
    d = dd.from_pandas(pdf, npartitions=2)
    d["c1"] = d["c1"].cat.as_unknown()
    d["c2"] = d["c2"].cat.as_unknown()
    for by in ("c1", ["c1", "c2"]):
        expected = pdf.groupby(by, observed=False).v.sum()
        assert_eq(d.groupby(by, observed=False).v.sum(), expected)
    # a categorical value column keeps the categories of the data
    expected = pdf.groupby("c1", observed=True).first()
    assert_eq(d.groupby("c1", observed=True).first(), expected)
