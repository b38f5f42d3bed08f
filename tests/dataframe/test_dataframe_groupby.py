"""groupby: tree-reduced aggregations (with split_out) and shuffle-based apply/transform."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dataframe_helpers import LAYOUTS, assert_eq, layout

import oxdask.dataframe as dd


@pytest.fixture
def df():
    rng = np.random.default_rng(11)
    n = 80
    z = rng.normal(size=n) * 100 + 5e5
    z[::9] = np.nan
    k = rng.choice(["p", "q", "r", "s", "t"], n).astype(object)
    k[::13] = None
    return pd.DataFrame(
        {
            "k": k,
            "g": rng.integers(0, 4, n),
            "x": rng.integers(0, 100, n),
            "z": z,
            "ts": pd.date_range("2024-01-01", periods=n, freq="5h"),
        }
    )


@pytest.fixture(params=LAYOUTS)
def pair(request, df):
    return layout(df, request.param), df


AGGS = [
    "sum",
    "mean",
    "count",
    "size",
    "min",
    "max",
    "std",
    "var",
    "first",
    "last",
    "nunique",
    "prod",
]


@pytest.mark.parametrize("func", AGGS)
def test_series_groupby_methods(pair, func):
    d, df = pair
    assert_eq(getattr(d.groupby("k").z, func)(), getattr(df.groupby("k").z, func)(), rtol=1e-7)
    assert_eq(getattr(d.groupby(["k", "g"]).x, func)(), getattr(df.groupby(["k", "g"]).x, func)())


@pytest.mark.parametrize("func", ["sum", "mean", "count", "max", "var", "first", "nunique"])
def test_frame_groupby_methods(pair, func):
    d, df = pair
    cols = ["g", "x", "z"]
    assert_eq(
        getattr(d[cols].groupby("g"), func)(), getattr(df[cols].groupby("g"), func)(), rtol=1e-7
    )


def test_groupby_split_every(pair):
    d, df = pair
    assert_eq(d.groupby("g").z.mean(split_every=2), df.groupby("g").z.mean())
    assert_eq(d.groupby("g").z.std(split_every=2), df.groupby("g").z.std(), rtol=1e-7)


def test_groupby_agg_forms(pair):
    d, df = pair
    g, pg = d.groupby("k"), df.groupby("k")
    assert_eq(g[["x", "z"]].agg("sum"), pg[["x", "z"]].agg("sum"))
    assert_eq(g[["x", "z"]].agg(["sum", "mean"]), pg[["x", "z"]].agg(["sum", "mean"]))
    assert_eq(g.agg({"x": "sum", "z": ["min", "max"]}), pg.agg({"x": "sum", "z": ["min", "max"]}))
    assert_eq(g.agg({"x": "sum", "z": "mean"}), pg.agg({"x": "sum", "z": "mean"}))
    assert_eq(
        g.agg(total=("x", "sum"), spread=("z", "std"), n=("z", "count")),
        pg.agg(total=("x", "sum"), spread=("z", "std"), n=("z", "count")),
        rtol=1e-7,
    )
    assert_eq(g.x.agg(["sum", "count", "nunique"]), pg.x.agg(["sum", "count", "nunique"]))
    assert_eq(g.x.agg(hi="max", lo="min"), pg.x.agg(hi="max", lo="min"))
    assert_eq(g.x.agg(np.sum), pg.x.agg("sum"))


def test_groupby_series_and_derived_keys(pair):
    d, df = pair
    assert_eq(d.groupby(d.ts.dt.hour).x.sum(), df.groupby(df.ts.dt.hour).x.sum())
    assert_eq(
        d.groupby([d.ts.dt.day_of_week, d.ts.dt.hour]).z.mean(),
        df.groupby([df.ts.dt.day_of_week, df.ts.dt.hour]).z.mean(),
    )
    assert_eq(d.groupby(["k", d.x % 3]).z.sum(), df.groupby(["k", df.x % 3]).z.sum())
    assert_eq(d.x.groupby(d.g).max(), df.x.groupby(df.g).max())
    assert_eq(d.groupby(d.g).sum(numeric_only=True), df.groupby(df.g).sum(numeric_only=True))


def test_groupby_options(pair):
    d, df = pair
    assert_eq(d.groupby("k", dropna=False).x.sum(), df.groupby("k", dropna=False).x.sum())
    assert_eq(d.groupby("k", sort=False).x.sum(), df.groupby("k").x.sum(), sort=True)
    assert_eq(d.groupby("g", as_index=False).x.sum(), df.groupby("g", as_index=False).x.sum())
    assert_eq(d.groupby("g").size(), df.groupby("g").size())


@pytest.mark.parametrize("split_out", [2, 3])
def test_groupby_split_out(pair, split_out):
    d, df = pair
    out = d.groupby("k").agg({"x": "sum", "z": ["mean", "nunique"]}, split_out=split_out)
    assert out.npartitions == split_out
    expected = df.groupby("k").agg({"x": "sum", "z": ["mean", "nunique"]})
    assert_eq(out, expected, sort=True)
    assert_eq(
        d.groupby(["k", "g"]).x.count(split_out=split_out),
        df.groupby(["k", "g"]).x.count(),
        sort=True,
    )
    with pytest.raises(NotImplementedError, match="sorted keys"):
        d.groupby("k", sort=True).x.sum(split_out=2)


def test_groupby_many_groups_split_out():
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"key": rng.integers(0, 3000, 10_000), "v": rng.random(10_000)})
    d = dd.from_pandas(df, npartitions=6)
    out = d.groupby("key").v.sum(split_out=4)
    assert_eq(out, df.groupby("key").v.sum(), sort=True)
    out = d.groupby("key").agg({"v": ["sum", "max"]}, split_out=True)
    assert out.npartitions == d.npartitions
    assert_eq(out, df.groupby("key").agg({"v": ["sum", "max"]}), sort=True)


def test_groupby_non_decomposable_by_shuffle(pair):
    d, df = pair
    assert_eq(d.groupby("g").z.median(), df.groupby("g").z.median())
    assert_eq(
        d.groupby("g").agg({"z": "median", "x": "sum"}),
        df.groupby("g").agg({"z": "median", "x": "sum"}),
    )
    assert_eq(
        d.groupby("g").x.agg(lambda s: s.max() - s.min()),
        df.groupby("g").x.agg(lambda s: s.max() - s.min()),
    )


def test_groupby_apply_transform_cumulative(pair):
    d, df = pair

    def top(g):
        return g.nlargest(2, "x")

    meta = df.iloc[:0][["x", "z"]]
    assert_eq(
        d.groupby("g")[["x", "z"]].apply(top, meta=meta),
        df.groupby("g")[["x", "z"]].apply(top),
        sort=True,
    )
    with pytest.warns(UserWarning, match="meta"):
        out = d.groupby("g").x.apply(lambda s: s.sum() * 2)
    assert_eq(out, df.groupby("g").x.apply(lambda s: s.sum() * 2), sort=True)
    assert_eq(d.groupby("g").z.transform("mean"), df.groupby("g").z.transform("mean"), sort=True)
    with pytest.warns(UserWarning, match="meta"):  # as Dask: a user function's type is a guess
        out = d.groupby("g").x.transform(lambda s: s - s.min())
    assert_eq(out, df.groupby("g").x.transform(lambda s: s - s.min()), sort=True)
    assert_eq(d.groupby("g").x.cumsum(), df.groupby("g").x.cumsum(), sort=True)
    assert_eq(d.groupby("g").cumcount(), df.groupby("g").cumcount(), sort=True)
    assert_eq(
        d.groupby(d.ts.dt.hour).x.transform("sum"),
        df.groupby(df.ts.dt.hour).x.transform("sum"),
        sort=True,
    )


def test_groupby_errors(df):
    d = dd.from_pandas(df, npartitions=3)
    with pytest.raises(KeyError, match="nope"):
        d.groupby("nope")
    with pytest.raises(KeyError, match="nope"):
        d.groupby("k")["nope"]
    with pytest.raises(KeyError, match="nope"):
        d.groupby("k").agg({"nope": "sum"})
    with pytest.raises(NotImplementedError, match="numeric_only"):  # as Dask
        d.groupby("g").mean()  # a string column cannot be averaged


def test_groupby_index_level(df):
    s = df.set_index("g").x
    d = dd.from_pandas(s, npartitions=3)
    assert_eq(d.groupby(level=0).sum(), s.groupby(level=0).sum())
