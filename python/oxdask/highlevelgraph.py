"""Layered task graphs, compatible with ``dask.highlevelgraph.HighLevelGraph``.

A :class:`HighLevelGraph` maps layer names to layers and records which layers each layer
depends on. A layer is either a plain mapping of tasks (materialized) or a *compact* layer
(:class:`BlockwiseLayer`, :class:`TreeReduceLayer`, :class:`GatherLayer`) that describes many
tasks with one object.

Invariants:

- Compact layers are handed to the native engine as :class:`oxdask._core.Blockwise` /
  :class:`oxdask._core.TreeReduce` / :class:`oxdask._core.Gather` objects and expanded in
  Rust only when computed; oxdask never expands them in Python on the compute path
  (:meth:`HighLevelGraph._engine_parts`).
- The ``Mapping`` interface (``graph[key]``, iteration, ``len``) is for third-party consumers:
  it expands compact layers in Python lazily, one layer at a time, and caches the result.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import product
from typing import Any

from oxdask.core import quote
from oxdask.utils import apply

__all__ = [
    "BlockwiseLayer",
    "GatherLayer",
    "HighLevelGraph",
    "Layer",
    "MaterializedLayer",
    "TreeReduceLayer",
    "compute_layer_dependencies",
]


class Layer(Mapping):
    """Base of the layers of a :class:`HighLevelGraph`: a mapping of keys to tasks, with
    optional ``annotations`` (``priority``, ``retries``...) for the tasks it holds."""

    annotations: dict | None = None
    collection_annotations: dict | None = None

    def __init__(self, annotations=None, collection_annotations=None):
        self.annotations = annotations
        self.collection_annotations = collection_annotations

    def is_materialized(self) -> bool:
        """Whether the layer's tasks exist as Python objects."""
        return True

    def get_output_keys(self):
        """The keys this layer computes."""
        return self.keys()

    def get_dependencies(self, key, all_hlg_keys) -> set:
        """The keys of ``all_hlg_keys`` that the task of ``key`` uses."""
        from oxdask.core import keys_in_tasks

        return keys_in_tasks(all_hlg_keys, [self[key]])

    def cull(self, keys, all_hlg_keys) -> tuple[Layer, dict]:
        """The part of the layer that computes ``keys`` (and what it needs inside the
        layer), and the dependencies of its tasks."""
        from oxdask.core import keys_in_tasks

        own = self.keys()
        out: dict = {}
        deps: dict = {}
        work = [k for k in keys if k in own]
        while work:
            k = work.pop()
            if k in out:
                continue
            out[k] = self[k]
            deps[k] = keys_in_tasks(all_hlg_keys or own, [out[k]])
            work.extend(d for d in deps[k] if d in own and d not in out)
        return MaterializedLayer(out, annotations=self.annotations), deps


class MaterializedLayer(dict, Layer):
    """A layer given as a plain ``dict`` of tasks."""

    def __init__(self, mapping=(), annotations=None, collection_annotations=None):
        dict.__init__(self, mapping)
        if annotations is not None:
            self.annotations = annotations
        if collection_annotations is not None:
            self.collection_annotations = collection_annotations


class _CompactLayer(Layer):
    """Base of layers expanded by the engine; the Mapping interface expands them in Python."""

    _expanded: dict | None = None

    def to_core(self):  # pragma: no cover - overridden
        raise NotImplementedError

    def _expand(self) -> dict:  # pragma: no cover - overridden
        raise NotImplementedError

    def _materialize(self) -> dict:
        if self._expanded is None:
            self._expanded = self._expand()
        return self._expanded

    def __getitem__(self, key):
        return self._materialize()[key]

    def __iter__(self) -> Iterator:
        return iter(self._materialize())

    def __len__(self) -> int:
        return len(self.to_core())

    def is_materialized(self) -> bool:
        """Whether the Python expansion has been built (it never is on the compute path)."""
        return self._expanded is not None

    def __getstate__(self):
        # the engine object is rebuilt on demand; it cannot be pickled
        state = self.__dict__.copy()
        if "_core" in state:
            state["_core"] = None
        return state


