"""``.dt.hour``/``minute``/``second``/``day_of_week`` (integer arithmetic on the epoch time
for tz-naive datetimes without NaT): the same values, dtypes and names as pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import oxdask.dataframe as dd

FIELDS = ["hour", "minute", "second", "day_of_week"]


def times(unit: str, n: int = 2_000) -> pd.Series:
    rng = np.random.default_rng(3)
    seconds = rng.integers(-3 * 10**9, 3 * 10**9, n)  # 1875 to 2065: before 1970 too
    per = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[unit]
    frac = rng.integers(0, per, n)
    values = (seconds * per + frac).astype(f"datetime64[{unit}]")
    return pd.Series(values, name="t", index=pd.RangeIndex(100, 100 + n))


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("field", FIELDS)
def test_fields_match_pandas(unit, field):
    s = times(unit)
    got = getattr(dd.from_pandas(s, npartitions=3).dt, field).compute()
    pd.testing.assert_series_equal(got, getattr(s.dt, field))


@pytest.mark.parametrize("field", FIELDS)
def test_nat_and_time_zones_keep_the_pandas_path(field):
    s = times("ms")
    with_nat = s.copy()
    with_nat.iloc[::5] = pd.NaT
    aware = s.dt.tz_localize("Europe/Paris", ambiguous="NaT", nonexistent="NaT")
    for series in (with_nat, aware):
        got = getattr(dd.from_pandas(series, npartitions=3).dt, field).compute()
        pd.testing.assert_series_equal(got, getattr(series.dt, field))


def test_naive_times_take_the_numpy_path(monkeypatch):
    from oxdask.dataframe import methods

    seen: list[bool] = []
    inner = methods._clock_field

    def spy(obj, name):
        out = inner(obj, name)
        seen.append(out is not None)
        return out

    monkeypatch.setattr(methods, "_clock_field", spy)
    s = times("ns")
    dd.from_pandas(s, npartitions=2).dt.hour.compute(scheduler="sync")
    assert seen
    assert all(seen)
    seen.clear()
    s.iloc[0] = pd.NaT
    dd.from_pandas(s, npartitions=2).dt.hour.compute(scheduler="sync")
    assert seen.count(False) == 1  # the partition with NaT goes through pandas
