"""``da.store`` into NumPy arrays writes every value whatever runs the tasks: threads, sync,
processes or a distributed cluster (whose processes cannot write into the caller's memory)."""

import numpy as np
import pytest

import oxdask.array as da


@pytest.mark.parametrize("scheduler", ["threads", "sync", "processes"])
def test_store_into_numpy_on_every_local_scheduler(scheduler):
    x = np.arange(60, dtype="f8").reshape(6, 10)
    a = da.from_array(x, chunks=(4, 3))
    target = np.zeros_like(x)
    assert da.store(a + 1, target, scheduler=scheduler) is None
    np.testing.assert_array_equal(target, x + 1)


def test_store_regions_and_several_targets_on_processes():
    x = np.arange(10)
    a = da.from_array(x, chunks=3)
    big = np.zeros(14, dtype=x.dtype)
    other = np.zeros(10, dtype=x.dtype)
    da.store([a, a * 2], [big, other], regions=[(slice(4, 14),), None], scheduler="processes")
    np.testing.assert_array_equal(big, np.r_[np.zeros(4, dtype=x.dtype), x])
    np.testing.assert_array_equal(other, x * 2)


def test_store_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        da.store(da.ones(5, chunks=2), np.zeros(6), scheduler="processes")


def test_lazy_store_computed_elsewhere_fails_loudly():
    target = np.zeros(6)
    lazy = da.store(da.ones(6, chunks=2), target, compute=False)
    with pytest.raises(RuntimeError, match="another process"):
        lazy.compute(scheduler="processes")
    lazy.compute(scheduler="threads")
    np.testing.assert_array_equal(target, np.ones(6))


def test_store_on_a_distributed_cluster():
    from oxdask.distributed import Client, LocalCluster

    x = np.arange(100).reshape(10, 10)
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster):
        target = np.zeros_like(x)
        da.store(da.from_array(x, chunks=4) * 3, target)
        np.testing.assert_array_equal(target, x * 3)
