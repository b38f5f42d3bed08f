"""Reshaping (melt, get_dummies, pivot_table) compared with pandas over several layouts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dataframe_helpers import LAYOUTS, assert_eq, layout

import oxdask.dataframe as dd
from oxdask.highlevelgraph import TreeReduceLayer

CATS = ["a", "b", "c", "d"]


@pytest.fixture
def df():
    rng = np.random.default_rng(7)
    n = 48
    d = rng.normal(size=n)
    d[::7] = np.nan
    return pd.DataFrame(
        {
            "A": rng.choice(["X", "Y", "Z", "W"], n),
            "B": rng.integers(0, 9, n),
            "C": pd.Categorical(rng.choice(CATS[:3], n), categories=CATS),  # "d" never seen
            "D": d,
            "E": rng.random(n) > 0.5,
            "F": rng.choice(["p", "q", "r"], n),
        }
    )


def parts(df, kind):
    if kind == "many":  # several levels of the tree reduction
        return dd.from_pandas(df, npartitions=20)
    return layout(df, kind)


@pytest.fixture(params=[*LAYOUTS, "many"])
def kind(request):
    return request.param


@pytest.fixture
def pair(df, kind):
    return parts(df, kind), df


# -- melt -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"id_vars": "A"},
        {"id_vars": ["A", "F"], "value_vars": ["B", "D"]},
        {"id_vars": "A", "value_vars": "D", "var_name": "name", "value_name": "val"},
        {"value_vars": ["B", "E"]},
    ],
)
def test_melt(pair, kwargs):
    d, df = pair
    out = dd.melt(d, **kwargs)
    assert out.npartitions == d.npartitions
    assert not out.known_divisions
    expected = pd.melt(df, **kwargs)
    assert list(out.columns) == list(expected.columns)
    assert_eq(out, expected, sort=True, check_index=False)
    assert_eq(d.melt(**kwargs), expected, sort=True, check_index=False)


def test_melt_col_level(df):
    df = df[["A", "B", "D"]]
    df.columns = pd.MultiIndex.from_tuples([("k", "A"), ("v", "B"), ("v", "D")])
    d = dd.from_pandas(df, npartitions=3)
    expected = pd.melt(df, id_vars=["A"], col_level=1)
    assert_eq(dd.melt(d, id_vars=["A"], col_level=1), expected, sort=True, check_index=False)


def test_melt_of_pandas(df):
    out = dd.melt(df, id_vars="A", value_vars=["B"])
    assert isinstance(out, dd.DataFrame)
    assert_eq(out, pd.melt(df, id_vars="A", value_vars=["B"]))


def test_melt_errors(df):
    d = dd.from_pandas(df, npartitions=2)
    with pytest.raises(ValueError, match=r"(?s)Metadata inference failed.*not present.*nope"):
        dd.melt(d, id_vars=["nope"])
    with pytest.raises(TypeError, match="'frame' must be a DataFrame, got oxdask Series"):
        dd.melt(d.B)
    with pytest.raises(AttributeError, match="'Series' object has no attribute 'melt'"):
        d.B.melt()
    with pytest.raises(AttributeError, match="no attribute 'pivot_table'"):
        d.B.pivot_table("A", "C", "B")


# -- get_dummies ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"prefix": "X", "prefix_sep": "-"},
        {"drop_first": True},
        {"dummy_na": True},
        {"dtype": "float64"},
    ],
)
def test_get_dummies_series(pair, kwargs):
    d, df = pair
    s = df.C.where(df.B != 3)  # some missing values
    ds = d.C.where(d.B != 3)
    out = dd.get_dummies(ds, **kwargs)
    expected = pd.get_dummies(s, **kwargs)
    pd.testing.assert_index_equal(out.columns, expected.columns)
    assert out.divisions == d.divisions
    assert_eq(out, expected)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"prefix": {"C": "cat", "G": "g"}},
        {"columns": ["G"]},
        {"drop_first": True, "dtype": np.int8},
    ],
)
def test_get_dummies_frame(df, kind, kwargs):
    df = df[["B", "C", "D"]].assign(G=df.F.astype(pd.CategoricalDtype(["p", "q", "r"])))
    d = parts(df, kind)
    out = dd.get_dummies(d, **kwargs)
    expected = pd.get_dummies(df, **kwargs)
    pd.testing.assert_index_equal(out.columns, expected.columns)
    assert_eq(out, expected)


def test_get_dummies_chosen_columns_leave_text(pair):
    d, df = pair  # "F" (text) is not encoded, so it may stay text
    out = dd.get_dummies(d, columns=["C"])
    assert_eq(out, pd.get_dummies(df, columns=["C"]))


def test_get_dummies_sparse(df):
    d = dd.from_pandas(df, npartitions=3)
    out = dd.get_dummies(d.C, sparse=True)
    expected = pd.get_dummies(df.C, sparse=True)
    assert isinstance(out.compute()["a"].dtype, pd.SparseDtype)
    assert_eq(out, expected)


def test_get_dummies_after_categorize(df):
    d = dd.from_pandas(df[["B", "F"]], npartitions=3).categorize(columns=["F"])
    expected = pd.get_dummies(df[["B", "F"]].astype({"F": "category"}))
    assert_eq(dd.get_dummies(d), expected)


def test_get_dummies_of_pandas(df):
    out = dd.get_dummies(df, columns=["F"], dtype=float)
    assert isinstance(out, pd.DataFrame)
    pd.testing.assert_frame_equal(out, pd.get_dummies(df, columns=["F"], dtype=float))


def test_get_dummies_errors(df):
    d = dd.from_pandas(df, npartitions=2)
    with pytest.raises(NotImplementedError, match=r"non-categorical dtypes.*\['B'\]"):
        dd.get_dummies(d.B)
    with pytest.raises(NotImplementedError, match=r"non-categorical dtypes.*\['A', 'F'\]"):
        dd.get_dummies(d)  # text columns would be encoded
    with pytest.raises(NotImplementedError, match=r"non-categorical dtypes.*\['F'\]"):
        dd.get_dummies(d, columns=["C", "F"])
    unknown = d.assign(F=d.F.astype("category"))
    with pytest.raises(NotImplementedError, match=r"unknown categories.*\['F'\]"):
        dd.get_dummies(unknown, columns=["F"])
    with pytest.raises(NotImplementedError, match=r"unknown categories.*\['F'\]"):
        dd.get_dummies(unknown.F)
    with pytest.raises(KeyError, match=r"\['nope'\]"):
        dd.get_dummies(d, columns=["C", "nope"])
    with pytest.raises(TypeError, match="list-like for parameter `columns`"):
        dd.get_dummies(d, columns="C")
    with pytest.raises(TypeError, match="'data' must be a Series or DataFrame, got builtins list"):
        dd.get_dummies(["a", "b"])
    with pytest.raises(ValueError, match="Length of 'prefix'"):
        dd.get_dummies(d, columns=["C"], prefix=["x", "y"])


# -- pivot_table ------------------------------------------------------------------------------
def _pandas_pivot(df, values, aggfunc):
    """pandas' pivot table with a column for every category, as oxdask and Dask give."""
    out = pd.pivot_table(
        df, index="A", columns="C", values=values, aggfunc=aggfunc, observed=False, dropna=False
    )
    return out.astype(np.float64) if aggfunc == "count" else out


