"""Graphs and collections on a ``Client``: ``get``, ``compute`` and ``persist`` (mixed into
``Client``), and the pause of the cyclic garbage collector while a call builds many objects.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterable, Mapping

from oxdask import _core
from oxdask.distributed.future import Future
from oxdask.tokenize import tokenize

__all__ = ["ClientGraphs"]

#: Futures or results in one call from which the cyclic garbage collector is paused.
_MANY = 1000


@contextlib.contextmanager
def _gc_paused(many: bool):
    """The cyclic garbage collector paused while a call builds many objects at once (a future
    and its state per task, a result per key): they are all alive, yet with the collector on,
    ``map`` of 20,000 tasks spends about a fifth of its time in collections. Nothing changes
    when ``many`` is false or the program has paused the collector itself."""
    if not many or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class ClientGraphs:
    """``Client`` methods that run task graphs and collections."""

    def _graph_tasks(self, dsk: Mapping, keys: Iterable) -> list[tuple]:
        """``(key, task, deps)`` for every task a graph needs for ``keys``; futures in the graph
        stand for data already on the cluster. Compact layers (``__oxdask_layers__``) are
        expanded in Rust, only as far as ``keys`` need them; a large value that their blocks
        read (the array of ``from_array``) is sent once, as a task of its own."""
        layers = getattr(dsk, "__oxdask_layers__", None)
        plain = dict(dsk)
        futures = {k for k, v in plain.items() if type(v) is Future}
        for k in futures:
            plain[k] = 0  # placeholder so references resolve; not submitted
        return _core.graph_tasks(
            plain, list(keys), layers=layers, external=list(futures), share_large=True
        )

    def get(self, dsk: Mapping, keys, *, sync: bool = True, **kwargs):
        """Run a graph on the cluster (used by ``oxdask.compute`` while this client is default)."""
        from oxdask.local import _flatten_keys, _nest

        flat, nested = _flatten_keys(keys)
        uniq = list(dict.fromkeys(flat))
        with _gc_paused(True):  # a tuple, a payload and a message per task, all alive
            tasks = self._graph_tasks(dsk, uniq)
            futures = [Future(k, self) for k in uniq]
            self._send(tasks, uniq, kwargs)
        if not sync:
            return futures
        values = dict(zip(uniq, self._gather_now(futures), strict=True))
        results = iter(values[k] for k in flat)
        return _nest(keys, results, list) if nested else next(results)

    def compute(self, collections, sync: bool = False, optimize_graph: bool = True, **kwargs):
        """Start computing collections; returns a future per collection (results if ``sync``)."""
        from oxdask.base import collections_to_dsk, is_dask_collection

        single = is_dask_collection(collections)
        colls = [collections] if single else list(collections)
        with _gc_paused(True):  # the graph, then a tuple, a payload and a message per task
            dsk = collections_to_dsk(colls, optimize_graph)
            finals = []
            for c in colls:
                func, extra = c.__dask_postcompute__()
                keys = c.__dask_keys__()
                key = f"finalize-{tokenize(c, func, *extra)}"
                dsk[key] = (func, keys, *extra)
                finals.append(key)
            tasks = self._graph_tasks(dsk, finals)
            futures = [Future(k, self) for k in finals]
            self._send(tasks, finals, kwargs)
        if sync:
            futures = self._gather_now(futures)
        return futures[0] if single else futures

    def persist(self, collections, optimize_graph: bool = True, **kwargs):
        """Start computing collections and keep their results on the cluster."""
        from oxdask.base import collections_to_dsk, is_dask_collection
        from oxdask.core import flatten

        single = is_dask_collection(collections)
        colls = [collections] if single else list(collections)
        out = []
        all_keys = []
        with _gc_paused(True):  # the graph, then a tuple, a payload and a message per task
            dsk = collections_to_dsk(colls, optimize_graph)
            for c in colls:
                all_keys.extend(flatten(c.__dask_keys__()))
            tasks = self._graph_tasks(dsk, all_keys)
            futures = {k: Future(k, self) for k in all_keys}
            self._send(tasks, all_keys, kwargs)
        for c in colls:
            rebuild, extra = c.__dask_postpersist__()
            keys = list(flatten(c.__dask_keys__()))
            out.append(rebuild({k: futures[k] for k in keys}, *extra))
        return out[0] if single else out
