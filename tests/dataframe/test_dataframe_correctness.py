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
