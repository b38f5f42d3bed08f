"""oxdask.delayed: Dask-compatible edge cases (dataclasses, pickling, legacy helpers)."""

from __future__ import annotations

import pickle
from collections import namedtuple
from dataclasses import dataclass, field

import pytest

import oxdask
from oxdask.delayed import Delayed, delayed, to_task_dask
from oxdask.utils import apply


def inc(x):
    return x + 1


@dataclass
class CustomInit:
    a: int

    def __init__(self, b):
        self.a = b


@dataclass
class WithNoInitField:
    a: int
    b: int = field(init=False)


def test_dataclass_with_custom_init_holding_delayed_raises_type_error():
    with pytest.raises(TypeError, match=r"CustomInit.*custom __init__ is not supported"):
        delayed({"data": CustomInit(b=delayed(3))})
    # without a collection inside, the instance is passed through as is
    out = delayed(lambda d: d["data"].a)(delayed({"data": CustomInit(b=3)}))
    assert out.compute() == CustomInit(b=3).a


def test_dataclass_with_set_init_false_field_holding_delayed_raises_value_error():
    obj = WithNoInitField(a=delayed(3))
    obj.b = 4
    with pytest.raises(ValueError, match=r"WithNoInitField.*`init=False` are not supported"):
        delayed(obj)


def test_dataclass_with_unset_init_false_field_holding_delayed():
    out = delayed(lambda d: d["data"].a)(delayed({"data": WithNoInitField(a=delayed(3))}))
    assert out.compute() == WithNoInitField(a=3).a


def test_visualise_typo_warns():
    z = delayed(inc)(1)
    with pytest.warns(UserWarning, match="delayed objects have no `visualise` method"):
        z.visualise()  # the attribute is a lazy method call like any other
    assert z.compute() == inc(1)


def test_delayed_attr_pickles_with_its_object_and_attribute():
    x = delayed(1j + 2).real
    y = pickle.loads(pickle.dumps(x))
    assert type(y) is type(x)
    assert y._attr == "real"
    assert y._obj.key == x._obj.key
    assert y.key == x.key
    assert y.compute() == (1j + 2).real
    # calling the unpickled attribute still builds a method call
    z = pickle.loads(pickle.dumps(delayed("a,b").split))
    text = "a,b"
    assert z(",").compute() == text.split(",")


def test_to_task_dask_forms():
    a = delayed(1, name="a")
    b = delayed(2, name="b")
    assert to_task_dask([a, b, 3]) == (["a", "b", 3], {"a": 1, "b": 2})
    task, dsk = to_task_dask((a, b, 3))
    assert task == (tuple, ["a", "b", 3])
    assert dict(dsk) == {"a": 1, "b": 2}
    task, _ = to_task_dask({a: 1, b: 2})
    assert task in ((dict, [["a", 1], ["b", 2]]), (dict, [["b", 2], ["a", 1]]))
    f = namedtuple("f", ["a", "b", "c"])
    assert to_task_dask(f(a, b, 3))[0] == (f, "a", "b", 3)
    assert to_task_dask(slice(a, b, 3))[0] == (slice, "a", "b", 3)

    @dataclass
    class P:
        x: object

    task, _ = to_task_dask(P(a))
    assert task == (apply, P, (), (dict, [["x", "a"]]))

    class MyDict(dict):
        pass

    task, dsk = to_task_dask(MyDict())
    assert type(task) is MyDict
    assert dsk == {}


def test_to_task_dask_of_a_collection_holds_its_graph_and_a_finalize_task():
    np = pytest.importorskip("numpy")
    da = pytest.importorskip("oxdask.array")
    arr = np.arange(16).reshape(4, 4)
    darr = da.from_array(arr, chunks=2)
    task, dsk = to_task_dask(darr)
    assert set(darr.dask) <= set(dsk)
    assert set(dsk) - set(darr.dask) == {task}
    assert (oxdask.get(dsk, task) == arr).all()


def _inc_mod(x):
    return x + 1


def test_graph_of_calls_is_high_level_with_one_layer_per_call():
    from oxdask.highlevelgraph import HighLevelGraph

    d1 = delayed(1)
    assert d1.dask.layers.keys() == {d1.key}
    assert d1.dask.dependencies == {d1.key: set()}
    assert d1.__dask_layers__() == (d1.key,)
    d2 = delayed(_inc_mod)(d1)
    assert d2.dask.layers.keys() == {d1.key, d2.key}
    assert d2.dask.dependencies == {d1.key: set(), d2.key: {d1.key}}
    assert dict(d2.dask) == {d1.key: 1, d2.key: (_inc_mod, d1.key)}
    assert d2.__dask_layers__() == (d2.key,)
    d2.dask.validate()

    hlg = HighLevelGraph.from_collections("foo", {"alias": d2.key}, dependencies=[d2])
    with pytest.raises(ValueError, match="not in"):
        Delayed("alias", hlg)
    explicit = Delayed("alias", hlg, layer="foo")
    assert explicit.__dask_layers__() == ("foo",)
    explicit.dask.validate()
    assert explicit.compute() == _inc_mod(1)
    # a tuple key is found in the layer named after it
    t = Delayed(("foo-t", 0), HighLevelGraph({"foo-t": {("foo-t", 0): 5}}, {"foo-t": set()}))
    assert t.__dask_layers__() == ("foo-t",)
    assert (t + 1).compute() == 6


def test_validate_reports_wrong_layer_dependencies():
    from oxdask.highlevelgraph import HighLevelGraph

    g = HighLevelGraph({"a": {"a": 1}, "b": {"b": (_inc_mod, "a")}}, {"a": set(), "b": set()})
    with pytest.raises(ValueError, match="incorrect HLG dependencies"):
        g.validate()
    with pytest.raises(ValueError, match="not found"):
        HighLevelGraph({"a": {"a": 1}}, {"a": {"zzz"}}).validate()


def test_long_chain_graph_is_cheap_to_read():
    x = delayed(0)
    n = 5_000
    for _ in range(n):
        x = delayed(_inc_mod)(x)
    g = x.dask
    assert len(g.layers) == n + 1
    flat = dict(g)  # one lookup per key: must not scan every layer
    assert len(flat) == n + 1
    assert all(g[k] == v for k, v in list(flat.items())[:100])
    assert (x + 1).compute(scheduler="sync") == n + 1


def test_delayed_of_a_collection_holds_the_collection_graph():
    np = pytest.importorskip("numpy")
    da = pytest.importorskip("oxdask.array")
    x = da.ones(10, chunks=5)
    v = delayed([x])
    assert set(x.dask) <= set(v.dask)
    assert all(key[0].split("-")[0].isalpha() if isinstance(key, tuple) else True for key in v.dask)
    (out,) = v.compute()
    np.testing.assert_array_equal(out, np.ones(10))
    s = delayed(sum)([x, 1])
    np.testing.assert_array_equal(s.compute(), np.ones(10) + 1)


def test_delayed_module_is_callable_like_the_function():
    import sys

    module = sys.modules["oxdask.delayed"]
    original = oxdask.delayed
    # what Python does when the submodule is imported again under an alias of oxdask
    oxdask.delayed = module
    try:
        assert oxdask.delayed(_inc_mod)(1).compute() == _inc_mod(1)
        assert oxdask.delayed(pure=True)(_inc_mod)(1).key == delayed(_inc_mod, pure=True)(1).key
        assert oxdask.delayed.Delayed is Delayed
    finally:
        oxdask.delayed = original
    assert oxdask.delayed is delayed
