"""oxdask.optimization: cull, inline, fuse on plain graphs (results compared by running them)."""

from __future__ import annotations

from functools import partial
from operator import add

import pytest

from oxdask.local import get_sync
from oxdask.optimization import (
    cull,
    default_fused_keys_renamer,
    default_fused_linear_keys_renamer,
    functions_of,
    fuse,
    fuse_linear,
    inline,
    inline_functions,
    unwrap_partial,
)


def inc(x):
    return x + 1


def double(x):
    return x * 2


GRAPH = {"a": 1, "b": (inc, "a"), "c": (inc, "b"), "d": (add, "c", "x"), "x": 5, "u": (inc, "x")}


def test_cull():
    dsk, deps = cull(GRAPH, "c")
    assert dsk == {"a": 1, "b": (inc, "a"), "c": (inc, "b")}
    assert deps == {"a": [], "b": ["a"], "c": ["b"]}
    dsk, _ = cull(GRAPH, ["d"])
    assert set(dsk) == {"a", "b", "c", "d", "x"}
    assert get_sync(dsk, "d") == get_sync(GRAPH, "d") == inc(inc(1)) + 5


def test_fuse_linear_renames_and_keeps_results():
    dsk, deps = fuse_linear(GRAPH, keys=["d", "u"])
    assert dsk["a-b-c"] == (inc, (inc, 1))
    assert dsk["c"] == "a-b-c"
    assert dsk["d"] == (add, "a-b-c", "x")
    assert deps["d"] == {"a-b-c", "x"}
    for key in ("c", "d", "u"):
        assert get_sync(dsk, key) == get_sync(GRAPH, key)
    dsk, _ = fuse_linear(GRAPH, keys=["b", "d", "u"], rename_keys=False)
    assert dsk["b"] == (inc, 1)
    assert dsk["c"] == (inc, "b")
    custom, _ = fuse_linear(GRAPH, keys=["d", "u"], rename_keys=lambda ks: "fused-" + ks[0])
    assert custom["c"] == "fused-c"


def test_fuse_keeps_references_to_the_output_key():
    dsk, deps = fuse(GRAPH, keys=["d", "u"])
    assert dsk["c"] == "a-b-c"
    assert dsk["d"] == (add, "c", "x")
    assert deps["a-b-c"] == set()
    dsk2, _ = fuse(GRAPH, keys=["d", "u"], rename_keys=False)
    assert dsk2["c"] == (inc, (inc, 1))
    for g in (dsk, dsk2):
        assert get_sync(g, ["d", "u"]) == get_sync(GRAPH, ["d", "u"])
    tuple_keys = {("x", 0): 1, ("y", 0): (inc, ("x", 0)), ("z", 0): (inc, ("y", 0))}
    dsk, _ = fuse(tuple_keys)
    assert dsk[("z", 0)] == ("x-y-z", 0)
    assert get_sync(dsk, ("z", 0)) == inc(inc(1))


def test_renamers():
    assert default_fused_linear_keys_renamer(["c", "b-1", "a-2"]) == "a-b-c"
    assert default_fused_linear_keys_renamer([("z", 0), ("y-1", 0)]) == ("y-z", 0)
    assert default_fused_linear_keys_renamer([1, 2]) is None
    assert default_fused_keys_renamer(["a", "b-1", "c"]) == "a-b-c"
    long = default_fused_keys_renamer(["x" * 80, "y" * 80, "z"], max_fused_key_length=50)
    assert len(long) <= 50


def test_inline():
    d = {"x": 1, "y": (inc, "x"), "z": (add, "x", "y")}
    assert inline(d) == {"x": 1, "y": (inc, 1), "z": (add, 1, "y")}
    assert inline(d, keys="y") == {"x": 1, "y": (inc, 1), "z": (add, 1, (inc, 1))}
    out = inline(d, keys="y", inline_constants=False)
    assert out == {"x": 1, "y": (inc, "x"), "z": (add, "x", (inc, "x"))}
    assert get_sync(out, "z") == get_sync(d, "z")


def test_inline_functions_and_functions_of():
    dsk = {"out": (add, "i", "d"), "i": (inc, "x"), "d": (double, "y"), "x": 1, "y": 1}
    out = inline_functions(dsk, ["out"], [inc])
    assert out == {"out": (add, (inc, "x"), "d"), "d": (double, "y"), "x": 1, "y": 1}
    out2 = inline_functions(dsk, ["i", "out"], [inc, double])
    assert out2 == {"out": (add, "i", (double, "y")), "i": (inc, "x"), "x": 1, "y": 1}
    for g in (out, out2):
        assert get_sync(g, "out") == get_sync(dsk, "out")
    assert inline_functions(dsk, ["out"], []) is dsk
    assert functions_of((add, (double, 1), [(partial(inc), 3)])) == {add, double, inc}
    assert unwrap_partial(partial(partial(inc))) is inc


@pytest.mark.parametrize("n", [1, 2, 10])
def test_fuse_long_chain(n):
    dsk = {"k-0": 0, **{f"k-{i}": (inc, f"k-{i - 1}") for i in range(1, n + 1)}}
    fused, _ = fuse(dsk, keys=[f"k-{n}"])
    assert get_sync(fused, f"k-{n}") == n


def test_fuse_does_not_substitute_a_task_used_twice():
    calls = []

    def once(x):
        calls.append(x)
        return x + 1

    dsk = {"A": 42, "B": (once, "A"), "C": (add, "B", "B"), "D": (inc, "C")}
    for f in (fuse, fuse_linear):
        calls.clear()
        fused, _ = f(dsk, keys=["D"])
        assert get_sync(fused, "D") == inc(add(once(42), 42 + 1))
        assert len(calls) == 2  # once by the fused graph, once in the expected value above


def test_fuse_keeps_data_and_obeys_config():
    np = pytest.importorskip("numpy")
    from oxdask import config

    dsk = {"x": np.arange(5), "y": (inc, "x")}
    assert fuse(dsk, "y")[0] == dsk
    d = {"a": 1, "b": (inc, "a")}
    deps = {"b": ("a",)}
    with config.set({"optimization.fuse.active": False}):
        assert fuse(d, "b", dependencies=deps) == (d, deps)
    fused, _ = fuse(d, "b")
    assert fused["b"] == "a-b"
    assert get_sync(fused, "b") == inc(1)
