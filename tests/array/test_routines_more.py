"""Routines added for drop-in compatibility with Dask, and map_blocks corner cases."""

from __future__ import annotations

import numpy as np
import pytest
from array_helpers import assert_eq

import oxdask.array as da
from oxdask import delayed


def test_map_blocks_with_arrays_nested_in_arguments():
    # arrays inside lists (or keywords) are computed whole and passed in, as in Dask: no hang
    a = np.arange(10)
    x = da.from_array(a, chunks=3)

    def f(b, lst, k=None):
        return b + sum(int(np.sum(v)) for v in lst) + int(k[0].sum())

    assert_eq(x.map_blocks(f, [x, x], k=[x * 0 + 1]), a + 2 * 45 + 10)
    assert_eq(x.map_blocks(f, [delayed(5)], k=[np.ones(2, int)], dtype=int), a + 7)


CHUNKINGS = [(2, 3), (3, 4), (1, 1)]


@pytest.fixture(params=CHUNKINGS)
def mat(request, rng):
    a = rng.random((3, 4))
    return a, da.from_array(a, chunks=request.param)


def test_array_ndmin_ndim_shape(mat):
    a, x = mat
    assert_eq(da.array(x, ndmin=4), np.array(a, ndmin=4))
    assert_eq(da.array([1, 2], dtype="f4"), np.array([1, 2], dtype="f4"))
    assert da.ndim(x) == 2
    assert da.shape(x) == (3, 4)
    assert da.ndim([1, 2]) == 1


@pytest.mark.parametrize("rowvar", [True, False])
def test_cov_corrcoef(mat, rowvar):
    a, x = mat
    assert_eq(da.cov(x, rowvar=rowvar), np.cov(a, rowvar=rowvar))
    assert_eq(da.cov(x, x[::-1], rowvar=rowvar, ddof=0), np.cov(a, a[::-1], rowvar=rowvar, ddof=0))
    assert_eq(da.cov(x[0], bias=True), np.cov(a[0], bias=True))
    w = np.array([1, 2, 3, 1])
    assert_eq(da.cov(x, fweights=w, aweights=w / 2), np.cov(a, fweights=w, aweights=w / 2))
    assert_eq(da.corrcoef(x, rowvar=rowvar), np.corrcoef(a, rowvar=rowvar))
    with pytest.raises(ValueError, match="more than 2"):
        da.cov(da.ones((2, 2, 2)))


@pytest.mark.parametrize(
    ("obj", "values", "axis"),
    [
        (1, 7.0, 1),
        ([1, 3, 0], [7, 8, 9], 1),
        (slice(0, 3, 2), 5, 0),
        (-1, [[1], [2], [3]], 1),
        ([2], [7, 8], None),
        (4, 1, 1),
        ([0, 0], 5, 0),
    ],
)
def test_insert(mat, obj, values, axis):
    a, x = mat
    assert_eq(da.insert(x, obj, values, axis=axis), np.insert(a, obj, values, axis=axis))


def test_insert_delete_errors(mat):
    _a, x = mat
    with pytest.raises(IndexError):
        da.insert(x, 9, 1, axis=1)
    with pytest.raises(np.exceptions.AxisError):
        da.delete(x, 0, axis=2)


@pytest.mark.parametrize(
    ("obj", "axis"), [(1, 1), ([0, 2], 0), (slice(None, None, 2), 1), ([], 0), (-1, None)]
)
def test_delete(mat, obj, axis):
    a, x = mat
    assert_eq(da.delete(x, obj, axis=axis), np.delete(a, obj, axis=axis))


def test_digitize_ediff1d_extract(mat):
    a, x = mat
    bins = np.array([0.2, 0.5, 0.7])
    for right in (False, True):
        assert_eq(da.digitize(x, bins, right=right), np.digitize(a, bins, right=right))
    assert_eq(da.ediff1d(x), np.ediff1d(a))
    assert_eq(da.ediff1d(x, to_begin=[1, 2], to_end=3), np.ediff1d(a, to_begin=[1, 2], to_end=3))
    assert_eq(da.extract(x > 0.5, x), np.extract(a > 0.5, a))
    with pytest.raises(ValueError, match="1-dimensional"):
        da.digitize(x, np.ones((2, 2)))