class BlockwiseLayer(_CompactLayer):
    """``(name, *index) -> func(*args, **kwargs)`` for every block (see ``_core.Blockwise``)."""

    def __init__(
        self, name, func, out_ind, args, numblocks, kwargs=None, new_axes=None, inline=False
    ):
        #: cheap to recompute: optimizations may copy it into every consumer
        self.inline = inline
        self.name = name
        self.func = func
        self.out_ind = list(out_ind)
        self.args = [(v, None if i is None else list(i)) for v, i in args]
        self.numblocks = {k: tuple(v) for k, v in numblocks.items()}
        self.kwargs = dict(kwargs or {})
        self.new_axes = dict(new_axes or {})
        self._core = None

    def to_core(self):
        if self._core is None:
            from oxdask import _core

            self._core = _core.Blockwise(
                self.name,
                self.func,
                self.out_ind,
                self.args,
                self.numblocks,
                kwargs=self.kwargs or None,
                new_axes=self.new_axes or None,
            )
        return self._core

    def _label_sizes(self) -> dict[int, int]:
        sizes = dict(self.new_axes)
        for value, ind in self.args:
            if ind is None:
                continue
            for label, n in zip(ind, self.numblocks[value], strict=True):
                if n != 1 or label not in sizes:
                    sizes[label] = max(n, sizes.get(label, 1))
        return sizes

    def _expand(self) -> dict:
        sizes = self._label_sizes()
        dsk = {}
        for out in product(*(range(sizes[label]) for label in self.out_ind)):
            where = dict(zip(self.out_ind, out, strict=True))
            args = [self._arg(value, ind, where, sizes) for value, ind in self.args]
            if self.kwargs:
                dsk[(self.name, *out)] = (apply, self.func, args, quote(self.kwargs))
            else:
                dsk[(self.name, *out)] = (self.func, *args)
        return dsk

    def _arg(self, value, ind, where, sizes):
        if ind is None:
            return quote(value) if isinstance(value, (tuple, list, dict, str)) else value
        nb = self.numblocks[value]
        free = [label for label in ind if label not in where]

        def key(assign):
            idx = []
            for label, n in zip(ind, nb, strict=True):
                i = where[label] if label in where else assign[label]
                idx.append(0 if n == 1 else i)
            return (value, *idx)

        def nest(depth, assign):
            if depth == len(free):
                return key(assign)
            label = free[depth]
            n = nb[ind.index(label)]
            return [nest(depth + 1, {**assign, label: i}) for i in range(n)]

        return nest(0, {})


