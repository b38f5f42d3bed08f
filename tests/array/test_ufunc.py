"""Elementwise operations: operators, ufuncs, where/clip/astype, broadcasting."""

from __future__ import annotations

import operator

import numpy as np
import pytest
from array_helpers import assert_eq

import oxdask.array as da

BINARY = [
    operator.add,
    operator.sub,
    operator.mul,
    operator.truediv,
    operator.floordiv,
    operator.mod,
    operator.pow,
    operator.eq,
    operator.ne,
    operator.lt,
    operator.le,
    operator.gt,
    operator.ge,
]


@pytest.mark.parametrize("op", BINARY)
def test_binary_operators(op, rng):
    a = rng.random((7, 5)) + 0.5
    b = rng.random((7, 5)) + 0.5
    x = da.from_array(a, chunks=(3, 2))
    y = da.from_array(b, chunks=(2, 4))  # different chunks are unified
    assert_eq(op(x, y), op(a, b))
    assert_eq(op(x, 2), op(a, 2))
    assert_eq(op(2, x), op(2, a))
    assert_eq(op(x, b), op(a, b))


@pytest.mark.parametrize(
    "op", [operator.and_, operator.or_, operator.xor, operator.lshift, operator.rshift]
)
def test_integer_operators(op, rng):
    a = rng.integers(0, 8, (6, 4))
    b = rng.integers(0, 4, (6, 4))
    x = da.from_array(a, chunks=(4, 3))
    assert_eq(op(x, da.from_array(b, chunks=2)), op(a, b))
    assert_eq(~x, ~a)


def test_unary_and_reflected(rng):
    a = rng.random((5, 5)) - 0.5
    x = da.from_array(a, chunks=2)
    assert_eq(-x, -a)
    assert_eq(+x, +a)
    assert_eq(abs(x), abs(a))
    assert_eq(divmod(x, 0.3)[0], np.divmod(a, 0.3)[0])
    assert_eq(divmod(x, 0.3)[1], np.divmod(a, 0.3)[1])


@pytest.mark.parametrize(
    "name",
    [
        "exp",
        "log1p",
        "sin",
        "sqrt",
        "isnan",
        "isfinite",
        "sign",
        "floor",
        "negative",
        "square",
        "arctan",
    ],
)
def test_unary_ufuncs(name, rng):
    a = rng.random((6, 7))
    x = da.from_array(a, chunks=(4, 3))
    assert_eq(getattr(da, name)(x), getattr(np, name)(a))
    assert_eq(getattr(np, name)(x), getattr(np, name)(a))


@pytest.mark.parametrize(
    "name", ["maximum", "minimum", "hypot", "arctan2", "logaddexp", "fmax", "power", "copysign"]
)
def test_binary_ufuncs(name, rng):
    a = rng.random((6, 7))
    b = rng.random((7,))
    x = da.from_array(a, chunks=(4, 3))
    assert_eq(getattr(da, name)(x, b), getattr(np, name)(a, b))


def test_ufunc_on_numpy_is_eager():
    assert isinstance(da.exp(np.ones(3)), np.ndarray)
    assert da.exp.__name__ == "exp"


def test_broadcasting(rng):
    a = rng.random((4, 1, 5))
    b = rng.random((3, 1))
    x = da.from_array(a, chunks=(2, 1, 3))
    y = da.from_array(b, chunks=(2, 1))
    assert_eq(x + y, a + b)
    assert_eq(x * da.from_array(np.float64(2.0)), a * 2)
    with pytest.raises(ValueError, match="could not be broadcast"):
        x + da.ones((2, 3))


def test_where_clip_astype_isnan(rng):
    a = rng.random((8, 6))
    a[a < 0.2] = np.nan
    x = da.from_array(a, chunks=(3, 4))
    assert_eq(da.where(da.isnan(x), -1, x), np.where(np.isnan(a), -1, a))
    assert_eq(da.where(x > 0.5, x, 0), np.where(a > 0.5, a, 0))
    assert_eq(x.clip(0.3, 0.6), a.clip(0.3, 0.6))
    assert_eq(da.clip(x, 0.3, None), np.clip(a, 0.3, None))
    assert_eq(x.astype("f4"), a.astype("f4"))
    assert_eq(da.nan_to_num(x), np.nan_to_num(a))
    assert x.astype(x.dtype) is x
    with pytest.raises(TypeError, match="Cannot cast"):
        x.astype(int, casting="safe")


def test_complex_parts_and_round(rng):
    a = rng.random((4, 4)) + 1j * rng.random((4, 4))
    x = da.from_array(a, chunks=2)
    assert_eq(x.real, a.real)
    assert_eq(x.imag, a.imag)
    assert_eq(da.angle(x), np.angle(a))
    assert_eq(x.conj(), a.conj())
    assert_eq(da.round(x.real, 2), np.round(a.real, 2))
    assert_eq(da.isclose(x, x), np.ones((4, 4), bool))
    assert bool(da.allclose(x, a).compute())


