"""The native engine (``oxdask._core``) on raw graphs and compact layers."""

from __future__ import annotations

import threading
from operator import add

import pytest

from oxdask import _core


def inc(x):
    return x + 1


@pytest.mark.parametrize("num_workers", [1, 2, 4])
def test_nested_arguments(num_workers):
    dsk = {
        "x": 1,
        "y": (inc, "x"),
        "l": [(inc, "y"), "x", ("x", 2)],
        "d": (dict, [["a", "y"]]),
        "nested": {"a": "y", "b": [("x",)]},
        "inline": (add, (inc, "x"), (inc, (inc, "y"))),
    }
    results, stats = _core.get(dsk, ["l", "d", "nested", "inline", "y"], num_workers=num_workers)
    assert results == [[3, 1, (1, 2)], {"a": 2}, {"a": 2, "b": [(1,)]}, 2 + 4, 2]
    assert stats["tasks"] <= stats["graph_tasks"]


def test_literal_tuple_and_string_not_keys():
    dsk = {"x": (1, "not-a-key"), "s": "plain string"}
    assert _core.get(dsk, ["x", "s"])[0] == [(1, "not-a-key"), "plain string"]


def test_int_keys_are_references():
    dsk = {1: 10, "y": (inc, 1)}
    assert _core.get(dsk, ["y", 1])[0] == [11, 10]


def test_repeated_output_key():
    assert _core.get({"x": (inc, 1)}, ["x", "x"])[0] == [2, 2]


def test_cycle_names_keys():
    dsk = {"a": (inc, "b"), "b": (inc, "c"), "c": (inc, "a"), "z": 1}
    with pytest.raises(RuntimeError, match=r"cycle detected: '(a|b|c)' -> .* -> '(a|b|c)'"):
        _core.get(dsk, ["a"])
    with pytest.raises(_core.CycleError):
        _core.validate(dsk)


def test_missing_requested_key():
    with pytest.raises(KeyError, match="'missing'"):
        _core.get({"x": 1}, ["missing"])


def test_missing_block_of_a_collection():
    dsk = {("a", 0): 1, ("a", 1): 2, "b": (sum, [("a", 0), ("a", 2)])}
    with pytest.raises(KeyError, match=r"task 'b' depends on missing key \('a', 2\)"):
        _core.get(dsk, ["b"])


def test_bad_key_type():
    key = ("x", frozenset({1}))
    with pytest.raises(TypeError, match=r"unexpected key type frozenset .*must be str, bytes"):
        _core.get({key: 1}, [key])


def test_task_exception_is_original_with_note():
    def boom(x):
        raise ZeroDivisionError(f"bad {x}")

    with pytest.raises(ZeroDivisionError, match="bad 1") as info:
        _core.get({"x": 1, "y": (boom, "x")}, ["y"], num_workers=2)
    assert any("'y'" in n for n in getattr(info.value, "__notes__", []))
    # The engine is usable afterwards.
    assert _core.get({"x": (inc, 1)}, ["x"], num_workers=2)[0] == [2]


def test_failure_cancels_remaining_work():
    ran = []

    def record(i):
        ran.append(i)
        return i

    def boom():
        raise ValueError("stop")

    dsk = {"bad": (boom,)}
    dsk.update({("r", i): (record, i) for i in range(1000)})
    dsk["total"] = (sum, ["bad"] + [("r", i) for i in range(1000)])
    with pytest.raises(ValueError, match="stop"):
        _core.get(dsk, ["total"], num_workers=1)
    assert len(ran) < 1000


def test_cull_order_dependencies():
    dsk = {"a": 1, "b": (inc, "a"), "c": (inc, "b"), "unused": (inc, "a")}
    assert _core.cull(dsk, ["c"]) == {"a": 1, "b": dsk["b"], "c": dsk["c"]}
    deps = _core.get_dependencies(dsk)
    assert deps == {"a": set(), "b": {"a"}, "c": {"b"}, "unused": {"a"}}
    o = _core.order(dsk)
    assert o["a"] < o["b"] < o["c"]
    assert sorted(o.values()) == list(range(4))


def test_blockwise_layers_match_python():
    # x[i, j] = 10 * i + j; y = x + x.T (blockwise); row sums (contraction over j).
    n = 5
    dsk = {("x", i, j): 10 * i + j for i in range(n) for j in range(n)}
    add_t = _core.Blockwise("y", add, [0, 1], [("x", [0, 1]), ("x", [1, 0])], {"x": (n, n)})
    rows = _core.Blockwise("r", sum, [0], [("y", [0, 1])], {"y": (n, n)})
    assert len(add_t) == n * n
    assert rows.numblocks == [n]
    keys = [("r", i) for i in range(n)]
    results, _ = _core.get(dsk, keys, layers=[add_t, rows], num_workers=2)
    expect = [sum((10 * i + j) + (10 * j + i) for j in range(n)) for i in range(n)]
    assert results == expect


