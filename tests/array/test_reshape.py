"""Shape manipulation compared with NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from array_helpers import assert_eq

import oxdask.array as da


@pytest.mark.parametrize(
    ("shape", "chunks", "new"),
    [
        ((24,), 5, (4, 6)),
        ((4, 6), (2, 3), (24,)),
        ((4, 6), (3, 2), (2, 12)),
        ((2, 3, 4), (1, 2, 3), (6, 4)),
        ((2, 3, 4), 2, (4, 3, 2)),
        ((6, 4), (2, 4), (3, 2, 4)),
        ((12,), 4, (3, 1, 4)),
        ((3, 1, 4), 1, (12,)),
        ((5, 4), 2, (-1, 2)),
        ((0, 3), 1, (3, 0)),
    ],
)
def test_reshape(shape, chunks, new, rng):
    a = rng.random(shape)
    x = da.from_array(a, chunks=chunks)
    assert_eq(x.reshape(new), a.reshape(new))
    assert_eq(da.reshape(x, new), a.reshape(new))


def test_reshape_errors():
    x = da.ones((4, 6), chunks=2)
    with pytest.raises(ValueError, match="cannot reshape array of size 24"):
        x.reshape((5, 5))
    with pytest.raises(ValueError, match="only specify one unknown"):
        x.reshape((-1, -1))


def test_transpose_family(rng):
    a = rng.random((3, 4, 5))
    x = da.from_array(a, chunks=(2, 3, 4))
    assert_eq(x.T, a.T)
    assert_eq(x.transpose(1, 0, 2), a.transpose(1, 0, 2))
    assert_eq(da.transpose(x, (2, 0, 1)), np.transpose(a, (2, 0, 1)))
    assert_eq(da.swapaxes(x, 0, 2), np.swapaxes(a, 0, 2))
    assert_eq(da.moveaxis(x, 0, -1), np.moveaxis(a, 0, -1))
    assert_eq(da.moveaxis(x, [0, 1], [-1, -2]), np.moveaxis(a, [0, 1], [-1, -2]))
    assert_eq(da.rollaxis(x, 2), np.rollaxis(a, 2))
    assert_eq(x.ravel(), a.ravel())
    with pytest.raises(ValueError, match="axes don't match"):
        x.transpose(0, 1)
    with pytest.raises(np.exceptions.AxisError):
        da.swapaxes(x, 0, 3)


def test_squeeze_expand_broadcast(rng):
    a = rng.random((3, 1, 4, 1))
    x = da.from_array(a, chunks=2)
    assert_eq(x.squeeze(), a.squeeze())
    assert_eq(da.squeeze(x, axis=1), np.squeeze(a, axis=1))
    with pytest.raises(ValueError, match="size not equal to one"):
        x.squeeze(axis=0)
    assert_eq(da.expand_dims(x, 0), np.expand_dims(a, 0))
    assert_eq(da.expand_dims(x, (1, -1)), np.expand_dims(a, (1, -1)))
    b = rng.random((4, 1))
    y = da.from_array(b, chunks=2)
    assert_eq(da.broadcast_to(y, (2, 4, 3)), np.broadcast_to(b, (2, 4, 3)))
    with pytest.raises(ValueError, match="cannot broadcast"):
        da.broadcast_to(y, (3, 3))
    assert_eq(da.atleast_2d(da.ones(3, chunks=2)), np.atleast_2d(np.ones(3)))
    assert_eq(da.atleast_3d(da.ones((2, 3), chunks=2)), np.atleast_3d(np.ones((2, 3))))


@pytest.mark.parametrize("func", ["atleast_1d", "atleast_2d", "atleast_3d"])
def test_atleast_nd_several_arguments_give_a_tuple(func):
    got = getattr(da, func)(da.ones(3, chunks=2), da.ones((2, 2), chunks=1))
    exp = getattr(np, func)(np.ones(3), np.ones((2, 2)))
    assert type(got) is type(exp)
    for g, e in zip(got, exp, strict=True):
        assert_eq(g, e)
    assert getattr(da, func)() == getattr(np, func)()


def test_swapaxes_names_follow_arguments():
    a = np.arange(24).reshape(2, 3, 4)
    x = da.from_array(a, chunks=2)
    assert x.swapaxes(0, 1).name == x.swapaxes(0, 1).name
    assert x.swapaxes(0, 1).name != x.swapaxes(1, 0).name
    assert_eq(x.swapaxes(1, 0), a.swapaxes(1, 0))
    assert x.swapaxes(2, 2) is x
