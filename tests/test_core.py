"""oxdask.core and oxdask.utils helpers."""

from __future__ import annotations

import functools
import operator
from operator import add

import pytest

from oxdask import core, utils


def inc(x):
    return x + 1


def test_istask_iskey():
    assert core.istask((inc, 1))
    assert not core.istask((1, inc))
    assert not core.istask([inc, 1])
    assert not core.istask(())
    assert core.iskey("x")
    assert core.iskey(("x", 1, 2.5, b"b"))
    assert not core.iskey(["x"])
    assert not core.iskey(("x", [1]))
    core.validate_key(("x", 1))
    with pytest.raises(TypeError):
        core.validate_key({"x"})
    with pytest.raises(TypeError, match="Composite key"):
        core.validate_key(("x", {1}))


def test_get_dependencies():
    dsk = {
        "x": 1,
        "y": (inc, "x"),
        "z": (add, "x", (inc, "y")),
        "w": [("x", 1), "y", {"k": "z"}],
        ("x", 1): 5,
    }
    assert core.get_dependencies(dsk, "x") == set()
    assert core.get_dependencies(dsk, "y") == {"x"}
    assert core.get_dependencies(dsk, "z") == {"x", "y"}
    assert core.get_dependencies(dsk, "w") == {("x", 1), "y", "z"}
    assert sorted(core.get_dependencies(dsk, task=(add, "x", "x"), as_list=True)) == ["x", "x"]
    deps, dependents = core.get_deps(dsk)
    assert deps["z"] == {"x", "y"}
    assert dependents["x"] == {"y", "z"}
    with pytest.raises(ValueError, match="key or task"):
        core.get_dependencies(dsk)


def test_flatten():
    assert list(core.flatten([1, [2, [3, [4]]], 5])) == [1, 2, 3, 4, 5]
    assert list(core.flatten([("a", 0), [("a", 1)]])) == [("a", 0), ("a", 1)]
    assert list(core.flatten((1, (2,)), container=tuple)) == [1, 2]
    deep = [0]
    for _ in range(5000):
        deep = [deep]
    assert list(core.flatten(deep)) == [0]


def test_sync_get_and_cache():
    dsk = {"x": 1, "y": (inc, "x"), "z": (add, "y", 10)}
    assert core.get(dsk, "z") == 12
    assert core.get(dsk, ["y", ["z"]]) == (2, (12,))
    assert core.get(dsk, "z", cache={"y": 100}) == 110


def test_toposort_and_cycles():
    dsk = {"a": 1, "b": (inc, "a"), "c": (add, "a", "b")}
    order = core.toposort(dsk)
    assert order.index("a") < order.index("b") < order.index("c")
    cyclic = {"a": (inc, "b"), "b": (inc, "a"), "c": 1}
    assert set(core.getcycle(cyclic)) == {"a", "b"}
    assert not core.isdag(cyclic)
    assert core.isdag(dsk)
    with pytest.raises(RuntimeError, match="Cycle"):
        core.toposort(cyclic)


def test_subs_and_quote():
    assert core.subs((add, "x", ["x", 1]), "x", 5) == (add, 5, [5, 1])
    assert core.get({"q": core.quote((inc, 1))}, "q") == (inc, 1)
    assert core.quote(5) == 5
    assert repr(core.literal([1])) == "literal<type=list>"


def test_reverse_dict():
    assert core.reverse_dict({"a": {"b"}, "b": set()}) == {"a": set(), "b": {"a"}}


def test_funcname():
    assert utils.funcname(inc) == "inc"
    assert utils.funcname(functools.partial(functools.partial(inc), 1)) == "inc"
    assert utils.funcname(lambda: 1) == "lambda"
    assert utils.funcname(operator.methodcaller("upper")) == "upper"
    assert utils.funcname(utils.methodcaller("lower")) == "lower"

    class Callable:
        def __call__(self):
            return 1

        def __repr__(self):
            return "CallableObject"

    assert utils.funcname(Callable()) == "CallableObject"
    assert utils.funcname(type("x" * 60, (), {})) == "x" * 50


