"""Helpers of the array tests: comparison with NumPy and random chunkings."""

from __future__ import annotations

import numpy as np

import oxdask.array as da


def assert_eq(a, b, check_dtype=True, **kwargs):
    """Compute ``a`` (and ``b``) and compare with NumPy, including shape and dtype."""
    if isinstance(a, da.Array):
        a_shape = a.shape
        a_dtype = a.dtype
        a = a.compute()
        if not any(isinstance(s, float) for s in a_shape):
            assert tuple(a_shape) == np.shape(a), (a_shape, np.shape(a))
        if check_dtype:
            assert a_dtype == np.asarray(a).dtype, (a_dtype, np.asarray(a).dtype)
    if isinstance(b, da.Array):
        b = b.compute()
    a = np.asarray(a)
    b = np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    if check_dtype:
        assert a.dtype == b.dtype, (a.dtype, b.dtype)
    if a.dtype.kind in "fc":
        np.testing.assert_allclose(a, b, equal_nan=True, **kwargs)
    else:
        np.testing.assert_array_equal(a, b)


def random_chunks(rng, shape):
    """A random (ragged) chunking of ``shape``."""
    out = []
    for n in shape:
        sizes = []
        left = n
        while left > 0:
            s = int(rng.integers(1, max(left, 1) + 1))
            sizes.append(s)
            left -= s
        out.append(tuple(sizes) or (0,))
    return tuple(out)