@pytest.mark.parametrize("values", ["B", "D", ["D"], ["D", "B"], ["B", "E"]])
@pytest.mark.parametrize("aggfunc", ["mean", "sum", "count", "first", "last"])
@pytest.mark.parametrize("kind", ["empty", "many"])  # every layout: the tests below
def test_pivot_table(df, kind, values, aggfunc):
    d = parts(df, kind)
    out = dd.pivot_table(d, index="A", columns="C", values=values, aggfunc=aggfunc)
    assert out.npartitions == 1
    assert any(isinstance(layer, TreeReduceLayer) for layer in out.dask.layers.values())
    expected = _pandas_pivot(df, values, aggfunc)
    result = out.compute()
    pd.testing.assert_index_equal(out.columns, expected.columns)
    pd.testing.assert_series_equal(out.dtypes, result.dtypes)
    assert_eq(result, expected)
    assert_eq(d.pivot_table("A", "C", values, aggfunc), result)


@pytest.mark.parametrize("aggfunc", ["mean", "sum", "count"])
def test_pivot_table_all_categories_seen(pair, aggfunc):
    d, df = pair
    df = df.assign(C=df.C.cat.remove_unused_categories())
    d = d.assign(C=d.C.cat.set_categories(CATS[:3]))
    expected = pd.pivot_table(df, index="A", columns="C", values="D", aggfunc=aggfunc)
    out = dd.pivot_table(d, index="A", columns="C", values="D", aggfunc=aggfunc)
    assert_eq(out, expected.astype(np.float64))


