"""oxdask.delayed: Dask-compatible edge cases (dataclasses, pickling, legacy helpers)."""

from __future__ import annotations

import pickle
from collections import namedtuple
from dataclasses import dataclass, field

import pytest

import oxdask
from oxdask.delayed import delayed, to_task_dask
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
