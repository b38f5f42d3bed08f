"""oxdask.array.utils: assert_eq checks declared metadata against computed results."""

from __future__ import annotations

import numpy as np
import pytest

import oxdask.array as da
from oxdask.array.core import Array
from oxdask.array.utils import allclose, assert_eq, meta_from_array, same_keys


def _lying(x, chunks=None, dtype=None):
    """``x`` re-declared with other chunks or dtype (the graph unchanged)."""
    return Array(x.dask, x.name, chunks or x.chunks, dtype or x.dtype)


def test_assert_eq_catches_declared_metadata():
    a = np.arange(6.0).reshape(2, 3)
    x = da.from_array(a, chunks=(1, 3))
    assert assert_eq(x, a)
    with pytest.raises(AssertionError, match="shape"):
        assert_eq(_lying(x, chunks=((1, 1), (2,))), a[:, :2], check_chunks=False)
    with pytest.raises(AssertionError, match="block"):
        assert_eq(_lying(x, chunks=((2,), (3,))), a)
    with pytest.raises(AssertionError, match="dtype"):
        assert_eq(_lying(x, dtype="f4"), a.astype("f4"))
    masked_meta = Array(x.dask, x.name, x.chunks, x.dtype, meta=np.ma.empty((0, 0)))
    with pytest.raises(AssertionError, match="meta"):
        assert_eq(masked_meta, a)


def test_assert_eq_values_types_and_masks():
    a = np.arange(4.0)
    assert assert_eq(a, a + 1e-12)
    with pytest.raises(AssertionError, match="differ"):
        assert_eq(a, a + 1)
    with pytest.raises(AssertionError, match="types"):
        assert_eq(np.ma.masked_array(a), a)
    with pytest.raises(AssertionError, match="masks"):
        assert_eq(np.ma.masked_array(a, mask=[1, 0, 0, 0]), np.ma.masked_array(a))
    assert assert_eq(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]))
    assert assert_eq(np.array(["a", "b"]), np.array(["a", "b"]))
    assert assert_eq(np.array([1, None], dtype=object), np.array([1, None], dtype=object))
    assert allclose(np.array([np.nan]), np.array([np.nan]), equal_nan=True)
    assert not allclose(np.array([np.nan]), np.array([np.nan]))


def test_same_keys():
    x = da.ones(4, chunks=2)
    assert same_keys(x.sum(), x.sum())
    assert not same_keys(x.sum(), x.max())


def test_meta_from_array():
    x = np.ones((1, 2, 3), dtype="f4")
    assert meta_from_array(x).shape == (0, 0, 0)
    assert meta_from_array(x, ndim=1).shape == (0,)
    assert meta_from_array(x, ndim=4, dtype=float).dtype == np.float64
    assert meta_from_array(np.array(1), ndim=1).shape == (0,)
    assert type(meta_from_array(np.ma.masked_array(x))) is np.ma.MaskedArray
    assert isinstance(meta_from_array(da.ones(3)), np.ndarray)
    assert meta_from_array(123) == 123
    assert meta_from_array(np.ndarray, ndim=2, dtype="i4").shape == (0, 0)
    assert meta_from_array("str", dtype=float).dtype == np.float64
    with pytest.raises(ValueError, match="meta or dtype"):
        meta_from_array(None)


def test_percentile_of_strings_takes_the_nearest():
    x = np.array(["a", "a", "d", "d", "d", "e"])
    d = da.from_array(x, chunks=3)
    assert_eq(da.percentile(d, [0, 50, 100]), np.array(["a", "d", "e"]))