# -- out= and where= (as Dask: ``out`` becomes the result) --------------------------------------


def test_ufunc_out_is_replaced():
    a = np.arange(6.0).reshape(2, 3)
    out = da.zeros((2, 3), chunks=2)
    assert np.add(da.from_array(a, chunks=1), 1, out=out) is out
    assert_eq(out, a + 1)
    out2 = da.zeros((2, 3), chunks=2)
    assert da.sin(da.from_array(a, chunks=1), out=(out2,)) is out2
    assert_eq(out2, np.sin(a))


def test_ufunc_where_keeps_out_elsewhere():
    a = np.arange(6.0).reshape(2, 3)
    expect = np.full((2, 3), -1.0)
    np.add(a, 1, out=expect, where=a > 2)
    out = da.from_array(np.full((2, 3), -1.0), chunks=2)
    x = da.from_array(a, chunks=1)
    assert da.add(x, 1, out=out, where=x > 2) is out
    assert_eq(out, expect)
    out = da.from_array(np.full((2, 3), -1.0), chunks=2)
    np.add(x, 1, out=out, where=a > 2)
    assert_eq(out, expect)


def test_ufunc_out_errors():
    x = da.ones((2, 3), chunks=2)
    with pytest.raises(NotImplementedError, match="out parameter"):
        da.add(x, 1, out=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="Mismatched shapes"):
        da.add(x, 1, out=da.zeros(3, chunks=3))


def test_ufunc_where_broadcasts_with_out():
    left, right = np.arange(4), np.arange(4, 8)
    where = np.array([[0, 1, 1, 0], [1, 0, 0, 1], [0, 1, 0, 1]], dtype=bool)
    expect = np.add(left, right, where=where, out=np.zeros(where.shape, left.dtype))
    out = da.zeros(where.shape, dtype=left.dtype, chunks=2)
    got = da.add(da.from_array(left, chunks=2), right, where=da.from_array(where, 2), out=out)
    assert got is out
    assert_eq(out, expect)


def test_ufunc_forwards_numpy_attributes():
    for attr in ("nin", "nargs", "nout", "ntypes", "identity", "signature", "types"):
        assert getattr(da.log, attr) == getattr(np.log, attr)
    assert "ntypes" in dir(da.log)
    with pytest.raises(AttributeError):
        da.log.not_an_attribute  # noqa: B018


@pytest.mark.parametrize("name", ["real", "imag", "iscomplex", "isreal", "angle", "sinc"])
def test_wrapped_functions_of_numpy_inputs_are_numpy(name):
    a = np.array([1 + 2j, 3 - 1j])
    got = getattr(da, name)(a)
    assert isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, getattr(np, name)(a))
    assert_eq(getattr(da, name)(da.from_array(a, chunks=1)), getattr(np, name)(a))


def test_outer_and_two_output_ufuncs():
    a, b = np.arange(3), np.arange(4.0)
    assert isinstance(da.add.outer(a, b), np.ndarray)
    assert_eq(da.add.outer(da.from_array(a, chunks=2), b), np.add.outer(a, b))
    with pytest.raises(ValueError, match="out"):
        da.add.outer(da.from_array(a, chunks=2), b, out=a)
    with pytest.raises(ValueError, match="binary"):
        da.sin.outer(da.from_array(a, chunks=2), b)
    m, e = da.frexp(b)  # two outputs: arrays, even of NumPy inputs (as Dask)
    assert isinstance(m, da.Array)
    assert_eq(m, np.frexp(b)[0])
    assert_eq(e, np.frexp(b)[1])


def test_ufunc_reduce_is_not_supported():
    with pytest.raises(TypeError):
        np.add.reduce(da.arange(10, chunks=5))


def test_frompyfunc_pickles_and_refuses_two_outputs():
    import pickle

    from oxdask.array.ufunc import da_frompyfunc

    f = da_frompyfunc(operator.add, 2, 1)
    g = pickle.loads(pickle.dumps(f))
    np.testing.assert_array_equal(g(np.array([1, 2]), 1), [2, 3])
    assert f.__name__ == "frompyfunc-add"
    myadd = da.frompyfunc(operator.add, 2, 1)
    x = np.arange(6.0).reshape(2, 3)
    assert_eq(myadd(da.from_array(x, chunks=2), x), np.frompyfunc(operator.add, 2, 1)(x, x))
    with pytest.raises(NotImplementedError):
        da.frompyfunc(lambda x, y: (x + y, x - y), 2, 2)


def test_python_integer_out_of_range_overflows_as_numpy():
    x = da.ones(2, dtype=np.int8, chunks=1)
    with pytest.raises(OverflowError, match="out of bounds for int8"):
        x * 128
    with pytest.raises(OverflowError, match="out of bounds for int8"):
        128 + x
    assert_eq(x * 3, np.ones(2, np.int8) * 3)


def test_astype_refuses_unknown_keywords():
    with pytest.raises(TypeError, match="not_a_real_kwarg"):
        da.ones(2, chunks=1).astype("i8", not_a_real_kwarg="foo")
