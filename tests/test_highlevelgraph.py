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
