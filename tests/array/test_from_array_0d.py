"""from_array of 0-d inputs: NumPy scalars become 0-d arrays, other objects are read through
the getter (keeping their element type)."""

from __future__ import annotations

import numpy as np
import pytest
from array_helpers import assert_eq

import oxdask.array as da


@pytest.mark.parametrize("x", [np.float32(1.5), np.int8(3), np.datetime64("2000-01-01"), 2.5])
def test_from_array_of_scalars(x):
    d = da.from_array(x, chunks=-1)
    assert isinstance(d.dask[(d.name,)], np.ndarray)
    assert_eq(d, np.array(x))


class _Wrapped:
    """Array-like: shape, dtype and getitem only."""

    def __init__(self, x):
        self.x = x
        self.shape = x.shape
        self.dtype = x.dtype

    def __getitem__(self, index):
        return self.x[index]


def test_from_array_0d_array_like_uses_the_getter():
    d = da.from_array(_Wrapped(np.array(7)), chunks=1, asarray=False)
    assert_eq(d, np.array(7))
