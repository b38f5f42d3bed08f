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


def test_boundary_helpers():
    from oxdask.array.overlap import (
        boundaries,
        constant,
        ensure_minimum_chunksize,
        nearest,
        overlap_internal,
        periodic,
        reflect,
    )

    a = np.arange(10)
    x = da.from_array(a, chunks=5)
    assert_eq(reflect(x, 0, 2), np.pad(a, 2, mode="symmetric"))
    assert_eq(nearest(x, 0, 2), np.pad(a, 2, mode="edge"))
    assert_eq(periodic(x, 0, 2), np.pad(a, 2, mode="wrap"))
    assert_eq(constant(x, 0, 2, 7), np.pad(a, 2, constant_values=7))
    b = np.arange(16).reshape(4, 4)
    y = da.from_array(b, chunks=2)
    assert_eq(boundaries(y, 2, {0: "none", 1: 33}), np.pad(b, ((0, 0), (2, 2)), constant_values=33))
    assert overlap_internal(da.ones((8, 8), chunks=4), {0: 2, 1: 1}).chunks == ((6, 6), (5, 5))
    assert ensure_minimum_chunksize(10, (2, 20, 2, 20)) == (14, 10, 20)
    assert ensure_minimum_chunksize(10, (20, 20, 20, 1)) == (20, 20, 11, 10)
    with pytest.raises(ValueError, match="overlapping depth 10 is larger"):
        ensure_minimum_chunksize(10, (5, 2, 1, 1))
    with pytest.raises(ValueError, match="overlapping depth 13 is larger"):
        da.overlap.overlap(da.ones((12, 12), chunks=(3, 5)), depth={0: 13, 1: 4}, boundary=1)


@pytest.mark.parametrize("drop_axis", [0, 1, (1, 2), -1])
def test_map_overlap_trims_the_remaining_axes_after_drop_axis(drop_axis, rng):
    a = rng.standard_normal((5, 10, 8))
    x = da.from_array(a, chunks=(2, 5, 4))
    drop = [d % 3 for d in np.atleast_1d(drop_axis)]
    depth = tuple(0 if i in drop else d for i, d in enumerate((1, 3, 2)))
    y = da.map_overlap(
        lambda b: b.mean(axis=drop_axis),
        x,
        depth=depth,
        boundary=(0, "reflect", "nearest"),
        drop_axis=drop_axis,
        dtype=float,
    )
    assert_eq(y, a.mean(axis=drop_axis))


def test_map_overlap_depth_per_array():
    x, y = da.ones(5, dtype=int, chunks=5), da.ones(5, dtype=int, chunks=5)
    for depth, total in (([0, 0], 10), ([1, 1], 14), ([2, 2], 18)):
        got = da.map_overlap(
            lambda p, q: np.array([p.sum() + q.sum()]),
            x,
            y,
            depth=depth,
            chunks=(1,),
            trim=False,
            boundary="reflect",
        )
        assert int(got.compute()[0]) == total


@pytest.mark.parametrize(
    ("shape", "chunks", "window", "axis"),
    [
        ((6, 7, 8), (6, (2, 2, 2, 1), 4), (3, 2), (1, 2)),
        ((21,), 3, (7,), (0,)),
        ((9,), 3, 3, -1),
        ((10, 8), (3, 3), (2, 3), None),
        ((50,), 25, 30, 0),
    ],
)
def test_sliding_window_view(shape, chunks, window, axis):
    from oxdask.array.lib.stride_tricks import sliding_window_view

    a = np.arange(np.prod(shape)).reshape(shape)
    got = sliding_window_view(da.from_array(a, chunks=chunks), window, axis)
    assert_eq(got, np.lib.stride_tricks.sliding_window_view(a, window, axis))
    with pytest.raises(ValueError, match="larger than input"):
        sliding_window_view(da.zeros((4, 3)), 10, 0)


def test_numpy_sliding_window_view_dispatches_to_oxdask():
    # np.lib.stride_tricks.sliding_window_view of an oxdask array stays lazy (__array_function__):
    # xarray's rolling reaches oxdask that way when Dask is not installed
    a = np.arange(40.0).reshape(10, 4)
    got = np.lib.stride_tricks.sliding_window_view(da.from_array(a, chunks=(3, 2)), 3, axis=0)
    assert isinstance(got, da.Array)
    assert_eq(got, np.lib.stride_tricks.sliding_window_view(a, 3, axis=0))


def test_map_overlap_old_signature_and_allow_rechunk():
    x = da.ones(3, chunks=3)

    def total(b):
        return np.array(b.sum())

    with pytest.warns(FutureWarning, match="deprecated"):
        y = da.map_overlap(x, total, 1, "reflect", True)
    assert float(y.compute()) == 5.0
    z = da.arange(6, chunks=5)
    with pytest.raises(ValueError, match="smallest chunk"):
        da.overlap.overlap(z, 2, "reflect", allow_rechunk=False)
    g = da.overlap.overlap(z, 2, "reflect", allow_rechunk=True)
    assert_eq(da.overlap.trim_internal(g, {0: 2}, "reflect"), np.arange(6))
    w = z.map_overlap(lambda b: b + 1, depth=0, boundary="none")
    assert_eq(w, np.arange(6) + 1)
