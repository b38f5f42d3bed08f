"""Graphs of :class:`oxdask.delayed.Delayed` objects: assembly, finalizing collections,
the default optimization and the legacy ``to_task_dask``.

A Delayed built by calls holds its task and the Delayed objects it depends on; these functions
walk such objects iteratively (no recursion, any depth).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from oxdask.base import _GraphDict, is_dask_collection
from oxdask.highlevelgraph import HighLevelGraph
from oxdask.tokenize import tokenize
from oxdask.utils import apply, ensure_dict, is_namedtuple_instance

if TYPE_CHECKING:
    from oxdask.delayed import Delayed

_ITER_TYPES = {
    type(iter([])): list,
    type(iter(())): tuple,
    type(iter(set())): set,
}


def to_task_dask(expr):
    """Legacy helper: the task form of ``expr`` and the graph it needs (a ``dict``).

    Lists stay lists; tuples and sets become ``(type, [items])``, dicts
    ``(dict, [[key, value], ...])``, named tuples ``(type, *items)``, slices
    ``(slice, start, stop, step)`` and dataclasses ``(apply, type, (), (dict, [[name, value],
    ...]))``. A :class:`Delayed` becomes its key; another collection the key of a task that
    finalizes it. Prefer :func:`unpack_collections`.

    Parameters
    ----------
    expr : object

    Returns
    -------
    task : object
    dsk : dict
    """
    from oxdask.delayed import Delayed

    if isinstance(expr, Delayed):
        return expr._key, expr.dask
    if is_dask_collection(expr):
        finalize_func, extra = expr.__dask_postcompute__()
        name = f"finalize-{tokenize(expr, finalize_func, *extra)}"
        dsk = ensure_dict(expr.__dask_graph__(), copy=True)
        dsk[name] = (finalize_func, expr.__dask_keys__(), *extra)
        return name, dsk
    typ = type(expr)
    if typ in _ITER_TYPES:
        expr = _ITER_TYPES[typ](expr)
        typ = type(expr)
    if typ is dict:
        args, dsk = to_task_dask([[k, v] for k, v in expr.items()])
        return (dict, args), dsk
    if typ is list or typ is tuple or typ is set:
        args, dsk = [], {}
        for e in expr:
            task, d = to_task_dask(e)
            args.append(task)
            dsk.update(d)
        return (args, dsk) if typ is list else ((typ, args), dsk)
    if dataclasses.is_dataclass(expr) and not isinstance(expr, type):
        fields = [
            [f.name, getattr(expr, f.name)]
            for f in dataclasses.fields(expr)
            if hasattr(expr, f.name)
        ]
        args, dsk = to_task_dask(fields)
        return (apply, typ, (), (dict, args)), dsk
    if is_namedtuple_instance(expr):
        args, dsk = to_task_dask(list(expr))
        return (typ, *args), dsk
    if typ is slice:
        args, dsk = to_task_dask([expr.start, expr.stop, expr.step])
        return (slice, *args), dsk
    return expr, {}


def _finalize(collection) -> Delayed:
    """A :class:`Delayed` computing the finalized result of any dask collection.

    The collection's graph is optimized now. A high-level graph stays one (its layers plus a
    ``finalize-`` layer), so that its compact layers are never expanded in Python.
    """
    from oxdask.base import _collection_graph, _optimize_with
    from oxdask.delayed import Delayed

    finalize_func, extra = collection.__dask_postcompute__()
    keys = collection.__dask_keys__()
    key = f"finalize-{tokenize(collection, finalize_func, *extra)}"
    task = (finalize_func, keys, *extra)
    g = collection.__dask_graph__()
    opt = getattr(collection, "__dask_optimize__", None)
    if isinstance(g, HighLevelGraph):
        if opt is not None:
            g = _optimize_with(opt, g, [keys])
        if isinstance(g, HighLevelGraph):
            layers = {**g.layers, key: {key: task}}
            deps = {**g.dependencies, key: set(g.layers)}
            return Delayed(key, HighLevelGraph(layers, deps), layer=key)
    dsk, layers = _collection_graph(collection, optimize_graph=True)
    graph = dict(dsk)
    graph[key] = task
    if layers:
        graph = _GraphDict(graph)
        graph.__oxdask_layers__ = list(layers)
    return Delayed(key, graph)


# ---------------------------------------------------------------------------------------------
# Graph assembly


def _build_graph(roots) -> tuple[dict, list]:
    """Assemble the graph of the given :class:`Delayed` objects with one iterative walk."""
    if len(roots) == 1:
        g = roots[0]._dask
        if type(g) is dict:
            return g, []
    dsk: dict = {}
    layers: list = []
    seen_graphs: set[int] = set()
    stack = list(roots)
    pop = stack.pop
    extend = stack.extend
    while stack:
        d = pop()
        g = d._dask
        if g is not None:
            if id(g) not in seen_graphs:
                seen_graphs.add(id(g))
                _merge_graph(dsk, layers, g)
            continue
        k = d._key
        if k in dsk:
            continue
        dsk[k] = d._task
        deps = d._deps
        if deps:
            extend(deps)
    return dsk, layers


def _merge_graph(dsk: dict, layers: list, g) -> None:
    if getattr(g, "__oxdask_layers__", None) or hasattr(g, "_engine_parts"):
        from oxdask.base import _graph_parts

        part, extra = _graph_parts(g)
        dsk.update(part)
        for layer in extra:
            if not any(layer is other for other in layers):
                layers.append(layer)
    else:
        dsk.update(ensure_dict(g))


def _layer_name(d):
    if d._dask is None:  # made by a call: its layer is its key
        return d._key
    try:
        layer = d._layer
    except AttributeError:
        layer = None
    return layer or d._key


def _build_hlg(root) -> HighLevelGraph:
    """The graph of ``root`` as a :class:`HighLevelGraph` with one layer per Delayed (as in
    Dask), built by one iterative walk. Graphs given to ``Delayed(key, dsk)`` are layers of
    their own, high-level graphs contribute their layers."""
    layers: dict = {}
    deps: dict = {}
    stack = [root]
    pop = stack.pop
    while stack:
        d = pop()
        g = d._dask
        if g is None:
            name = d._key
            if name in layers:
                continue
            layers[name] = {name: d._task}
            ds = d._deps
            deps[name] = {x._key if x._dask is None else _layer_name(x) for x in ds}
            stack.extend(ds)
            continue
        name = _layer_name(d)
        if name in layers:
            continue
        if isinstance(g, HighLevelGraph):
            for k, layer in g.layers.items():
                layers[k] = layer
                deps.setdefault(k, set()).update(g.dependencies.get(k, ()))
        else:
            layers[name] = g
            deps[name] = set()
    return HighLevelGraph._from_parts(layers, deps)


def optimize(dsk, keys, **kwargs):
    """Cull a graph to what ``keys`` need (the ``__dask_optimize__`` of :class:`Delayed`).

    Parameters
    ----------
    dsk : Mapping
    keys : key or list of keys

    Returns
    -------
    dict
    """
    from oxdask import _core
    from oxdask.core import flatten

    if not isinstance(keys, (list, set)):
        keys = [keys]
    if getattr(dsk, "__oxdask_layers__", None) or hasattr(dsk, "_engine_parts"):
        return dsk  # compact layers stay compact (never expanded in Python)
    return _core.cull(ensure_dict(dsk), list(flatten(keys)))
