"""oxdask.delayed: construction, operators, keys, graphs and results."""

from __future__ import annotations

import operator
import pickle
import sys
from collections import namedtuple
from dataclasses import dataclass
from operator import add, mul

import pytest

import oxdask
from oxdask import compute, delayed
from oxdask.delayed import Delayed, DelayedLeaf
from oxdask.utils import key_split


def inc(x):
    return x + 1


def identity(x):
    return x


Point = namedtuple("Point", ["x", "y"])


@dataclass
class Pair:
    a: object
    b: object


def test_delayed_function_call():
    a = delayed(inc)(1)
    b = delayed(add)(a, 10)
    assert isinstance(a, Delayed)
    assert b.compute() == 12
    assert key_split(a.key) == "inc"
    assert set(b.dask) == {a.key, b.key}
    assert b.dask[b.key] == (add, a.key, 10)


def test_decorator_and_curried_options():
    @delayed
    def f(x):
        return x * 2

    @delayed(pure=True)
    def g(x):
        return x * 3

    assert f(2).compute() == 4
    assert g(2).key == g(2).key
    assert g(2).compute() == 6
    assert isinstance(f, DelayedLeaf)
    assert f.__name__ == "f"
    assert f.__wrapped__.__name__ == "f"


def test_delayed_of_delayed_is_identity():
    a = delayed(inc)(1)
    assert delayed(a) is a


def test_value_wrapping():
    v = delayed(5)
    assert v.compute() == 5
    assert key_split(v.key) == "int"
    assert delayed(5).key != delayed(5).key
    assert delayed(5, pure=True).key == delayed(5, pure=True).key
    assert delayed(5, name="five").key == "five"
    # Containers without collections are returned unchanged, not evaluated as tasks.
    t = (inc, 1)
    assert delayed(t).compute() == t
    assert delayed([1, "a", (inc, 2)]).compute() == [1, "a", (inc, 2)]
    d = {"x": (len, [1, 2])}
    assert delayed(d).compute() == d


def test_traverse_containers():
    a = delayed(inc)(1)
    b = delayed(inc)(a)
    assert delayed([a, b, 3]).compute() == [2, 3, 3]
    assert delayed((a, [b], {"k": a})).compute() == (2, [3], {"k": 2})
    assert delayed({a, 5}).compute() == {2, 5}
    assert delayed(frozenset([a])).compute() == frozenset([2])
    assert delayed({"a": a, "n": {"b": b}}).compute() == {"a": 2, "n": {"b": 3}}
    assert delayed(Point(a, b)).compute() == Point(2, 3)
    assert delayed(Pair(a, [b])).compute() == Pair(2, [3])
    assert delayed(slice(a, b)).compute() == slice(2, 3)
    assert delayed(iter([a, b])).compute() == [2, 3]
    key = delayed([a, 1]).key
    assert key_split(key) == "list"


def test_traverse_false_keeps_collections_opaque():
    a = delayed(inc)(1)
    out = delayed([a, 1], traverse=False).compute()
    assert out[0] is a
    assert out[1] == 1
    # The function still receives the Delayed object itself.
    assert delayed(len, traverse=False)([a, a]).compute() == 2


def test_collections_in_call_arguments():
    a = delayed(inc)(1)
    assert delayed(sum)([a, a, 10]).compute() == 14
    assert delayed(identity)((a, "s")).compute() == (2, "s")
    assert delayed(identity)({"a": [a]}).compute() == {"a": [2]}
    assert delayed(sorted)({a, 0}).compute() == [0, 2]
    assert delayed(identity)(Point(a, 1)).compute() == Point(2, 1)
    assert delayed(dict)(x=a, y=[a]).compute() == {"x": 2, "y": [2]}
    # Literal containers that look like tasks or keys are passed through untouched.
    assert delayed(identity)((inc, 1)).compute() == (inc, 1)
    assert delayed(identity)([a.key]).compute() == [a.key]
    assert delayed(identity)(("x", 2)).compute() == ("x", 2)


def test_kwargs():
    def f(a, b=0, *, c=1):
        return (a, b, c)

    a = delayed(inc)(1)
    out = delayed(f)(a, b=a, c=[a, 5])
    assert out.compute() == (2, 2, [2, 5])
    assert delayed(f)(1, c=2).compute() == (1, 0, 2)


def test_operators_match_python():
    x, y = 7, 3
    dx, dy = delayed(x), delayed(y)
    binary = [
        add,
        operator.sub,
        mul,
        operator.floordiv,
        operator.truediv,
        operator.mod,
        operator.pow,
        operator.and_,
        operator.or_,
        operator.xor,
        operator.lshift,
        operator.rshift,
        operator.eq,
        operator.ne,
        operator.lt,
        operator.le,
        operator.gt,
        operator.ge,
    ]
    lazy = []
    expected = []
    for op in binary:
        lazy += [op(dx, dy), op(dx, y), op(x, dy)]
        expected += [op(x, y)] * 3
    for op in (operator.neg, operator.pos, operator.abs, operator.invert):
        lazy.append(op(dx))
        expected.append(op(x))
    assert list(compute(*lazy)) == expected


