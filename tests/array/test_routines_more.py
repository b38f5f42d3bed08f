"""Routines added for drop-in compatibility with Dask, and map_blocks corner cases."""

from __future__ import annotations

import numpy as np
from array_helpers import assert_eq

import oxdask.array as da
from oxdask import delayed


def test_map_blocks_with_arrays_nested_in_arguments():
    # arrays inside lists (or keywords) are computed whole and passed in, as in Dask: no hang
    a = np.arange(10)
    x = da.from_array(a, chunks=3)

    def f(b, lst, k=None):
        return b + sum(int(np.sum(v)) for v in lst) + int(k[0].sum())

    assert_eq(x.map_blocks(f, [x, x], k=[x * 0 + 1]), a + 2 * 45 + 10)
    assert_eq(x.map_blocks(f, [delayed(5)], k=[np.ones(2, int)], dtype=int), a + 7)