def test_blockwise_literal_kwargs_and_broadcast():
    def f(a, b, scale, offset=0):
        return (a + b) * scale + offset

    dsk = {("a", 0, 0): 1, ("a", 0, 1): 2, ("b", 0, 0): 100}
    layer = _core.Blockwise(
        "c",
        f,
        [0, 1],
        [("a", [0, 1]), ("b", [0, 1]), (3, None)],
        {"a": (1, 2), "b": (1, 1)},
        kwargs={"offset": 1},
    )
    results, _ = _core.get(dsk, [("c", 0, 0), ("c", 0, 1)], layers=[layer])
    assert results == [(1 + 100) * 3 + 1, (2 + 100) * 3 + 1]


def test_blockwise_bad_input():
    with pytest.raises(ValueError, match="argument 1 has 3 blocks along label 0, others have 2"):
        _core.Blockwise("c", add, [0], [("a", [0]), ("b", [0])], {"a": (2,), "b": (3,)})
    with pytest.raises(TypeError, match="not callable"):
        _core.Blockwise("c", 5, [0], [("a", [0])], {"a": (2,)})
    layer = _core.Blockwise("c", inc, [0], [("a", [0])], {"a": (2,)})
    with pytest.raises(KeyError, match=r"task \('c', 0\) depends on missing key \('a', 0\)"):
        _core.get({}, [("c", 0)], layers=[layer])


def test_million_task_layer_is_fast_to_build():
    ones = _core.Blockwise("o", int, [0], [], {}, new_axes={0: 200_000})
    plus = _core.Blockwise("p", inc, [0], [("o", [0])], {"o": (200_000,)})
    total = _core.Blockwise("t", sum, [], [("p", [0])], {"p": (200_000,)})
    results, stats = _core.get({}, [("t",)], layers=[ones, plus, total], num_workers=2)
    assert results == [200_000]
    assert stats["graph_tasks"] == 400_001


def test_progress_counts_tasks():
    progress = _core.Progress()
    dsk = {("x", i): (inc, i) for i in range(50)}
    dsk["s"] = (sum, list(dsk))
    _core.get(dsk, ["s"], progress=progress, num_workers=2)
    assert progress.total == 51
    assert progress.done == 51


def test_pretask_posttask_hooks():
    seen = []
    lock = threading.Lock()

    def pre(key):
        with lock:
            seen.append(("pre", key))

    def post(key, value):
        with lock:
            seen.append(("post", key, value))

    _core.get({"a": 1, "b": (inc, "a")}, ["b"], pretask=pre, posttask=post, fuse=False)
    assert ("post", "b", 2) in seen
    assert seen.index(("pre", "b")) < seen.index(("post", "b", 2))


def test_submit_hook_replaces_calls():
    calls = []

    def submit(func, args, kwargs):
        calls.append(func)
        return func(*args, **(kwargs or {}))

    assert _core.get({"a": (inc, 1), "b": (inc, "a")}, ["b"], submit=submit)[0] == [3]
    assert calls == [inc, inc]


def test_results_released_early():
    # A chain of 200 steps, each producing a fresh list: only a couple are alive at once.
    dsk = {("c", 0): (list, [0])}
    for i in range(1, 200):
        dsk[("c", i)] = (lambda x: [*x[:1], len(x)], ("c", i - 1))
    _, stats = _core.get(dsk, [("c", 199)], fuse=False)
    assert stats["peak_held"] <= 2


def _nested_sum(blocks):
    return sum(_nested_sum(b) if isinstance(b, list) else b for b in blocks)


@pytest.mark.parametrize(("nb", "split"), [(1, 2), (5, 2), (7, 3), (16, 4), (100, 8)])
def test_tree_reduce_one_axis(nb, split):
    dsk = {("x", i): i * i for i in range(nb)}
    groups = []

    def combine(blocks):
        groups.append(len(blocks))
        return sum(blocks)

    tree = _core.TreeReduce("s", "x", [nb], [0], [split], combine, sum)
    results, _ = _core.get(dsk, [("s",)], layers=[tree], fuse=False)
    assert results == [sum(i * i for i in range(nb))]
    assert max(groups, default=0) <= split
    assert len(tree) == len(groups) + 1


def test_tree_reduce_two_axes_keepdims_and_chained_layers():
    # x[i, j] blocks (4 x 6); reduce axis 1 only, keep dims; then reduce everything.
    dsk = {("x", i, j): 100 * i + j for i in range(4) for j in range(6)}
    rows = _core.TreeReduce("r", "x", [4, 6], [1], [4], _nested_sum, _nested_sum, keepdims=True)
    assert rows.numblocks == [4, 1]
    total = _core.TreeReduce("t", "r", [4, 1], [0, 1], [2, 2], _nested_sum, _nested_sum)
    assert total.numblocks == []
    keys = [("r", i, 0) for i in range(4)] + [("t",)]
    results, _ = _core.get(dsk, keys, layers=[rows, total], num_workers=2)
    expect_rows = [sum(100 * i + j for j in range(6)) for i in range(4)]
    assert results == [*expect_rows, sum(expect_rows)]


def test_tree_reduce_bad_input():
    with pytest.raises(ValueError, match="axis 2 is out of range for 1 dimensions"):
        _core.TreeReduce("t", "x", [3], [2], [2], sum, sum)
    with pytest.raises(TypeError, match="aggregate 3 is not callable"):
        _core.TreeReduce("t", "x", [3], [0], [2], sum, 3)
    with pytest.raises(TypeError, match="layers must be Blockwise, TreeReduce or Gather"):
        _core.get({}, ["x"], layers=[object()])
