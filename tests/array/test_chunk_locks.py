"""Block reads and writes use the lock's own acquire/release (as Dask's getter)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import oxdask.array as da
from oxdask.utils import SerializableLock


class FussyLock(SerializableLock):
    def acquire(self, blocking=True, timeout=-1):
        if self.locked():
            raise RuntimeError("I am locked")
        return super().acquire(blocking, timeout)


def _compute_within(x, seconds=10):
    out = {}

    def run():
        try:
            out["value"] = x.compute(scheduler="sync")
        except Exception as e:  # handed to the test
            out["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "compute hangs on a held lock"
    return out


def test_getter_calls_the_locks_acquire():
    # `with lock:` bypassed the subclass's acquire and waited forever on the held lock
    lock = FussyLock()
    d = da.from_array(np.arange(10), chunks=5, lock=lock)
    lock.acquire()
    out = _compute_within(d)
    assert isinstance(out.get("error"), RuntimeError)
    lock.release()
    np.testing.assert_array_equal(_compute_within(d)["value"], np.arange(10))


def test_store_calls_the_locks_acquire():
    lock = FussyLock()
    target = np.zeros(10)
    lock.acquire()
    with pytest.raises(RuntimeError, match="locked"):
        da.store(da.arange(10, chunks=5), target, lock=lock, scheduler="sync")
    lock.release()
    da.store(da.arange(10, chunks=5), target, lock=lock, scheduler="sync")
    np.testing.assert_array_equal(target, np.arange(10))
