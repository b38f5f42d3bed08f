"""Indexing: basic slices, integer arrays, boolean masks, vindex, blocks, assignment."""

from __future__ import annotations

import numpy as np
import pytest
from array_helpers import assert_eq, random_chunks

import oxdask.array as da

INDICES = [
    (slice(None),),
    (3,),
    (-1,),
    (slice(2, 9),),
    (slice(None, None, -1),),
    (slice(1, 10, 3),),
    (slice(9, 0, -2),),
    (slice(None), 2),
    (Ellipsis, 1),
    (None, slice(2, 5)),
    (slice(1, 4), None, slice(None, None, 2)),
    (2, -3),
    (slice(20, 30),),
    (slice(-4, None), slice(None, -2)),
    (np.newaxis, Ellipsis, np.newaxis),
]


@pytest.mark.parametrize("index", INDICES)
def test_basic(index, rng):
    a = rng.random((11, 7))
    x = da.from_array(a, chunks=((3, 4, 4), (2, 2, 3)))
    assert_eq(x[index], a[index])


def test_basic_random_property(rng):
    for _ in range(25):
        a = rng.random((9, 8))
        x = da.from_array(a, chunks=random_chunks(rng, a.shape))
        idx = []
        for n in a.shape:
            start, stop = sorted(int(v) for v in rng.integers(-n, n + 1, 2))
            step = int(rng.choice([-3, -2, -1, 1, 2, 3]))
            idx.append(slice(start, stop, step) if rng.random() < 0.8 else int(rng.integers(0, n)))
        assert_eq(x[tuple(idx)], a[tuple(idx)])


def test_integer_arrays(rng):
    a = rng.random((10, 6))
    x = da.from_array(a, chunks=(3, 4))
    for idx in ([0, 9, 3, 3, -1], np.array([5, 1, 2]), [], np.arange(10)[::-1]):
        assert_eq(x[idx], a[np.asarray(idx, dtype=int)])
        assert_eq(x[:, np.asarray(idx, dtype=int) % 6], a[:, np.asarray(idx, dtype=int) % 6])
    assert_eq(x[[1, 2], 3], a[[1, 2], 3])
    assert_eq(da.take(x, [4, 0], axis=1), np.take(a, [4, 0], axis=1))
    with pytest.raises(IndexError, match="out of bounds"):
        x[[10]]
    with pytest.raises(IndexError, match="out of bounds"):
        x[10]
    with pytest.raises(IndexError, match="too many indices"):
        x[1, 2, 3]


def test_boolean_masks(rng):
    a = rng.random((8, 5))
    x = da.from_array(a, chunks=(3, 2))
    m = a > 0.5
    y = x[x > 0.5]
    assert np.isnan(y.shape[0])
    assert_eq(y, a[m])
    assert_eq(x[m], a[m])
    rows = a[:, 0] > 0.4
    assert_eq(x[rows], a[rows])
    r = x[x[:, 0] > 0.4]
    assert np.isnan(r.shape[0])
    assert r.shape[1] == 5
    assert_eq(r, a[rows])
    r.compute_chunk_sizes()
    assert r.shape == a[rows].shape
    assert_eq(r + 1, a[rows] + 1)
    with pytest.raises(IndexError, match="boolean index did not match"):
        x[np.ones(3, bool)]


def test_vindex(rng):
    a = rng.random((9, 7, 4))
    x = da.from_array(a, chunks=(4, 3, 2))
    i, j = [0, 8, 3, 3], [6, 0, 2, 1]
    assert_eq(x.vindex[i, j], a[i, j])
    assert_eq(x.vindex[[[1, 2], [3, 4]], [[0, 1], [2, 6]]], a[[[1, 2], [3, 4]], [[0, 1], [2, 6]]])
    assert_eq(x.vindex[:, [1, 5], [0, 3]], np.moveaxis(a[:, [1, 5], [0, 3]], 1, 0))


def test_blocks():
    x = da.from_array(np.arange(24).reshape(4, 6), chunks=(2, 3))
    assert_eq(x.blocks[1, 0], np.arange(24).reshape(4, 6)[2:, :3])
    assert x.blocks[:, 1].shape == (4, 3)
    assert x.blocks.shape == (2, 2)


