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


def test_slicing_helpers():
    from oxdask.array.slicing import (
        SlicingNoop,
        _slice_1d,
        make_block_sorted_slices,
        new_blockdim,
        normalize_index,
        sanitize_index,
        shuffle_slice,
        slice_array,
    )

    assert _slice_1d(100, [25] * 4, slice(10, 51)) == {
        0: slice(10, 25, 1),
        1: slice(None),
        2: slice(0, 1, 1),
    }
    # negative steps: local bounds counted from the block's end
    assert _slice_1d(100, [20] * 5, slice(20, 0, -1)) == {
        0: slice(-1, -20, -1),
        1: slice(-20, -21, -1),
    }
    assert _slice_1d(15, [5, 5, 5], 10) == {2: 0}
    for n, lengths, s in [
        (100, [20] * 5, slice(None, None, -7)),
        (104, [20, 23, 27, 13, 21], slice(100, 27, -3)),
    ]:
        x = np.arange(n)
        st = np.cumsum([0, *lengths])
        got = np.concatenate(
            [
                x[st[b] : st[b + 1]][loc]
                for b, loc in sorted(_slice_1d(n, lengths, s).items(), reverse=True)
            ]
        )
        np.testing.assert_array_equal(got, x[s])
    assert new_blockdim(20, [5, 5, 5, 5], slice(0, None, 2)) == [3, 2, 3, 2]
    assert normalize_index((Ellipsis, None), (10,)) == (slice(None), None)
    assert normalize_index(-5, (np.nan,)) == (-5,)
    assert normalize_index(slice(-5, -2), (np.nan,)) == (slice(-5, -2),)
    assert normalize_index([-5, 1], (10,))[0].tolist() == [5, 1]
    with pytest.raises(TypeError):
        sanitize_index("Hello!")
    np.testing.assert_equal(sanitize_index((1, 2, 3)), [1, 2, 3])
    with pytest.raises(SlicingNoop):
        slice_array("y", "x", [[100]], (slice(None),))
    _, chunks = slice_array("y", "x", ([5, 5], [5, 5]), (slice(0, 7), np.array([2, 0, 3])))
    assert chunks == ((5, 2), (3,))
    a, b = make_block_sorted_slices(np.array([6, 0, 4, 2, 7, 1, 5, 3]), ((4, 4),))
    np.testing.assert_array_equal(a, [0, 2, 4, 6, 1, 3, 5, 7])
    np.testing.assert_array_equal(a[b], [6, 0, 4, 2, 7, 1, 5, 3])
    x = da.from_array(np.arange(10), chunks=3)
    idx = np.array([3, 1, 9, 0])
    assert_eq(shuffle_slice(x, idx), np.arange(10)[idx])


def test_vindex_with_lazy_indices_and_rechunk_truncation():
    a = np.array([0.2, 0.4, 0.6])
    x = da.from_array(a, chunks=-1)
    ind = np.array([[0, 2], [1, 1]])
    assert_eq(x.vindex[da.from_array(ind, chunks=1)], a[ind])
    assert x.rechunk((1, 1)).chunks == ((1, 1, 1),)  # Dask uses the first entry
    with pytest.raises(IndexError, match="vindex does not support indexing"):
        x.rechunk((1, 1)).vindex[da.from_array(ind, chunks=1)]
