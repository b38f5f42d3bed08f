"""Column projection: readers produce only the columns that the computation uses.

Some Blockwise layers carry a :class:`ColumnRule` (attribute ``columns_rule``) saying which
columns of each input they need for a given set of their own output columns; a reader layer
carries a :class:`Projectable` rule that can rebuild it for fewer columns. :func:`project`
walks the high-level graph from the requested layers back to the readers, and replaces
every reader by one that reads only the columns needed downstream (CSV ``usecols``, Parquet
``columns``). Layers without a rule need every column of their inputs, so the pass is
conservative: it never changes what any user function receives.
"""

from __future__ import annotations

from oxdask.highlevelgraph import BlockwiseLayer, HighLevelGraph, TreeReduceLayer

__all__ = ["ColumnRule", "Projectable", "project"]

ALL = None  # every column


def _union(a, b):
    if a is ALL or b is ALL:
        return ALL
    return a | b


class ColumnRule:
    """Needed columns of a layer's frame input, from the needed columns of its output.

    Parameters
    ----------
    frame : str
        Name of the frame input the rule is about (other inputs need all their columns).
    keep : bool
        The output has the input's columns (a row filter): the input needs what is needed.
    select : iterable, optional
        Columns the layer reads from its input, whatever is needed of its output.
    assigned : iterable, optional
        Columns the layer creates (not needed from the input).
    """

    def __init__(self, frame, keep=False, select=(), assigned=()):
        self.frame = frame
        self.keep = keep
        self.select = frozenset(select)
        self.assigned = frozenset(assigned)

    def needs(self, needed):
        """Needed columns of the frame input (a set, or ``ALL``)."""
        if not self.keep:
            return set(self.select)
        if needed is ALL:
            return ALL
        return (set(needed) - self.assigned) | set(self.select)


class Projectable:
    """A reader layer's rule: ``rebuild(columns)`` returns the layer reading only those."""

    def __init__(self, columns, rebuild):
        self.columns = list(columns)
        self.rebuild = rebuild


def _inputs(layer, graph, name):
    if isinstance(layer, BlockwiseLayer):
        return [v for v, ind in layer.args if ind is not None]
    if isinstance(layer, TreeReduceLayer):
        return layer.inputs()
    return list(graph.dependencies.get(name, ()))


def _order(graph, roots):
    """Layers reachable from ``roots``, every layer before the layers it depends on."""
    seen, post = set(), []
    stack = [(r, False) for r in roots if r in graph.layers]
    while stack:
        name, done = stack.pop()
        if done:
            post.append(name)
            continue
        if name in seen:
            continue
        seen.add(name)
        stack.append((name, True))
        for d in graph.dependencies.get(name, ()):
            if d not in seen and d in graph.layers:
                stack.append((d, False))
    return post[::-1]


def project(graph: HighLevelGraph, roots) -> HighLevelGraph:
    """``graph`` with its projectable readers reading only the columns used from them."""
    if not any(
        isinstance(getattr(layer, "columns_rule", None), Projectable)
        for layer in graph.layers.values()
    ):
        return graph
    needed: dict = {}
    for r in roots:
        needed[r] = ALL
    for name in _order(graph, roots):
        layer = graph.layers[name]
        want = needed.get(name, ALL)
        rule = getattr(layer, "columns_rule", None)
        for inp in _inputs(layer, graph, name):
            cols = rule.needs(want) if isinstance(rule, ColumnRule) and inp == rule.frame else ALL
            needed[inp] = _union(needed[inp], cols) if inp in needed else cols
    layers = dict(graph.layers)
    changed = False
    for name, layer in graph.layers.items():
        rule = getattr(layer, "columns_rule", None)
        if not isinstance(rule, Projectable) or needed.get(name, ALL) is ALL:
            continue
        cols = [c for c in rule.columns if c in needed[name]]
        if len(cols) == len(rule.columns) or not cols:
            continue
        layers[name] = rule.rebuild(cols)
        changed = True
    if not changed:
        return graph
    return HighLevelGraph(layers, graph.dependencies)
