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