def test_methodcaller():
    m = utils.methodcaller("split")
    assert m("a b") == ["a", "b"]
    assert m("a,b", ",") == ["a", "b"]
    assert m == utils.methodcaller("split")
    import pickle

    assert pickle.loads(pickle.dumps(m))("x y") == ["x", "y"]


def test_key_split():
    assert utils.key_split("x") == "x"
    assert utils.key_split("x-1") == "x"
    assert utils.key_split("inc-1f2e3d4c5b6a79881726354453627181") == "inc"
    assert utils.key_split(("sum-aggregate-9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49", 0, 1)) == (
        "sum-aggregate"
    )
    assert utils.key_split(b"hello-world-1") == "hello-world"
    assert utils.key_split("a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5") == "data"
    assert utils.key_split(None) == "Other"


def test_key_split_matches_dask():
    dask_utils = pytest.importorskip("dask.utils")
    keys = [
        "x",
        "x-1",
        "inc-155b9cab-a3ad-4b43-8ea9-a89875fcc2d4",
        ("x-2", 1),
        "hello-world-1",
        "_swap-ee7b120ad4b5c7bd8dc027f442461402",
        "<module.Class object at 0x7f>-abc",
        "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5",
        ("tuple",),
    ]
    for key in keys:
        assert utils.key_split(key) == dask_utils.key_split(key), key


def test_apply_ensure_dict_format_time():
    assert utils.apply(add, (1, 2)) == 3
    assert utils.apply(dict, (), {"a": 1}) == {"a": 1}
    d = {"a": 1}
    assert utils.ensure_dict(d) is d
    assert utils.ensure_dict(d, copy=True) == d
    assert utils.ensure_dict(d, copy=True) is not d

    class HLG:
        def __init__(self):
            self.layers = {"x": {"a": 1}, "y": {"b": 2}}

    assert utils.ensure_dict(HLG()) == {"a": 1, "b": 2}
    assert utils.format_time(1.5) == "1.50 s"
    assert utils.format_time(0.0015) == "1.50 ms"
    assert utils.format_time(0.0000015) == "1.50 us"
    assert utils.format_time(1234.5) == "20m 34s"
    assert utils.format_time(3 * 3600 + 60) == "3hr 1m"
    assert utils.format_time(3 * 86400 + 7200) == "3d 2hr"


def test_format_time_matches_dask():
    dask_utils = pytest.importorskip("dask.utils")
    for t in (0.0000012, 0.0123, 1, 59.9, 601, 7300, 200_000):
        assert utils.format_time(t) == dask_utils.format_time(t)


def test_import_required():
    assert utils.import_required("json", "x").dumps(1) == "1"
    with pytest.raises(RuntimeError, match="please install"):
        utils.import_required("no_such_module_xyz", "please install")


def test_preorder_traversal_reshapelist_lists_to_tuples():
    from operator import add

    from oxdask.core import lists_to_tuples, preorder_traversal, reshapelist

    task = (add, 1, (add, 2, [3, (add, 4, 5)]), [6])
    assert list(preorder_traversal(task)) == [add, 1, add, 2, list, 3, add, 4, 5, list, 6]
    assert reshapelist((2, 3), range(6)) == [[0, 1, 2], [3, 4, 5]]
    assert reshapelist((2, 3, 1), range(6)) == [[[0], [1], [2]], [[3], [4], [5]]]
    assert lists_to_tuples([1, [2, 3]], ["a", ["b", "c"]]) == (1, (2, 3))
    assert lists_to_tuples(5, "a") == 5


def test_validate_key_messages():
    import pytest

    from oxdask.core import validate_key

    validate_key(1)
    validate_key(("x", 1))
    with pytest.raises(TypeError, match=r"Unexpected key type.*list"):
        validate_key(["x", 1])
    with pytest.raises(TypeError, match="unexpected key type at index=1"):
        validate_key((2, int))
