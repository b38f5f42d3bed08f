"""oxdask.base: Dask-compatible details of unpacking, schedulers and keys."""

from __future__ import annotations

from collections import OrderedDict
from operator import add

import pytest

import oxdask
from oxdask.base import (
    clone_key,
    compute,
    compute_as_if_collection,
    get_scheduler,
    named_schedulers,
    unpack_collections,
)
from oxdask.core import validate_key
from oxdask.delayed import delayed
from oxdask.local import SynchronousExecutor, get_sync, synchronous_executor
from oxdask.utils import key_split


def inc(x):
    return x + 1


def test_unpack_collections_dict_keys_ordered_dicts_and_iterators():
    a = delayed(inc)(1)
    b = delayed(inc)(a)

    def build(a, b, it):
        return ({a: b, "x": [b]}, OrderedDict([("k", a)]), it)

    collections, repack = unpack_collections(*build(a, b, iter([a, b])))
    assert len(collections) == 2
    out = repack(compute(*collections))
    expected = build(inc(1), inc(inc(1)), [inc(1), inc(inc(1))])
    assert out == expected
    assert type(out[1]) is OrderedDict
    # a dict computed through oxdask.compute gets its collection keys replaced too
    assert compute({a: b}) == ({inc(1): inc(inc(1))},)


def test_named_schedulers_accept_new_names():
    def schedule(dsk, keys, **kwargs):
        return [123]

    x = delayed(inc)(1)
    named_schedulers["foo"] = schedule
    try:
        assert "foo" in named_schedulers
        assert x.compute(scheduler="foo") == 123
        with oxdask.config.set(scheduler="foo"):
            assert x.compute() == 123
            assert x.compute(scheduler="threads") == inc(1)
        assert x.compute() == inc(1)
    finally:
        del named_schedulers["foo"]
    assert "foo" not in named_schedulers
    with pytest.raises(ValueError, match="Expected one of"):
        x.compute(scheduler="foo")
    with pytest.raises(KeyError):
        del named_schedulers["foo"]


def test_named_schedulers_builtin_names_can_be_replaced_and_restored():
    original = named_schedulers["sync"]
    named_schedulers["sync"] = lambda dsk, keys, **kw: ["replaced"]
    try:
        assert delayed(inc)(1).compute(scheduler="sync") == "replaced"
    finally:
        named_schedulers["sync"] = original
    assert delayed(inc)(1).compute(scheduler="sync") == inc(1)


def test_synchronous_executor():
    assert isinstance(synchronous_executor, SynchronousExecutor)
    assert synchronous_executor.submit(add, 1, 2).result() == 3
    with pytest.raises(ZeroDivisionError):
        synchronous_executor.submit(divmod, 1, 0).result()
    get = get_scheduler(scheduler=synchronous_executor)
    assert callable(get)
    x = delayed(add)(delayed(inc)(1), 10)
    assert x.compute(scheduler=synchronous_executor) == add(inc(1), 10)


def test_clone_key():
    h1 = (1.2, "foo", (3,))
    for key, seed in [("x", 123), (("x", 1), 456), (("sum-1-2-3", h1, 1), 123)]:
        cloned = clone_key(key, seed)
        validate_key(cloned)
        assert cloned != key
        assert cloned == clone_key(key, seed)
        assert cloned != clone_key(key, seed + 1)
        assert key_split(cloned) == key_split(key)
    assert clone_key(("sum-1", 4, 3), 0)[1:] == (4, 3)
    with pytest.raises(TypeError, match="Expected str or a tuple"):
        clone_key(1, 2)


def test_compute_as_if_collection_without_dask_scheduler():
    class NoScheduler:
        pass

    dsk = {"a": 1, "b": (inc, "a")}
    assert compute_as_if_collection(NoScheduler, dsk, ["b"]) == get_sync(dsk, ["b"])