@pytest.mark.parametrize("aggfunc", ["first", "last", "count"])
def test_pivot_table_text_values(pair, aggfunc):
    d, df = pair
    out = dd.pivot_table(d, index="A", columns="C", values="F", aggfunc=aggfunc)
    assert_eq(out, _pandas_pivot(df, "F", aggfunc))


def test_pivot_table_missing_index_values(df):
    df = df.assign(A=df.A.where(df.B != 2))
    d = dd.from_pandas(df, npartitions=3)
    out = dd.pivot_table(d, index="A", columns="C", values="B", aggfunc="sum")
    assert not out.compute().index.hasnans
    expected = pd.pivot_table(df, index="A", columns="C", values="B", aggfunc="sum", observed=False)
    assert_eq(out, expected)


def test_pivot_table_index_dtype():
    df = pd.DataFrame(
        {
            "A": pd.date_range("2019-08-01", periods=6, freq="1D").repeat(2),
            "B": pd.Categorical(list("ab") * 6),
            "C": np.arange(12),
        }
    )
    d = dd.from_pandas(df, npartitions=4)
    out = dd.pivot_table(d, index="A", columns="B", values="C", aggfunc="count")
    assert out.index.dtype == df.A.dtype
    expected = pd.pivot_table(df, index="A", columns="B", values="C", aggfunc="count")
    assert_eq(out, expected.astype(np.float64))


def test_pivot_table_errors(df):
    d = dd.from_pandas(df, npartitions=2)

    def check(exc, msg, **kwargs):
        kw = {"index": "A", "columns": "C", "values": "B", **kwargs}
        with pytest.raises(exc, match=msg):
            dd.pivot_table(d, **kw)

    check(ValueError, r"'index' must be the name of an existing column, got \['A'\]", index=["A"])
    check(ValueError, "'index' must be the name of an existing column, got None", index=None)
    check(
        ValueError, "'columns' must be the name of an existing column, got 'nope'", columns="nope"
    )
    check(ValueError, r"'columns' must be category dtype, column 'F' has dtype", columns="F")
    check(ValueError, r"'values' must refer to an existing column or columns", values=[["B"]])
    check(ValueError, r"'values' must refer to an existing column or columns", values="nope")
    check(ValueError, r"'values' must refer to an existing column or columns", values=None)
    aggs = "aggfunc must be either 'mean', 'sum', 'count', 'first', 'last'"
    check(ValueError, f"{aggs}, got 'xx'", aggfunc="xx")
    check(ValueError, rf"{aggs}, got \['sum'\]", aggfunc=["sum"])
    check(TypeError, r"aggfunc='mean' needs numeric 'values', got \['F'\]", values=["B", "F"])
    check(
        TypeError, r"aggfunc='sum' needs numeric 'values', got \['F'\]", values="F", aggfunc="sum"
    )
    unknown = d.assign(C=d.C.cat.as_unknown())
    with pytest.raises(ValueError, match=r"'columns' must have known categories.*'C'"):
        dd.pivot_table(unknown, index="A", columns="C", values="B")
    with pytest.raises(TypeError, match="'df' must be an oxdask DataFrame, got pandas DataFrame"):
        dd.pivot_table(df, index="A", columns="C", values="B")