class TreeReduceLayer(_CompactLayer):
    """Reduction of ``input`` along ``axes`` in levels (see ``_core.TreeReduce``)."""

    def __init__(
        self,
        name,
        input,
        numblocks,
        axes,
        split_every,
        combine,
        aggregate,
        keepdims=False,
        inline=None,
        inline_ok=False,
    ):
        self.name = name
        self.input = input
        self.in_numblocks = tuple(numblocks)
        self.axes = list(axes)
        self.split_every = [max(2, int(s)) for s in split_every]
        self.combine = combine
        self.aggregate = aggregate
        self.keepdims = keepdims
        #: the BlockwiseLayer producing ``input``, computed inside the first level's tasks
        self.inline = inline
        #: the collection's word that its input blocks are cheap and many, so computing them
        #: inside the first level loses nothing (see ``blockwise_fusion.inline_tree_inputs``)
        self.inline_ok = inline_ok
        self._core = None

    def inputs(self) -> list[str]:
        """Names of the layers this layer reads."""
        if self.inline is None:
            return [self.input]
        return [v for v, ind in self.inline.args if ind is not None]

    @property
    def numblocks(self) -> tuple[int, ...]:
        nb = list(self.in_numblocks)
        if self.keepdims:
            return tuple(1 if i in self.axes else n for i, n in enumerate(nb))
        return tuple(n for i, n in enumerate(nb) if i not in self.axes)

    def to_core(self):
        if self._core is None:
            from oxdask import _core

            self._core = _core.TreeReduce(
                self.name,
                self.input,
                self.in_numblocks,
                self.axes,
                self.split_every,
                self.combine,
                self.aggregate,
                keepdims=self.keepdims,
                inline=None if self.inline is None else self.inline.to_core(),
            )
        return self._core

    def _expand(self) -> dict:
        dsk: dict = {}
        nb = list(self.in_numblocks)
        src = self.input
        level = 0
        blocks = None if self.inline is None else self.inline._expand()
        while True:
            last = all(nb[a] <= s for a, s in zip(self.axes, self.split_every, strict=True))
            groups = list(nb)
            for a, s in zip(self.axes, self.split_every, strict=True):
                groups[a] = 1 if last else -(-nb[a] // s)
            dst = self.name if last else f"{self.name}-partial{level}"
            func = self.aggregate if last else self.combine
            for out in product(*(range(g) for g in groups)):
                nested = self._nested(src, nb, out, 0)
                if blocks is not None and level == 0:
                    nested = _substitute(nested, blocks)
                if last and not self.keepdims:
                    out = tuple(i for d, i in enumerate(out) if d not in self.axes)
                dsk[(dst, *out)] = (func, nested)
            if last:
                return dsk
            src, nb, level = dst, groups, level + 1

    def _nested(self, src, nb, out, depth):
        if depth == len(self.axes):
            return (src, *out)
        a = self.axes[depth]
        s = self.split_every[depth]
        start = out[a] * s
        stop = min(nb[a], start + s) if nb[a] > s else nb[a]
        if nb[a] <= s:
            start = 0
        items = []
        for i in range(start, stop):
            o = list(out)
            o[a] = i
            items.append(self._nested(src, nb, tuple(o), depth + 1))
        return items


def _substitute(nested, tasks: dict):
    """``nested`` (lists of keys) with each key replaced by its task in ``tasks``."""
    if isinstance(nested, list):
        return [_substitute(x, tasks) for x in nested]
    return tasks[nested]


class GatherLayer(_CompactLayer):
    """Blocks assembled from pieces of blocks of ``input`` (see ``_core.Gather``).

    Output block ``(i, j, ...)`` is ``func(blocks, pieces[0][i], pieces[1][j], ...)`` where
    ``blocks`` nests the input blocks ``sources[0][i] x sources[1][j] x ...``, one list level
    per dimension. Dimensions in ``dropped`` (one output block each) are left out of the keys.
    """

    def __init__(self, name, input, in_numblocks, sources, func, pieces, dropped=()):
        self.name = name
        self.input = input
        self.in_numblocks = tuple(in_numblocks)
        self.sources = [[list(s) for s in axis] for axis in sources]
        self.func = func
        self.pieces = [list(p) for p in pieces]
        self.dropped = sorted(dropped)
        self._core = None

    @property
    def numblocks(self) -> tuple[int, ...]:
        return tuple(len(s) for d, s in enumerate(self.sources) if d not in self.dropped)

    def to_core(self):
        if self._core is None:
            from oxdask import _core

            self._core = _core.Gather(
                self.name,
                self.input,
                self.in_numblocks,
                self.sources,
                self.func,
                self.pieces,
                dropped=self.dropped,
            )
        return self._core

    def _expand(self) -> dict:
        dsk = {}
        for out in product(*(range(len(s)) for s in self.sources)):
            nested = self._nested(out, 0, ())
            pieces = [quote(self.pieces[d][i]) for d, i in enumerate(out)]
            key = tuple(i for d, i in enumerate(out) if d not in self.dropped)
            dsk[(self.name, *key)] = (self.func, nested, *pieces)
        return dsk

    def _nested(self, out, axis, at):
        if axis == len(out):
            return (self.input, *at)
        return [self._nested(out, axis + 1, (*at, i)) for i in self.sources[axis][out[axis]]]


_COMPACT = (BlockwiseLayer, TreeReduceLayer, GatherLayer)


class HighLevelGraph(Mapping):
    """A task graph made of named layers, with the dependencies between layers.

    Parameters
    ----------
    layers : Mapping[str, Mapping]
        Layer name to layer: a plain mapping of tasks, or a compact layer.
    dependencies : Mapping[str, set[str]]
        Layer name to the names of the layers it depends on.
    """

    #: the Mapping interface hides block-location entries (see :meth:`_optimizer_view`)
    _inline_hidden = False

    def __init__(self, layers: Mapping[str, Mapping], dependencies: Mapping[str, Any]):
        self.layers = dict(layers)
        self.dependencies = {k: set(v) for k, v in dependencies.items()}
        self._flat: dict | None = None

    @classmethod
    def _from_parts(cls, layers: dict, dependencies: dict) -> HighLevelGraph:
        """A graph owning the given dicts (no copies; dependencies already sets)."""
        g = cls.__new__(cls)
        g.layers = layers
        g.dependencies = dependencies
        g._flat = None
        return g

    @classmethod
    def from_collections(cls, name: str, layer: Mapping, dependencies=()) -> HighLevelGraph:
        """A graph with the layer ``name`` on top of the graphs of ``dependencies``.

        Parameters
        ----------
        name : str
        layer : Mapping
        dependencies : sequence of collections

        Returns
        -------
        HighLevelGraph
        """
        layers = {}
        deps: dict[str, set] = {}
        direct = set()
        for c in dependencies:
            g = c.__dask_graph__()
            if isinstance(g, HighLevelGraph):
                layers.update(g.layers)
                for k, v in g.dependencies.items():
                    deps.setdefault(k, set()).update(v)
                direct.add(_top_name(c, g))
            else:
                cname = _top_name(c, None)
                layers[cname] = g
                deps.setdefault(cname, set())
                direct.add(cname)
        layers[name] = layer
        deps[name] = direct
        return cls(layers, deps)

    @classmethod
    def merge(cls, *graphs: Mapping) -> HighLevelGraph:
        """Union of several graphs (plain mappings become layers of their own)."""
        layers: dict = {}
        deps: dict = {}
        for g in graphs:
            if isinstance(g, HighLevelGraph):
                layers.update(g.layers)
                for k, v in g.dependencies.items():
                    deps.setdefault(k, set()).update(v)
            else:
                name = f"layer-{id(g)}"
                layers[name] = g
                deps[name] = set()
        return cls(layers, deps)

    def _engine_parts(self) -> tuple[dict, list]:
        """Plain tasks of the materialized layers, and the compact layers as engine objects."""
        tasks: dict = {}
        core: list = []
        for layer in self.layers.values():
            if isinstance(layer, _COMPACT):
                core.append(layer.to_core())
            else:
                extra = getattr(layer, "__oxdask_layers__", None)
                if extra:
                    from oxdask.base import _graph_parts

                    d, ls = _graph_parts(layer)
                    tasks.update(d)
                    core.extend(ls)
                else:
                    tasks.update(layer)
        return tasks, core

    def _optimizer_view(self) -> HighLevelGraph:
        """The graph as an optimization function written for Dask reads it (what
        ``__dask_optimize__`` is given; see :func:`oxdask.base._optimize_with`).

        Oxdask's array layers read the location of their blocks (:class:`~oxdask.array.chunk.Loc`)
        from small layers of their own: entries whose value is no result of the computation,
        and that Dask's graphs do not have. Through the ``Mapping`` interface of the view
        (iteration, ``graph[key]``, ``len``, :func:`~oxdask.utils.ensure_dict`) these entries
        are not shown; their values are written into the tasks that refer to them, so that
        every entry is a task or data of the computation (a function rewriting every task, as
        in Dask's ``test_optimize_globals``, then works). The view shares the layers of this
        graph (``layers`` still lists the location layers), so returning it unchanged runs the
        graph as it is, compact layers and all; :meth:`cull` keeps the view's behaviour.
        """
        view = HighLevelGraph._from_parts(self.layers, self.dependencies)
        view._inline_hidden = True
        return view

    def _materialize(self) -> dict:
        if self._flat is None:
            flat: dict = {}
            for layer in self.layers.values():
                flat.update(layer)
            if self._inline_hidden:
                flat = _inline_marked_values(flat)
            self._flat = flat
        return self._flat

    def __getitem__(self, key):
        if not self._inline_hidden:
            try:
                return self._plain_tasks()[key]
            except (KeyError, TypeError):
                pass
        return self._materialize()[key]

    def _plain_tasks(self) -> dict:
        """The tasks of the non-compact layers in one dict (built once; rebuilt if layers are
        added or removed), so that a lookup costs O(1) whatever the number of layers."""
        cached = self.__dict__.get("_plain")
        layers = self.layers
        if cached is None or cached[0] is not layers or cached[1] != len(layers):
            plain: dict = {}
            for layer in layers.values():
                if not isinstance(layer, _COMPACT):
                    plain.update(layer)
            cached = self._plain = (layers, len(layers), plain)
        return cached[2]

    def __iter__(self) -> Iterator:
        return iter(self._materialize())

    def __len__(self) -> int:
        if self._inline_hidden:
            return len(self._materialize())
        return sum(len(layer) for layer in self.layers.values())

    def to_dict(self) -> dict:
        """The whole graph as a plain dict (expands every compact layer in Python)."""
        return dict(self._materialize())

    def get_all_dependencies(self) -> dict:
        """Key to the set of keys it depends on (materializes the graph)."""
        from oxdask.core import get_dependencies

        flat = self._materialize()
        return {k: get_dependencies(flat, k) for k in flat}

    def validate(self) -> None:
        """Check that the recorded layer dependencies name existing layers and match the
        keys that each layer's tasks refer to; raise ``ValueError`` otherwise (expands
        compact layers in Python)."""
        from oxdask._hlg_ops import validate

        validate(self)

    @property
    def dependents(self) -> dict:
        """Layer name to the names of the layers that depend on it."""
        out: dict = {k: set() for k in self.dependencies}
        for k, deps in self.dependencies.items():
            for d in deps:
                out.setdefault(d, set()).add(k)
        return out

    def copy(self) -> HighLevelGraph:
        """A graph with copies of the layer and dependency dicts (the layers are shared)."""
        return type(self)(dict(self.layers), {k: set(v) for k, v in self.dependencies.items()})

    def get_all_external_keys(self) -> set:
        """The output keys of all layers (compact layers' keys are listed by expanding them)."""
        keys: set = set()
        for layer in self.layers.values():
            getter = getattr(layer, "get_output_keys", None)
            keys.update(getter() if getter is not None else layer.keys())
        return keys

    def _toposort_layers(self) -> list:
        """Layer names, each after the layers it depends on."""
        waiting = {k: len(v) for k, v in self.dependencies.items()}
        dependents = self.dependents
        ready = [k for k, n in waiting.items() if n == 0]
        out = []
        while ready:
            name = ready.pop()
            out.append(name)
            for child in dependents.get(name, ()):
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)
        return out

    def cull_layers(self, layers) -> HighLevelGraph:
        """The graph restricted to ``layers`` and the layers they depend on."""
        keep: set = set()
        work = list(layers)
        while work:
            name = work.pop()
            if name not in keep:
                keep.add(name)
                work.extend(self.dependencies.get(name, ()))
        return type(self)(
            {k: v for k, v in self.layers.items() if k in keep},
            {k: set(v) & keep for k, v in self.dependencies.items() if k in keep},
        )

    def cull(self, keys) -> HighLevelGraph:
        """The graph restricted to what ``keys`` (nested lists allowed) need.

        Materialized layers are culled task by task; compact layers are kept whole, with the
        layers they depend on.
        """
        from oxdask._hlg_ops import cull

        out = cull(self, keys)
        out._inline_hidden = self._inline_hidden
        return out

    def __repr__(self) -> str:
        return f"HighLevelGraph with {len(self.layers)} layers"