def test_custom_scheduler_gets_bare_keys_of_delayed_and_lists_of_others():
    seen = []

    def my_get(dsk, keys, **kwargs):
        seen.append(keys)
        return get_sync(dsk, keys)

    class Pair:
        def __init__(self):
            self.dsk = {"p0": 1, "p1": (inc, "p0")}

        def __dask_graph__(self):
            return self.dsk

        def __dask_keys__(self):
            return ["p0", "p1"]

        def __dask_postcompute__(self):
            return tuple, ()

    a = delayed(inc)(1)
    assert compute(a, Pair(), scheduler=my_get) == (inc(1), (1, inc(1)))
    assert seen == [[a.key, ["p0", "p1"]]]


def test_delayed_optimize_from_config():
    from oxdask.context import globalmethod

    x = delayed(inc)(1)
    calls = []

    def double_everything(dsk, keys, **kwargs):
        calls.append(keys)
        return {k: (lambda v: v * 2, v) for k, v in dict(dsk).items()}

    with oxdask.config.set(delayed_optimize=double_everything):
        assert x.compute() == inc(1) * 2
        assert x.compute(optimize_graph=False) == inc(1)
    assert len(calls) == 1
    assert x.compute() == inc(1)

    class Foo:
        @globalmethod(key="foo_method", falsey=lambda: "falsey")
        def method():
            return "default"

    assert Foo.method() == "default"
    with oxdask.config.set(foo_method=lambda: "configured"):
        assert Foo.method() == "configured"
    with oxdask.config.set(foo_method=None):
        assert Foo.method() == "falsey"


def test_compute_without_optimization_runs_every_task():
    from oxdask.callbacks import Callback

    a = delayed(inc)(1)
    b = delayed(inc)(a)
    c = delayed(inc)(b)  # a linear chain the engine fuses when optimizing
    keys = []
    with Callback(pretask=lambda key, *args: keys.append(key)):
        assert c.compute(scheduler="sync", optimize_graph=False) == inc(inc(inc(1)))
    assert sorted(keys) == sorted([a.key, b.key, c.key])
    assert c.compute(scheduler="sync") == inc(inc(inc(1)))
    (p,) = oxdask.persist(c, optimize_graph=False)
    assert p.compute() == inc(inc(inc(1)))


def test_wait_optimization_function_visualize_dsk():
    from oxdask.base import dont_optimize, get_err_msg, optimization_function, visualize_dsk, wait

    x = delayed(inc)(1)
    assert wait(x) is x
    assert optimization_function(x) is type(x).__dask_optimize__
    assert optimization_function(5) is dont_optimize
    dot = visualize_dsk({"a": 1, "b": (inc, "a")}, filename=None, format="dot")
    assert "digraph" in dot
    assert "scheduler=" in get_err_msg


def test_get_async_with_executor_submit():
    from concurrent.futures import ThreadPoolExecutor

    from oxdask.local import get_async

    dsk = {"x": 1, "y": (add, "x", 1), "z": (add, "y", "x")}
    expected = get_sync(dsk, ["z", ["y"]])
    assert get_async(synchronous_executor.submit, 1, dsk, ["z", ["y"]]) == expected
    with ThreadPoolExecutor(2) as pool:
        assert get_async(pool.submit, 2, dsk, "z") == get_sync(dsk, "z")
        with pytest.raises(ZeroDivisionError):
            get_async(pool.submit, 2, {"a": (divmod, 1, 0)}, "a")


def test_local_helpers():
    from oxdask.local import nested_get, reraise, sortkey

    keys = ["x", ("x", 1), ("z", 0), ("x", 0)]
    assert sorted(keys, key=sortkey) == ["x", ("x", 0), ("x", 1), ("z", 0)]
    assert nested_get(1, "abc") == "b"
    assert nested_get([[1, 0], [0, 1]], "abc") == (("b", "a"), ("a", "b"))
    with pytest.raises(KeyError, match="boom"):
        reraise(KeyError("boom"))
