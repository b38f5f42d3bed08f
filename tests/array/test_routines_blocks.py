"""gradient, coarsen, histogramdd/histogram2d, push, shuffle and a few Array methods."""

from __future__ import annotations

import numpy as np
import pytest
from array_helpers import assert_eq

import oxdask.array as da


@pytest.mark.parametrize("chunks", [(3, 3), (8, 9), (2, 4)])
@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient(chunks, edge_order, rng):
    a = rng.random((8, 9))
    x = da.from_array(a, chunks=chunks)
    if min(min(c) for c in x.chunks) < edge_order + 1:
        with pytest.raises(ValueError, match="Chunk size must be larger"):
            da.gradient(x, edge_order=edge_order)
        return
    for g, e in zip(
        da.gradient(x, edge_order=edge_order), np.gradient(a, edge_order=edge_order), strict=True
    ):
        assert_eq(g, e)
    assert_eq(da.gradient(x, 0.5, axis=1), np.gradient(a, 0.5, axis=1))
    coords = np.cumsum(rng.random(9))
    assert_eq(da.gradient(x, 2.0, coords)[1], np.gradient(a, 2.0, coords)[1])
    assert_eq(da.gradient(x.astype(int), axis=0), np.gradient(a.astype(int), axis=0))


@pytest.mark.parametrize("chunks", [(4, 4), (3, 5), (8, 12)])
def test_coarsen(chunks, rng):
    a = rng.random((8, 12))
    x = da.from_array(a, chunks=chunks)
    assert_eq(da.coarsen(np.sum, x, {0: 2, 1: 4}), a.reshape(4, 2, 3, 4).sum(axis=(1, 3)))
    assert_eq(da.coarsen(da.mean, x, {1: 3}), a.reshape(8, 1, 4, 3).mean(axis=(1, 3)))
    assert_eq(
        da.coarsen(np.max, x, {0: 3, 1: 5}, trim_excess=True),
        a[:6, :10].reshape(2, 3, 2, 5).max(axis=(1, 3)),
    )
    with pytest.raises(ValueError, match="do not align"):
        da.coarsen(np.sum, x, {0: 3})


@pytest.mark.parametrize("chunks", [30, 100, 7])
def test_histogramdd_and_2d(chunks, rng):
    s = rng.random((100, 3))
    ds = da.from_array(s, chunks=(chunks, 3))
    h, e = da.histogramdd(ds, bins=(3, 4, 5), range=[(0, 1)] * 3)
    H, E = np.histogramdd(s, bins=(3, 4, 5), range=[(0, 1)] * 3)
    assert_eq(h, H)
    for p, q in zip(e, E, strict=True):
        np.testing.assert_allclose(p, q)
    h, _ = da.histogramdd(ds, bins=4, density=True)
    assert_eq(h, np.histogramdd(s, bins=4, density=True)[0])
    h, ex, ey = da.histogram2d(ds[:, 0], ds[:, 1], bins=5, weights=ds[:, 2])
    H, X, Y = np.histogram2d(s[:, 0], s[:, 1], bins=5, weights=s[:, 2])
    assert_eq(h, H)
    np.testing.assert_allclose(ex, X)
    np.testing.assert_allclose(ey, Y)
    edges = [0, 0.3, 0.5, 1]
    assert_eq(
        da.histogram2d(ds[:, 0], ds[:, 1], bins=edges)[0],
        np.histogram2d(s[:, 0], s[:, 1], bins=edges)[0],
    )


def _ffill(a, n):
    out = a.copy()
    for row in out:
        last, run = np.nan, 0
        for i, v in enumerate(row):
            if np.isnan(v):
                run += 1
                if n is None or run <= n:
                    row[i] = last
            else:
                last, run = v, 0
    return out


@pytest.mark.parametrize("n", [None, 1, 2])
@pytest.mark.parametrize("chunks", [(1, 3), (2, 7), (2, 1)])
def test_push(n, chunks):
    v = np.array(
        [
            [np.nan, 1, np.nan, np.nan, np.nan, 2, np.nan],
            [3, np.nan, np.nan, 4, np.nan, np.nan, np.nan],
        ]
    )
    x = da.from_array(v, chunks=chunks)
    out = da.push(x, n, 1)
    assert out.chunks == x.chunks
    assert_eq(out, _ffill(v, n))
    assert_eq(da.push(x.T, n, 0), _ffill(v, n).T)


