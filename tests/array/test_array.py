"""The Array object: metadata, repr, NumPy protocols, graphs, errors at build time."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from array_helpers import assert_eq

import oxdask
import oxdask.array as da
from oxdask.highlevelgraph import BlockwiseLayer, HighLevelGraph


def test_metadata():
    x = da.ones((10, 7), chunks=(4, 3), dtype="i4")
    assert x.shape == (10, 7)
    assert x.chunks == ((4, 4, 2), (3, 3, 1))
    assert x.numblocks == (3, 3)
    assert x.npartitions == 9
    assert x.dtype == np.dtype("i4")
    assert x.nbytes == 10 * 7 * 4
    assert x.ndim == 2
    assert x.size == 70
    assert len(x) == 10
    assert x.chunksize == (4, 3)


def test_repr_and_html():
    x = da.zeros((6, 4), chunks=(3, 2))
    r = repr(x)
    assert "shape=(6, 4)" in r
    assert "dtype=float64" in r
    assert "chunksize=(3, 2)" in r
    html = x._repr_html_()
    for part in ("(6, 4)", "(3, 2)", "float64", "192 B"):
        assert part in html


def test_numpy_protocols(rng):
    a = rng.random((9, 5))
    x = da.from_array(a, chunks=(4, 2))
    np.testing.assert_array_equal(np.asarray(x), a)
    s = np.sum(x)
    assert isinstance(s, da.Array)
    assert_eq(s, a.sum())
    e = np.exp(x)
    assert isinstance(e, da.Array)
    assert_eq(e, np.exp(a))
    assert isinstance(np.concatenate([x, x]), da.Array)
    assert_eq(np.mean(x, axis=0), a.mean(axis=0))
    assert isinstance(np.linalg.norm(x), da.Array)
    frac, whole = np.modf(x)
    assert_eq(frac, np.modf(a)[0])
    assert_eq(whole, np.modf(a)[1])


def test_compute_persist_and_pickle(rng):
    a = rng.random((6, 6))
    x = da.from_array(a, chunks=3) + 1
    (y,) = oxdask.persist(x)
    assert_eq(y, a + 1)
    z = pickle.loads(pickle.dumps(x))
    assert_eq(z, a + 1)
    r1, r2 = oxdask.compute(x, x.sum())
    np.testing.assert_allclose(r1, a + 1)
    np.testing.assert_allclose(r2, (a + 1).sum())


def test_graph_is_high_level_and_lazy():
    x = (da.ones((1000, 1000), chunks=(10, 10)) + 1).sum()
    g = x.__dask_graph__()
    assert isinstance(g, HighLevelGraph)
    compact = [la for la in g.layers.values() if isinstance(la, BlockwiseLayer)]
    assert compact
    assert not any(la.is_materialized() for la in compact)
    assert x.compute() == 2 * 1000 * 1000
    assert not any(la.is_materialized() for la in compact)


def test_graph_mapping_interface_expands():
    x = da.ones((4, 4), chunks=2) * 2
    g = dict(x.__dask_graph__())
    assert (x.name, 1, 1) in g
    assert oxdask.get(g, (x.name, 1, 1)).tolist() == [[2.0, 2.0], [2.0, 2.0]]
    s = x.sum()
    assert oxdask.get(dict(s.__dask_graph__()), (s.name,)) == 32


def test_million_chunks_builds_fast():
    import time

    t = time.perf_counter()
    x = (da.ones((100_000, 100_000), chunks=(100, 100)) + 1).sum()
    assert time.perf_counter() - t < 0.5
    g = x.__dask_graph__()
    assert sum(len(la) for la in g.layers.values() if isinstance(la, dict)) < 5_000


def test_fusion_one_task_per_chunk():
    from oxdask.local import last_run_stats

    x = da.ones((40, 40), chunks=(10, 10))
    y = ((x + 1) * 2).sum(split_every=16)
    assert y.compute(scheduler="sync") == 4 * 1600
    stats = last_run_stats()
    assert stats["graph_tasks"] <= 16 + 1 + 8


def test_scalar_conversions():
    x = da.from_array(np.array([3.5]), chunks=1).sum()
    assert float(x) == 3.5
    assert int(x) == 3
    assert bool(x.sum())
    with pytest.raises(ValueError, match="ambiguous"):
        bool(da.ones(3))


def test_chunks_errors():
    with pytest.raises(ValueError, match="Chunks do not add up to shape"):
        da.from_array(np.ones(10), chunks=((3, 3),))
    with pytest.raises(ValueError, match="same length"):
        da.ones((4, 4), chunks=(2, 2, 2))
    with pytest.raises(ValueError, match="operands could not be broadcast"):
        da.ones((2, 3)) + da.ones((4,))
    with pytest.raises(np.exceptions.AxisError):
        da.ones((2, 3)).sum(axis=3)


def test_to_delayed_and_from_delayed(rng):
    a = rng.random((4, 6))
    x = da.from_array(a, chunks=(2, 3))
    d = x.to_delayed()
    assert d.shape == (2, 2)
    np.testing.assert_array_equal(d[1, 0].compute(), a[2:, :3])
    y = da.from_delayed(d[1, 1], shape=(2, 3), dtype=a.dtype)
    assert_eq(y, a[2:, 3:])
    z = da.concatenate([da.from_delayed(oxdask.delayed(np.ones)(3), (3,), float), x[0]])
    assert_eq(z, np.concatenate([np.ones(3), a[0]]))


def test_unknown_chunks_shape():
    x = da.from_array(np.arange(10), chunks=3)
    y = x[x > 4]
    assert math.isnan(y.shape[0])
    assert math.isnan(y.chunks[0][0])
    with pytest.raises(ValueError, match="unknown"):
        len(y)
    y.compute_chunk_sizes()
    assert y.chunks == ((0, 1, 3, 1),)
    assert_eq(y, np.arange(5, 10))


def test_store_and_from_array_of_sliceable(rng):
    a = rng.random((7, 5))

    class Sliceable:
        def __init__(self, data):
            self.data = data
            self.shape = data.shape
            self.dtype = data.dtype

        def __getitem__(self, idx):
            return self.data[idx]

    x = da.from_array(Sliceable(a), chunks=(3, 2))
    assert_eq(x, a)
    target = np.zeros((7, 5))
    da.store(x * 2, target)
    np.testing.assert_allclose(target, 2 * a)
    target2 = np.zeros((7, 5))
    d = da.store([x], [target2], compute=False)
    assert not target2.any()
    d.compute()
    np.testing.assert_allclose(target2, a)
    with pytest.raises(ValueError, match="Different number of sources"):
        da.store([x, x], [target])


def test_map_blocks_block_info_and_chunks():
    x = da.arange(10, chunks=4)

    def f(b, block_info=None, block_id=None):
        loc = block_info[0]["array-location"][0]
        assert block_id == block_info[None]["chunk-location"]
        return b + loc[0] * 0 + block_id[0] * 100

    y = x.map_blocks(f, dtype=x.dtype)
    assert_eq(y, np.arange(10) + np.repeat([0, 100, 200], [4, 4, 2]))
    z = x.map_blocks(lambda b: b[:2], chunks=((2, 2, 2),), dtype=x.dtype)
    assert_eq(z, np.array([0, 1, 4, 5, 8, 9]))
    w = da.ones((4, 6), chunks=(2, 3)).map_blocks(lambda b: b.sum(axis=1), drop_axis=1, dtype=float)
    assert_eq(w, np.full(4, 6.0))
    v = x.map_blocks(
        lambda b: b[:, None] * np.ones(3), new_axis=1, chunks=(x.chunks[0], (3,)), dtype=float
    )
    assert_eq(v, np.arange(10)[:, None] * np.ones(3))


def test_map_blocks_without_array_arguments():
    # As in Dask: a source of blocks, every output axis a new axis with the given chunks.
    def block(block_id=None, k=0):
        return np.full((2, 3), 10 * block_id[0] + block_id[1] + k)

    x = da.map_blocks(block, chunks=((2, 2, 2), (3, 3)), dtype=int, k=1)
    assert x.chunks == ((2, 2, 2), (3, 3))
    expect = np.repeat(np.repeat(10 * np.arange(3)[:, None] + np.arange(2) + 1, 2, 0), 3, 1)
    assert_eq(x, expect)
    y = da.map_blocks(lambda: np.ones((2, 2)), chunks=((2, 2), 2))
    assert y.shape == (4, 2)
    assert y.dtype == np.float64
    assert float(y.sum().compute()) == 8.0
    z = da.map_blocks(lambda: np.array(5), dtype=int)  # no chunks: one 0-d block
    assert z.shape == ()
    assert int(z.compute()) == 5
    with pytest.raises(ValueError, match="drop_axis"):
        da.map_blocks(lambda: np.ones(2), chunks=(2,), drop_axis=0)


def test_blockwise_contraction(rng):
    a = rng.random((6, 4))
    b = rng.random((4, 5))
    x = da.from_array(a, chunks=(3, 2))
    y = da.from_array(b, chunks=(2, 5))
    z = da.blockwise(lambda p, q: p @ q, "ik", x, "ij", y, "jk", concatenate=True, dtype=float)
    assert_eq(z, a @ b)
    w = da.blockwise(np.add, "ij", x, "ij", 10, None, dtype=float)
    assert_eq(w, a + 10)


def test_cheap_sources_are_inlined_into_every_consumer():
    from oxdask.array.optimization import optimize
    from oxdask.highlevelgraph import BlockwiseLayer

    x = da.random.default_rng(0).random((6, 6), chunks=2)
    y = (x + x.T).sum()
    g = optimize(y.__dask_graph__(), [y.__dask_keys__()])
    blockwise = [n for n, la in g.layers.items() if isinstance(la, BlockwiseLayer)]
    assert x.name not in g.layers  # recomputed inside the fused task, never held
    assert len(blockwise) == 1
    a = x.compute()
    np.testing.assert_allclose(y.compute(), (a + a.T).sum())
