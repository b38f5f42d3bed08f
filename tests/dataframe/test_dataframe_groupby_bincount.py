"""groupby sums, means and counts by small-range integer keys (computed per partition with
``np.bincount``): the same answers as pandas, and the pandas path for everything else."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import oxdask.dataframe as dd
from oxdask.dataframe import _groupby_funcs as gf


@pytest.fixture
def pdf():
    rng = np.random.default_rng(7)
    n = 5_000
    frame = pd.DataFrame(
        {
            "a": rng.integers(-3, 4, n),
            "b": rng.integers(0, 24, n).astype("int32"),
            "u": rng.integers(0, 3, n).astype("uint8"),
            "u64": rng.integers(5, 9, n).astype("uint64"),
            "x": rng.normal(size=n),
            "i": rng.integers(0, 9, n),
            "f": rng.random(n),
        }
    )
    frame.loc[frame.index[::7], "x"] = np.nan
    frame.loc[frame.index[(frame.a == 3).to_numpy()], "x"] = np.nan  # a group of NaNs only
    return frame


@pytest.fixture
def fast(monkeypatch):
    """Counts the partitions the bincount path computed (True) or left to pandas (False)."""
    seen: list[bool] = []
    inner = gf._bincount_partials

    def spy(*args):
        out = inner(*args)
        seen.append(out is not None)
        return out

    monkeypatch.setattr(gf, "_bincount_partials", spy)
    return seen


@pytest.mark.parametrize("by", ["a", ["a", "b"], ["b", "u", "a"], ["a", "u64"]])
@pytest.mark.parametrize("func", ["sum", "mean", "count", "size"])
def test_matches_pandas(pdf, fast, by, func):
    for col in ("x", "f"):  # with and without NaN
        got = getattr(dd.from_pandas(pdf, npartitions=4).groupby(by)[col], func)()
        expect = getattr(pdf.groupby(by)[col], func)()
        pd.testing.assert_series_equal(got.compute(scheduler="sync"), expect, rtol=1e-12)
    assert fast
    assert all(fast)


def test_several_columns_series_keys_and_agg(pdf, fast):
    d = dd.from_pandas(pdf, npartitions=3)
    spec = {"x": ["sum", "mean", "count"], "f": ["mean"]}
    got = d.groupby(["a", "u"]).agg(spec).compute(scheduler="sync")
    pd.testing.assert_frame_equal(got, pdf.groupby(["a", "u"]).agg(spec), rtol=1e-12)
    keys = [d.a.rename("k1"), (d.b % 5).rename("k2")]
    got = d.x.groupby(keys).mean().compute(scheduler="sync")
    expect = pdf.x.groupby([pdf.a.rename("k1"), (pdf.b % 5).rename("k2")]).mean()
    pd.testing.assert_series_equal(got, expect, rtol=1e-12)
    assert fast
    assert all(fast)


@pytest.mark.parametrize(
    ("by", "column", "func", "options"),
    [
        (["a", "b"], "x", "sum", {"sort": False}),  # first-seen order: the pandas path
        ("f", "x", "mean", {}),  # float key
        ("a", "i", "sum", {}),  # integer values
        ("a", "x", "max", {}),  # other aggregations
        ("a", "x", "var", {}),
    ],
)
def test_other_groupbys_take_the_pandas_path(pdf, fast, by, column, func, options):
    got = getattr(dd.from_pandas(pdf, npartitions=3).groupby(by, **options)[column], func)()
    expect = getattr(pdf.groupby(by, **options)[column], func)()
    pd.testing.assert_series_equal(got.compute(scheduler="sync"), expect, rtol=1e-12)
    assert not any(fast)


def test_wide_key_ranges_take_the_pandas_path(fast):
    pdf = pd.DataFrame({"k": [0, 10**12, 5, 10**12], "x": [1.0, 2.0, 3.0, 4.0]})
    got = dd.from_pandas(pdf, npartitions=2).groupby("k").x.sum().compute(scheduler="sync")
    pd.testing.assert_series_equal(got, pdf.groupby("k").x.sum())
    assert not any(fast)
