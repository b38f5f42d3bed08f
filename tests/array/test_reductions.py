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


# -- regressions: silent wrong answers and metadata --------------------------------------------


def _nan_object_array():
    x = np.arange(16, dtype=float).reshape(4, 4)
    x[[0, 2], 3] = np.nan
    x[1, 1] = np.nan
    x[3, 3] = 4.0
    return x.astype(object)


@pytest.mark.parametrize("name", ["nanmin", "nanmax", "nansum", "nanprod", "nanmean", "nanvar"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_nan_reductions_of_object_arrays(name, axis):
    # nanmin along axis 0 gave 12.0 in the last column where NumPy gives 4.0
    xo = _nan_object_array()
    got = getattr(da, name)(da.from_array(xo, chunks=(2, 2)), axis=axis)
    expect = getattr(np, name)(xo, axis=axis)
    assert_eq(got, expect, check_dtype=axis is not None)


def test_nanmin_object_last_column():
    got = da.nanmin(da.from_array(_nan_object_array(), chunks=(2, 2)), axis=0).compute()
    assert got[3] == 4.0


@pytest.mark.parametrize("name", ["sum", "mean", "std", "min", "nanmean", "prod"])
def test_full_reductions_compute_numpy_scalars(name):
    x = da.ones(4, chunks=2)
    got = getattr(da, name)(x, axis=0).compute()
    assert type(got) is type(getattr(np, name)(np.ones(4), axis=0)) is np.float64


@pytest.mark.parametrize("name", ["argmin", "argmax", "nanargmin", "nanargmax"])
def test_arg_reductions_keepdims_over_all_axes(name, rng):
    a = rng.random((3, 4, 5))
    x = da.from_array(a, chunks=2)
    got = getattr(da, name)(x, keepdims=True)
    assert got.shape == (1, 1, 1)
    assert_eq(got, getattr(np, name)(a, keepdims=True))
    with pytest.raises(TypeError):
        getattr(da, name)(x, axis=(0, 1))


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 1)])
def test_quantile_of_nd_q(axis, keepdims, rng):
    a = rng.random((5, 8))
    q = np.array([[0.1, 0.5], [0.2, 0.9]])
    x = da.from_array(a, chunks=(2, 3))
    got = da.quantile(x, q, axis=axis, keepdims=keepdims)
    assert_eq(got, np.quantile(a, q, axis=axis, keepdims=keepdims))
    assert_eq(
        da.median(x, axis=axis, keepdims=keepdims), np.median(a, axis=axis, keepdims=keepdims)
    )


@pytest.mark.parametrize("shape", ["full", "1d"])
@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("func", ["quantile", "nanquantile"])
def test_weighted_quantile(shape, lazy, func, rng):
    # weights used to be ignored: 0.2173 where NumPy gives 0.2136
    a = rng.random((5, 8))
    w = rng.random((5, 8) if shape == "full" else 8)
    # np.nanquantile wants weights of a's shape
    wn = np.broadcast_to(w, a.shape) if func == "nanquantile" and shape == "1d" else w
    x = da.from_array(a, chunks=(2, 3))
    weights = da.from_array(w, chunks=3) if lazy else w
    got = getattr(da, func)(x, 0.75, axis=-1, weights=weights, method="inverted_cdf")
    expect = getattr(np, func)(a, 0.75, axis=-1, weights=wn, method="inverted_cdf")
    assert_eq(got, expect)


def test_weighted_quantile_needs_inverted_cdf():
    x = da.ones((3, 4), chunks=2)
    with pytest.raises(ValueError, match="inverted_cdf"):
        da.quantile(x, 0.5, axis=1, weights=np.ones((3, 4)))


def test_quantile_positional_axis(rng):
    a = rng.random((4, 6))
    x = da.from_array(a, chunks=2)
    assert_eq(da.quantile(x, 0.3, 1), np.quantile(a, 0.3, 1))


def test_bincount_length_from_minlength():
    d = da.from_array(np.array([2, 1, 5, 2, 1]), chunks=2)
    got = da.bincount(d, minlength=6)
    assert got.shape == (6,)
    assert_eq(got, np.bincount([2, 1, 5, 2, 1], minlength=6))
    assert np.isnan(da.bincount(d).shape[0])
    with pytest.raises(ValueError, match="minlength"):
        da.bincount(d, minlength=3).compute()


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "nancumsum", "nancumprod"])
def test_cumulative_out(name):
    a = np.arange(1.0, 7.0).reshape(2, 3)
    x = da.from_array(a, chunks=1)
    if name.startswith("nan"):
        assert getattr(da, name)(x, 0, out=x) is x
    else:
        assert getattr(np, name)(x, axis=0, out=x) is x  # NumPy protocol: x is replaced
    assert_eq(x, getattr(np, name)(a, axis=0))


@pytest.mark.parametrize("name", ["sum", "mean", "std", "max", "nanmin", "argmax", "median"])
def test_reduction_out(name, rng):
    a = rng.random((4, 6))
    x = da.from_array(a, chunks=2)
    out = da.zeros(6, chunks=3, dtype=getattr(np, name)(a, axis=0).dtype)
    assert getattr(da, name)(x, axis=0, out=out) is out
    assert_eq(out, getattr(np, name)(a, axis=0))
    with pytest.raises(ValueError, match="Mismatched shapes"):
        getattr(da, name)(x, axis=0, out=da.zeros(5, chunks=5))
    with pytest.raises(NotImplementedError, match="out parameter"):
        getattr(da, name)(x, axis=0, out=np.zeros(6))


