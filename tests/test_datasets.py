"""oxdask.datasets: timeseries compared with pandas (and Dask), make_people."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import oxdask
from oxdask import datasets
from oxdask.dataframe.utils import assert_eq


def small(**kwargs):
    kwargs.setdefault("end", "2000-01-04")
    kwargs.setdefault("freq", "1min")
    kwargs.setdefault("seed", 42)
    return datasets.timeseries(**kwargs)


def test_timeseries_defaults():
    df = datasets.timeseries(seed=0)
    assert list(df.columns) == ["name", "id", "x", "y"]
    assert df.npartitions == 30
    expected_divisions = pd.date_range("2000-01-01", "2000-01-31", freq="1D")
    assert df.known_divisions
    assert list(df.divisions) == list(expected_divisions)
    assert df.index.name == "timestamp"
    assert df.dtypes["id"] == np.int64
    assert df.dtypes["x"] == df.dtypes["y"] == np.float64
    assert pd.api.types.is_string_dtype(df.dtypes["name"])
    part = df.partitions[29].compute()
    assert len(part) == 86400
    assert part.index[0] == pd.Timestamp("2000-01-30")
    assert part.index[-1] == pd.Timestamp("2000-01-30 23:59:59")
    assert part.dtypes.to_dict() == df.dtypes.to_dict()


def test_timeseries_rows_index_and_divisions():
    df = small(partition_freq="1D")
    pdf = df.compute()
    index = pd.date_range("2000-01-01", "2000-01-04", freq="1min", inclusive="left")
    assert len(df) == len(pdf) == 3 * 24 * 60
    pd.testing.assert_index_equal(pdf.index, index.rename("timestamp"), check_exact=True)
    for i in range(df.npartitions):
        part = df.partitions[i].compute()
        assert len(part) == 24 * 60
        assert part.index.min() == df.divisions[i]
        assert part.index.max() < df.divisions[i + 1]
    assert_eq(df, pdf)


def test_timeseries_drops_rows_after_last_whole_partition():
    df = datasets.timeseries("2000-01-01", "2000-01-02 05:00", freq="1h", partition_freq="6h")
    assert list(df.divisions) == list(pd.date_range("2000-01-01", "2000-01-02", freq="6h"))
    pdf = df.compute()
    assert len(pdf) == 24
    assert pdf.index.max() == pd.Timestamp("2000-01-01 23:00")


def test_timeseries_seed_is_reproducible():
    a = small(seed=7).compute()
    b = small(seed=7).compute()
    pd.testing.assert_frame_equal(a, b)
    c = small(seed=8).compute()
    assert not np.array_equal(a.x.values, c.x.values)
    # without a seed, each call draws one
    d, e = small(seed=None).compute(), small(seed=None).compute()
    assert not np.array_equal(d.x.values, e.x.values)
    np.random.seed(3)
    f = small(seed=None).compute()
    np.random.seed(3)
    pd.testing.assert_frame_equal(f, small(seed=None).compute())


def test_timeseries_partitions_independent_of_columns_kept():
    df = small(seed=5)
    pdf = df.compute()
    pd.testing.assert_series_equal(df.x.compute(), pdf.x)
    pd.testing.assert_frame_equal(df[["y", "id"]].compute(), pdf[["y", "id"]])
    pd.testing.assert_frame_equal(df.partitions[1].compute(), pdf.loc["2000-01-02"])


def test_timeseries_value_ranges():
    pdf = small(end="2000-01-08").compute()
    assert pdf.x.between(-1, 1, inclusive="left").all()
    assert pdf.y.between(-1, 1, inclusive="left").all()
    assert abs(pdf.x.mean()) < 0.05
    assert abs(pdf.id.mean() - 1000) < 5
    assert pdf.id.min() > 800
    assert pdf.id.max() < 1200
    assert set(pdf.name) <= set(datasets._NAMES)
    assert pdf.name.nunique() == 26
    assert not pdf.isna().any().any()


def test_timeseries_dtypes_and_column_options():
    df = small(
        dtypes={"value": float, "cat": "category", "count": int, "label": "string", "o": object},
        count_lam=5,
    )
    pdf = df.compute()
    assert list(pdf.columns) == ["value", "cat", "count", "label", "o"]
    assert isinstance(pdf.dtypes["cat"], pd.CategoricalDtype)
    assert list(pdf.cat.cat.categories) == datasets._NAMES
    assert df.dtypes.to_dict() == pdf.dtypes.to_dict()
    assert abs(pdf["count"].mean() - 5) < 0.5
    assert set(pdf.label) <= set(datasets._NAMES)
    empty = small(dtypes={}).compute()
    assert empty.shape == (3 * 24 * 60, 0)


def test_timeseries_matches_dask_values():
    dask_datasets = pytest.importorskip("dask.datasets")
    kwargs = dict(
        start="2000-01-01",
        end="2000-01-03",
        freq="30s",
        partition_freq="12h",
        seed=123,
        dtypes={"a": "category", "b": int, "c": str, "d": float},
        b_lam=10,
    )
    ours = datasets.timeseries(**kwargs)
    theirs = dask_datasets.timeseries(**kwargs)
    assert ours.divisions == theirs.divisions
    a, b = ours.compute(), theirs.compute()
    pd.testing.assert_index_equal(a.index, b.index)
    for col in a.columns:
        np.testing.assert_array_equal(a[col].astype(object), b[col].astype(object))


def test_timeseries_is_lazy(monkeypatch):
    calls = []
    real = datasets._TimeseriesPart.__call__

    def spy(self, start, end, state):
        calls.append(start)
        return real(self, start, end, state)

    monkeypatch.setattr(datasets._TimeseriesPart, "__call__", spy)
    df = datasets.timeseries(end="2010-01-01", partition_freq="1D", seed=1)
    assert df.npartitions == 3653
    assert len(calls) <= 1  # at most the empty metadata
    calls.clear()
    part = df.partitions[1000].compute()
    assert calls == [df.divisions[1000]]
    assert len(part) == 86400


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_timeseries_schedulers(scheduler):
    df = small(seed=9)
    expected = small(seed=9).compute(scheduler="sync")
    pd.testing.assert_frame_equal(df.compute(scheduler=scheduler), expected)
    assert df.x.sum().compute(scheduler=scheduler) == pytest.approx(expected.x.sum())


def test_timeseries_bad_input():
    with pytest.raises(KeyError, match="float64"):
        datasets.timeseries(dtypes={"a": "float64"})
    with pytest.raises(KeyError, match="unsupported type"):
        datasets.timeseries(dtypes={"a": [1]})
    with pytest.raises(ValueError, match="no whole partition"):
        datasets.timeseries("2000-01-01", "2000-01-01 12:00")
    with pytest.raises(ValueError, match="no whole partition"):
        datasets.timeseries("2000-01-01", "1999-01-01")
    with pytest.raises(ValueError, match="bad"):
        datasets.timeseries(freq="bad")
    with pytest.raises(TypeError, match="foo"):
        small(x_foo=1).compute()


def test_datasets_attribute():
    assert oxdask.datasets.timeseries is datasets.timeseries


def _luhn_ok(number):
    digits = [int(c) for c in number.replace(" ", "")]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def test_make_people_records():
    db = pytest.importorskip("oxdask.bag")
    b = datasets.make_people(npartitions=4, records_per_partition=50, seed=3)
    assert isinstance(b, db.Bag)
    assert b.npartitions == 4
    records = b.compute()
    assert len(records) == b.count().compute() == 200
    for r in records:
        assert sorted(r) == ["address", "age", "credit-card", "name", "occupation", "telephone"]
        assert isinstance(r["age"], int)
        assert 0 <= r["age"] <= 120
        first, last = r["name"]
        assert first.istitle()
        assert last.istitle()
        assert r["occupation"]
        assert re.fullmatch(r"\+1-\(\d{3}\)-\d{3}-\d{4}", r["telephone"])
        assert sorted(r["address"]) == ["address", "city"]
        assert re.fullmatch(r"\d+ \w+ \w+", r["address"]["address"])
        card = r["credit-card"]
        assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", card["number"])
        assert _luhn_ok(card["number"])
        month, _year = map(int, card["expiration-date"].split("/"))
        assert 1 <= month <= 12
    # plausible variety
    assert len({r["name"] for r in records}) > 150
    assert len({r["age"] for r in records}) > 50
    # works with the bag operations, as plain Python would
    ages = b.pluck("age")
    assert ages.sum().compute() == sum(r["age"] for r in records)
    assert b.filter(lambda r: r["age"] >= 18).count().compute() == sum(
        r["age"] >= 18 for r in records
    )


def test_make_people_seed_and_laziness(monkeypatch):
    pytest.importorskip("oxdask.bag")
    a = datasets.make_people(npartitions=3, records_per_partition=10, seed=11)
    b = datasets.make_people(npartitions=3, records_per_partition=10, seed=11)
    c = datasets.make_people(npartitions=3, records_per_partition=10, seed=12)
    assert a.name == b.name != c.name
    assert a.compute() == b.compute() != c.compute()
    parts = [p.compute() for p in a.to_delayed()]
    assert all(len(p) == 10 for p in parts)
    assert parts[0] != parts[1]  # each partition has its own seed
    assert datasets.make_people(2, 5).compute() != datasets.make_people(2, 5).compute()

    calls = []
    real = datasets._people_partition
    monkeypatch.setattr(datasets, "_people_partition", lambda n, s: calls.append(s) or real(n, s))
    lazy = datasets.make_people(npartitions=1000, records_per_partition=1000, seed=1)
    assert calls == []
    assert lazy.npartitions == 1000
    with oxdask.config.set(scheduler="sync"):  # bags run on processes by default
        assert len(lazy.take(2)) == 2
    assert len(calls) == 1


def test_make_people_schedulers():
    pytest.importorskip("oxdask.bag")
    b = datasets.make_people(npartitions=2, records_per_partition=20, seed=5)
    expected = b.compute(scheduler="sync")
    assert b.compute(scheduler="threads") == expected
    assert b.compute(scheduler="processes") == expected


def test_make_people_bad_input():
    with pytest.raises(ValueError, match="locale"):
        datasets.make_people(locale="fr")
    with pytest.raises(ValueError, match="npartitions"):
        datasets.make_people(npartitions=0)
    with pytest.raises(ValueError, match="records_per_partition"):
        datasets.make_people(records_per_partition=-1)
    assert datasets.make_people(npartitions=2, records_per_partition=0).compute() == []


def test_demo_make_timeseries_is_dasks_signature():
    import oxdask.dataframe as dd

    df = dd.demo.make_timeseries(
        "2000", "2001", {"value": float, "name": str, "id": int}, freq="12h", seed=3
    )
    assert list(df.columns) == ["value", "name", "id"]
    assert df.npartitions == 11  # month ends of 2000 (the last partial month is left out)
    assert len(df) == len(df.compute())
    again = dd.demo.make_timeseries(
        "2000", "2001", {"value": float, "name": str, "id": int}, freq="12h", seed=3
    )
    pd.testing.assert_frame_equal(df.compute(), again.compute())
