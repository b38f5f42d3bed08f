"""Masked arrays: blocks stay masked through operations and reductions, as NumPy's np.ma."""

from __future__ import annotations

import numpy as np
import pytest
from array_helpers import assert_eq

import oxdask.array as da


@pytest.fixture
def masked():
    data = np.arange(60).reshape(6, 10)
    return np.ma.masked_array(data, mask=data % 7 == 2)


def test_from_array_keeps_the_mask(masked):
    x = da.from_array(masked, chunks=(4, 5))
    assert isinstance(x._meta, np.ma.MaskedArray)
    assert "MaskedArray" in repr(x)
    out = x.compute()
    assert isinstance(out, np.ma.MaskedArray)
    np.testing.assert_array_equal(np.ma.getmaskarray(out), np.ma.getmaskarray(masked))
    assert_eq(x, masked)
    assert_eq(x + 1, masked + 1)
    assert_eq(x[1:5, ::3], masked[1:5, ::3])
    assert_eq(x.rechunk((3, 7)), masked)


def test_masked_sum_skips_masked_values():
    # the masked value used to be counted: 1830 instead of NumPy's 1807
    data = np.arange(61)[1:].reshape(6, 10)
    m = np.ma.masked_array(data, mask=data == 23)
    assert da.from_array(m, chunks=(4, 5)).sum().compute() == m.sum() == 1807


@pytest.mark.parametrize(
    "name",
    [
        *("sum", "prod", "mean", "var", "std", "min", "max", "any", "all"),
        *("nansum", "nanmin", "nanmax", "nanmean", "nanvar", "argmin", "argmax", "cumsum"),
    ],
)
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_masked_reductions(masked, name, axis):
    x = da.from_array(masked, chunks=(4, 5))
    m = masked.astype(float) if name in ("prod",) else masked
    if name == "prod":
        x = x.astype(float) / 10
        m = m / 10
    expect = getattr(np.ma, name.removeprefix("nan"))(m, axis=axis)
    assert_eq(getattr(da, name)(x, axis=axis), expect)


def test_masked_all_masked_slice_is_masked():
    m = np.ma.masked_array(np.ones((4, 3)), mask=[[1, 0, 0]] * 4)
    x = da.from_array(m, chunks=2)
    for name in ("mean", "var", "sum", "max"):
        got = getattr(da, name)(x, axis=0).compute()
        expect = getattr(np.ma, name)(m, axis=0)
        np.testing.assert_array_equal(np.ma.getmaskarray(got), np.ma.getmaskarray(expect))


# -- oxdask.array.ma --------------------------------------------------------------------------


@pytest.fixture
def data():
    x = np.arange(24.0).reshape(4, 6)
    x[1, 2] = np.nan
    return x


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("masked_equal", (5.0,)),
        ("masked_not_equal", (5.0,)),
        ("masked_greater", (5.0,)),
        ("masked_greater_equal", (5.0,)),
        ("masked_less", (5.0,)),
        ("masked_less_equal", (5.0,)),
        ("masked_inside", (3, 8)),
        ("masked_outside", (3, 8)),
        ("masked_values", (7.0,)),
        ("masked_invalid", ()),
        ("fix_invalid", ()),
        ("ones_like", ()),
        ("zeros_like", ()),
    ],
)
def test_ma_constructors(data, name, args):
    d = da.from_array(data, chunks=(2, 4))
    got = getattr(da.ma, name)(d, *args)
    assert isinstance(got._meta, np.ma.MaskedArray)
    assert_eq(got, getattr(np.ma, name)(data, *args))


def test_ma_masked_where_and_array(data):
    d = da.from_array(data, chunks=(2, 4))
    assert_eq(da.ma.masked_where(d > 7, d), np.ma.masked_where(data > 7, data))
    assert_eq(da.ma.masked_array(d, mask=d > 3), np.ma.masked_array(data, mask=data > 3))
    assert_eq(da.ma.masked_array(d, fill_value=3.0), np.ma.masked_array(data, fill_value=3.0))
    with pytest.raises(IndexError, match="Inconsistent shape"):
        da.ma.masked_where(np.ones(3, bool), d)
    with pytest.raises(np.ma.MaskError):
        da.ma.masked_array(d, mask=np.ones((2, 2), bool))
    with pytest.raises(ValueError, match="array `value`s"):
        da.ma.masked_equal(d, np.ones(2))


