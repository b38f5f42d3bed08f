"""Helpers of the array tests: comparison with NumPy and random chunkings."""

from __future__ import annotations

from oxdask.array.utils import assert_eq as _assert_eq


def assert_eq(a, b, check_dtype=True, **kwargs):
    """Compare ``a`` and ``b`` with :func:`oxdask.array.utils.assert_eq` (values, dtype, and
    the declared metadata of oxdask arrays), on the scheduler of the test."""
    kwargs.setdefault("scheduler", None)
    return _assert_eq(a, b, check_dtype=check_dtype, **kwargs)


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
