"""Reductions (tree reductions) compared with pandas over several partition layouts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dataframe_helpers import LAYOUTS, assert_eq, layout

import oxdask.dataframe as dd
from oxdask.dataframe.core import Scalar


@pytest.fixture
def df():
    rng = np.random.default_rng(3)
    n = 60
    z = rng.normal(loc=1e6, scale=3, size=n)  # far from zero: checks the variance algorithm
    z[::11] = np.nan
    return pd.DataFrame(
        {
            "x": rng.integers(0, 8, n),
            "y": rng.choice(["a", "b", "c", "d"], n),
            "z": z,
            "b": rng.random(n) > 0.5,
            "t": pd.date_range("2023-01-01", periods=n, freq="13h"),
        }
    )


@pytest.fixture(params=LAYOUTS)
def pair(request, df):
    return layout(df, request.param), df


@pytest.mark.parametrize("name", ["sum", "min", "max", "count", "prod", "any", "all"])
def test_simple_series(pair, name):
    d, df = pair
    for col in ("x", "b") if name == "prod" else ("x", "z", "b"):
        out = getattr(d[col], name)()
        assert isinstance(out, Scalar)
        assert_eq(out, getattr(df[col], name)())
    assert_eq(getattr(d.x, name)(split_every=2), getattr(df.x, name)())


@pytest.mark.parametrize("name", ["sum", "min", "max", "count"])
def test_simple_frame(pair, name):
    d, df = pair
    num = ["x", "z", "b"]
    assert_eq(getattr(d[num], name)(), getattr(df[num], name)())
    assert_eq(getattr(d, name)(numeric_only=True), getattr(df, name)(numeric_only=True))
    assert_eq(getattr(d[num], name)(axis=1), getattr(df[num], name)(axis=1))


def test_min_max_of_strings_and_dates(pair):
    d, df = pair
    assert_eq(d.y.min(), df.y.min())
    assert_eq(d.t.max(), df.t.max())
    assert_eq(d[["y", "t"]].max(), df[["y", "t"]].max())


@pytest.mark.parametrize("ddof", [0, 1])
def test_moments(pair, ddof):
    d, df = pair
    assert_eq(d.z.mean(), df.z.mean())
    assert_eq(d.z.var(ddof=ddof), df.z.var(ddof=ddof), rtol=1e-7)
    assert_eq(d.z.std(ddof=ddof), df.z.std(ddof=ddof), rtol=1e-7)
    num = d[["x", "z", "b"]]
    pnum = df[["x", "z", "b"]]
    assert_eq(num.mean(), pnum.mean())
    assert_eq(num.var(ddof=ddof), pnum.var(ddof=ddof), rtol=1e-7)
    assert_eq(num.std(split_every=2), pnum.std(), rtol=1e-7)
    assert_eq(d.x.sem(), df.x.sem())
    assert_eq(d.mean(numeric_only=True), df.mean(numeric_only=True))
    with pytest.raises(TypeError):
        d.mean()


def test_datetime_mean(pair):
    d, df = pair
    got = d.t.mean().compute()
    assert abs(got - df.t.mean()) < pd.Timedelta("1us")


def test_size_len_shape(pair):
    d, df = pair
    assert_eq(d.size, df.size)
    assert_eq(d.x.size, df.x.size)
    assert d.shape[1] == df.shape[1]
    assert_eq(d.shape[0], df.shape[0])


def test_nunique_unique_value_counts(pair):
    d, df = pair
    assert_eq(d.y.nunique(), df.y.nunique())
    assert_eq(d.z.nunique(dropna=False), df.z.nunique(dropna=False))
    assert_eq(d.nunique(), df.nunique())
    assert_eq(d.x.unique(), pd.Series(df.x.unique(), name="x"), sort=True, check_index=False)
    assert_eq(d.y.value_counts(), df.y.value_counts(), sort=True)
    assert_eq(d.x.value_counts(normalize=True), df.x.value_counts(normalize=True), sort=True)
    counts = d.x.value_counts().compute()
    assert counts.is_monotonic_decreasing


def test_mode(pair):
    d, df = pair
    assert_eq(d.x.mode(), df.x.mode())
    assert_eq(d.y.mode(), df.y.mode())
    assert_eq(d[["x", "y"]].mode(), df[["x", "y"]].mode())


def test_idxmin_idxmax(pair):
    d, df = pair
    assert_eq(d.z.idxmin(), df.z.idxmin())
    assert_eq(d.x.idxmax(), df.x.idxmax())
    assert_eq(d[["x", "z"]].idxmax(), df[["x", "z"]].idxmax())
    with pytest.raises(ValueError, match="NA value"):
        d.z.idxmax(skipna=False).compute()


def test_nlargest_nsmallest(pair):
    d, df = pair
    assert_eq(d.x.nlargest(5), df.x.nlargest(5))
    assert_eq(d.nsmallest(4, columns="z"), df.nsmallest(4, columns="z"))


@pytest.mark.parametrize("q", [0.5, [0.1, 0.5, 0.9]])
def test_quantile_exact_on_small_partitions(pair, q):
    d, df = pair
    assert_eq(d.z.quantile(q), df.z.quantile(q))
    assert_eq(d[["x", "z"]].quantile(q), df[["x", "z"]].quantile(q))


def test_quantile_approximate_on_large_partitions():
    rng = np.random.default_rng(0)
    s = pd.Series(rng.normal(size=20_000))
    d = dd.from_pandas(s, npartitions=4)
    got = d.quantile([0.05, 0.25, 0.5, 0.75, 0.95]).compute()
    expected = s.quantile([0.05, 0.25, 0.5, 0.75, 0.95])
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), atol=0.02)
    assert abs(d.median().compute() - s.median()) < 0.02


def test_describe(pair):
    d, df = pair
    assert_eq(d.z.describe(), df.z.describe())
    assert_eq(d[["x", "z"]].describe(), df[["x", "z"]].describe())
    assert_eq(d.y.describe(), df.y.describe())
    assert_eq(d.describe(percentiles=[0.1, 0.9]), df.describe(percentiles=[0.1, 0.9]))


def test_reduction_custom(pair):
    d, df = pair
    out = d.x.reduction(lambda s: s.sum(), lambda s: s.sum(), meta=0)
    assert_eq(out, df.x.sum())
    out = dd.apply_concat_apply(d.x, lambda s: s.value_counts(), lambda s: s.groupby(level=0).sum())
    assert_eq(out, df.x.value_counts(sort=False), sort=True)


def test_memory_usage(pair):
    d, df = pair
    assert d.memory_usage_per_partition().compute().sum() > 0
    assert_eq(d.x.memory_usage(index=False), df.x.memory_usage(index=False))


def test_cumulative(pair):
    d, df = pair
    assert_eq(d.x.cumsum(), df.x.cumsum())
    assert_eq(d.z.cumsum(), df.z.cumsum())
    assert_eq(d[["x", "z"]].cumsum(), df[["x", "z"]].cumsum())
    assert_eq(d.z.cummax(), df.z.cummax())
    assert_eq(d[["x", "z"]].cummin(), df[["x", "z"]].cummin())
    assert_eq(d.x.cumprod(), df.x.cumprod())


def test_empty_frame_reductions():
    df = pd.DataFrame({"a": pd.Series([], dtype="float64")})
    d = dd.from_pandas(df, npartitions=1)
    assert_eq(d.a.sum(), df.a.sum())
    assert_eq(d.a.max(), df.a.max())
    assert_eq(d.a.count(), df.a.count())
    assert_eq(d.sum(), df.sum())