def test_ma_take_apart(data):
    m = np.ma.masked_greater(data, 10.0)
    d = da.ma.masked_greater(da.from_array(data, chunks=(2, 4)), 10.0)
    for name in ("getdata", "getmaskarray"):
        got = getattr(da.ma, name)(d)
        assert not isinstance(got._meta, np.ma.MaskedArray)
        assert_eq(got, getattr(np.ma, name)(m))
    assert_eq(da.ma.filled(d, -1.0), np.ma.filled(m, -1.0))
    assert_eq(da.ma.count(d, axis=0), np.ma.count(m, axis=0))
    da.ma.set_fill_value(d, 99)
    assert d.compute().fill_value == 99


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_ma_average(data, axis):
    m = np.ma.masked_greater(data, 10.0)
    d = da.ma.masked_greater(da.from_array(data, chunks=(2, 4)), 10.0)
    assert_eq(da.ma.average(d, axis=axis), np.ma.average(m, axis=axis))
    w = np.arange(1.0, 25.0).reshape(4, 6)
    assert_eq(da.ma.average(d, axis=axis, weights=w), np.ma.average(m, axis=axis, weights=w))
    if axis is not None:
        w1 = np.arange(1.0, m.shape[axis] + 1)
        avg, scl = da.ma.average(d, axis=axis, weights=w1, returned=True)
        e_avg, e_scl = np.ma.average(m, axis=axis, weights=w1, returned=True)
        assert_eq(avg, e_avg)
        assert_eq(scl, e_scl)


def test_ma_where(data):
    m = np.ma.masked_greater(data, 10.0)
    d = da.ma.masked_greater(da.from_array(data, chunks=(2, 4)), 10.0)
    assert_eq(da.ma.where(d > 3, d, -d), np.ma.where(m > 3, m, -m))


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_masked_median_and_quantile_skip_masked(masked, axis):
    x = da.from_array(masked, chunks=(4, 5))
    assert_eq(da.median(x, axis=axis), np.ma.median(masked, axis=axis))
    as_nan = masked.astype(float).filled(np.nan)
    assert_eq(da.quantile(x, [0.2, 0.7], axis=axis), np.nanquantile(as_nan, [0.2, 0.7], axis=axis))


def test_masked_topk_is_refused(masked):
    x = da.from_array(masked, chunks=(4, 5))
    with pytest.raises(NotImplementedError, match="masked"):
        da.topk(x, 2)
    with pytest.raises(NotImplementedError, match="masked"):
        da.argtopk(x, 2)


def test_arithmetic_with_numpy_masked_arrays_keeps_masks():
    mask = np.array([[True, False], [True, True], [False, True]])
    x = np.arange(6).reshape((3, 2))
    m = np.ma.array(x, mask=mask)
    d = da.from_array(x, chunks=(2, 2))
    for got, expect in [(d + m, x + m), (d * m, x * m), (np.add(d, m), np.add(x, m))]:
        assert isinstance(got._meta, np.ma.MaskedArray)
        assert_eq(got, expect)


def test_ma_masked_array_dtype(data):
    d = da.from_array(data.astype("f4"), chunks=(3, 4))
    got = da.ma.masked_array(d, fill_value=0.5, dtype="f8")
    assert_eq(got, np.ma.masked_array(data.astype("f4"), fill_value=0.5, dtype="f8"))


def test_counting_functions_refuse_masked_arrays(masked):
    x = da.from_array(masked, chunks=(4, 5))
    with pytest.raises(NotImplementedError, match="masked"):
        da.unique(x)
    with pytest.raises(NotImplementedError, match="masked"):
        da.histogram(x, bins=3, range=(0, 60))
    with pytest.raises(NotImplementedError, match="masked"):
        da.bincount(x.ravel())


def test_meta_given_as_a_type():
    dsk = {("x", 0, 0): (np.ones, (5, 5))}
    assert not da.Array(dsk, "x", chunks=((5,), (5,)), meta=np.ndarray, dtype=float)._masked
    y = da.Array(dsk, "x", chunks=((5,), (5,)), meta=np.ma.MaskedArray, dtype="i4")
    assert isinstance(y._meta, np.ma.MaskedArray)
    assert y.dtype == np.int32