def test_cumprod_is_exact_where_partial_products_overflow():
    # block-wise partial products overflow to inf; 0 * inf gave NaN where NumPy gives 0
    a = np.arange(1320.0).reshape(10, 11, 12)
    d = da.from_array(a, chunks=(4, 5, 6))
    with np.errstate(over="raise", invalid="raise"):
        assert_eq(da.cumprod(d, axis=None), np.cumprod(a))
        assert_eq(da.nancumprod(d, axis=0), np.nancumprod(a, axis=0))


@pytest.mark.parametrize("ufunc", [np.add, np.multiply, np.maximum])
@pytest.mark.parametrize("dtype", [None, int, float])
def test_cumreduction(ufunc, dtype):
    a = np.linspace(0, 1, num=10)
    d = da.from_array(a, chunks=3)
    got = da.reductions.cumreduction(ufunc.accumulate, ufunc, ufunc.identity, d, dtype=dtype)
    assert_eq(got, ufunc.accumulate(a, dtype=dtype))
    with pytest.raises(ValueError, match="Invalid method"):
        da.reductions.cumreduction(np.cumsum, np.add, 0, d, method="nope")


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, (), 0, (0, 2)])
def test_numel(axis, keepdims):
    x = np.ones((2, 3, 4))
    x[0, 1] = np.nan
    kw = {"axis": axis, "keepdims": keepdims}
    assert_eq(da.reductions.numel(x, dtype="f4", **kw), np.sum(np.ones_like(x), dtype="f4", **kw))
    expect = np.sum(~np.isnan(x), dtype="i4", **kw)
    assert_eq(da.reductions.nannumel(x, dtype="i4", **kw), expect)


def test_split_every_forms_give_the_same_graph():
    d = da.from_array(np.arange(10.0), chunks=2)
    assert da.sum(d, split_every=2).name == da.sum(d, split_every={0: 2}).name


def test_complex_var_with_real_dtype():
    # NumPy: the mean in the given dtype (imaginary parts dropped), deviations complex
    x = (np.arange(5) + 1j * np.arange(5)).astype("c8")
    d = da.from_array(x, chunks=2)
    with pytest.warns(np.exceptions.ComplexWarning):
        expect = np.var(x, dtype="f8")
    with pytest.warns(np.exceptions.ComplexWarning):
        assert_eq(da.var(d, dtype="f8"), expect)


def test_reductions_of_0d_arrays():
    x = np.int_(3)
    d = da.from_array(x, chunks=(1,))  # chunks of a 0-d array are ignored, as Dask
    for name in ("sum", "mean", "var", "std", "min", "nanmax"):
        assert_eq(getattr(da, name)(d), getattr(np, name)(x))


@pytest.mark.parametrize("name", ["nanargmin", "nanargmax"])
def test_nanarg_all_nan_slice_raises(name):
    x = np.random.default_rng(0).random((4, 5))
    x[1] = np.nan
    d = da.from_array(x, chunks=(3, 2))
    assert_eq(getattr(da, name)(d, axis=0), getattr(np, name)(x, axis=0))
    with pytest.raises(ValueError, match="All-NaN"):
        getattr(da, name)(d, axis=1).compute()


@pytest.mark.parametrize("name", ["min", "max", "nanmin", "nanmax"])
def test_min_max_skip_empty_blocks(name):
    x = np.arange(10)
    d = da.from_array(x, chunks=1)
    assert_eq(getattr(da, name)(d[d < 2]), getattr(np, name)(x[x < 2]))
    assert_eq(getattr(da, name)(da.from_array(x, chunks=((5, 0, 5),))), getattr(np, name)(x))
    with pytest.raises(ValueError, match="zero-size"):
        getattr(da, name)(d[d < 0]).compute()


def test_arg_reductions_refuse_unknown_chunks():
    x = da.arange(10, chunks=5)
    with pytest.raises(ValueError, match="unknown chunksize"):
        da.argmax(x[x > 1])
    y = da.ones((10, 10), chunks=(5, 5))
    y = y[y[0, :] > 0, :]
    with pytest.raises(ValueError, match="unknown chunksize"):
        da.argmax(y, axis=0)
    assert_eq(da.argmax(y, axis=1), np.zeros(10, dtype=np.intp), check_shape=False)


def test_reduction_weights():
    def w_sum(x, weights=None, **kwargs):
        return np.sum(x if weights is None else x * weights, **kwargs)

    a = np.arange(60.0).reshape(6, 10)
    w = np.linspace(1, 2, 6).reshape(6, 1)
    d = da.from_array(a, chunks=(4, 5))
    assert_eq(da.reduction(d, w_sum, np.sum, dtype="f8", weights=w), np.sum(a * w))
    assert_eq(da.reduction(d, w_sum, np.sum, axis=0, dtype="f8", weights=w), np.sum(a * w, 0))
    with pytest.raises(ValueError, match="broadcastable"):
        da.reduction(d, w_sum, np.sum, dtype="f8", weights=np.ones(7))


def test_split_every_from_config_dict():
    import oxdask

    x = da.from_array(np.arange(242).reshape((11, 22)), chunks=(3, 4))
    with oxdask.config.set(split_every={0: 2, 1: 3}):
        assert_eq(x.sum(), np.arange(242).sum())
        assert_eq(x.sum(axis=0), np.arange(242).reshape((11, 22)).sum(axis=0))


@pytest.mark.parametrize("name", ["nanargmin", "nanargmax", "argmin", "argmax"])
@pytest.mark.parametrize("dtype", ["M8[s]", "m8[s]", "i4"])
def test_nanarg_reductions_of_non_float_dtypes(name, dtype):
    a = np.random.default_rng(1).integers(0, 100, (5, 4)).astype(dtype)
    d = da.from_array(a, chunks=(2, 3))
    for axis in (None, 0, 1):
        assert_eq(getattr(da, name)(d, axis=axis), getattr(np, name)(a, axis=axis))