def test_setitem(rng):
    a = rng.random((7, 6))
    x = da.from_array(a, chunks=(3, 4))
    b = a.copy()
    x[x > 0.5] = -1
    b[b > 0.5] = -1
    assert_eq(x, b)
    x[1:5, ::2] = 7
    b[1:5, ::2] = 7
    assert_eq(x, b)
    x[2] = np.arange(6)
    b[2] = np.arange(6)
    assert_eq(x, b)
    x[-1, -1] = 0
    b[-1, -1] = 0
    assert_eq(x, b)
    with pytest.raises(ValueError, match="could not broadcast"):
        x[0:2] = np.ones(4)


def test_basic_slicing_is_one_compact_layer():
    from oxdask.highlevelgraph import GatherLayer

    x = da.ones((100_000, 100_000), chunks=(100, 100))  # a million blocks
    y = x[::2, 5]
    layer = y.dask.layers[y.name]
    assert isinstance(layer, GatherLayer)
    assert len(layer) == 1000
    assert not layer.is_materialized()
    xn = np.arange(35.0 * 26).reshape(35, 26)
    small = da.from_array(xn, chunks=(4, 7))
    for index in [(slice(3, 30, 4), 9), (-1, slice(None, None, -3)), (slice(2, 20), slice(5, 6))]:
        got = small[index]
        assert isinstance(got.dask.layers[got.name], GatherLayer)
        np.testing.assert_array_equal(got.compute(), xn[index])


@pytest.mark.parametrize("idx_chunks", [3, 2, 1])
@pytest.mark.parametrize("x_chunks", [(3, 5), (2, 3), (1, 1)])
def test_index_with_lazy_integer_array(x_chunks, idx_chunks):
    a = np.array([[10, 20, 30, 40, 50], [60, 70, 80, 90, 100], [110, 120, 130, 140, 150]])
    x = da.from_array(a, chunks=x_chunks)
    idx = np.array([3, 0, -1])
    d = da.from_array(idx, chunks=idx_chunks)
    assert_eq(x[:, d], a[:, idx])
    assert_eq(x.T[d, :], a.T[idx, :])
    assert x[:, d].chunks[1] == d.chunks[0]
    assert_eq(x[:, da.from_array(np.array(1), chunks=())], a[:, 1])
    assert_eq(x[:, d.astype("u1") % 5], a[:, idx.astype("u1") % 5])
    with pytest.raises(IndexError):
        x[:, da.from_array(np.array([7]), chunks=1)].compute()


def test_index_unknown_sizes_and_masked_take():
    a = np.arange(20)
    x = da.from_array(a, chunks=20)
    nz = x[x % 3 == 0]  # one block of unknown size
    assert_eq(nz[[0, -1]], a[a % 3 == 0][[0, -1]])
    m = np.ma.array(range(8), mask=[0, 0, 1, 0, 0, 1, 0, 1])
    got = da.from_array(m, chunks=4)[[2, 6]].compute()
    np.testing.assert_array_equal(np.ma.getmaskarray(got), np.ma.getmaskarray(m[[2, 6]]))


def test_equivalent_slices_share_names_and_full_slices_are_identity():
    x = da.from_array(np.arange(100).reshape(10, 10), chunks=5)
    for full in (slice(None), slice(0, None), slice(None, None, 1), slice(-11, 11)):
        assert x[full] is x
    assert x[-11:-9].name == x[:1].name
    assert x[-1].name == x[9].name
    assert x[0::-1].name == x[0:-11:-1].name
    assert_eq(x[0::-1], np.arange(100).reshape(10, 10)[0::-1])


def test_setitem_with_a_lazy_non_boolean_mask():
    x = da.zeros(5, chunks=2)
    mask = da.from_array(np.array([0.0, 1.0, 0.0, 2.0, 0.0]), chunks=3)
    x[mask] = 1
    assert_eq(x, np.array([0.0, 1.0, 0.0, 1.0, 0.0]))
