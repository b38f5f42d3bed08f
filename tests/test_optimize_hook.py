"""The graph a ``__dask_optimize__`` function is given (``array_optimize`` set through the
configuration, a subclass's classmethod, ``compute_as_if_collection``): a ``HighLevelGraph``
whose entries are tasks and data only, as in Dask, the block-location entries of oxdask's array
layers written into the tasks that read them."""

from __future__ import annotations

from operator import mul

import numpy as np
import pytest

import oxdask
import oxdask.array as da
import oxdask.bag as db
from oxdask.array.chunk import Loc
from oxdask.base import compute_as_if_collection
from oxdask.highlevelgraph import HighLevelGraph
from oxdask.utils import ensure_dict, key_split


def double_every_task(dsk, keys):
    """Dask's test_optimize_globals: every entry's value multiplied by 2."""
    return {
        k: (mul, 2, v) if not key_split(k).startswith("finalize") else v for k, v in dsk.items()
    }


def _values_in(task):
    if isinstance(task, (tuple, list)):
        for t in task:
            yield from _values_in(t)
    elif isinstance(task, dict):
        for t in task.values():
            yield from _values_in(t)
    else:
        yield task


def test_array_optimize_rewriting_every_task_sees_only_tasks():
    x = da.ones(10, chunks=(5,))
    np.testing.assert_array_equal((x + 1).compute(), np.ones(10) + 1)
    with oxdask.config.set(array_optimize=double_every_task):
        # ones doubled, plus one, doubled: the Loc entries are no tasks to double
        np.testing.assert_array_equal((x + 1).compute(), (np.ones(10) * 2 + 1) * 2)
        bag = db.range(10, npartitions=2).map(lambda v: v + 1)
        xx, bb = oxdask.compute(x + 1, bag, scheduler="threads")
        np.testing.assert_array_equal(xx, (np.ones(10) * 2 + 1) * 2)
        assert bb == list(range(1, 11))  # the bag keeps its own optimization
    np.testing.assert_array_equal((x + 1).compute(), np.ones(10) + 1)


@pytest.mark.parametrize(
    "make",
    [
        lambda: da.ones((6, 4), chunks=(3, 2)) + 1,
        lambda: da.arange(12, chunks=5)[2:9] * 2,
        lambda: da.from_array(np.arange(12).reshape(3, 4), chunks=2).sum(axis=0),
    ],
    ids=["ones", "arange-slice", "from_array-sum"],
)
def test_optimizer_view_holds_no_location_entries_and_computes_the_same(make):
    x = make()
    expected = x.compute()
    seen = {}

    def record(dsk, keys):
        seen["type"] = type(dsk)
        seen["items"] = dict(dsk.items())
        seen["len"] = len(dsk)
        seen["ensure_dict"] = ensure_dict(dsk)
        seen["culled"] = dict(dsk.cull(keys).items())
        return seen["items"]  # a plain dict graph: run as the function returned it

    with oxdask.config.set(array_optimize=record):
        got = x.compute()
    np.testing.assert_array_equal(got, expected)
    items = seen["items"]
    assert seen["type"] is HighLevelGraph  # Dask's type, not a subclass
    assert not any(isinstance(v, Loc) for v in items.values())
    assert not any(isinstance(k, tuple) and k[0].startswith("loc-") for k in items)
    assert any(isinstance(v, Loc) for t in items.values() for v in _values_in(t))
    assert seen["len"] == len(items)
    assert seen["ensure_dict"] == items
    assert set(seen["culled"]) <= set(items)
    assert {k for k in items if k[0] == x.name} == set(seen["culled"]) & {
        k for k in items if k[0] == x.name
    }
    # the collection's own graph is unchanged
    assert any(isinstance(v, Loc) for v in dict(x.dask).values())


def test_optimizer_returning_its_argument_runs_the_original_graph():
    x = da.ones((4, 4), chunks=2).T + np.arange(4)
    calls = []

    def passthrough(dsk, keys):
        calls.append(keys)
        return dsk

    with oxdask.config.set(array_optimize=passthrough):
        got = x.compute()
        persisted = x.persist()
    assert len(calls) == 2
    np.testing.assert_array_equal(got, np.ones((4, 4)) + np.arange(4))
    np.testing.assert_array_equal(persisted.compute(), got)


def test_subclass_optimize_and_compute_as_if_collection_get_a_high_level_graph():
    x = da.arange(10, chunks=4)
    called = []

    class MyArray(da.Array):
        @classmethod
        def __dask_optimize__(cls, dsk, keys, **kwargs):
            assert type(dsk) is HighLevelGraph
            called.append(len(dsk))
            return super().__dask_optimize__(dsk, keys, **kwargs)

    (result,) = compute_as_if_collection(MyArray, x.__dask_graph__(), [x.__dask_keys__()])
    assert called == [3]  # the three blocks of arange, no location entries
    np.testing.assert_array_equal(np.concatenate(result), np.arange(10))


def test_delayed_of_an_array_uses_the_view_too():
    x = da.ones(6, chunks=3)
    with oxdask.config.set(array_optimize=double_every_task):
        total = oxdask.delayed(np.sum)(x + 1).compute()
    assert total == ((1 * 2 + 1) * 2) * 6
