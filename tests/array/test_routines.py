"""Joining and miscellaneous routines, order statistics, histograms."""

from __future__ import annotations

import numpy as np
import pytest
from array_helpers import assert_eq

import oxdask.array as da


def test_concatenate_stack_block(rng):
    a, b = rng.random((4, 5)), rng.random((3, 5))
    x, y = da.from_array(a, chunks=(2, 3)), da.from_array(b, chunks=(2, 2))
    assert_eq(da.concatenate([x, y]), np.concatenate([a, b]))
    assert_eq(da.concatenate([x, x], axis=1), np.concatenate([a, a], axis=1))
    assert_eq(da.concatenate([x, y.astype("f4")]), np.concatenate([a, b.astype("f4")]))
    with pytest.raises(ValueError, match="must match exactly"):
        da.concatenate([x, y], axis=1)
    with pytest.raises(ValueError, match="same number of dimensions"):
        da.concatenate([x, da.ones(5)])
    assert_eq(da.stack([x, x], axis=1), np.stack([a, a], axis=1))
    with pytest.raises(ValueError, match="Stacked arrays must have the same shape"):
        da.stack([x, y])
    assert_eq(da.block([[x, x], [x, x]]), np.block([[a, a], [a, a]]))
    assert_eq(da.hstack([x, x]), np.hstack([a, a]))
    assert_eq(da.vstack([x, y]), np.vstack([a, b]))
    assert_eq(da.dstack([x, x]), np.dstack([a, a]))


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric", "wrap", "mean"])
def test_pad(mode, rng):
    a = rng.random((6, 5))
    x = da.from_array(a, chunks=(4, 2))
    for width in (2, ((1, 3), (0, 2)), 5):
        assert_eq(da.pad(x, width, mode=mode), np.pad(a, width, mode=mode))
    assert_eq(da.pad(x, 1, constant_values=9), np.pad(a, 1, constant_values=9))


def test_tile_repeat_flip_roll_diff(rng):
    a = rng.random((4, 3))
    x = da.from_array(a, chunks=2)
    for reps in (2, (2, 3), (2, 1, 2), 0):
        assert_eq(da.tile(x, reps), np.tile(a, reps))
    assert_eq(da.repeat(x, 3, axis=1), np.repeat(a, 3, axis=1))
    assert_eq(x.repeat(2, axis=0), np.repeat(a, 2, axis=0))
    assert_eq(da.flip(x, 0), np.flip(a, 0))
    assert_eq(da.fliplr(x), np.fliplr(a))
    assert_eq(da.roll(x, 2, axis=0), np.roll(a, 2, axis=0))
    assert_eq(da.roll(x, -4), np.roll(a, -4))
    assert_eq(da.diff(x, axis=0), np.diff(a, axis=0))
    assert_eq(da.diff(x, n=2), np.diff(a, n=2))


def test_misc(rng):
    a = rng.random((5, 5))
    x = da.from_array(a, chunks=2)
    assert_eq(da.tril(x), np.tril(a))
    assert_eq(da.triu(x, 1), np.triu(a, 1))
    assert_eq(da.diagonal(x), np.diagonal(a))
    assert_eq(da.diag(da.from_array(a[0], chunks=2)), np.diag(a[0]))
    assert_eq(da.trace(x), np.trace(a))
    assert_eq(da.outer(x[0], x[1]), np.outer(a[0], a[1]))
    assert_eq(da.count_nonzero(x > 0.5), np.count_nonzero(a > 0.5))
    assert_eq(da.ptp(x, axis=0), np.ptp(a, axis=0))
    assert_eq(da.average(x, axis=0, weights=a[0]), np.average(a, axis=0, weights=a[0]))
    assert_eq(da.isin(x, a[0]), np.isin(a, a[0]))
    assert_eq(da.argwhere(x > 0.5), np.argwhere(a > 0.5))
    for got, exp in zip(da.nonzero(x > 0.5), np.nonzero(a > 0.5), strict=True):
        assert_eq(got, exp)
    assert_eq(da.append(x, x), np.append(a, a))


