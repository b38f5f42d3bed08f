"""HighLevelGraph: compact layers stay compact for the engine, expand for Mapping users."""

from __future__ import annotations

import operator

import pytest

from oxdask import _core
from oxdask.base import _graph_parts, collections_to_dsk
from oxdask.highlevelgraph import (
    BlockwiseLayer,
    HighLevelGraph,
    MaterializedLayer,
    TreeReduceLayer,
)


def _graph():
    base = MaterializedLayer({("x", i): i for i in range(6)})
    inc = BlockwiseLayer("y", operator.add, [0], [("x", [0]), (10, None)], {"x": (6,)})
    total = TreeReduceLayer("t", "y", (6,), [0], [2], sum, sum)
    return HighLevelGraph({"x": base, "y": inc, "t": total}, {"x": set(), "y": {"x"}, "t": {"y"}})


def test_engine_parts_do_not_expand():
    g = _graph()
    tasks, layers = _graph_parts(g)
    assert tasks == {("x", i): i for i in range(6)}
    assert [type(la) for la in layers] == [_core.Blockwise, _core.TreeReduce]
    assert not g.layers["y"].is_materialized()
    results, _ = _core.get(tasks, [("t",)], layers=layers)
    assert results == [sum(range(6)) + 60]


def test_mapping_interface_expands_like_the_engine():
    g = _graph()
    d = g.to_dict()
    assert d[("y", 2)] == (operator.add, ("x", 2), 10)
    assert len(g) == 6 + 6 + len(g.layers["t"].to_core())
    from oxdask.local import get_sync

    assert get_sync(d, ("t",)) == sum(range(6)) + 60
    assert g[("x", 3)] == 3
    with pytest.raises(KeyError):
        g[("nope", 0)]


def test_from_collections_and_merge():
    from oxdask.delayed import delayed

    d = delayed(operator.add)(1, 2)
    g = HighLevelGraph.from_collections("z", {"z": (operator.neg, d.key)}, [d])
    assert "z" in g.layers
    assert g.dependencies["z"]
    m = HighLevelGraph.merge(g, {"w": 1})
    assert m.to_dict()["w"] == 1
    assert collections_to_dsk([d])


def _inc(x):
    return x + 1


def test_layers_cull_and_layer_dependencies():
    from oxdask.highlevelgraph import (
        HighLevelGraph,
        Layer,
        MaterializedLayer,
        compute_layer_dependencies,
    )
    from oxdask.local import get_sync

    a = MaterializedLayer({"a": 1, "a2": 5}, annotations={"priority": 1})
    assert dict(a) == {"a": 1, "a2": 5}  # keyword options are not tasks
    assert isinstance(a, Layer)
    assert a.annotations == {"priority": 1}
    g = HighLevelGraph(
        {"a": a, "b": {"b": (_inc, "a"), "b2": (_inc, "a2")}}, {"a": set(), "b": {"a"}}
    )
    culled = g.cull(["b"])
    assert dict(culled) == {"a": 1, "b": (_inc, "a")}
    assert culled.layers["a"].annotations == {"priority": 1}
    assert get_sync(dict(culled), "b") == get_sync(dict(g), "b")
    assert compute_layer_dependencies(g.layers) == {"a": set(), "b": {"a"}}
    assert g.dependents == {"a": {"b"}, "b": set()}
    assert g._toposort_layers() == ["a", "b"]
    assert g.cull_layers(["a"]).layers.keys() == {"a"}
    copy = g.copy()
    copy.layers["c"] = {}
    assert "c" not in g.layers
    assert g.get_all_external_keys() == {"a", "a2", "b", "b2"}


def test_cull_keeps_compact_layers_whole():
    np = pytest.importorskip("numpy")
    da = pytest.importorskip("oxdask.array")
    from oxdask.highlevelgraph import HighLevelGraph
    from oxdask.local import get_sync

    x = da.ones(4, chunks=2) + 1
    y = da.zeros(3, chunks=3)  # not needed by "s"
    h = HighLevelGraph.from_collections("s", {"s": (sum, [(x.name, 0), (x.name, 1)])}, [x, y])
    culled = h.cull(["s"])
    assert y.name not in culled.layers
    assert x.name in culled.layers
    np.testing.assert_array_equal(get_sync(dict(culled), "s"), np.ones(2) * 2 + np.ones(2) * 2)
