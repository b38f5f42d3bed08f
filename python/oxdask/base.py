"""The collection protocol and the functions that consume it, compatible with ``dask.base``.

A *collection* is any object with the methods ``__dask_graph__`` (a mapping ``key -> task``),
``__dask_keys__`` (a list, possibly nested, of its output keys), ``__dask_postcompute__`` and
``__dask_postpersist__``; optionally ``__dask_optimize__``, ``__dask_scheduler__`` and
``__dask_tokenize__``. :func:`compute` gathers the graphs of all collections it is given into
one graph and runs it with one call of the native engine.

oxdask extension: a graph object may carry an ``__oxdask_layers__`` attribute, a list of
:class:`oxdask._core.Blockwise` layers that are handed to the engine without being expanded
in Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from numbers import Number
from typing import Any

from oxdask import _collections, config
from oxdask._collections import (
    _GraphDict,
    _register_fast_collection,  # noqa: F401 (used by oxdask.delayed)
    clone_key,
    get_collection_names,
    get_name_from_key,
    is_dask_collection,
    replace_name_in_key,
    single_key,
    unpack_collections,
)
from oxdask._schedulers import _get_err_msg as get_err_msg  # noqa: F401 (Dask's name)
from oxdask._schedulers import get_scheduler, named_schedulers
from oxdask.core import flatten, literal
from oxdask.tokenize import TokenizationError, normalize_token, tokenize
from oxdask.utils import ensure_dict

__all__ = [
    "DaskMethodsMixin",
    "TokenizationError",
    "annotate",
    "clone_key",
    "collections_to_dsk",
    "compute",
    "compute_as_if_collection",
    "dont_optimize",
    "get_annotations",
    "get_collection_names",
    "get_name_from_key",
    "get_scheduler",
    "is_dask_collection",
    "named_schedulers",
    "normalize_token",
    "optimize",
    "persist",
    "replace_name_in_key",
    "tokenize",
    "unpack_collections",
    "visualize",
    "visualize_dsk",
    "wait",
]


# ---------------------------------------------------------------------------------------------
# Annotations

_annotations: ContextVar[dict[str, Any] | None] = ContextVar("annotations", default=None)


def get_annotations() -> dict[str, Any]:
    """The annotations set by the enclosing :func:`annotate` blocks.

    Returns
    -------
    dict
    """
    return _annotations.get() or {}


@contextmanager
def annotate(**annotations: Any) -> Iterator[None]:
    """Attach annotations (priority, retries, resources, ...) to collections built inside.

    The local schedulers of oxdask record but do not act on annotations; they are available
    through :func:`get_annotations` for libraries that do.

    Parameters
    ----------
    **annotations
        Annotation names and values. ``priority`` and ``retries`` must be numbers or
        callables, ``resources`` a dict or callable, ``workers`` a str, sequence or callable.
    """
    workers = annotations.get("workers")
    if workers is not None:
        if isinstance(workers, (list, set, tuple)):
            annotations["workers"] = list(workers)
        elif isinstance(workers, str):
            annotations["workers"] = [workers]
        elif not callable(workers):
            raise TypeError(
                f"'workers' annotation must be a sequence of str, a str or a callable, "
                f"but got {workers}."
            )
    for name in ("priority", "retries"):
        if name in annotations:
            value = annotations[name]
            if not isinstance(value, Number) and not callable(value):
                raise TypeError(
                    f"'{name}' annotation must be a Number or a callable, but got {value}"
                )
    if "resources" in annotations:
        value = annotations["resources"]
        if not isinstance(value, dict) and not callable(value):
            raise TypeError(f"'resources' annotation must be a dict, but got {value}")
    if "allow_other_workers" in annotations:
        value = annotations["allow_other_workers"]
        if not isinstance(value, bool) and not callable(value):
            raise TypeError(
                f"'allow_other_workers' annotations must be a bool or a callable, but got {value}"
            )
    token = _annotations.set({**get_annotations(), **annotations})
    try:
        yield
    finally:
        _annotations.reset(token)


# ---------------------------------------------------------------------------------------------
# Collections


class DaskMethodsMixin:
    """Adds ``compute``, ``persist`` and ``visualize`` methods to a collection class."""

    __slots__ = ()

    def visualize(self, filename="mydask", format=None, optimize_graph=False, **kwargs):
        """Render the task graph of this collection (see :func:`oxdask.visualize`).

        Parameters
        ----------
        filename : str or None
            Output file name, without or with extension. ``None`` writes nothing.
        format : str, optional
            ``"dot"`` (always available), or an image format rendered by Graphviz
            (``"png"``, ``"svg"``, ``"pdf"``...). Defaults to the extension, else ``"png"``.
        optimize_graph : bool
            Cull the graph first.
        **kwargs
            Graphviz attributes (``rankdir``, ``color="order"``...).

        Returns
        -------
        object
            See :func:`oxdask.visualize`.
        """
        return visualize(
            self, filename=filename, format=format, optimize_graph=optimize_graph, **kwargs
        )

    def persist(self, **kwargs):
        """Compute this collection and return an equivalent one holding the results.

        Parameters
        ----------
        **kwargs
            Passed to :func:`oxdask.persist` (``scheduler=``, ``num_workers=``...).

        Returns
        -------
        collection
        """
        (result,) = persist(self, traverse=False, **kwargs)
        return result

    def compute(self, **kwargs):
        """Compute this collection and return its concrete value.

        Parameters
        ----------
        **kwargs
            Passed to :func:`oxdask.compute` (``scheduler=``, ``num_workers=``...).

        Returns
        -------
        object
        """
        (result,) = compute(self, traverse=False, **kwargs)
        return result

    def __await__(self):
        raise TypeError("oxdask collections cannot be awaited (no distributed client)")


def _delayed_optimize_default():
    from oxdask.delayed import optimize

    return optimize


def _collection_graph(collection, optimize_graph: bool = True, **kwargs) -> tuple[dict, list]:
    """Graph dict and Blockwise layers of one collection (optimized if asked)."""
    return _collections_graph([collection], optimize_graph, **kwargs)


def _graph_parts(g) -> tuple[dict, list]:
    """Plain tasks and compact layers of a graph object.

    Entries of the mapping that belong to one of its ``__oxdask_layers__`` (tuple keys named
    after a layer, or after a tree reduction's intermediate levels) are left to the layer.
    """
    engine_parts = getattr(g, "_engine_parts", None)
    if engine_parts is not None:  # a HighLevelGraph: compact layers stay compact
        return engine_parts()
    layers = list(getattr(g, "__oxdask_layers__", None) or ())
    d = ensure_dict(g)
    if layers:
        names = {layer.name for layer in layers}
        prefixes = tuple(
            f"{layer.name}-partial" for layer in layers if type(layer).__name__ == "TreeReduce"
        )

        def owned(k) -> bool:
            if type(k) is not tuple or not k or type(k[0]) is not str:
                return False
            return k[0] in names or (bool(prefixes) and k[0].startswith(prefixes))

        d = {k: v for k, v in d.items() if not owned(k)}
    return d, layers


def _optimize_with(opt, dsk, keys, **kwargs):
    """``opt(dsk, keys, **kwargs)``: a collection's ``__dask_optimize__`` (oxdask's own, one set
    through the configuration such as ``array_optimize``, or a third-party collection's).

    A high-level graph is handed over as its ``_optimizer_view``: its entries are what Dask's
    graphs hold (tasks and data, no block-location entries). Returning the view unchanged keeps
    the original graph.
    """
    from oxdask.highlevelgraph import HighLevelGraph

    if not isinstance(dsk, HighLevelGraph) or dsk._inline_hidden:
        return opt(dsk, keys, **kwargs)
    view = dsk._optimizer_view()
    out = opt(view, keys, **kwargs)
    return dsk if out is view else out


def _collections_graph(collections, optimize_graph: bool = True, **kwargs) -> tuple[dict, list]:
    fast = []
    groups: dict[Any, list] = {}
    fast_types = _collections._fast_types
    default_opt = _delayed_optimize_default() if fast_types else None
    for c in collections:
        if isinstance(c, fast_types) and (
            not optimize_graph or type(c).__dask_optimize__ is default_opt
        ):
            fast.append(c)
            continue
        opt = getattr(c, "__dask_optimize__", None) if optimize_graph else None
        groups.setdefault(opt, []).append(c)
    parts: list[tuple[dict, list]] = []
    if fast:
        from oxdask._delayed_graph import _build_graph

        parts.append(_build_graph(fast))
    for opt, group in groups.items():
        graphs = [c.__dask_graph__() for c in group]
        if opt is not None and all(hasattr(g, "_engine_parts") for g in graphs):
            # High-level graphs are optimized as such (e.g. Blockwise fusion), never expanded.
            from oxdask.highlevelgraph import HighLevelGraph

            g = graphs[0] if len(graphs) == 1 else HighLevelGraph.merge(*graphs)
            out = _optimize_with(opt, g, [c.__dask_keys__() for c in group], **kwargs)
            parts.append(_graph_parts(out))
            continue
        layers: list = []
        dsk: dict = {}
        for g in graphs:
            d, ls = _graph_parts(g)
            if not dsk:
                dsk = d if len(group) == 1 else dict(d)
            else:
                dsk.update(d)
            for layer in ls:
                if not any(layer is other for other in layers):
                    layers.append(layer)
        if opt is not None:
            keys = [c.__dask_keys__() for c in group]
            g = dsk
            if layers:
                g = _GraphDict(dsk)
                g.__oxdask_layers__ = layers
            out = opt(g, keys, **kwargs)
            out_layers = getattr(out, "__oxdask_layers__", None)
            dsk, ls = _graph_parts(out)
            if out_layers is None:
                ls = layers
            layers = ls
        parts.append((dsk, layers))
    if len(parts) == 1:
        return parts[0]
    merged: dict = {}
    all_layers: list = []
    for d, ls in parts:
        merged.update(d)
        for layer in ls:
            if not any(layer is other for other in all_layers):
                all_layers.append(layer)
    return merged, all_layers


def collections_to_dsk(collections, optimize_graph: bool = True, optimizations=(), **kwargs):
    """Merge (and optimize) the graphs of several collections into one graph dict.

    Parameters
    ----------
    collections : sequence
    optimize_graph : bool
        Apply each collection's ``__dask_optimize__``.
    **kwargs
        Passed to the optimization functions.

    Returns
    -------
    dict
        With an ``__oxdask_layers__`` attribute when Blockwise layers are involved.
    """
    dsk, layers = _collections_graph(list(collections), optimize_graph, **kwargs)
    if layers:
        dsk = _GraphDict(dsk)
        dsk.__oxdask_layers__ = layers
    return dsk


def dont_optimize(dsk, keys, **kwargs):
    """An optimization function that does nothing."""
    return dsk


# ---------------------------------------------------------------------------------------------
# Schedulers
# ---------------------------------------------------------------------------------------------
# compute / persist / optimize / visualize


def _fusion(optimize_graph: bool):
    """Context: with ``optimize_graph=False`` the engine runs every task as given (no fusion
    of linear chains), so that callbacks see each key."""
    if optimize_graph:
        return nullcontext()
    return config.set({"optimization.fuse.active": False})


def compute(*args, traverse=True, optimize_graph=True, scheduler=None, get=None, **kwargs):
    """Compute several collections at once, sharing their intermediate results.

    All graphs are merged into one, which runs in one call of the scheduler.

    Parameters
    ----------
    *args : object
        Collections, or (with ``traverse``) lists, tuples, sets, dicts, named tuples and
        dataclasses containing collections. Other objects are returned unchanged.
    traverse : bool
        Look for collections inside builtin containers.
    optimize_graph : bool
        Apply the collections' optimizations before running.
    scheduler : str or callable, optional
        ``"threads"``, ``"sync"`` or ``"processes"`` (and their aliases) or a get-function.
        Defaults to config ``scheduler``, then to the collections' default (threads).
    get : None
        Removed in Dask; passing it raises ``TypeError``.
    **kwargs
        Passed to the scheduler (``num_workers=``, ``callbacks=``...) and to the optimizations.

    Returns
    -------
    tuple
        One result per argument.

    Examples
    --------
    >>> import oxdask
    >>> a = oxdask.delayed(1) + 1
    >>> oxdask.compute(a, {"b": a * 10}, 5)
    (2, {'b': 20}, 5)
    """
    collections, repack = unpack_collections(*args, traverse=traverse)
    if not collections:
        return args
    schedule = get_scheduler(scheduler=scheduler, collections=collections, get=get)
    dsk = collections_to_dsk(collections, optimize_graph, **kwargs)
    keys = []
    postcomputes = []
    for c in collections:
        c_keys = c.__dask_keys__()
        post = c.__dask_postcompute__()
        if post[0] is single_key and not post[1] and type(c_keys) is list and len(c_keys) == 1:
            # as in Dask, a one-key collection (Delayed) is asked for by its bare key
            keys.append(c_keys[0])
            postcomputes.append(None)
        else:
            keys.append(c_keys)
            postcomputes.append(post)
    with _fusion(optimize_graph):
        results = schedule(dsk, keys, **kwargs)
    return repack(
        [r if p is None else p[0](r, *p[1]) for r, p in zip(results, postcomputes, strict=True)]
    )


def _as_data(value):
    if isinstance(value, (tuple, list, dict, str, bytes)):
        return (literal(value),)
    return value


def persist(*args, traverse=True, optimize_graph=True, scheduler=None, **kwargs):
    """Compute collections and return equivalent collections whose graphs hold the results.

    Parameters
    ----------
    *args : object
        Collections (or containers of them with ``traverse``); others are returned unchanged.
    traverse : bool
    optimize_graph : bool
    scheduler : str or callable, optional
    **kwargs
        Passed to the scheduler.

    Returns
    -------
    tuple
        One (persisted) object per argument.

    Notes
    -----
    The graph of a persisted collection has one entry per output key; values that the engine
    could misread as tasks or keys (tuples, lists, dicts, strings) are wrapped in
    :class:`oxdask.core.literal` tasks.
    """
    collections, repack = unpack_collections(*args, traverse=traverse)
    if not collections:
        return args
    schedule = get_scheduler(scheduler=scheduler, collections=collections)
    client = getattr(schedule, "__self__", None)
    if "Client" in type(client).__name__ and hasattr(client, "persist"):
        # on a cluster the results stay there: the collections come back holding futures
        return repack(client.persist(collections, optimize_graph=optimize_graph, **kwargs))
    dsk = collections_to_dsk(collections, optimize_graph, **kwargs)
    keys: list = []
    postpersists = []
    for c in collections:
        c_keys = list(flatten(c.__dask_keys__()))
        rebuild, state = c.__dask_postpersist__()
        keys.extend(c_keys)
        postpersists.append((rebuild, c_keys, state))
    with _fusion(optimize_graph):
        values = schedule(dsk, keys, **kwargs)
    by_key = dict(zip(keys, values, strict=True))
    out = [
        rebuild({k: _as_data(by_key[k]) for k in c_keys}, *state)
        for rebuild, c_keys, state in postpersists
    ]
    return repack(out)


def optimize(*args, traverse=True, **kwargs):
    """Optimize collections together: merge their graphs and cull what they do not need.

    Parameters
    ----------
    *args : object
        Collections (or containers of them with ``traverse``).
    traverse : bool
    **kwargs
        Passed to the optimization functions.

    Returns
    -------
    tuple
        Equivalent collections sharing one optimized graph.
    """
    from oxdask import _core

    collections, repack = unpack_collections(*args, traverse=traverse)
    if not collections:
        return args
    dsk, layers = _collections_graph(collections, True, **kwargs)
    keys = [k for c in collections for k in flatten(c.__dask_keys__())]
    if not layers:
        dsk = _core.cull(dsk, keys)
    if layers:
        dsk = _GraphDict(dsk)
        dsk.__oxdask_layers__ = layers
    out = []
    for c in collections:
        rebuild, state = c.__dask_postpersist__()
        out.append(rebuild(dsk, *state))
    return repack(out)


def visualize(
    *args,
    filename="mydask",
    traverse=True,
    optimize_graph=False,
    maxval=None,
    engine=None,
    **kwargs,
):
    """Draw the merged task graph of the given collections with Graphviz.

    Parameters
    ----------
    *args : object
        Collections (or containers of them with ``traverse``); other objects are ignored.
    filename : str or None
        Output file; its extension selects the format when ``format`` is not given.
        ``None`` writes no file.
    traverse : bool
    optimize_graph : bool
        Optimize (cull) the graph before drawing.
    maxval : float, optional
        Unused (accepted for compatibility).
    engine : str, optional
        Only ``"graphviz"`` (or ``None``) is supported.
    format : str, optional (keyword)
        ``"dot"`` writes ``<filename>.dot`` without needing Graphviz. Image formats
        (``"png"``, ``"svg"``, ``"pdf"``, ...) need the ``graphviz`` Python package or the ``dot``
        program and raise ``RuntimeError`` without them. Default: the extension of
        ``filename``, else ``"png"``.
    **kwargs
        ``rankdir`` (default ``"BT"``), ``color="order"`` to color nodes by execution order,
        and other Graphviz graph attributes.

    Returns
    -------
    object
        For ``format="dot"`` or ``filename=None``: the DOT source (``str``). For images: an
        ``IPython.display.Image`` (or ``SVG``) when IPython is installed, else ``None``.
    """
    from oxdask.dot import render

    collections, _ = unpack_collections(*args, traverse=traverse)
    if engine not in (None, "graphviz"):
        raise ValueError(f"Visualization engine {engine!r} is not supported; use 'graphviz'")
    if optimize_graph:
        collections = list(optimize(*collections, traverse=False))
    dsk, _layers = _collections_graph(collections, False)
    return render(dsk, filename=filename, **kwargs)


def compute_as_if_collection(cls, dsk, keys, scheduler=None, get=None, **kwargs):
    """Compute a raw graph as if it were a collection of type ``cls``.

    Parameters
    ----------
    cls : type
        Provides the default scheduler and the optimization function.
    dsk : Mapping
    keys : list
    scheduler : str or callable, optional
    **kwargs
        Passed to the scheduler.
    """
    schedule = get_scheduler(scheduler=scheduler, cls=cls, get=get)
    opt = getattr(cls, "__dask_optimize__", None)
    if opt is not None:
        dsk = _optimize_with(opt, dsk, keys, **kwargs)
    return schedule(dsk, keys, **kwargs)


def optimization_function(x):
    """The ``__dask_optimize__`` of ``x``, or :func:`dont_optimize` if it has none."""
    return getattr(x, "__dask_optimize__", dont_optimize)


def visualize_dsk(dsk, filename="mydask", optimize_graph=False, **kwargs):
    """Draw a raw task graph (see :func:`visualize`; ``format=``, ``rankdir=``...).
    ``optimize_graph`` is accepted for compatibility (a whole graph has nothing to cull)."""
    from oxdask.dot import render

    return render(ensure_dict(dsk), filename=filename, **kwargs)


def wait(x, timeout=None, return_when="ALL_COMPLETED"):
    """Wait until the futures in ``x`` have finished (``oxdask.distributed.wait``).

    Collections without futures (computed locally) return ``x`` at once.
    """
    import sys

    dist = sys.modules.get("oxdask.distributed")
    if dist is not None and dist.futures_of(x):
        return dist.wait(x, timeout=timeout, return_when=return_when)
    return x