@pytest.mark.parametrize("k", [3, -2, 1, 30])
def test_topk(k, rng):
    a = rng.random((7, 30))
    x = da.from_array(a, chunks=(3, 7))
    expect = -np.sort(-a, axis=1)[:, :k] if k > 0 else np.sort(a, axis=1)[:, :-k]
    assert_eq(da.topk(x, k), expect)
    assert_eq(x.topk(k, axis=-1, split_every=2), expect)
    order = np.argsort(-a if k > 0 else a, axis=1, kind="stable")[:, : abs(k)]
    assert_eq(da.argtopk(x, k), order)


def test_unique_histogram_bincount_percentile(rng):
    a = rng.integers(0, 9, (20, 7))
    x = da.from_array(a, chunks=(6, 3))
    assert_eq(da.unique(x), np.unique(a))
    u, c = da.unique(x, return_counts=True)
    eu, ec = np.unique(a, return_counts=True)
    assert_eq(u, eu)
    assert_eq(c, ec)
    h, edges = da.histogram(x, bins=4, range=(0, 9))
    eh, eedges = np.histogram(a, bins=4, range=(0, 9))
    assert_eq(h, eh)
    np.testing.assert_array_equal(edges, eedges)
    with pytest.raises(ValueError, match="requires either specifying bins"):
        da.histogram(x, bins=4)
    v = x.ravel()
    assert_eq(da.bincount(v), np.bincount(a.ravel()))
    assert_eq(da.bincount(v, minlength=12), np.bincount(a.ravel(), minlength=12))
    w = rng.random(a.size)
    assert_eq(
        da.bincount(v, weights=da.from_array(w, chunks=30)), np.bincount(a.ravel(), weights=w)
    )
    f = rng.random((20, 7))
    y = da.from_array(f, chunks=(6, 3))
    assert_eq(da.percentile(y.ravel(), [10, 50, 90]), np.percentile(f, [10, 50, 90]))
    assert_eq(da.percentile(y, 30, axis=0), np.percentile(f, 30, axis=0))
    assert_eq(da.median(y, axis=1), np.median(f, axis=1))
    assert_eq(da.quantile(y, [0.25, 0.75], axis=0), np.quantile(f, [0.25, 0.75], axis=0))
    f[f < 0.5] = np.nan
    assert_eq(da.nanmedian(da.from_array(f, chunks=4), axis=0), np.nanmedian(f, axis=0))


def test_diff_order_zero_and_negative():
    a = np.arange(6)
    x = da.from_array(a, chunks=2)
    assert_eq(da.diff(x, 0, prepend=0), np.diff(a, 0, prepend=0))
    assert_eq(da.diff(x, 0, append=[1, 2]), np.diff(a, 0, append=[1, 2]))
    with pytest.raises(ValueError, match="order must be non-negative"):
        da.diff(x, -1)
    with pytest.raises(ValueError, match="at least one dimensional"):
        da.diff(da.from_array(np.array(5)))


@pytest.mark.parametrize(
    "a",
    [
        np.array(["foo", "bar", ""]),
        np.array([b"a", b"", b"c", b""]),
        np.array(["a", None, 0, 3], dtype=object),
        np.array([np.nan, 0.0, -0.0, 2.0]),
    ],
)
def test_count_nonzero_and_nonzero_of_any_dtype(a):
    x = da.from_array(a, chunks=2)
    assert int(da.count_nonzero(x).compute()) == np.count_nonzero(a)
    assert_eq(da.flatnonzero(x), np.flatnonzero(a))


def test_piecewise_with_lazy_conditions():
    a = np.arange(10)
    x = da.from_array(a, chunks=3)
    funcs = [lambda v: v, lambda v: v * 2]
    assert_eq(da.piecewise(x, [x < 5, x >= 5], funcs), np.piecewise(a, [a < 5, a >= 5], funcs))
    assert_eq(da.piecewise(x, [x < 5], funcs), np.piecewise(a, [a < 5], funcs))
    assert_eq(
        da.piecewise(x, [a < 5, x > 7], [1, lambda v: -v, 9]),
        np.piecewise(a, [a < 5, a > 7], [1, lambda v: -v, 9]),
    )
    assert_eq(
        da.piecewise(x, x < 3, [lambda v: v * 10, 0]), np.piecewise(a, a < 3, [lambda v: v * 10, 0])
    )
    with pytest.raises(ValueError, match="functions are expected"):
        da.piecewise(x, [x < 5], [1, 2, 3])