def test_matmul_and_getitem():
    class M:
        def __init__(self, v):
            self.v = v

        def __matmul__(self, other):
            return self.v * other.v

        def __rmatmul__(self, other):
            return other * 100 + self.v

    assert (delayed(M(2)) @ delayed(M(5))).compute() == 10
    assert (3 @ delayed(M(4))).compute() == 304
    d = delayed({"a": [10, 20, 30]})
    assert d["a"][1].compute() == 20
    assert d["a"][1:].compute() == [20, 30]
    lst = delayed([1, 2, 3, 4])
    assert lst[delayed(1) : delayed(3)].compute() == [2, 3]
    assert delayed({(1, 2): "t"})[1, 2].compute() == "t"


def test_operator_keys_are_pure():
    a = delayed(1, name="a")
    assert (a + 1).key == (a + 1).key
    assert (a + 1).key != (a + 2).key
    assert key_split((a + 1).key) == "add"
    assert (1 + a).key.startswith("_swap-")
    assert key_split((-a).key) == "neg"
    assert key_split(a[0].key) == "getitem"


def test_attribute_and_method_access():
    d = delayed([3, 1, 2])
    assert d.count(1).compute() == 1
    assert d.index(2).compute() == 2
    c = delayed(3 + 4j)
    assert c.real.compute() == 3.0
    assert c.imag.compute() == 4.0
    assert c.conjugate().compute() == 3 - 4j
    assert key_split(c.real.key) == "getattr"
    assert c.real.key == c.real.key
    assert key_split(d.count(1).key) == "count"
    s = delayed("a,b")
    assert s.split(",").compute() == ["a", "b"]
    assert s.split(sep=",", maxsplit=delayed(0)).compute() == ["a,b"]
    with pytest.raises(AttributeError):
        _ = d._private
    assert "compute" in dir(d)


def test_visualise_typo_warns():
    with pytest.warns(UserWarning, match="visualize"):
        _ = delayed(1).visualise


def test_call_delayed_value():
    f = delayed(inc)(1)  # computes to 2; not callable itself
    g = delayed(lambda: inc)()
    assert g(5).compute() == 6
    assert g(f).compute() == 3
    assert g(5, dask_key_name="named").key == "named"
    assert key_split(g(1).key) == "apply"


def test_calling_non_callable_raises_at_call_time():
    with pytest.raises(TypeError, match="int object 5 wrapped by delayed is not callable"):
        delayed(5)()
    with pytest.raises(TypeError, match="not callable"):
        delayed([1, 2])(3)


def test_nout_and_iteration():
    q, r = delayed(divmod, nout=2)(17, 5)
    assert compute(q, r) == (3, 2)
    t = delayed(lambda: (1,), nout=1)()
    assert len(t) == 1
    (only,) = t
    assert only.compute() == 1
    assert list(delayed(lambda: (), nout=0)()) == []
    with pytest.raises(TypeError, match="Delayed objects of unspecified length are not iterable"):
        iter(delayed(inc)(1))
    with pytest.raises(TypeError, match="Delayed objects of unspecified length have no len"):
        len(delayed(inc)(1))
    with pytest.raises(ValueError, match="nout must be None or a non-negative integer"):
        delayed(inc, nout=-1)
    with pytest.raises(ValueError, match="nout"):
        delayed(inc, nout=1.5)


def test_bool_and_immutability():
    a = delayed(inc)(1)
    with pytest.raises(TypeError, match="Truth of Delayed objects is not supported"):
        bool(a)
    with pytest.raises(TypeError, match="immutable"):
        a.foo = 1
    with pytest.raises(TypeError, match="immutable"):
        a[0] = 1


def test_pure_keys():
    assert delayed(add, pure=True)(1, 2).key == delayed(add, pure=True)(1, 2).key
    assert delayed(add, pure=True)(1, 2).key != delayed(add, pure=True)(2, 1).key
    assert delayed(add)(1, 2).key != delayed(add)(1, 2).key
    assert delayed(add)(1, 2, pure=True).key == delayed(add)(1, 2, pure=True).key
    delayed(inc)  # another wrapper in between changes nothing
    assert delayed(add)(1, 2, pure=True).key == delayed(add, pure=True)(1, 2).key
    assert delayed(add, pure=True)(1, 2, pure=False).key != delayed(add)(1, 2, pure=False).key
    with oxdask.config.set(delayed_pure=True):
        assert delayed(add)(1, 2).key == delayed(add)(1, 2).key
        assert delayed(5).key == delayed(5).key
    k1 = delayed(sum, pure=True)([delayed(1, name="a")]).key
    k2 = delayed(sum, pure=True)([delayed(1, name="a")]).key
    assert k1 == k2


