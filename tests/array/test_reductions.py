"""Reductions compared with NumPy on ragged chunks, every axis, keepdims and split_every."""

from __future__ import annotations

import numpy as np
import pytest
from array_helpers import assert_eq, random_chunks

import oxdask.array as da

REDUCTIONS = [
    "sum",
    "prod",
    "mean",
    "std",
    "var",
    "min",
    "max",
    "any",
    "all",
    "nansum",
    "nanprod",
    "nanmean",
    "nanstd",
    "nanvar",
    "nanmin",
    "nanmax",
]
AXES = [None, 0, 1, -1, (0, 2), (0, 1, 2)]


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("axis", AXES)
def test_reductions(name, axis, rng):
    a = rng.random((7, 6, 5)) + 0.5
    if name.startswith("nan"):
        a[a < 0.7] = np.nan
        a[:, 0, 0] = np.nan  # an all-NaN slice: NaN without warnings, as Dask
    x = da.from_array(a, chunks=((3, 3, 1), (2, 4), (5,)))
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            expect = getattr(np, name)(a, axis=axis)
            expect_k = getattr(np, name)(a, axis=axis, keepdims=True)
    assert_eq(getattr(da, name)(x, axis=axis), expect)
    assert_eq(getattr(x, name)(axis=axis, keepdims=True), expect_k)
    assert_eq(getattr(da, name)(x, axis=axis, split_every=2), expect)


@pytest.mark.parametrize("name", ["argmin", "argmax", "nanargmin", "nanargmax"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_arg_reductions(name, axis, rng):
    a = rng.random((9, 7))
    if name.startswith("nan"):
        a[a < 0.3] = np.nan
    x = da.from_array(a, chunks=(4, 3))
    assert_eq(getattr(da, name)(x, axis=axis), getattr(np, name)(a, axis=axis))
    assert_eq(getattr(da, name)(x, axis=axis, split_every=2), getattr(np, name)(a, axis=axis))


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "nancumsum", "nancumprod"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_cumulative(name, axis, rng):
    a = rng.random((7, 8)) + 0.5
    if name.startswith("nan"):
        a[a < 0.8] = np.nan
    x = da.from_array(a, chunks=(3, 5))
    assert_eq(getattr(da, name)(x, axis=axis), getattr(np, name)(a, axis=axis))
    if not name.startswith("nan"):
        assert_eq(getattr(x, name)(axis), getattr(np, name)(a, axis=axis))


def test_cumsum_flat_and_dtype(rng):
    a = rng.integers(0, 5, (4, 5))
    x = da.from_array(a, chunks=2)
    assert_eq(da.cumsum(x), np.cumsum(a))
    assert_eq(da.cumsum(x, axis=0, dtype="f8"), np.cumsum(a, axis=0, dtype="f8"))


def test_dtypes_and_ddof(rng):
    a = rng.integers(0, 10, (6, 5)).astype("i2")
    x = da.from_array(a, chunks=(4, 2))
    assert_eq(x.sum(), a.sum())
    assert_eq(x.sum(dtype="f4"), a.sum(dtype="f4"))
    assert_eq(x.mean(axis=0), a.mean(axis=0))
    assert_eq(x.var(ddof=1), a.var(ddof=1))
    assert_eq(x.std(axis=1, ddof=2), a.std(axis=1, ddof=2))
    assert_eq(da.ones(5, dtype=bool, chunks=2).sum(), np.ones(5, bool).sum())


def test_errors_at_build_time():
    x = da.ones((3, 4), chunks=2)
    with pytest.raises(np.exceptions.AxisError):
        x.sum(axis=2)
    with pytest.raises(ValueError, match="duplicate"):
        x.sum(axis=(0, 0))
    with pytest.raises(ValueError, match="zero-size array"):
        da.ones((0, 3), chunks=2).max(axis=0)
    with pytest.raises(ValueError, match="empty sequence"):
        da.ones((0,), chunks=2).argmax()


def test_chunking_never_changes_results(rng):
    """Property: for random arrays and random chunkings, results equal NumPy's."""
    for _ in range(12):
        shape = tuple(int(n) for n in rng.integers(1, 9, size=int(rng.integers(1, 4))))
        a = rng.standard_normal(shape)
        x = da.from_array(a, chunks=random_chunks(rng, shape))
        axis = int(rng.integers(0, len(shape)))
        split = int(rng.integers(2, 5))
        assert_eq(x.sum(axis=axis, split_every=split), a.sum(axis=axis))
        assert_eq(x.mean(axis=axis, split_every=split), a.mean(axis=axis))
        assert_eq(x.var(), a.var())
        assert_eq(x.max(axis=axis), a.max(axis=axis))
        assert_eq(x.argmin(axis=axis), a.argmin(axis=axis))
        assert_eq(x.cumsum(axis=axis), a.cumsum(axis=axis))
        y = x.rechunk(random_chunks(rng, shape))
        assert_eq(y + x.T.T, 2 * a)


def test_user_defined_reduction(rng):
    a = rng.random((10, 4))
    x = da.from_array(a, chunks=(3, 2))

    def chunk(b, axis, keepdims):
        return np.sum(b * b, axis=axis, keepdims=keepdims)

    def agg(b, axis, keepdims):
        return np.sqrt(np.sum(b, axis=axis, keepdims=keepdims))

    r = da.reduction(x, chunk, agg, combine=np.sum, axis=0, dtype=float)
    assert_eq(r, np.sqrt((a * a).sum(axis=0)))
