"""Windows across partition boundaries: rolling, shift, diff, resample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dataframe_helpers import assert_eq, from_pieces

import oxdask.dataframe as dd


@pytest.fixture
def ts():
    rng = np.random.default_rng(4)
    idx = pd.date_range("2024-02-01 05:00", periods=120, freq="23min")
    df = pd.DataFrame({"x": rng.integers(0, 50, 120), "y": rng.normal(size=120)}, index=idx)
    return df.drop(df.index[40:55])  # a gap longer than a partition's span


@pytest.fixture(params=["known", "empty"])
def pair(request, ts):
    if request.param == "known":
        return dd.from_pandas(ts, npartitions=7), ts
    k = len(ts) // 2
    pieces = [ts.iloc[:3], ts.iloc[3:3], ts.iloc[3:k], ts.iloc[k : k + 1], ts.iloc[k + 1 :]]
    return from_pieces(pieces), ts


@pytest.mark.parametrize("window", [1, 3, 10])
def test_rolling_count_windows(pair, window):
    d, df = pair
    assert_eq(d.rolling(window).sum(), df.rolling(window).sum())
    assert_eq(d.y.rolling(window, min_periods=1).mean(), df.y.rolling(window, min_periods=1).mean())
    assert_eq(d.rolling(window, center=True).max(), df.rolling(window, center=True).max())
    assert_eq(d.x.rolling(window).std(), df.x.rolling(window).std())


@pytest.mark.parametrize("window", ["30min", "2h", "1D"])
def test_rolling_time_windows(pair, window):
    d, df = pair
    assert_eq(d.rolling(window).sum(), df.rolling(window).sum())
    assert_eq(d.y.rolling(window).count(), df.y.rolling(window).count())


def test_rolling_apply_and_errors(pair):
    d, df = pair
    assert_eq(
        d.x.rolling(4).apply(lambda v: v[-1] - v[0], raw=True),
        df.x.rolling(4).apply(lambda v: v[-1] - v[0], raw=True),
    )
    with pytest.raises(ValueError, match="window"):
        d.rolling(-1)


@pytest.mark.parametrize("periods", [1, 5, -2])
def test_shift_diff(pair, periods):
    d, df = pair
    assert_eq(d.shift(periods), df.shift(periods))
    assert_eq(d.x.diff(periods), df.x.diff(periods))


def test_shift_with_freq(ts):
    d = dd.from_pandas(ts, npartitions=4)
    out = d.shift(2, freq="h")
    assert_eq(out, ts.shift(2, freq="h"))
    assert out.divisions[0] == ts.index[0] + pd.Timedelta("2h")


@pytest.mark.parametrize("rule", ["1h", "3h", "1D", "W"])
@pytest.mark.parametrize("how", ["sum", "mean", "count", "max", "first"])
def test_resample(ts, rule, how):
    d = dd.from_pandas(ts, npartitions=6)
    out = getattr(d.resample(rule), how)()
    expected = getattr(ts.resample(rule), how)()
    assert_eq(out, expected, check_dtype=False)


def test_resample_agg_and_closed(ts):
    d = dd.from_pandas(ts, npartitions=5)
    assert_eq(d.resample("2h").agg("sum"), ts.resample("2h").agg("sum"))
    assert_eq(
        d.y.resample("90min", closed="right", label="right").mean(),
        ts.y.resample("90min", closed="right", label="right").mean(),
    )
    with pytest.raises(ValueError, match="known divisions"):
        d.clear_divisions().resample("1h")
