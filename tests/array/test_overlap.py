"""Ghost cells: overlap, trim, map_overlap with every boundary mode."""

from __future__ import annotations

import numpy as np
import pytest
from array_helpers import assert_eq

import oxdask.array as da

MODES = {"reflect": "symmetric", "periodic": "wrap", "nearest": "edge"}


def _moving_sum(b):
    out = b.copy()
    out[1:-1] = b[:-2] + b[1:-1] + b[2:]
    return out


@pytest.mark.parametrize("boundary", ["reflect", "periodic", "nearest", 0, "none"])
def test_map_overlap_1d(boundary, rng):
    a = rng.random(17)
    x = da.from_array(a, chunks=((5, 3, 6, 3),))
    got = da.map_overlap(_moving_sum, x, depth=1, boundary=boundary)
    if boundary == "none":
        expect = _moving_sum(a)
    else:
        mode = MODES.get(boundary, "constant")
        expect = _moving_sum(np.pad(a, 1, mode=mode))[1:-1]
    assert_eq(got, expect)


def test_overlap_shapes_and_trim(rng):
    a = rng.random((8, 9))
    x = da.from_array(a, chunks=(4, 3))
    g = da.overlap.overlap(x, depth={0: 2, 1: 1}, boundary="reflect")
    assert g.chunks == ((8, 8), (5, 5, 5))
    np.testing.assert_allclose(
        g.blocks[0, 1].compute(), np.pad(a, ((2, 2), (1, 1)), mode="symmetric")[0:8, 3:8]
    )
    assert da.overlap.trim_internal(g, {0: 2, 1: 1}).chunks == ((6, 6), (4, 3, 4))  # as Dask
    assert_eq(da.overlap.trim_internal(g, {0: 2, 1: 1}, boundary="reflect"), a)
    h = da.overlap.overlap(x, depth=2, boundary="none")
    assert h.chunks == ((6, 6), (5, 7, 5))
    assert_eq(da.overlap.trim_internal(h, 2, boundary="none"), a)
    deep = da.overlap.overlap(x, depth=5, boundary="periodic")  # deeper than the blocks
    np.testing.assert_allclose(deep.blocks[1, 2].compute(), np.pad(a, 5, mode="wrap")[4:18, 6:19])


def test_map_overlap_2d_filter(rng):
    a = rng.random((10, 12))
    x = da.from_array(a, chunks=(3, 5))

    def lap(b):
        return 4 * b - np.roll(b, 1, 0) - np.roll(b, -1, 0) - np.roll(b, 1, 1) - np.roll(b, -1, 1)

    got = x.map_overlap(lap, depth=1, boundary="periodic")
    assert_eq(got, lap(a))
    two = da.map_overlap(lambda p, q: p + q, x, x, depth=1, boundary="nearest")
    assert_eq(two, 2 * a)


@pytest.mark.parametrize("chunks", [((5, 3, 6, 3),), (17,), ((4, 4, 4, 5),)])
@pytest.mark.parametrize("depth", [(1, 2), (0, 3), (2, 0)])
def test_map_overlap_asymmetric_depth(chunks, depth, rng):
    a = rng.random(17)
    x = da.from_array(a, chunks=chunks)
    before, after = depth

    def window_sum(b):
        # sum over [i - before, i + after], clipped at the block's edges
        c = np.concatenate([[0.0], np.cumsum(b)])
        i = np.arange(len(b))
        return c[np.minimum(i + after + 1, len(b))] - c[np.maximum(i - before, 0)]

    got = da.map_overlap(window_sum, x, depth={0: depth}, boundary="none")
    assert_eq(got, window_sum(a))
    with pytest.raises(NotImplementedError, match="Asymmetric"):
        da.map_overlap(window_sum, x, depth={0: (1, 2)}, boundary="reflect")
