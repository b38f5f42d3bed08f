"""Creation functions compared with NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from array_helpers import assert_eq

import oxdask.array as da


@pytest.mark.parametrize("func", ["ones", "zeros", "empty"])
def test_constant(func):
    x = getattr(da, func)((7, 5), chunks=(3, 2), dtype="f4")
    assert x.chunks == ((3, 3, 1), (2, 2, 1))
    if func != "empty":
        assert_eq(x, getattr(np, func)((7, 5), dtype="f4"))
    else:
        assert x.compute().shape == (7, 5)
    y = x.copy()
    z = y + 0  # blocks are read-only but results are fresh arrays
    assert z.compute().flags.writeable


def test_full_and_like(rng):
    assert_eq(da.full((4, 3), 2.5, chunks=2), np.full((4, 3), 2.5))
    assert_eq(da.full(5, 7, chunks=2), np.full(5, 7))
    a = da.from_array(rng.random((5, 4)), chunks=(2, 3))
    for f in ("ones_like", "zeros_like"):
        y = getattr(da, f)(a)
        assert y.chunks == a.chunks
        assert_eq(y, getattr(np, f)(np.empty((5, 4))))
    assert_eq(da.full_like(a, 3), np.full((5, 4), 3.0))
    assert da.empty_like(a).shape == (5, 4)
    with pytest.raises(ValueError, match="fill_value must be scalar"):
        da.full((2, 2), [1, 2])


@pytest.mark.parametrize(
    ("args", "chunks"),
    [((10,), 3), ((2, 17), 4), ((1, 10, 2), 2), ((0.5, 4.5, 0.75), 2), ((10, 0, -3), 2)],
)
def test_arange(args, chunks):
    assert_eq(da.arange(*args, chunks=chunks), np.arange(*args))


@pytest.mark.parametrize("endpoint", [True, False])
def test_linspace(endpoint):
    assert_eq(
        da.linspace(2, 7, 13, chunks=4, endpoint=endpoint), np.linspace(2, 7, 13, endpoint=endpoint)
    )
    _, step = da.linspace(0, 1, 5, retstep=True, chunks=2)
    assert step == 0.25


@pytest.mark.parametrize("k", [-2, 0, 3])
def test_eye_tri(k):
    assert_eq(da.eye(7, chunks=3, M=9, k=k), np.eye(7, 9, k=k))
    assert_eq(da.tri(6, 5, k=k, chunks=2), np.tri(6, 5, k=k))
    assert_eq(da.identity(4, chunks=3), np.identity(4))


def test_fromfunction_indices_meshgrid():
    assert_eq(
        da.fromfunction(lambda i, j: i * 10 + j, (5, 4), chunks=2, dtype=int),
        np.fromfunction(lambda i, j: i * 10 + j, (5, 4), dtype=int),
    )
    assert_eq(da.indices((3, 4), chunks=2), np.indices((3, 4)))
    a, b = np.arange(3), np.arange(4)
    for ix in ("xy", "ij"):
        got = da.meshgrid(da.from_array(a, chunks=2), da.from_array(b, chunks=3), indexing=ix)
        for g, e in zip(got, np.meshgrid(a, b, indexing=ix), strict=True):
            assert_eq(g, e)


def test_asarray_and_from_array(rng):
    a = rng.random((5, 3))
    x = da.asarray(a)
    assert x.npartitions == 1
    assert_eq(x, a)
    assert da.asarray(x) is x
    assert_eq(da.asarray([1, 2, 3]), np.array([1, 2, 3]))
    assert_eq(da.asarray(a, dtype="f4"), a.astype("f4"))
    assert_eq(da.from_array(np.float64(3.0)), np.float64(3.0))
    assert da.from_array(a, chunks=2).name == da.from_array(a, chunks=2).name
    y = da.from_array(a, chunks=(2, 2), lock=True)
    assert_eq(y, a)
    assert_eq(da.asarray([da.ones(2), da.zeros(2)]), np.array([[1.0, 1], [0, 0]]))


def test_auto_chunks():
    x = da.ones((20000, 20000), chunks="auto")
    assert x.chunks[0][0] == 4096
    x = da.ones((100, 100), chunks={0: 30})
    assert x.chunks == ((30, 30, 30, 10), (100,))
    x = da.ones((10, 5), chunks=(3, -1))
    assert x.chunks == ((3, 3, 3, 1), (5,))


@pytest.mark.parametrize(
    "args",
    [
        (3, 13.0, 2),
        (-72057594037927945, -72057594037927938, 1.0),
        (0, 1, 0.1),
        (np.float32(0), np.float32(3), np.float32(0.3)),
        (np.int32(2), np.int32(9)),
        (2**63, 2**63 + 5),
        (1, 2**40, 2**37),
        (5, 2),
    ],
)
def test_arange_dtype_and_values_as_numpy(args):
    x = da.arange(*args, chunks=3)
    expected = np.arange(*args)
    assert x.dtype == expected.dtype
    assert x.shape == expected.shape
    assert_eq(x, expected)


@pytest.mark.parametrize("dtype", [None, int, "f4"])
@pytest.mark.parametrize(
    "args", [(0, 1, 7), (np.float32(0), np.float32(1), 5), (-3, 7, 9), (0, 1, 100_001)]
)
def test_linspace_dtype_as_numpy(args, dtype):
    x = da.linspace(*args, chunks=4000, dtype=dtype)
    assert_eq(x, np.linspace(*args, dtype=dtype))
    with pytest.raises(ValueError, match="must be non-negative"):
        da.linspace(0, 1, -1)


def test_arange_keywords_and_errors():
    assert_eq(da.arange(stop=10, chunks=3), np.arange(stop=10))
    assert_eq(da.arange(10, step=2, chunks=3), np.arange(10, step=2))
    with pytest.raises(TypeError, match="requires stop"):
        da.arange()
    with pytest.raises(TypeError, match="unexpected keyword"):
        da.arange(5, stride=2)


def test_linspace_with_lazy_bounds():
    x = da.from_array(np.array([0.2, 6.4, 3.0, 1.6]), chunks=2)
    for endpoint in (True, False):
        got = da.linspace(da.argmin(x), da.argmax(x) + 1, 8, endpoint=endpoint, chunks=3)
        assert_eq(got, np.linspace(0, 2, 8, endpoint=endpoint))


def test_meshgrid_is_a_tuple_and_fromfunction_is_deterministic():
    a, b = np.arange(3), np.arange(4.0)
    got = da.meshgrid(da.from_array(a, chunks=2), da.from_array(b, chunks=3))
    exp = np.meshgrid(a, b)
    assert type(got) is type(exp)
    for g, e in zip(got, exp, strict=True):
        assert_eq(g, e)

    def f(i, j):
        return i + j

    assert da.fromfunction(f, (4, 4), chunks=2).name == da.fromfunction(f, (4, 4), chunks=2).name


@pytest.mark.parametrize("func", ["zeros_like", "ones_like", "empty_like", "full_like"])
@pytest.mark.parametrize("dtype", [None, "u4", np.float32])
def test_like_of_unknown_chunk_sizes(func, dtype, rng):
    a = rng.random((20, 3))
    x = da.from_array(a, chunks=(7, 3))
    y = x[x[:, 0] < 0.5]
    args = (5,) if func == "full_like" else ()
    got = getattr(da, func)(y, *args, dtype=dtype)
    exp = getattr(np, func)(a[a[:, 0] < 0.5], *args, dtype=dtype)
    assert got.chunks[1] == (3,)
    if func == "empty_like":
        assert got.compute().shape == exp.shape
        assert got.dtype == exp.dtype
    else:
        assert_eq(got, exp)


def test_asanyarray_is_its_own_function():
    assert da.asanyarray is not da.asarray
    assert da.asanyarray.__name__ == "asanyarray"
    assert_eq(da.asanyarray([1, 2, 3], chunks=2), np.array([1, 2, 3]))
