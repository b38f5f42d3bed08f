"""oxdask.order: static priorities respect dependencies and keep memory low."""

from __future__ import annotations

from operator import add

import pytest

from oxdask import _core
from oxdask.order import order


def inc(x):
    return x + 1


def tree_graph(n, fan_in=2):
    dsk = {("x", i): (inc, i) for i in range(n)}
    level = [("x", i) for i in range(n)]
    depth = 0
    while len(level) > 1:
        depth += 1
        nxt = []
        for j in range(0, len(level), fan_in):
            key = ("t", depth, j // fan_in)
            dsk[key] = (sum, level[j : j + fan_in])
            nxt.append(key)
        level = nxt
    return dsk, level[0]


def peak_memory(dsk, priorities):
    """Results held at once when running tasks one by one in priority order."""
    deps = _core.get_dependencies(dsk)
    waiting = {k: 0 for k in dsk}
    for ds in deps.values():
        for d in ds:
            waiting[d] += 1
    held = set()
    peak = 0
    for key in sorted(dsk, key=priorities.__getitem__):
        assert deps[key] <= held, f"{key} runs before its dependencies"
        held.add(key)
        peak = max(peak, len(held))
        for d in deps[key]:
            waiting[d] -= 1
            if waiting[d] == 0:
                held.discard(d)
    return peak


def check_valid(dsk, priorities):
    assert set(priorities) == set(dsk)
    assert sorted(priorities.values()) == list(range(len(dsk)))
    deps = _core.get_dependencies(dsk)
    for key, ds in deps.items():
        for d in ds:
            assert priorities[d] < priorities[key]


def test_simple_chain_and_literals():
    dsk = {"a": 1, "b": (inc, "a"), "c": (inc, "b"), "d": (add, "a", "c")}
    o = order(dsk)
    check_valid(dsk, o)
    assert o["a"] < o["b"] < o["c"] < o["d"]


@pytest.mark.parametrize(("n", "fan_in"), [(1000, 2), (1000, 8), (4096, 4)])
def test_tree_reduction_is_depth_first(n, fan_in):
    dsk, _ = tree_graph(n, fan_in)
    o = order(dsk)
    check_valid(dsk, o)
    # A breadth-first order would hold n leaves; depth-first holds about fan_in * depth.
    depth = 0
    size = n
    while size > 1:
        size = -(-size // fan_in)
        depth += 1
    assert peak_memory(dsk, o) <= fan_in * (depth + 1) + 1


def test_independent_chains_finish_one_at_a_time():
    dsk = {}
    for c in range(20):
        dsk[(c, 0)] = (inc, c)
        for i in range(1, 10):
            dsk[(c, i)] = (inc, (c, i - 1))
    o = order(dsk)
    check_valid(dsk, o)
    assert peak_memory(dsk, o) <= 25


def test_shared_input_fan_out():
    dsk = {"root": (inc, 0)}
    for i in range(50):
        dsk[("a", i)] = (inc, "root")
        dsk[("b", i)] = (inc, ("a", i))
    dsk["total"] = (sum, [("b", i) for i in range(50)])
    o = order(dsk)
    check_valid(dsk, o)
    assert o["root"] == 0
    assert o["total"] == len(dsk) - 1


def test_order_with_keys_argument():
    dsk = {"a": 1, "b": (inc, "a"), "c": (inc, "a")}
    o = _core.order(dsk, ["c"])
    assert o["a"] < o["c"]


def test_return_stats_not_supported():
    with pytest.raises(NotImplementedError):
        order({"a": 1}, return_stats=True)


def test_memory_no_worse_than_dask():
    dask_order = pytest.importorskip("dask.order")
    for fan_in in (2, 3, 8):
        dsk, _ = tree_graph(500, fan_in)
        ours = peak_memory(dsk, order(dsk))
        theirs = peak_memory(dsk, dask_order.order(dsk))
        assert ours <= theirs + fan_in


def test_ndependencies_and_diagnostics():
    from oxdask.core import get_deps
    from oxdask.local import get_sync
    from oxdask.order import Order, OrderInfo, diagnostics, ndependencies, order, sanitize_dsk

    dsk = {"a": 1, "b": (inc, "a"), "c": (inc, "b"), "d": (add, "a", "c"), "x": 3}
    dependencies, dependents = get_deps(dsk)
    num, total = ndependencies(dependencies, dependents)
    assert num == {"a": 0, "b": 1, "c": 1, "d": 2, "x": 0}
    assert total == {"a": 1, "b": 2, "c": 3, "d": 5, "x": 1}  # a counted on both paths
    o = order(dsk)
    info, pressure = diagnostics(dsk, o=o)
    assert set(info) == set(dsk)
    assert all(isinstance(v, OrderInfo) for v in info.values())
    assert [info[k].order for k in sorted(dsk, key=o.__getitem__)] == sorted(o.values())
    assert len(pressure) == len(dsk)
    assert info["d"].num_dependencies_freed == 2  # d frees a and c
    assert max(pressure) <= len(dsk)
    assert Order(1, 2.0).priority == 1
    shape = sanitize_dsk(dsk)
    assert set(shape) == set(dsk)
    assert get_sync(shape, "d") is None  # runs, with no user function or data