@pytest.mark.parametrize("chunks", [3, 10, 1])
def test_shuffle(chunks):
    a = np.arange(20).reshape(10, 2)
    x = da.from_array(a, chunks=(chunks, 2))
    groups = [[9, 1], [0, 2, 3], [4, 5, 6, 7, 8]]
    out = da.shuffle(x, groups, 0)
    assert_eq(out, a[np.concatenate(groups)])
    starts = np.cumsum((0, *out.chunks[0]))
    bounds = np.cumsum([0] + [len(g) for g in groups])
    assert set(starts) <= set(bounds)  # no group is split between blocks
    assert_eq(x.shuffle([[1, 0]], 1), a[:, [1, 0]])
    with pytest.raises(IndexError):
        da.shuffle(x, [[10]], 0)


def test_array_methods():
    x = da.from_array(np.array([0, 1, 1, 0]), chunks=3)
    assert_eq(x.choose([[1, 2, 3, 4], [5, 6, 7, 8]]), np.array([1, 6, 7, 4]))
    assert x.A is x
    y = da.ones((4, 4), chunks=2)
    assert_eq(y.partitions[1, 0], np.ones((2, 2)))


def test_histogramdd_chunk_checks_and_edges(rng):
    s = rng.random((20, 3))
    with pytest.raises(ValueError, match="only be chunked along the 0th axis"):
        da.histogramdd(da.from_array(s, chunks=(5, 1)), bins=3, range=((0, 1),) * 3)
    x, y = da.from_array(s[:, 0], chunks=4), da.from_array(s[:, 1], chunks=5)
    with pytest.raises(ValueError, match="chunked identically"):
        da.histogramdd((x, y), bins=3, range=((0, 1),) * 2)
    with pytest.raises(ValueError, match="same shape and chunk structure"):
        da.histogramdd((x, x), bins=3, range=((0, 1),) * 2, weights=y)
    with pytest.raises(ValueError, match="columnar"):
        da.histogramdd(x, bins=3, range=((0, 1),))
    with pytest.raises(ValueError, match="one entry, a min max pair"):
        da.histogramdd(da.from_array(s, chunks=(5, 3)), bins=3, range=((0, 1),) * 2)
    with pytest.raises(TypeError, match="Cannot specify both"):
        da.histogramdd(da.from_array(s, chunks=(5, 3)), bins=3, normed=True, density=True)
    bins = [[0, 0.5, 1], [0, 0.25, 0.85, 1], [0, 0.5, 0.8, 1]]
    d = da.from_array(s, chunks=(7, 3))
    h, _e = da.histogramdd(d, bins=bins)
    H, _E = np.histogramdd(s, bins=bins)
    assert_eq(h, H)
    assert da.histogramdd(d, bins=bins)[0].name == h.name
    h, _ = da.histogramdd([x, x], bins=[bins[0], bins[1]])
    assert_eq(h, np.histogramdd([s[:, 0], s[:, 0]], bins=[bins[0], bins[1]])[0])


@pytest.mark.parametrize(("shape", "chunks"), [((10,), (3,)), ((4, 5), (3, 2)), ((20, 20), (4, 5))])
@pytest.mark.parametrize(
    "kwargs",
    [
        {"return_index": True},
        {"return_inverse": True},
        {"return_index": True, "return_inverse": True, "return_counts": True},
    ],
)
def test_unique_index_inverse(shape, chunks, kwargs, rng):
    a = rng.integers(0, 10, size=shape)
    got = da.unique(da.from_array(a, chunks=chunks), **kwargs)
    exp = np.unique(a, **kwargs)
    assert len(got) == len(exp)
    for g, e in zip(got, exp, strict=True):
        assert_eq(g, e)


@pytest.mark.parametrize(
    ("chunks", "multiple"),
    [
        ((1, 1), 2),
        ((1, 1, 1), 2),
        ((10, 1), 10),
        ((20, 10, 15, 23, 24), 8),
        ((2, 10, 15, 47, 23, 24), 4),
    ],
)
def test_aligned_coarsen_chunks(chunks, multiple):
    from oxdask.array.routines3 import aligned_coarsen_chunks

    out = aligned_coarsen_chunks(chunks, multiple)
    assert sum(out) == sum(chunks)
    assert all(c > 0 for c in out)
    assert all(c % multiple == 0 for c in out[:-1])
    assert len(out) <= len(chunks) + 1