@pytest.mark.parametrize("offset", [-1, 0, 2, 9, -9])
@pytest.mark.parametrize(("axis1", "axis2"), [(0, 1), (2, 0), (1, 2), (-1, 0)])
def test_diagonal_any_axes(offset, axis1, axis2):
    v = np.arange(384).reshape((8, 8, 6))
    x = da.from_array(v, chunks=(4, 4, 2))
    assert_eq(da.diagonal(x, offset, axis1, axis2), np.diagonal(v, offset, axis1, axis2))


def test_diagonal_and_diag_errors():
    with pytest.raises(ValueError, match="cannot be the same"):
        da.diagonal(da.ones((3, 3)), 0, 1, 1)
    with pytest.raises(ValueError, match="at least two dimensions"):
        da.diagonal(da.ones(3))
    with pytest.raises(ValueError, match="Array must be 1d or 2d only"):
        da.diag(da.ones((2, 2, 2)))
    with pytest.raises(TypeError, match="must be a dask array or numpy array"):
        da.diag(1)
    assert_eq(da.diag(da.ones((3, 4), chunks=2), 5), np.diag(np.ones((3, 4)), 5))


def test_pad_zero_width_and_constant_chunks():
    x = da.ones((10, 10), chunks=(1, 1))
    assert da.pad(x, 0) is x
    y = da.pad(x, ((0, 6), (0, 0)), mode="constant", constant_values=0)
    assert tuple(map(max, y.chunks)) == (1, 1)
    assert_eq(y, np.pad(np.ones((10, 10)), ((0, 6), (0, 0))))


def test_roll_tuple_shift_without_axis_raises():
    with pytest.raises(TypeError, match="Integral"):
        da.roll(da.ones((4, 6), chunks=2), (3, 9), None)
    assert issubclass(da.PerformanceWarning, Warning)


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize(
    ("v", "v_chunks"), [([], 1), ([11, 30, -20, 1, -10, 10, 37, 11], 5), ([[7, 0], [-10, 10]], 1)]
)
def test_searchsorted_chunked_like_v(side, v, v_chunks):
    a = np.array([-10, 0, 10, 20, 30])
    v = np.array(v)
    vd = da.asarray(v, chunks=v_chunks)
    out = da.searchsorted(da.asarray(a, chunks=3), vd, side)
    assert out.chunks == vd.chunks
    assert_eq(out, np.searchsorted(a, v, side))
    with pytest.raises(NotImplementedError):
        da.searchsorted(a, vd, sorter=np.arange(5))


def test_compress_with_short_or_lazy_condition():
    x = np.arange(25).reshape((5, 5))
    a = da.from_array(x, chunks=2)
    c1, c2 = np.array([True, False, True, False, True]), np.array([True, False])
    for c, dc in [(c1, da.from_array(c1, chunks=3)), (c2, da.from_array(c2, chunks=2)), (c2, c2)]:
        for axis in (None, 0, 1):
            assert_eq(da.compress(dc, a, axis=axis), np.compress(c, x, axis=axis))


def test_flip_bad_axis_and_empty_vindex():
    with pytest.raises(ValueError, match="out of bounds"):
        da.flip(da.ones(3), 1)
    x = da.ones((3, 3), chunks=2)
    assert_eq(x.vindex[np.array([], int), np.array([], int)], np.ones((3, 3))[[], []])
    got = da.unravel_index(da.from_array(np.array([], dtype=int), chunks=1), (3, 4))
    for g, e in zip(got, np.unravel_index(np.array([], dtype=int), (3, 4)), strict=True):
        assert_eq(g, e)


def test_rechunk_one_dimension_by_block_sizes():
    x = da.arange(48, chunks=5)
    assert x.rechunk((16, 16, 16)).chunks == ((16, 16, 16),)
    assert_eq(x.rechunk((16, 16, 16)), np.arange(48))


