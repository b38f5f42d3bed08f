"""Graphviz DOT output of task graphs."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from operator import add

import pytest

import oxdask
from oxdask import delayed
from oxdask.dot import to_dot


def inc(x):
    return x + 1


HAVE_GRAPHVIZ = shutil.which("dot") is not None or importlib.util.find_spec("graphviz")


def parse_dot(text):
    """Nodes ``id -> (label, shape)`` and edges ``(src, dst)`` of our DOT output."""
    nodes = {}
    for ident, label, shape in re.findall(r'^\s+(\w+) \[label="([^"]*)", shape=(\w+)', text, re.M):
        nodes[ident] = (label, shape)
    edges = re.findall(r"^\s+(\w+) -> (\w+);", text, re.M)
    return nodes, edges


def graph_edges(text):
    """Dependency edges ``(dep_label, task_label)`` read back from the DOT text."""
    nodes, edges = parse_dot(text)
    produced = {}  # function node -> data node it produces
    for src, dst in edges:
        if nodes[src][1] == "circle":
            produced[src] = dst
    out = set()
    for src, dst in edges:
        if nodes[src][1] == "box":
            target = produced.get(dst, dst)
            out.add((nodes[src][0], nodes[target][0]))
    return nodes, out


def example():
    a = delayed(inc)(1, dask_key_name="a")
    b = delayed(inc)(a, dask_key_name="b")
    return delayed(add)(a, b, dask_key_name="c")


def test_dot_text_structure():
    c = example()
    text = c.visualize(filename=None)
    assert text.startswith("digraph {")
    assert 'rankdir="BT"' in text
    nodes, deps = graph_edges(text)
    labels = sorted(label for label, shape in nodes.values() if shape == "box")
    assert labels == ["a", "b", "c"]
    funcs = sorted(label for label, shape in nodes.values() if shape == "circle")
    assert funcs == ["add", "inc", "inc"]
    assert deps == {("a", "b"), ("a", "c"), ("b", "c")}


def test_format_dot_writes_file(tmp_path):
    c = example()
    target = tmp_path / "graph"
    text = oxdask.visualize(c, filename=str(target), format="dot")
    assert (tmp_path / "graph.dot").read_text() == text
    assert "add" in text
    text2 = c.visualize(filename=str(tmp_path / "other.dot"))
    assert (tmp_path / "other.dot").read_text() == text2


def test_multiple_collections_and_containers(tmp_path):
    a = delayed(inc)(1, dask_key_name="x")
    b = delayed(inc)(2, dask_key_name="y")
    text = oxdask.visualize([a, {"k": b}], 5, filename=None)
    nodes, _ = parse_dot(text)
    assert {label for label, shape in nodes.values() if shape == "box"} == {"x", "y"}


def test_tokens_are_shortened():
    x = delayed(inc)(1)
    y = delayed(inc)(x)
    text = y.visualize(filename=None)
    assert x.key not in text
    assert "inc-#0" in text
    assert "inc-#1" in text


def test_optimize_graph_culls():
    a = delayed(inc)(1, dask_key_name="a")
    junk = oxdask.delayed.Delayed("a", {"a": (inc, 1), "junk": (inc, 2)})
    text = oxdask.visualize(junk, filename=None, optimize_graph=True)
    nodes, _ = parse_dot(text)
    assert {label for label, _ in nodes.values()} == {"a", "inc"}
    text = oxdask.visualize(junk, filename=None)
    assert '"junk"' in text
    assert a.compute() == 2


def test_color_order():
    text = example().visualize(filename=None, color="order")
    assert text.count("fillcolor=") == 3


def test_raw_graph_and_quoting():
    text = to_dot({'we"ird': 1, ("t", 0): (inc, 'we"ird')})
    assert '"we\\"ird"' in text
    assert "('t', 0)" in text


def test_image_without_graphviz_is_a_clear_error(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes ``import graphviz`` fail
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="graphviz"):
        example().visualize(filename=str(tmp_path / "g"), format="png")
    with pytest.raises(RuntimeError, match="format='dot'"):
        example().visualize(filename=str(tmp_path / "g.svg"))
    assert not (tmp_path / "g.png").exists()


@pytest.mark.skipif(
    not HAVE_GRAPHVIZ and not os.environ.get("CI"),
    reason="graphviz is not installed (.ci/run installs it; under CI a missing one fails)",
)
def test_image_with_graphviz(tmp_path):
    example().visualize(filename=str(tmp_path / "g.png"))
    assert (tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")


def test_unknown_engine():
    with pytest.raises(ValueError, match="not supported"):
        oxdask.visualize(example(), filename=None, engine="cytoscape")
