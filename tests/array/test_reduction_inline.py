"""Reductions of many small blocks compute their input blocks inside the tree's first level
(``blockwise_fusion.inline_tree_inputs``): fewer tasks, the same answers as NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import oxdask
import oxdask.array as da
from oxdask import _core
from oxdask.blockwise_fusion import optimize
from oxdask.highlevelgraph import BlockwiseLayer, HighLevelGraph, TreeReduceLayer
from oxdask.threaded import get


@pytest.fixture(scope="module")
def small():
    """100 x 100 blocks of 20 x 30: many small blocks."""
    xn = np.random.default_rng(3).random((2000, 3000))
    return da.from_array(xn, chunks=(20, 30)), xn


def _trees(collection):
    graph = optimize(collection.__dask_graph__(), collection.__dask_keys__())
    return graph, [t for t in graph.layers.values() if isinstance(t, TreeReduceLayer)]


REDUCTIONS = [
    ("sum", lambda m: m.sum(), lambda a: a.sum()),
    ("mean0", lambda m: m.mean(axis=0), lambda a: a.mean(axis=0)),
    ("std1", lambda m: m.std(axis=1, keepdims=True), lambda a: a.std(axis=1, keepdims=True)),
    ("argmax1", lambda m: m.argmax(axis=1), lambda a: a.argmax(axis=1)),
    ("min", lambda m: (m * 2 - 1).min(), lambda a: (a * 2 - 1).min()),
    (
        "nansum",
        lambda m: da.nansum(da.where(m > 0.9, np.nan, m)),
        lambda a: np.nansum(np.where(a > 0.9, np.nan, a)),
    ),
]


@pytest.mark.parametrize(("name", "lazy", "eager"), REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
def test_inlined_reductions_match_numpy(small, name, lazy, eager):
    x, xn = small
    r = lazy(x)
    graph, trees = _trees(r)
    assert trees, name
    assert all(t.inline is not None for t in trees), name
    # the 10,000 blocks are no tasks of their own: only the tree's levels remain
    assert len(graph) < 1000
    np.testing.assert_allclose(r.compute(), eager(xn))
    # the Python expansion of the same graph (the Mapping interface) agrees
    finish, extra = r.__dask_postcompute__()
    np.testing.assert_allclose(finish(get(dict(graph), r.__dask_keys__()), *extra), eager(xn))


def test_large_or_few_blocks_stay_tasks():
    big = da.ones((4000, 4000), chunks=(1000, 1000))  # 8 MB blocks
    few = da.ones((200, 300), chunks=(20, 30))  # 100 blocks
    for a in (big, few):
        _, trees = _trees(a.sum())
        assert trees
        assert all(t.inline is None for t in trees)
        assert a.sum().compute() == a.size


def test_blocks_of_unknown_size_stay_tasks():
    x = da.ones((3000, 3000), chunks=(20, 30))
    unknown = x[x[:, 0] > 0]  # rows known only once computed
    assert np.isnan(unknown.shape[0])
    _, trees = _trees(unknown.sum())
    assert trees
    assert all(t.inline is None for t in trees)
    assert unknown.sum().compute() == x.size


def test_input_used_elsewhere_is_computed_once(small):
    x, xn = small
    y = x + 1
    total, shifted = oxdask.compute(y.sum(), y[:5, :5])
    np.testing.assert_allclose(total, (xn + 1).sum())
    np.testing.assert_allclose(shifted, xn[:5, :5] + 1)
    both = HighLevelGraph.merge(y.sum().dask, y[:5, :5].dask)
    graph = optimize(both, [y.sum().__dask_keys__(), y[:5, :5].__dask_keys__()])
    assert isinstance(graph.layers[y.name], BlockwiseLayer)


def test_requested_input_stays(small):
    x, xn = small
    y = x * 3
    s, blocks = oxdask.compute(y.sum(), y)
    np.testing.assert_allclose(s, (xn * 3).sum())
    np.testing.assert_allclose(blocks, xn * 3)


def test_fusion_off_keeps_every_block_a_task(small):
    x, xn = small
    with oxdask.config.set({"optimization.fuse.active": False}):
        _, trees = _trees(x.sum())
        np.testing.assert_allclose(x.sum().compute(), xn.sum())
    assert trees
    assert all(t.inline is None for t in trees)


def test_map_blocks_with_block_info_inlined():
    def offset(block, block_info=None):
        (r0, _), (c0, _) = block_info[0]["array-location"]
        return block + r0 * 10_000 + c0

    x = da.zeros((1000, 1600), chunks=(10, 10), dtype=np.int64)
    r = x.map_blocks(offset, dtype=np.int64).sum(axis=0)
    _, trees = _trees(r)
    assert trees[0].inline is not None
    rows = np.arange(1000) // 10 * 10 * 10_000
    cols = np.arange(1600) // 10 * 10
    np.testing.assert_array_equal(r.compute(), (rows[:, None] + cols[None, :]).sum(axis=0))


def test_an_error_inside_an_inlined_block_reaches_the_caller():
    def bad(block):
        if block.sum() > 1e9:
            raise ZeroDivisionError("block too big")
        return block

    x = da.ones((2000, 2000), chunks=(10, 10))
    x = da.where(da.arange(2000)[:, None] == 1999, 1e10, x)
    with pytest.raises(ZeroDivisionError, match="block too big"):
        x.map_blocks(bad).sum().compute()


def test_engine_checks_the_inline_layer():
    bw = _core.Blockwise("x", np.negative, [0], [("y", [0])], {"y": (4,)})
    with pytest.raises(ValueError, match='inline layer must produce "z"'):
        _core.TreeReduce("t", "z", [4], [0], [2], np.sum, np.sum, inline=bw)
    with pytest.raises(ValueError, match=r"with \[5\] blocks"):
        _core.TreeReduce("t", "x", [5], [0], [2], np.sum, np.sum, inline=bw)