def test_pure_keys_stable_across_processes():
    import subprocess

    code = (
        "from operator import add; import oxdask; print(oxdask.delayed(add, pure=True)(1, 'x').key)"
    )
    out = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    assert len(out) == 1
    assert out == {delayed(add, pure=True)(1, "x").key}


def test_dask_key_name():
    a = delayed(inc)(1, dask_key_name="a")
    b = delayed(add)(a, 1, dask_key_name=("b", 0))
    assert a.key == "a"
    assert b.key == ("b", 0)
    assert b.compute() == 3
    assert set(b.dask) == {"a", ("b", 0)}


def test_unique_keys_are_distinct_and_split_cleanly():
    keys = {delayed(inc)(i).key for i in range(1000)}
    assert len(keys) == 1000
    assert {key_split(k) for k in keys} == {"inc"}
    assert all(len(k) == len("inc-") + 32 for k in keys)


def test_explicit_constructor_and_protocol():
    d = Delayed("x", {"x": 1, "y": (inc, "x")})
    assert d.key == "x"
    assert d.__dask_keys__() == ["x"]
    assert d.__dask_layers__() == ("x",)
    assert d.__dask_tokenize__() == "x"
    assert d.compute() == 1
    e = Delayed("y", {"x": 1, "y": (inc, "x")})
    assert (e + 1).compute() == 3
    assert repr(e) == "Delayed('y')"
    assert hash(e) == hash("y")
    func, args = e.__dask_postcompute__()
    assert func([5], *args) == 5


def test_graph_is_cached_and_complete():
    a = delayed(inc)(1)
    b = delayed(add)(a, a)
    g1 = b.dask
    assert b.__dask_graph__() is g1
    assert len(g1) == 2
    c = b + 1
    assert len(c.dask) == 3
    assert c.compute() == 5


def test_long_chain_is_linear_and_not_recursive():
    x = delayed(0)
    n = 20_000
    for _ in range(n):
        x = delayed(inc)(x)
    assert len(x.dask) == n + 1
    assert x.compute(scheduler="sync") == n
    del x


def test_big_fan_in():
    xs = [delayed(inc)(i) for i in range(2_000)]
    total = delayed(sum)(xs)
    assert total.compute() == sum(range(1, 2_001))


def test_method_descriptor():
    class A:
        f = delayed(lambda self, y: y * 2)

    assert A().f(3).compute() == 6


def test_pickle_roundtrip():
    a = delayed(inc)(1)
    b = (a + 1) * 2
    b2 = pickle.loads(pickle.dumps(b))
    assert b2.key == b.key
    assert b2.compute() == 6
    leaf = pickle.loads(pickle.dumps(delayed(inc)))
    assert leaf(1).compute() == 2


def test_foreign_collection_as_argument():
    class Coll:
        def __init__(self, dsk, keys):
            self.dsk, self.keys = dsk, keys

        def __dask_graph__(self):
            return self.dsk

        def __dask_keys__(self):
            return self.keys

        def __dask_postcompute__(self):
            return sum, ()

        def __dask_postpersist__(self):
            return Coll, (self.keys,)

        def __dask_tokenize__(self):
            return tuple(self.keys)

    c = Coll({("c", 0): 1, ("c", 1): (inc, ("c", 0))}, [("c", 0), ("c", 1)])
    assert delayed(inc)(c).compute() == 4
    assert delayed([c, 1]).compute() == [3, 1]
    assert delayed(c).compute() == 3


def test_optimize_culls():
    a = delayed(inc)(1)
    b = delayed(inc)(a)
    dsk = dict(b.dask)
    dsk["unused"] = (inc, 5)
    culled = oxdask.delayed.optimize(dsk, [b.key])
    assert set(culled) == {a.key, b.key}


def test_module_attributes_reachable_from_function():
    assert oxdask.delayed.Delayed is Delayed
    assert oxdask.delayed.delayed is delayed
    from oxdask.delayed import Delayed as D2

    assert D2 is Delayed


def test_compare_keys_with_dask():
    dask = pytest.importorskip("dask")
    for mod in (dask, oxdask):
        a = mod.delayed(inc)(1)
        assert key_split(a.key) == "inc"
        assert key_split((a + 1).key) == "add"
        assert (1 + a).key.startswith("_swap-")
        assert key_split(a.real.key) == "getattr"
        assert key_split(a.bit_length().key) == "bit_length"
        assert key_split(mod.delayed([a]).key) == "list"
        assert key_split(mod.delayed(5).key) == "int"
        q, r = mod.delayed(divmod, nout=2)(7, 2)
        assert mod.compute(q, r, [a, {"k": a}]) == (3, 1, [2, {"k": 2}])