def _inline_marked_values(flat: dict) -> dict:
    """``flat`` without its entries whose value is of a class marked ``__oxdask_inline__``
    (block locations), these values written into the tasks that refer to them."""
    inline = {k: v for k, v in flat.items() if getattr(type(v), "__oxdask_inline__", False)}
    if not inline:
        return flat
    return {k: _substitute(v, inline) for k, v in flat.items() if k not in inline}


def _substitute(task, values: dict):
    """``task`` with its references to keys of ``values`` replaced by the values (the same
    object when it refers to none)."""
    typ = type(task)
    if typ is tuple or typ is list:
        if typ is tuple and task and not callable(task[0]):
            try:
                if task in values:
                    return values[task]
            except TypeError:  # an unhashable item: no key
                pass
        new = [_substitute(a, values) for a in task]
        if all(a is b for a, b in zip(new, task, strict=True)):
            return task
        return typ(new)
    if typ is dict:
        new_items = {k: _substitute(v, values) for k, v in task.items()}
        if all(new_items[k] is v for k, v in task.items()):
            return task
        return new_items
    if typ is str:
        return values.get(task, task)
    return task


def _top_name(c, g) -> str:
    layers_of = getattr(type(c), "__dask_layers__", None)
    if layers_of is not None:
        names = list(layers_of(c))
        if len(names) == 1 and (g is None or names[0] in g.layers):
            return names[0]
    name = getattr(c, "name", None)
    if isinstance(name, str) and (g is None or name in g.layers):
        return name
    if g is not None and g.layers:
        return next(reversed(g.layers))
    key = getattr(c, "key", None)
    return key if isinstance(key, str) else str(id(c))


def compute_layer_dependencies(layers: Mapping) -> dict:
    """Layer name to the names of the other layers whose keys its tasks use."""
    from oxdask._hlg_ops import compute_layer_dependencies as compute

    return compute(layers)
