"""``trace`` of arrays of more than two dimensions, and tokens of masked arrays (two arrays
with the same data and other masks must not share a name)."""

import numpy as np
import pytest

import oxdask.array as da
from oxdask.tokenize import tokenize


@pytest.mark.parametrize(
    ("shape", "kwargs"),
    [
        ((5, 5), {}),
        ((2, 3, 4), {}),
        ((2, 3, 4), {"axis1": 1, "axis2": 2}),
        ((4, 3, 2), {"offset": 1, "axis1": 0, "axis2": 2}),
        ((3, 4, 5, 2), {"offset": -1, "axis1": 1, "axis2": 2}),
    ],
)
def test_trace_matches_numpy(shape, kwargs):
    x = np.arange(np.prod(shape)).reshape(shape)
    got = da.trace(da.from_array(x, chunks=2), **kwargs)
    expected = np.trace(x, **kwargs)
    assert got.shape == np.shape(expected)
    np.testing.assert_array_equal(got.compute(), expected)
    np.testing.assert_array_equal(da.from_array(x, chunks=3).trace(**kwargs).compute(), expected)


def test_masked_arrays_with_other_masks_have_other_tokens():
    a = np.ma.masked_array([1, 2, 3], mask=[0, 1, 0])
    b = np.ma.masked_array([1, 2, 3], mask=[1, 0, 0])
    c = np.ma.masked_array([1, 2, 3], mask=[0, 1, 0], fill_value=7)
    assert len({tokenize(a), tokenize(b), tokenize(c)}) == 3
    assert tokenize(a) == tokenize(np.ma.masked_array([1, 2, 3], mask=[0, 1, 0]))
    total = da.from_array(a, chunks=2).sum() + da.from_array(b, chunks=2).sum()
    assert total.compute() == a.sum() + b.sum()