@pytest.mark.parametrize(
    "subscripts", ["...ij,jk->...ik", "...j,jk", "i...->...", "ijk,kl,jl", "ijk,kl,jl,i->i"]
)
def test_einsum_ellipsis_and_broadcasting(subscripts, rng):
    shapes = {
        "...ij,jk->...ik": [(3, 4, 5), (5, 6)],
        "...j,jk": [(3, 4, 5), (5, 6)],
        "i...->...": [(3, 4, 5)],
        "ijk,kl,jl": [(1, 5, 4), (4, 6), (5, 6)],
        "ijk,kl,jl,i->i": [(1, 5, 4), (4, 6), (5, 6), (10,)],
    }[subscripts]
    arrays = [rng.random(s) for s in shapes]
    lazy = [da.from_array(a, chunks=3) for a in arrays]
    assert_eq(da.einsum(subscripts, *lazy), np.einsum(subscripts, *arrays))
    a, b = arrays[0], rng.random((shapes[0][-1], 2))
    assert_eq(
        da.einsum(lazy[0], list(range(a.ndim)), da.from_array(b, chunks=1), [a.ndim - 1, 9]),
        np.einsum(a, list(range(a.ndim)), b, [a.ndim - 1, 9]),
    )
    with pytest.raises(TypeError, match="unexpected keyword"):
        da.einsum(subscripts, *lazy, foo=1)


def test_empty_arrays_with_empty_chunks():
    x = np.zeros(0)
    d = da.from_array(x, chunks=())
    assert d.chunks == ((0,),)
    assert int(da.count_nonzero(d).compute()) == 0
    assert_eq(da.argwhere(d), np.argwhere(x))
    assert_eq(da.nonzero(d)[0], np.nonzero(x)[0])


def test_where_constant_condition_and_stack_unknown():
    x = da.from_array(np.arange(12).reshape(3, 4), chunks=2)
    y = da.zeros((3, 4), dtype=int, chunks=2)
    for c in (True, False, np.True_, 1, 0):
        assert da.where(c, x, y) is (x if c else y)
    u = x[x[:, 0] >= 0]  # unknown number of rows
    with pytest.raises(ValueError, match="unknown"):
        da.hstack([u, u])
    assert_eq(da.hstack([u, u], allow_unknown_chunksizes=True), np.hstack([x.compute()] * 2))
    with pytest.raises(ValueError, match="same number of shifts"):
        da.roll(x, 3, (0, 1))


def test_take_lazy_indices_from_numpy_and_isnull_of_scalar():
    a = np.arange(5.0) * 2
    idx = da.from_array(np.array([1, 2, 3, 3, 2, 1]), chunks=3)
    z = da.take(a, idx)
    assert z.chunks == idx.chunks
    assert_eq(z, a[[1, 2, 3, 3, 2, 1]])
    r = da.isnull(da.from_array(np.arange(3), chunks=-1)[0]).compute()
    assert type(r) is np.ndarray


@pytest.mark.parametrize(
    ("arr", "dims", "kwargs"),
    [([[3, 6, 6]], (7,), {}), ([[3, 6, 6], [4, 5, 1]], (7, 6), {"order": "F"})],
)
def test_ravel_multi_index_stacked(arr, dims, kwargs):
    a = np.asarray(arr)
    assert_eq(
        da.ravel_multi_index(da.from_array(a, chunks=1), dims, **kwargs),
        np.ravel_multi_index(a, dims, **kwargs),
    )
    with pytest.raises(TypeError, match="only int"):
        da.ravel_multi_index(da.from_array(a.astype(float)), dims)


def test_cov_one_observation_rowvar_false():
    x = np.array([[1.0, 2.0]])
    with pytest.warns(RuntimeWarning), np.errstate(all="ignore"):
        assert_eq(da.cov(da.from_array(x), rowvar=False), np.cov(x, rowvar=False))


@pytest.mark.timeout(30)
def test_diff_of_high_order_and_booleans_is_quick():
    a = np.arange(6) ** 2
    x = da.from_array(a, chunks=2)
    assert da.diff(x, 10**9).shape == (0,)  # no graph of 10**9 steps
    assert_eq(da.diff(x, 1000), np.diff(a, 1000))
    b = np.array([True, False, False, True])
    assert_eq(da.diff(da.from_array(b, chunks=3)), np.diff(b))
    assert_eq(da.diff(da.from_array(b, chunks=3), 2), np.diff(b, 2))