@pytest.mark.parametrize("k", [0, 1, 2, 3, -1, 5])
@pytest.mark.parametrize("axes", [(0, 1), (1, 0), (2, 0)])
def test_rot90(k, axes, rng):
    a = rng.random((3, 4, 5))
    x = da.from_array(a, chunks=(2, 3, 2))
    assert_eq(da.rot90(x, k, axes), np.rot90(a, k, axes))
    with pytest.raises(ValueError, match="Axes must be different"):
        da.rot90(x, 1, (0, 0))


def test_apply_along_axis_and_over_axes(mat):
    a, x = mat
    assert_eq(da.apply_along_axis(np.cumsum, 1, x), np.apply_along_axis(np.cumsum, 1, a))
    assert_eq(da.apply_along_axis(np.sum, 0, x), np.apply_along_axis(np.sum, 0, a))

    def f(v):
        return np.outer(v, v)[:2]

    assert_eq(da.apply_along_axis(f, 0, x), np.apply_along_axis(f, 0, a))
    assert_eq(da.apply_over_axes(da.sum, x, [0, 1]), np.apply_over_axes(np.sum, a, [0, 1]))
    assert_eq(da.apply_over_axes(da.cumsum, x, 1), np.apply_over_axes(np.cumsum, a, 1))


def test_index_helpers():
    idx = (np.array([0, 2, 1, 2]), np.array([1, 3, 0, 0]))
    dx = tuple(da.from_array(i, chunks=3) for i in idx)
    assert_eq(da.ravel_multi_index(dx, (3, 4)), np.ravel_multi_index(idx, (3, 4)))
    assert_eq(
        da.ravel_multi_index(da.stack(dx), (3, 4), order="F"),
        np.ravel_multi_index(idx, (3, 4), order="F"),
    )
    flat = np.array([0, 5, 11, 7])
    for d, e in zip(
        da.unravel_index(da.from_array(flat, chunks=2), (3, 4)),
        np.unravel_index(flat, (3, 4)),
        strict=True,
    ):
        assert_eq(d, e)
    for f in ("tril_indices", "triu_indices"):
        for got, exp in zip(
            getattr(da, f)(4, 1, 5, chunks=3), getattr(np, f)(4, 1, 5), strict=True
        ):
            assert_eq(got, exp)
    x = da.ones((3, 5), chunks=2)
    for got, exp in zip(
        da.tril_indices_from(x, -1), np.tril_indices_from(np.ones((3, 5)), -1), strict=True
    ):
        assert_eq(got, exp)
    with pytest.raises(ValueError, match="2-d"):
        da.triu_indices_from(da.ones(3))


def test_union1d_isnull_broadcast_unify():
    a, b = np.array([3, 1, 2, 3]), np.array([[5, 1], [0, 0]])
    assert_eq(da.union1d(da.from_array(a, chunks=2), b), np.union1d(a, b))
    v = np.array([1.0, np.nan, 3.0])
    assert_eq(da.isnull(da.from_array(v, chunks=2)), np.isnan(v))
    assert_eq(da.notnull(da.from_array(v, chunks=2)), ~np.isnan(v))
    o = np.array([None, "a", np.nan], dtype=object)
    assert_eq(da.isnull(da.from_array(o, chunks=2)), np.array([True, False, True]))
    x = da.ones((3, 1), chunks=2)
    y = da.arange(4, chunks=3)
    bx, by = da.broadcast_arrays(x, y)
    ex, ey = np.broadcast_arrays(np.ones((3, 1)), np.arange(4))
    assert_eq(bx, ex)
    assert_eq(by, ey)
    assert bx.chunks == by.chunks
    p = da.ones((6, 4), chunks=(2, 4))
    q = da.ones((6, 4), chunks=(3, 2))
    chunkss, (p2, q2) = da.unify_chunks(p, "ij", q, "ij")
    assert p2.chunks == q2.chunks == (chunkss["i"], chunkss["j"])
    assert_eq(p2 + q2, np.full((6, 4), 2.0))


def test_iscomplexobj_and_routines_module_names():
    import oxdask.array.routines as routines

    assert np.iscomplexobj(da.from_array(np.array([1, 2]), 2)) is False
    assert np.iscomplexobj(da.from_array(np.array([1, 2 + 0j]), 2)) is True
    assert routines.cov is da.cov
    assert routines.aligned_coarsen_chunks((2, 10, 15, 47, 23, 24), 4) == (4, 12, 16, 44, 20, 24, 1)
