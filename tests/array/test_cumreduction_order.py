"""``cumreduction`` with an operation that is not commutative (forward fill): the parallel
scan combines the carried value before the block, as the sequential one does."""

import numpy as np
import pytest

import oxdask.array as da
from oxdask.array.reductions import cumreduction


def _ffill(x, axis, dtype=None):
    out = np.array(x, dtype=float)
    moved = np.moveaxis(out, axis, 0)
    for i in range(1, moved.shape[0]):
        moved[i] = np.where(np.isnan(moved[i]), moved[i - 1], moved[i])
    return out


def _later(a, b):
    return np.where(np.isnan(b), a, b)


@pytest.mark.parametrize("method", ["sequential", "blelloch"])
@pytest.mark.parametrize("chunks", [1, 2, 3, 6])
def test_forward_fill_scan(method, chunks):
    x = np.array([1.0, np.nan, np.nan, 4.0, np.nan, np.nan])
    arr = da.from_array(x, chunks=chunks)
    got = cumreduction(_ffill, _later, np.nan, arr, axis=0, method=method)
    np.testing.assert_array_equal(got.compute(), [1, 1, 1, 4, 4, 4])


def test_cumsum_of_strings_keeps_their_order():
    """Adding strings is not commutative: the carried prefix goes before the block."""
    words = np.array(list("abcdefg"), dtype=object)
    expected = np.cumsum(words)
    for chunks in (1, 2, 3):
        arr = da.from_array(words, chunks=chunks)
        np.testing.assert_array_equal(da.cumsum(arr).compute(), expected)
        for method in ("sequential", "blelloch"):
            got = cumreduction(np.cumsum, np.add, "", arr, axis=0, method=method)
            np.testing.assert_array_equal(got.compute(), expected)
