"""Collections (oxdask.array) on the distributed client: layers expand in Rust, then ship."""

from __future__ import annotations

import numpy as np
import pytest

import oxdask
import oxdask.array as da
from oxdask import _core
from oxdask.core import flatten
from oxdask.distributed import Client, LocalCluster, futures_of, wait


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as c:
        yield c


@pytest.fixture
def xs():
    rng = np.random.default_rng(7)
    xn = rng.random((57, 43))
    return da.from_array(xn, chunks=(10, (20, 3, 20))), xn


def test_elementwise_and_reductions(client, xs):
    x, xn = xs
    np.testing.assert_allclose(((x + 1) * 2).sum().compute(), ((xn + 1) * 2).sum())
    np.testing.assert_allclose(x.mean(axis=0).compute(), xn.mean(axis=0))
    np.testing.assert_allclose(x.std(axis=1, keepdims=True).compute(), xn.std(1, keepdims=True))
    np.testing.assert_array_equal(x.argmax(axis=0).compute(), xn.argmax(axis=0))
    np.testing.assert_allclose(np.cumsum(x, axis=1).compute(), np.cumsum(xn, axis=1))


def test_default_scheduler_is_the_client(client, xs):
    x, xn = xs
    assert oxdask.base.get_scheduler() == client.get
    np.testing.assert_allclose(np.asarray(x.T @ x), xn.T @ xn)
    (total,) = oxdask.compute(x.sum())
    np.testing.assert_allclose(total, xn.sum())


def test_shape_operations_and_random(client, xs):
    x, xn = xs
    np.testing.assert_array_equal(x.rechunk((57, 5)).compute(), xn)
    np.testing.assert_array_equal(x[3:40:2, ::-3].compute(), xn[3:40:2, ::-3])
    np.testing.assert_array_equal(
        da.concatenate([x, x], axis=1).compute(), np.concatenate([xn, xn], axis=1)
    )
    r = da.random.default_rng(3).random((30, 30), chunks=7)
    with oxdask.config.set(scheduler="threads"):
        local = r.compute()
    np.testing.assert_array_equal(r.compute(), local)


def test_persist_keeps_blocks_on_the_cluster(client, xs):
    x, xn = xs
    y = (x * 3).persist()
    assert all(type(v).__name__ == "Future" for v in y.dask.values())
    found = futures_of([y, {"again": y}])
    assert len(found) == y.npartitions  # each block's future once
    assert {f.key for f in found} == set(y.dask)
    done, not_done = wait(y)  # a persisted collection waits for its futures, as in Dask
    assert len(done) == y.npartitions
    assert not not_done
    np.testing.assert_allclose((y - 1).sum(axis=0).compute(), (xn * 3 - 1).sum(axis=0))
    future = client.compute(y.max())
    assert future.result(timeout=30) == pytest.approx((xn * 3).max())


def test_graph_tasks_expands_only_what_is_needed():
    x = da.ones((40, 40), chunks=10) + 1
    plain, layers = x.__dask_graph__()._engine_parts()
    assert layers  # the addition stays a compact layer until graph_tasks
    one = _core.graph_tasks(plain, [(x.name, 0, 0)], layers=layers)
    every = _core.graph_tasks(plain, list(flatten(x.__dask_keys__())), layers=layers)
    assert [k for k, _, _ in one if k[0] == x.name] == [(x.name, 0, 0)]
    assert len(one) * 4 < len(every)
    _key, task, deps = next(t for t in one if t[0] == (x.name, 0, 0))
    assert callable(task[0])
    assert all(d in task for d in deps)
    with pytest.raises(KeyError, match="9, 9"):
        _core.graph_tasks(plain, [(x.name, 9, 9)], layers=layers)


def _block_sum(block, block_id=None):
    return np.full((1, 1), block.sum() + 1000 * block_id[0] + block_id[1])


def test_block_locations_are_written_into_tasks(client, xs):
    """map_blocks' block_id comes from small location layers: graph_tasks copies those values
    into each task instead of shipping one task per location (whose tiny result would also
    pull every block onto the worker that ran it)."""
    x, xn = xs
    y = x.map_blocks(_block_sum, chunks=(1, 1), dtype=float)
    plain, layers = y.__dask_graph__()._engine_parts()
    keys = list(flatten(y.__dask_keys__()))
    tasks = _core.graph_tasks(plain, keys, layers=layers)
    names = {k[0] if isinstance(k, tuple) else k for k, _, _ in tasks}
    assert not any(n.startswith("loc-") for n in names)
    assert all(not d[0].startswith("loc-") for _, _, deps in tasks for d in deps)
    want = np.array([
        [xn[10 * i : 10 * i + 10, a:b].sum() + 1000 * i + j for j, (a, b) in
         enumerate([(0, 20), (20, 23), (23, 43)])]
        for i in range(6)
    ])  # fmt: skip
    np.testing.assert_allclose(y.compute(), want)


