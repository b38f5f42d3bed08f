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