def _literal_blocks(name, values, size=3):
    """An array whose blocks are literal values of a plain layer (no task computes them)."""
    from oxdask.array.core import Array

    return Array({(name, i): v for i, v in enumerate(values)}, name, ((size,) * len(values),))


def _shipped(*outs):
    """Keys shipped as tasks, and keys depended on, when ``outs`` go to a cluster."""
    graph = oxdask.highlevelgraph.HighLevelGraph.merge(*(o.__dask_graph__() for o in outs))
    plain, layers = graph._engine_parts()
    keys = [k for o in outs for k in flatten(o.__dask_keys__())]
    tasks = _core.graph_tasks(plain, keys, layers=layers)
    return {k for k, _, _ in tasks}, {d for _, _, ds in tasks for d in ds}


def test_graph_tasks_inlines_only_cheap_or_single_use_literals():
    blocks = [np.arange(3.0) + 10 * i for i in range(2)]
    x = _literal_blocks("lit-big", blocks)
    # an array used by one task moves into it
    shipped, deps = _shipped(x + 1)
    assert ("lit-big", 0) not in shipped | deps
    # used by two tasks it stays a task of its own, never copied twice
    shipped, deps = _shipped(x * 2, x * 3)
    assert ("lit-big", 0) in shipped & deps
    np.testing.assert_array_equal((x + 1).compute(), np.concatenate(blocks) + 1)
    a, b = oxdask.compute(x * 2, x * 3)
    np.testing.assert_array_equal(a, np.concatenate(blocks) * 2)
    np.testing.assert_array_equal(b, np.concatenate(blocks) * 3)
    # a number is copied into every user, however many
    n = _literal_blocks("lit-n", [4, 5])
    full = n.map_blocks(lambda v: np.full(3, v, dtype=float), dtype=float)
    shipped, deps = _shipped(full + 1, full * 2)
    assert not {k for k in shipped | deps if k[0] == "lit-n"}
    np.testing.assert_array_equal((full * 2).compute(), [8.0] * 3 + [10.0] * 3)


def test_graph_tasks_external_keys_are_neither_shipped_nor_inlined():
    x = _literal_blocks("held", [np.zeros(3), np.ones(3)])
    y = x + 1
    plain, layers = y.__dask_graph__()._engine_parts()
    keys = list(flatten(y.__dask_keys__()))
    tasks = _core.graph_tasks(plain, keys, layers=layers, external=[("held", 0), ("held", 1)])
    assert {k for k, _, _ in tasks} == set(keys)
    assert sorted(d for _, _, ds in tasks for d in ds) == [("held", 0), ("held", 1)]


def test_reductions_of_many_small_blocks(client):
    """The tree's first level computes the small blocks itself (no task per block)."""
    xn = np.random.default_rng(5).random((1200, 1500))
    x = da.from_array(xn, chunks=(12, 15))  # 10,000 blocks
    y = (x + 1) * 2
    np.testing.assert_allclose(client.compute(y.sum()).result(), ((xn + 1) * 2).sum())
    np.testing.assert_allclose(y.mean(axis=1).compute(), ((xn + 1) * 2).mean(axis=1))
    np.testing.assert_array_equal(client.compute(y.argmin(axis=0)).result(), xn.argmin(axis=0))


def test_from_array_data_is_sent_once(client):
    """The array of ``from_array`` becomes one task the blocks depend on: 100 blocks of a
    32 MB array do not carry 100 copies (which exceeded the frame limit)."""
    xn = np.random.default_rng(6).random((2000, 2000))
    x = da.from_array(xn, chunks=200)
    np.testing.assert_allclose(client.compute((x * 2).sum()).result(), (xn * 2).sum())
    np.testing.assert_array_equal(client.compute(x[::7, 3]).result(), xn[::7, 3])
    tasks = client._graph_tasks(*_graph_and_keys(x * 2))
    shared = [t for t in tasks if isinstance(t[0], str) and t[0].startswith("literal-")]
    assert len(shared) == 1
    assert shared[0][1] is xn
    assert all(shared[0][0] in deps for _, _, deps in tasks if deps)


def _graph_and_keys(collection):
    dsk = oxdask.base.collections_to_dsk([collection], True)
    return dsk, list(flatten(collection.__dask_keys__()))
